"""Exercise checks for section 2, deep features (notebooks 2.1–2.4)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._core import check_seed, exercise, expect, expect_close, expect_shape

__all__ = [
    "check_ahp_affinity",
    "check_angular_error",
    "check_info_nce",
    "check_n_way_accuracy",
    "check_pca_reconstruct",
    "check_precision_at_k",
    "check_recall_at_k",
    "check_siamese_probability",
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


@exercise("PCA reconstruction by the SVD", answer=("coursekit.checks.features._pca_reconstruct",), shortcuts=("torch.pca_lowrank",))
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
            hint=(
                "return one reconstruction per row of x",
                "the result has the shape of x: (N, D)",
            ),
        )
        expect_close(
            got.double(),
            _pca_reconstruct(x, k),
            f"pca_reconstruct(x, k={k})",
            rtol=1e-3,
            atol=1e-6,
            hint=(
                "PCA works on centred data: subtract the mean row first and add it back at the end",
                "the principal directions are the first k right singular vectors of the centred data",
                "project each centred row onto those k directions, map the coordinates back to D dimensions and add the mean",
            ),
        )


def _precision_at_k(codes: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    d = torch.cdist(codes, codes)
    d.fill_diagonal_(float("inf"))
    idx = d.topk(k, largest=False).indices
    return (labels[idx] == labels[:, None]).float().mean().item()


@exercise("precision@k of retrieval by code", answer=("coursekit.metrics.retrieval.precision_at_k", "coursekit.checks.features._precision_at_k"))
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
                hint=(
                    "return a single number",
                    "a Python float or a one-element tensor",
                ),
            )
        want = _precision_at_k(codes, labels, k)
        expect(
            math.isclose(got, want, abs_tol=1e-6),
            f"precision_at_k(codes, labels, k={k}): expected {want:.4f}, got {got:.4f}",
            hint=(
                "every query is its own nearest neighbour: leave it out of its own result list",
                "for each query take the k nearest OTHER codes by Euclidean distance and count those with the query's label",
                "precision@k is that count divided by k, averaged over all queries",
            ),
        )


# --- 2.2 shared feature space -------------------------------------------------------------------


def _info_nce(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t
    target = torch.arange(len(a))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def _info_nce_slips(a: torch.Tensor, b: torch.Tensor, t: float) -> dict[str, torch.Tensor]:
    """What realistic slips compute (outside the student's call), to name the slip whose value a wrong answer has."""
    ce, y = F.cross_entropy, torch.arange(len(a))
    na, nb = F.normalize(a, dim=1), F.normalize(b, dim=1)
    s = na @ nb.T / t  # (B, B)
    both = lambda m: (ce(m, y) + ce(m.T, y)) / 2  # noqa: E731
    off = s.masked_fill(torch.eye(len(a), dtype=torch.bool), float("-inf"))  # negatives only
    return {
        "it looks in one direction only: each row of a searches the rows of b, but the rows of b never search a":
            ce(s, y),
        "it looks in one direction only: each row of b searches the rows of a, but not the other way round":
            ce(s.T, y),
        "it compares raw dot products: a long code then wins against every other, whatever its direction":
            both(a @ b.T / t),
        "the temperature scales the similarities the wrong way: a small temperature must make them larger":
            both(na @ nb.T * t),
        "the two directions are added: the loss is their mean": ce(s, y) + ce(s.T, y),
        "it sums over the pairs of the batch: the loss is the mean over the pairs, so it does not grow with B":
            (ce(s, y, reduction="sum") + ce(s.T, y, reduction="sum")) / 2,
        "the right partner is missing from the softmax's denominator: the probability of the right partner is "
        "its exp-similarity over the sum over ALL candidates, itself included":
            ((off.logsumexp(1) - s.diag()).mean() + (off.logsumexp(0) - s.diag()).mean()) / 2,
        "it uses squared Euclidean distances: the loss is defined on cosine similarities":
            both(-torch.cdist(a, b) ** 2 / t),
    }


_INFO_NCE_HINTS = (
    "pair i of a must be more similar to row i of b than to any other row of b, and row i of b more similar to "
    "row i of a than to any other row of a; the loss is the mean of the two",
    "similarity = cosine similarity (unit-length codes) divided by the temperature; each row is a B-way "
    "classification whose right class is its own partner, scored by a cross-entropy",
    "build the (B, B) matrix of similarities; the cross-entropy over its rows with class i for row i is one "
    "direction, over its columns the other; average the two",
)


@exercise("the symmetric InfoNCE loss", answer=("coursekit.models.shared_space.info_nce", "coursekit.checks.features._info_nce"))
def check_info_nce(student_fn):
    g = _fresh_generator()
    for batch, dim, t in ((8, 5, 0.1), (6, 12, 0.5)):  # two shapes: nothing may be hard-coded
        a = torch.randn(batch, dim, generator=g) * (1 + 3 * torch.rand(batch, 1, generator=g))  # rows of unequal length
        b = a + torch.randn(batch, dim, generator=g)
        what = f"info_nce(a, b, temperature={t}) for a, b of shape ({batch}, {dim})"
        got = student_fn(a.clone(), b.clone(), t)
        expect_shape(got, (), what, hint=(
            "the loss is one number for the batch",
            "return a scalar tensor: the mean over the pairs of the batch",
        ))
        want = _info_nce(a, b, t)
        if not torch.allclose(got.detach().double(), want.double(), rtol=1e-4, atol=1e-6):
            for slip, value in _info_nce_slips(a, b, t).items():
                if torch.isfinite(got).all() and torch.allclose(got.detach().double(), value.double(), rtol=1e-4, atol=1e-6):
                    expect(False, f"{what}: expected {want.item():.4f}, got {got.item():.4f}", hint=slip)
        expect_close(got, want, what, rtol=1e-4, atol=1e-6, hint=_INFO_NCE_HINTS)
    # a small temperature: similarities up to 1 / 0.01 = 100, and exp(100) is beyond float32's range (3.4e38)
    a = torch.randn(16, 8, generator=g)
    b = a + 0.05 * torch.randn(16, 8, generator=g)
    got = student_fn(a.clone(), b.clone(), 0.01)
    expect(isinstance(got, torch.Tensor) and bool(torch.isfinite(got).all()),
           f"info_nce(a, b, temperature=0.01) for nearly equal a and b: expected {_info_nce(a, b, 0.01).item():.4f}, "
           f"got {got}", hint=(
               "with temperature 0.01 a similarity of 1 becomes 100, and e to the 100 overflows float32 to inf",
               "exp overflows for scores near 100: never exponentiate the similarities yourself; a log-softmax or "
               "cross-entropy subtracts the row's largest value first and stays finite",
           ))
    expect_close(got, _info_nce(a, b, 0.01), "info_nce(a, b, temperature=0.01)", rtol=1e-4, atol=1e-5,
                 hint=_INFO_NCE_HINTS)
    # the gradient must reach both encoders' codes
    a = torch.randn(8, 6, generator=g)
    b = a + torch.randn(8, 6, generator=g)
    a_ref, b_ref = a.clone().requires_grad_(), b.clone().requires_grad_()
    _info_nce(a_ref, b_ref, 0.2).backward()
    a_in, b_in = a.clone().requires_grad_(), b.clone().requires_grad_()
    got = student_fn(a_in, b_in, 0.2)
    expect(isinstance(got, torch.Tensor) and got.requires_grad,
           "info_nce(a, b, 0.2) for a and b that require gradients: the result carries no gradient", hint=(
               "the loss trains both encoders: keep every step a differentiable torch operation",
               "no conversion to a Python number or a NumPy array, no detaching and no gradient-free block between the "
               "codes and the loss",
           ))
    got.backward()
    for name, x, ref in (("a (the sketch codes)", a_in, a_ref), ("b (the image codes)", b_in, b_ref)):
        grad = torch.zeros_like(x) if x.grad is None else x.grad
        expect(bool(grad.abs().sum() > 0), f"info_nce(a, b, 0.2): no gradient reaches {name}", hint=(
            "both encoders learn from this loss: the gradient must flow into a AND b",
            "detaching one side stops its gradient: both a AND b must receive one, or one encoder never learns",
        ))
        expect_close(grad, ref.grad, f"the gradient of info_nce(a, b, 0.2) with respect to {name.split()[0]}",
                     rtol=1e-3, atol=1e-6, hint=_INFO_NCE_HINTS)


@exercise("recall@k of cross-modal retrieval", answer=("coursekit.metrics.retrieval.recall_at_k",))
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
            hint=(
                "query i is a hit when its own item i is among its k nearest items",
                "nearest means the SMALLEST Euclidean distance; recall@k is the fraction of queries that are hits",
            ),
        )


# --- 2.3 transfer learning ----------------------------------------------------------------------


def _ahp_affinity(losses: torch.Tensor) -> torch.Tensor:
    """The reference (Taskonomy, Section 3.3), with an exact eigen-decomposition instead of the
    course's power iteration, so that the two implementations check each other."""
    diff = losses.double()[:, None, :] - losses.double()[None, :, :]  # (S, S, N)
    wins = ((diff < 0).double().mean(-1) + 0.5 * (diff == 0).double().mean(-1)).clamp(1e-3, 1 - 1e-3)
    values, vectors = torch.linalg.eig(wins / wins.T)
    v = vectors[:, values.real.argmax()].real
    return (v / v.sum()).float()


_AHP_HINTS_CLIP = (
    "clip W to [0.001, 0.999] before dividing, so that a source that wins on every image gives a large "
    "but finite ratio; then form the ratios W[i, j] / W[j, i]",
    "the affinities are the principal eigenvector of the ratio matrix (the eigenvalue with the largest "
    "real part; repeated multiplication and renormalisation finds it too), scaled to sum to 1",
)
_AHP_HINTS_ORDER = (
    "compare the sources image by image: W[i, j] is the fraction of the test images on which source i "
    "has the LOWER loss than source j (lower loss wins); a tie counts half",
    "then W[i, j] / W[j, i] is large when i beats j much more often than the other way round",
)


_AHP_HINTS = (
    "compare the sources image by image: W[i, j] is the fraction of the test images on which source i "
    "has the LOWER loss than source j (lower loss wins); a tie counts half",
    "clip W to [0.001, 0.999] before dividing, so that a source that wins on every image gives a large "
    "but finite ratio; then form the ratios W[i, j] / W[j, i]",
    "the affinities are the principal eigenvector of the ratio matrix (the eigenvalue with the largest "
    "real part; repeated multiplication and renormalisation finds it too), scaled to sum to 1",
)


@exercise("Taskonomy's ordinal normalisation (AHP)",
          answer=("coursekit.models.taskonomy.ahp_affinity", "coursekit.checks.features._ahp_affinity"))
def check_ahp_affinity(student_fn):
    g = _fresh_generator()
    # four sources, 300 test images: source 0 is best on average, source 3 worst, with overlap
    losses = torch.rand(4, 300, generator=g) + torch.tensor([0.0, 0.2, 0.4, 0.6])[:, None]
    got = student_fn(losses.clone())
    what = "ahp_affinity(losses (4 sources, 300 images))"
    expect_shape(got, (4,), what, hint=("one affinity per source, for the sources compared on one target",
                                   "return a tensor of shape (S,): one number per row of losses"))
    got = got.detach().double().cpu()
    expect(bool(torch.isfinite(got).all()), f"{what}: the affinities are not all finite", hint=_AHP_HINTS_CLIP)
    expect(abs(got.sum().item() - 1) < 1e-3, f"{what}: the affinities sum to {got.sum().item():.4f}, not 1",
           hint=("an eigenvector is only defined up to a factor: which factor makes affinities comparable?",
                "scale the eigenvector so that its entries sum to 1"))
    expect(bool(got.argmax() == 0), f"{what}: source 0 has the lowest losses but not the largest affinity",
           hint=_AHP_HINTS_ORDER)
    expect_close(got.float(), _ahp_affinity(losses), what, atol=2e-3, rtol=1e-2, hint=_AHP_HINTS)
    # a source that wins on every image: without clipping W[j, 0] = 0 and the ratio is infinite
    dominant = losses.clone()
    dominant[2] = -1.0
    got = student_fn(dominant.clone())
    expect_close(got, _ahp_affinity(dominant), "ahp_affinity(losses) where source 2 wins on every image",
                 atol=2e-3, rtol=1e-2, hint=_AHP_HINTS_CLIP)


def _angular_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    cos = (F.normalize(pred, dim=1) * F.normalize(target, dim=1)).sum(1).clamp(-1, 1)
    return torch.rad2deg(torch.acos(cos)).mean()


@exercise("mean angular error of surface normals", answer=("coursekit.models.taskonomy.angular_error", "coursekit.checks.features._angular_error"))
def check_angular_error(student_fn):
    g = _fresh_generator()
    target = F.normalize(torch.randn(2, 3, 5, 5, generator=g), dim=1)
    pred = 2.5 * (target + 0.5 * torch.randn(2, 3, 5, 5, generator=g))  # not unit length
    got = student_fn(pred.clone(), target.clone())
    expect_shape(
        got, (), "angular_error(pred, target) for (2, 3, 5, 5) normals", hint=(
            "the error is one number: the average angle",
            "return a scalar: the mean over the batch and all pixels",
        )
    )
    expect_close(
        got,
        _angular_error(pred, target),
        "angular_error(pred, target)",
        rtol=1e-3,
        atol=1e-3,
        hint=(
            "the angle between two vectors comes from the cosine of their unit versions",
            "normalise the predictions to unit length along the channel dimension; the cosine is the sum of products over the three channels",
            "clip the cosine to [−1, 1] before the arc-cosine, and convert the angle from radians to DEGREES",
        ),
    )


# --- 2.4 one-shot learning ----------------------------------------------------------------------


@exercise("the siamese similarity (Koch et al., eq. 1)", answer=("coursekit.models.siamese.SiameseNet.score",))
def check_siamese_probability(student_fn):
    g = _fresh_generator()
    h1, h2 = torch.rand(6, 10, generator=g), torch.rand(6, 10, generator=g)
    alpha, bias = torch.randn(10, generator=g), torch.randn((), generator=g)
    got = student_fn(h1.clone(), h2.clone(), alpha.clone(), bias.clone())
    expect_shape(
        got,
        (6,),
        "siamese_probability(h1 (6, 10), h2 (6, 10), alpha (10,), bias)",
        hint=(
            "one probability per pair",
            "the weighted distance is summed over the feature dimension, leaving one number per pair",
        ),
    )
    expect_close(
        got,
        torch.sigmoid((h1 - h2).abs() @ alpha + bias),
        "siamese_probability(h1, h2, alpha, bias)",
        hint=(
            "eq. 1 weights the component-wise distance between the two embeddings",
            "the distance is the ABSOLUTE difference |h1 − h2| (L1), not the square",
            "weight it by α, sum over features, add the bias and squash with the logistic sigmoid",
        ),
    )


@exercise("N-way one-shot accuracy", answer=("coursekit.models.siamese.n_way_one_shot_accuracy",))
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
        hint=(
            "each task's prediction is the support example the model finds most similar",
            "take the position of the HIGHEST similarity in each row and compare it with the right position; return the fraction of matches",
        ),
    )
