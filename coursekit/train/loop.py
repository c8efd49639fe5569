"""The training loop: :func:`loop` runs any step function, :func:`fit` trains a model with a loss.

* :func:`fit` trains a model on batches with a loss function: progress bar, wall-clock budget,
  mixed precision (:class:`~coursekit.train.precision.MixedPrecision`), an optional learning-rate
  scheduler, a :class:`History` for plotting, optional checkpoint + resume.
* :func:`loop` runs any step function (a GAN's alternating step, an optimiser over image pixels)
  with the same progress bar, budget and history, so every notebook keeps its time on any hardware.
* :class:`Budget` is a schedule's clock (learning-rate decay, ProGAN's growth).

The loop knows nothing about the model (minGPT's ``trainer.py`` is the model to follow).
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..runtime import active_profile
from ..runtime import device as default_device
from .checkpoint import load_checkpoint, save_checkpoint
from .precision import MixedPrecision

__all__ = ["Budget", "History", "fit", "loop", "to_device", "warmup_cosine"]


class History:
    """Per-step metrics: ``history["loss"]`` is a list of floats; ``history.steps`` their steps."""

    def __init__(self) -> None:
        self.metrics: dict[str, list[float]] = defaultdict(list)
        self.steps: dict[str, list[int]] = defaultdict(list)
        self.seconds: float = 0.0
        self.stopped_by: str = ""

    def log(self, step: int, **values: float) -> None:
        for k, v in values.items():
            self.metrics[k].append(float(v))
            self.steps[k].append(step)

    def __getitem__(self, key: str) -> list[float]:
        return self.metrics[key]

    def __contains__(self, key: str) -> bool:
        return key in self.metrics

    def last(self, key: str, n: int = 1) -> float:
        """Mean of the last ``n`` values of ``key``."""
        values = self.metrics[key][-n:]
        if not values:
            raise KeyError(f"no values logged for {key!r}; logged: {sorted(self.metrics)}")
        return sum(values) / len(values)

    def state_dict(self) -> dict[str, Any]:
        return {"metrics": dict(self.metrics), "steps": dict(self.steps), "seconds": self.seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.metrics = defaultdict(list, {k: list(v) for k, v in state["metrics"].items()})
        self.steps = defaultdict(list, {k: list(v) for k, v in state["steps"].items()})
        self.seconds = float(state.get("seconds", 0.0))

    def plot(self, *keys: str, ax: Any = None, smooth: int = 1, logy: bool = False) -> Any:
        """Plot the named metrics (all of them if none are named) against the step."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3))
        for k in keys or sorted(self.metrics):
            v = torch.tensor(self.metrics[k])
            if smooth > 1 and len(v) >= smooth:
                v = torch.nn.functional.avg_pool1d(v[None, None], smooth, 1)[0, 0]
            ax.plot(self.steps[k][: len(v)], v.tolist(), label=k)
        ax.set_xlabel("step")
        if logy:
            ax.set_yscale("log")
        ax.legend()
        return ax

    def __repr__(self) -> str:
        summary = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.metrics.items() if v)
        return f"History({len(next(iter(self.metrics.values()), []))} steps, {self.seconds:.1f}s, {summary})"


def to_device(batch: Any, dev: torch.device, channels_last: bool = False) -> Any:
    """Move a tensor, or tuples/lists/dicts of tensors, to ``dev``."""
    if isinstance(batch, torch.Tensor):
        batch = batch.to(dev, non_blocking=True)
        if channels_last and batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, dev, channels_last) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, dev, channels_last) for k, v in batch.items()}
    return batch


def _progress(total: int | None, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)


def _batches(data: Iterable[Any], epochs: int | None) -> Iterator[tuple[int, Any]]:
    epoch = 0
    while epochs is None or epoch < epochs:
        n = 0
        for batch in data:
            n += 1
            yield epoch, batch
        if n == 0:
            raise ValueError("the data yielded no batches; is the dataset empty or batch_size too large?")
        epoch += 1


class Budget:
    """How much of a training budget is spent: a schedule's clock (learning-rate decay, ProGAN's growth).

    ``Budget(max_steps=700, max_seconds=220).fraction(step)`` is the larger of ``step / max_steps``
    and the elapsed share of ``max_seconds``, at most 1. Under a profile with a ``step_cap`` (smoke)
    a clock budget becomes that many steps, exactly as in :func:`loop`, so a schedule repeats run
    after run.
    """

    def __init__(self, max_steps: int | None = None, max_seconds: float | None = None) -> None:
        prof = active_profile()
        cap = prof.step_cap
        if cap is not None and (prof.cap_every_loop or (max_seconds is not None and math.isfinite(max_seconds))):
            max_steps, max_seconds = (cap if max_steps is None else min(max_steps, cap)), None
        if not max_steps and not max_seconds:
            raise ValueError("give max_steps or max_seconds (or both) for the budget")
        self.max_steps, self.max_seconds = max_steps, max_seconds
        self.t0 = time.perf_counter()

    def fraction(self, step: int) -> float:
        parts = []
        if self.max_steps:
            parts.append(step / self.max_steps)
        if self.max_seconds and math.isfinite(self.max_seconds):
            parts.append((time.perf_counter() - self.t0) / self.max_seconds)
        return min(1.0, max(parts, default=0.0))


def loop(
    step_fn: Callable[[int, Any], dict[str, float] | float | None],
    data: Iterable[Any] | None = None,
    *,
    max_steps: int | None = None,
    max_seconds: float | None = None,
    epochs: int | None = None,
    desc: str = "train",
    progress: bool = True,
    history: History | None = None,
    log_every: int = 1,
    start_step: int = 0,
) -> History:
    """Call ``step_fn(step, batch)`` until ``max_steps``, ``epochs`` or ``max_seconds`` runs out.

    ``step_fn`` returns a dict of floats (logged into the history), a float (logged as ``loss``)
    or None. Without ``data`` the batch passed is ``None`` (e.g. a GAN step that samples noise).
    ``max_seconds`` defaults to the active profile's ``train_seconds``; pass ``math.inf`` to
    train only by steps or epochs. Under a profile with a ``step_cap`` (smoke) a run bounded by the
    clock runs at most that many steps instead and never looks at the clock, so its result does not
    depend on how busy the machine is; a run bounded by steps alone keeps its ``max_steps``.
    """
    prof = active_profile()
    if prof.step_cap is not None and (prof.cap_every_loop or max_seconds is None or math.isfinite(max_seconds)):
        # smoke (and dry runs): a run bounded by the clock gets a fixed number of steps instead;
        # a run the caller bounded by steps alone (max_seconds=math.inf) keeps its steps
        cap = start_step + prof.step_cap
        max_steps = cap if max_steps is None else min(max_steps, cap)
        max_seconds = math.inf
    if max_seconds is None:
        max_seconds = prof.train_seconds
    if max_steps is None and epochs is None and not math.isfinite(max_seconds):
        raise ValueError("give at least one of max_steps, epochs or a finite max_seconds")
    history = history if history is not None else History()
    batches = _batches(data, epochs) if data is not None else ((0, None) for _ in iter(int, 1))
    total = None if max_steps is None else max_steps - start_step
    t0 = time.perf_counter()
    step = start_step
    history.stopped_by = "data"
    with _progress(total, desc, progress) as bar:
        for _, batch in batches:
            if max_steps is not None and step >= max_steps:
                history.stopped_by = "max_steps"
                break
            if time.perf_counter() - t0 >= max_seconds:
                history.stopped_by = "max_seconds"
                break
            out = step_fn(step, batch)
            if isinstance(out, (int, float)):
                out = {"loss": float(out)}
            if out and step % log_every == 0:
                history.log(step, **out)
                bar.set_postfix({k: f"{v:.4g}" for k, v in list(out.items())[:4]}, refresh=False)
            for v in (out or {}).values():
                if not math.isfinite(v):
                    raise FloatingPointError(
                        f"a metric became {v} at step {step}: lower the learning rate or check the inputs"
                    )
            step += 1
            bar.update(1)
        else:
            history.stopped_by = "epochs" if epochs is not None else "data"
    history.seconds += time.perf_counter() - t0
    return history


def fit(
    model: nn.Module,
    data: Iterable[Any],
    loss_fn: Callable[[nn.Module, Any], torch.Tensor | dict[str, torch.Tensor]],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    max_steps: int | None = None,
    epochs: int | None = None,
    max_seconds: float | None = None,
    device: torch.device | str | None = None,
    amp: bool = True,
    channels_last: bool = False,
    grad_clip: float | None = None,
    scheduler: Any = None,
    checkpoint: str | os.PathLike | None = None,
    desc: str = "train",
    progress: bool = True,
) -> History:
    """Train ``model`` with ``loss_fn(model, batch)`` on ``data`` (an iterable of batches).

    ``loss_fn`` returns the loss tensor, or a dict whose ``"loss"`` entry is minimised and whose
    other entries are logged. The model and each batch are moved to ``device`` (default: the best
    available). ``scheduler`` (a ``torch.optim.lr_scheduler``) steps after every optimiser step.
    With ``checkpoint=path``, training resumes from that file when it exists and the
    model, optimiser, step and history are saved there at the end.
    """
    dev = torch.device(device) if device is not None else default_device()
    model.to(dev)
    if channels_last and dev.type == "cuda":
        model.to(memory_format=torch.channels_last)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    mp = MixedPrecision(dev, amp)
    history = History()
    start_step = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, model=model, optimizer=optimizer)
        history.load_state_dict(state["history"])
        start_step = int(state["step"])
        print(f"resumed from {checkpoint} at step {start_step}")

    def step_fn(step: int, batch: Any) -> dict[str, float]:
        model.train()
        batch = to_device(batch, dev, channels_last and dev.type == "cuda")
        with mp.autocast():
            out = loss_fn(model, batch)
        losses = out if isinstance(out, dict) else {"loss": out}
        if "loss" not in losses:
            raise KeyError(f"loss_fn returned a dict without a 'loss' entry (keys: {sorted(losses)})")
        mp.step(losses["loss"], optimizer, grad_clip=grad_clip)
        if scheduler is not None:
            scheduler.step()
        return {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in losses.items()}

    loop(step_fn, data, max_steps=max_steps, max_seconds=max_seconds, epochs=epochs, desc=desc,
         progress=progress, history=history, start_step=start_step)
    model.eval()
    if checkpoint is not None:
        last = max((s[-1] for s in history.steps.values() if s), default=start_step - 1) + 1
        save_checkpoint(checkpoint, model=model, optimizer=optimizer, step=last, history=history.state_dict())
    return history


def warmup_cosine(step: int, steps: int, warmup: int, floor: float = 0.02) -> float:
    """A learning-rate factor for ``torch.optim.lr_scheduler.LambdaLR``: linear warm-up over
    ``warmup`` steps, then cosine decay over the remaining ``steps − warmup`` to ``floor`` of the
    peak (held there after ``steps``)."""
    if step < warmup:
        return (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
