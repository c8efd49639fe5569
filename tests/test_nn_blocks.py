"""Tests for the Section 1 building blocks: dilated, grouped, dense, U-Net."""

import pytest
import torch
import torchvision
from _overfit import overfit
from torch import nn

from coursekit.analysis import count_macs, count_params, receptive_field
from coursekit.nn.dense import DenseBlock, DenseLayer, Transition, dense_channels
from coursekit.nn.dilated import CONTEXT_DILATIONS, ContextModule, dilated_conv, dilated_extent
from coursekit.nn.grouped import (
    DepthwiseSeparableConv,
    ResNeXtBlock,
    TinyResNeXt,
    grouped_conv_macs,
    grouped_conv_params,
)
from coursekit.nn.unet import UNet, center_crop


def _overfits(model, x, y, steps=40, lr=3e-3):
    first, last = overfit(model, (x, y), lambda m, b: nn.functional.mse_loss(m(b[0]), b[1]), steps=steps, lr=lr)
    return last < 0.5 * first


# ---- dilated ----------------------------------------------------------------------------------
def test_dilated_conv_keeps_size_and_extent():
    conv = dilated_conv(2, 3, 3, dilation=4)
    assert conv(torch.randn(1, 2, 20, 20)).shape == (1, 3, 20, 20)
    assert dilated_extent(3, 4) == 9 and receptive_field(conv, 20).size == (9, 9)
    with pytest.raises(ValueError, match="odd"):
        dilated_conv(1, 1, 4)


def test_context_module_paper_facts():
    m = ContextModule(channels=21)
    assert m.dilations == CONTEXT_DILATIONS == (1, 1, 2, 4, 8, 16, 1)
    # its 28,392 parameters (Yu & Koltun, Table 1): test_model_table.py
    x = torch.randn(2, 21, 24, 24)
    assert torch.allclose(m(x), x.clamp_min(0))  # identity init passes (truncated) input through
    rf = receptive_field(ContextModule(channels=3, identity_init=False), 70)
    assert [r.size[0] for r in rf.layers] == [3, 5, 9, 17, 33, 65, 67, 67]


def test_context_module_gradient_and_overfit():
    torch.manual_seed(0)
    m = ContextModule(channels=3, identity_init=False)
    x = torch.randn(2, 3, 16, 16, requires_grad=True)
    m(x).sum().backward()
    assert x.grad.abs().sum() > 0
    target = nn.functional.avg_pool2d(x.detach(), 3, 1, 1).clamp_min(0)  # a reachable target
    assert _overfits(m, x.detach(), target, steps=60, lr=1e-2)


# ---- grouped ----------------------------------------------------------------------------------
def test_grouped_conv_formula_matches_pytorch():
    for g in (1, 2, 4, 16):
        conv = nn.Conv2d(16, 32, 3, groups=g, bias=False)
        assert grouped_conv_params(16, 32, 3, g) == count_params(conv)
        assert grouped_conv_macs(16, 32, 3, 8, g) == count_macs(conv, (16, 10, 10))
    with pytest.raises(ValueError, match=r"groups must divide both channel counts .*, got groups=4; use one of \[1, 2\]"):
        grouped_conv_params(10, 32, 3, groups=4)


def test_resnext_block_matches_torchvision_reference():
    ref = torchvision.models.resnext50_32x4d(weights=None).layer1[1]  # 256 → 128 (32×4d) → 256
    block = ResNeXtBlock()
    assert count_params(block) == count_params(ref)
    assert block.conv2.groups == 32 and block.conv2.in_channels == 128
    down = ResNeXtBlock(256, 512, 32, 8, stride=2)
    assert count_params(down) == count_params(torchvision.models.resnext50_32x4d(weights=None).layer2[0])
    assert down(torch.randn(1, 256, 8, 8)).shape == (1, 512, 4, 4)


def test_depthwise_separable_and_tiny_resnext():
    dw = DepthwiseSeparableConv(8, 16, stride=2)
    assert dw(torch.randn(2, 8, 8, 8)).shape == (2, 16, 4, 4)
    net = TinyResNeXt(1, 10, channels=(16, 32), cardinality=4, bottleneck_width=2, stem=8)
    x = torch.randn(4, 1, 16, 16, requires_grad=True)
    out = net(x)
    assert out.shape == (4, 10)
    out.sum().backward()
    assert x.grad.abs().sum() > 0


# ---- dense ------------------------------------------------------------------------------------
def test_dense_block_matches_densenet121():
    ref = torchvision.models.densenet121(weights=None).features
    block = DenseBlock()  # DenseNet-121 block 1: 6 layers, 64 → 64 + 6·32
    assert count_params(block) == count_params(ref.denseblock1)
    assert count_params(Transition(256)) == count_params(ref.transition1)
    assert block(torch.randn(1, 64, 8, 8)).shape == (1, 256, 8, 8)
    assert dense_channels(64, 32, 6) == [64, 96, 128, 160, 192, 224, 256]


def test_dense_block_concatenates_inputs_first():
    block = DenseBlock(3, in_channels=5, growth_rate=4, bn_size=None).eval()
    x = torch.randn(2, 5, 6, 6)
    y = block(x)
    assert y.shape == (2, 17, 6, 6) and torch.equal(y[:, :5], x)
    assert isinstance(block.layers[2], DenseLayer) and block.layers[2].layers[-1].in_channels == 13
    with pytest.raises(ValueError, match="expected input"):
        block(torch.randn(2, 4, 6, 6))


# ---- U-Net ------------------------------------------------------------------------------------
def test_unet_paper_tile_and_shapes():
    with torch.device("meta"):
        paper = UNet(padding=0)
    assert paper(torch.empty(1, 1, 572, 572, device="meta")).shape == (1, 2, 388, 388)
    net = UNet(3, 3, base_channels=8, depth=3, norm_layer=nn.BatchNorm2d)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="multiples of 2\\^depth = 8"):
        net(torch.randn(1, 3, 30, 30))


def test_unet_skips_switch():
    with_skips, without = UNet(1, 1, 8, depth=2), UNet(1, 1, 8, depth=2, skips=False)
    assert with_skips.decode[-1][0].in_channels == 16 and without.decode[-1][0].in_channels == 8
    assert count_params(without) < count_params(with_skips)
    torch.manual_seed(0)
    x = torch.rand(4, 1, 16, 16)
    assert _overfits(with_skips, x, x)
    assert center_crop(torch.zeros(1, 1, 10, 12), (6, 6)).shape == (1, 1, 6, 6)
