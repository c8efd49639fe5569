"""The hidden edits of notebook 4.4: random retouching parameters that degrade clean photos.

Notebook 4.4 trains with paired data, which Exposure (Hu et al., SIGGRAPH 2018) does not need
(it learns from unpaired photos with reinforcement learning and a GAN critic). The pairs are synthesised:
a clean photo, and the same photo under a random white balance, exposure and gamma. This module
samples those parameters; applying them is
:func:`coursekit.models.exposure.degrade` (the filters themselves), and its inverse
:func:`coursekit.models.exposure.inverse_parameters`.
"""

from __future__ import annotations

import math

import torch

__all__ = ["random_degradation"]


def random_degradation(
    n: int,
    generator: torch.Generator | None = None,
    *,
    ev: tuple[float, float] = (-1.5, 0.5),
    gamma_range: tuple[float, float] = (0.36, 2.8),
    wb: float = 0.35,
) -> dict[str, torch.Tensor]:
    """Random parameters of a hidden edit: white balance, then exposure, then gamma (``n`` sets).

    EV uniform in ``ev``, γ log-uniform in ``gamma_range``, white-balance log ratios uniform in
    [-wb, wb] — inside the filters' ranges, so that the inverse edit is reachable (1/2.8 ≥ 1/3).
    γ spans nearly the filter's whole range: γ multiplies the spread of the log intensities, and
    photo patches differ in that spread by themselves (a flat wall vs a window), so a mild γ
    would be hard to tell apart from the scene's own contrast.
    """
    u = lambda *shape: torch.rand(*shape, generator=generator)  # noqa: E731
    lg = (math.log(gamma_range[0]), math.log(gamma_range[1]))
    return {
        "white_balance": (u(n, 2) * 2 - 1) * wb,
        "exposure": ev[0] + (ev[1] - ev[0]) * u(n),
        "gamma": torch.exp(lg[0] + (lg[1] - lg[0]) * u(n)),
    }
