"""The feature space of neural style transfer: named VGG-19 activations of images in [0, 1].

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016,
Sec. 2: content is read from conv4_2, style from conv1_1 … conv5_1, and the network's max-pools
are replaced by average pools ("improves gradient flow"). Layers are taken after the ReLU, as in
the authors' code (github.com/leongatys/PytorchNeuralStyleTransfer: ``r42``).

:func:`check_image` tidies an input image into the (1, 3, H, W) batch VGG takes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ... import validate
from ...features import FeatureExtractor

__all__ = ["CONTENT_LAYERS", "MAX_SIDE", "STYLE_LAYERS", "VGGFeatures", "check_image"]

#: Gatys et al. 2016: content from conv4_2, style from conv1_1 ... conv5_1 (after their ReLUs).
CONTENT_LAYERS = ("relu4_2",)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

#: Images larger than this (longest side, pixels) are downscaled, with a message.
MAX_SIDE = 1024


def check_image(image: torch.Tensor, name: str = "image", max_side: int = MAX_SIDE) -> torch.Tensor:
    """Validate and tidy one image: returns (1, 3, H, W) float in [0, 1].

    Accepts (3, H, W), (1, 3, H, W), and grey (H, W), (1, H, W) or (1, 1, H, W) images (grey is
    repeated over three channels: VGG expects colour). Larger than ``max_side`` -> downscaled with
    a printed message.
    """
    validate.tensor(image, name, ndim=(2, 3, 4), shape="(3, H, W) or (1, 3, H, W)", floating=True)
    x = image
    if x.dim() == 2:  # (H, W)
        x = x[None]
    if x.dim() == 3:  # (C, H, W)
        x = x[None]
    if x.shape[0] != 1 or x.shape[1] not in (1, 3):
        raise ValueError(
            f"{name} must be one image of shape (3, H, W) or (1, 3, H, W) (grey: (H, W)), "
            f"got {tuple(image.shape)}; pass one image at a time, e.g. images[0]"
        )
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)  # grey -> RGB
    if min(x.shape[-2:]) < 16:
        raise ValueError(
            f"{name} must be at least 16×16 pixels for VGG, got {tuple(x.shape[-2:])}; upsample it"
        )
    if max(x.shape[-2:]) > max_side:
        scale = max_side / max(x.shape[-2:])
        size = (round(x.shape[-2] * scale), round(x.shape[-1] * scale))
        print(f"{name}: {tuple(x.shape[-2:])} is larger than {max_side} pixels; downscaled to {size}")
        x = F.interpolate(x, size=size, mode="area")
    return x.clamp(0, 1)


@functools.lru_cache(maxsize=2)
def _load_vgg(name: str):
    from ... import pretrained

    # loaded (or announced as the fallback) once per process; the classifier is not needed
    return pretrained.load(name, classifier=False)


class VGGFeatures(nn.Module):
    """Named VGG features of images in [0, 1]: ``VGGFeatures()(x) -> {"relu1_1": ..., ...}``.

    Wraps ``coursekit.pretrained.load(name)`` (ImageNet weights when cached, else the announced
    random-weight fallback, see ``self.info``) with ImageNet normalisation, frozen weights and
    only the layers up to the deepest one asked for.
    """

    def __init__(
        self,
        layers: Sequence[str] = STYLE_LAYERS + CONTENT_LAYERS,
        name: str = "vgg19",
        pool: str = "avg",
        model: nn.Module | None = None,
        info=None,
    ):
        super().__init__()
        from ... import pretrained

        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        paths = pretrained.vgg_layers(name)
        unknown = [layer for layer in layers if layer not in paths]
        if unknown:
            raise ValueError(f"unknown VGG layers {unknown}; valid names look like {list(paths)[:6]}")
        if model is None:
            model, info = _load_vgg(name)
        self.info = info
        deepest = max(int(paths[layer].split(".")[1]) for layer in layers)
        modules = []
        for module in list(model.features)[: deepest + 1]:
            if isinstance(module, nn.MaxPool2d) and pool == "avg":
                module = nn.AvgPool2d(2, 2)  # Gatys et al. 2016, Sec. 2: "improves gradient flow"
            if isinstance(module, nn.ReLU):
                module = nn.ReLU(inplace=False)  # in-place would overwrite the hooked conv outputs
            modules.append(module)
        self.features = nn.Sequential(*modules)
        self.requires_grad_(False).eval()
        mean = info.mean if info is not None else (0.485, 0.456, 0.406)
        std = info.std if info is not None else (0.229, 0.224, 0.225)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.layers = tuple(layers)
        self.extractor = FeatureExtractor(
            self.features, {layer: paths[layer].split(".", 1)[1] for layer in layers}
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        # x: (B, 3, H, W) in [0, 1] -> {layer: (B, C_l, H_l, W_l)}
        return self.extractor((x - self.mean) / self.std)

    def train(self, mode: bool = True) -> VGGFeatures:
        return super().train(False)  # always eval: a fixed feature space
