import torch
import torch.nn.functional as F

from coursekit.checks import features as cf


def _not_done(*args):
    raise NotImplementedError()


def _assert_fails(result):
    assert result.status == "failed", result
    assert result.hint


# --- references (what the solution notebooks write) ---


def pca_reconstruct(x, k):
    mean = x.mean(0)
    _, _, vt = torch.linalg.svd(x - mean, full_matrices=False)
    return (x - mean) @ vt[:k].T @ vt[:k] + mean


def pca_no_centering(x, k):
    _, _, vt = torch.linalg.svd(x, full_matrices=False)
    return x @ vt[:k].T @ vt[:k]


def precision_at_k(codes, labels, k):
    d = torch.cdist(codes, codes)
    d.fill_diagonal_(float("inf"))
    idx = d.topk(k, largest=False).indices
    return (labels[idx] == labels[:, None]).float().mean().item()


def precision_with_self(codes, labels, k):
    idx = torch.cdist(codes, codes).topk(k, largest=False).indices
    return (labels[idx] == labels[:, None]).float().mean().item()


def info_nce(a, b, t):
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t
    y = torch.arange(len(a))
    return (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2


def info_nce_one_way(a, b, t):
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t
    return F.cross_entropy(logits, torch.arange(len(a)))


def info_nce_unnormalised(a, b, t):
    logits = a @ b.T / t
    y = torch.arange(len(a))
    return (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2


def recall_at_k(q, items, k):
    idx = torch.cdist(q, items).topk(k, largest=False).indices
    return (idx == torch.arange(len(q))[:, None]).any(1).float().mean().item()


def recall_largest(q, items, k):
    idx = torch.cdist(q, items).topk(k).indices
    return (idx == torch.arange(len(q))[:, None]).any(1).float().mean().item()


def angular_error(pred, target):
    cos = (F.normalize(pred, dim=1) * F.normalize(target, dim=1)).sum(1).clamp(-1, 1)
    return torch.rad2deg(torch.acos(cos)).mean()


def angular_error_radians(pred, target):
    cos = (F.normalize(pred, dim=1) * F.normalize(target, dim=1)).sum(1).clamp(-1, 1)
    return torch.acos(cos).mean()


def angular_error_unnormalised(pred, target):
    cos = (pred * target).sum(1).clamp(-1, 1)
    return torch.rad2deg(torch.acos(cos)).mean()


def test_pca_reconstruct():
    assert cf.check_pca_reconstruct(pca_reconstruct, quiet=True).passed
    _assert_fails(cf.check_pca_reconstruct(pca_no_centering, quiet=True))
    _assert_fails(cf.check_pca_reconstruct(lambda x, k: pca_reconstruct(x, k + 1), quiet=True))
    assert cf.check_pca_reconstruct(_not_done, quiet=True).status == "not done"


def test_precision_at_k():
    assert cf.check_precision_at_k(precision_at_k, quiet=True).passed
    _assert_fails(cf.check_precision_at_k(precision_with_self, quiet=True))
    assert cf.check_precision_at_k(_not_done, quiet=True).status == "not done"


def test_info_nce():
    assert cf.check_info_nce(info_nce, quiet=True).passed
    _assert_fails(cf.check_info_nce(info_nce_one_way, quiet=True))
    _assert_fails(cf.check_info_nce(info_nce_unnormalised, quiet=True))
    assert cf.check_info_nce(_not_done, quiet=True).status == "not done"


def test_recall_at_k():
    assert cf.check_recall_at_k(recall_at_k, quiet=True).passed
    _assert_fails(cf.check_recall_at_k(recall_largest, quiet=True))
    assert cf.check_recall_at_k(_not_done, quiet=True).status == "not done"


def _ahp_right(losses):
    d = losses[:, None, :] - losses[None, :, :]
    w = ((d < 0).float().mean(-1) + 0.5 * (d == 0).float().mean(-1)).clamp(1e-3, 1 - 1e-3)
    r = w / w.T
    v = torch.ones(len(losses)) / len(losses)
    for _ in range(300):
        v = r @ v
        v = v / v.sum()
    return v


def _ahp_wrong(mistake):
    def fn(losses):
        d = losses[:, None, :] - losses[None, :, :]
        w = (d > 0 if mistake == "higher wins" else d < 0).float().mean(-1)
        if mistake != "no clip":
            w = w.clamp(1e-3, 1 - 1e-3)
        r = w if mistake == "no ratio" else w / w.T
        v = torch.ones(len(losses)) / len(losses)
        for _ in range(300):
            v = r @ v
            v = v / (v.norm() if mistake == "unit norm" else v.sum())
        return v if mistake != "mean win rate" else w.mean(1) / w.mean(1).sum()
    return fn


def test_ahp_affinity_passes_right_answers_and_fails_mistakes():
    assert cf.check_ahp_affinity(_ahp_right, quiet=True).passed
    for mistake in ("higher wins", "no clip", "no ratio", "unit norm", "mean win rate"):
        _assert_fails(cf.check_ahp_affinity(_ahp_wrong(mistake), quiet=True))
    assert cf.check_ahp_affinity(_not_done, quiet=True).status == "not done"


def test_ahp_affinity_refuses_the_course_version():
    from coursekit.models.taskonomy import ahp_affinity

    _assert_fails(cf.check_ahp_affinity(lambda losses: ahp_affinity(losses), quiet=True))


def test_angular_error():
    assert cf.check_angular_error(angular_error, quiet=True).passed
    _assert_fails(cf.check_angular_error(angular_error_radians, quiet=True))
    _assert_fails(cf.check_angular_error(angular_error_unnormalised, quiet=True))
    assert cf.check_angular_error(_not_done, quiet=True).status == "not done"


def test_siamese_probability():
    assert cf.check_siamese_probability(
        lambda a, b, w, c: torch.sigmoid((a - b).abs() @ w + c), quiet=True
    ).passed
    _assert_fails(
        cf.check_siamese_probability(lambda a, b, w, c: torch.sigmoid((a - b) ** 2 @ w + c), quiet=True)
    )
    assert cf.check_siamese_probability(_not_done, quiet=True).status == "not done"


def test_n_way_accuracy():
    ok = lambda s, a: (s.argmax(1) == a).float().mean().item()  # noqa: E731
    assert cf.check_n_way_accuracy(ok, quiet=True).passed
    _assert_fails(cf.check_n_way_accuracy(lambda s, a: (s.argmin(1) == a).float().mean().item(), quiet=True))
    assert cf.check_n_way_accuracy(_not_done, quiet=True).status == "not done"


def test_checks_leave_the_global_random_state_alone():
    torch.manual_seed(0)
    want = torch.rand(3)
    torch.manual_seed(0)
    cf.check_info_nce(info_nce, quiet=True)
    assert torch.equal(torch.rand(3), want)
