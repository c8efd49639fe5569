import math

import numpy as np
import pytest
import torch

from coursekit.metrics import ink, line_prf, lmse, psnr, si_log_loss, si_mse, ssim


def test_psnr_known_value_and_per_image():
    x = torch.zeros(2, 1, 8, 8)
    y = x.clone()
    y[0] += 0.1  # mse 0.01 -> 20 dB
    y[1] += 0.01  # mse 1e-4 -> 40 dB
    assert psnr(y, x, reduction="none").tolist() == pytest.approx([20.0, 40.0], abs=1e-4)
    assert float(psnr(y, x)) == pytest.approx(30.0, abs=1e-4)
    assert float(psnr(y * 255, x * 255, data_range=255)) == pytest.approx(30.0, abs=1e-3)


def test_psnr_matches_skimage():
    from skimage.metrics import peak_signal_noise_ratio

    a, b = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    assert float(psnr(a, b)) == pytest.approx(
        peak_signal_noise_ratio(b[0].numpy(), a[0].numpy(), data_range=1), abs=1e-4
    )


@pytest.mark.parametrize("channels", [1, 3])
def test_ssim_matches_skimage(channels):
    from skimage.metrics import structural_similarity

    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, channels, 32, 32, generator=g, dtype=torch.float64)
    b = (a + 0.2 * torch.randn(a.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    ours = ssim(a, b, reduction="none")
    for i in range(2):
        ref = structural_similarity(
            a[i].numpy(),
            b[i].numpy(),
            data_range=1,
            channel_axis=0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        assert float(ours[i]) == pytest.approx(ref, abs=1e-6)
    assert float(ssim(a, a)) == pytest.approx(1.0)


def test_line_prf_tolerance():
    true = torch.zeros(1, 1, 16, 16, dtype=torch.bool)
    true[0, 0, 8, 2:14] = True
    shifted = torch.roll(true, 1, dims=2)  # one pixel off
    exact = line_prf(true, true, tolerance=0)
    assert float(exact["f1"]) == 1.0
    assert float(line_prf(shifted, true, tolerance=0)["f1"]) == 0.0
    assert float(line_prf(shifted, true, tolerance=1)["f1"]) == 1.0
    half = true.clone()
    half[0, 0, 8, 8:] = False  # half the line: precision 1, recall ~1/2
    r = line_prf(half, true, tolerance=1)
    assert float(r["precision"]) == 1.0 and 0.4 < float(r["recall"]) < 0.7
    empty = torch.zeros_like(true)
    assert float(line_prf(empty, empty)["f1"]) == 1.0 and float(line_prf(empty, true)["f1"]) == 0.0
    with pytest.raises(TypeError, match="boolean"):
        line_prf(true.float(), true)


def test_ink():
    assert ink(torch.tensor([[[[0.1, 0.9]]]])).tolist() == [[[[True, False]]]]


def test_si_mse_scale_invariant():
    t = torch.rand(3, 3, 8, 8)
    assert float(si_mse(2.5 * t, t)) == pytest.approx(0.0, abs=1e-10)
    p = torch.rand(3, 3, 8, 8)
    assert float(si_mse(4 * p, t)) == pytest.approx(float(si_mse(p, t)), rel=1e-5)
    assert float(si_mse(p, t)) <= float(((p - t) ** 2).mean()) + 1e-7


def test_lmse_local_scale_and_normalisation():
    t = torch.rand(2, 1, 32, 32) + 0.1
    # a different scale in each half: globally wrong, locally right except windows straddling the seam
    p = t.clone()
    p[..., :16] *= 3
    assert float(lmse(p, t, window=8)) < float(si_mse(p, t)) / float((t**2).mean())
    assert float(lmse(t, t)) == pytest.approx(0.0, abs=1e-10)
    assert float(lmse(torch.zeros_like(t), t)) == pytest.approx(1.0)


def test_si_log_loss():
    t = torch.rand(2, 1, 8, 8) + 0.1
    assert float(si_log_loss(3 * t, t, lam=1.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(si_log_loss(3 * t, t, lam=0.0)) == pytest.approx(math.log(3) ** 2, rel=1e-5)


def test_bad_inputs():
    with pytest.raises(ValueError, match="same shape"):
        psnr(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 9))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        ssim(torch.rand(8, 8), torch.rand(8, 8))
    with pytest.raises(TypeError):
        psnr(np.zeros((1, 1, 8, 8)), torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="reduction"):
        psnr(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8), reduction="sum")
