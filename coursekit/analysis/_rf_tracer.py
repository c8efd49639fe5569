"""The op-by-op receptive-field tracer (private): runs a network once and follows every tensor.

The network runs on an example input under a ``TorchFunctionMode`` that sees every torch function
the forward calls (``F.conv2d``, ``torch.cat``, ``x + y``, ``x.view`` …), so any Python control
flow is followed, and every tensor is tagged with its (size, jump, start) per spatial axis, updated
by eqs. 1–3 of :mod:`.receptive_field` (Araujo et al., Distill 2019). Which function does what is
in :mod:`._rf_ops`. Conventions, written where they apply: branches meeting take the largest field;
normalisation statistics and channel gates computed from global averages do not enlarge the field;
self-attention over positions makes it the whole input; global pooling or a flatten reports the
field of the last spatial feature map.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ._rf_ops import (
    _ADAPTIVE,
    _ATTENTION,
    _CONV,
    _CONV_T,
    _CREATORS,
    _MIX_LAST,
    _POINTWISE_SAFE_GLOBAL,
    _POOL,
    _UNSUPPORTED,
    _arg,
    _first_tensor,
    _Info,
    _name,
    _permuted,
    _same,
    _tuple,
)
from .complexity import UnsupportedLayerError, _check_module, _EvalMode, example_input

__all__ = ["Row", "outputs", "trace"]

# one row of the layer-by-layer table: (module path, torch function, output shape, size, jump, start)
Row = tuple[str, str, tuple[int, ...], tuple[float, ...], tuple[float, ...], tuple[float, ...]]


class _Tracer(TorchFunctionMode):
    def __init__(self, ndim: int, input_shape: tuple[int, ...]):
        super().__init__()
        self.ndim = ndim
        self.input_extent = input_shape[-ndim:]
        self.infos: dict[int, tuple[torch.Tensor, _Info]] = {}
        self.stack: list[tuple[str, nn.Module]] = [("", None)]  # type: ignore[list-item]
        self.rows: list[Row] = []

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
        self.rows.append((self.stack[-1][0], op, tuple(out.shape), inf.size, inf.jump, inf.start))

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


def trace(model: nn.Module, input_size: Any, ndim: int | None = None) -> tuple[_Tracer, Any, torch.Tensor]:
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


def outputs(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in outputs(o)]
    return []
