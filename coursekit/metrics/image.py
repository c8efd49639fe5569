"""Image-quality metrics: a prediction against its target, for the application notebooks (denoising, sketches, intrinsic images).

- PSNR: ``10 log10(MAX^2 / MSE)`` per image, averaged over the batch.
- SSIM: Wang, Bovik, Sheikh & Simoncelli, "Image Quality Assessment: From Error Visibility to
  Structural Similarity", IEEE TIP 2004 (11x11 Gaussian window, sigma 1.5, K1 = 0.01,
  K2 = 0.03; equal to ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
  use_sample_covariance=False)``, with which the tests compare it).
- Line precision / recall / F1 with a distance tolerance: a predicted ink pixel counts as right
  if a true ink pixel lies within ``tolerance`` pixels, and vice versa (the usual edge and
  line-drawing benchmark metric, e.g. Martin, Fowlkes & Malik, TPAMI 2004, without the
  one-to-one matching).
- Scale-invariant MSE (``si_mse``) and its local version (``lmse``): Grosse, Johnson, Adelson &
  Freeman, "Ground truth dataset and baseline evaluations for intrinsic image algorithms",
  ICCV 2009 (albedo and shading are only defined up to a scale, so the best scale is fitted
  first); the scale-invariant log loss of Eigen et al. (NIPS 2014) used by Narihira et al.
  (ICCV 2015) is ``si_log_loss``.

All functions take (B, C, H, W) tensors (checked with :func:`coursekit.validate.same_shape`) and
return a scalar tensor (``reduction="mean"``) or one value per image (``reduction="none"``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import validate

__all__ = ["psnr", "ssim", "line_prf", "ink", "si_mse", "lmse", "si_log_loss"]


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def psnr(
    pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB, per image then averaged."""
    validate.same_shape(pred, target, "psnr", floating=False)
    mse = ((pred.float() - target.float()) ** 2).flatten(1).mean(1).clamp_min(1e-12)  # (B,)
    return _reduce(10 * torch.log10(data_range**2 / mse), reduction)


def _gaussian_window(sigma: float, truncate: float = 3.5) -> torch.Tensor:
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64, device="cpu")
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(
    pred: torch.Tensor,
    target: torch.Tensor,
    data_range: float = 1.0,
    sigma: float = 1.5,
    reduction: str = "mean",
) -> torch.Tensor:
    """Structural similarity (mean of the SSIM map over valid positions and channels), per image.

    Computed in float64 on the CPU (the variances are differences of close numbers; MPS has no
    float64); the per-image values return to ``pred``'s device. A metric, not a loss: no gradient.
    """
    validate.same_shape(pred, target, "ssim", floating=False)
    c = pred.shape[1]
    g = _gaussian_window(sigma)  # float64, CPU
    k = g.numel()
    if min(pred.shape[-2:]) < k:
        raise ValueError(f"ssim needs images of at least {k}x{k} pixels, got {tuple(pred.shape[-2:])}")
    wx = g.view(1, 1, 1, k).expand(c, 1, 1, k)
    wy = g.view(1, 1, k, 1).expand(c, 1, k, 1)

    def blur(z: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H-k+1, W-k+1), valid positions
        return F.conv2d(F.conv2d(z, wx, groups=c), wy, groups=c)

    x, y = pred.detach().cpu().double(), target.detach().cpu().double()
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    dtype = pred.dtype if pred.is_floating_point() else torch.float32
    return _reduce(s.flatten(1).mean(1).to(device=pred.device, dtype=dtype), reduction)


def ink(images: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Boolean ink mask of line drawings (dark lines on white paper): ``images < threshold``."""
    return images < threshold


def _dilate(mask: torch.Tensor, radius: float) -> torch.Tensor:
    """Dilate a boolean (B, 1, H, W) mask by a disk of the given radius (pixels)."""
    r = int(radius)
    if r <= 0:
        return mask
    t = torch.arange(-r, r + 1, dtype=torch.float32, device=mask.device)
    disk = ((t[:, None] ** 2 + t[None, :] ** 2) <= radius**2 + 1e-6).float()[None, None]
    return F.conv2d(mask.float(), disk, padding=r) > 0


def line_prf(
    pred_ink: torch.Tensor, true_ink: torch.Tensor, tolerance: float = 1.5, reduction: str = "mean"
) -> dict[str, torch.Tensor]:
    """Precision, recall and F1 of line pixels with a distance tolerance.

    ``pred_ink`` and ``true_ink`` are boolean (B, 1, H, W) masks (use :func:`ink` on images).
    precision = share of predicted ink within ``tolerance`` px of true ink; recall = share of true
    ink within ``tolerance`` px of predicted ink; F1 = their harmonic mean. Per image, then averaged
    (an image with no ink at all on one side counts as precision or recall 1 if the other side is empty
    too, else 0).
    """
    validate.same_shape(pred_ink, true_ink, "line_prf", floating=False)
    if pred_ink.dtype != torch.bool or true_ink.dtype != torch.bool:
        raise TypeError(
            f"line_prf expects boolean ink masks, got {pred_ink.dtype} and {true_ink.dtype}; "
            "use coursekit.metrics.ink(images)"
        )
    near_true, near_pred = _dilate(true_ink, tolerance), _dilate(pred_ink, tolerance)
    n_pred, n_true = pred_ink.flatten(1).sum(1).float(), true_ink.flatten(1).sum(1).float()
    hit_p = (pred_ink & near_true).flatten(1).sum(1).float()
    hit_r = (true_ink & near_pred).flatten(1).sum(1).float()
    precision = torch.where(n_pred > 0, hit_p / n_pred.clamp_min(1), (n_true == 0).float())
    recall = torch.where(n_true > 0, hit_r / n_true.clamp_min(1), (n_pred == 0).float())
    f1 = 2 * precision * recall / (precision + recall).clamp_min(1e-12)
    return {
        "precision": _reduce(precision, reduction),
        "recall": _reduce(recall, reduction),
        "f1": _reduce(f1, reduction),
    }


def si_mse(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Scale-invariant MSE: ``min_a mean((a * pred - target)^2)`` per image (a fitted by least squares)."""
    validate.same_shape(pred, target, "si_mse")
    p, t = pred.flatten(1), target.flatten(1)  # (B, N)
    a = (p * t).sum(1, keepdim=True) / (p * p).sum(1, keepdim=True).clamp_min(1e-12)  # (B, 1)
    return _reduce(((a * p - t) ** 2).mean(1), reduction)


def lmse(pred: torch.Tensor, target: torch.Tensor, window: int = 16, reduction: str = "mean") -> torch.Tensor:
    """Local scale-invariant MSE (Grosse et al. 2009): si-MSE on windows overlapping by half, summed
    and normalised by the same sum for a prediction of zeros (so 0 is perfect and 1 is as bad as
    predicting nothing). Windows of ``window`` pixels every ``window // 2``, fully inside the image
    (the benchmark's code: 20 every 10); one factor per window for all channels."""
    validate.same_shape(pred, target, "lmse")
    stride = max(1, window // 2)
    b, c = pred.shape[:2]
    p = F.unfold(pred.float(), window, stride=stride)  # (B, C*w*w, L)
    t = F.unfold(target.float(), window, stride=stride)
    p = p.view(b, c, window * window, -1).transpose(1, 3).reshape(b, -1, c * window * window)  # (B, L, N)
    t = t.view(b, c, window * window, -1).transpose(1, 3).reshape(b, -1, c * window * window)
    a = (p * t).sum(2, keepdim=True) / (p * p).sum(2, keepdim=True).clamp_min(1e-12)
    err = ((a * p - t) ** 2).sum((1, 2))
    return _reduce(err / (t**2).sum((1, 2)).clamp_min(1e-12), reduction)


def si_log_loss(
    pred: torch.Tensor, target: torch.Tensor, lam: float = 0.5, eps: float = 1e-4, reduction: str = "mean"
) -> torch.Tensor:
    """Eigen et al.'s scale-invariant log loss (NIPS 2014, with lam = 0.5 for depth): with
    d = log pred - log target, ``mean(d^2) - lam * mean(d)^2`` per image (lam = 1: fully scale
    invariant; 0: plain log MSE). Narihira et al.'s released code applies it with lam = 1 to
    ``log(x + 0.5)`` of albedo and shading."""
    validate.same_shape(pred, target, "si_log_loss")
    d = (torch.log(pred.clamp_min(eps)) - torch.log(target.clamp_min(eps))).flatten(1)
    return _reduce((d**2).mean(1) - lam * d.mean(1) ** 2, reduction)
