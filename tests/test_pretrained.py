"""coursekit.pretrained: the real loading path (through a fake torch hub cache) and the fallback."""

import hashlib

import pytest
import torch
import torchvision

from coursekit import pretrained


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache in a temporary folder, with downloads switched off."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # let get_dir() read TORCH_HOME again
    return tmp_path / "hub" / "checkpoints"


def _fake_cache(checkpoints, monkeypatch, state, name="resnet18"):
    """Save ``state`` as torchvision would name it, with the hash prefix of its real SHA-256."""
    checkpoints.mkdir(parents=True, exist_ok=True)
    tmp = checkpoints / "tmp.pth"
    torch.save(state, tmp)
    prefix = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    path = checkpoints / f"{name}-{prefix}.pth"
    tmp.rename(path)
    monkeypatch.setattr(pretrained, "weights_filename", lambda weights: path.name)
    return path


def _known_state(name="resnet18"):
    torch.manual_seed(123)
    model = torchvision.models.get_model(name, weights=None)
    with torch.no_grad():
        model.fc.bias.fill_(0.25)  # a value no random initialisation gives
    return model.state_dict()


def test_weights_dir_follows_torch_home(hub):
    assert pretrained.weights_dir() == hub


def test_offline_fallback_says_so_once_and_is_deterministic(hub, capsys):
    model, info = pretrained.load("resnet18")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "random weights (offline fallback)" in out
    assert not info.pretrained and info.path is None
    assert info.source.startswith("random weights (offline fallback): ")
    assert info.weights == torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    assert info.mean == pytest.approx((0.485, 0.456, 0.406))
    assert info.std == pytest.approx((0.229, 0.224, 0.225))
    assert not model.training
    again, _ = pretrained.load("resnet18", verbose=False)
    assert capsys.readouterr().out == ""
    assert torch.equal(model.conv1.weight, again.conv1.weight)  # same fallback in every run


def test_fallback_does_not_disturb_the_global_rng(hub):
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    pretrained.load("resnet18", verbose=False)
    assert torch.equal(torch.rand(3), expected)


def test_real_path_loads_a_cached_file(hub, monkeypatch, capsys):
    state = _known_state()
    path = _fake_cache(hub, monkeypatch, state)
    model, info = pretrained.load("resnet18")
    assert info.pretrained and info.path == path
    assert info.source == "torchvision ImageNet weights (cached)"
    assert capsys.readouterr().out == ""
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_real_path_uses_weights_only(hub, monkeypatch):
    path = _fake_cache(hub, monkeypatch, _known_state())
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    pretrained.load("resnet18")
    assert seen.get("weights_only") is True, path


def test_corrupt_file_is_a_clear_error_naming_it(hub, monkeypatch):
    path = _fake_cache(hub, monkeypatch, _known_state())
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt") as err:
        pretrained.load("resnet18")
    assert str(path) in str(err.value)


def test_wrong_architecture_is_a_clear_error_naming_it(hub, monkeypatch):
    path = _fake_cache(hub, monkeypatch, {"conv1.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="does not fit") as err:
        pretrained.load("resnet18")
    assert str(path) in str(err.value)


def test_not_a_torch_file_is_a_clear_error(hub, monkeypatch):
    hub.mkdir(parents=True)
    data = b"<html>404 not found</html>"
    path = hub / f"resnet18-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    path.write_bytes(data)
    monkeypatch.setattr(pretrained, "weights_filename", lambda weights: path.name)
    with pytest.raises(ValueError, match="could not be read") as err:
        pretrained.load("resnet18")
    assert str(path) in str(err.value)


def test_unknown_model():
    with pytest.raises(ValueError, match="expected one of"):
        pretrained.load("alexnet")


def test_weights_filenames_carry_a_hash_prefix():
    for name in pretrained.MODELS:
        weights = torchvision.models.get_model_weights(name).DEFAULT
        assert pretrained._hash_prefix(pretrained.weights_dir() / pretrained.weights_filename(weights))


def test_vgg_layer_paths_match_torchvision():
    for name in ("vgg16", "vgg19"):
        layers = pretrained.vgg_layers(name)
        config = {"vgg16": "D", "vgg19": "E"}[name]  # the paper's Table 1; features only (fast)
        features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs[config])
        for layer, path in layers.items():
            module = features[int(path.split(".")[1])]
            kind = {"conv": torch.nn.Conv2d, "relu": torch.nn.ReLU, "pool": torch.nn.MaxPool2d}
            assert isinstance(module, kind[layer[:4]]), (name, layer, path)
        assert len(layers) == len(features)
    vgg19 = pretrained.vgg_layers("vgg19")
    # Gatys et al. 2016: content conv4_2, style conv1_1 ... conv5_1
    assert vgg19["conv4_2"] == "features.21"
    assert [vgg19[f"conv{b}_1"] for b in range(1, 6)] == [f"features.{i}" for i in (0, 5, 10, 19, 28)]


def test_headless_vgg_loads_features_from_a_full_file(hub, monkeypatch):
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])
    full = {f"features.{k}": v for k, v in features.state_dict().items()}
    full["classifier.0.weight"] = torch.zeros(2, 2)  # the head is ignored when not wanted
    _fake_cache(hub, monkeypatch, full, name="vgg16")
    model, info = pretrained.load("vgg16", classifier=False)
    assert info.pretrained and isinstance(model.classifier, torch.nn.Identity)
    assert torch.equal(model.features[0].weight, features[0].weight)


def test_headless_fallback_is_deterministic_and_initialised(hub):
    a, info = pretrained.load("vgg16", classifier=False, verbose=False)
    b, _ = pretrained.load("vgg16", classifier=False, verbose=False)
    assert not info.pretrained and isinstance(a.classifier, torch.nn.Identity)
    assert torch.equal(a.features[0].weight, b.features[0].weight)
    assert a.features[0].bias.abs().sum() == 0 and 0.05 < a.features[0].weight.std() < 0.5
