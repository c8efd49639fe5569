"""Receptive fields: which input pixels one output unit can see (the theory and its result type).

The theoretical receptive field follows the forward size/jump/start recurrence in the form of
Dang Ha The Hien, "A guide to receptive field arithmetic for Convolutional Neural Networks"
(blog, 2017), with a dilated kernel's extent (k − 1)·d + 1 from Dumoulin & Visin, "A guide to
convolution arithmetic for deep learning" (arXiv 2016). Araujo, Norris & Sim, "Computing
Receptive Fields of Convolutional Neural Networks" (Distill, 2019) derive closed forms for
single-path networks and extend the computation to several paths. Walking from the input to
the output, every layer with kernel k, stride s, padding p and dilation d updates, per axis,

    size   r ← r + (k − 1)·d·j          (eq. 1: the kernel's extent, measured in input pixels)
    start  c ← c + ((k − 1)·d/2 − p)·j  (eq. 2: centre of output 0, in input pixel coordinates)
    jump   j ← j·s                      (eq. 3: distance between neighbouring outputs)

starting from r = 1, c = 0, j = 1. Branches (residual, dense and U-Net skips) are merged by
taking the largest receptive field, as in Araujo et al.

:func:`rf_recurrence` applies eqs. 1–3 to a plain list of layers; :func:`receptive_field`
applies them to any network by running it once under a tracer (private, :mod:`._rf_tracer`)
that follows every torch function the forward calls. Where the network becomes global (global
average pooling, flatten before a classifier) the receptive field of the last spatial feature
map is reported, which is what the literature quotes (e.g. 212 px for VGG-16, 195 px for
AlexNet). Reference code: https://github.com/google-research/receptive_field (Araujo et al.,
TensorFlow graphs); ours traces PyTorch code instead. The gradient-measured (effective) field
is in :mod:`.effective_rf`.

Per-axis values (``size``, ``stride``, ``offset``) are plain tuples with one entry per spatial
axis (rows, columns for images): ``rf.size == (5, 5)``; ``rf.size[0]`` for one axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ._rf_tracer import outputs, trace

__all__ = ["LayerRF", "ReceptiveField", "receptive_field", "rf_recurrence"]

PerAxisValue = tuple[int | float, ...]  # one value per spatial axis; int where it is whole


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def _per_axis(values: Any) -> PerAxisValue:
    return tuple(_num(v) for v in values)


@dataclass(frozen=True)
class LayerRF:
    """One row of the layer-by-layer table: the field after ``layer``."""

    layer: str  # module path, e.g. "features.0"
    op: str  # torch function, e.g. "conv2d"
    shape: tuple[int, ...]  # output shape
    size: PerAxisValue  # per axis, e.g. (7, 7)
    stride: PerAxisValue
    offset: PerAxisValue

    def __str__(self) -> str:
        return (
            f"{self.layer or '(top)':28s} {self.op:22s} {'×'.join(map(str, self.shape[2:])):>9s}  "
            f"rf {' × '.join(map(_fmt, self.size)):>11s}  stride {' × '.join(map(_fmt, self.stride))}"
        )


@dataclass
class ReceptiveField:
    """The theoretical receptive field of a network's output units (per axis: rows, columns).

    ``size``: extent in input pixels; ``stride``: input pixels between neighbouring outputs;
    ``offset``: input coordinate of the centre of output (0, 0) (pixel centres at integers, so a
    negative offset means the field hangs over the padding); ``layers``: the table, layer by
    layer; ``global_at``: the layer where the network turned global (the field reported is that
    of the feature map just before it), or None; ``whole``: every output sees the entire input.
    """

    size: PerAxisValue
    stride: PerAxisValue
    offset: PerAxisValue
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    layers: list[LayerRF] = field(default_factory=list)
    global_at: str | None = None
    whole: bool = False

    @property
    def start(self) -> PerAxisValue:
        return self.offset

    def center(self, position: tuple[int, ...]) -> tuple[float, ...]:
        """Input coordinate of the centre of output unit ``position`` (one index per axis)."""
        position = _as_position(position, len(self.size))
        return tuple(c + i * j for c, i, j in zip(self.offset, position, self.stride))

    def box(self, position: tuple[int, ...], clip: bool = True) -> tuple[tuple[float, float], ...]:
        """Per axis ``(first, last)`` input pixel seen by output ``position`` (clipped to the image)."""
        out = []
        for axis, c in enumerate(self.center(position)):
            lo, hi = c - (self.size[axis] - 1) / 2, c + (self.size[axis] - 1) / 2
            if clip:
                n = self.input_shape[-len(self.size) + axis]
                lo, hi = max(lo, 0), min(hi, n - 1)
            out.append((_num(lo), _num(hi)))
        return tuple(out)

    def describe(self) -> str:
        """One line such as ``receptive field: 5 × 5 px, stride 1`` (used by the widget)."""
        size = " × ".join(_fmt(v) for v in self.size)
        stride = _fmt(self.stride[0]) if len(set(self.stride)) == 1 else " × ".join(map(_fmt, self.stride))
        text = f"receptive field: {size} px, stride {stride}"
        if self.whole:
            text += " (the whole input)"
        return text

    def table(self) -> str:
        return "\n".join(str(row) for row in self.layers)

    def __str__(self) -> str:
        return self.describe()


def _as_position(position: Any, n: int) -> tuple[int, ...]:
    if isinstance(position, int):
        position = (position,) * n
    position = tuple(position)
    if len(position) != n:
        raise ValueError(f"position needs {n} indices (one per spatial axis), got {position!r}")
    return position


def rf_recurrence(
    layers: list[tuple[int, int, int, int]] | list[dict[str, int]],
) -> list[tuple[int, int, float]]:
    """The recurrence on a plain stack, without a network: ``(size, jump, start)`` after each layer.

    ``layers``: ``(kernel, stride, padding, dilation)`` tuples or dicts with those keys.
    >>> rf_recurrence([(3, 1, 1, 1), (3, 1, 2, 2)])
    [(3, 1, 0.0), (7, 1, 0.0)]
    """
    size, jump, start = 1, 1, 0.0
    out = []
    for layer in layers:
        if isinstance(layer, dict):
            k, s = layer["kernel"], layer.get("stride", 1)
            p, d = layer.get("padding", 0), layer.get("dilation", 1)
        else:
            if not 1 <= len(layer) <= 4:
                raise ValueError(f"each layer is (kernel, stride, padding, dilation); got {layer!r}")
            k, s, p, d = tuple(layer) + (1, 0, 1)[len(layer) - 1 :]
        size = size + (k - 1) * d * jump  # eq. 1
        start = start + ((k - 1) * d / 2 - p) * jump  # eq. 2
        jump = jump * s  # eq. 3
        out.append((size, jump, start))
    return out


def receptive_field(model: nn.Module, input_size: Any) -> ReceptiveField:
    """The theoretical receptive field of ``model``'s output units for inputs of ``input_size``.

    ``input_size``: an int ``S`` (S×S image; channels read from the first convolution),
    ``(H, W)``, ``(C, H, W)`` or ``(B, C, H, W)``. Works on any network the tracer can follow
    (plain stacks, residual and dense blocks, U-Nets, classifiers); a classifier's field is that
    of its last spatial feature map. Raises ``TypeError`` for a non-module, ``ValueError`` for
    a bad ``input_size`` and :class:`UnsupportedLayerError` naming a layer it cannot reason about.

    >>> rf = receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)), 32)
    >>> rf.size, rf.stride
    ((5, 5), (1, 1))
    """
    tracer, out, x = trace(model, input_size)
    infos = [tracer.info(o) for o in outputs(out)]
    infos = [i for i in infos if i is not None]
    if not infos:
        raise ValueError("the model's output does not depend on its input (nothing to measure)")
    rows = [
        LayerRF(name, op, shape, *map(_per_axis, (size, jump, start)))
        for name, op, shape, size, jump, start in tracer.rows
    ]
    best = max(infos, key=lambda i: (bool(i.dims), i.whole, max(i.size)))
    first = outputs(out)[0]
    return ReceptiveField(
        size=_per_axis(best.size),
        stride=_per_axis(best.jump),
        offset=_per_axis(best.start),
        input_shape=tuple(x.shape),
        output_shape=tuple(first.shape),
        layers=rows,
        global_at=None if best.dims else best.global_at,
        whole=best.whole,
    )
