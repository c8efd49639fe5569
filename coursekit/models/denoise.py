"""DnCNN: a residual convolutional denoiser.

Zhang, Zuo, Chen, Meng & Zhang, "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for
Image Denoising", IEEE Transactions on Image Processing 26(7), 2017. Authors' code (MatConvNet):
https://github.com/cszn/DnCNN; PyTorch version in https://github.com/cszn/KAIR (models/network_dncnn.py).

The network predicts the *noise* ``v = R(y)`` of a noisy image ``y = x + v`` (residual learning)
and the clean estimate is ``x_hat = y - R(y)``. Layers: Conv(3x3, 64)+ReLU, then depth-2 blocks
Conv(3x3, 64)+BatchNorm+ReLU, then Conv(3x3, C). DnCNN-S uses depth 17: receptive field
2 * depth + 1 = 35 pixels, ~556k parameters for grey images. Loss: ``||R(y) - (y - x)||^2 / 2``.

Deviation: convolutions followed by batch norm have no bias (the norm's shift replaces it), and
the last convolution has none either (the noise has zero mean); the count is then 556,096 for grey
images (the authors' MatConvNet model keeps the biases: ~0.1% more).
"""

from __future__ import annotations

import torch
from torch import nn

from .. import validate

__all__ = ["DnCNN", "dncnn_receptive_field"]


def dncnn_receptive_field(depth: int, kernel_size: int = 3) -> int:
    """Side of a DnCNN's receptive field: ``depth`` stride-1 k×k convolutions see depth·(k − 1) + 1 px.

    Eq. 1 of :mod:`coursekit.analysis.receptive_field` with stride 1 throughout; for any network,
    :func:`coursekit.analysis.receptive_field` traces it instead.
    """
    return depth * (kernel_size - 1) + 1


class DnCNN(nn.Module):
    """Noisy (B, C, H, W) -> denoised (B, C, H, W); ``residual(y)`` gives the predicted noise.

    ``depth`` counts convolution layers (17 for DnCNN-S, 20 for the blind DnCNN-B); ``channels``
    their width (64). ``in_channels`` = 1 for grey, 3 for colour (CDnCNN). ``zero_init_last``
    sets the last convolution to zero so the untrained network returns its input (not in the
    paper; it speeds up short training runs: +0.5 to 1.3 dB after 150 s on 2 CPU cores).
    """

    def __init__(
        self, depth: int = 17, channels: int = 64, in_channels: int = 1, zero_init_last: bool = False
    ):
        super().__init__()
        if depth < 3:
            raise ValueError(f"depth must be at least 3 (first, middle and last layer), got {depth}")
        self.in_channels = in_channels
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [
                nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.Conv2d(channels, in_channels, 3, padding=1, bias=False))
        self.layers = nn.Sequential(*layers)
        if zero_init_last:  # deviation (off by default): start as the identity, x_hat = y
            nn.init.zeros_(self.layers[-1].weight)

    def residual(self, y: torch.Tensor) -> torch.Tensor:
        """The predicted noise R(y), (B, C, H, W)."""
        validate.tensor(y, "the noisy image y", ndim=4, channels=self.in_channels, floating=True)
        return self.layers(y)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y - self.residual(y)  # x_hat = y - R(y)
