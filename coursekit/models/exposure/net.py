"""Exposure's network: look at a low-resolution copy, predict filter parameters, edit at full size.

Hu, He, Xu, Wang, Lin, "Exposure: A White-Box Photo Post-Processing Framework", ACM Transactions
on Graphics (SIGGRAPH) 2018 (authors' code: github.com/yuanming-hu/exposure). Instead of
predicting pixels, the network regresses a handful of numbers, the parameters of the
differentiable filters in :mod:`.filters`, which are then applied at the input's resolution: the
edit is readable ("+0.7 EV, gamma 1/1.4") and resolution independent.

Deviations: no reinforcement learning and no choice of filter order — :class:`ExposureNet`
applies a fixed sequence of filters in one step and is trained end to end with an image loss
(the supervised setting); the masking option of the paper is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ... import validate
from .filters import FILTERS, apply_filters, check_filter_names

__all__ = ["ExposureNet"]


class ExposureNet(nn.Module):
    """Look at a low-resolution copy, regress filter parameters, apply them at full resolution.

    The parameter regressor follows the authors' actor network: four 4×4 stride-2 convolutions
    with 32 channels (LeakyReLU 0.2) on a ``low_res``×``low_res`` copy (paper: 64×64), then FC 128
    → LeakyReLU → FC to the raw values of all filters (each squashed into its range).
    Deviation: with ``log_input`` (default) the copy's logarithm is appended as three more input
    channels, which makes exposure (a shift in log space) and gamma (a scale) easier to read.

    ``forward(img)`` returns ``(edited, params)``: the edited image at the input's resolution and a
    dict filter name → parameters (per image). ``filters`` sets which filters, in which order.
    """

    def __init__(
        self,
        filters: Sequence[str] = (
            "exposure",
            "gamma",
            "white_balance",
            "saturation",
            "tone",
            "contrast",
            "black_and_white",
            "color_curve",
        ),
        *,
        low_res: int = 64,
        width: int = 32,
        hidden: int = 128,
        log_input: bool = True,
    ) -> None:
        super().__init__()
        check_filter_names(filters)
        self.log_input = log_input
        self.filters = list(filters)
        self.low_res = low_res
        layers: list[nn.Module] = []
        cin = 6 if log_input else 3
        for _ in range(4):
            layers += [nn.Conv2d(cin, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            cin = width
        self.features = nn.Sequential(*layers, nn.Flatten())  # (B, width·(low_res/16)²)
        n_raw = sum(FILTERS[f]["n"] for f in self.filters)
        self.regressor = nn.Sequential(
            nn.Linear(width * (low_res // 16) ** 2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, n_raw)
        )

    def parameters_for(self, img: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, 3, H, W) at any resolution → dict of filter parameters computed from a low-res copy."""
        validate.tensor(img, "img", ndim=4, channels=3)
        small = F.interpolate(img, size=(self.low_res, self.low_res), mode="area")  # (B, 3, 64, 64)
        if self.log_input:  # exposure becomes a shift and gamma a scale of these channels
            small = torch.cat([small, small.clamp_min(1e-3).log() / 3], dim=1)  # (B, 6, 64, 64)
        raw = self.regressor(self.features(small))  # (B, n_raw)
        params, i = {}, 0
        for name in self.filters:
            n = FILTERS[name]["n"]
            params[name] = FILTERS[name]["param"](raw[:, i : i + n])
            i += n
        return params

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        params = self.parameters_for(img)
        return apply_filters(img, params, self.filters), params
