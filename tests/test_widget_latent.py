"""Latent widgets: interpolation formulas and that moving a control changes the picture."""

import pytest
import torch

from coursekit.widgets import latent


def test_interpolate_linear_and_slerp():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    torch.testing.assert_close(latent.interpolate(z0, z1, 0.5), torch.tensor([0.5, 0.5]))
    mid = latent.interpolate(z0, z1, 0.5, "slerp")
    torch.testing.assert_close(mid, torch.tensor([2**-0.5, 2**-0.5]))  # stays on the unit circle
    torch.testing.assert_close(latent.interpolate(z0, z1, 0.0, "slerp"), z0)
    torch.testing.assert_close(latent.interpolate(z0, z1, 1.0, "slerp"), z1)
    torch.testing.assert_close(latent.interpolate(z0, 2 * z0, 0.5, "slerp"), 1.5 * z0)  # parallel: linear
    with pytest.raises(ValueError, match="mode"):
        latent.interpolate(z0, z1, 0.5, "cubic")
    with pytest.raises(ValueError, match="same shape"):
        latent.interpolate(z0, torch.zeros(3), 0.5)


def _gen(z):  # a stand-in "generator": code -> (B, 1, 4, 4) image in [-1, 1]
    return torch.tanh(z[:, :1, None, None].expand(-1, 1, 4, 4))


def test_interpolation_strip_endpoints():
    z0, z1 = torch.full((3,), -1.0), torch.full((3,), 1.0)
    strip = latent.interpolation_strip(_gen, z0, z1, steps=5)
    assert strip.shape == (5, 1, 4, 4)
    torch.testing.assert_close(strip[0], _gen(z0[None])[0])
    assert strip[2].abs().max() < 1e-6
    with pytest.raises(ValueError, match="at least 2"):
        latent.interpolation_strip(_gen, z0, z1, steps=1)


def test_interpolation_widget_slider_changes_image():
    pytest.importorskip("ipywidgets")
    w = latent.interpolation_widget(_gen, torch.full((3,), -1.0), torch.full((3,), 1.0), mode="linear")
    before, shown = w.image.value, w.last.clone()
    assert before[:4] == b"\x89PNG"
    w.slider.value = 1.0
    assert w.image.value != before and not torch.equal(w.last, shown)
    assert w.last.min() > 0.8  # t = 1 shows G(z1) = tanh(1) mapped to [0, 1]


def test_latent_code_widget_sliders_change_output():
    pytest.importorskip("ipywidgets")

    def g(a, z):  # output = input shifted by z0
        return (a + z[:, :1, None, None]).clamp(-1, 1)

    a = torch.zeros(3, 4, 4)
    w = latent.latent_code_widget(g, a, nz=8)
    assert len(w.sliders) == 8
    torch.testing.assert_close(w.last, torch.full((3, 4, 4), 0.5))
    before = w.image.value
    w.sliders[0].value = 1.0
    torch.testing.assert_close(w.last, torch.ones(3, 4, 4))
    assert w.image.value != before
    torch.testing.assert_close(latent.code_output(g, a, [-1.0] + [0.0] * 7), torch.full((3, 4, 4), -1.0))
    with pytest.raises(ValueError, match="nz=8"):
        latent.latent_code_widget(g, a, nz=8, code=torch.zeros(3))
