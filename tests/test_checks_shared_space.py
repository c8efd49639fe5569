"""Notebook 2.2's exercise, the symmetric InfoNCE loss: the right answer passes, each realistic
mistake and each shortcut fails with a hint, a stub is 'not done'."""

import pytest
import torch
import torch.nn.functional as F

from coursekit.checks.features import check_info_nce
from coursekit.models import shared_space


def _stub(a, b, t):
    raise NotImplementedError()


def _both(m):
    y = torch.arange(len(m))
    return (F.cross_entropy(m, y) + F.cross_entropy(m.T, y)) / 2


# --- right answers, written two ways -------------------------------------------------------------


def info_nce(a, b, t):
    return _both(F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t)


def info_nce_log_softmax(a, b, t):
    a = a / a.norm(dim=1, keepdim=True)
    b = b / b.norm(dim=1, keepdim=True)
    s = a @ b.T / t
    return -(s.log_softmax(1).diagonal().mean() + s.log_softmax(0).diagonal().mean()) / 2


# --- realistic wrong answers ----------------------------------------------------------------------


def one_direction(a, b, t):
    s = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t
    return F.cross_entropy(s, torch.arange(len(a)))


def not_normalised(a, b, t):
    return _both(a @ b.T / t)


def times_temperature(a, b, t):
    return _both(F.normalize(a, dim=1) @ F.normalize(b, dim=1).T * t)


def directions_added(a, b, t):
    s = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t
    y = torch.arange(len(a))
    return F.cross_entropy(s, y) + F.cross_entropy(s.T, y)


def summed_over_batch(a, b, t):
    s = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t
    y = torch.arange(len(a))
    return (F.cross_entropy(s, y, reduction="sum") + F.cross_entropy(s.T, y, reduction="sum")) / 2


def positive_not_in_denominator(a, b, t):
    s = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t
    off = s.masked_fill(torch.eye(len(a), dtype=torch.bool), float("-inf"))
    return ((off.logsumexp(1) - s.diag()).mean() + (off.logsumexp(0) - s.diag()).mean()) / 2


def euclidean(a, b, t):
    return _both(-torch.cdist(a, b) ** 2 / t)


def naive_exp(a, b, t):  # right on paper, overflows in float32 for a small temperature
    e = torch.exp(F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t)
    return -(torch.log(e.diag() / e.sum(1)).mean() + torch.log(e.diag() / e.sum(0)).mean()) / 2


def image_side_detached(a, b, t):  # the value is right, but the image encoder would never learn
    return info_nce(a, b.detach(), t)


def through_item(a, b, t):
    return torch.tensor(info_nce(a, b, t).item())


def hard_coded_batch(a, b, t):
    s = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t
    y = torch.arange(8)
    return (F.cross_entropy(s, y) + F.cross_entropy(s.T, y)) / 2


def per_pair(a, b, t):  # forgot to reduce
    s = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t
    y = torch.arange(len(a))
    return (F.cross_entropy(s, y, reduction="none") + F.cross_entropy(s.T, y, reduction="none")) / 2


# --- shortcuts ------------------------------------------------------------------------------------


def calls_coursekit(a, b, t):
    return shared_space.info_nce(a, b, t)


def calls_the_checks_reference(a, b, t):
    from coursekit.checks import features

    return features._info_nce(a, b, t)


@pytest.mark.parametrize("fn", [info_nce, info_nce_log_softmax])
def test_right_answers_pass(fn):
    result = check_info_nce(fn, quiet=True)
    assert result.passed, result


@pytest.mark.parametrize("fn", [one_direction, not_normalised, times_temperature, directions_added,
                                summed_over_batch, positive_not_in_denominator, euclidean, naive_exp,
                                image_side_detached, through_item, hard_coded_batch, per_pair])
def test_wrong_answers_fail_with_a_hint(fn):
    result = check_info_nce(fn, quiet=True)
    assert result.status in ("failed", "error"), (fn.__name__, result)
    assert result.hint, fn.__name__


def test_slips_are_named():
    """A wrong value that equals a known slip gets that slip's hint, not a generic one."""
    def said(fn):
        result = check_info_nce(fn, quiet=True)
        return result.message + " " + result.hint

    assert "one direction" in said(one_direction)
    assert "denominator" in said(positive_not_in_denominator)
    assert "temperature" in said(times_temperature)
    assert "raw dot products" in said(not_normalised)
    assert "Euclidean" in said(euclidean)
    assert "overflow" in said(naive_exp)
    assert "no gradient reaches b" in said(image_side_detached)


@pytest.mark.parametrize("fn", [calls_coursekit, calls_the_checks_reference, shared_space.info_nce])
def test_shortcuts_are_refused(fn):
    result = check_info_nce(fn, quiet=True)
    assert result.status == "failed", result
    assert "info_nce" in result.message


def test_stub_is_not_done():
    assert check_info_nce(_stub, quiet=True).status == "not done"


def test_the_course_implementation_is_the_reference():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    for t in (0.05, 0.1, 1.0):
        assert torch.allclose(shared_space.info_nce(a, b, t), info_nce(a, b, t), atol=1e-6)


def test_the_idea_figure_draws_with_and_without_examples():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from coursekit.viz import draw_shared_space

    for example in (None, torch.rand(3, 8, 8)):
        fig = draw_shared_space(None if example is None else example[:1], example)
        assert fig.axes and fig.axes[0].texts  # labels drawn
        plt.close(fig)
