"""Quality and diversity of generated images: a Fréchet distance and a diversity score.

The Fréchet distance between two Gaussians fitted to features of real and generated images,

    FD = ||μ_r - μ_g||² + Tr(Σ_r + Σ_g - 2 (Σ_r Σ_g)^{1/2}),

is the FID of Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", NeurIPS 2017 (reference code: bioinf-jku/TTUR, mseitzer/pytorch-fid).

Deviation from FID: the features are not Inception-v3's pool3 (which would need a download and
ImageNet-like photos) but the penultimate layer of a small classifier
(:class:`coursekit.models.classifiers.FeatureNet`), trained once per dataset on the course's own data
and cached by :func:`coursekit.train.frechet_features` (the approach of the "FID on MNIST" variants
that use a LeNet). Numbers are therefore comparable only within one dataset and one scorer, never to
published FIDs. Always read a score beside its **floor**: the distance between two disjoint sets of
real images of the same size (:meth:`FrechetScorer.floor`); a perfect generator scores about the
floor, not 0, because the statistics are estimated from finitely many samples.

The diversity score (:func:`diversity`) is the mean pairwise distance of several outputs for one
input, as in Zhu et al., "Toward Multimodal Image-to-Image Translation" (BicycleGAN), NeurIPS 2017,
§5 (the paper uses the LPIPS distance; here the L1 distance in pixels or any feature function).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .. import validate

__all__ = [
    "FrechetScorer",
    "class_coverage",
    "diversity",
    "frechet_distance",
    "gaussian_stats",
    "modes_covered",
]


# --- the Fréchet distance --------------------------------------------------------------------------
def gaussian_stats(feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), in float64 on the CPU."""
    validate.tensor(feats, "features", ndim=2)
    if feats.shape[0] < 2:
        raise ValueError(
            f"features must hold at least 2 feature vectors to estimate a covariance, got {feats.shape[0]}; "
            "give more samples"
        )
    f = feats.detach().cpu().to(torch.float64)  # to the CPU first: MPS has no float64
    mu = f.mean(0)
    centred = f - mu
    sigma = centred.T @ centred / (f.shape[0] - 1)
    return mu, sigma


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix through its eigendecomposition."""
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def _frechet_from_stats(mu1: torch.Tensor, s1: torch.Tensor, mu2: torch.Tensor, s2: torch.Tensor) -> float:
    # Tr((Σ1 Σ2)^{1/2}) = Tr((Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}); the inner matrix is symmetric PSD, so its
    # square root's trace is the sum of the square roots of its eigenvalues (no scipy.linalg.sqrtm).
    r1 = _sqrt_psd(s1)
    inner = r1 @ s2 @ r1
    tr_covmean = torch.linalg.eigvalsh((inner + inner.T) / 2).clamp(min=0).sqrt().sum()
    fd = (mu1 - mu2).pow(2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * tr_covmean
    return float(fd.clamp(min=0))


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N_a, D) and (N_b, D).

    FD = ||μ_a - μ_b||² + Tr(Σ_a + Σ_b - 2 (Σ_a Σ_b)^{1/2})
    """
    validate.tensor(feats_a, "feats_a", ndim=2)
    validate.tensor(feats_b, "feats_b", ndim=2)
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(
            f"feats_a and feats_b must have the same D, got {tuple(feats_a.shape)} and {tuple(feats_b.shape)}; "
            "compute both with the same feature network"
        )
    return _frechet_from_stats(*gaussian_stats(feats_a), *gaussian_stats(feats_b))


# --- the scorer ------------------------------------------------------------------------------------
class FrechetScorer:
    """Fréchet distance to a set of real images, in the features of a trained network.

    ``FrechetScorer(feature_net, images, name="digits")`` fits the real statistics on the features
    of the first half of ``images`` (or of ``reference``) and keeps the second half as held-out
    real images. ``feature_net`` is a trained network: its ``features(x)`` method (or, without one,
    its call) maps images (B, C, H, W) in [0, 1] to (B, D). The course's own feature network, a
    small classifier trained once per dataset and cached, comes from
    :func:`coursekit.train.frechet_features`; the scorer trains nothing.

    - :meth:`score` ``(fakes)``: FD between the fakes' features and the real statistics.
    - :meth:`floor` ``()``: FD between held-out real images (the second half) and the same
      statistics: what a perfect generator would score with as many samples. Score as many fakes as
      :attr:`n_floor` for a fair comparison.
    - :attr:`net`: the feature network (a classifier of the real data: ``scorer.net(x).argmax(1)``
      labels images, for :func:`class_coverage`).
    """

    def __init__(
        self,
        feature_net: nn.Module,
        images: torch.Tensor,
        *,
        name: str = "dataset",
        reference: torch.Tensor | None = None,
        device: torch.device | str | None = None,
    ):
        if not callable(feature_net):
            raise TypeError(
                f"feature_net must be a trained network (B, C, H, W) -> (B, D), got {type(feature_net).__name__}; "
                "build one with coursekit.train.frechet_features(images, labels, name=...)"
            )
        validate.tensor(images, "images", ndim=4, shape="(N, C, H, W) in [0, 1]")
        if len(images) < 4:
            raise ValueError(
                f"images must hold at least 4 real images (2 for the statistics, 2 held out), got {len(images)}; "
                "give more real images"
            )
        if device is None:
            params = list(feature_net.parameters()) if isinstance(feature_net, nn.Module) else []
            device = params[0].device if params else torch.device("cpu")
        self.device = torch.device(device)
        self.name = name
        self.net = feature_net.to(self.device).eval() if isinstance(feature_net, nn.Module) else feature_net
        if reference is None:
            half = len(images) // 2
            reference, self._heldout = images[:half], images[half:]
        else:
            self._heldout = images
        self.n_reference = len(reference)
        self.mu, self.sigma = gaussian_stats(self.features(reference))
        self._floor: float | None = None

    @torch.no_grad()
    def features(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """(N, C, H, W) in [0, 1] -> (N, D) features, on the CPU."""
        want = getattr(self.net, "in_channels", None)
        validate.tensor(images, "images", ndim=4, channels=want, shape=f"(N, {want or 'C'}, H, W) in [0, 1]")
        if isinstance(self.net, nn.Module):
            self.net.eval()
        embed = getattr(self.net, "features", self.net)
        out = [
            embed(images[i : i + batch_size].float().clamp(0, 1).to(self.device)).cpu()
            for i in range(0, len(images), batch_size)
        ]
        return torch.cat(out)

    def score(self, images: torch.Tensor) -> float:
        """Fréchet distance of ``images`` (N, C, H, W) in [0, 1] to the real statistics (lower is better)."""
        if len(images) < 2:
            raise ValueError(f"images must hold at least 2 images to score, got {len(images)}; generate more")
        return _frechet_from_stats(*gaussian_stats(self.features(images)), self.mu, self.sigma)

    @property
    def n_floor(self) -> int:
        """How many held-out real images :meth:`floor` scores (score as many fakes)."""
        return len(self._heldout)

    def floor(self) -> float:
        """Real-vs-real distance: held-out real images scored like fakes (the best reachable score)."""
        if self._floor is None:
            self._floor = self.score(self._heldout)
        return self._floor

    def __repr__(self) -> str:
        # the course's feature network carries how it was trained (coursekit.train.frechet_features)
        accuracy = getattr(self.net, "accuracy", float("nan"))
        cached = getattr(self.net, "cached", None)
        cache = "" if cached is None else f", cache={'hit' if cached else 'trained'}"
        return (
            f"FrechetScorer({self.name!r}, reference={self.n_reference} images, classifier accuracy "
            f"{accuracy:.2f}{cache})"
        )


# --- diversity -------------------------------------------------------------------------------------
def diversity(
    outputs: torch.Tensor, feature_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> float:
    """Mean pairwise distance between several outputs for the same input.

    ``outputs``: (K, C, H, W), K ≥ 2 outputs for one input, or (N, K, C, H, W) for N inputs (the
    mean over inputs). Distance: mean absolute difference of pixels, or of ``feature_fn(outputs)``
    when given (the BicycleGAN paper uses LPIPS). 0 means every output is the same (mode collapse).

        diversity = 2 / (K (K - 1)) Σ_{i<j} mean|f(y_i) - f(y_j)|
    """
    validate.tensor(outputs, "outputs", ndim=(4, 5), shape="(K, C, H, W) or (N, K, C, H, W)")
    if outputs.dim() == 4:
        outputs = outputs.unsqueeze(0)
    n, k = outputs.shape[:2]
    if k < 2:
        raise ValueError(f"outputs must hold at least 2 outputs per input, got {k}; sample more per input")
    with torch.no_grad():
        flat = outputs.reshape(n * k, *outputs.shape[2:]).float()
        f = feature_fn(flat) if feature_fn is not None else flat
        f = f.reshape(n, k, -1)  # (N, K, D)
        d = (f.unsqueeze(1) - f.unsqueeze(2)).abs().mean(-1)  # (N, K, K)
        pairs = k * (k - 1)
        return float(d.sum((1, 2)).div(pairs).mean())


def modes_covered(samples: torch.Tensor, centres: torch.Tensor, threshold: float = 0.3) -> tuple[int, float]:
    """Mode collapse on toy data: (how many of the ``centres`` (M, D) have at least one sample
    within ``threshold``, the fraction of ``samples`` (N, D) within ``threshold`` of some centre)."""
    validate.tensor(samples, "samples", ndim=2)
    validate.tensor(centres, "centres", ndim=2, shape="(M, D)")
    if samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"samples and centres must have the same D, got {tuple(samples.shape)} and {tuple(centres.shape)}; "
            "give points of the toy data's dimension"
        )
    d = torch.cdist(samples.detach().float().cpu(), centres.float().cpu())  # (N, M)
    near = d.min(1).values < threshold
    return int(d.argmin(1)[near].unique().numel()), float(near.float().mean())


def class_coverage(probs_or_labels: torch.Tensor, num_classes: int | None = None) -> tuple[int, float]:
    """Mode collapse on images: (how many classes the samples fall in, the normalised entropy of the
    class histogram: 1 = every class equally often, 0 = one class only). Give predicted labels (N,)
    or class probabilities (N, K), e.g. from ``scorer.net`` (a classifier of the real data)."""
    labels = probs_or_labels.argmax(1) if probs_or_labels.dim() == 2 else probs_or_labels
    k = num_classes or (probs_or_labels.shape[1] if probs_or_labels.dim() == 2 else int(labels.max()) + 1)
    hist = torch.bincount(labels.long().cpu(), minlength=k).float()
    p = hist / hist.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum() / torch.log(torch.tensor(float(k), device=hist.device))
    return int((hist > 0).sum()), float(entropy)
