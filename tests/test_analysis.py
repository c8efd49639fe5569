"""Tests for coursekit.analysis: receptive fields (analytic vs gradient), parameters and MACs."""

import pytest
import torch
import torchvision
from torch import nn

from coursekit.analysis import (
    UnsupportedLayerError,
    count_macs,
    count_params,
    effective_receptive_field,
    macs_by_module,
    receptive_field,
    rf_recurrence,
)
from coursekit.nn.dilated import ContextModule
from coursekit.nn.unet import UNet

M = torchvision.models


# ---- MACs and parameters against torchvision's weight metadata ("GFLOPS" are GMACs) ----------
@pytest.mark.parametrize(
    "builder, weights",
    [
        (M.resnet50, M.ResNet50_Weights.IMAGENET1K_V1),
        (M.resnext50_32x4d, M.ResNeXt50_32X4D_Weights.IMAGENET1K_V1),
        (M.vgg16, M.VGG16_Weights.IMAGENET1K_V1),
        (M.densenet121, M.DenseNet121_Weights.IMAGENET1K_V1),
        (M.alexnet, M.AlexNet_Weights.IMAGENET1K_V1),
    ],
)
def test_macs_and_params_match_torchvision_metadata(builder, weights):
    with torch.device("meta"):  # no weights in memory: building VGG-16 for real takes seconds
        model = builder(weights=None)
    macs = count_macs(model, 224)
    assert macs / 1e9 == pytest.approx(weights.meta["_ops"], rel=0.01)
    assert count_params(model) == weights.meta["num_params"]


def test_macs_count_attention_matmuls():
    # one attention layer: in-projection 3·L·E², scores L·L·E, weighted sum L·L·E, out-projection L·E²
    L, E = 16, 32
    mha = nn.MultiheadAttention(E, 4, batch_first=True)

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, x):  # (B, C, H, W) → tokens (B, HW, C)
            t = x.flatten(2).transpose(1, 2)
            return self.mha(t, t, t, need_weights=False)[0]

    macs = count_macs(Wrap(), (E, 4, 4))
    assert macs == 4 * L * E * E + 2 * L * L * E


def test_macs_of_simple_layers_by_formula():
    conv = nn.Conv2d(8, 16, 3, padding=1, groups=4)
    assert count_macs(conv, (8, 10, 10)) == 16 * 10 * 10 * (8 // 4) * 9
    tconv = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
    assert count_macs(tconv, (8, 5, 5)) == 8 * 5 * 5 * 4 * 16
    assert count_macs(nn.Linear(10, 3), 10) == 30  # a linear model: input_size is (features,)
    assert count_macs(nn.Linear(10, 3), (5, 10)) == 150  # 5 tokens
    assert count_params(nn.Conv2d(3, 64, 3)) == 1792


def test_macs_by_module_adds_up():
    model = M.resnet18(weights=None)
    parts = macs_by_module(model, 64)
    assert set(parts) >= {"conv1", "layer1", "layer4", "fc"}
    assert sum(parts.values()) == count_macs(model, 64)


def test_shared_parameters_counted_once_and_trainable_only():
    lin = nn.Linear(4, 4)
    net = nn.Sequential(lin, nn.ReLU(), lin)
    assert count_params(net) == 20
    net[0].bias.requires_grad_(False)
    assert count_params(net, trainable_only=True) == 16


# ---- receptive fields: published values and the recurrence --------------------------------
@pytest.mark.parametrize(
    "builder, size, expected",
    [
        (M.alexnet, 224, 195),  # Araujo et al. (Distill 2019)
        (M.vgg16, 224, 212),
        (lambda weights: M.vgg16(weights=weights).features, 224, 212),
        (M.resnet50, 224, 427),  # torchvision's V1.5 (stride on the 3×3)
        (M.resnet18, 224, 435),
    ],
)
def test_published_receptive_fields(builder, size, expected):
    with torch.device("meta"):
        model = builder(weights=None)
    rf = receptive_field(model, size)
    assert rf.size == (expected, expected)
    assert rf.stride == (32, 32)


def test_densenet_takes_the_longest_path():
    with torch.device("meta"):
        rf = receptive_field(M.densenet121(weights=None), 224)
    # stem 7×7/2 and pool 3×3/2, then 3×3 convs: 6 at stride 4, 12 at 8, 24 at 16, 16 at 32,
    # transitions' 2×2 average pools at strides 4, 8, 16
    expected = 1 + 6 + 2 * 2 + 6 * 2 * 4 + 1 * 4 + 12 * 2 * 8 + 1 * 8 + 24 * 2 * 16 + 1 * 16 + 16 * 2 * 32
    assert rf.size == (expected, expected)


def test_context_module_sequence():
    rf = receptive_field(ContextModule(channels=4), 80)
    assert [r.size[0] for r in rf.layers] == [3, 5, 9, 17, 33, 65, 67, 67]


def test_recurrence_matches_traced():
    layers = [(3, 1, 1, 1), (3, 2, 0, 1), (5, 1, 4, 2), (2, 2, 0, 1)]
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, 1, 1),
        nn.Conv2d(2, 2, 3, 2, 0),
        nn.Conv2d(2, 2, 5, 1, 4, dilation=2),
        nn.MaxPool2d(2),
    )
    rf = receptive_field(net, 40)
    size, jump, start = rf_recurrence(layers)[-1]
    assert (rf.size, rf.stride, rf.offset) == ((size, size), (jump, jump), (start, start))


def test_residual_branch_takes_largest():
    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 1, 3, padding=1)
            self.b = nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            return x + self.b(self.a(x))  # identity path (1) + conv path (5)

    assert receptive_field(Res(), 16).size == (5, 5)


# ---- effective receptive field: the gradient's support equals the analytic box --------------
def _no_padding_net():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, dilation=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, stride=2),
        nn.Tanh(),
        nn.Conv2d(4, 1, 3),
    )


def test_effective_support_equals_analytic_box():
    torch.manual_seed(0)
    net = _no_padding_net()
    rf = receptive_field(net, 48)
    erf = effective_receptive_field(net, 48, n_samples=8)
    assert erf.support_size() == tuple(rf.size)
    box = rf.box(erf.position)
    assert erf.support() == tuple((int(lo), int(hi)) for lo, hi in box)
    assert erf.map.max() == 1.0


def test_effective_support_within_theoretical_on_unet():
    torch.manual_seed(0)
    net = UNet(1, 1, base_channels=4, depth=2)
    rf = receptive_field(net, 64)
    erf = effective_receptive_field(net, 64, position=(31, 31), n_samples=2)
    assert max(erf.support_size()) <= max(rf.size) and min(erf.support_size()) >= min(rf.size) - 8


def test_effective_receptive_field_of_a_classifier_layer():
    erf = effective_receptive_field(M.resnet18(weights=None), 64, layer="layer2", n_samples=1)
    assert erf.map.shape == (64, 64)
    with pytest.raises(ValueError, match="layer="):
        effective_receptive_field(M.resnet18(weights=None), 64, n_samples=1)
    with pytest.raises(ValueError, match="no submodule"):
        effective_receptive_field(M.resnet18(weights=None), 64, layer="layer9")


# ---- other layer types -----------------------------------------------------------------------
def test_upsampling_and_transposed_conv_shrink_the_stride():
    up = nn.Sequential(nn.ConvTranspose2d(1, 1, 2, stride=2), nn.Upsample(scale_factor=2))
    rf = receptive_field(up, 8)
    assert rf.stride == (0.25, 0.25) and rf.size == (1, 1)
    bil = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(1, 1, 3, padding=1))
    assert receptive_field(bil, 8).size == (3, 3)  # 2 taps, then 3 outputs at half a pixel apart → 1 + 1 + 1


def test_unet_valid_padding_and_crop():
    rf = receptive_field(UNet(padding=0, base_channels=2), 188)
    assert rf.size == (200, 200) and rf.stride == (1, 1)


def test_cyclic_shift_wraps_around():
    class Shift(nn.Module):
        def forward(self, x):
            return torch.roll(x, 3, dims=-1)

    assert receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), Shift()), 16).whole


def test_attention_sees_the_whole_input():
    with torch.device("meta"):
        model = M.vit_b_16(weights=None, image_size=64)
    rf = receptive_field(model, 64)
    assert rf.whole and rf.size == (2 * 64 - 1,) * 2


def test_per_axis_values():
    rf = receptive_field(nn.Conv2d(1, 1, (3, 5)), (10, 12))
    assert rf.size == (3, 5) and rf.stride == (1, 1) and rf.offset == (1, 2)
    # plain tuples keep Python's contracts: equal values hash equal, < and >= are complementary
    for value in (rf.size, rf.stride, rf.offset, rf.layers[0].size):
        assert type(value) is tuple and hash(value) == hash(tuple(value))
    square = receptive_field(nn.Conv2d(1, 1, 3), 8)
    assert square.size != 3 and {square.size: "a"}[(3, 3)] == "a"
    assert (square.size < rf.size) != (square.size >= rf.size)
    assert "receptive field: 3 × 5 px, stride 1" == rf.describe()


# ---- bad input -------------------------------------------------------------------------------
def test_bad_input_errors():
    with pytest.raises(TypeError, match="nn.Module"):
        receptive_field("resnet50", 224)
    with pytest.raises(TypeError, match=r"^model must be a torch.nn.Module .*, got function; build the network"):
        count_macs(lambda x: x, 224)
    with pytest.raises(ValueError, match="input_size"):
        receptive_field(nn.Conv2d(3, 3, 3), -4)
    with pytest.raises(ValueError, match="input_size"):
        count_macs(nn.Conv2d(3, 3, 3), "224")
    with pytest.raises(ValueError, match="failed on an input"):
        receptive_field(nn.Conv2d(3, 3, 7), 4)  # too small for the kernel
    with pytest.raises(ValueError, match="failed on an input"):
        count_macs(nn.Conv2d(3, 3, 3), (5, 16, 16))  # wrong channels


def test_unsupported_layer_is_named():
    class Warp(nn.Module):
        def forward(self, x):
            grid = torch.zeros(x.shape[0], *x.shape[-2:], 2)
            return torch.nn.functional.grid_sample(x, grid, align_corners=False)

    net = nn.Sequential(nn.Conv2d(1, 1, 3), Warp())
    with pytest.raises(UnsupportedLayerError, match=r"grid_sample.*'1' \(Warp\)"):
        receptive_field(net, 16)
    with pytest.raises(UnsupportedLayerError, match="LSTM"):
        count_macs(nn.Sequential(nn.LSTM(4, 4)), (1, 4))


def test_one_and_three_dimensional_networks():
    net1d = nn.Sequential(nn.Conv1d(2, 4, 5, stride=2), nn.ReLU(), nn.Conv1d(4, 4, 3, dilation=2))
    rf = receptive_field(net1d, (2, 64))
    assert rf.size == (13,) and rf.stride == (2,)
    net3d = nn.Sequential(nn.Conv3d(1, 2, 3), nn.MaxPool3d(2), nn.Conv3d(2, 2, 3))
    assert receptive_field(net3d, 16).size == (8, 8, 8)
    with pytest.raises(ValueError, match="3-D network"):
        receptive_field(net3d, (1, 1, 1, 16, 16, 16))


def test_skeleton_builds_on_meta_and_falls_back_for_constructors_that_compute():
    from coursekit.analysis import skeleton

    resnet = skeleton("resnet18")
    assert next(resnet.parameters()).is_meta
    assert count_params(resnet) == 11_689_512
    # RegNet computes its stage widths with tensors while it builds: meta cannot, the CPU can
    regnet = skeleton("regnet_y_400mf")
    assert not next(regnet.parameters()).is_meta
    assert abs(count_macs(regnet, 224) / 1e9 / 0.402 - 1) < 0.01  # torchvision lists 0.402 GFLOPS
