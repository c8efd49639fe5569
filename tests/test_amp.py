"""Mixed precision by device capability (issue 17), tested with the CUDA capability mocked."""

import json
import pathlib
import re

import pytest
import torch

from coursekit import train
from coursekit.models.style import gram_matrix, guided_gram_matrix

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def capability(monkeypatch):
    """Pretend to be a CUDA card of the given compute capability (bf16 "supported" everywhere, as
    current PyTorch reports even on a T4, where it is emulated)."""

    def set_to(major, minor):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, minor))
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)

    return set_to


def test_t4_gets_fp16_with_a_scaler(capability):
    capability(7, 5)  # Colab's T4
    policy = train.amp_policy("cuda")
    assert policy.dtype == torch.float16 and policy.needs_scaler
    assert "7.5" in policy.reason


@pytest.mark.parametrize("cc", [(8, 0), (8, 6), (8, 9), (9, 0)])
def test_ampere_and_newer_get_bf16_without_a_scaler(capability, cc):
    capability(*cc)
    policy = train.amp_policy("cuda")
    assert policy.dtype == torch.bfloat16 and not policy.needs_scaler


@pytest.mark.parametrize("dev", ["cpu", "mps"])
def test_cpu_and_mps_train_in_float32(dev):
    policy = train.amp_policy(dev)
    assert policy.dtype is None and not policy.needs_scaler


def test_amp_off_means_float32_even_on_ampere(capability):
    capability(8, 0)
    assert train.amp_policy("cuda", enabled=False).dtype is None


def test_mixed_precision_asks_for_a_scaler_exactly_under_fp16(capability, monkeypatch):
    made = []

    class RecordingScaler:
        def __init__(self, device="cuda", enabled=True, **kwargs):
            made.append(enabled)

    monkeypatch.setattr(torch.amp, "GradScaler", RecordingScaler)
    capability(7, 5)
    train.MixedPrecision("cuda")
    capability(8, 0)
    train.MixedPrecision("cuda")
    train.MixedPrecision("cpu")
    assert made == [True, False, False]


def test_mixed_precision_step_trains_on_the_cpu():
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    amp = train.MixedPrecision("cpu")
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    losses = []
    for _ in range(20):
        with amp.autocast():
            loss = torch.nn.functional.mse_loss(net(x), y)
        amp.step(loss, opt, grad_clip=10.0)
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_gram_matrices_stay_float32_under_autocast():
    f = torch.randn(2, 8, 16, 16)
    m = torch.rand(1, 1, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        g, gg = gram_matrix(f), guided_gram_matrix(f, m)
        ref = (f.reshape(2, 8, -1) @ f.reshape(2, 8, -1).transpose(1, 2)).dtype  # autocast lowers this
    assert ref == torch.bfloat16, "the CPU autocast of this torch no longer lowers matmuls: test moot"
    assert g.dtype == gg.dtype == torch.float32
    assert torch.allclose(g, gram_matrix(f))


def test_every_training_loop_uses_the_helper():
    """No autocast of its own anywhere but coursekit/train/precision.py (and the Gram matrices' opt-out)."""
    pattern = re.compile(r"torch\.autocast\(|\bautocast\(dev")
    offenders = []
    for path in sorted((ROOT / "coursekit").rglob("*.py")):
        if path.relative_to(ROOT).as_posix() == "coursekit/train/precision.py":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and "enabled=False" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            for line in "".join(cell["source"]).splitlines():
                if pattern.search(line):
                    offenders.append(f"{path.name}: {line.strip()}")
    assert not offenders, "use coursekit.train.MixedPrecision (it adds fp16's GradScaler):\n" + "\n".join(offenders)
