"""Receptive fields: which input pixels one output unit can see.

The theoretical receptive field follows the recurrence of Araujo, Norris & Sim, "Computing
Receptive Fields of Convolutional Neural Networks" (Distill, 2019) and Dumoulin & Visin,
"A guide to convolution arithmetic for deep learning" (arXiv 2016). Walking from the input to
the output, every layer with kernel k, stride s, padding p and dilation d updates, per axis,

    size   r ← r + (k − 1)·d·j          (eq. 1: the kernel's extent, measured in input pixels)
    start  c ← c + ((k − 1)·d/2 − p)·j  (eq. 2: centre of output 0, in input pixel coordinates)
    jump   j ← j·s                      (eq. 3: distance between neighbouring outputs)

starting from r = 1, c = 0, j = 1. Branches (residual, dense and U-Net skips) are merged by
taking the largest receptive field, as in Araujo et al.

The effective receptive field is from Luo, Li, Urtasun & Zemel, "Understanding the Effective
Receptive Field in Deep Convolutional Neural Networks" (NeurIPS 2016): the gradient of one
output unit with respect to the input, whose mass is concentrated near the centre of the
theoretical field. Reference code: https://github.com/google-research/receptive_field (Araujo
et al., TensorFlow graphs); ours traces PyTorch code instead.

How it works: the network runs once on a random input under a ``TorchFunctionMode`` that sees
every torch function the forward calls (``F.conv2d``, ``torch.cat``, ``x + y``, ``x.view`` …),
so any Python control flow is followed, and every tensor is tagged with its (r, c, j) per axis.
Where the network becomes global (global average pooling, flatten before a classifier) the
receptive field of the last spatial feature map is reported, which is what the literature
quotes (e.g. 212 px for VGG-16, 195 px for AlexNet). Conventions, written where they apply:
normalisation statistics and channel gates computed from global averages (squeeze-and-
excitation) do not enlarge the field; self-attention over positions makes it the whole input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .complexity import UnsupportedLayerError, _check_module, _EvalMode, example_input

__all__ = [
    "EffectiveReceptiveField",
    "LayerRF",
    "PerAxis",
    "ReceptiveField",
    "UnsupportedLayerError",
    "effective_receptive_field",
    "receptive_field",
    "rf_recurrence",
]


class PerAxis(tuple):
    """A per-axis value such as ``(212, 212)`` that also compares with a single number.

    ``PerAxis((5, 5)) == 5`` is True (every axis is 5), and ``int(PerAxis((5, 5)))`` is 5;
    for unequal axes ``int`` raises ValueError.
    """

    def _all(self, other: Any, op: Any) -> Any:
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return all(op(v, other) for v in self)
        return NotImplemented

    def __eq__(self, other: Any) -> bool:  # type: ignore[override]
        r = self._all(other, lambda a, b: a == b)
        return tuple.__eq__(self, other) if r is NotImplemented else r

    def __ne__(self, other: Any) -> bool:  # type: ignore[override]
        return not self.__eq__(other)

    def __lt__(self, other: Any) -> bool:  # type: ignore[override]
        r = self._all(other, lambda a, b: a < b)
        return tuple.__lt__(self, other) if r is NotImplemented else r

    def __le__(self, other: Any) -> bool:  # type: ignore[override]
        r = self._all(other, lambda a, b: a <= b)
        return tuple.__le__(self, other) if r is NotImplemented else r

    def __gt__(self, other: Any) -> bool:  # type: ignore[override]
        r = self._all(other, lambda a, b: a > b)
        return tuple.__gt__(self, other) if r is NotImplemented else r

    def __ge__(self, other: Any) -> bool:  # type: ignore[override]
        r = self._all(other, lambda a, b: a >= b)
        return tuple.__ge__(self, other) if r is NotImplemented else r

    __hash__ = tuple.__hash__

    def __int__(self) -> int:
        if len(set(self)) != 1:
            raise ValueError(f"the axes differ {tuple(self)}; index one axis, e.g. rf.size[0]")
        return int(self[0])

    def __float__(self) -> float:
        return float(int(self)) if all(float(v).is_integer() for v in self) else float(self[0])

    def __repr__(self) -> str:
        return "(" + ", ".join(_fmt(v) for v in self) + ")"


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


@dataclass(frozen=True)
class _Info:
    """Receptive-field state of one traced tensor (per spatial axis)."""

    dims: tuple[int, ...]  # which tensor dims are the spatial axes; () once the tensor is global
    size: tuple[float, ...]
    jump: tuple[float, ...]
    start: tuple[float, ...]
    whole: bool = False  # every output sees the whole input (self-attention)
    global_at: str | None = None  # where the tensor lost its spatial axes
    tokens: bool = False  # global because positions were flattened into a token axis (not pooled)


@dataclass(frozen=True)
class LayerRF:
    """One row of the layer-by-layer table: the field after ``layer``."""

    layer: str  # module path, e.g. "features.0"
    op: str  # torch function, e.g. "conv2d"
    shape: tuple[int, ...]  # output shape
    size: PerAxis
    stride: PerAxis
    offset: PerAxis

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

    size: PerAxis
    stride: PerAxis
    offset: PerAxis
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    layers: list[LayerRF] = field(default_factory=list)
    global_at: str | None = None
    whole: bool = False

    @property
    def start(self) -> PerAxis:
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


# --------------------------------------------------------------------------------------------
# Tracing
# --------------------------------------------------------------------------------------------


def _arg(args: tuple, kwargs: dict, i: int, name: str, default: Any = None) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[i] if len(args) > i else default


def _tuple(v: Any, n: int) -> tuple:
    if v is None:
        return (None,) * n
    if isinstance(v, (int, float)):
        return (v,) * n
    v = tuple(v)
    if len(v) == 0:
        return (None,) * n
    return v * n if len(v) == 1 else v


_POINTWISE_SAFE_GLOBAL = {
    # ops that may legitimately mix or collapse the spatial axes into something non-spatial
    "view",
    "reshape",
    "flatten",
    "mean",
    "sum",
    "amax",
    "amin",
    "max",
    "min",
    "std",
    "var",
    "norm",
    "logsumexp",
    "prod",
    "linear",
    "matmul",
    "bmm",
    "mm",
    "einsum",
    "addmm",
    "baddbmm",
    "__matmul__",
    "unflatten",
    "permute",
    "transpose",
    "squeeze",
    "unsqueeze",
    "softmax",
    "log_softmax",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "contiguous",
    "scaled_dot_product_attention",
    "multi_head_attention_forward",
    "chunk",
    "split",
    "unbind",
    "__getitem__",
    "expand",
    "expand_as",
    "repeat",
    "mT",
    "t",
    "swapaxes",
    "movedim",
    "select",
    "avg_pool2d",
    "max_pool2d",
    "avg_pool1d",
    "max_pool1d",
    "layer_norm",
    "stack",
    "cat",
}
_CREATORS = {
    "zeros_like",
    "ones_like",
    "empty_like",
    "randn_like",
    "rand_like",
    "full_like",
    "new_zeros",
    "new_ones",
    "new_empty",
    "new_full",
    "new_tensor",
    "randint_like",
    "size",
    "dim",
    "numel",
    "__len__",
    "detach_",
    "requires_grad_",
}
# functions whose spatial arithmetic is handled explicitly below
_CONV = {"conv1d", "conv2d", "conv3d"}
_CONV_T = {"conv_transpose1d", "conv_transpose2d", "conv_transpose3d"}
_POOL = {
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
    "fractional_max_pool2d",
}
_ADAPTIVE = {
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
}
_MIX_LAST = {"linear", "matmul", "mm", "bmm", "__matmul__", "einsum", "addmm", "baddbmm"}
_ATTENTION = {
    "scaled_dot_product_attention",
    "multi_head_attention_forward",
    "bmm",
    "matmul",
    "__matmul__",
    "einsum",
    "baddbmm",
}
_UNSUPPORTED = {
    "grid_sample",
    "unfold",
    "fold",
    "affine_grid",
    "fft_fft2",
    "fft_rfft2",
    "deform_conv2d",
    "flip",
    "rot90",
    "im2col",
    "col2im",
}


def _name(func: Any) -> str:
    name = getattr(func, "__name__", None) or str(func)
    if name == "__get__":  # properties such as Tensor.mT
        name = getattr(getattr(func, "__self__", None), "__name__", name)
    if name.startswith("_") and not name.startswith("__"):  # F._max_pool2d → max_pool2d
        name = name[1:]
    return name


class _Tracer(TorchFunctionMode):
    def __init__(self, ndim: int, input_shape: tuple[int, ...]):
        super().__init__()
        self.ndim = ndim
        self.input_extent = input_shape[-ndim:]
        self.infos: dict[int, tuple[torch.Tensor, _Info]] = {}
        self.stack: list[tuple[str, nn.Module]] = [("", None)]  # type: ignore[list-item]
        self.rows: list[LayerRF] = []

    # -- bookkeeping -----------------------------------------------------------------------
    def tag(self, t: Any, info: _Info) -> None:
        if isinstance(t, torch.Tensor):
            self.infos[id(t)] = (t, info)

    def info(self, t: Any) -> _Info | None:
        if isinstance(t, torch.Tensor):
            hit = self.infos.get(id(t))
            if hit is not None and hit[0] is t:
                return hit[1]
        return None

    def where(self) -> str:
        name, module = self.stack[-1]
        if module is None:
            return "the model's forward"
        return f"layer '{name}' ({type(module).__name__})" if name else f"the model ({type(module).__name__})"

    def unsupported(self, op: str, why: str = "") -> UnsupportedLayerError:
        return UnsupportedLayerError(
            f"receptive_field cannot reason about `{op}` called in {self.where()}{': ' + why if why else ''}. "
            "Supported: convolutions (also transposed and dilated), pooling, padding, cropping, "
            "up-sampling, normalisation, activations, additions and concatenations"
        )

    def whole(self, info_dims: tuple[int, ...], where: str) -> _Info:
        n = self.input_extent
        return _Info(
            info_dims,
            tuple(2 * e - 1 for e in n),
            (1.0,) * self.ndim,
            tuple((e - 1) / 2 for e in n),
            whole=True,
            global_at=where,
        )

    # -- the mode --------------------------------------------------------------------------
    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = _name(func)
        if name in _CREATORS:
            return out
        tensors_in: list[tuple[torch.Tensor, _Info]] = []
        for a in list(args) + list(kwargs.values()):
            items = a if isinstance(a, (list, tuple)) else (a,)
            for t in items:
                inf = self.info(t)
                if inf is not None:
                    tensors_in.append((t, inf))
        if not tensors_in:
            return out
        outs = [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if isinstance(o, torch.Tensor)]
        if not outs:
            return out
        new = self.propagate(name, func, args, kwargs, tensors_in, outs[0])
        for o in outs:
            self.tag(o, new if o.dim() == outs[0].dim() else replace(new, dims=()))
        return out

    # -- rules -----------------------------------------------------------------------------
    def propagate(
        self, name: str, func: Any, args: tuple, kwargs: dict, ins: list, out: torch.Tensor
    ) -> _Info:
        spatial = [(t, i) for t, i in ins if i.dims]
        if name in _UNSUPPORTED and spatial:
            raise self.unsupported(name, "it moves pixels in a data-dependent or non-local way")
        if not spatial:  # only global tensors in: the result is global as well
            base = max((i for _, i in ins), key=lambda i: (i.whole, max(i.size)))
            if name in _ATTENTION and len(ins) >= 2 and any(i.tokens for _, i in ins) and not base.whole:
                # tokens attending to tokens: every position now sees every other (self-attention)
                return replace(self.whole((), self.where()), tokens=True)
            return replace(base, dims=())
        t, inf = max(spatial, key=lambda ti: (ti[1].whole, max(ti[1].size)))
        if (
            name in _CONV
            or name in _CONV_T
            or name in _POOL
            or name in _ADAPTIVE
            or name
            in (
                "interpolate",
                "upsample",
                "upsample_nearest",
                "upsample_bilinear",
                "pad",
                "pixel_shuffle",
                "pixel_unshuffle",
                "__getitem__",
                "narrow",
            )
        ):
            if t is not _first_tensor(args, kwargs):
                raise self.unsupported(name, "its spatial input is not the first argument")
            new = self.spatial(name, args, kwargs, t, inf, out)
            if new.dims and not inf.whole:
                self.record(name, out, new)
            return new
        if name in ("permute", "transpose", "swapaxes", "movedim", "t", "mT"):
            new_dims = _permuted(name, args, kwargs, t.dim(), inf.dims)
            return replace(self.merge(spatial, inf, out), dims=new_dims)
        if name in _MIX_LAST and any(d == t.dim() - 1 for d in inf.dims):
            return (
                self.whole((), self.where())
                if out.dim() < self.ndim
                else self.whole(_same(out, t, inf) or (), self.where())
            )
        if name == "roll":  # a cyclic shift wraps the border around: any pixel may land anywhere
            shifted = _arg(args, kwargs, 2, "dims", None)
            shifted = (
                range(t.dim()) if shifted is None else ([shifted] if isinstance(shifted, int) else shifted)
            )
            if any(d % t.dim() in inf.dims for d in shifted):
                return self.whole(inf.dims, self.where())
        if name in ("softmax", "log_softmax", "cumsum", "cumprod", "sort", "argsort", "topk"):
            dim = _arg(args, kwargs, 1, "dim", None)
            if dim is not None and dim % t.dim() in inf.dims:
                return self.whole(inf.dims, self.where())
        # the generic rule: keep the spatial axes if they survive with the same sizes
        dims = _same(out, t, inf)
        if dims is not None:
            for g, gi in ins:  # a global tensor laid out over all positions (attention output)
                if (
                    not gi.dims
                    and (gi.tokens or gi.whole)  # pooled statistics broadcast back (a gate) do not count
                    and g.dim() == out.dim()
                    and all(g.shape[d] == out.shape[d] > 1 for d in dims)
                ):
                    return self.whole(dims, gi.global_at or self.where())
            return self.merge(spatial, replace(inf, dims=dims), out)
        if name in _POINTWISE_SAFE_GLOBAL:
            flat = name in ("view", "reshape", "flatten", "unflatten")
            return replace(inf, dims=(), global_at=inf.global_at or self.where(), tokens=flat)
        raise self.unsupported(name, f"it turns shape {tuple(t.shape)} into {tuple(out.shape)}")

    def merge(self, spatial: list, best: _Info, out: torch.Tensor) -> _Info:
        # Branches meeting (x + f(x), torch.cat): the largest field wins (Araujo et al.). A
        # tensor that is global but laid out over the positions (attention output) makes the
        # result see the whole input; a broadcast gate (B, C, 1, 1) does not enlarge it.
        for _t, i in spatial:
            if i.whole and not best.whole:
                return self.whole(best.dims, i.global_at or self.where())
        return best

    def record(self, op: str, out: torch.Tensor, inf: _Info) -> None:
        name = self.stack[-1][0]
        self.rows.append(
            LayerRF(
                name,
                op,
                tuple(out.shape),
                PerAxis(map(_num, inf.size)),
                PerAxis(map(_num, inf.jump)),
                PerAxis(map(_num, inf.start)),
            )
        )

    def spatial(
        self, name: str, args: tuple, kwargs: dict, t: torch.Tensor, inf: _Info, out: torch.Tensor
    ) -> _Info:
        nd = len(inf.dims)
        in_sizes = [t.shape[d] for d in inf.dims]
        if name == "__getitem__" or name == "narrow":
            return self.index(name, args, kwargs, t, inf, out)
        if out.dim() != t.dim():
            raise self.unsupported(name, f"shape {tuple(t.shape)} became {tuple(out.shape)}")
        out_sizes = [out.shape[d] for d in inf.dims]
        size, jump, start = list(inf.size), list(inf.jump), list(inf.start)
        if name in _CONV or name in _POOL:
            if name in _CONV:
                w = _arg(args, kwargs, 1, "weight")
                k = tuple(w.shape[2:])
                s = _tuple(_arg(args, kwargs, 3, "stride", 1), nd)
                p = _arg(args, kwargs, 4, "padding", 0)
                d = _tuple(_arg(args, kwargs, 5, "dilation", 1), nd)
            else:
                shift = 1 if name.startswith("lp") else 0  # lp_pool(input, norm_type, kernel, stride)
                k = _tuple(_arg(args, kwargs, 1 + shift, "kernel_size"), nd)
                s = _tuple(_arg(args, kwargs, 2 + shift, "stride", None), nd)
                s = tuple(k[a] if s[a] is None else s[a] for a in range(nd))
                p = 0 if shift else _arg(args, kwargs, 3, "padding", 0)
                d = _tuple(_arg(args, kwargs, 4, "dilation", 1) if name.startswith("max") else 1, nd)
            if isinstance(p, str):
                p = (0,) * nd if p == "valid" else tuple((d[a] * (k[a] - 1)) // 2 for a in range(nd))
            p = _tuple(p, nd)
            for a in range(nd):
                size[a] += (k[a] - 1) * d[a] * jump[a]  # eq. 1
                start[a] += ((k[a] - 1) * d[a] / 2 - p[a]) * jump[a]  # eq. 2
                jump[a] *= s[a]  # eq. 3
        elif name in _CONV_T:
            w = _arg(args, kwargs, 1, "weight")
            k = tuple(w.shape[2:])
            s = _tuple(_arg(args, kwargs, 3, "stride", 1), nd)
            p = _tuple(_arg(args, kwargs, 4, "padding", 0), nd)
            d = _tuple(_arg(args, kwargs, 7, "dilation", 1), nd)
            for a in range(nd):
                # output o receives input i when o = i·s − p + m·d (m = 0..k−1): the widest set
                # of such i over the phases of o sets the growth (zeros inserted between inputs)
                span = 0
                for o in range(s[a] * d[a] * k[a] + s[a]):
                    ii = [
                        (o + p[a] - m * d[a]) // s[a]
                        for m in range(k[a])
                        if (o + p[a] - m * d[a]) % s[a] == 0
                    ]
                    if ii:
                        span = max(span, max(ii) - min(ii))
                size[a] += span * jump[a]
                start[a] += (p[a] - (k[a] - 1) * d[a] / 2) / s[a] * jump[a]
                jump[a] /= s[a]
        elif name in _ADAPTIVE or (
            name == "interpolate" and _arg(args, kwargs, 3, "mode", "nearest") == "area"
        ):
            for a in range(nd):
                n, o = in_sizes[a], out_sizes[a]
                k = max(math.ceil((i + 1) * n / o) - (i * n) // o for i in range(o))
                size[a] += (k - 1) * jump[a]
                start[a] += (math.ceil(n / o) - 1) / 2 * jump[a]
                jump[a] *= n / o
        elif name in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear"):
            mode = _arg(args, kwargs, 3, "mode", "nearest")
            if name == "upsample_bilinear":
                mode = "bilinear"
            align = bool(_arg(args, kwargs, 4, "align_corners", False)) or name == "upsample_bilinear"
            taps = {
                "nearest": 1,
                "nearest-exact": 1,
                "linear": 2,
                "bilinear": 2,
                "trilinear": 2,
                "bicubic": 4,
            }
            if mode not in taps:
                raise self.unsupported(f"interpolate(mode={mode!r})")
            for a in range(nd):
                n, o = in_sizes[a], out_sizes[a]
                ratio = n / o
                if mode == "nearest-exact":
                    first = math.floor(0.5 * ratio)
                elif mode == "nearest" or align:
                    first = 0.0
                else:
                    first = max(0.5 * ratio - 0.5, 0.0)
                size[a] += (taps[mode] - 1) * jump[a]  # neighbouring input pixels blended
                start[a] += first * jump[a]
                jump[a] *= (n - 1) / (o - 1) if align and o > 1 else ratio
        elif name == "pad":
            pad = list(_arg(args, kwargs, 1, "pad"))
            for a, dim in enumerate(inf.dims):
                from_end = t.dim() - 1 - dim
                left = pad[2 * from_end] if 2 * from_end < len(pad) else 0
                start[a] -= left * jump[a]
        elif name == "pixel_shuffle":
            r = _arg(args, kwargs, 1, "upscale_factor")
            for a in range(nd):
                start[a] -= (r - 1) / (2 * r) * jump[a]
                jump[a] /= r
        elif name == "pixel_unshuffle":
            r = _arg(args, kwargs, 1, "downscale_factor")
            for a in range(nd):
                size[a] += (r - 1) * jump[a]
                start[a] += (r - 1) / 2 * jump[a]
                jump[a] *= r
        new = replace(inf, size=tuple(size), jump=tuple(jump), start=tuple(start))
        if (
            (name in _POOL or name in _ADAPTIVE)
            and all(o == 1 for o in out_sizes)
            and any(n > 1 for n in in_sizes)
        ):
            # global pooling: report the field of the feature map it summarises
            self.record(name, out, new)
            return replace(inf, dims=(), global_at=self.where())
        return new

    def index(
        self, name: str, args: tuple, kwargs: dict, t: torch.Tensor, inf: _Info, out: torch.Tensor
    ) -> _Info:
        if name == "narrow":
            dim, begin = _arg(args, kwargs, 1, "dim") % t.dim(), _arg(args, kwargs, 2, "start")
            idx: list[Any] = [slice(None)] * t.dim()
            idx[dim] = slice(begin, begin + _arg(args, kwargs, 3, "length"))
        else:
            idx = list(args[1]) if isinstance(args[1], tuple) else [args[1]]
        if any(isinstance(i, torch.Tensor) or isinstance(i, list) for i in idx):
            if any(isinstance(i, (torch.Tensor, list)) for k, i in enumerate(idx) if k in inf.dims):
                raise self.unsupported("advanced indexing", "on a spatial axis")
        n_real = sum(1 for i in idx if i is not None and i is not Ellipsis)
        if Ellipsis in idx:
            e = idx.index(Ellipsis)
            idx = idx[:e] + [slice(None)] * (t.dim() - n_real) + idx[e + 1 :]
        idx += [slice(None)] * (t.dim() - sum(1 for i in idx if i is not None))
        size, jump, start = list(inf.size), list(inf.jump), list(inf.start)
        new_dims: list[int] = []
        src, dst = 0, 0
        for i in idx:
            if i is None:
                dst += 1
                continue
            if src in inf.dims:
                a = inf.dims.index(src)
                if isinstance(i, slice):
                    b, _, step = i.indices(t.shape[src])
                    start[a] += b * jump[a]
                    jump[a] *= step
                    new_dims.append(dst)
                else:  # an int picks one row or column: the axis disappears
                    start[a] += (int(i) % t.shape[src]) * jump[a]
            if isinstance(i, slice) or isinstance(i, (torch.Tensor, list)):
                dst += 1
            src += 1
        if len(new_dims) != len(inf.dims):
            return replace(inf, dims=(), size=tuple(size), start=tuple(start), global_at=self.where())
        return replace(inf, dims=tuple(new_dims), size=tuple(size), jump=tuple(jump), start=tuple(start))


def _first_tensor(args: tuple, kwargs: dict) -> Any:
    if args:
        return args[0]
    return kwargs.get("input")


def _same(out: torch.Tensor, t: torch.Tensor, inf: _Info) -> tuple[int, ...] | None:
    """Where the spatial axes of ``t`` sit in ``out`` if they survive unchanged, else None."""
    sizes = [t.shape[d] for d in inf.dims]
    if out.dim() == t.dim() and all(out.shape[d] == s for d, s in zip(inf.dims, sizes)):
        return inf.dims
    # spatial axes trailing in the input and in the output (e.g. view(B, g, C/g, H, W))
    n = len(sizes)
    trailing = tuple(range(t.dim() - n, t.dim()))
    if inf.dims == trailing and out.dim() >= n and list(out.shape[-n:]) == sizes:
        return tuple(range(out.dim() - n, out.dim()))
    return None


def _permuted(name: str, args: tuple, kwargs: dict, ndim: int, dims: tuple[int, ...]) -> tuple[int, ...]:
    order = list(range(ndim))
    if name == "permute":
        rest = args[1:]
        order = list(rest[0]) if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else list(rest)
        order = list(kwargs.get("dims", order))
        order = [o % ndim for o in order]
    elif name in ("transpose", "swapaxes"):
        a, b = _arg(args, kwargs, 1, "dim0") % ndim, _arg(args, kwargs, 2, "dim1") % ndim
        order[a], order[b] = order[b], order[a]
    elif name in ("t", "mT"):
        order[-1], order[-2] = order[-2], order[-1]
    elif name == "movedim":
        src, dst = _arg(args, kwargs, 1, "source"), _arg(args, kwargs, 2, "destination")
        src = [src] if isinstance(src, int) else list(src)
        dst = [dst] if isinstance(dst, int) else list(dst)
        src, dst = [s % ndim for s in src], [d % ndim for d in dst]
        rest = [i for i in range(ndim) if i not in src]
        order = [None] * ndim  # type: ignore[list-item]
        for s, d in zip(src, dst):
            order[d] = s
        it = iter(rest)
        order = [o if o is not None else next(it) for o in order]
    return tuple(order.index(d) for d in dims)


def _trace(model: nn.Module, input_size: Any, ndim: int | None = None) -> tuple[_Tracer, Any, torch.Tensor]:
    _check_module(model)
    x = example_input(model, input_size)
    ndim = ndim or x.dim() - 2
    if ndim < 1:
        raise ValueError(f"input of shape {tuple(x.shape)} has no spatial axes; give (C, H, W) or an int")
    tracer = _Tracer(ndim, tuple(x.shape))
    n = ndim
    tracer.tag(x, _Info(tuple(range(x.dim() - n, x.dim())), (1.0,) * n, (1.0,) * n, (0.0,) * n))
    handles = []
    for name, module in model.named_modules():

        def pre(mod: nn.Module, _inp: Any, name: str = name) -> None:
            tracer.stack.append((name, mod))

        def post(mod: nn.Module, _inp: Any, _out: Any) -> None:
            if len(tracer.stack) > 1:
                tracer.stack.pop()

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    try:
        with _EvalMode(model), torch.no_grad(), tracer:
            try:
                out = model(x)
            except UnsupportedLayerError:
                raise
            except RuntimeError as e:
                raise ValueError(
                    f"the model failed on an input of shape {tuple(x.shape)}: {e}. Check input_size "
                    "(channels, and a size large enough for every downsampling)"
                ) from e
    finally:
        for h in handles:
            h.remove()
    return tracer, out, x


def _outputs(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _outputs(o)]
    return []


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
    tracer, out, x = _trace(model, input_size)
    infos = [tracer.info(o) for o in _outputs(out)]
    infos = [i for i in infos if i is not None]
    if not infos:
        raise ValueError("the model's output does not depend on its input (nothing to measure)")
    spatial_rows = tracer.rows
    best = max(infos, key=lambda i: (bool(i.dims), i.whole, max(i.size)))
    first = _outputs(out)[0]
    return ReceptiveField(
        size=PerAxis(map(_num, best.size)),
        stride=PerAxis(map(_num, best.jump)),
        offset=PerAxis(map(_num, best.start)),
        input_shape=tuple(x.shape),
        output_shape=tuple(first.shape),
        layers=spatial_rows,
        global_at=None if best.dims else best.global_at,
        whole=best.whole,
    )


# --------------------------------------------------------------------------------------------
# Effective receptive field
# --------------------------------------------------------------------------------------------


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
        if not isinstance(input, torch.Tensor) or input.dim() != x0.dim():
            raise ValueError(f"input must be a tensor of {x0.dim()} dims like {tuple(x0.shape)}")
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
    y = _outputs(y)[0]
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
