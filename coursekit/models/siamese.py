"""Siamese networks for one-shot image recognition, and N-way one-shot evaluation.

G. Koch, R. Zemel and R. Salakhutdinov, "Siamese Neural Networks for One-shot Image
Recognition", ICML Deep Learning Workshop 2015. No official code was released; the
configuration below is the paper's Figure 4 (105×105 Omniglot characters):

    conv 64@10×10, ReLU, max-pool 2 → conv 128@7×7, ReLU, max-pool 2 → conv 128@4×4, ReLU,
    max-pool 2 → conv 256@4×4, ReLU → flatten (256·6·6 = 9216) → fully connected 4096, sigmoid

Two images go through the same trunk (shared weights); the component-wise L1 distance of their
4096-d embeddings is weighted by a learned vector and squashed by a sigmoid (eq. 1):

    p(same class) = σ( Σ_j α_j |h1_j − h2_j| )

trained with binary cross-entropy on pairs labelled same/different (eq. 2). At test time an
N-way one-shot task gives one example of each of N unseen classes and a query; the prediction
is the class whose example has the highest p (eq. 4).

Deviations: the paper uses 105×105 inputs, valid convolutions, layer-wise learning rates,
momentum and L2 weight decay, and affine distortions of the training pairs. For 32×32 glyphs we
pass ``padding="same"`` convolutions, smaller kernels and channels (``teaching`` builder), train
with Adam, and take the distortions from the glyph renderer. ``embedding_activation="sigmoid"``
is the paper's; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "SiameseNet",
    "n_way_one_shot_accuracy",
    "n_way_tasks",
    "feature_similarity",
    "one_shot_similarity",
    "pair_batch",
    "pixel_similarity",
    "siamese_teaching",
    "split_by_script",
    "verification_loss",
]


class SiameseNet(nn.Module):
    """Koch et al.'s siamese network (defaults: the paper's 105×105 configuration)."""

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 105,
        channels: Sequence[int] = (64, 128, 128, 256),
        kernel_sizes: Sequence[int] = (10, 7, 4, 4),
        embedding_dim: int = 4096,
        padding: str | int = 0,
    ):
        super().__init__()
        if len(channels) != len(kernel_sizes):
            raise ValueError(
                f"give one kernel size per conv layer: {len(channels)} channels, "
                f"{len(kernel_sizes)} kernel sizes"
            )
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, (c, k) in enumerate(zip(channels, kernel_sizes)):
            layers += [nn.Conv2d(c_in, c, k, padding=padding), nn.ReLU(inplace=True)]
            if i < len(channels) - 1:  # no pooling after the last conv (paper, Fig. 4)
                layers.append(nn.MaxPool2d(2))
            c_in = c
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        with torch.no_grad():
            n_flat = self.features(torch.zeros(1, in_channels, image_size, image_size)).shape[1]
        self.in_shape = (in_channels, image_size, image_size)
        self.flat_features = n_flat
        self.embedding = nn.Sequential(nn.Linear(n_flat, embedding_dim), nn.Sigmoid())  # paper: sigmoid
        self.head = nn.Linear(embedding_dim, 1)  # the α_j of eq. 1 (and a bias)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) -> (B, embedding_dim)"""
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(
                f"expected images of shape (B, {', '.join(map(str, self.in_shape))}), got {tuple(x.shape)}"
            )
        return self.embedding(self.features(x))

    def score(self, h1: torch.Tensor, h2: torch.Tensor) -> torch.Tensor:
        """Embeddings (B, D), (B, D) -> logits (B,) of "same class" (eq. 1 before the sigmoid)."""
        return self.head((h1 - h2).abs()).squeeze(1)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S), (B, C, S, S) -> (B,) logits; ``torch.sigmoid`` gives p(same)."""
        return self.score(self.embed(x1), self.embed(x2))


def siamese_teaching(image_size: int = 32, width: float = 1.0) -> SiameseNet:
    """A small siamese network for 32×32 glyphs: four 'same'-padded convs, three max-pools."""
    ch = [max(8, int(c * width)) for c in (32, 64, 64, 128)]
    return SiameseNet(
        1, image_size, ch, (5, 3, 3, 3), embedding_dim=max(32, int(256 * width)), padding="same"
    )


def verification_loss(logits: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of eq. 2: ``logits`` (B,) of the pairs, ``same`` (B,) 1 or 0."""
    if logits.shape != same.shape:
        raise ValueError(
            f"logits and labels must have the same shape, got {tuple(logits.shape)} and {tuple(same.shape)}"
        )
    return nn.functional.binary_cross_entropy_with_logits(logits, same.float())


def _uniform_below(n: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One uniform integer in [0, n_k) for each entry n_k of ``n`` (K,) -> (K,)."""
    return (torch.rand(len(n), generator=generator) * n).long().clamp(max=n - 1)


def pair_batch(
    labels: torch.Tensor, classes: Sequence[int] | None, batch_size: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample ``batch_size`` index pairs (i, j) of a labelled set, half same-class, half not.

    Only images whose label is in ``classes`` (the training classes; None: every class) are ever
    drawn, so held-out classes stay unseen. The first ``batch_size // 2`` pairs are two *different*
    images of one class, labelled 1; the others are images of two different classes, labelled 0
    (Koch et al., sec. 4.2: "sampling random same and different pairs"). Every random number comes
    from ``generator``: the same generator state gives the same batch.

    ``labels`` (M,) -> ``(i, j, same)``, each (batch_size,); ``i`` and ``j`` index ``labels``.
    """
    labels = labels.cpu()  # the sampling runs on the CPU, where the generator lives; callers move the indices
    wanted = labels.unique() if classes is None else torch.as_tensor(list(classes), dtype=torch.long).unique()
    by_class = [m for m in (torch.nonzero(labels == c).squeeze(1) for c in wanted) if len(m)]
    counts = torch.tensor([len(m) for m in by_class], dtype=torch.long, device=labels.device)  # (K,) images of each usable class
    multi = torch.nonzero(counts >= 2).squeeze(1)  # the classes that can give a same pair
    if len(by_class) < 2 or len(multi) == 0:
        raise ValueError("pair_batch needs two classes with images among `classes`, one of them with two or more")
    members = nn.utils.rnn.pad_sequence(by_class, batch_first=True)  # (K, most images), padded with 0
    n_same, n_diff = batch_size // 2, batch_size - batch_size // 2
    c = multi[torch.randint(len(multi), (n_same,), generator=generator)]  # (n_same,) a class per pair
    a = _uniform_below(counts[c], generator)
    b = (a + 1 + _uniform_below(counts[c] - 1, generator)) % counts[c]  # another image of that class
    k = len(by_class)
    ca = torch.randint(k, (n_diff,), generator=generator)  # (n_diff,)
    cb = (ca + torch.randint(1, k, (n_diff,), generator=generator)) % k  # any class but ca, uniformly
    i = torch.cat([members[c, a], members[ca, _uniform_below(counts[ca], generator)]])
    j = torch.cat([members[c, b], members[cb, _uniform_below(counts[cb], generator)]])
    same = torch.cat([torch.ones(n_same, device=labels.device), torch.zeros(n_diff, device=labels.device)])
    return i, j, same


def split_by_script(class_scripts: Sequence[str], test_scripts: Sequence[str]) -> tuple[list[int], list[int]]:
    """Class indices of the training scripts and of the (unseen) test scripts.

    One-shot evaluation must use classes the network never saw, and here whole alphabets it never
    saw (as Koch et al. evaluate on Omniglot's evaluation alphabets).
    """
    known = set(class_scripts)
    unknown = [s for s in test_scripts if s not in known]
    if unknown:
        raise ValueError(f"test scripts {unknown} do not occur; scripts present: {sorted(known)}")
    test = [c for c, s in enumerate(class_scripts) if s in set(test_scripts)]
    train = [c for c, s in enumerate(class_scripts) if s not in set(test_scripts)]
    if not train or not test:
        raise ValueError("both the training and the test split need at least one script")
    return train, test


def n_way_tasks(
    labels: torch.Tensor, n_way: int, n_tasks: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw ``n_tasks`` N-way one-shot tasks from a labelled set.

    Each task picks ``n_way`` classes, one support example of each, and a query from the first
    class that is a *different* example. Returns ``support`` (T, N) indices, ``query`` (T,)
    indices and ``answer`` (T,) the position of the right class in ``support`` (shuffled).
    """
    g = torch.Generator().manual_seed(seed)
    labels = labels.cpu()  # the sampling runs on the CPU, where the generator lives; callers move the indices
    classes = labels.unique()
    by_class = {int(c): torch.nonzero(labels == c).squeeze(1) for c in classes}
    eligible = [c for c, m in by_class.items() if len(m) >= 2]
    if len(classes) < n_way or not eligible:
        raise ValueError(
            f"{n_way}-way tasks need at least {n_way} classes (got {len(classes)}), "
            "and classes with two or more examples"
        )
    # indices, built on the CPU (labels were moved there above)
    support = torch.empty(n_tasks, n_way, dtype=torch.long, device="cpu")
    query = torch.empty(n_tasks, dtype=torch.long, device="cpu")
    answer = torch.empty(n_tasks, dtype=torch.long, device="cpu")
    others_all = torch.tensor(sorted(by_class), device="cpu")
    for t in range(n_tasks):
        target = eligible[torch.randint(len(eligible), (1,), generator=g).item()]
        members = by_class[target]
        a, b = torch.randperm(len(members), generator=g)[:2]
        others = others_all[others_all != target]
        others = others[torch.randperm(len(others), generator=g)[: n_way - 1]]
        sup = [members[a]] + [
            by_class[int(c)][torch.randint(len(by_class[int(c)]), (1,), generator=g)].item() for c in others
        ]
        order = torch.randperm(n_way, generator=g)
        support[t] = torch.tensor(sup, device="cpu")[order]
        query[t] = members[b]
        answer[t] = torch.nonzero(order == 0).item()
    return support, query, answer


def n_way_one_shot_accuracy(similarity: torch.Tensor, answer: torch.Tensor) -> float:
    """(T, N) similarities of each task's query to its N support examples, (T,) right positions ->
    the fraction of tasks where the most similar support example is the right one (eq. 4)."""
    if similarity.dim() != 2 or answer.shape != similarity.shape[:1]:
        raise ValueError(
            f"expected similarity (T, N) and answer (T,), got {tuple(similarity.shape)} and "
            f"{tuple(answer.shape)}"
        )
    return (similarity.argmax(dim=1) == answer.to(similarity.device)).float().mean().item()


@torch.no_grad()
def one_shot_similarity(
    net: SiameseNet, images: torch.Tensor, support: torch.Tensor, query: torch.Tensor, batch_size: int = 512
) -> torch.Tensor:
    """p(same) of each task's query with each of its support examples: (T, N), in eval mode.

    ``images`` (M, C, S, S) is the evaluation set; ``support`` (T, N) and ``query`` (T,) index it
    (from :func:`n_way_tasks`). Every image is embedded once; pairs are scored by eq. 1.
    """
    was_training = net.training
    net.eval()
    dev = next(net.parameters()).device
    emb = torch.cat(
        [net.embed(images[i : i + batch_size].to(dev)) for i in range(0, len(images), batch_size)]
    )
    h_query = emb[query.to(dev)][:, None, :].expand(-1, support.shape[1], -1)  # (T, N, D)
    h_support = emb[support.to(dev)]  # (T, N, D)
    logits = net.score(h_query.reshape(-1, emb.shape[1]), h_support.reshape(-1, emb.shape[1]))
    net.train(was_training)
    return torch.sigmoid(logits).reshape(support.shape).cpu()


@torch.no_grad()
def feature_similarity(
    net: SiameseNet, images: torch.Tensor, support: torch.Tensor, query: torch.Tensor, batch_size: int = 512
) -> torch.Tensor:
    """Nearest neighbour in the network's embedding: minus the L1 distance of the embeddings, (T, N).

    The learned head of eq. 1 is left out (all α_j equal), so the similarity is that of the features
    alone: with an untrained network, a random-feature nearest neighbour baseline.
    """
    was_training = net.training
    net.eval()
    dev = next(net.parameters()).device
    emb = torch.cat([net.embed(images[i : i + batch_size].to(dev)) for i in range(0, len(images), batch_size)]).cpu()
    net.train(was_training)
    return -(emb[query][:, None, :] - emb[support]).abs().sum(-1)  # (T, 1, D) - (T, N, D) -> (T, N)


def pixel_similarity(images: torch.Tensor, support: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """The baseline: minus the squared Euclidean distance between raw pixels, (T, N)."""
    flat = images.reshape(len(images), -1).float()
    return -((flat[query][:, None, :] - flat[support]) ** 2).sum(-1)
