"""Spatial transformer: a network that learns where to look and un-warps its input.

Jaderberg, Simonyan, Zisserman, Kavukcuoglu, "Spatial Transformer Networks", NeurIPS 2015
(reference code: the Torch7 ``stnbhwd`` package by the authors' colleagues, and the PyTorch
tutorial ``spatial_transformer_tutorial.py`` by Ghassen Hamrouni).

Three parts (paper §3): a **localisation network** regresses the 6 parameters θ of an affine map
from the input; a **grid generator** maps each output pixel's normalised coordinate (x_t, y_t)
to a source coordinate ``(x_s, y_s)ᵀ = θ (x_t, y_t, 1)ᵀ`` (Eq. 1); a **sampler** reads the input
there with bilinear interpolation (Eq. 5), which is differentiable in both the image and θ.

The last layer of the localisation net starts with zero weights and the identity as bias, so the
transformer begins as the identity (the paper initialises "to the identity transform").
Coordinates are normalised to [-1, 1] with ``align_corners=False`` (PyTorch's convention).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SpatialTransformer", "affine_grid"]


def affine_grid(theta: torch.Tensor, size: tuple[int, int, int, int]) -> torch.Tensor:
    """The sampling grid of Eq. (1), written out; same result as ``F.affine_grid(..., align_corners=False)``.

    theta (B, 2, 3), size (B, C, H, W) → grid (B, H, W, 2) of source (x, y) in [-1, 1] coordinates.
    """
    if theta.dim() != 3 or theta.shape[1:] != (2, 3):
        raise ValueError(f"theta must have shape (B, 2, 3), got {tuple(theta.shape)}")
    _, _, h, w = size
    # pixel centres in normalised coordinates (align_corners=False): (2i + 1) / n - 1
    xs = (torch.arange(w, dtype=theta.dtype, device=theta.device) * 2 + 1) / w - 1  # (W,)
    ys = (torch.arange(h, dtype=theta.dtype, device=theta.device) * 2 + 1) / h - 1  # (H,)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")  # (H, W) each
    target = torch.stack([xx, yy, torch.ones_like(xx)], dim=-1).reshape(1, h * w, 3)  # (1, H·W, 3)
    source = target @ theta.transpose(1, 2)  # (B, H·W, 2)
    return source.reshape(theta.shape[0], h, w, 2)


class SpatialTransformer(nn.Module):
    """Localisation net → affine θ → grid → bilinear sampling; the identity at initialisation.

    Args:
        in_channels: channels of the input image or feature map.
        out_size: (H, W) of the output; default the input's size.
        width: channels of the localisation net (the paper's MNIST net used 20 filters per layer
            and a 20-unit FC layer; the PyTorch tutorial uses 8 and 10).
        localization: a custom module mapping (B, C, H, W) → (B, features); its output size must
            be ``features``.
        features: size of the localisation feature vector fed to the final regression layer.

    After a forward pass, ``.last_theta`` (B, 2, 3) holds the affine maps used.
    """

    def __init__(
        self,
        in_channels: int,
        out_size: tuple[int, int] | None = None,
        *,
        width: int = 20,
        features: int = 20,
        localization: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_size = out_size
        if localization is None:
            localization = nn.Sequential(
                nn.Conv2d(in_channels, width, 5, padding=2), nn.MaxPool2d(2, ceil_mode=True), nn.ReLU(),
                nn.Conv2d(width, width, 5, padding=2), nn.MaxPool2d(2, ceil_mode=True), nn.ReLU(),
                nn.AdaptiveAvgPool2d(4), nn.Flatten(),  # any input size → (B, width·16)
                nn.Linear(width * 16, features), nn.ReLU(),
            )  # fmt: skip
        self.localization = localization
        self.regress = nn.Linear(features, 6)
        nn.init.zeros_(self.regress.weight)
        with torch.no_grad():  # identity transform at the start (paper §4)
            self.regress.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
        self.last_theta: torch.Tensor | None = None

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) → affine parameters (B, 2, 3)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"SpatialTransformer expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}; "
                "build it with the right in_channels"
            )
        return self.regress(self.localization(x)).reshape(-1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        theta = self.theta(x)  # (B, 2, 3)
        self.last_theta = theta.detach()
        h, w = self.out_size if self.out_size is not None else x.shape[-2:]
        grid = F.affine_grid(theta, [x.shape[0], x.shape[1], h, w], align_corners=False)  # (B, H, W, 2)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
