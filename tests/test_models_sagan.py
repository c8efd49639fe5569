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


def test_train_gan_runs_and_moves_gamma():
    torch.manual_seed(0)
    g, d = sagan.Generator(16, 8, 1, 32), sagan.Discriminator(1, 8, 32)
    images = torch.rand(32, 1, 32, 32)
    h = sagan.train_gan(
        g,
        d,
        images,
        optimizers=sagan.optimizers(g, d, lr_g=1e-3, lr_d=1e-3),
        batch_size=8,
        max_steps=5,
        max_seconds=math.inf,
        device="cpu",
    )
    assert len(h["d_loss"]) == 5 and all(math.isfinite(v) for v in h["g_loss"])
    assert any(m.gamma.item() != 0 for m in sagan.attention_layers(g) + sagan.attention_layers(d))
