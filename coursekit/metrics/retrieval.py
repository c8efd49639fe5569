"""Retrieval in a feature space: nearest neighbours, precision@k and recall@k.

A feature space is good for retrieval when the nearest neighbours of a query share its label
(precision@k: the fraction of the k nearest neighbours with the query's label) or when the one
item that belongs to the query is among them (recall@k, as used for cross-modal retrieval, e.g.
a sketch and the image it was drawn from). Standard definitions, see Manning, Raghavan and
Schütze, *Introduction to Information Retrieval*, Cambridge University Press 2008, ch. 8.

Used by notebooks 2.1 (retrieval by autoencoder code), 2.2 (sketch → image retrieval) and 2.4
(nearest-neighbour classification).
"""

from __future__ import annotations

import torch

from .. import validate

__all__ = ["nearest_neighbours", "pairwise_distances", "precision_at_k", "recall_at_k"]


def _features(x: torch.Tensor, name: str) -> torch.Tensor:
    """(N, D), or (N, ...) flattened to (N, D), in float32."""
    validate.tensor(x, name, ndim=range(2, 9), shape="(N, D) or (N, ...)")
    return x.reshape(x.shape[0], -1).float()


def pairwise_distances(queries: torch.Tensor, items: torch.Tensor, metric: str = "euclidean") -> torch.Tensor:
    """(Q, D), (N, D) -> (Q, N) distances: ``"euclidean"``, ``"l1"`` or ``"cosine"`` (1 - cos)."""
    q, x = _features(queries, "queries"), _features(items, "items")
    if q.shape[1] != x.shape[1]:
        raise ValueError(
            f"queries and items must have the same feature size, got {q.shape[1]} and {x.shape[1]}"
        )
    if metric == "euclidean":
        return torch.cdist(q, x)
    if metric == "l1":
        return torch.cdist(q, x, p=1)
    if metric == "cosine":
        q = torch.nn.functional.normalize(q, dim=1)
        x = torch.nn.functional.normalize(x, dim=1)
        return 1 - q @ x.T
    raise ValueError(f"metric must be 'euclidean', 'l1' or 'cosine', got {metric!r}")


def nearest_neighbours(
    queries: torch.Tensor,
    items: torch.Tensor,
    k: int = 1,
    metric: str = "euclidean",
    exclude_self: bool = False,
) -> torch.Tensor:
    """(Q, D), (N, D) -> (Q, k) indices into ``items``, nearest first.

    ``exclude_self=True`` when queries and items are the same set (leave-one-out retrieval):
    the query itself is never returned.
    """
    d = pairwise_distances(queries, items, metric)  # (Q, N)
    if exclude_self:
        if d.shape[0] != d.shape[1]:
            raise ValueError(f"exclude_self needs queries and items to be the same set, got {tuple(d.shape)}")
        d = d + torch.diag(torch.full((d.shape[0],), float("inf"), device=d.device))
    n_max = d.shape[1] - int(exclude_self)
    if not 1 <= k <= n_max:
        raise ValueError(f"k must be between 1 and {n_max} (the number of items), got {k}")
    return d.topk(k, dim=1, largest=False).indices


def precision_at_k(
    queries: torch.Tensor,
    query_labels: torch.Tensor,
    items: torch.Tensor,
    item_labels: torch.Tensor,
    k: int = 5,
    metric: str = "euclidean",
    exclude_self: bool = False,
) -> float:
    """Mean over queries of the fraction of the k nearest items that carry the query's label."""
    idx = nearest_neighbours(queries, items, k, metric, exclude_self)  # (Q, k)
    hits = item_labels.to(idx.device)[idx] == query_labels.to(idx.device)[:, None]
    return hits.float().mean().item()


def recall_at_k(queries: torch.Tensor, items: torch.Tensor, k: int = 1, metric: str = "euclidean") -> float:
    """Fraction of queries whose own item (query ``i`` belongs with item ``i``) is among the k nearest."""
    if len(queries) != len(items):
        raise ValueError(
            f"recall_at_k pairs query i with item i: need as many items as queries, "
            f"got {len(queries)} and {len(items)}"
        )
    idx = nearest_neighbours(queries, items, k, metric)  # (Q, k)
    target = torch.arange(len(queries), device=idx.device)[:, None]
    return (idx == target).any(dim=1).float().mean().item()
