"""Exercise checks for the Section 1 application notebooks: 1.5 sketches (1.6's LMSE check is in
:mod:`coursekit.checks.intrinsic`, 1.7's blind DnCNN loss in :mod:`coursekit.checks.denoising`).
Each check compares the student's function with the reference on fresh random inputs; see
:mod:`coursekit.checks._core` for the mechanism."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import exercise, expect, expect_close

__all__ = [
    "check_edge_weighted_mse",
    "check_best_shift",
    "check_loss_map",
]


# ----------------------------------------------------------------------------- 1.5 sketches
def _edge_weighted_mse(pred, target, ink_weight):
    w = 1 + (ink_weight - 1) * (1 - target)  # ink (target 0) gets ink_weight, paper (1) gets 1
    return (w * (pred - target) ** 2).sum() / w.sum()


def _sketch_pair(b=3, s=16):
    target = (torch.rand(b, 1, s, s) > 0.1).float()  # mostly white with dark ink
    pred = torch.rand(b, 1, s, s)
    return pred, target


@exercise("edge-weighted MSE", answer=("coursekit.models.sketch.ink_weighted_mse", "coursekit.checks.applications._edge_weighted_mse"))
def check_edge_weighted_mse(student_fn):
    pred, target = _sketch_pair()
    for w in (1.0, 5.0, 20.0):
        got = student_fn(pred, target, w)
        expect_close(
            got,
            _edge_weighted_mse(pred, target, w),
            f"edge_weighted_mse(pred, target, ink_weight={w})",
            hint=(
                "ink pixels are few, so they should weigh more than paper pixels in the average",
                "each pixel's weight is ink_weight on ink (target 0) and 1 on paper (target 1), and it moves linearly in between",
                "take the weighted sum of squared errors and divide it by the sum of the weights, over the whole batch",
            ),
        )


def _best_shift(rough_ink, clean_ink, max_shift):
    best, arg = -float("inf"), (0, 0)
    for dy in range(-max_shift, max_shift + 1):
        for dx in range(-max_shift, max_shift + 1):
            score = (torch.roll(clean_ink, (dy, dx), dims=(-2, -1)) * rough_ink).sum().item()
            if score > best:
                best, arg = score, (dx, dy)
    return arg


@exercise("aligning a clean drawing to its rough sketch", answer=("coursekit.data.sketches.align", "coursekit.checks.applications._best_shift"))
def check_best_shift(student_fn):
    g = torch.Generator().manual_seed(int(torch.randint(0, 2**31, (1,))))
    for _ in range(3):
        clean = (torch.rand(24, 24, generator=g) < 0.08).float()
        dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=g))
        rough = torch.roll(clean, (dy, dx), dims=(0, 1)) * (0.5 + 0.5 * torch.rand(24, 24, generator=g))
        got = student_fn(rough, clean, 3)
        expect(
            isinstance(got, tuple) and len(got) == 2,
            f"best_shift should return a tuple (dx, dy), got {got!r}",
            hint=(
                "the answer is a pair of whole numbers",
                "return the pair (dx, dy) as two ints",
            ),
        )
        got = tuple(int(v) for v in got)
        expect(
            got == (dx, dy),
            f"for a clean drawing rolled by (dx, dy) = {(dx, dy)} you returned {got}",
            hint=(
                "try every shift in the allowed range and keep the one with the most overlap between the two ink maps",
                "the overlap is the sum of the products of the shifted clean ink and the rough ink",
                "dx shifts the clean ink along the columns and dy along the rows, wrapping around the borders; if you got the negative, you moved the rough ink onto the clean one",
            ),
        )


def _loss_map(target, radius=2, alpha=6.0, beta=-2.0, bins=10):
    # written independently of coursekit.models.sketch.loss_map: a loop over bins
    b, _, h, w = target.shape
    index = (target * bins).long().clamp(0, bins - 1)
    k = 2 * radius + 1
    ones = torch.ones(1, 1, h, w)
    count = F.conv2d(F.pad(ones, (radius,) * 4), torch.ones(1, 1, k, k))  # window pixels inside the image
    height = torch.zeros_like(target)
    for i in range(bins):
        inside = (index == i).float()
        share = F.conv2d(F.pad(inside, (radius,) * 4), torch.ones(1, 1, k, k)) / count
        height = torch.where(index == i, share, height)
    m = torch.clamp(alpha * torch.exp(-height) + beta, max=1.0)
    return torch.where(target >= 1, torch.ones_like(m), m)


def _sketch_targets(g, b=2, s=20):
    """Clean drawings to test a loss map on: thin (1 px) and thick (4 px) strokes, grey anti-aliased edges."""
    t = torch.ones(b, 1, s, s)
    for i in range(b):
        r, c = (int(v) for v in torch.randint(2, s - 6, (2,), generator=g))
        t[i, 0, r, :] = 0.0  # a thin horizontal line
        t[i, 0, :, c : c + 4] = 0.0  # a thick vertical stroke, crossing it
        t[i, 0, :, c + 4] = 0.55  # its grey, anti-aliased edge
        t[i, 0, r + 3, 1 : s // 2] = 0.2  # a faint thin line
    return t


@exercise("the paper's loss map (Simo-Serra et al. 2016)", answer=("coursekit.models.sketch.loss_map", "coursekit.models.sketch.loss_map_mse", "coursekit.checks.applications._loss_map"), shortcuts=("torch.histc", "torch.histogram"))
def check_loss_map(student_fn):
    g = torch.Generator().manual_seed(int(torch.randint(0, 2**31, (1,))))
    target = _sketch_targets(g)
    for radius, bins in ((2, 10), (1, 10), (3, 4)):
        got = student_fn(target, radius=radius, bins=bins)
        want = _loss_map(target, radius=radius, bins=bins)
        expect(
            isinstance(got, torch.Tensor) and got.shape == target.shape,
            f"loss_map should return a tensor of the target's shape {tuple(target.shape)}, got "
            f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}",
            hint=("the map has one weight per pixel of the target", "keep the (B, 1, H, W) shape: no reduction"),
        )
        paper = target >= 1
        expect(
            bool(torch.allclose(got[paper], torch.ones_like(got[paper]))),
            f"loss_map(target, radius={radius}, bins={bins}): white paper pixels should all weigh 1, "
            f"got weights from {float(got[paper].min()):.3f} to {float(got[paper].max()):.3f}",
            hint=(
                "the paper leaves the white pixels alone; only non-white pixels get the histogram-based weight",
                "where the target is exactly 1 the weight is 1; if your paper pixels are lowered, the map is inverted",
            ),
        )
        expect_close(
            got,
            want,
            f"loss_map(target, radius={radius}, bins={bins}) on thin and thick strokes",
            hint=(
                "ink inside a thick stroke should weigh less than ink on a thin line: "
                "the weight falls as the pixel's own grey level becomes common in its neighbourhood",
                "H is the *fraction* of the window's pixels that fall in the same bin as the centre pixel "
                "(a normalised histogram, not a count), over the (2·radius + 1)² window; at the borders, "
                "divide by the number of window pixels inside the image",
                "bin = the grey level times bins, rounded down (1.0 goes in the last bin); then "
                "the weight of a non-white pixel is alpha times e to the power −H, plus beta, capped at 1",
            ),
            rtol=1e-4,
            atol=1e-5,
        )
