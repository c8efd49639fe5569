import torch
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


def test_si_mse():
    assert A.check_si_mse(solution_function("check_si_mse"), quiet=True).passed
    _assert_fails(A.check_si_mse(lambda p, t: ((p - t) ** 2).mean(), quiet=True))

    def batch_scale(p, t):  # one scale for the whole batch
        a = (p * t).sum() / (p * p).sum()
        return ((a * p - t) ** 2).mean()

    _assert_fails(A.check_si_mse(batch_scale, quiet=True))
    assert A.check_si_mse(_not_done, quiet=True).status == "not done"


def test_si_log_loss():
    assert A.check_si_log_loss(solution_function("check_si_log_loss"), quiet=True).passed

    def whole_batch(p, t, lam):
        d = torch.log(p) - torch.log(t)
        return (d**2).mean() - lam * d.mean() ** 2

    _assert_fails(A.check_si_log_loss(whole_batch, quiet=True))
    _assert_fails(A.check_si_log_loss(lambda p, t, lam: A._si_log_loss(p, t, -lam), quiet=True))
    assert A.check_si_log_loss(_not_done, quiet=True).status == "not done"


def test_psnr():
    assert A.check_psnr(solution_function("check_psnr"), quiet=True).passed
    _assert_fails(A.check_psnr(lambda p, t: 10 * torch.log10(1 / ((p - t) ** 2).mean()), quiet=True))
    _assert_fails(
        A.check_psnr(
            lambda p, t: (10 * torch.log10(255**2 / ((p - t) ** 2).flatten(1).mean(1))).mean(), quiet=True
        )
    )
    assert A.check_psnr(_not_done, quiet=True).status == "not done"


def test_dncnn_loss():
    assert A.check_dncnn_loss(solution_function("check_dncnn_loss"), quiet=True).passed
    _assert_fails(
        A.check_dncnn_loss(lambda r, y, x: 0.5 * ((r - x) ** 2).flatten(1).sum(1).mean(), quiet=True)
    )
    _assert_fails(
        A.check_dncnn_loss(lambda r, y, x: 0.5 * ((r - (x - y)) ** 2).flatten(1).sum(1).mean(), quiet=True)
    )
    _assert_fails(A.check_dncnn_loss(lambda r, y, x: ((r - (y - x)) ** 2).mean(), quiet=True))
    assert A.check_dncnn_loss(_not_done, quiet=True).status == "not done"


def test_crashing_student_code_is_reported_not_raised():
    r = A.check_psnr(lambda p, t: p.reshape(7, -1), quiet=True)
    assert r.status == "error" and "RuntimeError" in r.message
