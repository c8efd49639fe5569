"""Figures the notebooks share: image grids and side-by-side comparisons.

Images are tensors ``(B, C, H, W)`` or ``(C, H, W)`` with values in [0, 1] (or [-1, 1] with
``value_range=(-1, 1)``), 1 or 3 channels; NumPy arrays ``(H, W)`` / ``(H, W, 3)`` work too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["show_images", "show_rows", "to_numpy_image"]


def to_numpy_image(img: Any, value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """One image as an ``(H, W)`` or ``(H, W, 3)`` float array in [0, 1]."""
    if isinstance(img, torch.Tensor):
        img = img.detach().float().cpu()
        if img.dim() == 4 and img.shape[0] == 1:
            img = img[0]
        if img.dim() != 3 and img.dim() != 2:
            raise ValueError(f"expected an image (C, H, W) or (H, W), got shape {tuple(img.shape)}")
        if img.dim() == 3:
            if img.shape[0] not in (1, 3):
                raise ValueError(f"expected 1 or 3 channels first, got shape {tuple(img.shape)}")
            img = img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)
        img = img.numpy()
    img = np.asarray(img, dtype=np.float32)
    lo, hi = value_range
    return np.clip((img - lo) / (hi - lo), 0.0, 1.0)


def show_images(
    images: Any,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    size: float = 1.6,
    value_range: tuple[float, float] = (0.0, 1.0),
    cmap: str = "gray",
    suptitle: str | None = None,
) -> Any:
    """Draw a grid of images; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    if isinstance(images, torch.Tensor) and images.dim() == 3 and images.shape[0] not in (1, 3):
        images = images[:, None]
    imgs = [to_numpy_image(im, value_range) for im in images]
    if not imgs:
        raise ValueError("show_images got no images")
    ncols = min(ncols, len(imgs))
    nrows = (len(imgs) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if suptitle else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(imgs):
            ax.imshow(imgs[i], cmap=cmap if imgs[i].ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
            if titles is not None and i < len(titles):
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_rows(rows: dict[str, Any], n: int = 8, size: float = 1.4,
              value_range: tuple[float, float] = (0.0, 1.0)) -> Any:
    """One labelled row per entry, e.g. ``{"noisy": x, "denoised": y, "clean": z}``."""
    import matplotlib.pyplot as plt

    names = list(rows)
    n = min(n, min(len(v) for v in rows.values()))
    fig, axes = plt.subplots(len(names), n, figsize=(size * n, size * len(names)), squeeze=False)
    for r, name in enumerate(names):
        for c in range(n):
            ax = axes[r, c]
            im = to_numpy_image(rows[name][c], value_range)
            ax.imshow(im, cmap="gray" if im.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
    fig.tight_layout()
    return fig
