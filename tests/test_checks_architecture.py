"""Section 1 checks: the reference passes, realistic mistakes fail with a hint, stubs are 'not done'."""

import pytest
import torch
import torch.nn.functional as F

from coursekit.checks import architecture as A


def _stub(*args, **kwargs):
    raise NotImplementedError()


# references
def conv_params(c_in, c_out, k, bias):
    return c_out * c_in * k * k + (c_out if bias else 0)


def conv_macs(c_in, c_out, k, h, w):
    return c_out * h * w * c_in * k * k


def receptive_fields(layers):
    size, jump, start, out = 1, 1, 0.0, []
    for k, s, p, d in layers:
        size, start, jump = size + (k - 1) * d * jump, start + ((k - 1) * d / 2 - p) * jump, jump * s
        out.append((size, jump, start))
    return out


def dilate_kernel(w, d):
    k = w.shape[-1]
    out = w.new_zeros(*w.shape[:2], (k - 1) * d + 1, (k - 1) * d + 1)
    out[..., ::d, ::d] = w
    return out


def grouped_params(c_in, c_out, k, g):
    return c_out * (c_in // g) * k * k


def grouped_conv(x, w, g):
    xs, ws = x.chunk(g, 1), w.chunk(g, 0)
    return torch.cat([F.conv2d(a, b, padding=1) for a, b in zip(xs, ws)], 1)


def matched_width(budget, c, channels):
    weights = lambda d: c * (channels * d + 9 * d * d + d * channels)
    return min(range(1, 1000), key=lambda d: (abs(weights(d) - budget), d))


def dense_block_forward(x, layers):
    feats = [x]
    for layer in layers:
        feats.append(layer(torch.cat(feats, 1)))
    return torch.cat(feats, 1)


# realistic mistakes
def conv_params_no_bias(c_in, c_out, k, bias):
    return c_out * c_in * k * k


def conv_flops(c_in, c_out, k, h, w):
    return 2 * c_out * h * w * c_in * k * k


def _fields(size_step, start_step=None, jump_first=False, size0=1):
    """A calculator with one realistic mistake: ``size_step(k, d, jump)`` is what a layer adds."""
    start_step = start_step or (lambda k, p, d, jump: ((k - 1) * d / 2 - p) * jump)

    def calculator(layers):
        size, jump, start, out = size0, 1, 0.0, []
        for k, s, p, d in layers:
            old = jump
            if jump_first:
                jump = jump * s
            size, start = size + size_step(k, d, jump), start + start_step(k, p, d, jump)
            jump = old * s
            out.append((size, jump, start))
        return out

    return calculator


RIGHT_SIZE = lambda k, d, j: (k - 1) * d * j
rf_forgets_dilation = _fields(lambda k, d, j: (k - 1) * j)  # the kernel spans k − 1, not (k − 1)·d + 1
rf_jump_before_use = _fields(RIGHT_SIZE, jump_first=True)  # multiplies by the stride, then uses it
rf_k_instead_of_k_minus_1 = _fields(lambda k, d, j: k * d * j)  # j·k instead of j·(k − 1)
rf_adds_the_whole_kernel = _fields(lambda k, d, j: ((k - 1) * d + 1) * j)  # adds the dilated extent, not extent − 1
rf_starts_at_zero = _fields(RIGHT_SIZE, size0=0)
rf_start_ignores_padding = _fields(RIGHT_SIZE, lambda k, p, d, j: (k - 1) * d / 2 * j)
rf_start_floor_division = _fields(RIGHT_SIZE, lambda k, p, d, j: ((k - 1) * d // 2 - p) * j)
rf_start_forgets_jump = _fields(RIGHT_SIZE, lambda k, p, d, j: (k - 1) * d / 2 - p)


def rf_last_layer_only(layers):
    return receptive_fields(layers)[-1]


def rf_sizes_only(layers):
    return [size for size, _, _ in receptive_fields(layers)]


def rf_table_typed_in(layers):  # Yu & Koltun's Table 1 typed in, whatever the layers
    return [(r, 1, 0.0) for r in (3, 5, 9, 17, 33, 65, 67, 67)][: len(layers)]


def rf_start_with_new_jump(layers):
    size, jump, start, out = 1, 1, 0.0, []
    for k, s, p, d in layers:
        size, jump = size + (k - 1) * d * jump, jump * s
        start = start + ((k - 1) * d / 2 - p) * jump
        out.append((size, jump, start))
    return out


def dilate_kernel_wrong_size(w, d):
    k = w.shape[-1]
    out = w.new_zeros(*w.shape[:2], k * d, k * d)
    out[..., ::d, ::d] = w
    return out


def grouped_params_ignores_groups(c_in, c_out, k, g):
    return c_out * c_in * k * k


def grouped_conv_wrong_split(x, w, g):  # splits the input but uses all filters on each chunk
    return torch.cat(
        [
            F.conv2d(a, w[: w.shape[0] // g * (i + 1)][-w.shape[0] // g :].flip(0), padding=1)
            for i, a in enumerate(x.chunk(g, 1))
        ],
        1,
    )


def matched_width_dense_3x3(budget, c, channels):  # treats the 3×3 as ungrouped: (C·d)² k²
    weights = lambda d: c * 2 * channels * d + 9 * (c * d) ** 2
    return min(range(1, 1000), key=lambda d: abs(weights(d) - budget))


def matched_width_floor(budget, c, channels):  # the largest d under the budget, not the closest
    weights = lambda d: c * (2 * channels * d + 9 * d * d)
    return max(d for d in range(1, 1000) if weights(d) <= budget)


def matched_width_inner(budget, c, channels):  # returns the inner width C·d instead of d
    return c * matched_width(budget, c, channels)


def matched_width_no_1x1(budget, c, channels):  # counts only the grouped 3×3
    return min(range(1, 1000), key=lambda d: abs(c * 9 * d * d - budget))


def matched_width_table2(budget, c, channels):  # the paper's table typed in
    return {1: 64, 2: 40, 4: 24, 8: 14, 32: 4}.get(c, 4)


def dense_forgets_input(x, layers):  # returns only the new maps
    feats = [x]
    for layer in layers:
        feats.append(layer(torch.cat(feats, 1)))
    return torch.cat(feats[1:], 1)


def dense_newest_first(x, layers):  # concatenates in the wrong order
    feats = [x]
    for layer in layers:
        feats.insert(0, layer(torch.cat(feats, 1)))
    return torch.cat(feats, 1)


CASES = [
    (A.check_conv_params, conv_params, [conv_params_no_bias]),
    (A.check_conv_macs, conv_macs, [conv_flops]),
    (A.check_receptive_fields, receptive_fields,
     [rf_forgets_dilation, rf_jump_before_use, rf_k_instead_of_k_minus_1, rf_adds_the_whole_kernel, rf_starts_at_zero,
      rf_start_ignores_padding, rf_start_floor_division, rf_start_forgets_jump, rf_start_with_new_jump,
      rf_last_layer_only, rf_sizes_only, rf_table_typed_in]),
    (A.check_dilate_kernel, dilate_kernel, [dilate_kernel_wrong_size]),
    (A.check_grouped_params, grouped_params, [grouped_params_ignores_groups]),
    (A.check_grouped_conv, grouped_conv, [grouped_conv_wrong_split]),
    (A.check_matched_width, matched_width,
     [matched_width_dense_3x3, matched_width_floor, matched_width_inner, matched_width_no_1x1, matched_width_table2]),
    (A.check_dense_block_forward, dense_block_forward, [dense_forgets_input, dense_newest_first]),
]


@pytest.mark.parametrize("check, reference, wrongs", CASES, ids=[c[0].__name__ for c in CASES])
def test_check(check, reference, wrongs):
    assert check(reference, quiet=True).status == "passed"
    for wrong in wrongs:
        r = check(wrong, quiet=True)
        assert r.status == "failed", (wrong.__name__, r)
        assert r.hint
    assert check(_stub, quiet=True).status == "not done"


def test_receptive_fields_reproduces_table_1_and_blocks_the_course_tools():
    """The reference gives Yu & Koltun's row; coursekit's calculators and a measured field are refused."""
    from coursekit.analysis import effective_receptive_field, receptive_field, rf_recurrence

    assert [r for r, _, _ in receptive_fields(A._CONTEXT_STACK)] == [3, 5, 9, 17, 33, 65, 67, 67]
    assert A.check_receptive_fields(rf_recurrence, quiet=True).status == "failed"

    def traced(layers):  # builds the stack and lets coursekit trace it
        net = torch.nn.Sequential(*[torch.nn.Conv2d(1, 1, k, s, p, d) for k, s, p, d in layers])
        rf = receptive_field(net, (1, 256, 256))
        return [(row.size[0], row.stride[0], row.offset[0]) for row in rf.layers]

    def measured(layers):  # the gradient footprint of the centre output
        net = torch.nn.Sequential(*[torch.nn.Conv2d(1, 1, k, s, p, d) for k, s, p, d in layers])
        return [(effective_receptive_field(net, (1, 64, 64)).map.shape[-1], 1, 0.0)] * len(layers)

    for cheat in (traced, measured):
        r = A.check_receptive_fields(cheat, quiet=True)
        assert r.status == "failed" and "is off while the check runs" in r.message, r
