"""Checks for the welcome notebook's exercise: the output size of a convolution."""

from __future__ import annotations

import random

from ._core import check_seed, exercise, expect_equal

__all__ = ["check_conv_output_size", "conv_output_size"]


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Reference: the output side of a convolution (Dumoulin & Visin 2016, relationship 15).

    o = floor((i + 2p - d(k - 1) - 1) / s) + 1
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@exercise("output size of a convolution", answer=("coursekit.checks.welcome.conv_output_size",))
def check_conv_output_size(student_fn) -> None:
    rng = random.Random(check_seed())
    cases = [dict(size=32, kernel=3, stride=1, padding=1, dilation=1),  # "same" padding
             dict(size=32, kernel=3, stride=2, padding=1, dilation=1),  # halves
             dict(size=28, kernel=5, stride=1, padding=0, dilation=1)]  # "valid"
    cases += [dict(size=rng.randint(9, 64), kernel=rng.choice([1, 3, 5, 7]), stride=rng.choice([1, 2, 3]),
                   padding=rng.randint(0, 3), dilation=rng.choice([1, 2, 4])) for _ in range(20)]
    for c in cases:
        if c["size"] + 2 * c["padding"] < c["dilation"] * (c["kernel"] - 1) + 1:
            continue
        want = conv_output_size(**c)
        got = student_fn(c["size"], c["kernel"], stride=c["stride"], padding=c["padding"], dilation=c["dilation"])
        hint = (
            "dilation spreads the kernel's taps apart, so it covers more input than k pixels",
            "a dilated kernel spans d·(k − 1) + 1 pixels; the stride divides what is left after the first window",
            "count the positions where the spread kernel fits in the padded input, then divide by the stride rounding down (an integer, not a float)",
        )
        if c["dilation"] == 1 and c["stride"] == 1:
            hint = (
                "with stride 1 and no dilation, think of how many positions a k-wide window has in a row of pixels",
                "the output loses k − 1 pixels to the window's width and gains 2p from the padding",
            )
        args = ", ".join(f"{k}={v}" for k, v in c.items())
        expect_equal(got, want, f"conv_output_size({args})", hint)
