import pytest
import torch

from coursekit.metrics import nearest_neighbours, pairwise_distances, precision_at_k, recall_at_k


def test_retrieval_metrics():
    items = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 5.0], [0.0, 5.5]])
    labels = torch.tensor([0, 0, 1, 1])
    assert nearest_neighbours(items, items, 1, exclude_self=True).squeeze(1).tolist() == [1, 0, 3, 2]
    assert precision_at_k(items, labels, items, labels, k=1, exclude_self=True) == 1.0
    assert precision_at_k(items, labels, items, labels, k=3, exclude_self=True) == pytest.approx(1 / 3)
    queries = items + torch.tensor([0.0, 0.3])  # query i is closest to item i except 2 -> 3
    assert recall_at_k(queries, items, 1) == 0.75
    assert recall_at_k(queries, items, 2) == 1.0
    d = pairwise_distances(items, items, "cosine")
    assert d.shape == (4, 4) and abs(d[2, 3].item()) < 1e-6
    assert torch.allclose(pairwise_distances(items, items, "l1")[0, 3], torch.tensor(5.5))
    with pytest.raises(ValueError, match="k must be"):
        nearest_neighbours(items, items, 4, exclude_self=True)
    with pytest.raises(ValueError, match="metric"):
        pairwise_distances(items, items, "hamming")


def test_features_are_checked_with_the_one_message_form():
    items = torch.zeros(4, 2)
    with pytest.raises(ValueError, match=r"queries must be a tensor of shape \(N, D\) or \(N, \.\.\.\), got \(2,\); add a batch"):
        pairwise_distances(torch.zeros(2), items)
    with pytest.raises(TypeError, match="items must be a tensor.*got list; convert it with torch.as_tensor"):
        nearest_neighbours(items, [[0.0, 1.0]])
    # (N, C, H, W) codes are flattened to (N, D)
    assert pairwise_distances(torch.zeros(3, 1, 2, 1), items).shape == (3, 4)
