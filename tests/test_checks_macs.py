"""Notebook 1.1's whole-network MAC counter: the reference passes, each realistic mistake fails
with a hint, and the course's own counters (and PyTorch's) are refused as shortcuts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from coursekit.checks import _core
from coursekit.checks._macs import hooks_on, mac_cases
from coursekit.checks.architecture import check_hook_macs

LAYERS = (nn.Conv2d, nn.Linear)


def _counter(per_layer, *, on=lambda m: isinstance(m, LAYERS), remove=True, per_image=True):
    """A hook counter: ``per_layer(layer, input, output)`` gives one call's MACs for the batch."""

    def count(model, x):
        total = 0

        def hook(layer, inputs, output):
            nonlocal total
            total += per_layer(layer, inputs[0], output)

        handles = [m.register_forward_hook(hook) for m in model.modules() if on(m)]
        try:
            with torch.no_grad():
                model(x)
        finally:
            for h in handles if remove else ():
                h.remove()
        return total // x.shape[0] if per_image else total

    return count


def _right(layer, x, y):
    if isinstance(layer, nn.Conv2d):
        kh, kw = layer.kernel_size
        return y.numel() * layer.in_channels // layer.groups * kh * kw
    return y.numel() * layer.in_features


hook_macs = _counter(_right)


# realistic mistakes
def _forgets_groups(layer, x, y):
    if isinstance(layer, nn.Conv2d):
        return y.numel() * layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
    return _right(layer, x, y)


def _counts_parameters(layer, x, y):
    return sum(p.numel() for p in layer.parameters()) * x.shape[0]  # the weights, not their uses


def _input_size(layer, x, y):  # C_out·H_in·W_in: strides and dilation ignored
    if isinstance(layer, nn.Conv2d):
        kh, kw = layer.kernel_size
        area = x.shape[0] * x.shape[-2] * x.shape[-1]
        return area * layer.out_channels * layer.in_channels // layer.groups * kh * kw
    return _right(layer, x, y)


def _flops(layer, x, y):
    return 2 * _right(layer, x, y)


def _adds_bias(layer, x, y):
    return _right(layer, x, y) + (y.numel() if layer.bias is not None else 0)


def _every_module(layer, x, y):  # "weights × output positions" on every module, containers too
    if not isinstance(y, torch.Tensor) or y.dim() < 2:
        return 0
    weights = sum(p.numel() for p in layer.parameters() if p.dim() > 1)
    positions = y.numel() // y.shape[-1] if isinstance(layer, nn.Linear) else y[:, 0].numel()
    return weights * positions


_running = {"total": 0}


def _running_total(model, x):  # a total that outlives the call
    def hook(layer, inputs, output):
        _running["total"] += _right(layer, inputs[0], output) // x.shape[0]

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, LAYERS)]
    model(x)
    for h in handles:
        h.remove()
    return _running["total"]


WRONG = {
    "forgets groups": _counter(_forgets_groups),
    "counts parameters": _counter(_counts_parameters),
    "input instead of output size": _counter(_input_size),
    "counts FLOPs": _counter(_flops),
    "adds the bias": _counter(_adds_bias),
    "forgets the linear layers": _counter(_right, on=lambda m: isinstance(m, nn.Conv2d)),
    "whole batch": _counter(_right, per_image=False),
    "leaks its hooks": _counter(_right, remove=False),
    "hooks on containers too": _counter(_every_module, on=lambda m: True),
    "a running total": _running_total,
}


def _stub(model, x):
    raise NotImplementedError()


def test_the_reference_passes_and_leaves_no_hooks():
    for _ in range(3):  # new random networks at every run
        assert check_hook_macs(hook_macs, quiet=True).passed
    for _, model, x in mac_cases(0):
        hook_macs(model, x)
        assert hooks_on(model) == 0
    leaky = mac_cases(0)[0]
    WRONG["leaks its hooks"](*leaky[1:])
    assert hooks_on(leaky[1]) > 0  # the helper sees a leak


def test_a_stub_is_not_done():
    assert check_hook_macs(_stub, quiet=True).status == "not done"


@pytest.mark.parametrize("name", sorted(WRONG))
def test_each_realistic_mistake_fails_with_a_hint(name):
    r = check_hook_macs(WRONG[name], quiet=True)
    assert r.status == "failed", (name, r)
    assert r.hint, name


def test_each_mistake_is_caught_for_its_own_reason():
    """The mistakes are not all caught by the first network: each meets its own case or message."""
    _core._FAILURES.pop(check_hook_macs.exercise_name, None)
    assert "grouped" in check_hook_macs(WRONG["forgets groups"], quiet=True).message
    assert "still registered" in check_hook_macs(WRONG["leaks its hooks"], quiet=True).message
    _running["total"] = 0
    assert "second time" in check_hook_macs(WRONG["a running total"], quiet=True).message
    _core._FAILURES.pop(check_hook_macs.exercise_name, None)
    assert "ONE image" in check_hook_macs(WRONG["whole batch"], quiet=True).hint


def _count_macs(model, x):
    from coursekit.analysis import count_macs

    return count_macs(model, tuple(x.shape))


def _macs_by_module(model, x):
    from coursekit.analysis.complexity import macs_by_module

    return sum(macs_by_module(model, tuple(x.shape)).values())


def _flop_counter(model, x):
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() // 2 // x.shape[0]


def _module_macs(model, x):
    from coursekit.analysis import module_macs

    return module_macs(model, x)


SHORTCUTS = {"count_macs": _count_macs, "macs_by_module": _macs_by_module, "FlopCounterMode": _flop_counter,
             "module_macs": _module_macs}


@pytest.mark.parametrize("name", sorted(SHORTCUTS))
def test_the_shortcuts_are_real_and_refused(name, monkeypatch):
    r = check_hook_macs(SHORTCUTS[name], quiet=True)
    assert r.status == "failed" and "is off while the check runs" in r.message, r
    with monkeypatch.context() as m:  # without the guards the same cheat passes: the guard is what stops it
        m.setattr(_core._Guard, "wrap", lambda self, fn: fn)
        assert check_hook_macs(SHORTCUTS[name], quiet=True).passed


def test_the_course_counter_handed_in_itself_fails_and_is_restored():
    from coursekit.analysis import complexity

    original = complexity.count_macs
    r = check_hook_macs(complexity.count_macs, quiet=True)
    assert r.status == "failed" and "is off while the check runs" in r.message
    assert complexity.count_macs is original
    assert _count_macs(nn.Conv2d(3, 4, 3), torch.zeros(1, 3, 8, 8)) == 4 * 6 * 6 * 27


def test_the_course_hook_counter_agrees_with_the_operation_counter_and_leaves_no_hooks():
    from coursekit.analysis import count_macs, module_macs

    for _, model, x in mac_cases(1):
        assert module_macs(model, x) == count_macs(model, tuple(x.shape)) == hook_macs(model, x)
        assert hooks_on(model) == 0
    from coursekit.analysis import skeleton

    vit = skeleton("vit_b_16")  # attention's projections and products run as functions: no hook sees them
    assert module_macs(vit, torch.zeros(1, 3, 224, 224, device="meta")) < 0.7 * count_macs(vit, 224)
