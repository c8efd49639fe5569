"""Tests for coursekit.models.progan: growing, fade-in, minibatch std, pixel norm, equalised lr."""

import math

import pytest
import torch
from _overfit import overfit

from coursekit.models.progan import (
    Discriminator,
    EqualizedConv2d,
    Generator,
    MinibatchStdDev,
    PixelNorm,
    ProgressiveSchedule,
    fade_in,
    feature_maps,
)


def small(**kw):
    g = Generator(
        32, 32, 3, fmap_base=256, fmap_max=32, **{k: v for k, v in kw.items() if k in ("pixel_norm",)}
    )
    d = Discriminator(
        32, 3, fmap_base=256, fmap_max=32, **{k: v for k, v in kw.items() if k in ("minibatch_std",)}
    )
    return g, d


def test_feature_maps_of_the_reference_configuration():
    # Karras et al. 2018, Table 2 (the networks' 23.1 M parameters each: test_model_table.py)
    assert [feature_maps(s) for s in range(1, 10)] == [512, 512, 512, 512, 256, 128, 64, 32, 16]


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_shapes_at_every_depth(depth):
    g, d = small()
    z = torch.randn(4, 32)
    x = g(z, depth, alpha=0.5)
    assert x.shape == (4, 3, 4 * 2**depth, 4 * 2**depth)
    assert d(x, alpha=0.5).shape == (4,)


def test_fade_in_endpoints_match_the_networks():
    g, d = small()
    g.eval()
    z = torch.randn(4, 32)
    # α = 1 is the new block alone; α = 0 is the previous resolution upsampled
    assert torch.allclose(g(z, 2, alpha=1.0), g(z, 2))
    old = torch.nn.functional.interpolate(g(z, 1), scale_factor=2, mode="nearest")
    assert torch.allclose(g(z, 2, alpha=0.0), old, atol=1e-5)
    x = torch.randn(4, 3, 16, 16)
    assert torch.allclose(d(x, alpha=0.0), d(torch.nn.functional.avg_pool2d(x, 2)), atol=1e-5)
    assert torch.equal(fade_in(0.25, torch.zeros(2), torch.ones(2)), torch.full((2,), 0.25))
    with pytest.raises(ValueError, match="same shape"):
        fade_in(0.5, torch.zeros(2, 3), torch.zeros(3, 2))


def test_pixel_norm_unit_average_square():
    y = PixelNorm()(torch.randn(2, 16, 3, 3) * 7)
    assert torch.allclose(y.pow(2).mean(1), torch.ones(2, 3, 3), atol=1e-4)


def test_minibatch_stddev_matches_a_loop():
    x = torch.randn(8, 3, 2, 2)
    y = MinibatchStdDev(4)(x)
    assert y.shape == (8, 4, 2, 2)
    for i in range(8):  # independent: group of sample i = samples with the same index mod 2
        grp = x[i % 2 :: 2]
        want = grp.std(dim=0, unbiased=False).mean()
        assert torch.allclose(y[i, 3], want.expand(2, 2), atol=1e-4)
    identical = MinibatchStdDev(4)(torch.ones(4, 2, 2, 2))
    assert identical[:, 2].max() < 1e-3  # no variety -> zero feature
    with pytest.raises(ValueError, match="multiple of the group size"):
        MinibatchStdDev(4)(torch.randn(6, 2, 2, 2))


def test_equalized_learning_rate_scales_at_run_time():
    conv = EqualizedConv2d(8, 4, 3, padding=1)
    assert abs(conv.weight.std().item() - 1.0) < 0.15  # stored weights are N(0, 1)
    assert math.isclose(conv.scale, math.sqrt(2 / (8 * 9)))
    x = torch.randn(16, 8, 8, 8)
    assert 0.5 < conv(x).std().item() < 2.5  # He-scaled output


def test_gradients_reach_the_latent_and_ablations_run():
    g, d = small(pixel_norm=False, minibatch_std=False)
    z = torch.randn(4, 32, requires_grad=True)
    d(g(z, 3, 0.3), 0.3).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_tiny_gan_step_reduces_discriminator_loss():
    torch.manual_seed(0)
    g, d = small()
    real = torch.rand(8, 3, 8, 8) * 2 - 1
    fake = g(torch.randn(8, 32), 1).detach()

    def d_loss(d, batch):
        real, fake = batch
        return torch.nn.functional.softplus(-d(real)).mean() + torch.nn.functional.softplus(d(fake)).mean()

    opt = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.0, 0.99))  # ProGAN's Adam
    first, last = overfit(d, (real, fake), d_loss, steps=30, optimizer=opt)
    assert last < 0.5 * first


def test_schedule():
    s = ProgressiveSchedule(4, final_share=0.4)
    assert s(0.0) == (0, 1.0)
    assert s(1.0) == (3, 1.0)
    depths = [s(t / 100)[0] for t in range(101)]
    assert depths == sorted(depths) and set(depths) == {0, 1, 2, 3}
    d, a = s(0.1 + 0.05)  # the middle of the first fade-in phase (phases of 0.1)
    assert d == 1 and abs(a - 0.5) < 1e-6
    assert s(0.7) == (3, 1.0)
    with pytest.raises(ValueError):
        ProgressiveSchedule(3, final_share=0)


def test_bad_input():
    g, d = small()
    with pytest.raises(ValueError, match="depth"):
        g(torch.randn(2, 32), 4)
    with pytest.raises(ValueError, match=r"\(B, 32\)"):
        g(torch.randn(2, 16))
    with pytest.raises(ValueError, match="square"):
        d(torch.randn(2, 3, 12, 12))
    with pytest.raises(ValueError, match="power of two"):
        Generator(max_resolution=48)
