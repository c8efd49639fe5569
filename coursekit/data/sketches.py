"""Procedural rough sketches paired with clean line drawings, for sketch simplification.

Simo-Serra, Iizuka, Sasaki & Ishikawa, "Learning to Simplify: Fully Convolutional Networks for
Rough Sketch Cleanup", SIGGRAPH 2016 (ACM TOG 35(4)), trained on 68 pairs built by "inverse dataset
construction": artists drew rough versions of finished clean drawings, instead of cleaning up rough
sketches (which changes lines and adds new ones). That keeps each pair nearly aligned, which matters
because a net trained on misaligned pairs learns to blur. The authors' code (PyTorch inference;
Lua Torch training in ``train/train.lua``) is https://github.com/bobbens/sketch_simplification.

Here the pairs are drawn procedurally. A clean drawing is a few primitives (line segments,
quadratic Bézier curves, polygons, ellipses) inked with a thin pen. Its rough version redraws
every stroke one to three times with a pencil of varying width and darkness, a smooth sideways
wobble, overshooting or short ends and gaps, adds faint construction strokes, smudges, paper grain
and (``hatching``) patches of shading that the clean drawing leaves out, and shifts the whole
drawing by a small random offset (the misalignment; ``shift`` records it, :func:`align` estimates
and undoes it). Images are white paper (1.0) with dark lines (0.0), as in the paper.

Rendering is vectorised: every stroke is cut into short segments; the distance from each segment
to the pixels of a small window around it gives anti-aliased ink, merged into the image with a
scatter-max.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

__all__ = ["Sketches", "make_sketches", "align", "shift_images", "render_segments"]

_SEGMENT = 5.0  # longest rendered segment, pixels
_WINDOW = 12  # side of the pixel window around each segment: holds a segment plus two radii
_MAX_RADIUS = 1.6  # widest pen radius, pixels


def _primitive(rng: np.random.Generator, size: int) -> tuple[np.ndarray, bool]:
    """One primitive as a polyline (K, 2) in pixel coordinates (x, y); returns (points, closed)."""
    kind = rng.integers(4)
    margin = 0.1 * size
    if kind == 0:  # line segment
        p = rng.uniform(margin, size - margin, (2, 2))
        if np.linalg.norm(p[1] - p[0]) < 0.2 * size:
            p[1] = p[0] + (p[1] - p[0] + 1e-3) / (np.linalg.norm(p[1] - p[0]) + 1e-3) * 0.2 * size
        return np.clip(p, 1, size - 1), False
    if kind == 1:  # quadratic Bézier curve
        c = rng.uniform(margin, size - margin, (3, 2))
        t = np.linspace(0, 1, 16)[:, None]
        return (1 - t) ** 2 * c[0] + 2 * t * (1 - t) * c[1] + t**2 * c[2], False
    centre = rng.uniform(0.25 * size, 0.75 * size, 2)
    radius = rng.uniform(0.1, 0.25, 2) * size
    if kind == 2:  # polygon, 3 to 5 corners
        angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(3, 6)))
        return centre + radius[0] * np.stack([np.cos(angles), np.sin(angles)], 1), True
    angles = np.linspace(0, 2 * np.pi, 33)[:-1] + rng.uniform(0, 2 * np.pi)  # ellipse
    rot = rng.uniform(0, np.pi)
    pts = np.stack([radius[0] * np.cos(angles), radius[1] * np.sin(angles)], 1)
    r = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
    return centre + pts @ r.T, True


def _resample(points: np.ndarray, closed: bool, step: float = _SEGMENT) -> np.ndarray:
    """Resample a polyline at arc-length spacing <= ``step``."""
    if closed:
        points = np.concatenate([points, points[:1]])
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, int(np.ceil(arc[-1] / step)) + 1)
    s = np.linspace(0, arc[-1], n)
    return np.stack([np.interp(s, arc, points[:, 0]), np.interp(s, arc, points[:, 1])], 1)


def _rough_copy(rng: np.random.Generator, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A pencil redraw of a resampled polyline: wobble, over/undershoot, gaps. Returns (pts, keep)."""
    n = len(pts)
    tangent = np.gradient(pts, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-8
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
    t = np.linspace(0, 1, n)
    wobble = rng.normal(0, 1.0) + rng.uniform(0.3, 1.5) * np.sin(
        2 * np.pi * rng.uniform(0.3, 2) * t + rng.uniform(0, 6.3)
    )
    out = pts + wobble[:, None] * normal
    # over- or undershoot the ends by up to 3 pixels along the tangent
    out[0] -= rng.uniform(-1.5, 3.0) * tangent[0]
    out[-1] += rng.uniform(-1.5, 3.0) * tangent[-1]
    out = _resample(out, False)  # keep every segment short enough to render
    n = len(out)
    keep = np.ones(n - 1, dtype=bool)  # segment i joins out[i] and out[i+1]
    if n > 6 and rng.random() < 0.5:  # a gap of 1-2 segments
        g = rng.integers(1, n - 3)
        keep[g : g + rng.integers(1, 3)] = False
    return out, keep


def render_segments(
    image_index: torch.Tensor,
    p0: torch.Tensor,
    p1: torch.Tensor,
    radius: torch.Tensor,
    darkness: torch.Tensor,
    n_images: int,
    size: int,
) -> torch.Tensor:
    """Render anti-aliased segments as ink (N, S, S) in [0, 1]; overlapping strokes take the max.

    ``p0``, ``p1`` (M, 2) are end points (x, y) in pixels (pixel (i, j) has centre (j + .5, i + .5));
    segments must be at most ``_SEGMENT`` pixels long and ``radius`` at most ``_MAX_RADIUS``.
    """
    m = p0.shape[0]
    if m and ((p1 - p0).abs().max() > _WINDOW - 2 * (_MAX_RADIUS + 1) - 1 or radius.max() > _MAX_RADIUS):
        raise ValueError(
            f"segments must be at most {_SEGMENT} px long with radius <= {_MAX_RADIUS} px; "
            "resample longer strokes first"
        )
    ink = torch.zeros(n_images * size * size + 1, device=p0.device)  # last cell collects out-of-image pixels
    if m == 0:
        return ink[:-1].view(n_images, size, size)
    origin = torch.floor(torch.minimum(p0, p1) - _MAX_RADIUS - 1)  # (M, 2) window corner
    offs = torch.arange(_WINDOW, dtype=torch.float32, device=p0.device)
    gy, gx = torch.meshgrid(offs, offs, indexing="ij")  # (W, W)
    px = origin[:, 0, None, None] + gx  # (M, W, W) pixel column
    py = origin[:, 1, None, None] + gy
    d = p1 - p0  # (M, 2)
    length2 = (d**2).sum(1).clamp_min(1e-8)
    t = (
        (
            (px + 0.5 - p0[:, 0, None, None]) * d[:, 0, None, None]
            + (py + 0.5 - p0[:, 1, None, None]) * d[:, 1, None, None]
        )
        / length2[:, None, None]
    ).clamp(0, 1)
    dist = torch.hypot(
        px + 0.5 - p0[:, 0, None, None] - t * d[:, 0, None, None],
        py + 0.5 - p0[:, 1, None, None] - t * d[:, 1, None, None],
    )
    value = darkness[:, None, None] * (radius[:, None, None] + 0.5 - dist).clamp(0, 1)  # (M, W, W)
    inside = (px >= 0) & (px < size) & (py >= 0) & (py < size)
    flat = image_index[:, None, None] * size * size + py.long() * size + px.long()
    flat = torch.where(inside, flat, torch.full_like(flat, n_images * size * size))
    ink.scatter_reduce_(0, flat.reshape(-1), value.reshape(-1), reduce="amax")
    return ink[:-1].view(n_images, size, size)


def _pencil(rng, i, pts, keep, dark_lo, dark_hi):
    """Segment rows (image, x0, y0, x1, y1, radius, darkness) of one pencil stroke."""
    k = keep.sum()
    radius = rng.uniform(0.4, 1.2)
    darkness = rng.uniform(dark_lo, dark_hi) * rng.uniform(0.8, 1.0, k)  # pencil pressure varies
    return np.column_stack([np.full(k, i), pts[:-1][keep], pts[1:][keep], np.full(k, radius), darkness])


def _hatching(rng, i, on, shift):
    """Segment rows of one patch of hatching (shading): 4 to 8 short parallel pencil strokes about
    3 px apart, next to the clean polyline ``on`` (drawn by the rough sketch only)."""
    anchor = on[rng.integers(len(on))] + rng.normal(0, 2.5, 2)
    angle = rng.uniform(0, np.pi)
    along = np.array([np.cos(angle), np.sin(angle)])  # direction of each stroke
    across = np.array([-along[1], along[0]])  # direction in which the strokes follow each other
    k = rng.integers(4, 9)
    spacing, length = rng.uniform(2.5, 3.5), rng.uniform(6, 11)
    dark = rng.uniform(0.45, 0.9)
    rows = []
    for j in range(k):
        centre = anchor + (j - (k - 1) / 2) * spacing * across + rng.normal(0, 0.7) * along
        half = 0.5 * length * rng.uniform(0.8, 1.2)
        pts = _resample(np.stack([centre - half * along, centre + half * along]), False)
        rows.append(_pencil(rng, i, pts + shift, np.ones(len(pts) - 1, dtype=bool), dark, dark))
    return rows


def _draw(rng, n, size, misalign, primitives, clean_radius, hatching=(0, 0), hatch_rng=None):
    clean_seg, rough_seg = [], []  # rows: image, x0, y0, x1, y1, radius, darkness
    shifts = rng.uniform(-misalign, misalign, (n, 2)) if misalign > 0 else np.zeros((n, 2))
    for i in range(n):
        outlines = []  # this drawing's clean polylines, for hatching to sit next to
        for _ in range(rng.integers(primitives[0], primitives[1] + 1)):
            pts = _resample(*_primitive(rng, size))
            outlines.append(pts)
            clean_seg.append(
                np.column_stack(
                    [
                        np.full(len(pts) - 1, i),
                        pts[:-1],
                        pts[1:],
                        np.full(len(pts) - 1, clean_radius),
                        np.ones(len(pts) - 1),
                    ]
                )
            )
            for _ in range(rng.choice([1, 2, 2, 3, 3])):
                rough, keep = _rough_copy(rng, pts)
                rough_seg.append(_pencil(rng, i, rough + shifts[i], keep, 0.25, 0.95))
        for _ in range(rng.integers(0, 4)):  # faint construction strokes that the clean drawing drops
            pts = _resample(_primitive(rng, size)[0][:4], False)
            rough_seg.append(_pencil(rng, i, pts + shifts[i], np.ones(len(pts) - 1, dtype=bool), 0.15, 0.45))
        if hatching[1] > 0:  # shading that the clean drawing drops, from its own generator: all else unchanged
            for _ in range(hatch_rng.integers(hatching[0], hatching[1] + 1)):
                rough_seg += _hatching(hatch_rng, i, outlines[hatch_rng.integers(len(outlines))], shifts[i])
    return np.concatenate(clean_seg), np.concatenate(rough_seg), shifts


def _render(seg: np.ndarray, n: int, size: int) -> torch.Tensor:
    s = torch.from_numpy(seg).float()
    return render_segments(s[:, 0].long(), s[:, 1:3], s[:, 3:5], s[:, 5], s[:, 6], n, size)


def make_sketches(
    n: int,
    size: int = 64,
    seed: int = 0,
    misalign: float = 1.5,
    primitives: tuple[int, int] = (3, 6),
    clean_width: float = 1.5,
    smudges: bool = True,
    hatching: tuple[int, int] = (0, 0),
) -> dict[str, torch.Tensor]:
    """Draw ``n`` (rough, clean) pairs; deterministic from ``seed``.

    Returns a dict: ``rough`` and ``clean`` (N, 1, S, S) floats in [0, 1] (1 = white paper),
    ``shift`` (N, 2) the (dx, dy) pixel offset of the rough drawing relative to the clean one
    (uniform in [-misalign, misalign]). ``clean_width`` is the inked line width in pixels.
    ``hatching = (lo, hi)`` adds between lo and hi patches of shading per rough sketch (short
    parallel strokes beside an outline, as dark as the lines; the clean drawing has none): clutter
    that a threshold keeps and a learned simplifier can learn to drop. The default (0, 0) adds none;
    the clean drawings, the other strokes and ``shift`` are the same with and without hatching.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer (the number of pairs), got {n!r}")
    if not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an integer >= 16 (image side in pixels), got {size!r}")
    if not 0 < clean_width <= 2 * _MAX_RADIUS:
        raise ValueError(f"clean_width must be in (0, {2 * _MAX_RADIUS}] pixels, got {clean_width!r}")
    if not 0 <= misalign <= 4:
        raise ValueError(f"misalign must be in [0, 4] pixels, got {misalign!r}")
    hatching = tuple(int(h) for h in hatching)
    if len(hatching) != 2 or not 0 <= hatching[0] <= hatching[1]:
        raise ValueError(f"hatching must be (lo, hi) with 0 <= lo <= hi patches per sketch, got {hatching!r}")
    out = _make_sketches_cached(
        int(n), int(size), int(seed), float(misalign), tuple(primitives), float(clean_width), bool(smudges), hatching
    )
    return {k: v.clone() for k, v in out.items()}  # the cache must not be changed in place


@functools.lru_cache(maxsize=4)
def _make_sketches_cached(n, size, seed, misalign, primitives, clean_width, smudges, hatching=(0, 0)):
    rng = np.random.default_rng(seed)
    hatch_rng = np.random.default_rng([seed, 1])  # hatching draws apart: same drawings with and without it
    clean_seg, rough_seg, shifts = _draw(rng, n, size, misalign, primitives, clean_width / 2, hatching, hatch_rng)
    clean = 1.0 - _render(clean_seg, n, size)
    rough_ink = _render(rough_seg, n, size)
    if smudges:  # soft grey blobs (eraser marks, graphite dust) and paper grain
        t = torch.arange(size, dtype=torch.float32) + 0.5
        y, x = torch.meshgrid(t, t, indexing="ij")
        g = torch.Generator().manual_seed(int(rng.integers(2**31)))
        c = torch.rand(n, 3, 2, 1, 1, generator=g) * size
        sigma = 2 + 5 * torch.rand(n, 3, 1, 1, generator=g)
        strength = 0.45 * torch.rand(n, 3, 1, 1, generator=g) * (torch.rand(n, 3, 1, 1, generator=g) < 0.6)
        blobs = strength * torch.exp(-((x - c[:, :, 0]) ** 2 + (y - c[:, :, 1]) ** 2) / (2 * sigma**2))
        rough_ink = torch.maximum(rough_ink, blobs.amax(1))
        rough_ink = rough_ink + 0.03 * torch.randn(n, size, size, generator=g)
    rough = (1.0 - rough_ink).clamp(0, 1)
    return {"rough": rough[:, None], "clean": clean[:, None], "shift": torch.from_numpy(shifts).float()}


def shift_images(images: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Translate (B, C, H, W) images by per-image (dx, dy) pixels (bilinear, white fill)."""
    b, _, h, w = images.shape
    theta = torch.zeros(b, 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = -2 * shift[:, 0] / w  # sampling grid moves opposite to the content
    theta[:, 1, 2] = -2 * shift[:, 1] / h
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return 1 - F.grid_sample(1 - images, grid, align_corners=False, padding_mode="zeros")


def align(rough: torch.Tensor, clean: torch.Tensor, max_shift: int = 3, step: float = 0.5) -> torch.Tensor:
    """Estimate, per pair, the (dx, dy) that best moves ``clean`` onto ``rough``.

    Tries every shift on a grid of ``step`` pixels within ``max_shift`` and keeps the one with the
    highest correlation between the ink of the blurred rough sketch and the shifted clean ink: the
    step that pairs drawn independently need. The paper avoids most misalignment at the source:
    inverse dataset construction (rough sketches drawn from the finished clean drawings) keeps its
    pairs nearly aligned. Returns (B, 2); apply with :func:`shift_images`.
    """
    if rough.shape != clean.shape or rough.dim() != 4:
        raise ValueError(
            f"rough and clean must both be (B, 1, H, W), got {tuple(rough.shape)} and {tuple(clean.shape)}"
        )
    ink = F.avg_pool2d(1 - rough, 3, 1, 1)  # (B, 1, H, W) blurred rough ink
    offsets = torch.arange(-max_shift, max_shift + 1e-6, step, device="cpu")  # loop values
    best = torch.full((rough.shape[0],), -float("inf"), device=rough.device)
    best_shift = torch.zeros(rough.shape[0], 2, device=rough.device)
    for dy in offsets:
        for dx in offsets:
            s = torch.tensor([[float(dx), float(dy)]], device=rough.device).expand(rough.shape[0], 2)
            score = ((1 - shift_images(clean, s)) * ink).flatten(1).sum(1)
            better = score > best
            best = torch.where(better, score, best)
            best_shift[better] = s[better]
    return best_shift


class Sketches(Dataset):
    """``n`` (rough, clean) pairs as a Dataset of tuples ``(rough (1,S,S), clean (1,S,S))``.

    ``aligned=True`` shifts each clean drawing onto its rough sketch with the true offset
    (``shift``), i.e. perfectly aligned pairs.
    """

    def __init__(
        self, n: int, size: int = 64, seed: int = 0, misalign: float = 1.5, aligned: bool = False, **kwargs
    ):
        self.n, self.size, self.seed = n, size, seed
        data = make_sketches(n, size=size, seed=seed, misalign=misalign, **kwargs)
        self.rough, self.clean, self.shift = data["rough"], data["clean"], data["shift"]
        if aligned:
            self.clean = shift_images(self.clean, self.shift)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.rough[i], self.clean[i]
