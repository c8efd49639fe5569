"""Parameters and multiply–accumulates (MACs): how big and how expensive a network is.

One MAC is one multiplication followed by one addition, ``y += w * x``. We count the MACs of
convolutions, transposed convolutions, linear layers and matrix products (attention included),
for ONE input image; additions of biases, normalisations, activations and pooling are left out,
as in Canziani et al., "An Analysis of Deep Neural Network Models for Practical Applications"
(arXiv 2017) and in the "GFLOPS" that torchvision lists in its weight metadata (which are, in
fact, GMACs: ResNet-50 at 224×224 is listed as 4.089, and that is its MAC count).

Formulas (per image)::

    convolution             MACs = C_out·H_out·W_out · (C_in / groups) · k_h·k_w
    transposed convolution  MACs = C_in·H_in·W_in · (C_out / groups) · k_h·k_w
    linear                  MACs = out_features · in_features            (per token)
    attention               MACs = L·S·(E + E_v) per head                (QKᵀ and A·V)

The counting is done on the operations the network actually runs (PyTorch's
``torch.utils.flop_counter``, which reports FLOPs = 2 × MACs), so branches, skips, and layers
called twice are all counted as executed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["UnsupportedLayerError", "count_macs", "count_params", "example_input", "macs_by_module", "module_macs",
           "skeleton"]


class UnsupportedLayerError(TypeError):
    """A layer that the analysis cannot reason about (its name and type are in the message)."""


# Layers whose multiply–accumulates the operation counter cannot see (fused recurrent kernels).
_UNCOUNTED = (nn.RNNBase,)


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (shared parameters counted once).

    >>> count_params(nn.Conv2d(3, 64, 3))   # 64·3·3·3 weights + 64 biases
    1792
    """
    _check_module(model)
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def _check_module(model: Any) -> None:
    """An argument check (a module, not a tensor), in the form of :mod:`coursekit.validate`'s messages."""
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module (a layer or a network), got {type(model).__name__}; "
            "build the network first, e.g. torchvision.models.resnet50(weights=None)"
        )


_CONVS = {
    nn.Conv1d: 1,
    nn.ConvTranspose1d: 1,
    nn.Conv2d: 2,
    nn.ConvTranspose2d: 2,
    nn.Conv3d: 3,
    nn.ConvTranspose3d: 3,
}


def _first_layer(model: nn.Module) -> tuple[int | None, int]:
    """(in_channels, spatial dims) of the first convolution; (0, 0) when a linear layer comes first."""
    for m in model.modules():
        if type(m) in _CONVS or isinstance(m, tuple(_CONVS)):
            dims = next(d for cls, d in _CONVS.items() if isinstance(m, cls))
            return m.in_channels, dims
        if isinstance(m, (nn.Linear, nn.RNNBase, nn.MultiheadAttention)):
            return 0, 0
    return None, 2


def example_input(model: nn.Module, input_size: Any) -> torch.Tensor:
    """A random input for ``model`` built from ``input_size``.

    For an image network: an int ``S`` (an S×S image), ``(H, W)``, ``(C, H, W)`` or
    ``(B, C, H, W)``; 1-D and 3-D networks (read from the first convolution) likewise take
    ``L``/``(C, L)`` and ``S``/``(D, H, W)``/``(C, D, H, W)``. The channel count, when not given,
    is read from the first convolution (3 if there is none). For a model that starts with a
    linear layer, ``input_size`` is one sample's shape, e.g. ``784`` or ``(tokens, features)``.
    The tensor lies on the model's device with its dtype.
    """
    _check_module(model)
    if isinstance(input_size, torch.Size):
        input_size = tuple(input_size)
    if (
        isinstance(input_size, bool)
        or not isinstance(input_size, (int, Sequence))
        or isinstance(input_size, str)
    ):
        raise ValueError(
            f"input_size must be an int S (an S×S image) or a tuple (H, W), (C, H, W) or "
            f"(B, C, H, W); got {input_size!r}"
        )
    sizes = (input_size,) if isinstance(input_size, int) else tuple(input_size)
    if not sizes or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise ValueError(f"input_size must hold positive ints, e.g. 224 or (3, 224, 224); got {input_size!r}")
    channels, n = _first_layer(model)
    if channels == 0:  # a model that starts with a linear layer: input_size is one sample's shape
        shape = (1, *sizes)
    elif len(sizes) == 1:
        shape = (1, channels or 3, *(sizes * n))
    elif len(sizes) == n:
        shape = (1, channels or 3, *sizes)
    elif len(sizes) == n + 1:
        shape = (1, *sizes)
    elif len(sizes) == n + 2:
        shape = sizes
    else:
        raise ValueError(
            f"input_size {input_size!r} does not fit a {n}-D network: give S, {n} sizes, "
            f"(C, {n} sizes) or (B, C, {n} sizes)"
        )
    param = next(iter(model.parameters()), None)
    dev = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    return torch.randn(shape, device=dev, dtype=dtype)


def _cpu_sdpa_mapping() -> dict[Any, Any]:
    """Teach the counter the CPU attention kernel (it knows only the CUDA ones)."""
    from torch.utils import flop_counter

    def sdpa(query: Any, key: Any, value: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
        return flop_counter.sdpa_flop_count(query, key, value)  # 2·L·S·(E + E_v) per head

    mapping = {}
    for name in ("_scaled_dot_product_flash_attention_for_cpu",):
        op = getattr(torch.ops.aten, name, None)
        if op is not None:
            mapping[op] = sdpa
    return mapping


class _EvalMode:
    """Put a model in eval mode for a measurement and restore each module's own mode after."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.modes: list[tuple[nn.Module, bool]] = []

    def __enter__(self) -> nn.Module:
        self.modes = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        return self.model

    def __exit__(self, *exc: Any) -> None:
        for m, mode in self.modes:
            m.training = mode


def _run_counter(model: nn.Module, input_size: Any) -> Any:
    from torch.utils.flop_counter import FlopCounterMode

    _check_module(model)
    for name, m in model.named_modules():
        if isinstance(m, _UNCOUNTED):
            raise UnsupportedLayerError(
                f"count_macs cannot count layer '{name or type(m).__name__}' ({type(m).__name__}): "
                "recurrent layers run as one fused kernel; count them by hand "
                "(4·H·(I+H) MACs per step for an LSTM)"
            )
    x = example_input(model, input_size)
    fastpath = getattr(torch.backends, "mha", None)
    old = fastpath.get_fastpath_enabled() if fastpath is not None else None
    counter = FlopCounterMode(display=False, custom_mapping=_cpu_sdpa_mapping())
    try:
        if fastpath is not None:
            fastpath.set_fastpath_enabled(False)  # the fused attention kernel hides its matmuls
        with _EvalMode(model), counter, torch.no_grad():
            try:
                model(x)
            except RuntimeError as e:
                raise ValueError(
                    f"the model failed on an input of shape {tuple(x.shape)}: {e}. Check input_size "
                    "(channels and a size large enough for every downsampling)"
                ) from e
    finally:
        if fastpath is not None:
            fastpath.set_fastpath_enabled(old)
    return counter, x.shape[0]


def count_macs(model: nn.Module, input_size: Any) -> int:
    """Multiply–accumulates of one forward pass of ONE image of ``input_size``.

    ``input_size``: as in :func:`example_input` (an int, (H, W), (C, H, W) or (B, C, H, W); a
    batch is divided out). Raises :class:`UnsupportedLayerError` for layers it cannot count.

    >>> count_macs(nn.Conv2d(3, 64, 3, padding=1), 32)   # 64·32·32 · 3·3·3
    1769472
    """
    counter, batch = _run_counter(model, input_size)
    return counter.get_total_flops() // 2 // batch


def macs_by_module(model: nn.Module, input_size: Any, depth: int = 1) -> dict[str, int]:
    """MACs per submodule down to ``depth`` levels of names (``{"layer1": ..., "fc": ...}``).

    Modules that run no counted operation are left out; the values add up to
    :func:`count_macs` when ``depth`` ≥ 1 and every counted op lies inside a submodule.
    """
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an int ≥ 1, got {depth!r}")
    counter, batch = _run_counter(model, input_size)
    out: dict[str, int] = {}
    for fqn, ops in counter.get_flop_counts().items():
        parts = fqn.split(".")
        if fqn == "Global" or len(parts) - 1 != depth:
            continue
        out[".".join(parts[1:])] = sum(ops.values()) // 2 // batch
    return out


def module_macs(model: nn.Module, x: torch.Tensor) -> int:
    """MACs per image of ``model(x)`` seen by forward hooks on its convolution and linear modules.

    The way Canziani et al.'s counter (Paszke's torch-opCounter) works: wrap each module's
    forward pass for one run, count from its output's shape, unwrap. A hook sees only modules
    that are *called*: products computed in functional code (attention's QKᵀ and A·V, a projection
    applied to a weight tensor directly) are invisible to it, while :func:`count_macs` counts them.
    Transposed convolutions are not counted here.
    """
    _check_module(model)
    total = 0

    def hook(layer: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        values = output[0].numel()  # one image: C_out·H_out·W_out, or tokens·out_features
        if isinstance(layer, nn.Linear):
            total += values * layer.in_features
        else:  # a convolution: each output value sums (C_in / groups)·k_h·k_w products
            total += values * (layer.in_channels // layer.groups) * math.prod(layer.kernel_size)

    convs = tuple(cls for cls in _CONVS if not cls.__name__.startswith("ConvTranspose"))
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Linear, *convs))]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:  # leave the model as it was
            handle.remove()
    return total


def skeleton(name: str, **kwargs: Any) -> nn.Module:
    """A torchvision architecture by name, untrained and without memory (on the "meta" device).

    Counting parameters and MACs needs only shapes. A few constructors compute with tensors while
    they build (RegNet derives its stage widths with torch ops, which meta tensors cannot answer);
    those are built on the CPU instead.
    """
    import torchvision

    try:
        with torch.device("meta"):
            return torchvision.models.get_model(name, weights=None, **kwargs)
    except NotImplementedError:  # "Cannot copy out of meta tensor": the constructor needs real values
        return torchvision.models.get_model(name, weights=None, **kwargs)
