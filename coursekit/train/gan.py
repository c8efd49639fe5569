"""The shared GAN loop: alternate one discriminator update and one generator update.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Algorithm 1 (with k = 1
discriminator step per generator step, as DCGAN and SAGAN train): each step

1. draws a real batch and generates fakes ``G(z)``;
2. updates D on the real batch against the fakes **detached** from G (D's loss must not train G);
3. updates G so that D, just updated, judges the same fakes real.

The model module defines the single step (what a fake is and the two losses, e.g.
:func:`coursekit.models.dcgan.adversarial_step`); this loop owns the order, mixed precision
(:class:`~coursekit.train.precision.MixedPrecision`), the budget and the history. DCGAN and SAGAN
(4.3) train through it, so their comparison is at an equal wall-clock budget.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import torch
from torch import nn

from ..runtime import device as default_device
from .loop import History, loop
from .precision import MixedPrecision

__all__ = ["AdversarialStep", "fit_gan", "random_batches"]


class AdversarialStep(Protocol):
    """What a model module defines for :func:`fit_gan`: fakes and the two losses of one step."""

    def sample(self, generator: nn.Module, batch: Any) -> torch.Tensor:
        """Fakes for one real ``batch`` (e.g. ``G(z)`` with as many z as real images)."""

    def d_loss(self, discriminator: nn.Module, batch: Any, fake: torch.Tensor) -> torch.Tensor:
        """D's loss on the real ``batch`` against ``fake`` (already detached by the loop)."""

    def g_loss(self, discriminator: nn.Module, batch: Any, fake: torch.Tensor) -> torch.Tensor:
        """G's loss: D (just updated) judging ``fake`` (attached to G's graph)."""


def random_batches(
    images: torch.Tensor, batch_size: int, *, seed: int = 0, device: torch.device | str | None = None
) -> Iterator[torch.Tensor]:
    """Endless batches (batch_size, ...) of ``images`` drawn with replacement by a seeded generator.

    The indices come from their own ``torch.Generator``, so the global random stream (which draws
    the GAN's z) is the same whatever the data.
    """
    dev = torch.device(device) if device is not None else images.device
    gen = torch.Generator().manual_seed(seed)
    while True:
        idx = torch.randint(len(images), (batch_size,), generator=gen).to(dev)
        yield images[idx]


def fit_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    data: Iterable[Any],
    *,
    step: AdversarialStep,
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    max_steps: int | None = None,
    max_seconds: float | None = None,
    device: torch.device | str | None = None,
    amp: bool = True,
    desc: str = "GAN",
    progress: bool = True,
    history: History | None = None,
) -> History:
    """Alternate one D update and one G update per batch of ``data`` until the budget ends.

    ``optimizers`` is ``(opt_g, opt_d)``. ``max_steps`` alone trains by steps (no clock);
    ``max_seconds`` alone by the clock (the profile's ``train_seconds`` if neither is given); under
    the smoke profile a clock budget becomes a fixed number of steps (see :func:`loop`). Batches
    are used as they come (already on ``device``: :func:`random_batches` puts them there).
    Returns a :class:`History` with ``d_loss`` and ``g_loss``; both networks end in eval mode.
    """
    dev = torch.device(device) if device is not None else default_device()
    generator.to(dev).train()
    discriminator.to(dev).train()
    opt_g, opt_d = optimizers
    mp = MixedPrecision(dev, amp)  # bf16 on Ampere+, fp16 with loss scaling on a T4, float32 elsewhere

    def step_fn(_: int, batch: Any) -> dict[str, float]:
        with mp.autocast():
            fake = step.sample(generator, batch)
            loss_d = step.d_loss(discriminator, batch, fake.detach())  # no gradient reaches G
        mp.step(loss_d, opt_d)
        with mp.autocast():
            loss_g = step.g_loss(discriminator, batch, fake)
        mp.step(loss_g, opt_g)
        return {"d_loss": float(loss_d.detach()), "g_loss": float(loss_g.detach())}

    if max_seconds is None and max_steps is not None:
        max_seconds = math.inf  # bounded by steps alone
    history = loop(step_fn, data, max_steps=max_steps, max_seconds=max_seconds, desc=desc,
                   progress=progress, history=history)
    generator.eval()
    discriminator.eval()
    return history
