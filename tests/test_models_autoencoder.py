import pytest
import torch
from _overfit import overfit

from coursekit.models.autoencoder import PCA, ConvAutoencoder, FCAutoencoder, quantize, reconstruction_error

# the reference configuration's parameter count (Hinton & Salakhutdinov 2006): test_model_table.py


@pytest.mark.parametrize(
    "model",
    [
        FCAutoencoder((1, 32, 32), 8, (64, 32)),
        ConvAutoencoder(1, 32, 8, (8, 16, 32)),
        ConvAutoencoder(3, 16, 5, (8, 16)),
    ],
)
def test_shapes_range_and_gradients(model):
    c, s = (
        (model.in_shape[0], model.in_shape[1])
        if isinstance(model, FCAutoencoder)
        else (model.in_channels, model.image_size)
    )
    x = torch.rand(4, c, s, s, requires_grad=True)
    z = model.encode(x)
    assert z.shape == (4, model.code_size)
    y = model.decode(z)
    assert y.shape == x.shape
    assert y.min() >= 0 and y.max() <= 1
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_conv_autoencoder_overfits_a_batch():
    torch.manual_seed(0)
    m = ConvAutoencoder(1, 16, 4, (8, 16))
    x = (torch.rand(8, 1, 16, 16) > 0.5).float()
    first, last = overfit(m, x, lambda m, x: torch.nn.functional.mse_loss(m(x), x), steps=60, lr=3e-3)
    assert last < 0.7 * first


def test_pca_matches_covariance_eigendecomposition():
    torch.manual_seed(0)
    x = torch.randn(200, 1, 4, 5) * torch.linspace(0.1, 3, 20).reshape(1, 1, 4, 5)
    pca = PCA(6).fit(x)
    flat = x.reshape(200, -1).double()
    cov = torch.cov(flat.T)
    vals, vecs = torch.linalg.eigh(cov)
    top = vecs[:, -6:].flip(1)  # (D, 6), largest eigenvalue first
    assert torch.allclose(pca.explained_variance.double(), vals[-6:].flip(0), rtol=1e-4)
    # same subspace: same projection matrix (components are defined up to sign)
    assert torch.allclose(pca.components.double().T @ pca.components.double(), top @ top.T, atol=1e-5)
    # reconstruction through the model == projection onto the subspace
    mean = flat.mean(0)
    want = (flat - mean) @ top @ top.T + mean
    assert torch.allclose(pca(x).reshape(200, -1).double(), want, atol=1e-4)


def test_pca_error_falls_with_code_size_and_is_zero_at_full_rank():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 3, 3)
    errs = [reconstruction_error(PCA(k).fit(x), x) for k in (1, 3, 6, 9)]
    assert errs == sorted(errs, reverse=True)
    assert errs[-1] < 1e-10


def test_bad_inputs():
    with pytest.raises(ValueError, match="multiple of 8"):
        ConvAutoencoder(1, 30, 8, (8, 16, 32))
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(B, 1, 32, 32\), got \(2, 3, 32, 32\)"):
        ConvAutoencoder(1, 32, 8, (8, 16)).encode(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(B, 1, 32, 32\), got \(2, 1, 16, 16\); resize"):
        ConvAutoencoder(1, 32, 8, (8, 16)).encode(torch.rand(2, 1, 16, 16))
    with pytest.raises(ValueError, match=r"images must be a tensor of shape \(B, \.\.\.\).*add a batch dimension"):
        reconstruction_error(PCA(1), torch.rand(5))
    with pytest.raises(ValueError, match="code_size"):
        PCA(50).fit(torch.rand(10, 1, 4, 4))
    with pytest.raises(RuntimeError, match="fit"):
        PCA(2).encode(torch.rand(3, 4))
    with pytest.raises(ValueError, match="code_size"):
        FCAutoencoder(code_size=0)


def test_quantize():
    z = torch.linspace(-1, 1, 101)
    q = quantize(z, 2)
    assert len(q.unique()) == 4
    assert (q - z).abs().max() <= (2 / 3) / 2 + 1e-6
    assert torch.allclose(quantize(z, 16), z, atol=1e-4)
    with pytest.raises(ValueError):
        quantize(z, 0)
