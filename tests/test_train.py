import math
import os

import pytest
import torch
from torch import nn

from coursekit import train


def _data(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    return [(x[i: i + 16], y[i: i + 16]) for i in range(0, n, 16)]


def _mse(model, batch):
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def test_fit_overfits_a_tiny_regression():
    model = nn.Linear(3, 1)
    h = train.fit(model, _data(), _mse, lr=0.05, epochs=60, max_seconds=math.inf, progress=False)
    assert h["loss"][-1] < 0.01 * h["loss"][0]
    assert h.stopped_by == "epochs"
    assert not model.training  # left in eval mode


def test_fit_logs_extra_metrics_and_checks_the_dict():
    def loss_fn(model, batch):
        loss = _mse(model, batch)
        return {"loss": loss, "half": loss / 2}

    h = train.fit(nn.Linear(3, 1), _data(), loss_fn, max_steps=5, max_seconds=math.inf, progress=False)
    assert len(h["half"]) == 5 and h.last("half") == pytest.approx(h.last("loss") / 2)
    with pytest.raises(KeyError, match="'loss' entry"):
        train.fit(nn.Linear(3, 1), _data(), lambda m, b: {"l": _mse(m, b)}, max_steps=1, progress=False)


@pytest.fixture
def in_profile(monkeypatch):
    """Run a test in a named profile; the active profile is restored afterwards."""
    from coursekit import runtime

    def use(name, **overrides):
        monkeypatch.setattr(runtime, "_active", runtime.start(name, quiet=True, **overrides))

    monkeypatch.setattr(runtime, "_active", runtime._active)
    return use


def test_loop_stops_at_steps_and_at_the_wall_clock(in_profile):
    in_profile("cpu")
    h = train.loop(lambda step, batch: {"x": step}, max_steps=7, max_seconds=math.inf, progress=False)
    assert h["x"] == [0, 1, 2, 3, 4, 5, 6] and h.stopped_by == "max_steps"
    h = train.loop(lambda step, batch: None, max_seconds=0.05, progress=False)
    assert h.stopped_by == "max_seconds" and h.seconds >= 0.05
    with pytest.raises(ValueError, match="at least one"):
        train.loop(lambda s, b: None, max_seconds=math.inf, progress=False)


def test_loop_default_budget_comes_from_the_profile(in_profile):

    in_profile("cpu", train_seconds=0.2)
    h = train.loop(lambda step, batch: None, progress=False)
    assert h.stopped_by == "max_seconds" and 0.2 <= h.seconds < 1.2


def test_smoke_bounds_clock_budgets_by_steps_not_seconds(in_profile, monkeypatch):
    import time

    in_profile("smoke")
    from coursekit.runtime import active_profile

    cap = active_profile().step_cap
    assert cap is not None
    slow = lambda step, batch: time.sleep(0.01)  # a busy machine: the clock budget would end early
    for kwargs in ({}, {"max_seconds": 0.001}, {"max_seconds": 60, "max_steps": 1000}):
        h = train.loop(lambda s, b: {"s": s} if slow(s, b) is None else None, progress=False, **kwargs)
        assert h["s"] == list(range(cap)) and h.stopped_by == "max_steps", kwargs
    # bounded by steps alone: the caller's steps are kept
    h = train.loop(lambda s, b: {"s": s}, max_steps=cap + 5, max_seconds=math.inf, progress=False)
    assert len(h["s"]) == cap + 5
    # the same clock for schedules
    budget = train.Budget(max_steps=1000, max_seconds=60)
    assert budget.fraction(0) == 0 and budget.fraction(cap // 2) == (cap // 2) / cap and budget.fraction(cap) == 1
    monkeypatch.setenv("COURSEKIT_STEP_CAP", "3")
    in_profile("gpu")
    assert train.loop(lambda s, b: {"s": s}, progress=False)["s"] == [0, 1, 2]
    # a dry run caps every loop, also one bounded by steps alone
    assert train.loop(lambda s, b: {"s": s}, max_steps=50, max_seconds=math.inf, progress=False)["s"] == [0, 1, 2]
    monkeypatch.setenv("COURSEKIT_STEP_CAP", "two")
    with pytest.raises(ValueError, match="COURSEKIT_STEP_CAP"):
        in_profile("gpu")


def test_budget_without_a_cap_follows_steps_and_clock(in_profile):
    in_profile("cpu")
    b = train.Budget(max_steps=10, max_seconds=1e6)
    assert b.fraction(5) == 0.5 and b.fraction(20) == 1.0
    with pytest.raises(ValueError, match="max_steps or max_seconds"):
        train.Budget()


def test_loop_reports_nan():
    with pytest.raises(FloatingPointError, match="step 2"):
        train.loop(lambda step, b: {"loss": float("nan") if step == 2 else 1.0}, max_steps=5, progress=False)


def test_empty_data_is_a_clear_error():
    with pytest.raises(ValueError, match="no batches"):
        train.fit(nn.Linear(3, 1), [], _mse, epochs=1, progress=False)


def test_checkpoint_round_trip_and_resume(tmp_path):
    path = tmp_path / "run" / "model.pt"
    model = nn.Linear(3, 1)
    train.fit(model, _data(), _mse, max_steps=4, max_seconds=math.inf, checkpoint=path, progress=False)
    assert path.exists() and not list(path.parent.glob("*.tmp"))
    fresh = nn.Linear(3, 1)
    state = train.load_checkpoint(path, model=fresh)
    assert state["step"] == 4
    assert torch.equal(fresh.weight, model.weight)
    # resume continues the step count and the history
    h = train.fit(fresh, _data(), _mse, max_steps=6, max_seconds=math.inf, checkpoint=path, progress=False)
    assert h.steps["loss"] == [0, 1, 2, 3, 4, 5]
    assert train.load_checkpoint(path)["step"] == 6


def test_corrupt_checkpoint_is_a_clear_error_and_is_kept(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(train.CheckpointError, match=r"model\.pt.*corrupt.*left untouched"):
        train.fit(nn.Linear(3, 1), _data(), _mse, max_steps=2, checkpoint=path, progress=False)
    assert path.read_bytes() == b"not a checkpoint"  # never silently overwritten


def test_mismatched_checkpoint_names_the_file(tmp_path):
    path = train.save_checkpoint(tmp_path / "m.pt", model=nn.Linear(3, 1))
    with pytest.raises(train.CheckpointError, match=r"m\.pt does not fit this Linear.*same arguments"):
        train.load_checkpoint(path, model=nn.Linear(4, 1))
    with pytest.raises(train.CheckpointError, match="no entry 'optimizer'"):
        train.load_checkpoint(path, optimizer=torch.optim.SGD(nn.Linear(3, 1).parameters(), lr=1))
    with pytest.raises(FileNotFoundError):
        train.load_checkpoint(tmp_path / "missing.pt")


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = train.save_checkpoint(tmp_path / "m.pt", value=1)

    def broken_save(obj, f):
        f.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        train.save_checkpoint(path, value=2)
    monkeypatch.undo()
    assert train.load_checkpoint(path)["value"] == 1
    assert os.listdir(tmp_path) == ["m.pt"]


def test_to_device_handles_nested_batches():
    batch = {"x": torch.zeros(2, 3, 4, 4), "pair": (torch.ones(1), 5)}
    out = train.to_device(batch, torch.device("cpu"), channels_last=True)
    assert out["x"].is_contiguous(memory_format=torch.channels_last)
    assert out["pair"][1] == 5


def test_history_plot_and_state(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    h = train.History()
    for i in range(10):
        h.log(i, loss=10 - i, acc=i / 10)
    ax = h.plot("loss", smooth=3)
    assert len(ax.lines) == 1
    h2 = train.History()
    h2.load_state_dict(h.state_dict())
    assert h2["acc"] == h["acc"] and "loss" in repr(h2)
    with pytest.raises(KeyError, match="logged"):
        h.last("nope")


def test_warmup_cosine_warms_up_linearly_then_decays_to_its_floor():
    from coursekit.train import warmup_cosine

    assert warmup_cosine(0, 100, 10) == 0.1 and warmup_cosine(9, 100, 10) == 1.0
    assert warmup_cosine(10, 100, 10) == 1.0  # the peak, where the cosine starts
    assert abs(warmup_cosine(55, 100, 10) - (0.02 + 0.98 * 0.5)) < 1e-12  # half-way down
    assert abs(warmup_cosine(100, 100, 10) - 0.02) < 1e-12 and abs(warmup_cosine(500, 100, 10) - 0.02) < 1e-12
