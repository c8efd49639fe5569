"""One way to check what a function was given, with messages that read the same everywhere.

Every public ``coursekit`` function that takes tensors checks them with :func:`tensor` (one
tensor) or :func:`same_shape` (a prediction and its target) before it computes anything, so a
wrong shape, channel count, dtype or device fails at once with a message of one form::

    NAME must be a tensor of shape SHAPE, got SHAPE'; HINT

``SHAPE`` names the axes the way the docstrings do: ``(B, C, H, W)``, ``(B, 3, H, W)``,
``(N, D)``. The hint says what to do, for the common mistakes:

- a single image without its batch axis → "add a batch dimension with x[None]";
- a grey image where colour is needed, or the reverse → how to convert;
- an integer image (0–255 ``uint8``) where floats in [0, 1] are needed → ``x.float() / 255``.

This module sits at the bottom of the package (it imports only torch): data, nn, models,
metrics and analysis all use it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["same_shape", "tensor"]

_LAYOUTS = {1: ("N",), 2: ("N", "D"), 3: ("C", "H", "W"), 4: ("B", "C", "H", "W"), 5: ("B", "T", "C", "H", "W")}


def _describe(ndim: int | None, channels: int | None, names: str | None) -> str:
    """The expected shape as the docstrings write it: '(B, 3, H, W)', '(N, D)', '(B, ...)'."""
    if names is not None:
        return names
    if ndim is None:
        return "(B, ...)"
    axes = list(_LAYOUTS.get(ndim, ("B",) + ("...",) * (ndim - 1)))
    if channels is not None and ndim >= 3:
        axes[-3] = str(channels)
    return "(" + ", ".join(axes) + ")"


def _hint(x: torch.Tensor, ndim: int | None, channels: int | None) -> str:
    if ndim is not None and x.dim() == ndim - 1:
        return "add a batch dimension with x[None] for a single example"
    if channels is not None and x.dim() >= 3 and x.shape[-3] != channels:
        have = x.shape[-3]
        if channels == 1 and have == 3:
            return "convert colour to grey with x.mean(1, keepdim=True)"
        if channels == 3 and have == 1:
            return "repeat the grey channel with x.expand(-1, 3, -1, -1)"
        if channels == 3 and have == 4:
            return "drop the alpha channel with x[:, :3]"
        if x.dim() == 4 and x.shape[-1] == channels:
            return "the channels look last (B, H, W, C): use x.permute(0, 3, 1, 2)"
        return f"this function works on {channels}-channel inputs"
    return "check the tensor's shape against the docstring"


def tensor(
    x: object,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    channels: int | None = None,
    shape: str | None = None,
    floating: bool = False,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Check one argument and return it: a tensor with ``ndim`` axes (one of several if a
    sequence), ``channels`` in axis -3 (images), floating point if ``floating``, on ``device``.

    ``shape`` overrides how the expected shape is printed (e.g. ``"(N, D)"``).
    Raises ``TypeError`` for a non-tensor or a wrong dtype, ``ValueError`` for a wrong shape and
    ``RuntimeError`` for a wrong device, each saying what to do.
    """
    dims = (ndim,) if isinstance(ndim, int) else tuple(ndim) if ndim is not None else None
    want = _describe(dims[0] if dims and len(dims) == 1 else None, channels, shape)
    if dims and len(dims) > 1 and shape is None:
        want = " or ".join(_describe(d, channels, None) for d in dims)
    if not isinstance(x, torch.Tensor):
        kind = type(x).__name__
        hint = "convert it with torch.as_tensor(...)" if kind in ("ndarray", "list", "tuple") else ""
        raise TypeError(f"{name} must be a tensor of shape {want}, got {kind}" + (f"; {hint}" if hint else ""))
    bad_ndim = dims is not None and x.dim() not in dims
    bad_channels = channels is not None and (x.dim() < 3 or x.shape[-3] != channels)
    if bad_ndim or bad_channels:
        hint = _hint(x, dims[0] if dims else None, channels)
        raise ValueError(f"{name} must be a tensor of shape {want}, got {tuple(x.shape)}; {hint}")
    if floating and not x.is_floating_point():
        hint = "scale 0-255 images with x.float() / 255" if x.dtype == torch.uint8 else "convert it with x.float()"
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}; {hint}")
    if device is not None and x.device != torch.device(device):
        raise RuntimeError(
            f"{name} is on {x.device} but this works on {torch.device(device)}; "
            f"move it with x.to({str(torch.device(device))!r}) (inputs and models must share a device)"
        )
    return x


def same_shape(pred: object, target: object, name: str, *, ndim: int | None = 4, floating: bool = True) -> None:
    """Check a prediction and its target: tensors of one shape (``ndim`` axes), on one device."""
    a = tensor(pred, f"{name}: the prediction", ndim=ndim, floating=floating)
    b = tensor(target, f"{name}: the target", ndim=ndim, floating=floating)
    if a.shape != b.shape:
        raise ValueError(
            f"{name}: the prediction and the target must have the same shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}; resize one of them (e.g. F.interpolate) or compare matching crops"
        )
    if a.device != b.device:
        raise RuntimeError(
            f"{name}: the prediction is on {a.device} and the target on {b.device}; move both to one device"
        )
