import math

import pytest
import torch

from coursekit.models import sagan
from coursekit.nn.attention import SelfAttention


@pytest.mark.parametrize("size", [32, 64])
def test_shapes_and_attention_placement(size):
    g, d = sagan.Generator(16, 8, 1, size), sagan.Discriminator(1, 8, size)
    z = torch.randn(3, 16)
    x = g(z)
    assert x.shape == (3, 1, size, size) and x.abs().max() <= 1
    assert d(x).shape == (3,)
    layers = sagan.attention_layers(g) + sagan.attention_layers(d)
    assert len(layers) == 2 and all(isinstance(m, SelfAttention) for m in layers)
    layers[0].keep_attention = True
    g.eval()(z)
    assert layers[0].last_query_size == (size // 2, size // 2)  # on the S/2 map


def test_spectral_norm_everywhere():
    for net in (sagan.Generator(16, 8, 1, 32), sagan.Discriminator(1, 8, 32)):
        convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
        assert convs and all(hasattr(m, "parametrizations") for m in convs)


def test_no_attention_option_and_errors():
    assert not sagan.attention_layers(sagan.Generator(16, 8, 1, 32, attention=False))
    with pytest.raises(ValueError, match="expected noise"):
        sagan.Generator(16, 8, 1, 32)(torch.randn(2, 15))
    with pytest.raises(ValueError, match="expected images"):
        sagan.Discriminator(1, 8, 32)(torch.randn(2, 1, 16, 16))


def test_optimizers_ttur():
    g, d = sagan.Generator(16, 8, 1, 32), sagan.Discriminator(1, 8, 32)
    og, od = sagan.optimizers(g, d)
    assert og.param_groups[0]["lr"] == 1e-4 and od.param_groups[0]["lr"] == 4e-4
    assert og.param_groups[0]["betas"] == (0.0, 0.9)


def test_fit_gan_trains_sagan_and_moves_gamma():
    from coursekit import train
    from coursekit.models import dcgan

    torch.manual_seed(0)
    g, d = sagan.Generator(16, 8, 1, 32), sagan.Discriminator(1, 8, 32)
    images = torch.rand(32, 1, 32, 32)
    h = train.fit_gan(
        g,
        d,
        train.random_batches(images * 2 - 1, 8, device="cpu"),
        step=dcgan.adversarial_step("hinge"),
        optimizers=sagan.optimizers(g, d, lr_g=1e-3, lr_d=1e-3),
        max_steps=5,
        max_seconds=math.inf,
        device="cpu",
        progress=False,
    )
    assert len(h["d_loss"]) == 5 and all(math.isfinite(v) for v in h["g_loss"])
    assert any(m.gamma.item() != 0 for m in sagan.attention_layers(g) + sagan.attention_layers(d))


def test_sagan_training_is_unchanged_by_the_move_to_train():
    """fit_gan + random_batches + adversarial_step("hinge") give the losses sagan.train_gan gave
    (same draws in the same order), so 4.3's recorded smoke numbers stay as they were."""
    from coursekit import train
    from coursekit.models import dcgan

    torch.manual_seed(0)
    g, d = sagan.Generator(16, 8, 1, 32), sagan.Discriminator(1, 8, 32)
    images = torch.rand(32, 1, 32, 32)
    h = train.fit_gan(g, d, train.random_batches(images * 2 - 1, 8, seed=0, device="cpu"),
                      step=dcgan.adversarial_step("hinge"), optimizers=sagan.optimizers(g, d), max_steps=4,
                      device="cpu", progress=False)
    torch.testing.assert_close(torch.tensor(h["d_loss"]), torch.tensor([2.0232532, 1.9945183, 1.9790995, 1.9535584]))
    torch.testing.assert_close(torch.tensor(h["g_loss"]), torch.tensor([0.0333901, 0.0433409, 0.0350848, 0.0238754]))


def test_strips_give_a_patch_discriminator():
    """(H, W) strips: the generator starts from a 4 × 4W/H map, D averages one score per window."""
    g, d = sagan.Generator(16, 8, 1, (16, 48)).eval(), sagan.Discriminator(1, 8, (16, 48)).eval()
    x = g(torch.randn(3, 16))  # eval mode: spectral norm does no power-iteration step per call
    assert x.shape == (3, 1, 16, 48) and d(x).shape == (3,)
    assert d.main(x).shape == (3, 1, 1, 9)  # nine windows along the strip
    torch.testing.assert_close(d(x), d.main(x).mean((1, 2, 3)))
    assert sagan.receptive_field((16, 48)) == 22 < 32  # narrower than the distance between the ends
    assert sagan.receptive_field(32) >= 32  # a square image: the last layer sees everything
    layers = sagan.attention_layers(g)
    layers[0].keep_attention = True
    g.eval()(torch.randn(2, 16))
    assert layers[0].last_query_size == (8, 24)
    no_att = sagan.Discriminator(1, 8, (16, 48), attention=False).eval()
    # the windows do not interact: changing the right end leaves the leftmost window's score unchanged
    y = x.clone()
    y[..., 32:] = torch.rand_like(y[..., 32:])
    assert torch.equal(no_att.main(x)[..., 0], no_att.main(y)[..., 0])
    with pytest.raises(ValueError, match="multiple of height/4"):
        sagan.Generator(16, 8, 1, (16, 50))
    with pytest.raises(ValueError, match="expected images"):
        d(torch.randn(2, 1, 16, 16))
