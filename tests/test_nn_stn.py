import pytest
import torch
import torch.nn.functional as F
from _overfit import overfit

from coursekit.nn.stn import SpatialTransformer, affine_grid


def test_affine_grid_matches_torch():
    theta = torch.randn(4, 2, 3)
    for size in [(4, 1, 5, 7), (4, 3, 1, 1), (4, 2, 8, 8)]:
        assert torch.allclose(
            affine_grid(theta, size), F.affine_grid(theta, list(size), align_corners=False), atol=1e-6
        )


def test_affine_grid_bad_theta():
    with pytest.raises(ValueError, match=r"\(B, 2, 3\)"):
        affine_grid(torch.randn(2, 3, 3), (2, 1, 4, 4))


@pytest.mark.parametrize("size", [(28, 28), (17, 9), (3, 3)])
def test_identity_at_init_any_size(size):
    torch.manual_seed(0)
    stn = SpatialTransformer(2)
    x = torch.rand(3, 2, *size)
    assert torch.allclose(stn(x), x, atol=1e-5)
    assert torch.equal(stn.last_theta, torch.tensor([[1.0, 0, 0], [0, 1, 0]]).expand(3, 2, 3))


def test_out_size_and_gradients():
    stn = SpatialTransformer(1, out_size=(10, 12))
    x = torch.rand(2, 1, 20, 20, requires_grad=True)
    y = stn(x)
    assert y.shape == (2, 1, 10, 12)
    y.sum().backward()
    assert x.grad.abs().sum() > 0
    assert stn.regress.weight.grad.abs().sum() > 0  # θ receives gradient through the sampler


def test_learns_a_shift():
    # target = input shifted right: the transformer must learn a translation
    torch.manual_seed(0)
    stn = SpatialTransformer(1, width=8, features=16)
    x = torch.zeros(8, 1, 16, 16)
    x[:, :, 6:10, 4:8] = 1
    target = torch.roll(x, 3, dims=-1)
    first, last = overfit(stn, (x, target), lambda m, b: (m(b[0]) - b[1]).pow(2).mean(), steps=60, lr=1e-2)
    assert last < 0.5 * first
    assert stn.last_theta[0, 0, 2] < -0.1  # sampling from the left = shifting content right


def test_wrong_channels():
    with pytest.raises(ValueError, match=r"expects \(B, 3, H, W\)"):
        SpatialTransformer(3)(torch.rand(1, 1, 8, 8))
