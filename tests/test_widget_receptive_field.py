"""The receptive-field probe: its plain functions and its widget, driven without a browser."""

import pytest
import torch

from coursekit.analysis import receptive_field
from coursekit.widgets.receptive_field import PRESETS, ReceptiveFieldProbe, probe, render_png, stack_model


def test_stack_model_fields():
    assert receptive_field(stack_model(3, 3, 1, 1), 32).size == (7, 7)
    assert receptive_field(stack_model(2, 3, 1, 4), 32).size == (17, 17)
    rf = receptive_field(stack_model(2, 3, 2, 1), 32)
    assert (rf.size, rf.stride) == ((7, 7), (4, 4))
    with pytest.raises(ValueError, match="layers"):
        stack_model(0)


def test_probe_numbers_and_position():
    p = probe(layers=2, kernel_size=3)
    assert p.rf.describe() == "receptive field: 5 × 5 px, stride 1"
    assert p.box == ((46, 50), (46, 50)) and p.erf.support() == ((46, 50), (46, 50))
    q = probe(x=10, y=20, layers=2, kernel_size=3)
    assert q.box == ((18, 22), (8, 12))
    with pytest.raises(ValueError, match="outside"):
        probe(x=500)


def test_render_png_is_an_image():
    png = render_png(probe(layers=3), 48, 48)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_widget_updates_on_every_control(monkeypatch):
    import coursekit.widgets.receptive_field as mod

    # drawing is tested above; here a cheap stand-in that still changes with the field
    monkeypatch.setattr(mod, "render_png", lambda result, x, y: repr((result.box, result.unit)).encode())
    w = ReceptiveFieldProbe()
    assert set(w.controls) == {"network", "layers", "kernel size", "stride", "dilation", "x", "y"}
    assert "receptive field: 5 × 5 px, stride 1" in w.text.value
    img0 = w.image.value
    w.controls["layers"].value = 4
    assert "receptive field: 9 × 9 px, stride 1" in w.text.value and w.image.value != img0
    w.controls["kernel size"].value = 5
    assert "receptive field: 17 × 17 px, stride 1" in w.text.value
    w.controls["dilation"].value = 2
    assert "receptive field: 33 × 33 px, stride 1" in w.text.value
    w.controls["stride"].value = 2
    assert "stride 16" in w.text.value
    before = w.text.value
    w.controls["x"].value = 10
    assert w.text.value != before and "columns" in w.text.value
    w.controls["network"].value = "context module"
    assert "receptive field: 67 × 67 px, stride 1" in w.text.value
    assert w.controls["layers"].disabled and w.controls["x"].value == 48
    w.controls["network"].value = "custom stack"
    assert not w.controls["layers"].disabled


def test_presets_are_real_networks():
    assert PRESETS == ("custom stack", "AlexNet", "VGG-16", "ResNet-50", "context module")
    torch.manual_seed(0)
    p = probe("AlexNet", n_samples=1)
    assert p.rf.describe() == "receptive field: 195 × 195 px, stride 32"
