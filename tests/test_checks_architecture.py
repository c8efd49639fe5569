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


def rf_step(size, jump, start, kernel, stride, padding, dilation):
    return (
        size + (kernel - 1) * dilation * jump,
        jump * stride,
        start + ((kernel - 1) * dilation / 2 - padding) * jump,
    )


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


def unet_skip(dec, enc):
    top, left = (enc.shape[-2] - dec.shape[-2]) // 2, (enc.shape[-1] - dec.shape[-1]) // 2
    return torch.cat([enc[..., top : top + dec.shape[-2], left : left + dec.shape[-1]], dec], 1)


# realistic mistakes
def conv_params_no_bias(c_in, c_out, k, bias):
    return c_out * c_in * k * k


def conv_flops(c_in, c_out, k, h, w):
    return 2 * c_out * h * w * c_in * k * k


def rf_step_no_jump(size, jump, start, kernel, stride, padding, dilation):
    return (
        size + (kernel - 1) * dilation,
        jump * stride,
        start + ((kernel - 1) * dilation / 2 - padding) * jump,
    )


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


def unet_skip_corner_crop(dec, enc):
    return torch.cat([enc[..., : dec.shape[-2], : dec.shape[-1]], dec], 1)


def unet_skip_add(dec, enc):
    return dec + enc.mean(1, keepdim=True)


CASES = [
    (A.check_conv_params, conv_params, [conv_params_no_bias]),
    (A.check_conv_macs, conv_macs, [conv_flops]),
    (A.check_rf_step, rf_step, [rf_step_no_jump]),
    (A.check_dilate_kernel, dilate_kernel, [dilate_kernel_wrong_size]),
    (A.check_grouped_params, grouped_params, [grouped_params_ignores_groups]),
    (A.check_grouped_conv, grouped_conv, [grouped_conv_wrong_split]),
    (A.check_matched_width, matched_width,
     [matched_width_dense_3x3, matched_width_floor, matched_width_inner, matched_width_no_1x1, matched_width_table2]),
    (A.check_dense_block_forward, dense_block_forward, [dense_forgets_input, dense_newest_first]),
    (A.check_unet_skip, unet_skip, [unet_skip_corner_crop, unet_skip_add]),
]


@pytest.mark.parametrize("check, reference, wrongs", CASES, ids=[c[0].__name__ for c in CASES])
def test_check(check, reference, wrongs):
    assert check(reference, quiet=True).status == "passed"
    for wrong in wrongs:
        r = check(wrong, quiet=True)
        assert r.status == "failed", (wrong.__name__, r)
        assert r.hint
    assert check(_stub, quiet=True).status == "not done"
