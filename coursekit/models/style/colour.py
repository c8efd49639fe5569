"""Colour control for style transfer (Gatys et al., "Controlling Perceptual Factors in Neural
Style Transfer", CVPR 2017, Sec. 5): transfer on luminance only, or recolour the style first.

Luminance here is Y of YIQ (NTSC, ``0.299 R + 0.587 G + 0.114 B``), as in the paper: hence
:func:`luminance_yiq` (the exposure filters of 4.4 use other weights: ``models.exposure.luminance_rgb2lum``).
"""

from __future__ import annotations

import torch

__all__ = ["luminance_yiq", "match_color", "preserve_luminance_colors"]

_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def luminance_yiq(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB -> (B, 1, H, W) luminance Y of YIQ: 0.299 R + 0.587 G + 0.114 B."""
    return torch.einsum("kc,bchw->bkhw", _YIQ[:1].to(x), x)


def preserve_luminance_colors(stylised: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Keep the stylised image's luminance and the content's colour (I, Q) channels."""
    yiq_s = torch.einsum("kc,bchw->bkhw", _YIQ.to(stylised), stylised)
    yiq_c = torch.einsum("kc,bchw->bkhw", _YIQ.to(content), content)
    yiq = torch.cat([yiq_s[:, :1], yiq_c[:, 1:]], 1)
    return torch.einsum("kc,bchw->bkhw", torch.linalg.inv(_YIQ).to(yiq), yiq).clamp(0, 1)


def match_color(source: torch.Tensor, target: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Recolour ``source`` so its pixels' mean and covariance match ``target``'s (both (1,3,H,W)).

    x' = A (x - mu_s) + mu_t with A = Cov_t^(1/2) Cov_s^(-1/2): the linear colour transfer of
    Gatys et al. 2017 (Sec. 5.1, after Hertzmann's image analogies). The 3x3 statistics are
    computed in float64 on the CPU (MPS has no float64; a 3x3 eigendecomposition is no work
    for a GPU anyway); the result returns to ``source``'s device and dtype.
    """

    def stats(img):
        p = img.detach().reshape(3, -1).cpu().double()  # (3, N), float64 on the CPU
        mu = p.mean(1, keepdim=True)  # (3, 1)
        centred = p - mu
        cov = centred @ centred.T / max(p.shape[1] - 1, 1)  # (3, 3), unbiased
        return p, mu, cov + eps * torch.eye(3, dtype=p.dtype, device=p.device)

    def sqrtm(m, power):
        vals, vecs = torch.linalg.eigh(m)
        return vecs @ torch.diag(vals.clamp_min(eps) ** power) @ vecs.T

    p, mu_s, cov_s = stats(source)
    _, mu_t, cov_t = stats(target)
    a = sqrtm(cov_t, 0.5) @ sqrtm(cov_s, -0.5)
    out = a @ (p - mu_s) + mu_t
    return out.reshape(source.shape).to(device=source.device, dtype=source.dtype).clamp(0, 1)
