"""Exposure's network, and the black-box network it is compared with.

Hu, He, Xu, Wang, Lin, "Exposure: A White-Box Photo Post-Processing Framework", ACM Transactions
on Graphics (SIGGRAPH) 2018 (authors' code: github.com/yuanming-hu/exposure).

- :class:`ExposureNet` (gray box): looks at a low-resolution copy of the photo and regresses a
  handful of numbers, the parameters of the differentiable filters in :mod:`.filters`, which are
  then applied at the input's resolution: the edit is readable ("+0.7 EV, gamma 1/1.4") and
  resolution independent.
- :class:`PixelCNN` (black box): a small fully convolutional residual CNN that outputs the
  restored image pixel by pixel; it sees only a local window (:attr:`PixelCNN.receptive_field`)
  and its cost grows with the number of pixels.

Deviations of :class:`ExposureNet` from the paper (the notebook says why): Exposure is an
actor-critic reinforcement-learning agent that picks the next filter and its parameters, step by
step, rewarded by a WGAN critic trained on unpaired retouched photos. Here a fixed sequence of
filters is applied in one step and the network is trained end to end with an image loss on
paired data (supervised regression); one shared fully connected head predicts all parameters
(the authors give each filter its own FC 128 head on shared features, ``filters.py``
``extract_parameters``), and the state channels, dropout and masking are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ... import validate
from .filters import FILTERS, apply_filters, check_filter_names

__all__ = ["AUTHORS_FEATURES", "ExposureNet", "PixelCNN"]

AUTHORS_FEATURES = 4096
"""The authors' actor feature size (``config_example.py``: ``cfg.feature_extractor_dims = 4096``):
four 4×4 stride-2 convolutions from ``cfg.base_channels = 32``, doubling, on a ``cfg.source_img_size
= 64`` input, end in 256 maps of 4×4 (``agent.py``, ``feature_extractor``)."""


def _log_channels(img: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) → (B, 6, H, W): the image and its logarithm / 3 (exposure is a shift and gamma a
    scale of the log channels)."""
    return torch.cat([img, img.clamp_min(1e-3).log() / 3], dim=1)


class ExposureNet(nn.Module):
    """Look at a low-resolution copy, regress filter parameters, apply them at full resolution.

    The parameter regressor follows the authors' actor (``agent.py``, ``feature_extractor``): four
    4×4 stride-2 convolutions (LeakyReLU 0.2) with ``widths`` channels (theirs: 32, 64, 128, 256 on
    a 64×64 copy, giving 4×4×256 = 4096 features), then FC ``hidden`` (128) → LeakyReLU → FC to
    the raw values of all filters, each squashed into its range (:data:`.filters.FILTERS`).
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
        widths: Sequence[int] = (32, 64, 128, 256),
        hidden: int = 128,
        log_input: bool = True,
    ) -> None:
        super().__init__()
        check_filter_names(filters)
        if len(widths) != 4 or low_res % 16:
            raise ValueError(f"ExposureNet needs 4 widths and low_res a multiple of 16 (four stride-2 "
                             f"convolutions), got widths={tuple(widths)}, low_res={low_res}")
        self.log_input = log_input
        self.filters = list(filters)
        self.low_res = low_res
        layers: list[nn.Module] = []
        cin = 6 if log_input else 3
        for w in widths:
            layers += [nn.Conv2d(cin, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            cin = w
        self.n_features = widths[-1] * (low_res // 16) ** 2
        self.features = nn.Sequential(*layers, nn.Flatten())  # (B, widths[-1]·(low_res/16)²)
        n_raw = sum(FILTERS[f]["n"] for f in self.filters)
        self.regressor = nn.Sequential(nn.Linear(self.n_features, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, n_raw))

    def parameters_for(self, img: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, 3, H, W) at any resolution → dict of filter parameters computed from a low-res copy."""
        validate.tensor(img, "img", ndim=4, channels=3)
        small = F.interpolate(img, size=(self.low_res, self.low_res), mode="area")  # (B, 3, r, r)
        if self.log_input:
            small = _log_channels(small)  # (B, 6, r, r)
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


class PixelCNN(nn.Module):
    """The black-box competitor: a fully convolutional residual CNN that outputs the restored image.

    ``depth`` 3×3 convolutions with ``width`` channels (ReLU between them, zero padding) predict a
    correction that is added to the input (a global residual): ``forward(img) = img + body(img)``,
    (B, 3, H, W) → (B, 3, H, W) at any size. Each output pixel sees only a
    ``receptive_field``×``receptive_field`` window of the input (2·depth + 1 pixels), and the cost
    is ``count_macs`` per pixel times the number of pixels. With ``log_input`` it gets the same
    six input channels as :class:`ExposureNet` (image and log image / 3).
    """

    def __init__(self, width: int = 32, depth: int = 6, *, log_input: bool = True) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"PixelCNN needs depth >= 2 convolutions, got {depth}")
        self.log_input = log_input
        self.depth = depth
        cin = 6 if log_input else 3
        layers: list[nn.Module] = []
        for _ in range(depth - 1):
            layers += [nn.Conv2d(cin, width, 3, padding=1), nn.ReLU()]
            cin = width
        layers.append(nn.Conv2d(cin, 3, 3, padding=1))
        self.body = nn.Sequential(*layers)

    @property
    def receptive_field(self) -> int:
        """Side of the input window one output pixel depends on: 2·depth + 1."""
        return 2 * self.depth + 1

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        validate.tensor(img, "img", ndim=4, channels=3)
        x = _log_channels(img) if self.log_input else img
        return img + self.body(x)
