"""Exercise checks for notebooks 2.5 (style transfer) and 2.6 (its follow-ups).

Each check compares the student's function with coursekit's reference on fresh random inputs;
the hints name the usual mistakes.
"""

from __future__ import annotations

import torch

from ..models import style as _style
from ..models.style.video import warp as _warp
from ._core import exercise, expect, expect_close

__all__ = ["check_gram", "check_style_loss", "check_total_variation", "check_warp"]


@exercise("the Gram matrix", answer=("coursekit.models.style.losses.gram_matrix",))
def check_gram(student_fn):
    for shape in [(2, 8, 5, 7), (1, 3, 4, 4)]:
        x = torch.randn(*shape)
        expect_close(
            student_fn(x),
            _style.gram_matrix(x),
            f"gram(x) for x of shape {shape}",
            hint=(
                "a Gram matrix holds, for every pair of channels, how strongly they fire together over all positions",
                "flatten the spatial dimensions so each channel is a vector of H·W values; the Gram matrix is the (C, C) table of dot products between those vectors",
                "do it per image (keep the batch dimension) and divide by C·H·W (the course's normalisation, so that images of any size compare; the paper's Eq. 3 has none and puts 1/(4N²M²) into the layer loss, Eq. 4)",
            ),
        )


@exercise("the style loss", answer=("coursekit.models.style.losses.style_loss",))
def check_style_loss(student_fn):
    layers = {"relu1_1": (2, 4, 8, 8), "relu2_1": (2, 6, 4, 4)}
    features = {name: torch.rand(*shape) for name, shape in layers.items()}
    targets = {name: _style.gram_matrix(torch.rand(*s)) for name, s in layers.items()}
    weights = {"relu1_1": 0.3, "relu2_1": 2.0}
    expect_close(
        student_fn(features, targets, weights),
        _style.style_loss(features, targets, weights),
        "style_loss(features, target_grams, weights) on two layers",
        hint=(
            "the style loss compares Gram matrices, layer by layer",
            "for each layer: the Gram matrix of the features against the target Gram matrix, as a mean squared difference",
            "multiply each layer's term by its weight, then add the layers up",
        ),
    )
    expect_close(
        student_fn(features, targets, None),
        _style.style_loss(features, targets),
        "style_loss(features, target_grams, None)",
        hint=(
            "without weights, every layer counts the same",
            "weights=None means each layer weighs 1 / (number of layers)",
        ),
    )


@exercise("total variation", answer=("coursekit.models.style.losses.total_variation",))
def check_total_variation(student_fn):
    x = torch.rand(2, 3, 6, 9)
    expect_close(
        student_fn(x),
        _style.total_variation(x),
        "total_variation(x), x of shape (2, 3, 6, 9)",
        hint=(
            "total variation penalises differences between neighbouring pixels",
            "take the differences between vertical neighbours and between horizontal neighbours, separately",
            "square them, take the mean of each of the two sets, and add the two means",
        ),
    )
    flat = torch.full((1, 3, 5, 5), 0.3)
    expect(
        float(student_fn(flat)) == 0.0,
        "total_variation of a constant image should be 0",
        hint=(
            "only differences between neighbours count, not the values themselves",
            "a constant image has no differences, so its total variation is zero",
        ),
    )


@exercise("warping with optical flow", answer=("coursekit.models.style.video.warp",))
def check_warp(student_fn):
    image = torch.rand(2, 3, 7, 9)
    shift = torch.zeros(2, 2, 7, 9)
    shift[:, 0] = 1.0  # every pixel comes from one pixel to its right
    got = student_fn(image, shift)
    expect_close(
        got[..., :-1],
        image[..., 1:],
        "warp(image, flow) with flow = (dx=1, dy=0) everywhere",
        hint=(
            "out(p) = image(p + flow(p)): each output pixel reads the image where the flow points",
            "with dx = 1 everywhere, column j of the output is column j + 1 of the image",
            "the sampler's grid is in (x, y) order, in [−1, 1], with the corner pixels at exactly −1 and +1",
        ),
    )
    flow = 2 * torch.randn(2, 2, 7, 9)
    expect_close(
        student_fn(image, flow),
        _warp(image, flow),
        "warp(image, flow) with a random flow",
        rtol=1e-4,
        atol=1e-4,
        hint=(
            "build the sampling positions in pixels first: each pixel's own coordinates plus its flow",
            "then scale the positions to [−1, 1]: pixel 0 goes to −1 and pixel W − 1 (or H − 1) to +1",
            "stack them as (x, y) in the last dimension and sample bilinearly with the corners aligned, clamping at the border",
        ),
    )
