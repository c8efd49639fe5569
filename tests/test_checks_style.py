"""coursekit.checks.style: each check passes the reference, fails realistic mistakes with a hint."""

import torch
import torch.nn.functional as F
from _solutions import solution_function  # the solution notebooks' answers

from coursekit.checks import style as checks
from coursekit.models import style
from coursekit.models.style import warp


def _not_done(*args):
    raise NotImplementedError()


def _fails(result):
    return result.status == "failed" and result.hint


def test_check_gram():
    assert checks.check_gram(solution_function("check_gram"), quiet=True).passed
    assert not checks.check_gram(style.gram_matrix, quiet=True)  # the course's own is off

    def unnormalised(x):
        f = x.flatten(2)
        return f @ f.transpose(1, 2)

    def by_hw_only(x):
        return unnormalised(x) / (x.shape[2] * x.shape[3])

    def transposed_wrong(x):  # (HW, HW) instead of (C, C)
        f = x.flatten(2)
        return f.transpose(1, 2) @ f / x[0].numel()

    for wrong in (unnormalised, by_hw_only, transposed_wrong):
        assert _fails(checks.check_gram(wrong, quiet=True)), wrong.__name__
    assert checks.check_gram(_not_done, quiet=True).status == "not done"


def test_check_style_loss():
    assert checks.check_style_loss(solution_function("check_style_loss"), quiet=True).passed

    def no_weights(features, targets, weights=None):
        return sum(F.mse_loss(style.gram_matrix(features[k]), targets[k]) for k in targets)

    def sum_not_mean(features, targets, weights=None):
        weights = weights or {k: 1 / len(targets) for k in targets}
        return sum(weights[k] * (style.gram_matrix(features[k]) - targets[k]).pow(2).sum() for k in targets)

    def features_not_grams(features, targets, weights=None):
        weights = weights or {k: 1 / len(targets) for k in targets}
        return sum(
            weights[k]
            * F.mse_loss(features[k].flatten(2) @ features[k].flatten(2).transpose(1, 2), targets[k])
            for k in targets
        )

    for wrong in (no_weights, sum_not_mean, features_not_grams):
        assert _fails(checks.check_style_loss(wrong, quiet=True)), wrong.__name__
    assert checks.check_style_loss(_not_done, quiet=True).status == "not done"


def test_check_total_variation():
    assert checks.check_total_variation(solution_function("check_total_variation"), quiet=True).passed

    def absolute(x):
        return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()

    def one_direction(x):
        return (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean()

    def summed(x):
        return (x[..., 1:, :] - x[..., :-1, :]).pow(2).sum() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).sum()

    for wrong in (absolute, one_direction, summed):
        assert _fails(checks.check_total_variation(wrong, quiet=True)), wrong.__name__
    assert checks.check_total_variation(_not_done, quiet=True).status == "not done"


def test_check_warp():
    assert checks.check_warp(solution_function("check_warp"), quiet=True).passed

    def _grid(image, flow):
        b, _, h, w = image.shape
        ys, xs = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
        x, y = xs + flow[:, 0], ys + flow[:, 1]
        return torch.stack([2 * x / (w - 1) - 1, 2 * y / (h - 1) - 1], -1)

    def negated_flow(image, flow):
        return warp(image, -flow)

    def swapped_xy(image, flow):
        return warp(image, flow.flip(1))

    def wrong_corners(image, flow):
        return F.grid_sample(image, _grid(image, flow), padding_mode="border", align_corners=False)

    for wrong in (negated_flow, swapped_xy, wrong_corners):
        assert _fails(checks.check_warp(wrong, quiet=True)), wrong.__name__
    assert checks.check_warp(_not_done, quiet=True).status == "not done"
