"""The differentiable photo filters of Exposure, with the authors' parameter ranges.

Hu, He, Xu, Wang, Lin, "Exposure: A White-Box Photo Post-Processing Framework", ACM Transactions
on Graphics (SIGGRAPH) 2018. Authors' code: github.com/yuanming-hu/exposure (``filters.py``,
``config_*.py``; the parameter ranges below are theirs).

Instead of predicting pixels, the network looks at a **low-resolution** copy of the photo and
predicts a handful of numbers, the parameters of well-known, differentiable filters; the filters
are then applied to the photo at **full resolution**. The edit is readable ("+0.7 EV, gamma 1/1.4")
and resolution independent.

Filters (all on RGB images (B, 3, H, W), values ≥ 0; parameters per image):

========================  ===========================  =============================================
filter                    parameter and range          operation
========================  ===========================  =============================================
``exposure``              EV ∈ [-3.5, 3.5]             ``x · 2^EV``
``gamma``                 γ ∈ [1/3, 3] (log-uniform)   ``max(x, 0.001)^γ``
``white_balance``         log g/r, log b/r ∈ [-.5, .5] per-channel gains, normalised to luminance 1
``saturation``            s ∈ [0, 1]                   lerp to a more saturated copy (HSV)
``tone``                  8 slopes ∈ [0.5, 2]          monotone piecewise-linear curve
``contrast``              c ∈ [-1, 1]                  lerp to a cosine-shaped luminance curve
``black_and_white``       p ∈ [0, 1]                   lerp to the luminance
``color_curve``           3×8 slopes ∈ [0.9, 1.1]      one piecewise-linear curve per channel
========================  ===========================  =============================================

Luminance is ``0.27 R + 0.67 G + 0.06 B`` (the authors' ``rgb2lum``). Each raw network output
``r`` is squashed into its range by ``tanh_range(l, h)(r) = l + (h - l)(tanh r + 1)/2``, as in
the authors' code.

The network that predicts the parameters is :mod:`.net`; the hidden edits of notebook 4.4 are
sampled by :mod:`coursekit.data.exposure`; the classical baseline is in :mod:`coursekit.baselines`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ... import validate

__all__ = [
    "CURVE_STEPS",
    "FILTERS",
    "GAMMA_FLOOR",
    "apply_filters",
    "black_and_white",
    "check_filter_names",
    "color_curve",
    "contrast",
    "degrade",
    "describe",
    "exposure",
    "gamma",
    "hsv_to_rgb",
    "inverse_parameters",
    "luminance_rgb2lum",
    "rgb_to_hsv",
    "saturation",
    "tanh_range",
    "tone",
    "white_balance",
]

CURVE_STEPS = 8  # cfg.curve_steps


def luminance_rgb2lum(img: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) → (B, 1, H, W): 0.27 R + 0.67 G + 0.06 B (the authors' ``rgb2lum``).

    Not the YIQ luminance of style transfer (``models.style.luminance_yiq``: 0.299, 0.587, 0.114);
    the filters and their ranges were tuned with these weights."""
    validate.tensor(img, "img", ndim=4, channels=3)
    return 0.27 * img[:, 0:1] + 0.67 * img[:, 1:2] + 0.06 * img[:, 2:3]


def tanh_range(raw: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Squash a raw value into (low, high): ``low + (high - low)(tanh(raw) + 1)/2``."""
    return low + (high - low) * (torch.tanh(raw) + 1) / 2


def _per_image(p: torch.Tensor | float, img: torch.Tensor) -> torch.Tensor:
    """A parameter (B,), (B, 1) or scalar → (B, 1, 1, 1) for broadcasting over an image."""
    p = torch.as_tensor(p, dtype=img.dtype, device=img.device)
    return p.reshape(-1, 1, 1, 1) if p.dim() else p.reshape(1, 1, 1, 1)


# --- the filters -------------------------------------------------------------------------------
def exposure(img: torch.Tensor, ev: torch.Tensor | float) -> torch.Tensor:
    """``x · 2^EV`` — EV (B,) in [-3.5, 3.5] stops."""
    validate.tensor(img, "img", ndim=4, channels=3)
    return img * torch.exp2(_per_image(ev, img))


GAMMA_FLOOR = 0.001  # the gamma filter floors its input here (x^γ has no finite slope at 0); darker pixels are lost


def gamma(img: torch.Tensor, g: torch.Tensor | float) -> torch.Tensor:
    """``max(x, 0.001)^γ`` — γ (B,) in [1/3, 3]."""
    validate.tensor(img, "img", ndim=4, channels=3)
    return img.clamp_min(GAMMA_FLOOR) ** _per_image(g, img)


def white_balance(img: torch.Tensor, log_ratios: torch.Tensor) -> torch.Tensor:
    """Per-channel gains from ``log_ratios`` (B, 2) = (log g/r, log b/r) in [-0.5, 0.5].

    The gains (1, e^a, e^b) are divided by their luminance, so the filter changes colour, not
    brightness (authors' ``ImprovedWhiteBalanceFilter``).
    """
    validate.tensor(img, "img", ndim=4, channels=3)
    log_ratios = torch.as_tensor(log_ratios, dtype=img.dtype, device=img.device).reshape(-1, 2)
    gains = torch.cat([torch.ones_like(log_ratios[:, :1]), log_ratios.exp()], dim=1)  # (B, 3)
    gains = gains / (1e-5 + 0.27 * gains[:, 0:1] + 0.67 * gains[:, 1:2] + 0.06 * gains[:, 2:3])
    return img * gains[:, :, None, None]


def _curve(img: torch.Tensor, slopes: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear curve with ``K`` segments on [0, 1]: slopes (B, C', K), C' = 1 or 3.

    ``f(x) = K / Σ_k s_k · Σ_k s_k · clip(x - k/K, 0, 1/K)`` maps 0 → 0 and 1 → 1 (authors' code).
    """
    k = slopes.shape[-1]
    total = slopes.sum(-1)[:, :, None, None] + 1e-30  # (B, C', 1, 1)
    out = torch.zeros_like(img)
    for i in range(k):
        out = out + (img - i / k).clamp(0, 1 / k) * slopes[:, :, i, None, None]
    return out * k / total


def tone(img: torch.Tensor, slopes: torch.Tensor) -> torch.Tensor:
    """Tone curve on all channels: slopes (B, 8) in [0.5, 2]."""
    validate.tensor(img, "img", ndim=4, channels=3)
    return _curve(
        img, torch.as_tensor(slopes, dtype=img.dtype, device=img.device).reshape(img.shape[0], 1, -1)
    )


def color_curve(img: torch.Tensor, slopes: torch.Tensor) -> torch.Tensor:
    """One curve per channel: slopes (B, 3, 8) in [0.9, 1.1]."""
    validate.tensor(img, "img", ndim=4, channels=3)
    return _curve(
        img, torch.as_tensor(slopes, dtype=img.dtype, device=img.device).reshape(img.shape[0], 3, -1)
    )


def contrast(img: torch.Tensor, c: torch.Tensor | float) -> torch.Tensor:
    """Lerp towards ``x / L · (1 - cos(π L))/2`` (L the clipped luminance) by c (B,) in [-1, 1]."""
    lum = luminance_rgb2lum(img).clamp(0, 1)
    contrast_lum = -torch.cos(math.pi * lum) * 0.5 + 0.5
    contrasted = img / (lum + 1e-6) * contrast_lum
    c = _per_image(c, img)
    return img + (contrasted - img) * c


def black_and_white(img: torch.Tensor, p: torch.Tensor | float) -> torch.Tensor:
    """Lerp towards the luminance by p (B,) in [0, 1]."""
    lum = luminance_rgb2lum(img)
    p = _per_image(p, img)
    return img + (lum - img) * p


def rgb_to_hsv(img: torch.Tensor) -> torch.Tensor:
    """Differentiable RGB → HSV, all channels in [0, 1] (hue as a fraction of a turn)."""
    validate.tensor(img, "img", ndim=4, channels=3)
    r, g, b = img[:, 0], img[:, 1], img[:, 2]
    v, idx = img.max(dim=1)
    mn = img.min(dim=1).values
    delta = v - mn
    s = delta / (v + 1e-8)
    d = delta + 1e-8
    h = torch.where(idx == 0, ((g - b) / d) % 6, torch.where(idx == 1, (b - r) / d + 2, (r - g) / d + 4)) / 6
    h = torch.where(delta > 0, h, torch.zeros_like(h))
    return torch.stack([h, s, v], dim=1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Differentiable HSV → RGB (inverse of :func:`rgb_to_hsv`)."""
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    n = torch.tensor([5.0, 3.0, 1.0], device=hsv.device, dtype=hsv.dtype)[None, :, None, None]
    k = (n + h[:, None] * 6) % 6
    return v[:, None] - v[:, None] * s[:, None] * (torch.minimum(k, 4 - k).clamp(0, 1))


def saturation(img: torch.Tensor, p: torch.Tensor | float) -> torch.Tensor:
    """Lerp by p (B,) in [0, 1] towards a copy with ``S' = S + (1 - S)(0.5 - |0.5 - V|)·0.8``."""
    validate.tensor(img, "img", ndim=4, channels=3)
    hsv = rgb_to_hsv(img.clamp(0, 1))
    h, s, v = hsv[:, 0:1], hsv[:, 1:2], hsv[:, 2:3]
    s2 = s + (1 - s) * (0.5 - (0.5 - v).abs()) * 0.8
    full = hsv_to_rgb(torch.cat([h, s2, v], dim=1))
    p = _per_image(p, img)
    return img * (1 - p) + full * p


# name -> (function, number of raw values, (low, high) range, how raw values become parameters)
def _log_range(raw: torch.Tensor, r: float) -> torch.Tensor:
    return torch.exp(tanh_range(raw, -math.log(r), math.log(r)))


FILTERS: dict[str, dict] = {
    "exposure": {"fn": exposure, "n": 1, "range": (-3.5, 3.5), "param": lambda r: tanh_range(r[:, 0], -3.5, 3.5)},
    "gamma": {"fn": gamma, "n": 1, "range": (1 / 3, 3.0), "param": lambda r: _log_range(r[:, 0], 3.0)},
    "white_balance": {"fn": white_balance, "n": 2, "range": (-0.5, 0.5), "param": lambda r: tanh_range(r, -0.5, 0.5)},
    "saturation": {"fn": saturation, "n": 1, "range": (0.0, 1.0), "param": lambda r: torch.sigmoid(r[:, 0])},
    "tone": {"fn": tone, "n": CURVE_STEPS, "range": (0.5, 2.0), "param": lambda r: tanh_range(r, 0.5, 2.0)},
    "contrast": {"fn": contrast, "n": 1, "range": (-1.0, 1.0), "param": lambda r: torch.tanh(r[:, 0])},
    "black_and_white": {"fn": black_and_white, "n": 1, "range": (0.0, 1.0), "param": lambda r: torch.sigmoid(r[:, 0])},
    "color_curve": {
        "fn": color_curve, "n": 3 * CURVE_STEPS, "range": (0.9, 1.1),
        "param": lambda r: tanh_range(r, 0.9, 1.1).reshape(-1, 3, CURVE_STEPS),
    },
}  # fmt: skip
"""The filters, with the authors' parameter ranges (``config_example.py``: exposure_range 3.5,
gamma_range 3, tone_curve_range (0.5, 2), color_curve_range (0.90, 1.10); ``filters.py``,
``ImprovedWhiteBalanceFilter``: log_wb_range 0.5, with the red gain fixed at 1)."""


def check_filter_names(names: Sequence[str]) -> None:
    """Raise ValueError naming any filter that is not in :data:`FILTERS`."""
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        raise ValueError(f"filters must be names from FILTERS, got unknown filters {unknown}; available: {', '.join(FILTERS)}")


def apply_filters(
    img: torch.Tensor, params: dict[str, torch.Tensor], order: Sequence[str] | None = None
) -> torch.Tensor:
    """Apply the filters named in ``params`` (name → parameter tensor) in ``order`` (default: dict order)."""
    order = list(params) if order is None else list(order)
    check_filter_names(order)
    for name in order:
        img = FILTERS[name]["fn"](img, params[name])
    return img


def describe(params: dict[str, torch.Tensor], index: int = 0) -> str:
    """The edit of image ``index`` as readable text, e.g. ``exposure +0.70 EV · gamma 1/1.40``."""
    parts = []
    for name, p in params.items():
        p = p[index].detach().cpu()
        if name == "exposure":
            parts.append(f"exposure {float(p):+.2f} EV")
        elif name == "gamma":
            parts.append(f"gamma {float(p):.2f}")
        elif name == "white_balance":
            gains = torch.cat([torch.ones(1, device=p.device), p.exp()])
            gains = gains / (0.27 * gains[0] + 0.67 * gains[1] + 0.06 * gains[2])
            parts.append("white balance R×{:.2f} G×{:.2f} B×{:.2f}".format(*gains.tolist()))
        elif name in ("tone", "color_curve"):
            parts.append(f"{name.replace('_', ' ')} slopes {p.flatten().min():.2f}…{p.flatten().max():.2f}")
        else:
            parts.append(f"{name.replace('_', ' ')} {float(p):+.2f}")
    return " · ".join(parts)


def degrade(img: torch.Tensor, d: dict[str, torch.Tensor]) -> torch.Tensor:
    """Apply the hidden edit ``d`` (from :func:`coursekit.data.exposure.random_degradation`):
    white balance, exposure, gamma, then clip to [0, 1] as a saved photo would be."""
    d = {k: v.to(img.device) for k, v in d.items()}
    return apply_filters(img, d, ["white_balance", "exposure", "gamma"]).clamp(0, 1)


def inverse_parameters(d: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The parameters of the edit gamma → white balance → exposure that undoes :func:`degrade`
    (exactly, where nothing was clipped): γ' = 1/γ, log ratios' = -log ratios, and EV' = -EV
    plus the brightness change of normalising the inverse gains (both gain sets are normalised
    to luminance 1, so their product is a constant ≠ 1)."""

    def lum_of(log_ratios: torch.Tensor) -> torch.Tensor:
        g = torch.cat([torch.ones_like(log_ratios[:, :1]), log_ratios.exp()], dim=1)
        return 1e-5 + 0.27 * g[:, 0] + 0.67 * g[:, 1] + 0.06 * g[:, 2]

    w = d["white_balance"]
    return {
        "gamma": 1 / d["gamma"],
        "white_balance": -w,
        "exposure": -d["exposure"] + torch.log2(lum_of(w) * lum_of(-w)),
    }
