"""GAN models: parameter counts of the reference configurations (the authors' code), output shapes,
gradients, a tiny overfit, and a few training steps per model with finite losses across seeds."""

import pytest
import torch
from _overfit import overfit
from torch import nn

from coursekit import losses
from coursekit.analysis.complexity import count_params
from coursekit.models import bicyclegan, cgan, cyclegan, dcgan, pix2pix

# The reference configurations' parameter counts (as the authors' code prints them) are rows of
# test_model_table.py, which builds them on the meta device.


def test_dcgan_shapes_and_init():
    g, d = dcgan.Generator(), dcgan.Discriminator()
    x = g(torch.randn(2, 100))
    assert x.shape == (2, 3, 64, 64) and x.abs().max() <= 1
    assert d(x).shape == (2,)
    w = g.main[0].weight
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002
    g32, d32 = dcgan.Generator(nz=16, ngf=8, nc=1, image_size=32), dcgan.Discriminator(1, 8, image_size=32)
    assert d32(g32(torch.randn(3, 16, 1, 1))).shape == (3,)
    with pytest.raises(ValueError, match="power of two"):
        dcgan.Generator(image_size=48)
    with pytest.raises(ValueError, match="image_size"):
        d32(torch.randn(1, 1, 64, 64))
    opt_g, _ = dcgan.optimizers(g, d)
    assert opt_g.defaults["lr"] == 2e-4 and opt_g.defaults["betas"] == (0.5, 0.999)


def test_pix2pix_shapes_and_receptive_field():
    g = pix2pix.UNetGenerator(3, 3, num_downs=8, ngf=8)
    assert g(torch.randn(1, 3, 256, 256)).shape == (1, 3, 256, 256)
    d = pix2pix.PatchDiscriminator(6, 64, 3)
    assert d(torch.randn(1, 6, 256, 256)).shape == (1, 1, 30, 30)
    assert [pix2pix.patch_receptive_field(n) for n in (1, 2, 3, 4)] == [16, 34, 70, 142]
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == 3
    with pytest.raises(ValueError, match="multiples of 64"):
        pix2pix.UNetGenerator(num_downs=6, ngf=8)(torch.randn(1, 3, 48, 48))


def test_receptive_field_by_gradient():
    # the analytic 70×70 agrees with the support of an output's gradient (no norm: exact support)
    d = pix2pix.PatchDiscriminator(1, 4, 3, norm_layer=None)
    x = torch.randn(1, 1, 96, 96, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = (x.grad[0, 0].abs().sum(1) > 0).nonzero()
    assert int(rows.max() - rows.min() + 1) == pix2pix.patch_receptive_field(3)


def test_unet_overfits_one_batch_and_gradients_reach_input():
    torch.manual_seed(0)
    g = pix2pix.UNetGenerator(3, 3, num_downs=5, ngf=8, dropout=0.0)
    a = torch.rand(4, 3, 32, 32, requires_grad=True)
    b = a.detach() * 2 - 1  # the identity, rescaled to [-1, 1]: reachable through the skips
    first, last = overfit(g, (a, b), lambda m, batch: losses.l1(m(batch[0]), batch[1]), lr=5e-3)
    assert last < 0.7 * first
    assert a.grad is not None and a.grad.abs().sum() > 0


def test_cyclegan_shapes_pool_and_losses():
    g = cyclegan.ResnetGenerator(1, 1, ngf=8, n_blocks=2)
    x = torch.randn(2, 1, 32, 32)
    assert g(x).shape == x.shape
    pool = cyclegan.ImagePool(3, seed=0)
    first = pool.query(torch.zeros(2, 1, 4, 4))
    assert first.shape == (2, 1, 4, 4) and len(pool) == 2
    mixed = torch.cat([pool.query(torch.ones(4, 1, 4, 4)) for _ in range(5)])
    assert len(pool) == 3 and mixed.shape == (20, 1, 4, 4)
    assert (mixed.flatten(1).mean(1) == 0).any()  # old fakes come back
    assert cyclegan.ImagePool(0).query(x) is x
    torch.testing.assert_close(cyclegan.cycle_loss(x, x + 0.5), torch.tensor(0.5))
    with pytest.raises(ValueError, match="multiples of 4"):
        g(torch.randn(1, 1, 30, 30))


def test_bicyclegan_shapes_and_kl():
    m = bicyclegan.BicycleGAN(num_downs=5, ngf=8, nef=8, ndf=8, encoder_blocks=3, d_layers=2)
    a = torch.randn(2, 3, 32, 32)
    mu, logvar = m.encoder(a)
    assert mu.shape == logvar.shape == (2, 8)
    assert m.generator(a, torch.randn(2, 8)).shape == (2, 3, 32, 32)
    outs = m.d_vae(a)
    assert [o.shape[-1] for o in outs] == [2, 1] or len(outs) == 2
    z = torch.zeros(3, 8)
    assert losses.kl_divergence(z, z, reduction="batchmean").item() == pytest.approx(0.0)
    # KL(N(1, 1) || N(0, 1)) = 1/2 per dimension
    assert losses.kl_divergence(torch.ones(3, 8), z, reduction="batchmean").item() == pytest.approx(4.0)
    mu, logvar = torch.zeros(20000, 1), torch.full((20000, 1), 2 * torch.log(torch.tensor(3.0)).item())
    assert bicyclegan.reparameterize(mu, logvar).std().item() == pytest.approx(3.0, rel=0.05)
    with pytest.raises(ValueError, match="code z"):
        m.generator(a, torch.randn(2, 4))


def test_cgan_shapes_and_label_errors():
    g = cgan.ConditionalGenerator(10, nz=16, ngf=8, nc=1, image_size=32)
    d = cgan.ConditionalDiscriminator(10, nc=1, ndf=8, image_size=32)
    y = torch.tensor([0, 3, 9])
    x = g(torch.randn(3, 16), y)
    assert x.shape == (3, 1, 32, 32) and d(x, y).shape == (3,)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\], got \[0, 10\]; .*num_classes=10"):
        g(torch.randn(3, 16), torch.tensor([0, 1, 10]))
    with pytest.raises(TypeError, match=r"labels must be an integer tensor .*labels.long\(\)"):
        g(torch.randn(3, 16), y.float())
    with pytest.raises(ValueError, match=r"labels must be a tensor of shape \(3,\), got \(2,\); give one label"):
        d(x, y[:2])
    with pytest.raises(ValueError, match=r"z must be a tensor of shape \(B, 16\), got \(3, 8\); .*randn"):
        g(torch.randn(3, 8), y)
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(B, 1, H, W\), got \(3, 3, 32, 32\)"):
        d(torch.rand(3, 3, 32, 32), y)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["nonsaturating", "lsgan", "hinge"])
def test_dcgan_steps_finite(seed, kind):
    torch.manual_seed(seed)
    g, d = dcgan.Generator(nz=16, ngf=8, nc=1, image_size=32), dcgan.Discriminator(1, 8, 32)
    og, od = dcgan.optimizers(g, d)
    real = torch.rand(8, 1, 32, 32) * 2 - 1
    for _ in range(3):
        out = dcgan.train_step(g, d, og, od, real, kind)
    assert all(torch.isfinite(torch.tensor(v)) for v in out.values())


@pytest.mark.parametrize("seed", [0, 1])
def test_image_to_image_steps_finite(seed):
    torch.manual_seed(seed)
    a, b = torch.rand(4, 3, 32, 32) * 2 - 1, torch.rand(4, 3, 32, 32) * 2 - 1
    g, d = pix2pix.UNetGenerator(3, 3, 5, 8), pix2pix.PatchDiscriminator(6, 8, 2)
    og, od = dcgan.optimizers(g, d)
    for _ in range(3):
        fake = g(a)
        ld = pix2pix.discriminator_loss(d, a, fake, b)
        od.zero_grad()
        ld.backward()
        od.step()  # noqa: E702
        lg = pix2pix.generator_loss(d, a, fake, b)
        og.zero_grad()
        lg["loss"].backward()
        og.step()  # noqa: E702
        assert torch.isfinite(ld) and torch.isfinite(lg["loss"])
    gab, gba = cyclegan.ResnetGenerator(3, 3, 8, 1), cyclegan.ResnetGenerator(3, 3, 8, 1)
    da, db = cyclegan.PatchDiscriminator(3, 8, 2), cyclegan.PatchDiscriminator(3, 8, 2)
    out = cyclegan.generator_loss(gab, gba, da, db, a, b)
    out["loss"].backward()
    assert torch.isfinite(out["loss"]) and torch.isfinite(cyclegan.discriminator_loss(da, a, out["fake_a"]))
    m = bicyclegan.BicycleGAN(num_downs=5, ngf=8, nef=8, ndf=8, encoder_blocks=3, d_layers=2)
    opts = m.optimizers()
    for _ in range(2):
        logs = m.train_step(a, b, opts)
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())


def test_cgan_and_pix2pix_train_steps():
    g = cgan.ConditionalGenerator(10, nz=16, ngf=8, nc=1, image_size=32)
    d = cgan.ConditionalDiscriminator(10, nc=1, ndf=8, image_size=32)
    og, od = dcgan.optimizers(g, d)
    out = cgan.train_step(g, d, og, od, torch.rand(4, 1, 32, 32) * 2 - 1, torch.tensor([0, 1, 2, 3]))
    assert set(out) == {"loss_d", "loss_g"} and all(map(torch.isfinite, map(torch.tensor, out.values())))
    g2 = pix2pix.UNetGenerator(3, 3, 5, 8)
    og2 = torch.optim.Adam(g2.parameters())
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    logs = pix2pix.train_step(g2, None, og2, None, a, b)  # the L1-only baseline
    assert set(logs) == {"loss_g", "l1"}


def test_pix2pix_noise_baseline_step():
    g = bicyclegan.Generator(3, 3, nz=8, num_downs=5, ngf=8)
    d = bicyclegan.MultiscaleDiscriminator(3, 8, n_layers=2, num_d=1)
    og, od = dcgan.optimizers(g, d)
    logs = bicyclegan.pix2pix_noise_step(g, d, og, od, torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())


def test_32px_variants_and_aliases():
    g, d = dcgan.Generator32(nz=100, ngf=64, nc=3), dcgan.Discriminator32(nc=3, ndf=64)
    x = g(torch.randn(2, 100))
    assert x.shape == (2, 3, 32, 32) and d(x).shape == (2,)
    # one stage fewer than the 64×64 reference: 4·ngf at 4×4
    assert g.main[0].out_channels == 256 and count_params(g) < count_params(dcgan.Generator())
    assert bicyclegan.Discriminator is bicyclegan.MultiscaleDiscriminator
    assert cgan.Generator is cgan.ConditionalGenerator


def test_one_gan_initialisation_for_dcgan_and_the_pix2pix_family():
    from coursekit.nn.init import init_weights

    torch.manual_seed(0)
    net = init_weights(nn.Sequential(nn.Conv2d(8, 64, 4), nn.BatchNorm2d(64), nn.Linear(64, 256), nn.BatchNorm1d(256)))
    assert abs(net[0].weight.std().item() - 0.02) < 0.002 and net[0].bias.abs().sum() == 0
    assert abs(net[2].weight.std().item() - 0.02) < 0.002 and net[2].bias.abs().sum() == 0
    for bn in (net[1], net[3]):  # both batch norms: scale N(1, 0.02), shift 0
        assert abs(bn.weight.mean().item() - 1) < 0.01 and 0 < bn.weight.std().item() < 0.03
        assert bn.bias.abs().sum() == 0
    # one function: the GAN models all initialise through it (no private copies)
    assert dcgan.init_weights is pix2pix.init_weights is cyclegan.init_weights is bicyclegan.init_weights is init_weights
