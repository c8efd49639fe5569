"""Mixed precision chosen by the card: bf16 on Ampere and newer, fp16 with a GradScaler on older
CUDA cards (Colab's T4), float32 elsewhere.

Micikevicius et al., "Mixed Precision Training", ICLR 2018 (loss scaling for fp16); PyTorch's
``torch.amp`` recipe. Every training step in the course goes through :class:`MixedPrecision`.
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import torch
from torch import nn

__all__ = ["AmpPolicy", "MixedPrecision", "amp_policy", "autocast"]


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
