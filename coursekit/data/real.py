"""Real datasets when they can be had, the offline stand-ins when not.

``mnist(split)`` returns MNIST (LeCun et al. 1998) from the registry's checksummed files, or,
offline, ``glyphs.digits`` (the digits drawn in 20 fonts). ``omniglot(part)`` returns Omniglot
(Lake et al. 2015) background/evaluation alphabets, or, offline, ``glyphs.Glyphs`` over scripts.
Both say in one line which one they use, and both return ``(images (N,1,S,S) in [0,1], labels)``.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import glyphs
from .download import DownloadError, fetch

__all__ = ["mnist", "omniglot", "read_idx"]


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST's format), gzipped or not."""
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":  # gzip
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number); delete it and download again")
    dtype = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[data[2]]
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    arr = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: {arr.size} values for shape {shape}")
    return arr.reshape(shape)


def mnist(split: str = "train", n: int | None = None, size: int = 28, seed: int = 0,
          **fetch_kwargs) -> tuple[torch.Tensor, torch.Tensor, str]:
    """MNIST images (N, 1, size, size) in [0, 1], labels, and the name of the source used."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    try:
        images = read_idx(fetch(f"mnist-{split}-images", **fetch_kwargs))
        labels = read_idx(fetch(f"mnist-{split}-labels", **fetch_kwargs))
        x = torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]
        y = torch.from_numpy(labels.astype(np.int64))
        if n is not None:
            x, y = x[:n], y[:n]
        if size != 28:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        return x, y, "MNIST"
    except DownloadError as e:
        print(f"ℹ️ MNIST is not available ({str(e).split('(')[0].strip()}): using coursekit's glyph digits "
              "instead (the ten digits in 20 fonts, distorted).")
        ds = glyphs.digits(n or 10000, size=size, seed=seed + (0 if split == "train" else 1))
        return ds.images, ds.labels, "glyph digits (offline stand-in for MNIST)"


def _read_omniglot_zip(path: Path, size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    from PIL import Image

    images, labels, classes = [], [], []
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            parts = name.split("/")
            if not name.endswith(".png") or len(parts) < 4:
                continue
            cls = f"{parts[-3]}/{parts[-2]}"  # alphabet/character
            if not classes or classes[-1] != cls:
                classes.append(cls)
            img = Image.open(io.BytesIO(z.read(name))).convert("L").resize((size, size), Image.BILINEAR)
            images.append(1.0 - np.asarray(img, dtype=np.float32) / 255.0)  # ink = 1
            labels.append(len(classes) - 1)
    if not images:
        raise ValueError(f"{path} holds no Omniglot images; delete it and download again")
    return torch.from_numpy(np.stack(images))[:, None], torch.tensor(labels), classes


def omniglot(part: str = "background", size: int = 32, seed: int = 0,
             **fetch_kwargs) -> tuple[torch.Tensor, torch.Tensor, list[str], str]:
    """Omniglot ``background`` or ``evaluation`` alphabets: images, labels, class names, source."""
    if part not in ("background", "evaluation"):
        raise ValueError(f"part must be 'background' or 'evaluation', got {part!r}")
    try:
        x, y, classes = _read_omniglot_zip(fetch(f"omniglot-{part}", **fetch_kwargs), size)
        return x, y, classes, "Omniglot"
    except DownloadError as e:
        print(f"ℹ️ Omniglot is not available ({str(e).split('(')[0].strip()}): using coursekit's glyphs "
              "instead (characters of 8 scripts in 20 fonts).")
        scripts = ["latin", "greek", "cyrillic", "armenian"] if part == "background" else \
                  ["georgian", "hebrew", "arabic", "math"]
        ds = glyphs.Glyphs(20 * 200, size=size, scripts=scripts, seed=seed)
        names = [f"{s}/{c}" for s, c in zip(ds.class_scripts, ds.classes)]
        return ds.images, ds.labels, names, "glyphs (offline stand-in for Omniglot)"
