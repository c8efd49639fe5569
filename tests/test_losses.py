"""GAN losses: formulas against independent implementations (BCE, MSE), shapes, gradients, errors."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit import losses


@pytest.fixture
def logits():
    return torch.randn(16, 1, 5, 5), torch.randn(16, 1, 5, 5)


def test_minimax_and_nonsaturating_match_bce(logits):
    r, f = logits
    bce = F.binary_cross_entropy_with_logits
    want_d = bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f))
    torch.testing.assert_close(losses.d_loss(r, f, "minimax"), want_d)
    torch.testing.assert_close(losses.d_loss(r, f, "nonsaturating"), want_d)
    torch.testing.assert_close(losses.g_loss(f, "nonsaturating"), bce(f, torch.ones_like(f)))
    # minimax G: E[log(1 - D(G(z)))] with D = sigmoid
    torch.testing.assert_close(losses.g_loss(f, "minimax"), torch.log1p(-torch.sigmoid(f)).mean())


def test_lsgan_and_hinge_formulas(logits):
    r, f = logits
    torch.testing.assert_close(
        losses.lsgan_d_loss(r, f),
        0.5 * (F.mse_loss(r, torch.ones_like(r)) + F.mse_loss(f, torch.zeros_like(f))),
    )
    torch.testing.assert_close(losses.lsgan_g_loss(f), 0.5 * F.mse_loss(f, torch.ones_like(f)))
    torch.testing.assert_close(
        losses.hinge_d_loss(r, f), torch.clamp(1 - r, min=0).mean() + torch.clamp(1 + f, min=0).mean()
    )
    torch.testing.assert_close(losses.hinge_g_loss(f), -f.mean())
    torch.testing.assert_close(losses.d_loss(r, f, "hinge"), losses.hinge_d_loss(r, f))


def test_saturation_gradients():
    # D confidently rejects the fakes: the minimax G loss has almost no gradient, the non-saturating one a large one
    f = torch.full((8,), -8.0, requires_grad=True)
    (g_mm,) = torch.autograd.grad(losses.minimax_g_loss(f), f)
    (g_ns,) = torch.autograd.grad(losses.nonsaturating_g_loss(f), f)
    assert g_mm.abs().max() < 1e-3 < g_ns.abs().min()


def test_equilibrium_values():
    zero = torch.zeros(4)
    assert losses.d_loss(zero, zero, "minimax").item() == pytest.approx(
        2 * torch.log(torch.tensor(2.0)).item()
    )
    assert losses.g_loss(zero, "nonsaturating").item() == pytest.approx(0.6931, abs=1e-4)


def test_l1_and_errors():
    a, b = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(losses.l1(a, b), F.l1_loss(a, b))
    with pytest.raises(ValueError, match="same shape"):
        losses.l1(a, b[:, :2])
    with pytest.raises(ValueError, match="expected one of"):
        losses.d_loss(a, b, "wgan")
    with pytest.raises(TypeError, match="floating-point"):
        losses.g_loss(torch.ones(3, dtype=torch.long))


def test_gradient_penalty_linear_critic():
    # D(x) = <w, x>: the gradient is w everywhere, so GP = (|w| - 1)^2 exactly
    lin = nn.Linear(12, 1, bias=False)
    with torch.no_grad():
        lin.weight.fill_(0.5)
    d = nn.Sequential(nn.Flatten(), lin)
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    gp = losses.gradient_penalty(d, real, fake)
    want = (torch.tensor(0.5 * 12**0.5) - 1) ** 2
    torch.testing.assert_close(gp, want)
    gp.backward()  # the penalty reaches D's weights
    assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="same shape"):
        losses.gradient_penalty(d, real, fake[:2])


def test_kl_divergence_reductions_say_which_papers_form():
    mu, logvar = torch.randn(4, 6), torch.randn(4, 6) * 0.5
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    per = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0))  # (4, 6)
    assert torch.allclose(losses.kl_divergence(mu, logvar, reduction="batchmean"), per.sum(1).mean(), atol=1e-5)
    assert torch.allclose(losses.kl_divergence(mu, logvar, reduction="mean"), per.mean(), atol=1e-5)
    assert torch.allclose(losses.kl_divergence(mu, logvar, reduction="sum"), per.sum(), atol=1e-5)
    # BicycleGAN's form is bit-for-bit the one it had before the two were merged
    legacy = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
    assert torch.equal(losses.kl_divergence(mu, logvar, reduction="batchmean"), legacy)
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.kl_divergence(mu, logvar, reduction="batch")
    with pytest.raises(TypeError, match="reduction"):
        losses.kl_divergence(mu, logvar)  # no default: the caller says which form
    with pytest.raises(ValueError, match=r"mu and logvar must have the same shape, got \(4, 6\) and \(6, 4\)"):
        losses.kl_divergence(mu, logvar.T, reduction="mean")
