"""Classical baselines the application notebooks compare their networks with.

- Sketch cleanup: **threshold + morphological thinning** (binarise the ink, reduce strokes to
  one-pixel skeletons: Zhang & Suen, "A fast parallel algorithm for thinning digital patterns",
  CACM 1984, as ``skimage.morphology.skeletonize``).
- Intrinsic images: **Retinex** by gradient thresholding (Land & McCann, "Lightness and Retinex
  Theory", JOSA 1971; the colour variant evaluated by Grosse, Johnson, Adelson & Freeman,
  ICCV 2009): large gradients of the log image, or ones that change the chromaticity, are
  assigned to the albedo, the rest to the shading; the log albedo is recovered by solving a
  Poisson equation.
- Denoising: **Gaussian blur** with the best sigma (chosen on training pairs) and **non-local
  means** (Buades, Coll & Morel, "A non-local algorithm for image denoising", CVPR 2005, as
  ``skimage.restoration.denoise_nl_means``).
- Photo retouching: **grey-world white balance** (Buchsbaum, "A spatial processor model for object
  colour perception", J. Franklin Inst. 1980) followed by **auto contrast** (quantile stretch),
  the "auto enhance" that notebook 4.4's Exposure network is compared with.

Inputs and outputs are (B, C, H, W) float tensors in [0, 1] unless stated otherwise.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import validate

__all__ = [
    "threshold_thin",
    "retinex",
    "poisson_integrate",
    "gaussian_blur",
    "best_gaussian_sigma",
    "nl_means",
    "add_noise",
    "grey_world",
    "auto_contrast",
    "auto_enhance",
]


# ----------------------------------------------------------------------------- sketches
def threshold_thin(
    rough: torch.Tensor, threshold: float = 0.5, thin: bool = True, width: int = 1
) -> torch.Tensor:
    """Binarise grey sketches (B, 1, H, W) at ``threshold`` (ink = darker), thin the ink to a
    skeleton and (``width`` > 1) thicken it again with a square of that side. Returns a clean-style
    image: 0 on lines, 1 on paper."""
    from skimage.morphology import skeletonize

    validate.tensor(rough, "rough", ndim=4, channels=1)
    ink = (rough < threshold).cpu().numpy()[:, 0]  # (B, H, W) bool
    if thin:
        ink = np.stack([skeletonize(m) for m in ink])
    out = torch.from_numpy(ink).float()[:, None]
    if width > 1:
        out = (
            F.max_pool2d(out, width, stride=1, padding=width // 2)[..., : ink.shape[1], : ink.shape[2]] > 0
        ).float()
    return 1.0 - out


# ----------------------------------------------------------------------------- intrinsic images
def poisson_integrate(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Least-squares integration of a gradient field (..., H, W) -> (..., H, W), mean zero.

    ``gx[..., i, j] = f[i, j+1] - f[i, j]`` (last column unused), likewise ``gy`` down the rows.
    Solves the Poisson equation lap f = div g with Neumann boundaries by a cosine transform.
    """
    from scipy.fft import dctn, idctn

    h, w = gx.shape[-2:]
    gx = gx.copy()
    gy = gy.copy()
    gx[..., :, -1] = 0
    gy[..., -1, :] = 0
    div = gx.copy()
    div[..., :, 1:] -= gx[..., :, :-1]
    div += gy
    div[..., 1:, :] -= gy[..., :-1, :]
    d = dctn(div, type=2, axes=(-2, -1), norm="ortho")
    ky = 2 * np.cos(np.pi * np.arange(h) / h) - 2
    kx = 2 * np.cos(np.pi * np.arange(w) / w) - 2
    denom = ky[:, None] + kx[None, :]
    denom[0, 0] = 1.0
    d = d / denom
    d[..., 0, 0] = 0.0
    return idctn(d, type=2, axes=(-2, -1), norm="ortho")


def retinex(
    image: torch.Tensor, threshold: float = 0.1, chroma_threshold: float | None = 0.02, eps: float = 1e-3
) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour Retinex: image (B, 3, H, W) -> (albedo (B, 3, H, W), shading (B, 1, H, W)).

    A gradient of the log image is kept as albedo if its magnitude exceeds ``threshold`` or the
    chromaticity (colour without brightness) changes by more than ``chroma_threshold`` (``None``:
    brightness only, the original grey-world Retinex); the log
    albedo is integrated from the kept gradients (:func:`poisson_integrate`) and the shading is
    what is left, ``mean_c(image) / mean_c(albedo)``. Albedo and shading are only defined up to a
    scale; we set it so that the brightest 5% of the shading is 1.
    """
    validate.tensor(image, "image", ndim=4, channels=3)
    x = image.double().cpu().numpy().clip(eps, None)  # (B, 3, H, W)
    log = np.log(x)
    chroma = x / x.sum(1, keepdims=True)  # (B, 3, H, W), sums to 1
    gx, gy = np.zeros_like(log), np.zeros_like(log)
    gx[..., :, :-1] = log[..., :, 1:] - log[..., :, :-1]
    gy[..., :-1, :] = log[..., 1:, :] - log[..., :-1, :]
    cx = np.abs(chroma[..., :, 1:] - chroma[..., :, :-1]).sum(1, keepdims=True)
    cy = np.abs(chroma[..., 1:, :] - chroma[..., :-1, :]).sum(1, keepdims=True)
    mag_x = np.abs(gx).mean(1, keepdims=True)  # (B, 1, H, W) grey gradient magnitude
    mag_y = np.abs(gy).mean(1, keepdims=True)
    keep_x = mag_x > threshold
    keep_y = mag_y > threshold
    if chroma_threshold is not None:
        keep_x[..., :, :-1] |= cx > chroma_threshold
        keep_y[..., :-1, :] |= cy > chroma_threshold
    log_albedo = poisson_integrate(gx * keep_x, gy * keep_y)  # (B, 3, H, W), mean zero per channel
    # each channel is integrated up to a constant; grey light changes all channels alike, so the
    # per-channel means of the log image give the albedo's colour balance
    log_albedo += log.mean((2, 3), keepdims=True)
    albedo = np.exp(log_albedo)
    shading = x.mean(1, keepdims=True) / albedo.mean(1, keepdims=True)
    scale = np.quantile(shading.reshape(len(x), -1), 0.95, axis=1)[:, None, None, None]
    shading, albedo = shading / scale, albedo * scale
    return torch.from_numpy(albedo).float(), torch.from_numpy(shading).float()


# ----------------------------------------------------------------------------- denoising
def add_noise(clean: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Additive white Gaussian noise of standard deviation ``sigma`` on the [0, 1] scale (no clipping,
    as in the DnCNN paper). ``sigma`` is given in [0, 1] units: 25/255 for the paper's sigma = 25."""
    if not 0 <= sigma <= 1:
        raise ValueError(
            f"sigma must be in [0, 1] (noise std for images in [0, 1]), got {sigma}; "
            f"for sigma given on the 0-255 scale divide by 255 (e.g. {sigma}/255)"
        )
    noise = torch.randn(clean.shape, generator=generator, dtype=clean.dtype).to(clean.device)
    return clean + sigma * noise


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur (B, C, H, W) with a Gaussian of std ``sigma`` pixels (reflect padding); sigma 0 = identity."""
    validate.tensor(images, "images", ndim=4)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0 pixels, got {sigma}")
    if sigma == 0:
        return images.clone()
    radius = max(1, int(3 * sigma + 0.5))
    if radius >= min(images.shape[-2:]):
        raise ValueError(
            f"sigma {sigma} is too large for {tuple(images.shape[-2:])} images (needs radius {radius})"
        )
    t = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    c = images.shape[1]
    x = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def best_gaussian_sigma(noisy: torch.Tensor, clean: torch.Tensor, sigmas=None) -> float:
    """The blur sigma (pixels) with the highest mean PSNR on the given (training) pairs."""
    from .metrics.image import psnr

    sigmas = sigmas if sigmas is not None else [0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.6, 2.0, 2.5, 3.0]
    scores = [float(psnr(gaussian_blur(noisy, s).clamp(0, 1), clean)) for s in sigmas]
    return float(sigmas[int(np.argmax(scores))])


def nl_means(
    noisy: torch.Tensor, sigma: float, h_factor: float = 0.8, patch_size: int = 5, patch_distance: int = 6
) -> torch.Tensor:
    """Non-local means (scikit-image, fast mode) on each image of (B, C, H, W); ``sigma`` is the
    known noise std in [0, 1] units and ``h = h_factor * sigma`` the filter strength (the factor
    scikit-image's documentation suggests when ``sigma`` is passed)."""
    from skimage.restoration import denoise_nl_means

    validate.tensor(noisy, "noisy", ndim=4)
    if not 0 < sigma <= 1:
        raise ValueError(f"sigma must be in (0, 1] (noise std for images in [0, 1]), got {sigma}")
    out = []
    for img in noisy.detach().cpu().double().numpy():
        kwargs = dict(
            h=h_factor * sigma,
            sigma=sigma,
            fast_mode=True,
            patch_size=patch_size,
            patch_distance=patch_distance,
        )
        if img.shape[0] == 1:  # a grey image goes in as 2-D: scikit-image mishandles one channel
            den = denoise_nl_means(img[0], **kwargs)
        else:
            den = denoise_nl_means(img, channel_axis=0, **kwargs)
        out.append(den.reshape(img.shape))
    return torch.from_numpy(np.stack(out)).to(noisy.dtype)


# --- photo retouching (notebook 4.4) ---------------------------------------------------------------
def grey_world(img: torch.Tensor) -> torch.Tensor:
    """Grey-world white balance (Buchsbaum 1980): scale each channel so that its mean equals the
    mean over all channels (the scene is assumed grey on average)."""
    validate.tensor(img, "img", ndim=4, channels=3)
    means = img.mean(dim=(2, 3), keepdim=True)  # (B, 3, 1, 1)
    return img * means.mean(dim=1, keepdim=True) / means.clamp_min(1e-6)


def auto_contrast(img: torch.Tensor, low: float = 0.01, high: float = 0.99) -> torch.Tensor:
    """Stretch each image so that its ``low`` and ``high`` quantiles (over all pixels and channels)
    become 0 and 1 (the "auto contrast" of photo editors), then clip to [0, 1]."""
    validate.tensor(img, "img", ndim=4, channels=3)
    flat = img.flatten(1)
    lo = torch.quantile(flat, low, dim=1)[:, None, None, None]
    hi = torch.quantile(flat, high, dim=1)[:, None, None, None]
    return ((img - lo) / (hi - lo).clamp_min(1e-6)).clamp(0, 1)


def auto_enhance(img: torch.Tensor) -> torch.Tensor:
    """The baseline without learning: grey-world white balance, then auto contrast."""
    return auto_contrast(grey_world(img))
