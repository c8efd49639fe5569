"""The feed-forward style network of Johnson et al.: one forward pass instead of an optimisation.

Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and Super-Resolution",
ECCV 2016 (supplementary material, Table 1). The network is trained once per style with the
perceptual losses of Gatys et al. (``coursekit.models.style.losses.PerceptualLoss``) on many content
images; afterwards stylising an image costs one forward pass.

Reference configuration (``TransformerNet()``), as in the PyTorch port
github.com/pytorch/examples ``fast_neural_style/neural_style/transformer_net.py`` (authors' Lua
code: github.com/jcjohnson/fast-neural-style):

    9x9 conv, 32  ->  3x3 conv /2, 64  ->  3x3 conv /2, 128          (B, 3, H, W) -> (B, 128, H/4, W/4)
    5 residual blocks, 128 channels (two 3x3 convs each)             (B, 128, H/4, W/4)
    x2 upsample + 3x3 conv, 64  ->  x2 upsample + 3x3 conv, 32       -> (B, 32, H, W)
    9x9 conv, 3                                                       -> (B, 3, H, W)

1,679,235 parameters. Deviations from the paper, as in the PyTorch port: instance normalisation
instead of batch normalisation (Ulyanov et al., "Instance Normalization", 2016: markedly better
stylisation), reflection padding at every convolution instead of 40 pixels once, and nearest
upsampling + convolution instead of fractionally strided convolutions (Odena et al., Distill 2016:
no checkerboard artefacts). The output goes through a scaled tanh into [0, 1] as in the paper
(its images are in [0, 255]).

``TransformerNet(width=0.5, n_residual=3)`` is a smaller teaching size for CPU budgets.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvLayer", "ResidualBlock", "TransformerNet", "UpsampleConvLayer"]


class ConvLayer(nn.Sequential):
    """Reflection-padded convolution ("same" size for stride 1), then optional norm and ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        norm: bool = True,
        relu: bool = True,
    ):
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(kernel_size // 2),
            nn.Conv2d(in_channels, out_channels, kernel_size, stride),
        ]
        if norm:
            layers.append(nn.InstanceNorm2d(out_channels, affine=True))
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)


class UpsampleConvLayer(ConvLayer):
    """x2 nearest-neighbour upsampling, then a ConvLayer: (B, C, H, W) -> (B, C', 2H, 2W)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__(in_channels, out_channels, kernel_size)
        self.insert(0, nn.Upsample(scale_factor=2, mode="nearest"))


class ResidualBlock(nn.Module):
    """conv-norm-ReLU-conv-norm plus the input (He et al. 2016; no ReLU after the sum, as Gross &
    Wilber's "Training and investigating residual nets" found best; same in Johnson's code)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            ConvLayer(channels, channels, 3),
            ConvLayer(channels, channels, 3, relu=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TransformerNet(nn.Module):
    """Image -> stylised image, (B, 3, H, W) in [0, 1] -> (B, 3, H, W) in [0, 1].

    H and W must be multiples of 4 (two stride-2 convolutions, then two x2 upsamplings).
    """

    def __init__(self, width: float = 1.0, n_residual: int = 5):
        super().__init__()
        if width <= 0 or n_residual < 0:
            raise ValueError(f"width must be > 0 and n_residual >= 0, got {width}, {n_residual}")
        c1, c2, c3 = (max(4, round(c * width)) for c in (32, 64, 128))
        self.down = nn.Sequential(
            ConvLayer(3, c1, 9),  # (B, 32, H, W)
            ConvLayer(c1, c2, 3, stride=2),  # (B, 64, H/2, W/2)
            ConvLayer(c2, c3, 3, stride=2),  # (B, 128, H/4, W/4)
        )
        self.residual = nn.Sequential(*(ResidualBlock(c3) for _ in range(n_residual)))
        self.up = nn.Sequential(
            UpsampleConvLayer(c3, c2),  # (B, 64, H/2, W/2)
            UpsampleConvLayer(c2, c1),  # (B, 32, H, W)
            ConvLayer(c1, 3, 9, norm=False, relu=False),  # (B, 3, H, W)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W), got shape {tuple(x.shape)}")
        if x.shape[-2] % 4 or x.shape[-1] % 4:
            raise ValueError(
                f"height and width must be multiples of 4, got {tuple(x.shape[-2:])}; crop or resize"
            )
        y = self.up(self.residual(self.down(x)))
        return (torch.tanh(y) + 1) / 2  # scaled tanh (paper: 150 * tanh for [0, 255] images)
