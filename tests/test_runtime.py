import pytest
import torch

import coursekit
from coursekit import runtime


def test_profile_from_argument_env_and_default(monkeypatch):
    monkeypatch.delenv("COURSEKIT_PROFILE", raising=False)
    monkeypatch.setattr(runtime, "_cuda_available", lambda: False)
    assert runtime.profile().name == "cpu"
    monkeypatch.setattr(runtime, "_cuda_available", lambda: True)
    assert runtime.profile().name == "gpu"
    monkeypatch.setenv("COURSEKIT_PROFILE", "smoke")
    assert runtime.profile().name == "smoke"
    assert runtime.profile("CPU").name == "cpu"  # the argument wins, case-insensitive


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(ValueError, match="smoke, cpu, gpu"):
        runtime.profile("laptop")


def test_profiles_scale_up():
    s, c, g = (runtime.PROFILES[n] for n in ("smoke", "cpu", "gpu"))
    assert s.budget_s == 30 and c.budget_s == 600 and g.budget_s == 600
    for field in ("train_seconds", "n_train", "batch_size"):
        assert getattr(s, field) < getattr(c, field) < getattr(g, field)


def test_pick_and_fallbacks():
    cpu, gpu = runtime.PROFILES["cpu"], runtime.PROFILES["gpu"]
    assert cpu.pick(smoke=1, cpu=2, gpu=3) == 2
    assert gpu.pick(smoke=1, cpu=2) == 2
    with pytest.raises(KeyError, match="profile 'cpu'"):
        cpu.pick(smoke=1)
    assert runtime.PROFILES["cpu"].scaled(64) == 32


def test_device_env_override_and_missing_cuda(monkeypatch):
    monkeypatch.setenv("COURSEKIT_DEVICE", "cpu")
    assert runtime.device() == torch.device("cpu")
    monkeypatch.setattr(runtime, "_cuda_available", lambda: False)
    monkeypatch.setenv("COURSEKIT_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA GPU.*Change runtime type"):
        runtime.device()
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        runtime.device("cuda:0")


def test_device_default_order(monkeypatch):
    monkeypatch.delenv("COURSEKIT_DEVICE", raising=False)
    monkeypatch.setattr(runtime, "_cuda_available", lambda: False)
    monkeypatch.setattr(runtime, "_mps_available", lambda: True)
    assert runtime.device().type == "mps"
    monkeypatch.setattr(runtime, "_mps_available", lambda: False)
    assert runtime.device().type == "cpu"


def test_seed_everything_repeats_exactly():
    def run():
        runtime.seed_everything(123)
        net = torch.nn.Linear(4, 3)
        return net(torch.randn(5, 4)).detach()

    assert torch.equal(run(), run())
    with pytest.raises(TypeError):
        runtime.seed_everything("1")


def test_start_sets_active_profile_and_overrides(capsys):
    p = coursekit.start("smoke", 1, image_size=48)
    assert p.name == "smoke" and p.image_size == 48
    assert runtime.active_profile() is p
    assert "profile 'smoke'" in capsys.readouterr().out
    with pytest.raises(TypeError, match="unknown profile fields"):
        coursekit.start("smoke", 0, colour="red")


def test_importing_coursekit_is_light():
    import subprocess
    import sys

    code = ("import sys, coursekit; heavy = [m for m in ('matplotlib', 'ipywidgets', 'skimage', 'torchvision', "
            "'sklearn') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
