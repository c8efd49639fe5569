"""coursekit.validate: the one input check, its messages and hints."""

import pytest
import torch

from coursekit import validate as V


def test_a_good_tensor_passes_through():
    x = torch.rand(2, 3, 8, 8)
    assert V.tensor(x, "x", ndim=4, channels=3, floating=True) is x
    assert V.tensor(torch.rand(5, 7), "f", ndim=(2, 3)).shape == (5, 7)


@pytest.mark.parametrize(
    "bad, exc, fragment",
    [
        (torch.rand(3, 8, 8), ValueError, r"x\[None\]"),
        (torch.rand(2, 1, 8, 8), ValueError, "repeat the grey channel"),
        (torch.rand(2, 4, 8, 8), ValueError, "alpha"),
        (torch.rand(2, 8, 8, 3), ValueError, "permute"),
        ((torch.rand(2, 3, 8, 8) * 255).to(torch.uint8), TypeError, "/ 255"),
        (torch.rand(2, 3, 8, 8).numpy(), TypeError, "as_tensor"),
    ],
)
def test_common_mistakes_get_a_hint(bad, exc, fragment):
    with pytest.raises(exc, match=fragment) as info:
        V.tensor(bad, "images", ndim=4, channels=3, floating=True)
    assert str(info.value).startswith("images must be")


def test_grey_expected_colour_given():
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\).*mean\(1, keepdim=True\)"):
        V.tensor(torch.rand(2, 3, 8, 8), "sketch", ndim=4, channels=1)


def test_feature_matrix_shape_is_named():
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        V.tensor(torch.rand(4), "features", ndim=2)


def test_wrong_device_names_the_move():
    with pytest.raises(RuntimeError, match=r"x.to\('meta'\)"):
        V.tensor(torch.rand(2), "x", device="meta")


def test_same_shape():
    x = torch.rand(2, 3, 8, 8)
    V.same_shape(x, x.clone(), "psnr")
    with pytest.raises(ValueError, match="psnr: the prediction and the target must have the same shape"):
        V.same_shape(x, x[:, :1], "psnr")
    with pytest.raises(ValueError, match="psnr: the prediction must be"):
        V.same_shape(x[0], x[0], "psnr")
