"""CUDA paths: device choice, mixed precision, channels_last, models on the GPU. Skipped without CUDA.

Run them on a GPU machine with ``COURSEKIT_DEVICE= .venv/bin/python -m pytest -m gpu tests/test_gpu.py``.
"""

import math

import pytest
import torch
from torch import nn

from coursekit import runtime, train

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.fixture(autouse=True)
def _allow_cuda(monkeypatch):
    monkeypatch.delenv("COURSEKIT_DEVICE", raising=False)


def test_device_and_profile_pick_cuda(monkeypatch):
    monkeypatch.delenv("COURSEKIT_PROFILE", raising=False)
    assert runtime.device().type == "cuda"
    assert runtime.profile().name == "gpu"


def test_fit_on_cuda_with_amp_and_channels_last():
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 3, 3, padding=1))
    x = torch.randn(64, 3, 32, 32)
    data = [(x[i: i + 16], x[i: i + 16]) for i in range(0, 64, 16)]
    h = train.fit(net, data, lambda m, b: nn.functional.mse_loss(m(b[0]), b[1]), epochs=30, max_seconds=math.inf,
                  channels_last=True, progress=False)
    assert next(net.parameters()).is_cuda
    assert math.isfinite(h["loss"][-1]) and h["loss"][-1] < 0.5 * h["loss"][0]


def _models():
    from coursekit.models import cyclegan, dcgan, denoise, pix2pix, transformer_net
    from coursekit.nn.attention import NonLocalBlock, SelfAttention, SqueezeExcitation

    return {
        "dcgan": (dcgan.Generator(), lambda: torch.randn(8, 100)),
        "pix2pix": (pix2pix.UNetGenerator(num_downs=6, ngf=32), lambda: torch.randn(4, 3, 64, 64)),
        "cyclegan": (cyclegan.ResnetGenerator(ngf=32, n_blocks=3), lambda: torch.randn(4, 3, 64, 64)),
        "dncnn": (denoise.DnCNN(), lambda: torch.randn(8, 1, 40, 40)),
        "transformer_net": (transformer_net.TransformerNet(), lambda: torch.rand(2, 3, 64, 64)),
        "non_local": (NonLocalBlock(64), lambda: torch.randn(4, 64, 16, 16)),
        "self_attention": (SelfAttention(64), lambda: torch.randn(4, 64, 16, 16)),
        "squeeze_excitation": (SqueezeExcitation(64), lambda: torch.randn(4, 64, 16, 16)),
    }


@pytest.mark.parametrize("name", list(_models()))
def test_model_trains_on_cuda_under_autocast(name):
    model, make = _models()[name]
    dev = torch.device("cuda")
    model = model.to(dev).to(memory_format=torch.channels_last)
    x = make().to(dev)
    with train.autocast(dev):
        y = model(x)
    loss = y.float().pow(2).mean()
    loss.backward()
    assert torch.isfinite(loss)
    grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_amp_policy_matches_the_card_and_trains():
    cc = torch.cuda.get_device_capability()
    policy = train.amp_policy("cuda")
    assert policy.dtype == (torch.bfloat16 if cc >= (8, 0) else torch.float16)
    assert policy.needs_scaler == (cc < (8, 0))
    net = nn.Linear(8, 1).cuda()
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    amp = train.MixedPrecision("cuda")
    x, y = torch.randn(64, 8, device="cuda"), torch.randn(64, 1, device="cuda")
    first = None
    for _ in range(30):
        with amp.autocast():
            loss = nn.functional.mse_loss(net(x).float(), y)
        amp.step(loss, opt)
        first = float(loss) if first is None else first
    assert float(loss) < first


def test_colour_statistics_on_cuda_match_the_cpu():
    from coursekit.metrics import ssim
    from coursekit.models.style import match_color

    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    got = match_color(a.cuda(), b.cuda())
    assert got.is_cuda and torch.allclose(got.cpu(), match_color(a, b), atol=1e-5)
    assert torch.allclose(ssim(a.cuda(), b.cuda()).cpu(), ssim(a, b), atol=1e-6)
