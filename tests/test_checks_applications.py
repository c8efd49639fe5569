import torch
import torch.nn.functional as F
from _solutions import solution_function  # the solution notebooks' answers

from coursekit.checks import applications as A


def _not_done(*args):
    raise NotImplementedError()


def _assert_fails(result):
    assert result.status == "failed", result
    assert result.hint


def test_edge_weighted_mse():
    assert A.check_edge_weighted_mse(solution_function("check_edge_weighted_mse"), quiet=True).passed
    _assert_fails(A.check_edge_weighted_mse(lambda p, t, w: ((p - t) ** 2).mean(), quiet=True))
    # weighting the paper instead of the ink
    _assert_fails(
        A.check_edge_weighted_mse(
            lambda p, t, w: ((1 + (w - 1) * t) * (p - t) ** 2).sum() / (1 + (w - 1) * t).sum(), quiet=True
        )
    )
    # forgetting to normalise by the weights
    _assert_fails(
        A.check_edge_weighted_mse(lambda p, t, w: ((1 + (w - 1) * (1 - t)) * (p - t) ** 2).mean(), quiet=True)
    )
    assert A.check_edge_weighted_mse(_not_done, quiet=True).status == "not done"


def _loss_map_variant(target, radius=2, alpha=6.0, beta=-2.0, bins=10, *, invert=False, counts=False,
                      window=None, pad_counts=False, no_cap=False, every_pixel=False):
    """The loss map written plainly, with one realistic mistake switched on at a time."""
    index = (target * bins).long().clamp(0, bins - 1)
    k = 2 * (radius if window is None else window) + 1
    onehot = F.one_hot(index[:, 0], bins).permute(0, 3, 1, 2).float()
    share = F.avg_pool2d(onehot, k, 1, k // 2, count_include_pad=pad_counts)
    h = share.gather(1, index) * (k * k if counts else 1)
    m = alpha * torch.exp(-h) + beta
    if not no_cap:  # without the cap, rare thin-line ink is raised to about 3.8 instead of kept at 1
        m = m.clamp(max=1.0)
    if every_pixel:  # the histogram weight on paper too: white areas drop to about 0.21
        return m
    if invert:  # lowers the paper and keeps the ink at 1
        return torch.where(target >= 1, m.min().expand_as(m), torch.ones_like(m))
    return torch.where(target >= 1, torch.ones_like(m), m)


def test_loss_map():
    good = solution_function("check_loss_map")
    assert A.check_loss_map(good, quiet=True).passed
    assert A.check_loss_map(_loss_map_variant, quiet=True).passed  # the plain version above, no mistake
    for mistake in (dict(invert=True), dict(counts=True), dict(window=1), dict(pad_counts=True), dict(no_cap=True),
                    dict(every_pixel=True)):
        _assert_fails(A.check_loss_map(lambda t, radius=2, bins=10, m=mistake: _loss_map_variant(t, radius, bins=bins, **m),
                                       quiet=True))
    # weights ink more, as the course's ink-weighted MSE does: the opposite of the paper's map
    _assert_fails(A.check_loss_map(lambda t, radius=2, bins=10: 1 + 2 * (1 - t), quiet=True))
    from coursekit.models.sketch import loss_map
    assert A.check_loss_map(lambda t, radius=2, bins=10: loss_map(t, radius, bins=bins), quiet=True).status == "failed"
    assert A.check_loss_map(lambda t, radius=2, bins=10: _not_done(), quiet=True).status == "not done"


def test_course_loss_map_matches_the_check_reference_and_lowers_thick_ink():
    from coursekit.models.sketch import loss_map, loss_map_mse

    t = A._sketch_targets(torch.Generator().manual_seed(3))
    torch.testing.assert_close(loss_map(t), A._loss_map(t))
    m = loss_map(t)
    assert m[t >= 1].eq(1).all() and m.min() > 6 / torch.e - 2 - 1e-6
    assert m[0, 0][t[0, 0] == 0].min() < 0.75  # the thick stroke's inner ink is lowered
    assert loss_map_mse(t, t) == 0


def test_best_shift():
    assert A.check_best_shift(solution_function("check_best_shift"), quiet=True).passed

    def inverted(rough, clean, m):
        dx, dy = A._best_shift(rough, clean, m)
        return -dx, -dy

    def swapped(rough, clean, m):
        dx, dy = A._best_shift(rough, clean, m)
        return dy, dx

    for wrong in (inverted, swapped):
        _assert_fails(A.check_best_shift(wrong, quiet=True))
    assert A.check_best_shift(_not_done, quiet=True).status == "not done"


def test_crashing_student_code_is_reported_not_raised():
    r = A.check_edge_weighted_mse(lambda p, t, w: p.reshape(7, -1), quiet=True)
    assert r.status == "error" and "RuntimeError" in r.message
