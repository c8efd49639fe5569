"""Pretrained ImageNet networks that also work offline: VGG-16/19 and ResNet-18/50.

``model, info = load("vgg19")`` builds the torchvision model and, when its ImageNet weights are in
the torch hub cache (``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch/hub``) or can be
downloaded, loads them:

- the file is the one torchvision's weights API names (``VGG19_Weights.IMAGENET1K_V1.url`` ends in
  ``vgg19-dcbb9e9d.pth``); the hex after the last ``-`` is the start of the file's SHA-256, and it
  is checked before the file is read (a corrupt or truncated file is a ``ValueError`` naming it);
- it is read with ``torch.load(..., weights_only=True)``, which unpickles tensors only.

Offline with nothing cached, ``load`` prints ONE line saying so and returns the same architecture
with random weights (seeded, so identical in every run). ``info.pretrained`` tells which happened;
notebooks print ``info.source``. Random VGG features still carry texture statistics: Gatys' style
transfer visibly transfers palette and texture with them, only less well (see the course's
TOOLING-NOTES, "Style transfer without pretrained weights").

Set ``COURSEKIT_OFFLINE=1`` (or pass ``download=False``) to never try the network.

Models: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015 (VGG); He et al., "Deep Residual Learning for Image Recognition", CVPR
2016 (ResNet). Weights and code: torchvision (github.com/pytorch/vision, ``torchvision/models``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["MODELS", "PretrainedInfo", "load", "vgg_layers", "weights_dir", "weights_filename"]

#: The models ``load`` knows, with their torchvision default weights (ImageNet-1k).
MODELS = ("vgg16", "vgg19", "resnet18", "resnet50")

# Seed for the offline fallback's random weights: the same "network" in every run and notebook.
_FALLBACK_SEED = 0

# VGG configurations "D" (16 layers) and "E" (19 layers) of the paper's Table 1: convolutions per block.
_VGG_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


@dataclass(frozen=True)
class PretrainedInfo:
    """What ``load`` returned: which weights, from where, and how to normalise inputs."""

    name: str
    pretrained: bool  # True: ImageNet weights; False: random weights (offline fallback)
    source: str  # human-readable, for printing in notebooks
    weights: Any  # the torchvision weights enum (its .meta works offline)
    mean: tuple[float, float, float]  # ImageNet normalisation: (x - mean) / std, x in [0, 1]
    std: tuple[float, float, float]
    path: Path | None = None  # the weights file used, when pretrained
    meta: dict = field(default_factory=dict, repr=False)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> ImageNet-normalised, as the network expects."""
        mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x - mean) / std


def weights_dir() -> Path:
    """Where torchvision keeps downloaded weights: ``torch.hub.get_dir()/checkpoints``.

    Not coursekit's own cache (datasets, trained course models): that is
    :func:`coursekit.runtime.cache_dir`."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_filename(weights) -> str:
    """The file name torchvision downloads ``weights`` to, e.g. ``vgg19-dcbb9e9d.pth``."""
    return weights.url.rsplit("/", 1)[-1]


def _default_weights(name: str):
    import torchvision

    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {MODELS}")
    return torchvision.models.get_model_weights(name).DEFAULT


def _hash_prefix(path: Path) -> str:
    match = re.search(r"-([a-f0-9]+)\.", path.name)  # the convention of torch.hub.HASH_REGEX
    if match is None:
        raise ValueError(
            f"weights file {path} has no '-<sha256 prefix>.' in its name, so it cannot be "
            "verified; name it like torchvision does (e.g. vgg19-dcbb9e9d.pth)"
        )
    return match.group(1)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_verified(path: Path) -> dict[str, torch.Tensor]:
    """Check the SHA-256 prefix in ``path``'s name, then load the state dict (tensors only)."""
    expected = _hash_prefix(path)
    actual = _sha256(path)
    if not actual.startswith(expected):
        raise ValueError(
            f"weights file {path} is corrupt: its SHA-256 starts with {actual[: len(expected)]}, "
            f"its name promises {expected}. Delete it and download it again."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure here means the file is unusable
        raise ValueError(f"weights file {path} could not be read ({err}); delete it") from err
    if not isinstance(state, dict):
        raise ValueError(f"weights file {path} holds a {type(state).__name__}, expected a state dict")
    return state


def _offline() -> bool:
    return os.environ.get("COURSEKIT_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


@functools.lru_cache(maxsize=8)
def _host_answers(url: str) -> bool:
    """A 2-second reachability probe, asked once per host and process (offline costs 2 s, once)."""
    from .data.download import can_download

    return can_download(url, timeout=2.0)


def _try_download(weights, dst: Path) -> str | None:
    """Download ``weights`` to ``dst`` (hash-checked). Returns None on success, else the reason."""
    host = "/".join(weights.url.split("/")[:3])
    if not _host_answers(host):
        return f"{host} cannot be reached"
    timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)  # urllib has no timeout otherwise: never hang a notebook
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(weights.url, str(dst), hash_prefix=_hash_prefix(dst))
        return None
    except Exception as err:  # noqa: BLE001 - offline is an expected state, not a bug
        if dst.exists():
            dst.unlink()
        return f"{type(err).__name__}: {err}".splitlines()[0][:120]
    finally:
        socket.setdefaulttimeout(timeout)


def load(
    name: str, *, download: bool | None = None, verbose: bool = True, classifier: bool = True
) -> tuple[nn.Module, PretrainedInfo]:
    """Build torchvision's ``name`` with ImageNet weights if available, else random weights.

    ``download``: try the network when the weights are not cached (default: yes, unless the
    environment variable ``COURSEKIT_OFFLINE`` is set). ``classifier=False`` (VGG only, for
    feature extraction) replaces VGG's fully connected head by ``nn.Identity``: 120M fewer
    parameters, which take seconds to initialise. The model is returned in eval mode on the
    CPU; move it with ``.to(device)``. A cached file that fails its checksum raises ``ValueError``.
    """
    weights = _default_weights(name)
    transform = weights.transforms()
    common = dict(
        name=name,
        weights=weights,
        mean=tuple(float(m) for m in transform.mean),
        std=tuple(float(s) for s in transform.std),
        meta=dict(weights.meta),
    )
    path = weights_dir() / weights_filename(weights)
    reason = None
    if not path.exists():
        if download is None:
            download = not _offline()
        reason = _try_download(weights, path) if download else "downloads switched off"

    headless = not classifier and name.startswith("vgg")
    if path.exists():
        state = _read_verified(path)
        model = _build(name, headless)
        if headless:
            state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise ValueError(
                f"weights file {path} does not fit torchvision's {name}: "
                f"{str(err).splitlines()[0]} ... Delete it."
            ) from err
        info = PretrainedInfo(
            pretrained=True, source="torchvision ImageNet weights (cached)", path=path, **common
        )
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_FALLBACK_SEED)
            model = _build(name, headless)
        source = f"random weights (offline fallback): no {path.name} in {path.parent} ({reason})"
        info = PretrainedInfo(pretrained=False, source=source, **common)
        if verbose:
            print(f"coursekit.pretrained: {name} uses {source}")
    return model.eval(), info


def _build(name: str, headless: bool) -> nn.Module:
    import torchvision

    if not headless:
        return torchvision.models.get_model(name, weights=None)
    with torch.device("meta"):  # build the head nowhere, then drop it
        model = torchvision.models.get_model(name, weights=None)
    model.classifier = nn.Identity()
    model.to_empty(device="cpu")
    for module in model.features:  # torchvision's VGG initialisation, features only
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return model


def vgg_layers(name: str = "vgg19") -> dict[str, str]:
    """The paper's layer names -> module paths in torchvision's VGG (no batch norm).

    ``{"conv1_1": "features.0", "relu1_1": "features.1", ..., "pool1": "features.4", ...}``;
    ``convB_L`` is the L-th convolution of block B, ``reluB_L`` its ReLU, ``poolB`` the max-pool
    ending block B. Derived from the configurations of Simonyan & Zisserman's Table 1.
    """
    if name not in _VGG_BLOCKS:
        raise ValueError(f"unknown VGG {name!r}; expected one of {tuple(_VGG_BLOCKS)}")
    layers, index = {}, 0
    for block, n_convs in enumerate(_VGG_BLOCKS[name], start=1):
        for conv in range(1, n_convs + 1):
            layers[f"conv{block}_{conv}"] = f"features.{index}"
            layers[f"relu{block}_{conv}"] = f"features.{index + 1}"
            index += 2
        layers[f"pool{block}"] = f"features.{index}"
        index += 1
    return layers
