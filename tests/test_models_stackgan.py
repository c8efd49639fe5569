"""Tests for coursekit.models.stackgan: conditioning augmentation, two stages, matching-aware D."""

import pytest
import torch
from _overfit import overfit
from torch.nn import functional as F

from coursekit.losses import kl_divergence
from coursekit.models.stackgan import (
    ConditionalDiscriminator,
    ConditioningAugmentation,
    StageIGenerator,
    StageIIGenerator,
    matching_aware_d_loss,
)


def test_kl_matches_torch_distributions():
    mu, logvar = torch.randn(5, 7), torch.randn(5, 7) * 0.5
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    want = torch.distributions.kl_divergence(q, p).mean()
    assert torch.allclose(kl_divergence(mu, logvar, reduction="mean"), want, atol=1e-5)
    assert kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3), reduction="mean").item() == 0.0


def test_conditioning_augmentation_samples_around_mu():
    torch.manual_seed(0)
    ca = ConditioningAugmentation(16, 8)
    e = torch.randn(1, 16).expand(2000, 16)
    c, mu, logvar = ca(e)
    assert c.shape == mu.shape == logvar.shape == (2000, 8)
    assert torch.allclose(c.mean(0), mu[0], atol=0.15)
    assert torch.allclose(c.var(0), logvar[0].exp(), rtol=0.2, atol=0.02)
    off = ConditioningAugmentation(16, 8, enabled=False)
    c2, mu2, _ = off(e[:3])
    assert torch.equal(c2, mu2)


def test_reference_stage_shapes():
    g1 = StageIGenerator()  # 1024-d text, 64×64
    z, e = torch.randn(2, 100), torch.randn(2, 1024)
    x1, mu, logvar = g1(z, e)
    assert x1.shape == (2, 3, 64, 64) and mu.shape == (2, 128)
    assert g1.up[0][1].in_channels == 1024  # ngf = 8 · GF_DIM at 4×4
    d1 = ConditionalDiscriminator(128, 64, 64)
    assert d1(x1, mu.detach()).shape == (2,)


def test_teaching_stages_and_gradients():
    g1 = StageIGenerator(32, 16, 20, ngf=64, image_size=16)
    g2 = StageIIGenerator(32, 16, ngf=16, in_size=16, out_size=32, n_down=1, n_res=1)
    d2 = ConditionalDiscriminator(16, 16, 32)
    e = torch.randn(4, 32, requires_grad=True)
    x1, mu1, lv1 = g1(torch.randn(4, 20), e)
    x2, mu2, lv2 = g2(x1.detach(), e)
    assert x1.shape == (4, 3, 16, 16) and x2.shape == (4, 3, 32, 32)
    assert x2.min() >= -1 and x2.max() <= 1
    d2(x2, mu2).sum().backward()
    assert e.grad is not None and e.grad.abs().sum() > 0  # the text reaches stage II directly


def test_matching_aware_loss_formula():
    r, w, f = torch.randn(5), torch.randn(5), torch.randn(5)
    want = F.softplus(-r).mean() + 0.5 * (F.softplus(w).mean() + F.softplus(f).mean())
    assert torch.allclose(matching_aware_d_loss(r, w, f), want, atol=1e-6)


def test_tiny_overfit_stage_one():
    torch.manual_seed(0)
    g1 = StageIGenerator(8, 8, 8, ngf=32, image_size=8)
    target = torch.rand(8, 3, 8, 8) * 2 - 1
    e, z = torch.randn(8, 8), torch.randn(8, 8)

    def loss_fn(g1, batch):
        z, e, target = batch
        x, mu, lv = g1(z, e)
        return (x - target).abs().mean() + 0.01 * kl_divergence(mu, lv, reduction="mean")

    first, last = overfit(g1, (z, e, target), loss_fn, steps=60, lr=3e-3)
    assert last < 0.6 * first


def test_bad_input():
    with pytest.raises(ValueError, match="image_size"):
        StageIGenerator(image_size=48)
    g2 = StageIIGenerator(8, 8, ngf=8, in_size=16, out_size=32, n_down=1, n_res=1)
    with pytest.raises(ValueError, match="stage-I images"):
        g2(torch.randn(2, 3, 8, 8), torch.randn(2, 8))
    with pytest.raises(ValueError, match="same shape"):
        kl_divergence(torch.zeros(2, 3), torch.zeros(3, 2), reduction="mean")


def test_refine_input_starts_as_upsampling():
    g2 = StageIIGenerator(8, 8, ngf=8, in_size=16, out_size=32, n_down=1, n_res=1, refine_input=True)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    out, _, _ = g2(x, torch.randn(2, 8))
    assert torch.allclose(
        out, F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False), atol=1e-6
    )
