"""Tests for coursekit.models.disentangle: β-VAE, plain autoencoder, Mathieu et al.'s model."""

import pytest
import torch
from _overfit import overfit

from coursekit.data.shapes import Shapes
from coursekit.models.disentangle import (
    BetaVAE,
    PairDiscriminator,
    SpecifiedUnspecifiedAE,
    beta_vae_loss,
    mathieu_losses,
    pairs_by_factor,
)


def test_reference_architecture():
    vae = BetaVAE()  # Higgins et al. / disentanglement_lib: 64×64, 10 latents
    convs = [m for m in vae.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64]
    assert vae.to_stats.out_features == 20
    x = torch.rand(2, 1, 64, 64)
    logits, mu, logvar = vae(x)
    assert logits.shape == x.shape and mu.shape == logvar.shape == (2, 10)


def test_loss_against_independent_formula():
    x = torch.rand(3, 1, 8, 8).round()
    logits, mu, logvar = torch.randn(3, 1, 8, 8), torch.randn(3, 4), torch.randn(3, 4) * 0.3
    out = beta_vae_loss(logits, x, mu, logvar, beta=4.0)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1).mean()
    nll = -torch.distributions.Bernoulli(logits=logits).log_prob(x).sum((1, 2, 3)).mean()
    assert torch.allclose(out["kl"], kl, atol=1e-5) and torch.allclose(out["recon"], nll, atol=1e-4)
    assert torch.allclose(out["loss"], nll + 4 * kl, atol=1e-4)
    with pytest.raises(ValueError, match="same shape"):
        beta_vae_loss(logits[:, :, :4], x, mu, logvar)


def test_plain_autoencoder_is_deterministic():
    ae = BetaVAE(latent_dim=4, image_size=32, variational=False).train()
    x = torch.rand(2, 1, 32, 32)
    a, mu, logvar = ae(x)
    b, _, _ = ae(x)
    assert torch.equal(a, b) and torch.equal(logvar, torch.zeros_like(logvar))


def test_tiny_overfit_and_gradients():
    torch.manual_seed(0)
    vae = BetaVAE(latent_dim=4, in_channels=1, image_size=32, channels=(8, 8, 16), hidden=32)
    x = Shapes(8, size=32, colours=("white",), channels=1).images
    first, last = overfit(vae, x, lambda m, x: beta_vae_loss(*m(x)[:1], x, *m.encode(x), beta=1.0), lr=2e-3)
    assert last < 0.6 * first
    xg = x.clone().requires_grad_(True)
    vae(xg)[0].sum().backward()
    assert xg.grad.abs().sum() > 0


def test_mathieu_losses_and_swap():
    torch.manual_seed(0)
    m = SpecifiedUnspecifiedAE(4, 3, in_channels=1, image_size=32, channels=(8, 8, 16), hidden=32)
    disc = PairDiscriminator(1, 32, channels=(8, 8, 16), hidden=32)
    x = torch.rand(4, 4, 1, 32, 32)
    g, d = mathieu_losses(m, disc, *x)
    assert set(g) == {"loss", "recon", "swap", "kl", "adv"} and d.dim() == 0
    g["loss"].backward()
    assert all(p.grad is not None for p in m.parameters())
    assert disc.head.weight.grad is not None  # D gets gradient through the adversarial term too
    s, z, mu, lv = m.eval()(x[0])
    assert s.shape == (4, 4) and z.shape == (4, 3) and torch.equal(z, mu)
    assert m.decode(s.flip(0), z).shape == (4, 1, 32, 32)


def test_pairs_by_factor():
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 0])
    same, other = pairs_by_factor(labels, torch.Generator().manual_seed(0))
    assert torch.equal(labels[same], labels)
    assert (labels[other] != labels).all()
    with pytest.raises(ValueError, match="two classes"):
        pairs_by_factor(torch.zeros(4, dtype=torch.long))


def test_bad_input():
    with pytest.raises(ValueError, match="image_size"):
        BetaVAE(image_size=48)
    with pytest.raises(ValueError, match="expected images"):
        BetaVAE(image_size=32)(torch.rand(1, 1, 64, 64))
