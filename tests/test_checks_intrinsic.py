"""The LMSE exercise of notebook 1.6: the check passes the answer and fails realistic mistakes and shortcuts."""

import pytest
import torch
import torch.nn.functional as F
from _solutions import solution_function  # the solution notebooks' answers

from coursekit.checks import intrinsic as I
from coursekit.metrics import image as metrics


def _not_done(*args):
    raise NotImplementedError()


def _assert_fails(result):
    assert result.status == "failed", result
    assert result.hint


def _variant(pred, target, window, *, step=None, per_channel=False, norm="windows", pooled=False, partial=False,
             global_scale=False):
    """LMSE written with unfold, with one realistic mistake switched on at a time."""
    step = step or window // 2
    if partial:  # windows that run over the border, zero-padded
        pad_h = (-(target.shape[-2] - window)) % step
        pad_w = (-(target.shape[-1] - window)) % step
        pred, target = F.pad(pred, (0, pad_w, 0, pad_h)), F.pad(target, (0, pad_w, 0, pad_h))
    b, c = pred.shape[:2]
    p = F.unfold(pred, window, stride=step).view(b, c, window * window, -1)  # (B, C, w*w, L)
    t = F.unfold(target, window, stride=step).view(b, c, window * window, -1)
    if global_scale:
        a = (pred * target).sum((1, 2, 3)) / (pred * pred).sum((1, 2, 3)).clamp_min(1e-12)
        a = a.view(b, 1, 1, 1)
    elif per_channel:
        a = (p * t).sum(2, keepdim=True) / (p * p).sum(2, keepdim=True).clamp_min(1e-12)
    else:
        a = (p * t).sum((1, 2), keepdim=True) / (p * p).sum((1, 2), keepdim=True).clamp_min(1e-12)
    err = (a * p - t) ** 2  # (B, C, w*w, L)
    if norm == "per_window":
        return (err.sum((1, 2)) / (t**2).sum((1, 2))).mean()
    if norm == "image":  # each pixel counted once in the normaliser
        return (err.sum((1, 2, 3)) / (target**2).sum((1, 2, 3))).mean()
    if norm == "mean":  # no normalisation: the mean squared error of the windows
        return err.mean()
    if pooled:  # one ratio for the whole batch
        return err.sum() / (t**2).sum()
    return (err.sum((1, 2, 3)) / (t**2).sum((1, 2, 3))).mean()


def test_the_reference_is_the_course_metric():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(3, 3, 22, 30, generator=g), torch.rand(3, 3, 22, 30, generator=g)
    for window in (4, 6, 8):
        assert torch.allclose(I._lmse(pred, target, window).float(), metrics.lmse(pred, target, window), rtol=1e-5)
        assert torch.allclose(_variant(pred, target, window).double(), I._lmse(pred, target, window), rtol=1e-5)
    assert float(I._lmse(torch.zeros_like(target), target, 8)) == pytest.approx(1.0)


def test_the_answer_passes():
    assert I.check_lmse(solution_function("check_lmse"), quiet=True).passed
    assert I.check_lmse(lambda p, t, w: _variant(p, t, w), quiet=True).passed
    assert I.check_lmse(_not_done, quiet=True).status == "not done"


@pytest.mark.parametrize("mistake", [
    dict(global_scale=True),  # one factor per image: the global si-MSE
    dict(step="window"),  # windows side by side, no overlap
    dict(norm="per_window"),  # the mean of per-window ratios
    dict(norm="image"),  # normalised by the image's Σt², overlaps counted once
    dict(norm="mean"),  # not normalised at all
    dict(per_channel=True),  # a factor per colour channel
    dict(pooled=True),  # one ratio for the whole batch
    dict(partial=True),  # windows that run over the border
])
def test_realistic_mistakes_fail(mistake):
    def student(p, t, w):
        kw = dict(mistake)
        if kw.get("step") == "window":
            kw["step"] = w
        return _variant(p, t, w, **kw)

    _assert_fails(I.check_lmse(student, quiet=True))


def test_shortcuts_fail():
    _assert_fails(I.check_lmse(lambda p, t, w: metrics.lmse(p, t, w), quiet=True))

    def with_si_mse(p, t, w):  # the course's global si-MSE applied window by window
        step, total, err = w // 2, 0.0, 0.0
        for y in range(0, t.shape[-2] - w + 1, step):
            for x in range(0, t.shape[-1] - w + 1, step):
                pw, tw = p[..., y : y + w, x : x + w], t[..., y : y + w, x : x + w]
                err = err + metrics.si_mse(pw, tw, reduction="none") * tw[0].numel()
                total = total + (tw**2).flatten(1).sum(1)
        return (err / total).mean()

    _assert_fails(I.check_lmse(with_si_mse, quiet=True))
