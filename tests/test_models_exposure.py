import colorsys
import math

import pytest
import torch
from _overfit import overfit

from coursekit import baselines
from coursekit.data.exposure import random_degradation
from coursekit.models import exposure as X


def test_filters_match_formulas():
    img = torch.rand(2, 3, 4, 5)
    assert torch.allclose(
        X.exposure(img, torch.tensor([1.0, -1.0])), img * torch.tensor([2.0, 0.5])[:, None, None, None]
    )
    assert torch.allclose(
        X.gamma(img, torch.tensor([2.0, 0.5])),
        img.clamp_min(0.001) ** torch.tensor([2.0, 0.5])[:, None, None, None],
    )
    lum = X.luminance_rgb2lum(img)
    assert torch.allclose(X.black_and_white(img, torch.ones(2)), lum.expand_as(img))
    assert torch.allclose(X.black_and_white(img, torch.zeros(2)), img)
    for f, p in [
        (X.contrast, torch.zeros(2)),
        (X.saturation, torch.zeros(2)),
        (X.tone, torch.ones(2, 8)),
        (X.color_curve, torch.ones(2, 3, 8)),
        (X.white_balance, torch.zeros(2, 2)),
    ]:
        assert torch.allclose(f(img, p), img, atol=1e-5), f.__name__


def test_white_balance_keeps_grey_luminance():
    grey = torch.full((4, 3, 2, 2), 0.4)
    out = X.white_balance(grey, torch.rand(4, 2) - 0.5)
    assert torch.allclose(X.luminance_rgb2lum(out), torch.full((4, 1, 2, 2), 0.4), atol=1e-4)


def test_curves_map_ends_and_are_monotone():
    x = torch.linspace(0, 1, 50).reshape(1, 1, 1, 50).expand(3, 3, 1, 50).contiguous()
    y = X.tone(x, 0.5 + 1.5 * torch.rand(3, 8))
    assert torch.allclose(y[..., 0], torch.zeros(3, 3, 1)) and torch.allclose(y[..., -1], torch.ones(3, 3, 1))
    assert (y.diff(dim=-1) >= -1e-6).all()


def test_hsv_roundtrip_matches_colorsys():
    img = torch.rand(1, 3, 6, 6)
    hsv = X.rgb_to_hsv(img)
    r, g, b = img[0, :, 2, 3].tolist()
    assert torch.allclose(hsv[0, :, 2, 3], torch.tensor(colorsys.rgb_to_hsv(r, g, b)), atol=1e-5)
    assert torch.allclose(X.hsv_to_rgb(hsv), img, atol=1e-5)


def test_saturation_increases_saturation():
    img = torch.rand(2, 3, 8, 8) * 0.5 + 0.25
    s0 = X.rgb_to_hsv(img)[:, 1].mean()
    s1 = X.rgb_to_hsv(X.saturation(img, torch.ones(2)))[:, 1].mean()
    assert s1 > s0


def test_parameter_ranges_from_authors_config():
    raw = torch.tensor([[-50.0], [50.0]])
    assert torch.allclose(X.FILTERS["exposure"]["param"](raw), torch.tensor([-3.5, 3.5]))
    assert torch.allclose(X.FILTERS["gamma"]["param"](raw), torch.tensor([1 / 3, 3.0]))
    assert torch.allclose(X.FILTERS["tone"]["param"](raw.expand(2, 8))[:, 0], torch.tensor([0.5, 2.0]))
    assert torch.allclose(
        X.FILTERS["color_curve"]["param"](raw.expand(2, 24))[:, 0, 0], torch.tensor([0.9, 1.1])
    )


def test_net_any_resolution_and_gradients():
    torch.manual_seed(0)
    net = X.ExposureNet(low_res=32)
    img = torch.rand(2, 3, 70, 45, requires_grad=True)
    out, params = net(img)
    assert out.shape == img.shape
    assert set(params) == set(X.FILTERS)
    assert params["exposure"].shape == (2,) and params["color_curve"].shape == (2, 3, 8)
    out.mean().backward()
    assert img.grad.abs().sum() > 0 and net.regressor[-1].weight.grad.abs().sum() > 0
    assert "EV" in X.describe(params)


def test_inverse_parameters_undo_degradation():
    x = torch.rand(4, 3, 8, 8) * 0.8 + 0.1
    d = random_degradation(4, torch.Generator().manual_seed(0))
    y = X.apply_filters(x, d, ["white_balance", "exposure", "gamma"])
    z = X.apply_filters(y, X.inverse_parameters(d), ["gamma", "white_balance", "exposure"])
    kept = y > X.GAMMA_FLOOR  # the gamma filter floors its input: darker pixels cannot come back
    assert kept.float().mean() > 0.9 and torch.allclose(z[kept], x[kept], atol=1e-4)


def test_inverse_of_any_hidden_edit_is_reachable_by_the_filters():
    inv = X.inverse_parameters(random_degradation(4096, torch.Generator().manual_seed(1)))
    for name in ["gamma", "white_balance", "exposure"]:
        lo, hi = X.FILTERS[name]["range"]
        assert lo <= inv[name].min() and inv[name].max() <= hi, name
    assert inv["gamma"].max() > 2.5 and inv["gamma"].min() < 0.4  # γ spans most of the filter's range


def test_net_overfits_a_fixed_edit():
    torch.manual_seed(0)
    net = X.ExposureNet(["gamma", "exposure"], low_res=16, widths=(8, 8, 8, 8), hidden=16)
    x = torch.rand(8, 3, 16, 16) * 0.8 + 0.1
    target = X.exposure(X.gamma(x, 0.6), 0.5)
    first, last = overfit(net, (x, target), lambda m, b: (m(b[0])[0] - b[1]).abs().mean(), steps=60, lr=1e-2)
    assert last < 0.3 * first


def test_baseline_and_errors():
    img = torch.rand(2, 3, 10, 10) * torch.tensor([1.0, 0.5, 0.2])[None, :, None, None]
    gw = baselines.grey_world(img)
    m = gw.mean((2, 3))
    assert torch.allclose(m, m.mean(1, keepdim=True).expand(-1, 3), atol=1e-5)
    out = baselines.auto_enhance(img)
    assert out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match=r"img must be a tensor of shape \(B, 3, H, W\), got \(2, 1, 4, 4\)"):
        X.exposure(torch.rand(2, 1, 4, 4), 0.0)
    with pytest.raises(ValueError, match="unknown filters"):
        X.ExposureNet(["blur"])
    assert math.isfinite(float(X.contrast(img, torch.ones(2)).sum()))


def test_reference_layout_is_the_authors():
    """ExposureNet() is the authors' actor layout (agent.py feature_extractor): 64×64 → 4×4×256 = 4096."""
    net = X.ExposureNet()
    assert net.n_features == X.AUTHORS_FEATURES == 4096
    assert [m.out_channels for m in net.features if isinstance(m, torch.nn.Conv2d)] == [32, 64, 128, 256]
    assert net.regressor[0].out_features == 128
    with pytest.raises(ValueError, match="4 widths"):
        X.ExposureNet(widths=(8, 8))


def test_pixel_cnn_is_local_and_starts_near_the_identity():
    torch.manual_seed(0)
    cnn = X.PixelCNN(width=8, depth=4)
    assert cnn.receptive_field == 9
    x = torch.rand(1, 3, 20, 20, requires_grad=True)
    out = cnn(x)
    assert out.shape == x.shape
    out[0, :, 10, 10].sum().backward()
    touched = x.grad[0].abs().sum(0) > 0  # the input pixels that output pixel (10, 10) depends on
    rows, cols = touched.nonzero().T
    assert rows.min() == 6 and rows.max() == 14 and cols.min() == 6 and cols.max() == 14
    with pytest.raises(ValueError, match="depth"):
        X.PixelCNN(depth=1)
