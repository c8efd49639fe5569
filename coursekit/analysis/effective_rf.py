"""The effective receptive field: how strongly each input pixel moves one output unit.

Luo, Li, Urtasun & Zemel, "Understanding the Effective Receptive Field in Deep Convolutional
Neural Networks" (NeurIPS 2016): the gradient of one output unit with respect to the input,
|∂ y(position) / ∂ x|, summed over channels and averaged over random inputs. Its mass sits near
the centre of the theoretical field (:mod:`.receptive_field`) and grows like √depth, not depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .. import validate
from ._rf_tracer import outputs
from .complexity import _check_module, _EvalMode, example_input
from .receptive_field import _as_position

__all__ = ["EffectiveReceptiveField", "effective_receptive_field"]


@dataclass
class EffectiveReceptiveField:
    """|∂ y(position) / ∂ x| summed over channels and samples, scaled to max 1 (Luo et al. 2016)."""

    map: torch.Tensor  # (H, W) in [0, 1]
    position: tuple[int, ...]
    output_shape: tuple[int, ...]

    def support(self, threshold: float = 0.0) -> tuple[tuple[int, int], ...]:
        """Per axis ``(first, last)`` input index where the map exceeds ``threshold``."""
        nz = (self.map > threshold).nonzero()
        if nz.numel() == 0:
            return tuple((0, -1) for _ in range(self.map.dim()))
        return tuple((int(nz[:, a].min()), int(nz[:, a].max())) for a in range(self.map.dim()))

    def support_size(self, threshold: float = 0.0) -> tuple[int, ...]:
        return tuple(hi - lo + 1 for lo, hi in self.support(threshold))

    def radius(self, mass: float = 0.9) -> float:
        """Radius (px) around the centre of mass holding ``mass`` of the map (its "effective" size)."""
        m = self.map.double()
        grids = torch.meshgrid(*[torch.arange(s, dtype=torch.float64) for s in m.shape], indexing="ij")
        total = m.sum()
        centre = [float((g * m).sum() / total) for g in grids]
        r = torch.sqrt(sum((g - c) ** 2 for g, c in zip(grids, centre)))
        order = torch.argsort(r.flatten())
        cum = torch.cumsum(m.flatten()[order], 0) / total
        k = int(torch.searchsorted(cum, torch.tensor(mass, dtype=torch.float64)))
        return float(r.flatten()[order][min(k, r.numel() - 1)])


def effective_receptive_field(
    model: nn.Module,
    input_size: Any,
    position: tuple[int, ...] | None = None,
    *,
    layer: str | None = None,
    n_samples: int = 4,
    seed: int = 0,
    input: torch.Tensor | None = None,
) -> EffectiveReceptiveField:
    """Gradient of one output unit with respect to the input (Luo et al. 2016), as a map.

    ``position``: the output unit (one index per spatial axis; default: the centre).
    ``layer``: measure at the output of this submodule (e.g. ``"layer3"``) instead of the
    model's output (needed for classifiers, whose logits have no spatial axes).
    ``n_samples``: random inputs averaged (Luo et al. average over many); ``input``: use this
    image batch instead of noise. Weights are used as they are (random or trained); the model
    runs in eval mode, so batch norm uses its running statistics.
    """
    _check_module(model)
    if not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    x0 = example_input(model, input_size)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    if input is not None:
        validate.tensor(input, "input", ndim=x0.dim(), channels=x0.shape[1] if x0.dim() == 4 else None)
        x = input.detach().to(x0.device, x0.dtype).clone()
    else:
        x = torch.randn((n_samples, *x0.shape[1:]), generator=gen).to(x0.device, x0.dtype)
    x.requires_grad_(True)
    captured: dict[str, torch.Tensor] = {}
    handle = None
    if layer is not None:
        modules = dict(model.named_modules())
        if layer not in modules:
            near = [n for n in modules if n and n.split(".")[0] == layer.split(".")[0]][:5]
            raise ValueError(f"no submodule named {layer!r}; for example: {near or list(modules)[1:6]}")
        handle = modules[layer].register_forward_hook(lambda m, i, o: captured.__setitem__("y", o))
    try:
        with _EvalMode(model), torch.enable_grad():
            y = model(x)
            if layer is not None:
                y = captured["y"]
    finally:
        if handle is not None:
            handle.remove()
    y = outputs(y)[0]
    nd = x.dim() - 2
    if y.dim() != x.dim():
        raise ValueError(
            f"the output has shape {tuple(y.shape)}: no spatial axes to pick a unit from. Pass "
            "layer='<name of a convolutional stage>' (e.g. 'features' or 'layer4')"
        )
    out_sp = tuple(y.shape[2:])
    position = tuple(s // 2 for s in out_sp) if position is None else _as_position(position, nd)
    if any(not 0 <= p < s for p, s in zip(position, out_sp)):
        raise ValueError(f"position {position} lies outside the output of spatial size {out_sp}")
    grad_y = torch.zeros_like(y)
    grad_y[(slice(None), slice(None), *position)] = 1.0
    (g,) = torch.autograd.grad(y, x, grad_y)
    m = g.detach().abs().sum(dim=(0, 1)).float().cpu()
    m = m / m.max().clamp_min(1e-30)
    return EffectiveReceptiveField(m, position, tuple(y.shape))
