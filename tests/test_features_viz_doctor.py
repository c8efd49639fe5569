import pytest
import torch
from torch import nn

import coursekit
from coursekit.features import FeatureExtractor, module_names
from coursekit.viz import show_images, show_rows, to_numpy_image


def _net():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 5, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))


def test_feature_extractor_returns_named_features_and_stops_early():
    net = _net()
    calls = []
    net[5].register_forward_pre_hook(lambda m, i: calls.append(1))
    fx = FeatureExtractor(net, {"a": "0", "b": "2"})
    out = fx(torch.randn(2, 3, 8, 8))
    assert out["a"].shape == (2, 4, 6, 6) and out["b"].shape == (2, 5, 4, 4)
    assert calls == []  # the rest of the network was skipped
    fx.remove()
    assert net(torch.randn(1, 3, 8, 8)).shape == (1, 2)


def test_feature_extractor_gradients_and_errors():
    net = _net()
    x = torch.randn(1, 3, 8, 8, requires_grad=True)
    FeatureExtractor(net, ["2"])(x)["2"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="no submodule"):
        FeatureExtractor(net, {"x": "features.3"})
    with pytest.raises(TypeError):
        FeatureExtractor("vgg", ["0"])
    assert "0" in module_names(net)


def test_viz_accepts_tensors_and_arrays_and_rejects_bad_shapes():
    import matplotlib

    matplotlib.use("Agg")
    fig = show_images(torch.rand(5, 3, 8, 8), titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6
    fig = show_rows({"a": torch.rand(4, 1, 8, 8), "b": torch.rand(4, 3, 8, 8)}, n=3)
    assert len(fig.axes) == 6
    assert to_numpy_image(torch.full((1, 4, 4), -1.0), value_range=(-1, 1)).max() == 0
    with pytest.raises(ValueError, match="1 or 3 channels"):
        to_numpy_image(torch.rand(5, 4, 4))
    with pytest.raises(ValueError, match="no images"):
        show_images([])


def test_doctor_reports_and_advises_offline(monkeypatch, capsys):
    from coursekit.data import download

    monkeypatch.setattr(download, "can_download", lambda *a, **k: False)
    facts = coursekit.doctor()
    out = capsys.readouterr().out
    assert facts["device"] == "cpu" and facts["profile"] == "smoke"
    assert "PyTorch" in out and "offline" in out and "no GPU" in out
    monkeypatch.setenv("COURSEKIT_PROFILE", "nonsense")
    facts = coursekit.doctor(check_network=False)
    assert "unknown profile" in facts["profile"]
