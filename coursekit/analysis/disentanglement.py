"""Scores on the shapes' known factors: how disentangled a code is, and what an image shows.

* :func:`mutual_information_gap` — the MIG of Chen, Li, Grosse and Duvenaud, *Isolating Sources
  of Disentanglement in Variational Autoencoders*, NeurIPS 2018 (reference code:
  https://github.com/google-research/disentanglement_lib, ``evaluation/metrics/mig.py``). For each
  factor v_k, the mutual information with every latent z_j is estimated after discretising z_j
  into 20 equal-width bins; the gap between the two most informative latents, divided by the
  factor's entropy, is averaged over factors:

      MIG = 1/K Σ_k (I(z_{j⁽¹⁾}; v_k) − I(z_{j⁽²⁾}; v_k)) / H(v_k)          (Chen et al., Eq. 6)

  1 means each factor lives in exactly one latent; near 0 means spread over several (entangled).
* :func:`factor_accuracy` — how often a :class:`~coursekit.models.classifiers.FactorClassifier`
  (trained on real sprites by :func:`coursekit.train.fit_factor_classifier`) reads the intended
  factors off generated images, so text-to-image results can be scored against their captions,
  and swapped codes checked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..models.classifiers import FactorClassifier

__all__ = [
    "discrete_entropy",
    "discrete_mutual_info",
    "factor_accuracy",
    "mig_from_mi",
    "mutual_information_gap",
    "mutual_information_matrix",
]


def _as_int_array(x: torch.Tensor | np.ndarray, what: str) -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional (N,), got shape {a.shape}")
    return np.unique(a, return_inverse=True)[1].reshape(-1)


def discrete_entropy(values: torch.Tensor | np.ndarray) -> float:
    """Entropy (nats) of a discrete variable given by N samples."""
    v = _as_int_array(values, "values")
    p = np.bincount(v) / len(v)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def discrete_mutual_info(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Mutual information (nats) of two discrete variables from N paired samples (the plug-in estimate)."""
    ai, bi = _as_int_array(a, "a"), _as_int_array(b, "b")
    if len(ai) != len(bi):
        raise ValueError(f"a and b need the same number of samples, got {len(ai)} and {len(bi)}")
    joint = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(joint, (ai, bi), 1.0)
    joint /= len(ai)
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum())


def mig_from_mi(mi: torch.Tensor, entropy: torch.Tensor) -> torch.Tensor:
    """MIG from a mutual-information matrix ``mi`` (n_latents, n_factors) and factor entropies (n_factors,).

    Per factor: (largest MI − second largest MI) / entropy; then the mean over factors.
    """
    if mi.dim() != 2 or mi.shape[0] < 2:
        raise ValueError(f"mi must be (n_latents ≥ 2, n_factors), got {tuple(mi.shape)}")
    top2 = mi.sort(dim=0, descending=True).values[:2]  # (2, n_factors)
    return ((top2[0] - top2[1]) / entropy).mean()


def _discretise(codes: np.ndarray, n_bins: int) -> np.ndarray:
    """Each column into ``n_bins`` equal-width bins over its range (``histogram_discretize``)."""
    out = np.zeros_like(codes, dtype=np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], n_bins)[1]
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def _check_codes_factors(codes: torch.Tensor, factors: torch.Tensor) -> None:
    if codes.dim() != 2 or factors.dim() != 2 or len(codes) != len(factors):
        raise ValueError(
            f"expected codes (N, n_latents) and factors (N, n_factors) with the same N, got "
            f"{tuple(codes.shape)} and {tuple(factors.shape)}"
        )


def mutual_information_matrix(
    codes: torch.Tensor, factors: torch.Tensor, n_bins: int = 20
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """``(mi (n_latents, K), entropy (K,), kept)``: I(z_j; v_k) in nats for the K non-constant factors.

    Each latent is discretised into ``n_bins`` equal-width bins; ``kept`` lists the factor columns used.
    """
    _check_codes_factors(codes, factors)
    z = _discretise(codes.detach().float().cpu().numpy(), n_bins)
    kept = [k for k in range(factors.shape[1]) if discrete_entropy(factors[:, k]) > 0]
    if not kept:
        raise ValueError("every factor is constant: nothing to score")
    mi = torch.tensor(
        [[discrete_mutual_info(z[:, j], factors[:, k]) for k in kept] for j in range(z.shape[1])], device="cpu"
    )  # from NumPy counts
    ent = torch.tensor([discrete_entropy(factors[:, k]) for k in kept], device="cpu")
    return mi, ent, kept


def mutual_information_gap(
    codes: torch.Tensor,
    factors: torch.Tensor,
    factor_names: Sequence[str] | None = None,
    n_bins: int = 20,
) -> tuple[float, dict[str, float]]:
    """MIG of ``codes`` (N, n_latents) with respect to discrete ``factors`` (N, n_factors).

    Factors that take a single value are skipped (no entropy). Returns ``(mig, per_factor)``.
    """
    _check_codes_factors(codes, factors)
    if codes.shape[1] < 2:
        raise ValueError("MIG needs at least two latents (it compares the best with the second best)")
    names = (
        list(factor_names) if factor_names is not None else [f"factor {k}" for k in range(factors.shape[1])]
    )
    if len(names) != factors.shape[1]:
        raise ValueError(f"got {len(names)} factor names for {factors.shape[1]} factors")
    mi, ent, kept = mutual_information_matrix(codes, factors, n_bins)
    top2 = mi.sort(dim=0, descending=True).values[:2]
    per = ((top2[0] - top2[1]) / ent).tolist()
    return float(mig_from_mi(mi, ent)), {names[k]: v for k, v in zip(kept, per)}


@torch.no_grad()
def factor_accuracy(
    classifier: FactorClassifier,
    images: torch.Tensor,
    factors: torch.Tensor,
    factor_names: Sequence[str],
    batch_size: int = 256,
) -> dict[str, float]:
    """Fraction of ``images`` whose predicted factor equals ``factors`` (N, n_factors), per classified factor."""
    classifier.eval()
    dev = next(classifier.parameters()).device
    cols = {k: list(factor_names).index(k) for k in classifier.factor_sizes}
    hits = {k: 0.0 for k in cols}
    for i in range(0, len(images), batch_size):
        out = classifier(images[i : i + batch_size].to(dev).float())
        f = factors[i : i + batch_size].to(dev)
        for k, c in cols.items():
            hits[k] += float((out[k].argmax(1) == f[:, c]).sum())
    return {k: v / len(images) for k, v in hits.items()}
