"""Exercise checks for section 2, deep features (notebooks 2.1–2.4)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._core import check_seed, exercise, expect, expect_close, expect_shape

__all__ = [
    "check_angular_error",
    "check_info_nce",
    "check_n_way_accuracy",
    "check_pca_reconstruct",
    "check_precision_at_k",
    "check_recall_at_k",
    "check_siamese_probability",
    "check_transfer_gain",
]


def _fresh_generator() -> torch.Generator:
    """New random inputs at every call (repeatable run to run), without touching the notebook's random state."""
    return torch.Generator().manual_seed(check_seed())


# --- 2.1 autoencoders ---------------------------------------------------------------------------


def _pca_reconstruct(x: torch.Tensor, k: int) -> torch.Tensor:
    mean = x.mean(0)
    _, _, vt = torch.linalg.svd(x - mean, full_matrices=False)
    v = vt[:k].T  # (D, k)
    return (x - mean) @ v @ v.T + mean


@exercise("PCA reconstruction by the SVD")
def check_pca_reconstruct(student_fn):
    g = _fresh_generator()
    scales = torch.linspace(0.2, 2.0, 12, dtype=torch.float64)
    x = torch.randn(40, 12, generator=g, dtype=torch.float64) * scales + 3.0  # far from zero mean
    for k in (1, 4):
        got = student_fn(x.clone(), k)
        expect_shape(
            got,
            tuple(x.shape),
            f"pca_reconstruct(x, k={k}) for x of shape (40, 12)",
            hint="return the reconstructions, one row per row of x: (N, D)",
        )
        expect_close(
            got.double(),
            _pca_reconstruct(x, k),
            f"pca_reconstruct(x, k={k})",
            rtol=1e-3,
            atol=1e-6,
            hint="centre x by its mean, take the SVD of the centred data, project onto the first "
            "k right singular vectors (rows of Vᵀ), map back and add the mean again",
        )


def _precision_at_k(codes: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    d = torch.cdist(codes, codes)
    d.fill_diagonal_(float("inf"))
    idx = d.topk(k, largest=False).indices
    return (labels[idx] == labels[:, None]).float().mean().item()


@exercise("precision@k of retrieval by code")
def check_precision_at_k(student_fn):
    g = _fresh_generator()
    labels = torch.arange(5).repeat(6)
    codes = torch.randn(5, 3, generator=g)[labels] * 2 + torch.randn(30, 3, generator=g)
    for k in (1, 5):
        got = student_fn(codes.clone(), labels.clone(), k)
        try:
            got = float(got)
        except (TypeError, ValueError):
            expect(
                False,
                f"precision_at_k(...) returned {type(got).__name__}",
                hint="return one number (a float)",
            )
        want = _precision_at_k(codes, labels, k)
        expect(
            math.isclose(got, want, abs_tol=1e-6),
            f"precision_at_k(codes, labels, k={k}): expected {want:.4f}, got {got:.4f}",
            hint="leave the query out (it is always its own nearest neighbour: set the diagonal of the "
            "distance matrix to inf), then average over queries the fraction of the k nearest with "
            "the query's label",
        )


# --- 2.2 shared feature space -------------------------------------------------------------------


def _info_nce(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t
    target = torch.arange(len(a))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


@exercise("the symmetric InfoNCE loss")
def check_info_nce(student_fn):
    g = _fresh_generator()
    a = torch.randn(8, 5, generator=g) * 3
    b = a + torch.randn(8, 5, generator=g)
    for t in (0.1, 1.0):
        got = student_fn(a.clone(), b.clone(), t)
        expect_shape(
            got, (), f"info_nce(a, b, temperature={t})", hint="return a scalar tensor (take the mean)"
        )
        expect_close(
            got,
            _info_nce(a, b, t),
            f"info_nce(a, b, temperature={t})",
            rtol=1e-4,
            atol=1e-6,
            hint="normalise each code to unit length, logits = a @ b.T / temperature, and average "
            "the cross-entropy with targets arange(B) over BOTH directions (rows and columns)",
        )


@exercise("recall@k of cross-modal retrieval")
def check_recall_at_k(student_fn):
    g = _fresh_generator()
    items = torch.randn(20, 4, generator=g)
    queries = items + 0.8 * torch.randn(20, 4, generator=g)
    for k in (1, 3):
        got = float(student_fn(queries.clone(), items.clone(), k))
        idx = torch.cdist(queries, items).topk(k, largest=False).indices
        want = (idx == torch.arange(20)[:, None]).any(1).float().mean().item()
        expect(
            math.isclose(got, want, abs_tol=1e-6),
            f"recall_at_k(queries, items, k={k}): expected {want:.3f}, got {got:.3f}",
            hint="for query i, find the k items with the SMALLEST distance; it is a hit when item i is among "
            "them; return the fraction of hits",
        )


# --- 2.3 transfer learning ----------------------------------------------------------------------


@exercise("transfer gain (the affinity)")
def check_transfer_gain(student_fn):
    g = _fresh_generator()
    transfer = 0.1 + torch.rand(4, 3, generator=g)
    scratch = 0.1 + torch.rand(3, generator=g)
    got = student_fn(transfer.clone(), scratch.clone())
    expect_close(
        got,
        1 - transfer / scratch[None, :],
        "transfer_gain(transfer_loss (4, 3), scratch_loss (3,))",
        hint="gain = 1 - L_transfer / L_scratch, dividing each column t by scratch_loss[t] "
        "(positive when the transfer has the lower loss)",
    )


def _angular_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    cos = (F.normalize(pred, dim=1) * F.normalize(target, dim=1)).sum(1).clamp(-1, 1)
    return torch.rad2deg(torch.acos(cos)).mean()


@exercise("mean angular error of surface normals")
def check_angular_error(student_fn):
    g = _fresh_generator()
    target = F.normalize(torch.randn(2, 3, 5, 5, generator=g), dim=1)
    pred = 2.5 * (target + 0.5 * torch.randn(2, 3, 5, 5, generator=g))  # not unit length
    got = student_fn(pred.clone(), target.clone())
    expect_shape(
        got, (), "angular_error(pred, target) for (2, 3, 5, 5) normals", hint="return the mean, a scalar"
    )
    expect_close(
        got,
        _angular_error(pred, target),
        "angular_error(pred, target)",
        rtol=1e-3,
        atol=1e-3,
        hint="normalise the predictions to unit length along dim 1, cos = sum of products over dim 1, "
        "clamp to [-1, 1], acos, and convert radians to DEGREES",
    )


# --- 2.4 one-shot learning ----------------------------------------------------------------------


@exercise("the siamese similarity (Koch et al., eq. 1)")
def check_siamese_probability(student_fn):
    g = _fresh_generator()
    h1, h2 = torch.rand(6, 10, generator=g), torch.rand(6, 10, generator=g)
    alpha, bias = torch.randn(10, generator=g), torch.randn((), generator=g)
    got = student_fn(h1.clone(), h2.clone(), alpha.clone(), bias.clone())
    expect_shape(
        got,
        (6,),
        "siamese_probability(h1 (6, 10), h2 (6, 10), alpha (10,), bias)",
        hint="one probability per pair: sum over the feature dimension",
    )
    expect_close(
        got,
        torch.sigmoid((h1 - h2).abs() @ alpha + bias),
        "siamese_probability(h1, h2, alpha, bias)",
        hint="p = sigmoid( sum_j alpha_j * |h1_j - h2_j| + bias ): the L1 (absolute) difference, "
        "not the square",
    )


@exercise("N-way one-shot accuracy")
def check_n_way_accuracy(student_fn):
    g = _fresh_generator()
    sim = torch.rand(50, 5, generator=g)
    answer = torch.randint(5, (50,), generator=g)
    answer[:20] = sim[:20].argmax(1)  # a better-than-chance "model"
    got = float(student_fn(sim.clone(), answer.clone()))
    want = (sim.argmax(1) == answer).float().mean().item()
    expect(
        math.isclose(got, want, abs_tol=1e-6),
        f"n_way_accuracy(similarity (50, 5), answer): expected {want:.3f}, got {got:.3f}",
        hint="the prediction of each task is the support example with the HIGHEST similarity (argmax over "
        "dim 1); return the fraction of tasks where it equals the answer",
    )
