"""Exercise checks for notebooks 2.5 (style transfer) and 2.6 (its follow-ups).

Each check compares the student's function with coursekit's reference on fresh random inputs;
the hints name the usual mistakes.
"""

from __future__ import annotations

import torch

from ..models import style as _style
from ..temporal import warp as _warp
from ._core import exercise, expect, expect_close

__all__ = ["check_gram", "check_style_loss", "check_total_variation", "check_warp"]


@exercise("the Gram matrix", answer=("coursekit.models.style.gram_matrix",))
def check_gram(student_fn):
    for shape in [(2, 8, 5, 7), (1, 3, 4, 4)]:
        x = torch.randn(*shape)
        expect_close(
            student_fn(x),
            _style.gram_matrix(x),
            f"gram(x) for x of shape {shape}",
            hint="flatten to (B, C, H*W), multiply by its transpose (B, H*W, C) and "
            "divide by C*H*W (the paper's normalisation); keep the batch dimension",
        )


@exercise("the style loss", answer=("coursekit.models.style.style_loss",))
def check_style_loss(student_fn):
    layers = {"relu1_1": (2, 4, 8, 8), "relu2_1": (2, 6, 4, 4)}
    features = {name: torch.rand(*shape) for name, shape in layers.items()}
    targets = {name: _style.gram_matrix(torch.rand(*s)) for name, s in layers.items()}
    weights = {"relu1_1": 0.3, "relu2_1": 2.0}
    expect_close(
        student_fn(features, targets, weights),
        _style.style_loss(features, targets, weights),
        "style_loss(features, target_grams, weights) on two layers",
        hint="for each layer: mean squared difference between gram_matrix(features[layer]) "
        "and target_grams[layer], times weights[layer]; then add the layers up",
    )
    expect_close(
        student_fn(features, targets, None),
        _style.style_loss(features, targets),
        "style_loss(features, target_grams, None)",
        hint="weights=None means every layer weighs 1 / (number of layers)",
    )


@exercise("total variation", answer=("coursekit.models.style.total_variation",))
def check_total_variation(student_fn):
    x = torch.rand(2, 3, 6, 9)
    expect_close(
        student_fn(x),
        _style.total_variation(x),
        "total_variation(x), x of shape (2, 3, 6, 9)",
        hint="differences of vertical neighbours x[..., 1:, :] - x[..., :-1, :] and of "
        "horizontal ones x[..., :, 1:] - x[..., :, :-1]; square them, take the mean of "
        "each, add the two means",
    )
    flat = torch.full((1, 3, 5, 5), 0.3)
    expect(
        float(student_fn(flat)) == 0.0,
        "total_variation of a constant image should be 0",
        hint="only differences between neighbouring pixels count, not the values themselves",
    )


@exercise("warping with optical flow", answer=("coursekit.temporal.warp",))
def check_warp(student_fn):
    image = torch.rand(2, 3, 7, 9)
    shift = torch.zeros(2, 2, 7, 9)
    shift[:, 0] = 1.0  # every pixel comes from one pixel to its right
    got = student_fn(image, shift)
    expect_close(
        got[..., :-1],
        image[..., 1:],
        "warp(image, flow) with flow = (dx=1, dy=0) everywhere",
        hint="out(p) = image(p + flow(p)): with dx=1 column j of the output is column j+1 "
        "of the image; grid_sample's grid is (x, y) in [-1, 1] with align_corners=True",
    )
    flow = 2 * torch.randn(2, 2, 7, 9)
    expect_close(
        student_fn(image, flow),
        _warp(image, flow),
        "warp(image, flow) with a random flow",
        rtol=1e-4,
        atol=1e-4,
        hint="build the sampling positions x + flow[:, 0], y + flow[:, 1] in pixels, scale "
        "them to [-1, 1] by 2 * x / (W - 1) - 1 (and H for y), stack as (..., 2) in (x, y) "
        "order, and call F.grid_sample(..., align_corners=True, padding_mode='border')",
    )
