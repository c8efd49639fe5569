"""The receptive-field probe: pick a network and a pixel, see what one output unit sees.

Theory: Araujo et al., "Computing Receptive Fields of Convolutional Neural Networks" (Distill
2019); Luo et al., "Understanding the Effective Receptive Field in Deep Convolutional Neural
Networks" (NeurIPS 2016). The computation is :mod:`coursekit.analysis.receptive_field`; this
module only builds the networks, draws the picture and wires core ipywidgets (works in Colab).

Plain functions (tested without a browser): :func:`stack_model`, :func:`probe` (numbers),
:func:`render_png` (the picture). The widget: :class:`ReceptiveFieldProbe` with controls
``network`` (preset menu), ``layers``, ``kernel size``, ``stride``, ``dilation``, ``x``, ``y``
(the query position, in image pixels); its ``text`` reads e.g.
"receptive field: 5 × 5 px, stride 1".
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..analysis import EffectiveReceptiveField, ReceptiveField, effective_receptive_field, receptive_field

__all__ = [
    "PRESETS",
    "Probe",
    "ReceptiveFieldProbe",
    "probe",
    "receptive_field_probe",
    "render_png",
    "stack_model",
]

CUSTOM = "custom stack"
PRESETS = (CUSTOM, "AlexNet", "VGG-16", "ResNet-50", "context module")
_PRESET_SIZE = {CUSTOM: 96, "AlexNet": 224, "VGG-16": 224, "ResNet-50": 224, "context module": 96}


def stack_model(layers: int = 2, kernel_size: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """``layers`` single-channel k×k convolutions with "same"-style padding, uniform weights 1/k².

    Uniform weights and no nonlinearity make the effective receptive field a clean bell
    (Luo et al. 2016, Sec. 2.1: it tends to a Gaussian as layers are added).
    """
    for name, v, lo in (
        ("layers", layers, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("dilation", dilation, 1),
    ):
        if not isinstance(v, int) or v < lo:
            raise ValueError(f"{name} must be an int ≥ {lo}, got {v!r}")
    convs = []
    for _ in range(layers):
        conv = nn.Conv2d(
            1,
            1,
            kernel_size,
            stride=stride,
            padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation,
            bias=False,
        )
        nn.init.constant_(conv.weight, 1.0 / kernel_size**2)
        convs.append(conv)
    return nn.Sequential(*convs)


@functools.lru_cache(maxsize=8)
def _preset(name: str) -> tuple[nn.Module, int]:
    """A real network with random weights (no download) and its input size."""
    import torchvision

    from ..nn.dilated import ContextModule

    if name not in PRESETS or name == CUSTOM:
        raise ValueError(f"unknown preset {name!r}; choose one of {PRESETS}")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        if name == "context module":
            return ContextModule(channels=3, identity_init=False).eval(), _PRESET_SIZE[
                name
            ]  # random: visible ERF
        with torch.device("meta"):  # build without memory, keep only the convolutional part
            if name == "AlexNet":
                model: nn.Module = torchvision.models.alexnet(weights=None).features
            elif name == "VGG-16":
                model = torchvision.models.vgg16(weights=None).features
            else:
                r = torchvision.models.resnet50(weights=None)
                model = nn.Sequential(*list(r.children())[:-2])  # up to layer4, before the pooling
        model = model.to_empty(device="cpu")
        for m in model.modules():  # random weights (PyTorch's default initialisation)
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    return model.eval(), _PRESET_SIZE[name]


@dataclass
class Probe:
    """What one output unit sees: analytic field, gradient map, and the unit's index."""

    rf: ReceptiveField
    erf: EffectiveReceptiveField
    unit: tuple[int, int]  # output index (row, column)
    box: tuple[tuple[float, float], tuple[float, float]]  # unclipped (first, last) rows, columns
    image_size: int

    @property
    def text(self) -> str:
        (r0, r1), (c0, c1) = self.box
        n = self.image_size
        beyond = (
            " (it reaches beyond the image: the padding)" if min(r0, c0) < 0 or max(r1, c1) > n - 1 else ""
        )
        return (
            f"{self.rf.describe()}; output unit {self.unit} sees rows {_f(r0)}–{_f(r1)}, "
            f"columns {_f(c0)}–{_f(c1)}{beyond}; 90% of its gradient lies within "
            f"{self.erf.radius(0.9):.0f} px of the centre"
        )


def _f(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def probe(
    network: str = CUSTOM,
    x: int | None = None,
    y: int | None = None,
    *,
    layers: int = 2,
    kernel_size: int = 3,
    stride: int = 1,
    dilation: int = 1,
    n_samples: int = 1,
) -> Probe:
    """Numbers for one setting: the field of the output unit nearest to image pixel (y, x)."""
    if network == CUSTOM:
        model: nn.Module = stack_model(layers, kernel_size, stride, dilation)
        size = _PRESET_SIZE[CUSTOM]
        shape: tuple[int, ...] = (1, size, size)
    else:
        model, size = _preset(network)
        shape = (3, size, size)
    x = size // 2 if x is None else x
    y = size // 2 if y is None else y
    if not (0 <= x < size and 0 <= y < size):
        raise ValueError(f"position (x={x}, y={y}) lies outside the {size}×{size} image")
    rf = receptive_field(model, shape)
    out_h, out_w = rf.output_shape[-2:]
    unit = tuple(  # the output unit whose centre is nearest to the query pixel
        int(min(max(round((p - o) / s), 0), n - 1))
        for p, o, s, n in zip((y, x), rf.offset, rf.stride, (out_h, out_w))
    )
    if network == CUSTOM:
        erf = effective_receptive_field(model, shape, unit, input=torch.ones(1, 1, size, size))
    else:
        erf = effective_receptive_field(model, shape, unit, n_samples=n_samples)
    return Probe(rf, erf, unit, rf.box(unit, clip=False), size)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=4)
def _background(size: int) -> np.ndarray:
    """A photo to draw on (scikit-image's astronaut, shipped with the package), size×size RGB."""
    try:
        from skimage import data, transform

        img = data.astronaut()[30:330, 90:390] / 255.0
        return transform.resize(img, (size, size), anti_aliasing=True)
    except Exception:  # no scikit-image: a checkerboard
        yy, xx = np.mgrid[:size, :size] // 8
        return np.repeat(((yy + xx) % 2 * 0.5 + 0.25)[..., None], 3, axis=2)


def render_png(result: Probe, x: int | None = None, y: int | None = None, dpi: int = 80) -> bytes:
    """The picture: the photo, the effective field as a heat map, the theoretical box."""
    # a bare Figure draws with Agg by itself; never switch pyplot's backend here (that would
    # stop every later plt.show() in the notebook from displaying)
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    size = result.image_size
    fig = Figure(figsize=(7.6, 3.8), dpi=dpi)
    axes = fig.subplots(1, 2)
    (r0, r1), (c0, c1) = result.box
    heat = result.erf.map.numpy()
    lo = min(-0.5, r0 - 0.5, c0 - 0.5) - 2
    hi = max(size - 0.5, r1 + 0.5, c1 + 0.5) + 2
    extent = (-0.5, size - 0.5, size - 0.5, -0.5)
    titles = ("theoretical field (box)", "effective field √|∂y/∂x| (Luo et al.)")
    for ax, title in zip(axes, titles):
        ax.set_facecolor("0.85")  # outside the image: what the padding supplies
        ax.imshow(_background(size), extent=extent, alpha=0.55 if ax is axes[1] else 1.0)
        if ax is axes[1]:
            ax.imshow(
                np.ma.masked_less_equal(np.sqrt(heat), 0.03),
                cmap="magma",
                vmin=0,
                vmax=1,
                extent=extent,
                interpolation="nearest",
            )
        ax.add_patch(
            Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False, ec="tab:cyan", lw=2)
        )
        ax.plot([(c0 + c1) / 2], [(r0 + r1) / 2], "+", color="tab:cyan", ms=10, mew=2)
        if x is not None and y is not None:
            ax.plot([x], [y], "o", mfc="none", mec="white", ms=8)
        ax.set_xlim(lo, hi)
        ax.set_ylim(hi, lo)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


class ReceptiveFieldProbe:
    """The widget. ``controls`` maps a description to its ipywidget; ``text`` is an HTML line.

    >>> w = ReceptiveFieldProbe(); w.controls["layers"].value = 4   # doctest: +SKIP
    >>> w.text.value                                                # doctest: +SKIP
    '<b>receptive field: 9 × 9 px, stride 1</b> …'
    """

    def __init__(self) -> None:
        import ipywidgets as W

        style = {"description_width": "80px"}
        slider = {"style": style, "continuous_update": False}  # recompute on release, not while dragging
        self.controls: dict[str, Any] = {
            "network": W.Dropdown(options=list(PRESETS), value=CUSTOM, description="network", style=style),
            "layers": W.IntSlider(value=2, min=1, max=12, description="layers", **slider),
            "kernel size": W.IntSlider(value=3, min=1, max=9, step=2, description="kernel size", **slider),
            "stride": W.IntSlider(value=1, min=1, max=3, description="stride", **slider),
            "dilation": W.IntSlider(value=1, min=1, max=8, description="dilation", **slider),
            "x": W.IntSlider(value=48, min=0, max=95, description="x", **slider),
            "y": W.IntSlider(value=48, min=0, max=95, description="y", **slider),
        }
        self.text = W.HTML(value="")
        self.image = W.Image(format="png")
        self.result: Probe | None = None
        self._busy = False
        for c in self.controls.values():
            c.observe(self._on_change, names="value")
        left = W.VBox(list(self.controls.values()))
        self.widget = W.VBox([W.HBox([left, self.image]), self.text])
        self.update()

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._busy:
            return
        if change.get("owner") is self.controls["network"]:
            size = _PRESET_SIZE[self.controls["network"].value]
            self._busy = True  # move both sliders without two intermediate redraws
            try:
                for key in ("x", "y"):
                    s = self.controls[key]
                    s.max = size - 1
                    s.value = size // 2
                custom = self.controls["network"].value == CUSTOM
                for key in ("layers", "kernel size", "stride", "dilation"):
                    self.controls[key].disabled = not custom
            finally:
                self._busy = False
        self.update()

    def settings(self) -> dict[str, Any]:
        c = self.controls
        return {
            "network": c["network"].value,
            "x": c["x"].value,
            "y": c["y"].value,
            "layers": c["layers"].value,
            "kernel_size": c["kernel size"].value,
            "stride": c["stride"].value,
            "dilation": c["dilation"].value,
        }

    def update(self) -> None:
        s = self.settings()
        try:
            self.result = probe(**s)
        except (ValueError, RuntimeError) as e:
            self.text.value = f"<span style='color:#b00'>cannot compute: {e}</span>"
            return
        self.image.value = render_png(self.result, s["x"], s["y"])
        rf_line, _, rest = self.result.text.partition("; ")
        self.text.value = f"<b>{rf_line}</b>; {rest}"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def receptive_field_probe() -> ReceptiveFieldProbe:
    """Build and return the probe (display it as the last line of a cell)."""
    return ReceptiveFieldProbe()
