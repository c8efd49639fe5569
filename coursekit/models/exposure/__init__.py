"""Gray-box photo retouching (Hu et al., "Exposure", SIGGRAPH 2018): a network regresses the
parameters of differentiable photo filters.

- :mod:`.filters`: the filters (exposure, gamma, white balance, tone and colour curves, …), their
  parameter ranges, applying and describing an edit, and the inverse of the hidden edit;
- :mod:`.net`: :class:`ExposureNet`, the filter-parameter predictor (gray box), and
  :class:`PixelCNN`, the pixel-to-pixel CNN it is compared with (black box).

The hidden edits of notebook 4.4 are sampled by :mod:`coursekit.data.exposure`; the classical
baseline (grey world + auto contrast) is in :mod:`coursekit.baselines`.
"""

from .filters import (
    CURVE_STEPS,
    FILTERS,
    GAMMA_FLOOR,
    apply_filters,
    black_and_white,
    check_filter_names,
    color_curve,
    contrast,
    degrade,
    describe,
    exposure,
    gamma,
    hsv_to_rgb,
    inverse_parameters,
    luminance_rgb2lum,
    rgb_to_hsv,
    saturation,
    tanh_range,
    tone,
    white_balance,
)
from .net import AUTHORS_FEATURES, ExposureNet, PixelCNN

__all__ = [
    "AUTHORS_FEATURES",
    "CURVE_STEPS",
    "FILTERS",
    "GAMMA_FLOOR",
    "ExposureNet",
    "PixelCNN",
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
