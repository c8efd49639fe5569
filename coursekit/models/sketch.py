"""The sketch-simplification network of Simo-Serra et al.

Simo-Serra, Iizuka, Sasaki & Ishikawa, "Learning to Simplify: Fully Convolutional Networks for
Rough Sketch Cleanup", ACM TOG 35(4) (SIGGRAPH) 2016. Reference code (Lua Torch; the released
weights also exist as a PyTorch ``nn.Sequential``): https://github.com/bobbens/sketch_simplification

A fully convolutional encoder-decoder that maps a rough sketch to a clean one of the same size:
three *down-convolutions* (stride 2) shrink the image to 1/8, *flat-convolutions* (stride 1)
process it, three *up-convolutions* (4x4 transposed convolutions, stride 1/2) bring it back, and
a sigmoid gives grey values in [0, 1] (white paper = 1). No pooling and no fully connected layer,
so it runs on any image whose sides are multiples of 8.

Layer table (the released model's; kernel / stride / output channels)::

    down 5x5/2 48 | flat 128 | flat 128 | down 3x3/2 128 | flat 256 | flat 256 | down 3x3/2 256
    flat 512 | flat 1024 x4 | flat 512 | flat 256
    up 4x4/(1/2) 256 | flat 256 | flat 128 | up 128 | flat 128 | flat 48 | up 48 | flat 24 | flat 1
    (flat = 3x3/1)

The paper's Table 1 lists 256 channels after the second down-convolution; the released weights
use 128, and so do we. The paper trains with batch normalisation after every convolution but the
last (folded away in the released model); we keep it (``norm_layer``; ``None`` removes it).
Input normalisation: the authors subtract the mean 0.9664 and divide by the std 0.0858 of their
training sketches; we do the same with buffers ``mean``/``std`` (set them to your data's).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate

__all__ = ["SketchSimplificationNet", "LAYERS", "output_size", "ink_weighted_mse", "loss_map", "loss_map_mse"]

# (kind, kernel, output channels) with kind in {"down", "flat", "up"}; the released model's table
LAYERS: tuple[tuple[str, int, int], ...] = (
    ("down", 5, 48),
    ("flat", 3, 128),
    ("flat", 3, 128),
    ("down", 3, 128),
    ("flat", 3, 256),
    ("flat", 3, 256),
    ("down", 3, 256),
    ("flat", 3, 512),
    ("flat", 3, 1024),
    ("flat", 3, 1024),
    ("flat", 3, 1024),
    ("flat", 3, 1024),
    ("flat", 3, 512),
    ("flat", 3, 256),
    ("up", 4, 256),
    ("flat", 3, 256),
    ("flat", 3, 128),
    ("up", 4, 128),
    ("flat", 3, 128),
    ("flat", 3, 48),
    ("up", 4, 48),
    ("flat", 3, 24),
    ("flat", 3, 1),
)


def ink_weighted_mse(pred: torch.Tensor, target: torch.Tensor, ink_weight: float = 3.0) -> torch.Tensor:
    """MSE in which ink pixels (target 0) weigh ``ink_weight`` times as much as paper (target 1).

    ``sum(w * (pred - target)^2) / sum(w)`` with ``w = 1 + (ink_weight - 1) * (1 - target)``.
    The course's own remedy for a loss that settles for "all white" on sparse thin lines. It is
    *not* the paper's loss map (:func:`loss_map`), which does the opposite on ink: it keeps paper
    and thin-line pixels at weight 1 and lowers the weight of ink inside thick strokes.
    """
    validate.same_shape(pred, target, "ink_weighted_mse", ndim=None)
    w = 1 + (ink_weight - 1) * (1 - target)
    return (w * (pred - target) ** 2).sum() / w.sum()


def loss_map(
    target: torch.Tensor, radius: int = 2, alpha: float = 6.0, beta: float = -2.0, bins: int = 10
) -> torch.Tensor:
    """The paper's loss map M (Simo-Serra et al. 2016, Sec. 3, the weighted MSE's map), from the target.

        M(u, v) = 1                                   where the target is white (I(u, v) = 1)
        M(u, v) = min(alpha · exp(−H(u, v)) + beta, 1)  elsewhere

    H(u, v) is the height of the bin that I(u, v) falls into in the *normalised* histogram (bins
    of equal width over [0, 1]; fractions that sum to 1) of the target's pixels in the
    (2·radius + 1)² window around (u, v); at the borders only the window's pixels inside the image
    count. A thin line is a small fraction of its window (H small, M clipped to 1); ink inside a
    thick stroke fills its window (H near 1, M down to alpha/e + beta ≈ 0.21 with the defaults),
    so thick strokes stop dominating the ink's share of the loss. ``bins`` (10) and the square window
    (radius 2, 5×5) are those of the authors' training code (``train/train.lua``,
    ``compute_weightmap``), which uses a simpler map, exp(-H) + 0.5 on every pixel.

    Shapes: target (B, 1, H, W) in [0, 1], white = 1 → M (B, 1, H, W).
    """
    target = validate.tensor(target, "target", ndim=4, channels=1, floating=True)
    if radius < 0 or bins < 1:
        raise ValueError(f"radius must be >= 0 and bins >= 1, got radius={radius}, bins={bins}; the paper's "
                         "window is a few pixels (radius 2 gives 5x5)")
    index = (target * bins).long().clamp(0, bins - 1)  # (B, 1, H, W): each pixel's bin
    onehot = F.one_hot(index[:, 0], bins).permute(0, 3, 1, 2).to(target.dtype)  # (B, bins, H, W)
    k = 2 * radius + 1
    hist = F.avg_pool2d(onehot, k, stride=1, padding=radius, count_include_pad=False)  # (B, bins, H, W): fractions
    h = hist.gather(1, index)  # (B, 1, H, W): the height of each pixel's own bin
    m = (alpha * torch.exp(-h) + beta).clamp(max=1.0)
    return torch.where(target >= 1, torch.ones_like(m), m)


def loss_map_mse(pred: torch.Tensor, target: torch.Tensor, **map_kwargs: float) -> torch.Tensor:
    """The paper's weighted MSE ``||M ⊙ (pred − target)||²``, averaged over the pixels (M from :func:`loss_map`)."""
    validate.same_shape(pred, target, "loss_map_mse")
    m = loss_map(target, **map_kwargs)
    return ((m * (pred - target)) ** 2).mean()


def output_size(size: int) -> int:
    """Side of the output for an input side ``size``: the same, if ``size`` is a multiple of 8.

    Each down-convolution (kernel k, stride 2, padding k//2) maps n -> ceil(n / 2); each
    up-convolution (4x4, stride 2, padding 1) maps n -> 2n. So n -> 2 * 2 * 2 * ceil(ceil(ceil(n/2)/2)/2),
    which equals n exactly when 8 divides n.
    """
    n = size
    for kind, _, _ in LAYERS:
        if kind == "down":
            n = (n + 1) // 2
        elif kind == "up":
            n = 2 * n
    return n


class SketchSimplificationNet(nn.Module):
    """Rough sketch (B, 1, H, W) in [0, 1] -> clean sketch (B, 1, H, W) in [0, 1]; H, W multiples of 8.

    ``width`` scales every channel count (1.0 = the reference, ~44M parameters; the notebooks use
    smaller widths); ``norm_layer`` follows each convolution but the last.
    """

    def __init__(
        self,
        width: float = 1.0,
        norm_layer: Callable[[int], nn.Module] | None = nn.BatchNorm2d,
        mean: float = 0.9664,
        std: float = 0.0858,
    ):
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        layers: list[nn.Module] = []
        c_in = 1
        for i, (kind, k, c) in enumerate(LAYERS):
            last = i == len(LAYERS) - 1
            c_out = c if last else max(4, int(round(c * width)))
            bias = last or norm_layer is None  # no bias before a norm layer
            if kind == "down":
                layers.append(nn.Conv2d(c_in, c_out, k, stride=2, padding=k // 2, bias=bias))  # H -> H/2
            elif kind == "up":
                layers.append(nn.ConvTranspose2d(c_in, c_out, k, stride=2, padding=1, bias=bias))  # H -> 2H
            else:
                layers.append(nn.Conv2d(c_in, c_out, k, stride=1, padding=k // 2, bias=bias))
            if not last:
                if norm_layer is not None:
                    layers.append(norm_layer(c_out))
                layers.append(nn.ReLU(inplace=True))
            c_in = c_out
        layers.append(nn.Sigmoid())
        self.layers = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The output before the sigmoid (for losses that prefer logits)."""
        self._check(x)
        return self.layers[:-1]((x - self.mean) / self.std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))  # (B, 1, H, W)

    @staticmethod
    def _check(x: torch.Tensor) -> None:
        validate.tensor(x, "x", ndim=4, channels=1, floating=True)  # a batch of grey sketches
        h, w = x.shape[-2:]
        if h % 8 or w % 8:
            raise ValueError(
                f"input sides must be multiples of 8 (three stride-2 down-convolutions), got {h}x{w}; "
                f"crop or pad the image, e.g. to {h - h % 8}x{w - w % 8} or {h + (-h) % 8}x{w + (-w) % 8}"
            )
