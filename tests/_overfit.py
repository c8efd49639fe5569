"""One helper for the "this network can fit one batch" tests, built on the course's training layer.

A network that cannot drive its loss down on a single small batch has a bug (a detached
branch, a wrong target scale, a dead activation), so many model tests train one for a few dozen
steps. They all go through :func:`coursekit.train.fit` here, so those tests exercise the training
loop the notebooks use too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from coursekit.train import fit


def overfit(
    model: nn.Module,
    batch: Any,
    loss_fn: Callable[[nn.Module, Any], torch.Tensor | dict[str, torch.Tensor]],
    steps: int = 40,
    lr: float = 3e-3,
    window: int = 1,
    optimizer: torch.optim.Optimizer | None = None,
) -> tuple[float, float]:
    """Train ``model`` on the one ``batch`` for ``steps`` Adam steps; return ``(first_loss, last_loss)``.

    ``loss_fn(model, batch)`` is the loss (or a dict with a ``"loss"`` entry), as for ``fit``.
    ``window`` averages the first and the last ``window`` losses (for losses that resample inside,
    e.g. random pairs per step). Runs on the CPU in float32 and by steps alone: the smoke profile's
    step cap applies only to loops bounded by the clock, so every step runs. ``optimizer`` replaces
    the default ``Adam(lr=lr)`` (e.g. ProGAN's betas).
    """
    if steps < 2 * window:
        raise ValueError(f"steps must be at least 2·window = {2 * window}, got {steps}; train longer")
    history = fit(model, [batch], loss_fn, optimizer=optimizer, lr=lr, max_steps=steps, max_seconds=math.inf, device="cpu",
                  amp=False, progress=False, desc="overfit")
    losses = history["loss"]
    if len(losses) != steps:
        raise RuntimeError(f"fit ran {len(losses)} steps, not {steps}: is a step cap set (COURSEKIT_STEP_CAP)?")
    return sum(losses[:window]) / window, sum(losses[-window:]) / window
