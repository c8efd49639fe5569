import pytest
import torch
import torch.nn.functional as F
from _solutions import solution_function  # the solution notebooks' answers
from torch import nn

from coursekit.checks import _core
from coursekit.checks import attention as C
from coursekit.nn.attention import SelfAttention, SqueezeExcitation
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


class _SAGANLayer(nn.Module):
    """SAGAN's self-attention layer (Zhang et al. 2019, Eq. 1-3), written as a student would."""

    def __init__(self, channels):
        super().__init__()
        c = channels // 8
        self.f = nn.Conv2d(channels, c, 1, bias=False)
        self.g = nn.Conv2d(channels, c, 1, bias=False)
        self.h = nn.Conv2d(channels, c, 1, bias=False)
        self.v = nn.Conv2d(c, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def weights(self, x):  # (B, N_j, N_i): row j is the distribution over the positions i
        f, g = self.f(x).flatten(2), self.g(x).flatten(2)
        return torch.softmax(g.transpose(1, 2) @ f, dim=-1)

    def attend(self, x, beta):
        b, _, hh, ww = x.shape
        o = self.h(x).flatten(2) @ beta.transpose(1, 2)  # (B, C/8, N_j)
        return self.v(o.reshape(b, -1, hh, ww))

    def forward(self, x):
        return self.gamma * self.attend(x, self.weights(x)) + x


class _SAGANWrongAxis(_SAGANLayer):  # softmax over the queries instead of the keys
    def weights(self, x):
        f, g = self.f(x).flatten(2), self.g(x).flatten(2)
        return torch.softmax(g.transpose(1, 2) @ f, dim=1)


class _SAGANTransposed(_SAGANLayer):  # the weight matrix used the wrong way round
    def forward(self, x):
        return self.gamma * self.attend(x, self.weights(x).transpose(1, 2)) + x


class _SAGANNoGamma(_SAGANLayer):
    def forward(self, x):
        return self.attend(x, self.weights(x)) + x


class _SAGANNoResidual(_SAGANLayer):
    def forward(self, x):
        return self.gamma * self.attend(x, self.weights(x))


class _SAGANScaled(_SAGANLayer):  # the Transformer's 1/sqrt(d)
    def weights(self, x):
        f, g = self.f(x).flatten(2), self.g(x).flatten(2)
        return torch.softmax(g.transpose(1, 2) @ f / f.shape[1] ** 0.5, dim=-1)


class _SAGANGammaOne(_SAGANLayer):  # γ starts at 1: not the identity at initialisation
    def __init__(self, channels):
        super().__init__(channels)
        self.gamma = nn.Parameter(torch.ones(1))


class _SAGANBiases(_SAGANLayer):  # 1×1 convolutions with biases
    def __init__(self, channels):
        super().__init__(channels)
        c = channels // 8
        self.f, self.g, self.h = (nn.Conv2d(channels, c, 1) for _ in range(3))


class _SAGANFused(_SAGANLayer):  # the shortcut: PyTorch's fused attention
    def forward(self, x):
        b, _, hh, ww = x.shape
        q, k, v = (t(x).flatten(2).transpose(1, 2) for t in (self.g, self.f, self.h))
        o = F.scaled_dot_product_attention(q, k, v, scale=1.0).transpose(1, 2).reshape(b, -1, hh, ww)
        return self.gamma * self.v(o) + x


class _SAGANWrapsCourse(_SAGANLayer):  # the shortcut: coursekit's own layer inside forward
    def __init__(self, channels):
        super().__init__(channels)
        self.inner = SelfAttention(channels)

    def forward(self, x):
        return self.inner(x)


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
    "sagan_attention": (
        C.check_sagan_attention,
        _SAGANLayer,
        [_SAGANWrongAxis, _SAGANTransposed, _SAGANNoGamma, _SAGANNoResidual, _SAGANScaled, _SAGANGammaOne,
         _SAGANBiases],
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


@pytest.mark.parametrize("shortcut", [_SAGANFused, _SAGANWrapsCourse])
def test_sagan_attention_shortcuts_fail(shortcut):
    result = C.check_sagan_attention(shortcut, quiet=True)
    assert result.status == "failed", result


@pytest.mark.parametrize("wrong, words", [(_SAGANWrongAxis, "wrong positions"), (_SAGANTransposed, "transposed"),
                                          (_SAGANNoGamma, "γ is missing"), (_SAGANNoResidual, "residual is missing")])
def test_sagan_attention_names_the_mistake(wrong, words):
    result = C.check_sagan_attention(wrong, quiet=True)
    assert result.status == "failed" and words in result.message, result
