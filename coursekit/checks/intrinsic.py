"""Exercise check for notebook 1.6 (image decomposition): the local scale-invariant error (LMSE).

The measure of the MIT Intrinsic Images benchmark (Grosse, Johnson, Adelson & Freeman, "Ground
truth dataset and baseline evaluations for intrinsic image algorithms", ICCV 2009; their released
``intrinsic.py``, functions ``ssq_error`` and ``local_error``, window 20 shifted by 10): square
windows shifted by half their side, fully inside the image; in each window the prediction is
rescaled by the least-squares factor before its squared error is summed; the sum over all windows
is divided by the same sum for a prediction of zeros, so that 0 is perfect and predicting nothing
scores exactly 1. The course fits one factor per window shared by the colour channels and averages
the per-image ratios over the batch.
"""

from __future__ import annotations

import torch

from ._core import check_seed, exercise, expect, expect_close

__all__ = ["check_lmse"]


def _lmse(pred: torch.Tensor, target: torch.Tensor, window: int) -> torch.Tensor:
    """The reference, written with plain loops over the windows (as the benchmark's code is)."""
    pred, target = pred.double(), target.double()
    step = max(1, window // 2)
    h, w = target.shape[-2:]
    ratios = []
    for p_img, t_img in zip(pred, target):
        error = total = 0.0
        for y in range(0, h - window + 1, step):
            for x in range(0, w - window + 1, step):
                p = p_img[:, y : y + window, x : x + window]
                t = t_img[:, y : y + window, x : x + window]
                pp = float((p * p).sum())
                a = float((p * t).sum()) / pp if pp > 1e-12 else 0.0  # least squares: d/da Σ(a·p − t)² = 0
                error += float(((a * p - t) ** 2).sum())
                total += float((t * t).sum())
        ratios.append(error / max(total, 1e-12))
    return torch.tensor(ratios, dtype=torch.float64).mean()


_HINT = (
    "the error of each window may forgive one scale factor, fitted inside that window only; the windows overlap "
    "by half; the result is a ratio per image: the error you get, over the error of predicting zeros",
    "in a window with prediction p and truth t, the factor a that minimises Σ(a·p − t)² is Σp·t / Σp·p; one factor "
    "for all three colour channels of the window",
    "start windows every window/2 pixels, keep only those that lie fully inside the image; sum the windows' errors "
    "and, separately, the windows' Σt² (pixels in two windows count twice); divide per image, then average over the images",
)


def _number(value, what: str) -> torch.Tensor:
    """The student's result as a 0-dim float64 tensor (a Python number is accepted too)."""
    if isinstance(value, torch.Tensor):
        expect(value.numel() == 1, f"{what} should be one number, got a tensor of shape {tuple(value.shape)}",
               hint=("the error is one number for the whole batch", "average the per-image ratios over the batch"))
        return value.detach().reshape(()).double().cpu()
    expect(isinstance(value, (int, float)), f"{what} should be a number, got {type(value).__name__}",
           hint=("return the error as a tensor with one number", "one number for the whole batch"))
    return torch.tensor(float(value), dtype=torch.float64)


def _want(value: float) -> torch.Tensor:
    return torch.tensor(float(value), dtype=torch.float64)


@exercise(
    "the local scale-invariant error (LMSE)",
    answer=("coursekit.metrics.image.lmse", "coursekit.checks.intrinsic._lmse"),
    shortcuts=("coursekit.metrics.image.si_mse",),
)
def check_lmse(student_fn):
    g = torch.Generator().manual_seed(check_seed())
    rand = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    truth = rand(3, 3, 24, 24) + 0.1

    # 1. the normalisation: predicting nothing scores exactly 1
    got = _number(student_fn(torch.zeros_like(truth), truth, 8), "lmse(zeros, truth, 8)")
    expect_close(got, _want(1.0), "lmse(zeros, truth, window=8): predicting nothing", atol=1e-4, hint=(
        "the result is normalised: 0 is perfect, and a prediction of zeros scores exactly 1",
        "divide the summed window errors by what the same sum is for a prediction of zeros: Σt² over the same windows",
        "when Σp·p is zero in a window, the best factor is 0 (guard the division)",
    ))

    # 2. one factor per image is forgiven
    scaled = truth * torch.tensor([0.5, 3.0, 1.7]).view(3, 1, 1, 1)
    got = _number(student_fn(scaled, truth, 8), "lmse(c · truth, truth, 8)")
    expect_close(got, _want(0.0), "lmse(c · truth, truth, window=8): right up to one factor per image", atol=1e-4, hint=(
        "the error must not punish a prediction that is right up to a constant factor",
        "fit the factor a = Σp·t / Σp·p in each window before you measure the squared error",
    ))

    # 3. a factor that drifts across the image: only a *local* fit forgives it
    ramp = torch.linspace(0.4, 2.5, 24).view(1, 1, 1, 24) * torch.linspace(0.8, 1.3, 24).view(1, 1, 24, 1)
    drift = truth * ramp * (1 + 0.05 * rand(3, 3, 24, 24))
    want = _want(_lmse(drift, truth, 8))
    got = _number(student_fn(drift, truth, 8), "lmse with a drifting factor")
    expect_close(got, want, "lmse(truth × slowly varying factor, truth, window=8)", rtol=1e-3, atol=1e-6, hint=(
        "one factor for the whole image is the global si-MSE; LMSE fits a factor in every window",
        "cut the image into windows first, fit and measure inside each window",
    ))

    # 4. windows that do not tile the image, images of very different brightness, any window
    pred = rand(4, 3, 22, 30) + 0.05
    target = (rand(4, 3, 22, 30) + 0.05) * torch.tensor([1.0, 0.1, 4.0, 0.5]).view(4, 1, 1, 1)
    for window in (8, 6):
        want = _want(_lmse(pred, target, window))
        got = _number(student_fn(pred, target, window), f"lmse(pred, target, {window})")
        expect_close(got, want, f"lmse(random pred, target, window={window}) on 22×30 images", rtol=1e-3, atol=1e-6,
                     hint=_HINT)

    # 5. a colour cast: the three channels share one factor per window
    cast = truth * torch.tensor([1.0, 1.6, 0.6]).view(1, 3, 1, 1)
    want = _want(_lmse(cast, truth, 8))
    got = _number(student_fn(cast, truth, 8), "lmse with a colour cast")
    expect_close(got, want, "lmse(truth with a colour cast, truth, window=8)", rtol=1e-3, atol=1e-6, hint=(
        "with grey light only the brightness is ambiguous, not the colour: a colour cast is an error",
        "fit one factor per window for all three channels together, not one per channel",
    ))
