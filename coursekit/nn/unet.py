"""U-Net: an encoder–decoder whose skip connections carry fine detail across.

Paper: Olaf Ronneberger, Philipp Fischer and Thomas Brox, "U-Net: Convolutional Networks for
Biomedical Image Segmentation", MICCAI 2015. Authors' code (Caffe):
https://lmb.informatik.uni-freiburg.de/people/ronneber/u-net/ ; a widely used PyTorch port is
https://github.com/milesial/Pytorch-UNet.

The paper's network (the defaults here with ``padding=0``): 4 down-sampling steps, two 3×3
convolutions + ReLU per level with 64, 128, 256, 512, 1024 channels, 2×2 max-pooling down,
2×2 up-convolutions up, the encoder's maps cropped and concatenated into the decoder (the
skips), a final 1×1 to the classes. Unpadded ("valid") convolutions map a 572×572 tile to
388×388. Deviations, by argument: ``padding=1`` (the default, as in most ports) keeps the
size so no cropping is needed; ``norm_layer`` adds batch norm (not in the paper);
``skips=False`` removes the concatenations (the decoder then sees only the up-sampled
coarse maps — the ablation that shows what the skips carry).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["UNet", "center_crop"]


def center_crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Crop (B, C, H, W) to its central (h, w) — the paper's crop of the encoder maps."""
    h, w = size
    top, left = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
    if top < 0 or left < 0:
        raise ValueError(f"cannot crop {tuple(x.shape[-2:])} to a larger {size}")
    return x[..., top : top + h, left : left + w]


def _double_conv(
    c_in: int, c_out: int, padding: int, norm_layer: Callable[[int], nn.Module] | None
) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c in (c_in, c_out):
        layers.append(nn.Conv2d(c, c_out, 3, padding=padding, bias=norm_layer is None))
        if norm_layer is not None:
            layers.append(norm_layer(c_out))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """A U-Net with configurable depth and switchable skips.

    Args:
        in_channels, out_channels: 1 and 2 in the paper (grey cell images, 2 classes).
        base_channels: channels of the first level (64); doubled at each level down.
        depth: number of 2× down-sampling steps (4).
        skips: concatenate encoder maps into the decoder (True) or not (False).
        padding: 1 keeps sizes (sides must be multiples of 2^depth); 0 is the paper's valid
            convolutions with cropped skips.
        norm_layer: e.g. ``nn.BatchNorm2d``; None as in the paper.

    Shapes (padding=1): (B, C_in, H, W) → level ℓ: (B, base·2^ℓ, H/2^ℓ, W/2^ℓ) → bottom
    (B, base·2^depth, H/2^depth, W/2^depth) → back up → (B, C_out, H, W).
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        base_channels: int = 64,
        depth: int = 4,
        skips: bool = True,
        padding: int = 1,
        norm_layer: Callable[[int], nn.Module] | None = None,
    ):
        super().__init__()
        if depth < 1 or base_channels < 1:
            raise ValueError(f"need depth ≥ 1 and base_channels ≥ 1, got {depth}, {base_channels}")
        if padding not in (0, 1):
            raise ValueError(
                f"padding must be 1 (same size) or 0 (the paper's valid convolutions), got {padding}"
            )
        self.depth, self.skips, self.padding = depth, skips, padding
        widths = [base_channels * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        c = in_channels
        for w in widths[:-1]:
            self.down.append(_double_conv(c, w, padding, norm_layer))
            c = w
        self.pool = nn.MaxPool2d(2)
        self.bottom = _double_conv(widths[-2], widths[-1], padding, norm_layer)
        self.up = nn.ModuleList()
        self.decode = nn.ModuleList()
        for w_hi, w in zip(widths[:0:-1], widths[-2::-1]):
            self.up.append(nn.ConvTranspose2d(w_hi, w, 2, stride=2))  # "up-convolution" 2×2
            self.decode.append(_double_conv(2 * w if skips else w, w, padding, norm_layer))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"expected (B, C, H, W), got shape {tuple(x.shape)}")
        m = 2**self.depth
        if self.padding == 1 and (x.shape[-2] % m or x.shape[-1] % m):
            raise ValueError(
                f"input sides must be multiples of 2^depth = {m}, got {x.shape[-2]}×{x.shape[-1]}; crop or pad the image"
            )
        saved = []
        for block in self.down:
            x = block(x)  # (B, base·2^ℓ, H/2^ℓ, W/2^ℓ)
            saved.append(x)
            x = self.pool(x)  # (B, base·2^ℓ, H/2^(ℓ+1), W/2^(ℓ+1))
        x = self.bottom(x)  # (B, base·2^depth, H/2^depth, W/2^depth)
        for up, block, skip in zip(self.up, self.decode, reversed(saved)):
            x = up(x)  # (B, base·2^ℓ, H/2^ℓ, W/2^ℓ)
            if self.skips:
                x = torch.cat([center_crop(skip, tuple(x.shape[-2:])), x], dim=1)  # (B, 2·base·2^ℓ, …)
            x = block(x)
        return self.head(x)  # (B, C_out, H, W)
