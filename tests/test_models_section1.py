import pytest
import torch
from _overfit import overfit

from coursekit.analysis.complexity import count_params
from coursekit.models.denoise import DnCNN, dncnn_receptive_field
from coursekit.models.intrinsic import DirectIntrinsicsNet
from coursekit.models.sketch import LAYERS, SketchSimplificationNet, output_size


# ----------------------------------------------------------------------------- sketch net
def test_sketch_net_reference_configuration():
    assert len(LAYERS) == 23 and [k for k, _, _ in LAYERS].count("down") == 3
    # the released model's 44,387,249 parameters: test_model_table.py
    with torch.device("meta"):
        assert count_params(SketchSimplificationNet(width=0.25)) < count_params(SketchSimplificationNet()) / 10


@pytest.mark.parametrize("size", [8, 16, 40])
def test_sketch_net_shape_and_range(size):
    net = SketchSimplificationNet(width=0.125).eval()
    y = net(torch.rand(2, 1, size, size + 8))
    assert y.shape == (2, 1, size, size + 8)
    assert 0 <= y.min() and y.max() <= 1
    assert output_size(size) == size


def test_output_size_rule():
    assert [output_size(n) for n in (8, 9, 12, 16)] == [8, 16, 16, 16]


def test_sketch_net_bad_input():
    net = SketchSimplificationNet(width=0.125)
    with pytest.raises(ValueError, match="multiples of 8"):
        net(torch.rand(1, 1, 30, 32))
    with pytest.raises(ValueError, match="grey"):
        net(torch.rand(1, 3, 32, 32))
    with pytest.raises(TypeError):
        net([[0.0]])


def test_sketch_net_gradient_and_overfit():
    torch.manual_seed(0)
    net = SketchSimplificationNet(width=0.125)
    x = torch.rand(2, 1, 16, 16, requires_grad=True)
    net(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    target = (torch.rand(2, 1, 16, 16) > 0.8).float()
    first, last = overfit(net, (x.detach(), target), lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(), lr=3e-3)
    assert last < 0.5 * first


# ----------------------------------------------------------------------------- DnCNN
def test_dncnn_reference_configuration():
    # DnCNN-S's 556,096 parameters (the paper's ~0.56M): test_model_table.py
    assert dncnn_receptive_field(17) == 35
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in DnCNN().modules()) == 15


def test_dncnn_receptive_field_measured_by_gradient():
    net = DnCNN(depth=5, channels=8).eval()
    x = torch.rand(1, 1, 31, 31, requires_grad=True)
    net.residual(x)[0, 0, 15, 15].backward()
    rows = (x.grad[0, 0].abs().sum(1) > 0).nonzero()
    assert rows.max() - rows.min() + 1 == dncnn_receptive_field(5) == 11


def test_dncnn_is_residual_and_overfits():
    torch.manual_seed(0)
    net = DnCNN(depth=4, channels=16)
    y = torch.rand(2, 1, 16, 16)
    torch.testing.assert_close(net(y), y - net.residual(y))
    clean = torch.full((4, 1, 16, 16), 0.5)
    noisy = clean + 0.1 * torch.randn_like(clean)

    def residual_loss(m, b):
        noisy, clean = b
        return ((m.residual(noisy) - (noisy - clean)) ** 2).mean()

    first, last = overfit(net, (noisy, clean), residual_loss, lr=1e-2)
    assert last < 0.5 * first


def test_dncnn_bad_input():
    with pytest.raises(ValueError, match=r"noisy image y must be a tensor of shape \(B, 1, H, W\), got \(1, 3, 8, 8\)"):
        DnCNN(depth=3, channels=4)(torch.rand(1, 3, 8, 8))
    with pytest.raises(TypeError, match="floating-point"):
        DnCNN(depth=3, channels=4)(torch.zeros(1, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError):
        DnCNN(depth=2)


# ----------------------------------------------------------------------------- direct intrinsics
def test_intrinsic_net_shapes_and_range():
    net = DirectIntrinsicsNet(width=8, fine_kernel=3).eval()
    albedo, shading = net(torch.rand(2, 3, 32, 40))
    assert albedo.shape == (2, 3, 32, 40) and shading.shape == (2, 1, 32, 40)
    assert 0 <= albedo.min() and albedo.max() <= 1 and 0 <= shading.min() and shading.max() <= 1


def test_intrinsic_net_sees_the_whole_image():
    # the global branch: a change in one corner reaches the opposite corner
    net = DirectIntrinsicsNet(width=8, fine_kernel=3).eval()
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    net(x)[0][0, :, 0, 0].sum().backward()
    assert x.grad[0, :, -4:, -4:].abs().sum() > 0


def test_intrinsic_net_overfits():
    torch.manual_seed(0)
    net = DirectIntrinsicsNet(width=8, fine_kernel=3)
    x, a = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    first, last = overfit(net, (x, a), lambda m, b: ((m(b[0])[0] - b[1]) ** 2).mean(), lr=1e-2)
    assert last < 0.7 * first


def test_intrinsic_net_bad_input():
    net = DirectIntrinsicsNet(width=8, fine_kernel=3)
    with pytest.raises(ValueError, match=r"image must be a tensor of shape \(B, 3, H, W\).*repeat the grey channel"):
        net(torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match="multiples of 8"):
        net(torch.rand(1, 3, 30, 32))


def test_ink_weighted_mse():
    from coursekit.checks.applications import _edge_weighted_mse
    from coursekit.models.sketch import ink_weighted_mse

    p, t = torch.rand(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) > 0.2).float()
    torch.testing.assert_close(ink_weighted_mse(p, t, 1.0), ((p - t) ** 2).mean())
    torch.testing.assert_close(ink_weighted_mse(p, t, 5.0), _edge_weighted_mse(p, t, 5.0))
    # an all-white prediction costs more when ink weighs more
    white = torch.ones_like(t)
    assert ink_weighted_mse(white, t, 10.0) > ink_weighted_mse(white, t, 1.0)
    with pytest.raises(ValueError):
        ink_weighted_mse(p, t[:1])


def test_dncnn_zero_init_starts_as_identity():
    net = DnCNN(depth=4, channels=8, zero_init_last=True)
    y = torch.rand(2, 1, 12, 12)
    torch.testing.assert_close(net(y), y)
    assert count_params(net) == count_params(DnCNN(depth=4, channels=8))
