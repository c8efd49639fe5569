"""Quality and diversity of generated images: a Fréchet distance and a diversity score.

The Fréchet distance between two Gaussians fitted to features of real and generated images,

    FD = ||μ_r - μ_g||² + Tr(Σ_r + Σ_g - 2 (Σ_r Σ_g)^{1/2}),

is the FID of Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", NeurIPS 2017 (reference code: bioinf-jku/TTUR, mseitzer/pytorch-fid).

Deviation from FID: the features are not Inception-v3's pool3 (which would need a download and
ImageNet-like photos) but the penultimate layer of a small classifier, :class:`FeatureNet`, trained
once per dataset on the course's own data and cached (the approach of the "FID on MNIST" variants
that use a LeNet). Numbers are therefore comparable only within one dataset and one scorer, never to
published FIDs. Always read a score beside its **floor**: the distance between two disjoint sets of
real images of the same size (:meth:`FrechetScorer.floor`); a perfect generator scores about the
floor, not 0, because the statistics are estimated from finitely many samples.

The diversity score (:func:`diversity`) is the mean pairwise distance of several outputs for one
input, as in Zhu et al., "Toward Multimodal Image-to-Image Translation" (BicycleGAN), NeurIPS 2017,
§5 (the paper uses the LPIPS distance; here the L1 distance in pixels or any feature function).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "FeatureNet",
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
    if not isinstance(feats, torch.Tensor) or feats.dim() != 2:
        got = tuple(feats.shape) if isinstance(feats, torch.Tensor) else type(feats).__name__
        raise ValueError(f"features must be a 2-D tensor (N, D), got {got}; flatten them first")
    if feats.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors to estimate a covariance, got {feats.shape[0]}")
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
    if feats_a.dim() != 2 or feats_b.dim() != 2 or feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(
            f"expected two feature sets (N, D) with the same D, got {tuple(feats_a.shape)} and "
            f"{tuple(feats_b.shape)}"
        )
    return _frechet_from_stats(*gaussian_stats(feats_a), *gaussian_stats(feats_b))


# --- the feature network ---------------------------------------------------------------------------
class FeatureNet(nn.Module):
    """A small classifier whose penultimate layer gives the features of the Fréchet distance.

    Images (B, C, H, W) in [0, 1] are resized to ``size`` × ``size`` (32), then three stride-2
    conv blocks (32 → 16 → 8 → 4) and a linear layer give ``feature_dim`` features; a final linear
    layer classifies them. A LeNet-like design, as used for "FID on MNIST".
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        width: int = 32,
        feature_dim: int = 64,
        size: int = 32,
    ):
        super().__init__()
        self.in_channels, self.num_classes, self.size = in_channels, num_classes, size
        w = width

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, stride=2, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            )

        self.body = nn.Sequential(
            block(in_channels, w), block(w, 2 * w), block(2 * w, 4 * w)
        )  # (B, 4w, S/8, S/8)
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * (size // 8) ** 2, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, num_classes)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"FeatureNet expects images (B, {self.in_channels}, H, W) in [0, 1], got {tuple(x.shape)}"
            )
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(
                x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False
            )
        return x * 2 - 1

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, feature_dim)."""
        return self.embed(self.body(self._prepare(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> class logits (B, num_classes)."""
        return self.head(self.features(x))


def _default_cache_dir() -> Path:
    try:
        from .data.download import cache_dir

        return Path(cache_dir())
    except Exception:  # the data package is optional for this module
        return Path("data/cache")


def _fingerprint(images: torch.Tensor, labels: torch.Tensor | None, extra: str) -> str:
    h = hashlib.sha256()
    h.update(str(tuple(images.shape)).encode())
    sub = images[:: max(1, len(images) // 64)].to(torch.float32).cpu().contiguous()
    h.update((sub * 255).round().to(torch.uint8).numpy().tobytes())
    if labels is not None:
        h.update(labels.to(torch.int64).cpu().numpy().tobytes())
    h.update(extra.encode())
    return h.hexdigest()[:16]


def _rotations(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Self-supervised labels when a dataset has none: each image rotated by 0/90/180/270 degrees."""
    k = torch.arange(len(x), device=x.device) % 4
    out = torch.stack([torch.rot90(img, int(r), dims=(-2, -1)) for img, r in zip(x, k)])
    return out, k


class FrechetScorer:
    """Fréchet distance to a set of real images, in the features of a classifier trained on them.

    ``FrechetScorer(images, labels, name="digits")`` trains a :class:`FeatureNet` on the labelled
    images (or, with ``labels=None``, on predicting which of four rotations was applied — a
    self-supervised task that still needs shape features), caches it under the data cache dir
    (``<cache>/frechet/<name>-<fingerprint>.pt``; a changed dataset or setting trains anew), and
    fits the real statistics on the first half of ``images`` (or on ``reference``).

    - :meth:`score` ``(fakes)``: FD between the fakes' features and the real statistics.
    - :meth:`floor` ``()``: FD between held-out real images (the second half) and the same
      statistics: what a perfect generator would score with as many samples. Score as many fakes as
      :attr:`n_floor` for a fair comparison.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        name: str = "dataset",
        reference: torch.Tensor | None = None,
        steps: int = 300,
        max_seconds: float | None = None,
        batch_size: int = 64,
        feature_dim: int = 64,
        width: int = 32,
        device: torch.device | str | None = None,
        cache: bool | str | Path = True,
        seed: int = 0,
        progress: bool = True,
    ):
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"images must be a tensor (N, C, H, W) in [0, 1], got {got}")
        if len(images) < 8:
            raise ValueError(f"need at least 8 real images to train the scorer, got {len(images)}")
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"got {len(images)} images but {len(labels)} labels; give one label per image")
        from .runtime import active_profile
        from .runtime import device as default_device

        self.device = torch.device(device) if device is not None else default_device()
        self.name = name
        num_classes = 4 if labels is None else int(labels.max()) + 1
        self.net = FeatureNet(images.shape[1], num_classes, width=width, feature_dim=feature_dim)
        if max_seconds is None:
            max_seconds = min(60.0, max(1.0, active_profile().train_seconds / 2))
        cap = active_profile().step_cap  # smoke: the clock budget becomes a fixed number of steps
        if cap is not None and math.isfinite(max_seconds):
            steps = min(steps, cap)
        key = _fingerprint(images, labels, f"{steps}-{batch_size}-{feature_dim}-{width}-{seed}")
        self.cache_path: Path | None = None
        if cache:
            base = _default_cache_dir() if cache is True else Path(cache)
            self.cache_path = base / "frechet" / f"{name}-{key}.pt"
        self.accuracy = float("nan")
        if self.cache_path is not None and self.cache_path.exists():
            from .train import load_checkpoint

            state = load_checkpoint(self.cache_path, net=self.net)
            self.accuracy = float(state.get("accuracy", float("nan")))
            self.cached = True
        else:
            self._train(images, labels, steps, max_seconds, batch_size, seed, progress)
            self.cached = False
            if self.cache_path is not None and self.steps_done >= steps:  # cache only complete training
                from .train import save_checkpoint

                save_checkpoint(self.cache_path, net=self.net, accuracy=self.accuracy)
        self.net.to(self.device).eval()
        if reference is None:
            half = len(images) // 2
            reference, self._heldout = images[:half], images[half:]
        else:
            self._heldout = images
        self.n_reference = len(reference)
        self.mu, self.sigma = gaussian_stats(self.features(reference))
        self._floor: float | None = None

    def _train(
        self,
        images: torch.Tensor,
        labels: torch.Tensor | None,
        steps: int,
        max_seconds: float,
        batch_size: int,
        seed: int,
        progress: bool,
    ) -> None:
        from .train import loop

        gen = torch.Generator().manual_seed(seed)
        net = self.net.to(self.device).train()
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
        n = len(images)

        def step_fn(step: int, _: object) -> dict[str, float]:
            idx = torch.randint(n, (min(batch_size, n),), generator=gen)
            x = images[idx].float()
            if labels is None:
                x, y = _rotations(x)
            else:
                y = labels[idx].long()
            x, y = x.to(self.device), y.to(self.device)
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            return {"loss": loss.item(), "acc": float((logits.argmax(1) == y).float().mean())}

        hist = loop(
            step_fn,
            max_steps=steps,
            max_seconds=max_seconds,
            desc=f"Fréchet features ({self.name})",
            progress=progress,
        )
        self.steps_done = len(hist["loss"]) if "loss" in hist else 0
        self.accuracy = hist.last("acc", 20) if "acc" in hist else float("nan")

    @torch.no_grad()
    def features(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """(N, C, H, W) in [0, 1] -> (N, feature_dim) features, on the CPU."""
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"expected images (N, C, H, W) in [0, 1], got {got}")
        if images.shape[1] != self.net.in_channels:
            raise ValueError(
                f"this scorer was trained on {self.net.in_channels}-channel images, got {images.shape[1]} "
                "channels; score images of the same domain"
            )
        self.net.eval()
        out = [
            self.net.features(images[i : i + batch_size].float().clamp(0, 1).to(self.device)).cpu()
            for i in range(0, len(images), batch_size)
        ]
        return torch.cat(out)

    def score(self, images: torch.Tensor) -> float:
        """Fréchet distance of ``images`` (N, C, H, W) in [0, 1] to the real statistics (lower is better)."""
        if len(images) < 2:
            raise ValueError(f"need at least 2 images to score, got {len(images)}")
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
        return (
            f"FrechetScorer({self.name!r}, reference={self.n_reference} images, classifier accuracy "
            f"{self.accuracy:.2f}, cache={'hit' if self.cached else 'trained'})"
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
    if not isinstance(outputs, torch.Tensor) or outputs.dim() not in (4, 5):
        got = tuple(outputs.shape) if isinstance(outputs, torch.Tensor) else type(outputs).__name__
        raise ValueError(f"expected outputs (K, C, H, W) or (N, K, C, H, W), got {got}")
    if outputs.dim() == 4:
        outputs = outputs.unsqueeze(0)
    n, k = outputs.shape[:2]
    if k < 2:
        raise ValueError(f"diversity needs at least 2 outputs per input, got {k}")
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
    if samples.dim() != 2 or centres.dim() != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"expected samples (N, D) and centres (M, D), got {tuple(samples.shape)}, {tuple(centres.shape)}"
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
