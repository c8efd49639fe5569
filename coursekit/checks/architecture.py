"""Exercise checks for Section 1 (architecture elements, notebooks 1.1–1.4).

Each check runs the student's function on fresh random cases against a reference written here
(independent of the student's code) and prints ✅ / ⏳ / ❌ with a hint.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ._core import Mismatch, arg_is, check_seed, exercise, expect, expect_close, expect_equal, expect_shape

__all__ = [
    "check_conv_macs",
    "check_conv_params",
    "check_dense_block_forward",
    "check_dilate_kernel",
    "check_grouped_conv",
    "check_grouped_params",
    "check_hook_macs",
    "check_matched_width",
    "check_receptive_fields",
]


# A convolution is only the grouped-convolution shortcut when it is asked for more than one group
# (the position is that of ``groups`` in each signature; ``self`` counts for ``__init__``).
_GROUPED = arg_is("groups", 6, lambda g: g != 1, default=1)  # F.conv2d / torch.conv2d
_GROUPED_MODULE = arg_is("groups", 7, lambda g: g != 1, default=1)  # nn.Conv2d(...)
_GROUPED_CONVOLUTION = arg_is("groups", 8, lambda g: g != 1, default=1)  # torch.convolution
# A strided transposed convolution of the taps with a 1×1 one spreads them apart: the dilated kernel.
_STRIDED = arg_is("stride", 3, lambda s: s not in (1, (1, 1), [1, 1]), default=1)


# ---- 1.1 ---------------------------------------------------------------------------------------
@exercise("parameters of a convolution", shortcuts=("torch.nn.Conv2d.__init__",))
def check_conv_params(student_fn: Callable[..., int]) -> None:
    cases = [(3, 64, 3, True), (64, 128, 1, False), (256, 256, 3, False), (3, 96, 11, True)]
    for c_in, c_out, k, bias in cases:
        want = sum(p.numel() for p in nn.Conv2d(c_in, c_out, k, bias=bias).parameters())
        expect_equal(
            student_fn(c_in, c_out, k, bias),
            want,
            f"conv_params({c_in}, {c_out}, {k}, bias={bias})",
            hint=(
                "a convolution has one filter per output channel, and each filter looks at every input channel",
                "each of the C_out filters holds C_in·k·k weights; the bias adds one number per filter, and only when bias is on",
            ),
        )


@exercise("multiply–accumulates of a convolution", answer=("coursekit.nn.grouped.grouped_conv_macs",), shortcuts=("torch.nn.Conv2d.__init__",))
def check_conv_macs(student_fn: Callable[..., int]) -> None:
    rng = random.Random(check_seed())
    for _ in range(4):
        c_in, c_out, k = rng.choice([1, 3, 16]), rng.choice([8, 32]), rng.choice([1, 3, 5])
        h, w = rng.randint(4, 20), rng.randint(4, 20)
        want = c_out * h * w * c_in * k * k
        got = student_fn(c_in, c_out, k, h, w)
        expect_equal(
            got,
            want,
            f"conv_macs(c_in={c_in}, c_out={c_out}, k={k}, h_out={h}, w_out={w})",
            hint=(
                "the cost is counted per OUTPUT value: how many multiply–adds does one output value take?",
                "there are C_out·H_out·W_out output values, each a weighted sum over C_in·k·k inputs",
                "MACs are not FLOPs: one multiply–accumulate counts once, do not double it",
            ),
        )


# ---- 1.2 ---------------------------------------------------------------------------------------
def _receptive_fields_ref(layers: list[tuple[int, int, int, int]]) -> list[tuple[int, int, float]]:
    """(size, jump, start) after each (kernel, stride, padding, dilation) layer, written here
    independently of coursekit.analysis: the forward recurrence with the dilated kernel's extent."""
    size, jump, start = 1, 1, 0.0  # one input pixel, neighbours 1 px apart, output 0 centred on pixel 0
    out = []
    for k, s, p, d in layers:
        size = size + (k - 1) * d * jump  # the kernel spans (k − 1)·d + 1 of its input pixels, `jump` px apart
        start = start + ((k - 1) * d / 2 - p) * jump  # the window's centre, with the jump before the stride
        jump = jump * s
        out.append((size, jump, start))
    return out


# Yu & Koltun (ICLR 2016), Table 1: seven 3×3 layers with dilations 1, 1, 2, 4, 8, 16, 1 (padding =
# dilation keeps the size, as in the authors' code), then a 1×1; fields 3, 5, 9, 17, 33, 65, 67, 67.
_CONTEXT_STACK = [(3, 1, d, d) for d in (1, 1, 2, 4, 8, 16, 1)] + [(1, 1, 0, 1)]
_FIELD_CASES = [
    ("one plain 3×3 layer", [(3, 1, 1, 1)]),
    ("a plain 3×3, then a 3×3 with dilation 2", [(3, 1, 1, 1), (3, 1, 2, 2)]),
    ("a 3×3 with stride 2, then a plain 3×3", [(3, 2, 1, 1), (3, 1, 1, 1)]),
    ("two 2×2 layers with stride 2 and no padding, then a 3×3", [(2, 2, 0, 1), (2, 2, 0, 1), (3, 1, 0, 1)]),
    ("Yu & Koltun's context module (their Table 1)", _CONTEXT_STACK),
    ("AlexNet's convolutions and max-pooling", [(11, 4, 2, 1), (3, 2, 0, 1), (5, 1, 2, 1), (3, 2, 0, 1),
                                                 (3, 1, 1, 1), (3, 1, 1, 1), (3, 1, 1, 1), (3, 2, 0, 1)]),
]


def _field_cases() -> list[tuple[str, list[tuple[int, int, int, int]]]]:
    """The named cases, then random stacks (new at every run) so that a typed-in table cannot pass."""
    rng = random.Random(check_seed())
    cases = list(_FIELD_CASES)
    for i in range(4):
        stack = [(rng.randint(1, 7), rng.randint(1, 3), rng.randint(0, 3), rng.randint(1, 4))
                 for _ in range(rng.randint(2, 6))]
        cases.append((f"random stack {i + 1}", stack))
    return cases


@exercise("receptive fields of a plain stack",
          answer=("coursekit.analysis.receptive_field.rf_recurrence", "coursekit.checks.architecture._receptive_fields_ref"),
          shortcuts=("coursekit.analysis.receptive_field.receptive_field",
                     "coursekit.analysis.effective_rf.effective_receptive_field",
                     "torch.nn.functional.conv2d", "torch.conv2d", "torch.autograd.backward", "torch.autograd.grad"))
def check_receptive_fields(student_fn: Callable[[list], list]) -> None:
    size_hint = (
        "the field grows by what each layer's kernel adds, counted in input-image pixels; it starts at 1 pixel",
        "a kernel with dilation d spans (k − 1)·d + 1 pixels of its own input, so it adds (k − 1)·d of "
        "them to the field (not k·d, and not (k − 1) when d > 1)",
        "neighbouring pixels of a layer's input are `jump` image pixels apart, with the jump from BEFORE this "
        "layer's stride: the field grows by (k − 1)·d·jump",
    )
    jump_hint = (
        "the jump is the distance, in image pixels, between neighbouring outputs of a layer; it starts at 1",
        "a stride s puts neighbouring outputs s input pixels apart: the jump is multiplied by s, and only "
        "after this layer's size and start have used the old jump",
    )
    start_hint = (
        "the start is the image coordinate of the centre of output 0 (pixel centres at 0, 1, 2, …); it starts at 0",
        "the padding moves the first window p input pixels to the left, the kernel's half-extent (k − 1)·d / 2 "
        "moves its centre to the right; both count in units of the jump from before this layer's stride",
        "the start changes by ((k − 1)·d / 2 − p)·jump, a true division: an even kernel centres its "
        "window between two pixels",
    )
    for name, stack in _field_cases():
        got = student_fn([tuple(layer) for layer in stack])
        want = _receptive_fields_ref(stack)
        ok = isinstance(got, (list, tuple)) and len(got) == len(stack) and all(
            isinstance(row, (list, tuple)) and len(row) == 3 for row in got)
        expect(
            ok,
            f"receptive_fields({name}) should return one (size, jump, start) triple after each layer, "
            f"{len(stack)} in all; got {got!r}",
            hint=("one entry per layer: the field after layer 1, after layer 2, …, in order",
                  "each entry is a triple (size, jump, start) for the stack up to and including that layer; "
                  "return the whole list, not only the last triple"),
        )
        before = (1, 1, 0.0)
        for i, (layer, g_row, w_row) in enumerate(zip(stack, got, want)):
            quantities = zip(("size", "jump", "start"), g_row, w_row, (size_hint, jump_hint, start_hint))
            for quantity, g, w, tiers in quantities:
                try:
                    same = abs(float(g) - w) < 1e-9
                except (TypeError, ValueError):
                    same = False
                expect(
                    same,
                    f"receptive_fields({name}): after layer {i + 1} (kernel, stride, padding, dilation) = {layer}, "
                    f"with size, jump, start = {before} before it, the {quantity} should be {w:g}, got {g!r}",
                    hint=tiers,
                )
            before = w_row
    table = [size for size, _, _ in student_fn(list(_CONTEXT_STACK))]
    print(f"   your calculator on the context module: fields {', '.join(map(str, table))} "
          "(Yu & Koltun, Table 1: 3, 5, 9, 17, 33, 65, 67, 67)")


@exercise("a dilated kernel (zeros between the taps)", shortcuts=(("torch.nn.functional.conv_transpose2d", _STRIDED),))
def check_dilate_kernel(student_fn: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    for k, d in ((3, 2), (3, 4), (2, 3), (3, 1)):
        w = torch.randn(4, 2, k, k)
        got = student_fn(w, d)
        size = (k - 1) * d + 1
        expect_shape(
            got,
            (4, 2, size, size),
            f"dilate_kernel(w of shape (4, 2, {k}, {k}), {d})",
            hint=(
                "dilation inserts gaps between the taps, so the kernel grows",
                "a k-tap kernel with dilation d spans (k − 1)·d + 1 pixels per side",
            ),
        )
        x = torch.randn(1, 2, 12, 12)
        want = F.conv2d(x, w, dilation=d)
        expect_close(
            F.conv2d(x, got),
            want,
            f"conv2d(x, dilate_kernel(w, {d})) vs conv2d(x, w, dilation={d})",
            hint=(
                "the dilated kernel is the original one with d − 1 zeros between neighbouring taps",
                "tap (i, j) of the original kernel lands at (i·d, j·d) in the new one; every other position is zero",
            ),
        )


# ---- 1.3 ---------------------------------------------------------------------------------------
@exercise("parameters of a grouped convolution", answer=("coursekit.nn.grouped.grouped_conv_params",), shortcuts=(("torch.nn.Conv2d.__init__", _GROUPED_MODULE),))
def check_grouped_params(student_fn: Callable[..., int]) -> None:
    for c_in, c_out, k, g in (
        (64, 64, 3, 1),
        (64, 64, 3, 4),
        (128, 128, 3, 32),
        (32, 64, 3, 32),
        (256, 512, 1, 8),
    ):
        want = nn.Conv2d(c_in, c_out, k, groups=g, bias=False).weight.numel()
        expect_equal(
            student_fn(c_in, c_out, k, g),
            want,
            f"grouped_params({c_in}, {c_out}, {k}, groups={g})",
            hint=(
                "in a grouped convolution each filter sees only its own group of input channels",
                "each filter sees C_in / g input channels, so the weights are C_out·(C_in / g)·k·k (no bias here)",
            ),
        )


@exercise("a grouped convolution from ordinary ones", shortcuts=(("torch.nn.functional.conv2d", _GROUPED), ("torch.convolution", _GROUPED_CONVOLUTION)))
def check_grouped_conv(student_fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> None:
    for c_in, c_out, g in ((8, 8, 2), (12, 6, 3), (4, 8, 4)):
        x = torch.randn(2, c_in, 9, 7)
        w = torch.randn(c_out, c_in // g, 3, 3)
        got = student_fn(x, w, g)
        want = F.conv2d(x, w, padding=1, groups=g)
        expect_close(
            got,
            want,
            f"grouped_conv(x {tuple(x.shape)}, w {tuple(w.shape)}, groups={g})",
            hint=(
                "a grouped convolution is g independent convolutions, one per group, whose outputs are stacked",
                "split the input channels into g equal groups AND the filters (the output channels of the weight) into g equal groups; group i of the input meets only group i of the filters",
                "convolve each pair with padding 1, then join the g outputs along the channel dimension, in group order",
            ),
        )


def _block_weights(channels: int, cardinality: int, d: int) -> int:
    # C paths of 1×1 channels→d, 3×3 d→d, 1×1 d→channels (Xie et al. 2017, Sec. 3.3)
    return cardinality * (2 * channels * d + 9 * d * d)


def _matched_width(budget: int, cardinality: int, channels: int) -> int:
    # the d whose block weights are closest to the budget; a tie goes to the smaller d
    return min(range(1, 4 * channels), key=lambda d: (abs(_block_weights(channels, cardinality, d) - budget), d))


@exercise("a bottleneck width that matches a parameter budget", answer=("coursekit.nn.grouped.matched_bottleneck_width", "coursekit.nn.grouped.bottleneck_weights"))
def check_matched_width(student_fn: Callable[[int, int, int], int]) -> None:
    rng = random.Random(check_seed())
    table2 = _block_weights(256, 1, 64)  # the ResNet-50 conv2 bottleneck: 69,632 weights
    cases = [(table2, c, 256) for c in (1, 2, 4, 8, 32)]  # the paper's Table 2: d = 64, 40, 24, 14, 4
    for _ in range(6):  # other blocks and budgets, so that a copied table cannot pass
        channels, c_ref, c = rng.choice([64, 128, 512]), rng.choice([1, 2, 4]), rng.choice([1, 2, 8, 16, 32, 64])
        cases.append((_block_weights(channels, c_ref, rng.randint(8, 48)), c, channels))
    for budget, c, channels in cases:
        got = student_fn(budget, c, channels)
        want = _matched_width(budget, c, channels)
        expect(
            isinstance(got, int) and not isinstance(got, bool),
            f"matched_width({budget}, cardinality={c}, channels={channels}) should return an int, got {got!r}",
            hint=("the answer is a number of channels per path: a whole number", "return int(d)"),
        )
        expect_equal(
            got,
            want,
            f"matched_width({budget}, cardinality={c}, channels={channels})"
            f" (your d gives {_block_weights(channels, c, got) if got > 0 else 'no'} weights)",
            hint=(
                "write down the weights of one block as a function of d first: three convolutions per path, C paths",
                "each path has a 1×1 from the block's channels to d, a 3×3 from d to d (only its own d channels: "
                "grouped), and a 1×1 from d back; the block is C such paths. Return d, not the inner width C·d",
                "the weights grow with d, so try d = 1, 2, 3, … and keep the d whose count is closest to the budget "
                "(above or below; on a tie the smaller d); the largest d that stays under the budget is not always the closest",
            ),
        )


# ---- 1.4 ---------------------------------------------------------------------------------------
class _AddK(nn.Module):
    """A stand-in dense layer: k new maps from a fixed random mix of ALL input channels. It takes any
    number of channels (a wrong answer runs and is told what it fed) and notes how many it got."""

    def __init__(self, k: int, most: int = 64):
        super().__init__()
        self.mix, self.bias, self.seen = nn.Parameter(torch.randn(most, k)), nn.Parameter(torch.randn(k)), []

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) → (B, k, H, W)
        self.seen.append(x.shape[1])
        return torch.tanh(torch.einsum("bchw,ck->bkhw", x, self.mix[: x.shape[1]]) + self.bias[:, None, None])


@exercise("a dense block's forward pass", answer=("coursekit.nn.dense.DenseBlock.forward",))
def check_dense_block_forward(student_fn: Callable[[torch.Tensor, list], torch.Tensor]) -> None:
    c0, k, n = 3, 2, 4
    torch.manual_seed(random.randint(0, 10_000))
    layers = nn.ModuleList(_AddK(k) for _ in range(n))
    x = torch.randn(2, c0, 5, 5)
    feed = ("each layer reads ALL the maps so far, not only the previous layer's output",
            "layer ℓ gets the input and the outputs of layers 1 … ℓ − 1 joined along the channel dimension")
    with torch.no_grad():
        try:
            got = student_fn(x, list(layers))
        except NotImplementedError:
            raise
        except RuntimeError as e:  # e.g. adding maps of different channel counts
            raise Mismatch(f"dense_block_forward raised “{str(e)[:160]}”", feed) from None
        seen = [layer.seen[0] if len(layer.seen) == 1 else layer.seen for layer in layers]
        expect_equal(seen, [c0 + i * k for i in range(n)], "channels each layer received (input of 3, growth 2)",
                     hint=(*feed, "call each layer exactly once, on C₀ + (ℓ − 1)·k channels"))
        feats = [x]
        for layer in layers:
            feats.append(layer(torch.cat(feats, 1)))
        want = torch.cat(feats, 1)
    expect_shape(
        got,
        tuple(want.shape),
        "dense_block_forward(x of 3 channels, 4 layers of growth 2)",
        hint=(
            "a dense block keeps everything: the input and the new maps of every layer",
            "the output has C₀ + L·k channels: the input's C₀ plus k new maps from each of the L layers",
        ),
    )
    expect_close(
        got,
        want,
        "dense_block_forward output",
        hint=(
            "each layer reads ALL the maps so far, not only the previous layer's output",
            "layer ℓ gets the input and the outputs of layers 1 … ℓ − 1 joined along the channel dimension, in that order",
            "the block returns that same running concatenation after the last layer: input first, then the layers' outputs in order",
        ),
    )


# 1.4's U-Net exercise (the whole forward pass, skips and crops) is checked in .skips


# ---- 1.1: a whole network, with forward hooks --------------------------------------------------
@exercise("multiply–accumulates of a whole network, counted with forward hooks",
          answer=("coursekit.analysis.complexity.module_macs", "coursekit.analysis.complexity.count_macs",
                  "coursekit.analysis.complexity.macs_by_module"),
          shortcuts=("torch.utils.flop_counter.FlopCounterMode.__init__",))
def check_hook_macs(student_fn: Callable[[nn.Module, torch.Tensor], int]) -> None:
    from ..analysis.complexity import count_macs  # the reference: PyTorch's operation counter
    from ._macs import hooks_on, mac_cases

    value_hint = (
        "count only the layers that multiply: every convolution and linear layer, each time it runs; "
        "containers (Sequential, blocks, the network itself) only pass data on and add nothing",
        "a layer's MACs are the values it outputs for ONE image times the multiply–adds per value: "
        "(C_in / groups)·k_h·k_w for a convolution, in_features for a linear layer; the bias adds none",
        "read the sizes from the OUTPUT the hook receives (stride, padding and dilation change them), "
        "and remember that each output channel of a grouped convolution sees only C_in / groups inputs",
    )
    batch_hint = ("your count grows with the batch: the exercise asks for the MACs of ONE image",
                  "every output holds the whole batch: count one image's output values, or divide by the batch size")
    leak_hint = ("a hook stays on its layer until it is taken away: leave the network as you found it",
                 "keep the handle that each registration returns and take every hook off again before "
                 "returning, also when the forward pass raises (try / finally)")
    again_hint = ("the same network counted twice must give the same number",
                  "start the count from zero inside the function at each call (no total that outlives "
                  "the call), and make sure no hook of an earlier call is still attached")
    for name, model, x in mac_cases(check_seed()):
        want, before, batch = count_macs(model, tuple(x.shape)), hooks_on(model), x.shape[0]
        got = student_fn(model, x)
        try:
            per_batch = bool(got == want * batch)
        except Exception:
            per_batch = False
        what = f"hook_macs({name}, x of shape {tuple(x.shape)}): MACs per image"
        tiers = batch_hint if per_batch else value_hint  # the batch mistake gets its own hints
        expect_equal(got, want, what, hint=tiers)
        left = hooks_on(model) - before
        expect(left == 0, f"hook_macs({name}): {left} hook(s) still registered after it returned", hint=leak_hint)
        expect_equal(student_fn(model, x), want, f"{what}, counted a second time", hint=again_hint)
