"""Photos that need no download: the images scikit-image, scikit-learn and matplotlib ship.

``load(name)`` gives one photo as a ``(3, H, W)`` float tensor in [0, 1] (grey photos are
repeated over the three channels). ``patches`` cuts random crops for training and testing; the
split into train and test is made **by source image** (``SPLIT``), so no patch of a test photo is
ever seen in training.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["CAMERA", "GRAY", "SPLIT", "load", "names", "patches"]

_SKIMAGE_COLOR = ["astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry"]
_SKIMAGE_GRAY = ["camera", "brick", "grass", "gravel", "coins", "moon", "clock", "cell", "page", "text"]
_SKLEARN = ["china", "flower"]
_MATPLOTLIB = ["grace_hopper"]

GRAY = frozenset(_SKIMAGE_GRAY)  # photos that are grey scale at the source
# everyday scenes taken with an ordinary camera; the others are microscopy (cell,
# immunohistochemistry), astronomy (hubble_deep_field, moon) and scanned pages (page, text),
# whose tones follow other rules (mostly black sky, near-binary ink on paper)
CAMERA = frozenset(["astronaut", "coffee", "chelsea", "rocket", "camera", "brick", "grass", "gravel", "coins", "clock",
                    "china", "flower", "grace_hopper"])

SPLIT: dict[str, list[str]] = {
    "test": ["coffee", "flower", "grass", "coins", "clock"],
    "train": [n for n in _SKIMAGE_COLOR + _SKIMAGE_GRAY + _SKLEARN + _MATPLOTLIB
              if n not in ("coffee", "flower", "grass", "coins", "clock")],
}


def names(split: str | None = None, camera_only: bool = False) -> list[str]:
    """All photo names, or those of one split (``"train"`` or ``"test"``); ``camera_only`` keeps
    the everyday camera photos (:data:`CAMERA`)."""
    if split is None:
        out = SPLIT["train"] + SPLIT["test"]
    elif split not in SPLIT:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    else:
        out = list(SPLIT[split])
    return [n for n in out if n in CAMERA] if camera_only else out


@functools.lru_cache(maxsize=32)
def _load_uint8(name: str) -> np.ndarray:
    if name in _SKIMAGE_COLOR or name in _SKIMAGE_GRAY:
        import skimage.data

        img = getattr(skimage.data, name)()
    elif name in _SKLEARN:
        from sklearn.datasets import load_sample_image

        img = load_sample_image(f"{name}.jpg")
    elif name in _MATPLOTLIB:
        import matplotlib.cbook
        from PIL import Image

        with matplotlib.cbook.get_sample_data(f"{name}.jpg") as f:
            img = np.asarray(Image.open(f).convert("RGB"))
    else:
        raise ValueError(f"unknown photo {name!r}; available: {', '.join(names())}")
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3])


def load(name: str, max_side: int | None = None) -> torch.Tensor:
    """Photo ``name`` as ``(3, H, W)`` float32 in [0, 1]; ``max_side`` downsizes large ones."""
    t = torch.from_numpy(_load_uint8(name).copy()).permute(2, 0, 1).float() / 255.0
    if max_side is not None and max(t.shape[1:]) > max_side:
        s = max_side / max(t.shape[1:])
        size = (max(1, round(t.shape[1] * s)), max(1, round(t.shape[2] * s)))
        t = F.interpolate(t[None], size=size, mode="area")[0]
    return t


def patches(
    n: int,
    size: int = 64,
    split: str = "train",
    seed: int = 0,
    gray: bool = False,
    sources: Sequence[str] | None = None,
    scale: float = 1.0,
) -> torch.Tensor:
    """``n`` random ``size``×``size`` crops from the photos of ``split``: ``(n, C, size, size)``.

    ``gray=True`` gives one luminance channel. ``scale < 1`` downsizes the photos first (crops then
    hold more content). ``sources`` restricts the photos (they must belong to ``split``).
    """
    pool = names(split)
    if sources is not None:
        wrong = [s for s in sources if s not in pool]
        if wrong:
            raise ValueError(f"photos {wrong} are not in the {split!r} split ({pool})")
        pool = list(sources)
    if n < 1 or size < 4:
        raise ValueError(f"need n >= 1 and size >= 4, got n={n}, size={size}")
    gen = torch.Generator().manual_seed(seed)
    images = []
    for name in pool:
        img = load(name)
        if scale != 1.0:
            img = F.interpolate(img[None], scale_factor=scale, mode="area", recompute_scale_factor=False)[0]
        if min(img.shape[1:]) < size:
            raise ValueError(f"photo {name!r} ({tuple(img.shape[1:])} after scaling) is smaller than the patch size {size}")
        images.append(img)
    which = torch.randint(len(images), (n,), generator=gen)
    out = torch.empty(n, 3, size, size)
    for i, k in enumerate(which.tolist()):
        img = images[k]
        top = int(torch.randint(img.shape[1] - size + 1, (1,), generator=gen))
        left = int(torch.randint(img.shape[2] - size + 1, (1,), generator=gen))
        out[i] = img[:, top: top + size, left: left + size]
    if gray:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)  # ITU-R BT.601 luma
        out = (out * weights).sum(1, keepdim=True)
    return out
