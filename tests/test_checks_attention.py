import pytest
import torch
import torch.nn.functional as F
from _solutions import solution_function  # the solution notebooks' answers
from torch import nn

from coursekit.checks import _core
from coursekit.checks import attention as C
from coursekit.nn.attention import SqueezeExcitation
from coursekit.nn.stn import affine_grid


def _not_done(*args, **kwargs):
    raise NotImplementedError()


def _dpa(q, k, v):
    w = torch.softmax(q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5, -1)
    return w @ v, w


class _SEBlock(nn.Module):
    """A correct squeeze-and-excitation block (Hu et al. 2018), written as a student would."""

    def __init__(self, channels, reduction):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def gate(self, z):  # (B, C) → (B, C)
        return torch.sigmoid(self.fc2(F.relu(self.fc1(z))))

    def forward(self, x):
        return x * self.gate(x.mean((2, 3)))[:, :, None, None]


# Realistic mistakes: each fails the check with a hint.
class _SEMaxPool(_SEBlock):  # squeeze with the maximum instead of the average
    def forward(self, x):
        return x * self.gate(x.amax((2, 3)))[:, :, None, None]


class _SENoSigmoid(_SEBlock):  # the excitation without its sigmoid
    def forward(self, x):
        return x * self.fc2(F.relu(self.fc1(x.mean((2, 3)))))[:, :, None, None]


class _SEPerPosition(_SEBlock):  # no squeeze: a gate per position (spatial attention, not SE)
    def forward(self, x):
        return x * self.gate(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class _SEOverBatch(_SEBlock):  # the squeeze also averages over the batch
    def forward(self, x):
        return x * self.gate(x.mean((0, 2, 3)))[None, :, None, None]


class _SENoReduction(_SEBlock):  # C → C → C: no bottleneck
    def __init__(self, channels, reduction):
        super().__init__(channels, 1)


class _SEGateOnly(_SEBlock):  # returns the weights instead of the reweighted input
    def forward(self, x):
        return self.gate(x.mean((2, 3)))


class _SEWrongAxis(_SEBlock):  # gates the width axis with the channel weights (a broadcasting slip)
    def forward(self, x):
        s = self.gate(x.mean((2, 3)))
        return x * s[:, : x.shape[-1]][:, None, None, :]


class _SESubclass(SqueezeExcitation):  # the shortcut: coursekit's own layer
    pass


class _SEWrapsCourse(_SEBlock):  # the shortcut hidden inside forward
    def forward(self, x):
        return x * SqueezeExcitation.gate(self, x)[:, :, None, None]


def _sim(a, s, tx, ty):
    import math

    return torch.tensor([[s * math.cos(a), -s * math.sin(a), tx], [s * math.sin(a), s * math.cos(a), ty]])


CASES = {
    "similarity_theta": (
        C.check_similarity_theta,
        _sim,
        [lambda a, s, tx, ty: _sim(-a, s, tx, ty), lambda a, s, tx, ty: _sim(a, 1 / s, tx, ty)],
    ),
    "affine_grid": (
        C.check_affine_grid,
        affine_grid,
        [
            lambda theta, size: F.affine_grid(theta, list(size), align_corners=True),  # wrong convention
            lambda theta, size: affine_grid(theta, size).flip(-1),  # (y, x) order
        ],
    ),
    "dot_product_attention": (
        C.check_dot_product_attention,
        _dpa,
        [
            lambda q, k, v: (
                torch.softmax(q @ k.transpose(-2, -1), -1) @ v,
                torch.softmax(q @ k.transpose(-2, -1), -1),
            ),
            lambda q, k, v: (
                v.mean(1, keepdim=True).expand(-1, q.shape[1], -1),
                torch.softmax(q @ k.transpose(-2, -1) / 8**0.5, 1),
            ),
        ],
    ),
    "se_block": (C.check_se_block, _SEBlock, [_SEMaxPool, _SENoSigmoid, _SEPerPosition, _SEOverBatch, _SENoReduction, _SEGateOnly, _SEWrongAxis]),
    "se_parameters": (
        C.check_se_parameters,
        lambda c, r: 2 * c * (c // r) + c // r + c,
        [lambda c, r: 2 * c * (c // r)],
    ),
    "attention_map_for_query": (
        C.check_attention_map_for_query,
        lambda a, h, w, x, y: a[0, y * w + x].reshape(h, w),
        [
            lambda a, h, w, x, y: a[0, x * h + y].reshape(h, w),
            lambda a, h, w, x, y: a[0, :, y * w + x].reshape(h, w),
        ],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_reference_passes(name):
    check, reference, _ = CASES[name]
    if any(reference is getattr(*_core._resolve(p)) for p in check.answer_paths):
        assert check(reference, quiet=True).status == "failed"  # the course's own answer is a shortcut
        reference = solution_function(check.__name__)  # the solution notebook's answer
    result = check(reference, quiet=True)
    assert result.status == "passed", result


@pytest.mark.parametrize("name", list(CASES))
def test_wrong_answers_fail_with_hint(name):
    check, _, wrongs = CASES[name]
    for wrong in wrongs:
        result = check(wrong, quiet=True)
        assert result.status == "failed", (name, result)
        assert result.hint


@pytest.mark.parametrize("name", list(CASES))
def test_not_done(name):
    check, _, _ = CASES[name]
    assert check(_not_done, quiet=True).status == "not done"


@pytest.mark.parametrize("shortcut", [_SESubclass, _SEWrapsCourse, SqueezeExcitation])
def test_se_block_shortcuts_fail(shortcut):
    result = C.check_se_block(shortcut, quiet=True)
    assert result.status == "failed" and "is off while the check runs" in result.message, result


def test_se_block_shortcut_is_restored_after_the_check():
    forward, gate = SqueezeExcitation.forward, SqueezeExcitation.gate
    C.check_se_block(_SEWrapsCourse, quiet=True)
    assert SqueezeExcitation.forward is forward and SqueezeExcitation.gate is gate
    x = torch.randn(2, 8, 3, 3)
    assert SqueezeExcitation(8, 4)(x).shape == x.shape
