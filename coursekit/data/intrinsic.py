"""Intrinsic scenes: procedural images with albedo, shading, depth, normals and segmentation.

An image is formed as ``image = albedo * shading (+ specular)`` (the intrinsic-image model of
Barrow & Tenenbaum, "Recovering intrinsic scene characteristics from images", 1978). Here:

- the **albedo** is piecewise constant: a "Mondrian" of overlapping rectangles and ellipses, each
  with its own colour (the world of Land & McCann's Retinex, "Lightness and retinex theory",
  JOSA 1971); ``segmentation`` gives the id of the region that wins each pixel (0 = background)
  and ``edges`` marks the albedo boundaries;
- the **geometry** is a height field: smooth random bumps plus a raised, soft-edged plateau under
  some regions (so some shading edges coincide with albedo edges, which breaks the Retinex
  assumption, as in real photographs); ``depth`` is the distance from the camera, ``normals``
  the unit surface normals (x, y, z) in [-1, 1];
- the **shading** is Lambertian: ``ambient + (1 - ambient) * max(0, n . l)`` for a random light
  direction ``l`` per scene (grey light); an optional Blinn-Phong specular term adds white
  highlights that belong to neither albedo nor shading.

Direct-intrinsics training data in the spirit of Narihira, Maire & Yu, "Direct Intrinsics:
Learning Albedo-Shading Decomposition by Convolutional Regression", ICCV 2015 (they rendered
MPI Sintel; we render procedurally, so every scene has exact ground truth for several tasks).

Everything is vectorised over scenes with numpy: ~1000 scenes of 64x64 take about a second.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["IntrinsicScenes", "make_scenes", "KEYS"]

KEYS = ("image", "albedo", "shading", "depth", "normals", "segmentation", "edges")


def _check_args(n: int, size: int, specular: float, noise: float = 0.0) -> None:
    """Argument checks (numbers, not tensors), in the form of :mod:`coursekit.validate`'s messages."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer (the number of scenes), got {n!r}; pass e.g. n=64")
    if not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an integer >= 8 (image side in pixels), got {size!r}; pass e.g. size=64")
    if not 0.0 <= float(noise) <= 0.5:
        raise ValueError(f"noise must be in [0, 0.5] (std of the sensor noise), got {noise!r}; "
                         "give it for images in [0, 1], e.g. 0.02 (not 0-255 units)")
    if not 0.0 <= float(specular) <= 1.0:
        raise ValueError(f"specular must be in [0, 1] (strength of the highlights), got {specular!r}; "
                         "0 turns the highlights off")


def _albedo_layout(rng: np.random.Generator, n: int, size: int, n_regions: int):
    """Paint ``n_regions`` shapes in order; return region ids (N, S, S) and soft masks (N, K, S, S)."""
    t = (np.arange(size) + 0.5) / size
    y, x = np.meshgrid(t, t, indexing="ij")  # (S, S) each, in (0, 1)
    x, y = x[None], y[None]  # (1, S, S)
    seg = np.zeros((n, size, size), dtype=np.int64)
    soft = np.zeros((n, n_regions, size, size), dtype=np.float32)
    for k in range(n_regions):
        cx, cy = rng.uniform(0.1, 0.9, (2, n, 1, 1))
        rx, ry = rng.uniform(0.08, 0.35, (2, n, 1, 1))
        angle = rng.uniform(0, np.pi, (n, 1, 1))
        is_ellipse = rng.random((n, 1, 1)) < 0.5
        c, s = np.cos(angle), np.sin(angle)
        u = ((x - cx) * c + (y - cy) * s) / rx  # rotated, normalised coordinates
        v = (-(x - cx) * s + (y - cy) * c) / ry
        # "radius" r < 1 inside: Euclidean for an ellipse, max-norm for a rectangle
        r = np.where(is_ellipse, np.sqrt(u**2 + v**2), np.maximum(np.abs(u), np.abs(v)))
        seg = np.where(r < 1.0, k + 1, seg)
        soft[:, k] = 1.0 / (1.0 + np.exp(np.clip((r - 0.85) / 0.08, -30, 30)))  # smooth plateau
    return seg, soft


def _height_field(rng: np.random.Generator, n: int, size: int, soft: np.ndarray, n_bumps: int):
    """Smooth random bumps plus raised plateaus under some regions; heights in [0, ~0.4]."""
    t = (np.arange(size) + 0.5) / size
    y, x = np.meshgrid(t, t, indexing="ij")
    x, y = x[None], y[None]
    z = np.zeros((n, size, size), dtype=np.float64)
    for _ in range(n_bumps):
        cx, cy = rng.uniform(-0.1, 1.1, (2, n, 1, 1))
        width = rng.uniform(0.06, 0.25, (n, 1, 1))
        height = rng.uniform(-0.5, 1.0, (n, 1, 1)) * width  # slope of order one
        z += height * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2))
    raised = rng.random((n, soft.shape[1], 1, 1)) < 0.4
    plateau = rng.uniform(0.02, 0.06, (n, soft.shape[1], 1, 1)) * raised
    z += (soft * plateau).sum(1)
    return z


def make_scenes(
    n: int,
    size: int = 64,
    seed: int = 0,
    specular: float = 0.0,
    n_regions: int = 6,
    n_bumps: int = 8,
    ambient: float = 0.15,
    noise: float = 0.0,
) -> dict[str, torch.Tensor]:
    """Render ``n`` scenes; return a dict of stacked tensors (see :data:`KEYS`).

    Shapes: image, albedo, normals (N, 3, S, S); shading, depth, edges (N, 1, S, S);
    segmentation (N, S, S) long. All float tensors are float32; image, albedo, shading, depth
    and edges lie in [0, 1], normals in [-1, 1]. Deterministic from ``seed``. ``noise`` adds
    Gaussian sensor noise of that standard deviation to the image (before clipping).
    """
    _check_args(n, size, specular, noise)
    rng = np.random.default_rng(seed)
    seg, soft = _albedo_layout(rng, n, size, n_regions)  # (N, S, S), (N, K, S, S)

    # albedo: one colour per region id (0 = background); colours in [0.15, 0.95]
    palette = rng.uniform(0.15, 0.95, (n, n_regions + 1, 3))
    albedo = np.take_along_axis(palette, seg.reshape(n, -1, 1), axis=1)  # (N, S*S, 3)
    albedo = albedo.reshape(n, size, size, 3).transpose(0, 3, 1, 2)  # (N, 3, S, S)

    # geometry: height z over the unit square; normals from its gradient
    z = _height_field(rng, n, size, soft, n_bumps)  # (N, S, S)
    dz_dy, dz_dx = np.gradient(z, 1.0 / size, axis=(1, 2))
    normals = np.stack([-dz_dx, -dz_dy, np.ones_like(z)], axis=1)  # (N, 3, S, S)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    depth = np.clip(1.0 - z, 0.0, 1.0)[:, None]  # camera above the plane z = 1

    # light: random direction in the upper hemisphere, elevation 30-80 degrees
    azimuth = rng.uniform(0, 2 * np.pi, n)
    elevation = rng.uniform(np.radians(30), np.radians(80), n)
    light = np.stack(
        [np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)], 1
    )[:, :, None, None]  # (N, 3, 1, 1)
    lambert = np.clip((normals * light).sum(1, keepdims=True), 0.0, None)  # (N, 1, S, S)
    shading = ambient + (1.0 - ambient) * lambert

    image = albedo * shading
    if specular > 0:
        half = light + np.array([0.0, 0.0, 1.0])[None, :, None, None]  # view direction +z
        half /= np.linalg.norm(half, axis=1, keepdims=True)
        highlight = np.clip((normals * half).sum(1, keepdims=True), 0.0, None) ** 40
        image = image + specular * highlight
    if noise > 0:
        image = image + rng.normal(0.0, noise, image.shape)
    image = np.clip(image, 0.0, 1.0)

    # albedo edges: a pixel whose right or lower neighbour lies in another region
    edges = np.zeros((n, size, size), dtype=np.float32)
    dx = seg[:, :, 1:] != seg[:, :, :-1]
    dy = seg[:, 1:, :] != seg[:, :-1, :]
    edges[:, :, 1:] += dx
    edges[:, :, :-1] += dx
    edges[:, 1:, :] += dy
    edges[:, :-1, :] += dy
    edges = np.minimum(edges, 1.0)[:, None]

    def f32(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    return {
        "image": f32(image),
        "albedo": f32(albedo),
        "shading": f32(shading),
        "depth": f32(depth),
        "normals": f32(normals),
        "segmentation": torch.from_numpy(seg),
        "edges": f32(edges),
    }


class IntrinsicScenes(Dataset):
    """``n`` intrinsic scenes as a Dataset of dicts (keys :data:`KEYS`, shapes as in :func:`make_scenes`).

    All scenes are rendered once at construction (fast, vectorised) and kept as tensors in
    ``self.tensors``; ``scenes[i]`` returns a dict of views for scene ``i``.
    """

    def __init__(self, n: int, size: int = 64, seed: int = 0, specular: float = 0.0, **kwargs):
        self.n, self.size, self.seed, self.specular = n, size, seed, specular
        self.tensors = make_scenes(n, size=size, seed=seed, specular=specular, **kwargs)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not -self.n <= i < self.n:
            raise IndexError(f"scene index {i} out of range for {self.n} scenes")
        return {k: v[i] for k, v in self.tensors.items()}

    def __repr__(self) -> str:
        return f"IntrinsicScenes(n={self.n}, size={self.size}, seed={self.seed}, specular={self.specular})"
