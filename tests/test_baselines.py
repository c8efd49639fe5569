import numpy as np
import pytest
import torch

from coursekit.baselines import (
    add_noise,
    best_gaussian_sigma,
    gaussian_blur,
    nl_means,
    poisson_integrate,
    retinex,
    threshold_thin,
)
from coursekit.data.intrinsic import make_scenes
from coursekit.metrics import lmse, psnr


def test_threshold_thin_gives_one_pixel_lines():
    img = torch.ones(1, 1, 16, 16)
    img[0, 0, 6:10, 2:14] = 0.2  # a 4-pixel-thick bar
    out = threshold_thin(img)
    assert out.shape == img.shape
    lines = out[0, 0] < 0.5
    assert lines.any() and lines.sum(0).max() == 1  # one pixel thick in each column
    assert (threshold_thin(img, thin=False) == (img >= 0.5).float()).all()
    assert (threshold_thin(img, width=3)[0, 0] < 0.5).sum() > lines.sum()
    with pytest.raises(ValueError):
        threshold_thin(torch.ones(1, 3, 16, 16))


def test_poisson_integrate_recovers_a_function():
    f = np.random.default_rng(0).random((2, 12, 17))
    gx, gy = np.zeros_like(f), np.zeros_like(f)
    gx[..., :, :-1] = np.diff(f, axis=-1)
    gy[..., :-1, :] = np.diff(f, axis=-2)
    np.testing.assert_allclose(poisson_integrate(gx, gy), f - f.mean((1, 2), keepdims=True), atol=1e-10)


def test_retinex_separates_piecewise_albedo_from_smooth_shading():
    d = make_scenes(8, 32, seed=0)
    albedo, shading = retinex(d["image"], threshold=0.3)
    assert albedo.shape == (8, 3, 32, 32) and shading.shape == (8, 1, 32, 32)
    # much better than calling the image the albedo and the shading flat
    assert lmse(albedo, d["albedo"]) < 0.5 * lmse(d["image"], d["albedo"])
    assert lmse(shading, d["shading"]) < 0.5 * lmse(torch.ones_like(d["shading"]), d["shading"])
    # recombination reproduces the image's brightness
    torch.testing.assert_close(
        (albedo * shading).mean(1), d["image"].clamp_min(1e-3).mean(1), atol=1e-4, rtol=1e-3
    )
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        retinex(d["image"][:, :1])


def test_add_noise_and_sigma_range():
    x = torch.full((4, 1, 32, 32), 0.5)
    y = add_noise(x, 25 / 255, generator=torch.Generator().manual_seed(0))
    assert abs(float((y - x).std()) - 25 / 255) < 0.005
    with pytest.raises(ValueError, match="255"):
        add_noise(x, 25)


def test_gaussian_blur_preserves_constants_and_reduces_noise():
    x = torch.full((1, 1, 16, 16), 0.3)
    torch.testing.assert_close(gaussian_blur(x, 1.5), x)
    noisy = add_noise(x, 0.1)
    assert gaussian_blur(noisy, 1.0).std() < noisy.std()
    assert torch.equal(gaussian_blur(noisy, 0), noisy)
    with pytest.raises(ValueError):
        gaussian_blur(x, -1)


def test_best_gaussian_sigma_grows_with_noise():
    t = torch.linspace(0, 1, 32)
    clean = (0.5 + 0.4 * torch.sin(6 * t)[None, :] * torch.cos(4 * t)[:, None])[None, None].repeat(4, 1, 1, 1)
    g = torch.Generator().manual_seed(0)
    low = best_gaussian_sigma(add_noise(clean, 0.02, g), clean)
    high = best_gaussian_sigma(add_noise(clean, 0.3, g), clean)
    assert high > low


def test_nl_means_beats_noisy_input():
    t = torch.linspace(0, 1, 32)
    clean = (t[None, :] > 0.5).float()[None, None].repeat(2, 1, 32, 1) * 0.6 + 0.2
    noisy = add_noise(clean, 0.1, torch.Generator().manual_seed(1))
    den = nl_means(noisy, 0.1)
    assert den.shape == noisy.shape
    assert psnr(den, clean) > psnr(noisy, clean) + 3
    with pytest.raises(ValueError):
        nl_means(noisy, 10)
