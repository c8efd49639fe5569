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

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import validate
from ..data.download import sha256sum

__all__ = ["COURSE_WEIGHTS", "CourseWeightsError", "DnCNN", "augmented_blind_loss", "blind_residual_loss", "dncnn_receptive_field",
           "load_course_dncnn"]

#: The folder inside the package that holds the weights the course trained once and ships
#: (``tools/train_dncnn.py`` wrote them; each ``NAME.pt`` has a ``NAME.json`` manifest with its
#: SHA-256 and the run's provenance).
COURSE_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
_RETRAIN = "python -m tools.train_dncnn"


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


def blind_residual_loss(net: nn.Module, clean: torch.Tensor, sigmas) -> torch.Tensor:
    """One step's loss for a *blind* DnCNN (one network for several noise levels, like DnCNN-B).

    Each crop of ``clean`` (B, C, H, W) gets its own noise level drawn uniformly from ``sigmas``
    (on the [0, 1] scale), fresh white Gaussian noise is added, ``net.residual`` predicts that
    noise, and the loss is the paper's Eq. 1: ``1/(2N) * sum_i ||R(y_i) - (y_i - x_i)||^2`` over
    the ``N`` crops. Random numbers come from torch's global generator (seeded by the caller).
    """
    sig = torch.as_tensor(sigmas, dtype=clean.dtype).flatten().to(clean.device)
    s = sig[torch.randint(len(sig), (clean.shape[0],), device=clean.device)]
    noisy = clean + s.view(-1, *([1] * (clean.dim() - 1))) * torch.randn_like(clean)
    return 0.5 * ((net.residual(noisy) - (noisy - clean)) ** 2).flatten(1).sum(1).mean()


def augmented_blind_loss(net: nn.Module, batch: tuple[torch.Tensor], sigmas) -> torch.Tensor:
    """The course's training step for a blind DnCNN (``tools/train_dncnn.py`` and notebook 1.7):
    the batch ``(clean,)`` (B, 1, H, W) turned by one of the 8 flips and rotations of the square
    (one per batch, the paper's augmentation), then :func:`blind_residual_loss` divided by the
    pixels per crop, so that the learning rate does not depend on the crop size."""
    (x,) = batch
    k = int(torch.randint(8, (1,)))  # cpu: one Python int, which of the 8 flips/rotations
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    x = x.flip(-1) if k >= 4 else x
    return blind_residual_loss(net, x, sigmas) / x[0].numel()


class CourseWeightsError(RuntimeError):
    """The shipped weights are missing, corrupt, or do not fit the architecture their manifest states."""


def load_course_dncnn(name: str = "dncnn_blind", folder: str | Path | None = None) -> tuple[DnCNN, dict[str, Any]]:
    """The DnCNN the course trained once and ships, in eval mode, with its manifest (a dict).

    ``folder`` defaults to :data:`COURSE_WEIGHTS`. The file's SHA-256 is checked against the
    manifest **before** it is read, and it is read with ``torch.load(weights_only=True)`` (tensors
    only). A missing or corrupt file is a :class:`CourseWeightsError` that says how to get it back.
    """
    folder = Path(folder) if folder is not None else COURSE_WEIGHTS
    meta_path, weights_path = folder / f"{name}.json", folder / f"{name}.pt"
    fix = (f"restore it from the course repository (git checkout -- coursekit/weights) or retrain it from the "
           f"repository root with `{_RETRAIN}` (see that script's docstring)")
    if not meta_path.exists() or not weights_path.exists():
        missing = meta_path if not meta_path.exists() else weights_path
        raise CourseWeightsError(f"the course's DnCNN weights are incomplete: {missing} is missing; {fix}")
    try:
        meta = json.loads(meta_path.read_text())
        expected, arch = meta["sha256"], meta["architecture"]
    except (ValueError, KeyError) as err:
        raise CourseWeightsError(f"the manifest {meta_path} is unreadable ({err}); {fix}") from err
    digest = sha256sum(weights_path)
    if digest != expected:
        raise CourseWeightsError(
            f"{weights_path} is corrupt or was replaced: its SHA-256 is {digest[:16]}…, the manifest "
            f"{meta_path.name} records {expected[:16]}…; {fix}"
        )
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    model = DnCNN(depth=int(arch["depth"]), channels=int(arch["channels"]), in_channels=int(arch.get("in_channels", 1)))
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CourseWeightsError(f"{weights_path} does not fit the architecture in {meta_path.name} ({arch}); {fix}") from err
    return model.eval(), meta
