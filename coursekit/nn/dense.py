"""DenseNet's dense block: every layer sees the feature maps of all layers before it.

Paper: Gao Huang, Zhuang Liu, Laurens van der Maaten and Kilian Q. Weinberger, "Densely
Connected Convolutional Networks", CVPR 2017. Authors' code (Torch):
https://github.com/liuzhuang13/DenseNet; torchvision's ``models/densenet.py`` follows it.

Layer ℓ of a block receives the concatenation [x₀, x₁, …, x_{ℓ−1}] (eq. 2) and adds k new
feature maps (k = growth rate), so after L layers the block outputs C₀ + L·k channels.
DenseNet-B puts a 1×1 "bottleneck" convolution to 4k channels before each 3×3
(BN-ReLU-Conv1×1-BN-ReLU-Conv3×3). DenseNet-121: k = 32, blocks of 6, 12, 24, 16 layers,
64 initial channels, transitions halving channels (compression 0.5) and the resolution.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DenseBlock", "DenseLayer", "Transition", "dense_channels"]


def dense_channels(in_channels: int, growth_rate: int, num_layers: int) -> list[int]:
    """Channels entering each layer, then leaving the block: C₀, C₀+k, …, C₀+L·k."""
    return [in_channels + i * growth_rate for i in range(num_layers + 1)]


class DenseLayer(nn.Module):
    """BN-ReLU-Conv1×1(bn_size·k)-BN-ReLU-Conv3×3(k) (DenseNet-B); ``bn_size=None``: no bottleneck.

    Shapes: (B, C, H, W) → (B, bn_size·k, H, W) → (B, k, H, W): only the NEW maps are returned;
    the block concatenates them.
    """

    def __init__(
        self, in_channels: int, growth_rate: int = 32, bn_size: int | None = 4, drop_rate: float = 0.0
    ):
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        if bn_size:
            layers += [
                nn.BatchNorm2d(c),
                nn.ReLU(inplace=True),
                nn.Conv2d(c, bn_size * growth_rate, 1, bias=False),
            ]
            c = bn_size * growth_rate
        layers += [
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
            nn.Conv2d(c, growth_rate, 3, padding=1, bias=False),
        ]
        if drop_rate > 0:
            layers.append(nn.Dropout(drop_rate))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # (B, C, H, W) → (B, k, H, W)


class DenseBlock(nn.Module):
    """``num_layers`` dense layers, each fed the concatenation of everything before it.

    Defaults are DenseNet-121's first block (6 layers, 64 input channels, k = 32, bn_size 4).
    Shapes: (B, C₀, H, W) → (B, C₀ + L·k, H, W).
    """

    def __init__(
        self,
        num_layers: int = 6,
        in_channels: int = 64,
        growth_rate: int = 32,
        bn_size: int | None = 4,
        drop_rate: float = 0.0,
    ):
        super().__init__()
        if num_layers < 1 or growth_rate < 1:
            raise ValueError(f"need num_layers ≥ 1 and growth_rate ≥ 1, got {num_layers}, {growth_rate}")
        self.in_channels, self.growth_rate = in_channels, growth_rate
        self.out_channels = in_channels + num_layers * growth_rate
        self.layers = nn.ModuleList(
            DenseLayer(c, growth_rate, bn_size, drop_rate)
            for c in dense_channels(in_channels, growth_rate, num_layers)[:-1]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        features = [x]
        for layer in self.layers:
            new = layer(torch.cat(features, dim=1))  # (B, C₀ + ℓ·k, H, W) → (B, k, H, W), eq. 2
            features.append(new)
        return torch.cat(features, dim=1)  # (B, C₀ + L·k, H, W)


class Transition(nn.Sequential):
    """BN-ReLU-Conv1×1-AvgPool2×2 between blocks: (B, C, H, W) → (B, C_out, H/2, W/2)."""

    def __init__(self, in_channels: int, out_channels: int | None = None):
        out_channels = out_channels or in_channels // 2  # compression θ = 0.5 (DenseNet-BC)
        super().__init__(
            nn.BatchNorm2d(in_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.AvgPool2d(2, 2),
        )
