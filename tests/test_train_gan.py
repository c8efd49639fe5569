"""The shared GAN loop (coursekit.train.fit_gan): order, detaching, budget, mixed precision."""

import math

import pytest
import torch
from torch import nn

from coursekit import runtime, train
from coursekit.train import precision

_REAL_STEP = precision.MixedPrecision.step


class _G(nn.Module):
    nz = 3

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)

    def forward(self, z):
        return self.fc(z)  # (B, 4): "images" of 4 pixels


class _Step:
    """A least-squares GAN step that records what the loop hands it."""

    def __init__(self, log):
        self.log = log

    def sample(self, generator, real):
        self.log.append("sample")
        return generator(torch.randn(real.shape[0], generator.nz))

    def d_loss(self, discriminator, real, fake):
        self.log.append(("d", fake.requires_grad))
        return ((discriminator(real) - 1) ** 2).mean() + (discriminator(fake) ** 2).mean()

    def g_loss(self, discriminator, real, fake):
        self.log.append(("g", fake.requires_grad))
        return ((discriminator(fake) - 1) ** 2).mean()


def _run(monkeypatch, max_steps=3, **kwargs):
    g, d = _G(), nn.Linear(4, 1)
    opt_g, opt_d = torch.optim.SGD(g.parameters(), lr=0.1), torch.optim.SGD(d.parameters(), lr=0.1)
    names = {id(opt_g): "G", id(opt_d): "D"}
    stepped, g_grads_after_d = [], []

    def grads():
        return [None if p.grad is None else p.grad.clone() for p in g.parameters()]

    def spy(self, loss, optimizer, **kw):
        before = grads()
        _REAL_STEP(self, loss, optimizer, **kw)
        stepped.append(names[id(optimizer)])
        if names[id(optimizer)] == "D":  # D's update must leave G's gradients as they were
            g_grads_after_d.append(all(
                (a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))
                for a, b in zip(before, grads())
            ))

    monkeypatch.setattr(precision.MixedPrecision, "step", spy)
    log = []
    data = train.random_batches(torch.randn(16, 4), 4, device="cpu")
    h = train.fit_gan(g, d, data, step=_Step(log), optimizers=(opt_g, opt_d), max_steps=max_steps,
                      device="cpu", progress=False, **kwargs)
    return h, stepped, g_grads_after_d, log, (g, d)


def test_alternates_one_d_update_then_one_g_update(monkeypatch):
    h, stepped, _, log, (g, d) = _run(monkeypatch, max_steps=3)
    assert stepped == ["D", "G"] * 3
    assert log == ["sample", ("d", False), ("g", True)] * 3
    assert len(h["d_loss"]) == len(h["g_loss"]) == 3
    assert not g.training and not d.training  # left in eval mode


def test_the_discriminator_sees_detached_fakes(monkeypatch):
    _, _, g_grads_after_d, _, _ = _run(monkeypatch, max_steps=2)
    assert g_grads_after_d == [True, True]


def test_every_update_goes_through_mixed_precision(monkeypatch):
    made = []
    real_init = precision.MixedPrecision.__init__

    def spy_init(self, dev, enabled=True):
        made.append(enabled)
        real_init(self, dev, enabled)

    monkeypatch.setattr(precision.MixedPrecision, "__init__", spy_init)
    _, stepped, _, _, _ = _run(monkeypatch, max_steps=2, amp=False)
    assert made == [False] and stepped == ["D", "G", "D", "G"]


def test_respects_the_step_cap_and_the_budget(monkeypatch):
    monkeypatch.setattr(runtime, "_active", runtime.start("smoke", quiet=True))
    cap = runtime.active_profile().step_cap
    h, *_ = _run(monkeypatch, max_steps=None, max_seconds=60)  # a clock budget becomes the smoke cap
    assert len(h["d_loss"]) == cap and h.stopped_by == "max_steps"
    h, *_ = _run(monkeypatch, max_steps=cap + 2)  # bounded by steps alone: the caller's steps
    assert len(h["d_loss"]) == cap + 2
    monkeypatch.setattr(runtime, "_active", runtime.start("cpu", quiet=True))
    h, *_ = _run(monkeypatch, max_steps=None, max_seconds=0.05)
    assert h.stopped_by == "max_seconds" and h.seconds >= 0.05


def test_random_batches_leave_the_global_stream_alone():
    torch.manual_seed(1)
    a = torch.rand(1)
    torch.manual_seed(1)
    batches = train.random_batches(torch.arange(10.0)[:, None], 3, seed=5)
    first, second = next(batches), next(batches)
    assert torch.equal(torch.rand(1), a)
    assert first.shape == (3, 1) and not torch.equal(first, second)
    again = train.random_batches(torch.arange(10.0)[:, None], 3, seed=5)
    assert torch.equal(next(again), first)


def test_loop_drives_an_optimiser_over_a_tensor():
    """No module needed: loop runs an optimiser over image pixels (how style transfer uses it)."""
    target = torch.rand(1, 3, 4, 4)
    x = torch.zeros_like(target, requires_grad=True)
    opt = torch.optim.Adam([x], lr=0.1)

    def step(_, __):
        loss = ((x - target) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    h = train.loop(step, max_steps=200, max_seconds=math.inf, progress=False)
    assert h["loss"][-1] < 1e-3 * h["loss"][0]
    lbfgs = torch.optim.LBFGS([x], max_iter=5)

    def closure():
        lbfgs.zero_grad()
        loss = ((x - target) ** 2).sum()
        loss.backward()
        return loss

    h = train.loop(lambda s, b: float(lbfgs.step(closure).detach()), max_steps=3, max_seconds=math.inf, progress=False)
    assert len(h["loss"]) == 3
    assert pytest.approx(0, abs=1e-6) == float(((x - target) ** 2).sum())
