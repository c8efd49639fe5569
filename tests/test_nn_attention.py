import math

import pytest
import torch
import torch.nn.functional as F
from _overfit import overfit
from torch import nn

from coursekit.nn.attention import (
    NonLocalBlock,
    ResidualAttentionModule,
    SelfAttention,
    SqueezeExcitation,
    dot_product_attention,
)

POSITION_LAYERS = [
    lambda: NonLocalBlock(16),
    lambda: NonLocalBlock(16, subsample=True, heads=2),
    lambda: NonLocalBlock(16, norm=False),
    lambda: SelfAttention(16),
    lambda: SelfAttention(16, subsample=True, heads=2, spectral_norm=True),
]


@pytest.mark.parametrize("make", POSITION_LAYERS)
@pytest.mark.parametrize("size", [(1, 1), (7, 5), (8, 8)])
def test_identity_at_init_any_size(make, size):
    torch.manual_seed(0)
    layer = make()
    x = torch.randn(2, 16, *size)
    for mode in (layer.train, layer.eval):
        mode()
        assert torch.equal(layer(x), x)


@pytest.mark.parametrize("make", POSITION_LAYERS)
def test_attention_map_rows_sum_to_one(make):
    layer = make().eval()
    x = torch.randn(2, 16, 6, 7)
    y, attn = layer(x, return_attention=True)
    hk, wk = layer.last_key_size
    assert layer.last_query_size == (6, 7)
    assert attn.shape == (2, layer.heads, 42, hk * wk)
    assert torch.allclose(attn.sum(-1), torch.ones(2, layer.heads, 42), atol=1e-5)
    assert layer.last_attention is None  # not kept unless asked
    layer.keep_attention = True
    layer(x)
    assert torch.equal(layer.last_attention, attn)


@pytest.mark.parametrize("make", POSITION_LAYERS)
def test_explicit_map_matches_fused_kernel(make):
    torch.manual_seed(1)
    layer = make().eval()
    with torch.no_grad():  # leave the identity so the attention path matters
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = torch.randn(2, 16, 5, 6)
    fused = layer(x)
    explicit, _ = layer(x, return_attention=True)
    assert torch.allclose(fused, explicit, atol=1e-5)
    assert (fused - x).abs().max() > 1e-3


def test_dot_product_attention_matches_torch():
    q, k, v = torch.randn(3, 2, 5, 8), torch.randn(3, 2, 7, 8), torch.randn(3, 2, 7, 4)
    out, w = dot_product_attention(q, k, v)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v), atol=1e-5)
    out1, _ = dot_product_attention(q, k, v, scale=1.0)
    assert torch.allclose(out1, F.scaled_dot_product_attention(q, k, v, scale=1.0), atol=1e-5)
    assert torch.allclose(w.sum(-1), torch.ones(3, 2, 5))


def test_nonlocal_matches_multihead_attention():
    # Non-local block (no norm, no subsampling) == x + MultiheadAttention over the H·W positions,
    # once MHA's 1/sqrt(d) scaling is undone in its query weights.
    torch.manual_seed(2)
    c, inner, heads = 8, 8, 2
    block = NonLocalBlock(c, inner, heads=heads, norm=False).eval()
    with torch.no_grad():
        block.out.weight.normal_()
        block.out.bias.normal_()
    mha = nn.MultiheadAttention(c, heads, batch_first=True).eval()
    d = inner // heads
    with torch.no_grad():
        w = lambda conv: conv.weight[:, :, 0, 0]  # noqa: E731
        mha.in_proj_weight.copy_(torch.cat([w(block.theta) * math.sqrt(d), w(block.phi), w(block.g)]))
        mha.in_proj_bias.copy_(torch.cat([block.theta.bias * math.sqrt(d), block.phi.bias, block.g.bias]))
        mha.out_proj.weight.copy_(w(block.out))
        mha.out_proj.bias.copy_(block.out.bias)
    x = torch.randn(2, c, 4, 5)
    seq = x.flatten(2).transpose(1, 2)  # (B, N, C)
    ref, ref_w = mha(seq, seq, seq, need_weights=True, average_attn_weights=False)
    ref = ref.transpose(1, 2).reshape_as(x) + x
    got, got_w = block(x, return_attention=True)
    assert torch.allclose(got, ref, atol=1e-4)
    assert torch.allclose(got_w, ref_w, atol=1e-5)


def test_sagan_attention_has_no_biases():
    # the reference configurations' parameter counts (non-local, SE, SAGAN): test_model_table.py
    sa = SelfAttention(256)
    assert all(m.bias is None for m in (sa.query, sa.key, sa.value, sa.out))


def test_squeeze_excitation_gate_and_identity_option():
    torch.manual_seed(0)
    se = SqueezeExcitation(8, reduction=2)
    x = torch.randn(3, 8, 5, 4)
    s = torch.sigmoid(se.fc2(torch.relu(se.fc1(x.mean((2, 3))))))
    assert torch.allclose(se(x), x * s[:, :, None, None])
    assert se.last_weights.shape == (3, 8)
    ident = SqueezeExcitation(8, reduction=2, identity_init=True)
    assert torch.equal(ident(x), x)


def test_residual_attention_module_shapes_mask_and_gradients():
    torch.manual_seed(0)
    m = ResidualAttentionModule(8, depth=3).eval()
    for size in [(1, 1), (9, 7), (16, 16)]:
        x = torch.randn(2, 8, *size, requires_grad=True)
        y = m(x)
        assert y.shape == x.shape
        assert m.last_mask.shape == x.shape
        assert ((m.last_mask > 0) & (m.last_mask < 1)).all()
        y.sum().backward()
        assert x.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "layer", [NonLocalBlock(16), SelfAttention(16), SqueezeExcitation(16, 4), ResidualAttentionModule(16)]
)
def test_wrong_channels_clear_error(layer):
    with pytest.raises(ValueError, match=r"input must be a tensor of shape \(B, 16, H, W\) .*built with "
                                          r"channels=16\), got \(2, 8, 4, 4\); build it with channels=8"):
        layer(torch.randn(2, 8, 4, 4))
    with pytest.raises(ValueError, match=r"input must be a tensor of shape \(B, C, H, W\), got \(16, 4, 4\); "
                                          r"add a batch dimension"):
        layer(torch.randn(16, 4, 4))
    with pytest.raises(TypeError, match="input must be a tensor"):
        layer([[1.0]])


def test_gradients_reach_input_and_overfit():
    torch.manual_seed(0)
    layer = SelfAttention(8, reduction=2)
    x = torch.randn(4, 8, 6, 6)
    target = x + x.mean((2, 3), keepdim=True)  # needs global context
    first, last = overfit(layer, (x, target), lambda m, b: (m(b[0]) - b[1]).pow(2).mean(), lr=1e-2)
    assert last < 0.5 * first
    assert layer.gamma.item() != 0
    xg = x.clone().requires_grad_(True)
    layer(xg).sum().backward()
    assert xg.grad.abs().sum() > 0


def test_mirror_nets_locality_and_reach():
    from coursekit.models.attention_nets import MirrorNet

    torch.manual_seed(0)
    x = torch.rand(1, 1, 32, 32)
    x2 = x.clone()
    x2[..., 16:] = torch.rand(1, 1, 32, 16)
    plain = MirrorNet(1, 8).eval()
    assert plain(x).shape == x.shape
    assert torch.equal(plain(x)[..., 0], plain(x2)[..., 0])  # column 0 cannot see the right half
    nl = MirrorNet(1, 8, attention="nonlocal").eval()
    with torch.no_grad():
        nl.nonlocal_block.out.weight.normal_()
    assert not torch.allclose(nl(x)[..., 0], nl(x2)[..., 0])
    with pytest.raises(ValueError, match="even image sides"):
        plain(torch.rand(1, 1, 31, 32))


def test_classifiers_and_distortion():
    from coursekit.models.attention_nets import GlyphClassifier, ResidualAttentionNet, rts_distort

    x = rts_distort(torch.rand(4, 1, 32, 32), torch.Generator().manual_seed(0), out_size=48)
    assert x.shape == (4, 1, 48, 48)
    for kwargs in [
        {},
        {"stn": True, "se": True},
        {"head": "flatten", "input_size": 48},
        {"stn": True, "head": "flatten", "input_size": 48, "stn_size": 24},
    ]:
        assert GlyphClassifier(10, 1, 8, **kwargs)(x).shape == (4, 10)
    ran = ResidualAttentionNet(5, 1, 8).eval()
    assert ran(x).shape == (4, 5) and len(ran.attention_modules()) == 2
    assert ran.attention_modules()[0].last_mask.shape == (4, 8, 48, 48)


def test_residual_attention_ablation_keeps_every_unit_and_drops_only_the_masks():
    from coursekit.models.attention_nets import ResidualAttentionNet

    full, plain = ResidualAttentionNet(5, 1, 8), ResidualAttentionNet(5, 1, 8, attention=False)
    assert not plain.attention_modules()
    units = lambda m: sum(type(u).__name__ == "_PreActUnit" for u in m.modules())  # noqa: E731
    masks = sum(len(a.down) + len(a.skips) + len(a.up) for a in full.attention_modules())
    assert units(plain) == units(full) - masks  # before, trunk and after units all stay


def test_mask_start_makes_the_module_its_ablation_up_to_a_constant():
    """With ``mask_start`` the mask is that value everywhere at initialisation, so the module is
    ``(1 + m)·T``: its units without the mask branch, scaled by a constant."""
    torch.manual_seed(0)
    m = ResidualAttentionModule(8, depth=2, mask_start=0.05).eval()
    x = torch.randn(2, 8, 12, 12)
    out = m(x)
    assert torch.allclose(m.last_mask, torch.full_like(m.last_mask, 0.05), atol=1e-6)
    with torch.no_grad():
        pre = m.pre(x)
        assert torch.allclose(out, m.post(1.05 * m.trunk(pre)), atol=1e-5)
    with pytest.raises(ValueError, match="mask_start"):
        ResidualAttentionModule(8, mask_start=1.0)


def test_widen_to_match_reaches_the_budget_within_two_percent():
    from coursekit.analysis.complexity import count_params
    from coursekit.models.attention_nets import GlyphClassifier, ResidualAttentionNet, widen_to_match

    se_budget = count_params(GlyphClassifier(10, 3, widths=(12, 24, 48), se=True))
    wide = widen_to_match(lambda ws: GlyphClassifier(10, 3, widths=ws), se_budget, (12, 24, 48))
    assert min(w - b for w, b in zip(wide, (12, 24, 48))) >= 0
    assert abs(count_params(GlyphClassifier(10, 3, widths=wide)) / se_budget - 1) < 0.02
    ra_budget = count_params(ResidualAttentionNet(10, 1, widths=(8, 16, 32), stem_stride=2, mask_start=0.05))
    wide = widen_to_match(lambda ws: ResidualAttentionNet(10, 1, widths=ws, attention=False), ra_budget, (8, 16, 32))
    assert abs(count_params(ResidualAttentionNet(10, 1, widths=wide, attention=False)) / ra_budget - 1) < 0.02
    x = torch.rand(2, 1, 32, 32)
    assert ResidualAttentionNet(10, 1, widths=wide, attention=False, stem_stride=2)(x).shape == (2, 10)
    with pytest.raises(ValueError, match="widths"):
        GlyphClassifier(10, 3, widths=(8, 16))
