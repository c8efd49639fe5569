"""Grouped convolutions and the ResNeXt bottleneck block.

Paper: Saining Xie, Ross Girshick, Piotr Dollár, Zhuowen Tu and Kaiming He, "Aggregated
Residual Transformations for Deep Neural Networks", CVPR 2017. Authors' code (Torch):
https://github.com/facebookresearch/ResNeXt; torchvision's ``models/resnet.py`` follows it.
Depthwise separable convolutions: Chollet, "Xception", CVPR 2017; Howard et al., "MobileNets",
arXiv 2017.

A convolution with ``groups = g`` splits the C_in input channels into g groups and convolves
each with its own C_out/g filters, so its weights shrink g-fold:

    parameters = C_out · (C_in / g) · k_h · k_w  (+ C_out biases)

``g = C_in`` (one filter per channel) is the depthwise convolution, the extreme. The ResNeXt
block (paper, Fig. 3c) is a ResNet bottleneck whose 3×3 is grouped: cardinality C = 32
paths of bottleneck width d = 4 in the first stage of ResNeXt-50 (32×4d):
1×1, 256→128; 3×3, 128→128, groups 32; 1×1, 128→256; plus the identity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = [
    "DepthwiseSeparableConv",
    "ResNeXtBlock",
    "TinyResNeXt",
    "bottleneck_weights",
    "grouped_conv_macs",
    "grouped_conv_params",
    "matched_bottleneck_width",
]


def _check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    """An argument check (not a tensor's): ``groups`` splits both channel counts evenly."""
    if groups < 1 or in_channels % groups or out_channels % groups:
        common = math.gcd(in_channels, out_channels)
        choices = [g for g in range(1, common + 1) if common % g == 0]
        raise ValueError(
            f"groups must divide both channel counts (in_channels={in_channels}, out_channels={out_channels}), "
            f"got groups={groups}; use one of {choices}"
        )


def grouped_conv_params(
    in_channels: int, out_channels: int, kernel_size: int, groups: int = 1, bias: bool = False
) -> int:
    """Weights of a grouped k×k convolution: C_out · (C_in / g) · k² (+ C_out biases)."""
    _check_groups(in_channels, out_channels, groups)
    return out_channels * (in_channels // groups) * kernel_size**2 + (out_channels if bias else 0)


def grouped_conv_macs(
    in_channels: int, out_channels: int, kernel_size: int, out_size: int | tuple[int, int], groups: int = 1
) -> int:
    """MACs of a grouped convolution producing an H_out × W_out map: params · H_out · W_out."""
    h, w = (out_size, out_size) if isinstance(out_size, int) else out_size
    return grouped_conv_params(in_channels, out_channels, kernel_size, groups) * h * w


def bottleneck_weights(channels: int, cardinality: int, bottleneck_width: int, kernel_size: int = 3) -> int:
    """Convolution weights of a ResNeXt bottleneck with ``channels`` in and out (paper, Sec. 3.3).

    C paths, each 1×1 channels→d, k×k d→d, 1×1 d→channels:  C · (channels·d + k²·d² + d·channels).
    With C = 1, d = 64 and 256 channels this is the ResNet bottleneck's 69,632 (the paper's "≈70k").
    """
    c, d = cardinality, bottleneck_width
    return c * (2 * channels * d + kernel_size**2 * d * d)


def matched_bottleneck_width(budget: int, cardinality: int, channels: int, kernel_size: int = 3) -> int:
    """The bottleneck width d whose block weights come closest to ``budget`` (ties: the smaller d).

    How Xie et al. keep the complexity fixed while the cardinality grows (Table 2): for
    ResNeXt-50's conv2 (256 channels, budget = the 1×64d ResNet block) this gives
    d = 64, 40, 24, 14, 4 for C = 1, 2, 4, 8, 32.
    """
    if budget < 1 or cardinality < 1 or channels < 1:
        raise ValueError(
            f"budget, cardinality and channels must be positive, got {budget}, {cardinality}, {channels}; "
            "pass a weight count and the block's channel count"
        )
    d = 1
    while bottleneck_weights(channels, cardinality, d + 1, kernel_size) <= budget:
        d += 1  # d is now the largest width within the budget; d + 1 the smallest above it
    below = budget - bottleneck_weights(channels, cardinality, d, kernel_size)
    above = bottleneck_weights(channels, cardinality, d + 1, kernel_size) - budget
    return d if abs(below) <= above else d + 1


class DepthwiseSeparableConv(nn.Module):
    """Depthwise k×k convolution (groups = C_in) followed by a pointwise 1×1 (MobileNet).

    Shapes: (B, C_in, H, W) → (B, C_in, H/s, W/s) → (B, C_out, H/s, W/s).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        norm_layer: Callable[[int], nn.Module] | None = nn.BatchNorm2d,
    ):
        super().__init__()
        bias = norm_layer is None
        self.depthwise = nn.Conv2d(
            in_channels, in_channels, kernel_size, stride, kernel_size // 2, groups=in_channels, bias=bias
        )
        self.norm1 = norm_layer(in_channels) if norm_layer else nn.Identity()
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)
        self.norm2 = norm_layer(out_channels) if norm_layer else nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.norm1(self.depthwise(x)))  # (B, C_in, H', W')
        return self.act(self.norm2(self.pointwise(x)))  # (B, C_out, H', W')


class ResNeXtBlock(nn.Module):
    """The ResNeXt bottleneck (Xie et al. 2017, Fig. 3c): 1×1 → grouped 3×3 → 1×1, + shortcut.

    Args:
        in_channels, out_channels: block input and output (256, 256 in ResNeXt-50's conv2).
        cardinality: C, the number of groups (paths) in the 3×3 (32).
        bottleneck_width: d, channels per path (4); the inner width is C·d (128).
        stride: on the 3×3, as in torchvision ("ResNet V1.5"; the paper's Torch code strides
            the same way); a 1×1 projection shortcut is used when shapes change.
        norm_layer: normalisation after each convolution (None: none, and biases instead).

    Shapes: (B, C_in, H, W) → (B, C·d, H, W) → (B, C·d, H/s, W/s) → (B, C_out, H/s, W/s).
    """

    def __init__(
        self,
        in_channels: int = 256,
        out_channels: int = 256,
        cardinality: int = 32,
        bottleneck_width: int = 4,
        stride: int = 1,
        norm_layer: Callable[[int], nn.Module] | None = nn.BatchNorm2d,
    ):
        super().__init__()
        width = cardinality * bottleneck_width
        _check_groups(width, width, cardinality)
        bias = norm_layer is None
        norm = (lambda c: norm_layer(c)) if norm_layer else (lambda c: nn.Identity())
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=bias)
        self.bn1 = norm(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=cardinality, bias=bias)
        self.bn2 = norm(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=bias)
        self.bn3 = norm(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=bias), norm(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))  # (B, C·d, H, W)
        y = self.relu(self.bn2(self.conv2(y)))  # (B, C·d, H/s, W/s): C groups of d channels
        y = self.bn3(self.conv3(y))  # (B, C_out, H/s, W/s)
        return self.relu(y + self.shortcut(x))


class TinyResNeXt(nn.Module):
    """A small classifier from ResNeXt blocks for teaching-size experiments (32×32 glyphs).

    A 3×3 stem, then one stage per entry of ``channels`` (stride 2 from the second stage),
    ``blocks`` ResNeXt blocks per stage, global average pooling and a linear classifier.
    ``cardinality=1`` gives a plain ResNet bottleneck (the baseline at the same budget).

    Shapes: (B, C_in, H, W) → (B, channels[-1], H/2^(S−1), W/2^(S−1)) → (B, num_classes).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        channels: Sequence[int] = (64, 128),
        cardinality: int = 8,
        bottleneck_width: int = 4,
        blocks: int = 1,
        stem: int = 32,
    ):
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, stem, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem),
            nn.ReLU(inplace=True),
        ]
        c_in = stem
        for i, c_out in enumerate(channels):
            for b in range(blocks):
                stride = 2 if (i > 0 and b == 0) else 1
                width = bottleneck_width * 2**i  # the paper doubles d at each stage
                layers.append(ResNeXtBlock(c_in, c_out, cardinality, width, stride))
                c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, C, H', W')
        return self.head(x.mean(dim=(2, 3)))  # (B, num_classes)
