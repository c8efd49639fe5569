"""Dilated (atrous) convolutions and the Yu & Koltun context module.

Paper: Fisher Yu and Vladlen Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions",
ICLR 2016. Authors' code (Caffe): https://github.com/fyu/dilation. Convolution arithmetic:
Dumoulin and Visin, "A guide to convolution arithmetic for deep learning", arXiv 2016.

A 3×3 convolution with dilation d samples its input on a grid with gaps d − 1: it covers
(k − 1)·d + 1 pixels per axis with only k² weights. Stacking dilations 1, 2, 4, … grows the
receptive field exponentially with depth while the number of parameters grows linearly.

The basic context module (paper, Table 1): C channels throughout; layers 1–7 are 3×3
convolutions with dilations 1, 1, 2, 4, 8, 16, 1, each followed by a ReLU ("truncation");
layer 8 is a 1×1 convolution. Receptive fields after each layer: 3, 5, 9, 17, 33, 65, 67, 67.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["CONTEXT_DILATIONS", "ContextModule", "dilated_conv", "dilated_extent"]

CONTEXT_DILATIONS = (1, 1, 2, 4, 8, 16, 1)  # Yu & Koltun, Table 1, layers 1–7


def dilated_extent(kernel_size: int, dilation: int) -> int:
    """Pixels per axis covered by one dilated kernel: (k − 1)·d + 1."""
    return (kernel_size - 1) * dilation + 1


def dilated_conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    dilation: int = 1,
    stride: int = 1,
    bias: bool = True,
) -> nn.Conv2d:
    """A convolution with "same" padding for an odd kernel: padding = d·(k − 1)/2.

    Shapes: (B, C_in, H, W) → (B, C_out, H/stride, W/stride).
    """
    if kernel_size % 2 != 1:
        raise ValueError(f"kernel_size must be odd for same padding, got {kernel_size}")
    if dilation < 1:
        raise ValueError(f"dilation must be ≥ 1, got {dilation}")
    return nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=dilation * (kernel_size - 1) // 2,
        dilation=dilation,
        bias=bias,
    )


class ContextModule(nn.Module):
    """The basic context module of Yu & Koltun (2016): dilated 3×3 convs, then a 1×1.

    Args:
        channels: C, the number of feature maps (the paper uses the number of classes, 21 on
            Pascal VOC, since it runs on the front-end's class scores).
        dilations: one 3×3 layer per entry (the paper's 1, 1, 2, 4, 8, 16, 1).
        identity_init: the paper's identity initialisation (each layer passes its input
            through at the start of training, eq. 4); otherwise PyTorch's default init.

    Shapes: (B, C, H, W) → (B, C, H, W) (padding keeps the size; the paper pads the input
    instead, which gives the same receptive fields).
    """

    def __init__(
        self, channels: int = 21, dilations: Sequence[int] = CONTEXT_DILATIONS, identity_init: bool = True
    ):
        super().__init__()
        if channels < 1 or not dilations:
            raise ValueError(f"need channels ≥ 1 and at least one dilation, got {channels}, {dilations}")
        self.dilations = tuple(dilations)
        layers: list[nn.Module] = []
        for d in self.dilations:
            layers += [dilated_conv(channels, channels, 3, dilation=d), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(channels, channels, 1))  # layer 8: 1×1, no truncation
        self.layers = nn.Sequential(*layers)
        if identity_init:
            self.reset_identity()

    @torch.no_grad()
    def reset_identity(self) -> None:
        """Identity initialisation (paper, eq. 4): k(t, a) = 1[a = b]·1[t = 0], biases 0."""
        for m in self.layers:
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
                centre = tuple(k // 2 for k in m.kernel_size)
                for c in range(m.out_channels):
                    m.weight[(c, c, *centre)] = 1.0
                m.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # (B, C, H, W) → (B, C, H, W)
