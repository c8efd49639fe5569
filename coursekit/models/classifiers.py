"""Small classifiers that measure generated images: what they show, in features a distance can use.

* :class:`FeatureNet` — a LeNet-like classifier whose penultimate layer gives the features of the
  course's Fréchet distance (:class:`coursekit.metrics.FrechetScorer`), the approach of the "FID on
  MNIST" variants of Heusel et al., NeurIPS 2017, which replace Inception-v3 by a small network
  trained on the dataset itself.
* :class:`FactorClassifier` — one head per known factor of the shapes dataset, to read the factors
  off generated images (text-to-image results scored against their captions, swapped codes
  checked; :func:`coursekit.analysis.disentanglement.factor_accuracy`).

The networks only; :mod:`coursekit.train` trains them (``frechet_features``, ``fit_factor_classifier``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate

__all__ = ["FactorClassifier", "FeatureNet"]


class FeatureNet(nn.Module):
    """A small classifier whose penultimate layer gives the features of the Fréchet distance.

    Images (B, C, H, W) in [0, 1] are resized to ``size`` × ``size`` (32), then three stride-2
    conv blocks (32 → 16 → 8 → 4) and a linear layer give ``feature_dim`` features; a final linear
    layer classifies them. A LeNet-like design, as used for "FID on MNIST".
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        width: int = 32,
        feature_dim: int = 64,
        size: int = 32,
    ):
        super().__init__()
        self.in_channels, self.num_classes, self.size = in_channels, num_classes, size
        w = width

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, stride=2, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            )

        self.body = nn.Sequential(
            block(in_channels, w), block(w, 2 * w), block(2 * w, 4 * w)
        )  # (B, 4w, S/8, S/8)
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * (size // 8) ** 2, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, num_classes)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        validate.tensor(x, "FeatureNet's input", ndim=4, channels=self.in_channels)
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(
                x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False
            )
        return x * 2 - 1

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, feature_dim)."""
        return self.embed(self.body(self._prepare(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> class logits (B, num_classes)."""
        return self.head(self.features(x))


class FactorClassifier(nn.Module):
    """Images (B, C, S, S) in [0, 1] → a dict of logits, one (B, n_values) entry per factor.

    Three conv blocks (conv, batch norm, ReLU, stride 2), average pooling to a 4×4 map (so that
    position stays readable), then one linear head per factor.
    """

    def __init__(self, factor_sizes: dict[str, int], in_channels: int = 3, width: int = 32):
        super().__init__()
        self.factor_sizes = dict(factor_sizes)
        w = width
        layers: list[nn.Module] = []
        c = in_channels
        for co in (w, 2 * w, 2 * w):
            layers += [
                nn.Conv2d(c, co, 3, padding=1),
                nn.BatchNorm2d(co),
                nn.ReLU(True),
                nn.Conv2d(co, co, 3, stride=2, padding=1),
                nn.BatchNorm2d(co),
                nn.ReLU(True),
            ]
            c = co
        # keep a coarse map (not a global average) so that position stays readable
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten())  # (B, 16·2w)
        self.heads = nn.ModuleDict({k: nn.Linear(c * 16, n) for k, n in self.factor_sizes.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.body(x * 2 - 1)
        return {k: head(h) for k, head in self.heads.items()}
