"""The op tables and shape helpers behind the receptive-field tracer (private).

Which PyTorch functions move pixels how: the names here are the ones ``TorchFunctionMode``
reports (``conv2d``, ``max_pool2d``, ``__getitem__`` …), so this is the file to update when a
torch release renames or adds a function. The arithmetic itself is in :mod:`._rf_tracer`; the
theory (eqs. 1–3) in :mod:`.receptive_field`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


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
