"""coursekit.models.transformer_net: Johnson et al.'s reference configuration and its behaviour."""

import pytest
import torch
from _overfit import overfit
from torch import nn

from coursekit.analysis.complexity import count_params
from coursekit.models.transformer_net import ResidualBlock, TransformerNet


def test_reference_configuration():
    # (its 1,679,235 parameters, as pytorch/examples fast_neural_style prints them: test_model_table.py)
    net = TransformerNet()
    assert len(net.residual) == 5
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in net.modules()) == 3 + 5 * 2 + 2
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert count_params(ResidualBlock(128)) == 2 * (128 * 128 * 9 + 128 + 2 * 128)


def test_shapes_and_range():
    net = TransformerNet(width=0.25, n_residual=2)
    for size in [(16, 16), (20, 28)]:
        y = net(torch.rand(2, 3, *size))
        assert y.shape == (2, 3, *size) and 0 <= y.min() and y.max() <= 1


def test_bad_input():
    net = TransformerNet(width=0.25, n_residual=1)
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.rand(1, 3, 18, 16))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        net(torch.rand(1, 1, 16, 16))
    with pytest.raises(ValueError):
        TransformerNet(width=0)


def test_gradient_reaches_the_input():
    net = TransformerNet(width=0.25, n_residual=1)
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    net(x).mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_overfits_a_fixed_target():
    torch.manual_seed(0)
    net = TransformerNet(width=0.25, n_residual=1)
    x = nn.functional.interpolate(torch.rand(4, 3, 4, 4), size=16, mode="bilinear")  # smooth images
    target = x  # reproduce the input: the content half of the perceptual loss
    first, last = overfit(net, (x, target), lambda m, b: (m(b[0]) - b[1]).pow(2).mean(), lr=1e-2)
    assert last < 0.5 * first
