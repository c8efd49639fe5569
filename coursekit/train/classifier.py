"""Training the course's measuring networks: the Fréchet features, the factor reader, the text encoder.

Each is an ordinary supervised fit through :func:`~coursekit.train.loop.fit` on batches drawn by a
seeded generator of its own (so the global random stream is untouched and a rerun repeats):

* :func:`frechet_features` — the :class:`~coursekit.models.classifiers.FeatureNet` whose features
  :class:`coursekit.metrics.FrechetScorer` measures in, trained on the real images' labels (or, with
  none, on which of four rotations was applied: a self-supervised task that still needs shape
  features; Gidaris et al., ICLR 2018) and cached on disk per dataset and setting;
* :func:`fit_factor_classifier` — a :class:`~coursekit.models.classifiers.FactorClassifier`;
* :func:`fit_text_encoder` — the captions' :class:`~coursekit.models.text_encoder.TextEncoder`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from ..models.classifiers import FactorClassifier, FeatureNet
from ..models.text_encoder import TextEncoder, caption_factor_heads, caption_factor_loss
from ..runtime import active_profile
from ..runtime import device as default_device
from .checkpoint import load_checkpoint, save_checkpoint
from .loop import fit

__all__ = ["fit_factor_classifier", "fit_text_encoder", "frechet_features"]


def _default_cache_dir() -> Path:
    try:
        from ..data.download import cache_dir

        return Path(cache_dir())
    except Exception:  # the data package is optional here
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


def _labelled_batches(
    images: torch.Tensor, labels: torch.Tensor | None, batch_size: int, gen: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    n = len(images)
    while True:
        idx = torch.randint(n, (min(batch_size, n),), generator=gen)
        x = images[idx].float()
        if labels is None:
            x, y = _rotations(x)
        else:
            y = labels[idx].long()
        yield x, y


def frechet_features(
    images: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    name: str = "dataset",
    steps: int = 300,
    max_seconds: float | None = None,
    batch_size: int = 64,
    feature_dim: int = 64,
    width: int = 32,
    device: torch.device | str | None = None,
    cache: bool | str | Path = True,
    seed: int = 0,
    progress: bool = True,
) -> FeatureNet:
    """A trained :class:`FeatureNet` for ``images`` (N, C, H, W) in [0, 1], from the cache if there.

    Trained on ``labels`` (N,) (or, with ``labels=None``, on predicting the rotation) with Adam and
    a one-cycle schedule for ``steps`` steps or ``max_seconds`` (default: half the profile's
    training time, at most 60 s), then cached as ``<cache>/frechet/<name>-<fingerprint>.pt`` (the
    fingerprint covers the images, labels and settings; a changed dataset trains anew). Only a
    complete training is cached. The net returned is in eval mode on ``device`` and carries
    ``accuracy`` (training accuracy, last 20 steps), ``cached`` and ``cache_path``.
    Use it as ``FrechetScorer(frechet_features(images, labels, name=...), images, name=...)``.
    """
    from .. import validate

    validate.tensor(images, "images", ndim=4, shape="(N, C, H, W) in [0, 1]")
    if len(images) < 8:
        raise ValueError(f"images must hold at least 8 real images to train the features, got {len(images)}; "
                         "give more real images")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"labels must hold one label per image, got {len(images)} images but {len(labels)} "
                         "labels; give one label per image")
    dev = torch.device(device) if device is not None else default_device()
    num_classes = 4 if labels is None else int(labels.max()) + 1
    net = FeatureNet(images.shape[1], num_classes, width=width, feature_dim=feature_dim)
    if max_seconds is None:
        max_seconds = min(60.0, max(1.0, active_profile().train_seconds / 2))
    cap = active_profile().step_cap  # smoke: the clock budget becomes a fixed number of steps
    if cap is not None and math.isfinite(max_seconds):
        steps = min(steps, cap)
    key = _fingerprint(images, labels, f"{steps}-{batch_size}-{feature_dim}-{width}-{seed}")
    cache_path: Path | None = None
    if cache:
        base = _default_cache_dir() if cache is True else Path(cache)
        cache_path = base / "frechet" / f"{name}-{key}.pt"
    if cache_path is not None and cache_path.exists():
        state = load_checkpoint(cache_path, net=net)
        net.accuracy = float(state.get("accuracy", float("nan")))
        net.cached = True
    else:
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)

        def loss_fn(model: FeatureNet, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
            x, y = batch
            logits = model(x)
            return {"loss": F.cross_entropy(logits, y), "acc": (logits.argmax(1) == y).float().mean()}

        data = _labelled_batches(images, labels, batch_size, torch.Generator().manual_seed(seed))
        hist = fit(net, data, loss_fn, optimizer=opt, scheduler=sched, max_steps=steps, max_seconds=max_seconds,
                   device=dev, amp=False, desc=f"Fréchet features ({name})", progress=progress)
        steps_done = len(hist["loss"]) if "loss" in hist else 0
        net.accuracy = hist.last("acc", 20) if "acc" in hist else float("nan")
        net.cached = False
        if cache_path is not None and steps_done >= steps:  # cache only complete training
            save_checkpoint(cache_path, net=net, accuracy=net.accuracy)
    net.cache_path = cache_path
    return net.to(dev).eval()


def fit_factor_classifier(
    images: torch.Tensor,
    factors: torch.Tensor,
    factor_names: Sequence[str],
    which: Sequence[str],
    *,
    steps: int = 400,
    max_seconds: float | None = None,
    batch_size: int = 64,
    width: int = 32,
    device: torch.device | str | None = None,
    seed: int = 0,
) -> FactorClassifier:
    """Train a :class:`FactorClassifier` on ``images`` (N, C, S, S) in [0, 1] for the factors named
    in ``which`` (columns of ``factors`` (N, n_factors) named by ``factor_names``; labels -1 are
    ignored). Adam(2e-3) for ``steps`` steps (and ``max_seconds`` if given). Returned in eval mode."""
    dev = torch.device(device) if device is not None else default_device()
    cols = {k: list(factor_names).index(k) for k in which}
    sizes = {k: int(factors[:, cols[k]].max()) + 1 for k in which}
    clf = FactorClassifier(sizes, images.shape[1], width).to(dev)
    opt = torch.optim.Adam(clf.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(seed)

    def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            idx = torch.randint(len(images), (batch_size,), generator=g)
            yield images[idx], factors[idx]

    def loss_fn(model: FactorClassifier, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, f = batch
        out = model(x)  # {factor: (B, n_values)}
        return sum(F.cross_entropy(out[k], f[:, cols[k]], ignore_index=-1) for k in which)

    fit(clf, batches(), loss_fn, optimizer=opt, max_steps=steps,
        max_seconds=max_seconds if max_seconds is not None else math.inf, device=dev, amp=False,
        desc="factor classifier")
    return clf.eval()


def fit_text_encoder(
    encoder: TextEncoder,
    captions: Sequence[str],
    factors: torch.Tensor,
    steps: int = 300,
    lr: float = 1e-2,
    seed: int = 0,
) -> list[float]:
    """Train ``encoder`` so that each captioned factor can be read linearly off the embedding.

    ``factors`` (N, n_factors) as in :class:`coursekit.data.shapes.Shapes`. The read-out heads are
    discarded afterwards; returns the loss per step. A second of CPU time, on the encoder's device.
    """
    from ..data.shapes import CAPTIONED, FACTOR_NAMES, Tokenizer

    dev = next(encoder.parameters()).device
    ids = Tokenizer().encode_batch(list(captions))  # (N, L)
    targets = factors[:, [FACTOR_NAMES.index(f) for f in CAPTIONED]]  # (N, 5)
    heads = caption_factor_heads(encoder).to(dev)
    opt = torch.optim.Adam(list(encoder.parameters()) + list(heads.parameters()), lr=lr)
    g = torch.Generator().manual_seed(seed)

    def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            idx = torch.randint(len(ids), (min(256, len(ids)),), generator=g)
            yield ids[idx], targets[idx]

    hist = fit(encoder, batches(), lambda enc, b: caption_factor_loss(enc, heads, *b), optimizer=opt,
               max_steps=steps, max_seconds=math.inf, device=dev, amp=False, desc="text encoder", progress=False)
    return list(hist["loss"])
