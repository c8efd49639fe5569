"""Apple MPS paths (issue 17): skipped without a Mac GPU, except the tests of what doctor() says.

Run on a Mac with ``COURSEKIT_DEVICE= .venv/bin/python -m pytest -m mps tests/test_mps.py``.
"""

import math

import pytest
import torch
from torch import nn

from coursekit import runtime, train
from coursekit.doctor import diagnose

needs_mps = pytest.mark.skipif(not runtime._mps_available(), reason="needs Apple MPS")


@pytest.fixture
def mps(monkeypatch):
    monkeypatch.delenv("COURSEKIT_DEVICE", raising=False)
    return torch.device("mps")


def test_doctor_tells_a_mac_student_what_they_get(monkeypatch):
    monkeypatch.setattr(runtime, "_cuda_available", lambda: False)
    monkeypatch.setattr(runtime, "_mps_available", lambda: True)
    monkeypatch.delenv("COURSEKIT_DEVICE", raising=False)
    monkeypatch.delenv("COURSEKIT_PROFILE", raising=False)
    monkeypatch.delenv("PYTORCH_ENABLE_MPS_FALLBACK", raising=False)
    facts = diagnose(check_network=False)
    assert facts["device"] == "mps" and facts["profile"] == "cpu"
    assert facts["mixed_precision"] == "float32 on mps"
    said = " ".join(facts["advice"])
    assert "float64" in said and "PYTORCH_ENABLE_MPS_FALLBACK=1" in said and "NotImplementedError" in said
    monkeypatch.setenv("PYTORCH_ENABLE_MPS_FALLBACK", "1")
    said = " ".join(diagnose(check_network=False)["advice"])
    assert "fall back to the CPU" in said and "NotImplementedError" not in said


@pytest.mark.mps
@needs_mps
def test_device_picks_mps(mps):
    assert runtime.device().type == "mps"


@pytest.mark.mps
@needs_mps
def test_float64_statistics_run_and_come_back_to_mps(mps):
    from coursekit.metrics import frechet_distance, ssim
    from coursekit.models.autoencoder import PCA
    from coursekit.models.style import match_color

    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    got = match_color(a.to(mps), b.to(mps))
    assert got.device.type == "mps" and torch.allclose(got.cpu(), match_color(a, b), atol=1e-5)
    assert ssim(a.to(mps), b.to(mps)).device.type == "mps"
    assert PCA(4).fit(torch.rand(16, 1, 8, 8, device=mps)).components.device.type == "mps"
    assert math.isfinite(frechet_distance(torch.randn(64, 8, device=mps), torch.randn(64, 8, device=mps)))


@pytest.mark.mps
@needs_mps
def test_fit_trains_on_mps_in_float32(mps):
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))
    x = torch.randn(32, 3, 16, 16)
    data = [(x[i : i + 8], x[i : i + 8]) for i in range(0, 32, 8)]
    h = train.fit(net, data, lambda m, bt: nn.functional.mse_loss(m(bt[0]), bt[1]), epochs=20,
                  max_seconds=math.inf, device=mps, progress=False)
    assert next(net.parameters()).device.type == "mps"
    assert h["loss"][-1] < h["loss"][0]
