"""Small, readable training utilities shared by the notebooks.

* :func:`fit` trains a model on batches with a loss function: progress bar, wall-clock budget,
  mixed precision chosen by :func:`amp_policy` (bf16 on Ampere and newer, fp16 with a
  GradScaler on older CUDA cards such as Colab's T4, float32 elsewhere), a :class:`History`
  for plotting, optional checkpoint + resume.
* :func:`loop` runs any step function (for custom loops such as GANs) with the same progress
  bar, budget and history, so every notebook keeps its time on any hardware.
* :func:`save_checkpoint` / :func:`load_checkpoint` write atomically (temp file, then rename)
  and load with ``weights_only=True``; a corrupt or mismatched file is a clear error naming it,
  never a silent retrain over it.

The loop knows nothing about the model (minGPT's ``trainer.py`` is the model to follow).
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from .runtime import active_profile
from .runtime import device as default_device

__all__ = [
    "AmpPolicy",
    "Budget",
    "CheckpointError",
    "History",
    "MixedPrecision",
    "amp_policy",
    "autocast",
    "fit",
    "load_checkpoint",
    "loop",
    "save_checkpoint",
    "to_device",
]


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used (corrupt, or saved from a different model)."""


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


class AmpPolicy(NamedTuple):
    """How one device trains in mixed precision: ``dtype`` None means full float32."""

    dtype: torch.dtype | None
    needs_scaler: bool
    reason: str


def amp_policy(dev: torch.device | str, enabled: bool = True) -> AmpPolicy:
    """The mixed precision a device gets, from its compute capability.

    * CUDA with compute capability >= 8.0 (Ampere, Ada, Hopper: A100, RTX 30xx/40xx, L4, H100):
      **bf16**, no loss scaling (bf16 has float32's exponent range).
    * CUDA below 8.0 (Colab's T4 is 7.5, V100 7.0): **fp16 with a GradScaler**. PyTorch reports
      bf16 as "supported" there too, but emulates it: convolutions run slowly or fail.
    * CPU and Apple MPS: float32 (CPU autocast gains little on these convolutions; MPS autocast
      is new and partial in the torch versions the course supports).
    """
    dev = torch.device(dev)
    if not enabled or dev.type != "cuda":
        return AmpPolicy(None, False, f"float32 on {dev.type}")
    major, minor = torch.cuda.get_device_capability(dev)
    if (major, minor) >= (8, 0):
        return AmpPolicy(torch.bfloat16, False, f"bf16 (compute capability {major}.{minor} >= 8.0)")
    return AmpPolicy(torch.float16, True, f"fp16 + GradScaler (compute capability {major}.{minor} < 8.0)")


def autocast(dev: torch.device, enabled: bool = True) -> contextlib.AbstractContextManager:
    """Mixed precision as :func:`amp_policy` chooses for ``dev``; a no-op where it chooses float32.

    For a forward pass only (evaluation). A training step needs :class:`MixedPrecision`, whose
    ``step`` adds the GradScaler that fp16 needs.
    """
    return MixedPrecision(dev, enabled).autocast()


class MixedPrecision:
    """The one mixed-precision helper every training loop uses (``fit``, the GAN loops, the notebooks).

    ``amp = MixedPrecision(dev)``; forward passes run ``with amp.autocast():``; each optimiser step is
    ``amp.step(loss, optimizer)`` (zero the gradients, backward, step). Under fp16 (CUDA below
    compute capability 8.0) a GradScaler scales the loss so small gradients do not underflow, and
    skips a step whose gradients overflowed; under bf16 or float32 the step is a plain one.
    """

    def __init__(self, dev: torch.device | str, enabled: bool = True) -> None:
        self.device = torch.device(dev)
        self.policy = amp_policy(self.device, enabled)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.policy.needs_scaler)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.policy.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.policy.dtype)

    def step(
        self,
        loss: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        *,
        grad_clip: float | None = None,
        zero_grad: bool = True,
    ) -> None:
        """Backward ``loss`` and step ``optimizer`` (gradients clipped to ``grad_clip`` if given)."""
        if zero_grad:
            optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if grad_clip is not None:
            self.scaler.unscale_(optimizer)
            params = [p for group in optimizer.param_groups for p in group["params"]]
            nn.utils.clip_grad_norm_(params, grad_clip)
        self.scaler.step(optimizer)
        self.scaler.update()

    def __repr__(self) -> str:
        return f"MixedPrecision({self.device}: {self.policy.reason})"


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
    checkpoint: str | os.PathLike | None = None,
    desc: str = "train",
    progress: bool = True,
) -> History:
    """Train ``model`` with ``loss_fn(model, batch)`` on ``data`` (an iterable of batches).

    ``loss_fn`` returns the loss tensor, or a dict whose ``"loss"`` entry is minimised and whose
    other entries are logged. The model and each batch are moved to ``device`` (default: the best
    available). With ``checkpoint=path``, training resumes from that file when it exists and the
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
        return {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in losses.items()}

    loop(step_fn, data, max_steps=max_steps, max_seconds=max_seconds, epochs=epochs, desc=desc,
         progress=progress, history=history, start_step=start_step)
    model.eval()
    if checkpoint is not None:
        last = max((s[-1] for s in history.steps.values() if s), default=start_step - 1) + 1
        save_checkpoint(checkpoint, model=model, optimizer=optimizer, step=last, history=history.state_dict())
    return history


def save_checkpoint(path: str | os.PathLike, **objects: Any) -> Path:
    """Save modules/optimisers (their ``state_dict``) and plain values to ``path`` atomically.

    The file is written to a temporary name in the same folder and renamed over ``path`` only
    once complete, so an interrupted save never destroys the previous checkpoint.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.state_dict() if hasattr(v, "state_dict") else v) for k, v in objects.items()}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu", **objects: Any) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Each keyword names an object to restore in place: ``load_checkpoint(p, model=net)``. Returns
    the whole state dict. Errors name the file and say what to do; nothing is overwritten.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(e).__name__}: {str(e)[:200]}). It is corrupt or "
            "not a coursekit checkpoint. Move it aside (it is left untouched) and train again, or "
            "restore it from a backup."
        ) from e
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, not a dict of states")
    for key, obj in objects.items():
        if key not in state:
            raise CheckpointError(f"checkpoint {path} has no entry {key!r} (entries: {sorted(state)})")
        try:
            obj.load_state_dict(state[key])
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(
                f"checkpoint {path} does not fit this {type(obj).__name__} ({str(e).splitlines()[0][:300]}). "
                "It was probably saved from a different configuration: build the model with the same "
                "arguments, or move the file aside to train afresh (it is left untouched)."
            ) from e
    return state
