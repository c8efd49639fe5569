"""A small Taskonomy: one encoder–decoder per task, frozen-encoder transfers, an affinity matrix.

A. R. Zamir, A. Sax, W. Shen, L. Guibas, J. Malik and S. Savarese, "Taskonomy: Disentangling
Task Transfer Learning", CVPR 2018; code and models: https://github.com/StanfordVL/taskonomy.

Taskonomy trains one network per task (26 tasks on 4M indoor images): an encoder shared in
shape by all tasks (a ResNet-50 whose last stage keeps stride 1, followed by a convolution down
to 8 channels: a 16×16×8 representation of a 256×256 image) and a task-specific decoder. Then, for every source task s and target task t, it
*freezes* s's encoder and trains a small readout ("transfer function") on a small labelled set of
t. How well the readout does, relative to other sources, is the transfer *affinity* of s for t;
the affinities drawn as a matrix show which tasks help which.

Here the tasks are those of ``coursekit.data.intrinsic`` scenes (:data:`TASKS`): albedo,
shading, depth, surface normals and albedo edges, each predicted from the image. Deviations,
for the size of a notebook: the encoder is two stride-2 stages of two convolutions each
(32×32 → an 8×8×16 representation by default; Taskonomy's is 16×16×8 of 256×256); the readout
is a decoder of the same shape as the task decoders (Taskonomy's readouts are two convolutions
into the frozen target decoder); the affinity is the relative gain over training the same
network from scratch on the same small set, ``1 − L_transfer / L_scratch``; Taskonomy's own
ordinal normalisation, pairwise win rates normalised by the analytic hierarchy process (its
Section 3.3), is :func:`ahp_affinity`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ahp_affinity",
    "angular_error",
    "TASKS",
    "Task",
    "TaskDecoder",
    "TaskEncoder",
    "TaskNet",
    "task_loss",
    "task_target",
    "transfer_gain",
]


@dataclass(frozen=True)
class Task:
    """One task: the key of its target in ``make_scenes`` output, its channels and its loss."""

    name: str
    key: str
    channels: int
    loss: str  # "l1" for regression (as Taskonomy for depth, normals, ...), "bce" for edge maps


TASKS: dict[str, Task] = {
    "albedo": Task("albedo", "albedo", 3, "l1"),
    "shading": Task("shading", "shading", 1, "l1"),
    "depth": Task("depth", "depth", 1, "l1"),
    "normals": Task("normals", "normals", 3, "l1"),
    "edges": Task("edges", "edges", 1, "bce"),
}


def _task(task: str | Task) -> Task:
    if isinstance(task, Task):
        return task
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    return TASKS[task]


def task_target(scenes: dict[str, torch.Tensor], task: str | Task) -> torch.Tensor:
    """The target tensor (N, C, S, S) of ``task`` in a ``make_scenes`` dict."""
    t = _task(task)
    if t.key not in scenes:
        raise ValueError(f"the scenes have no {t.key!r}; keys: {sorted(scenes)}")
    return scenes[t.key]


def task_loss(task: str | Task, prediction: torch.Tensor, target: torch.Tensor,
              per_image: bool = False) -> torch.Tensor:
    """L1 for regression tasks, binary cross-entropy with logits for edges; means over pixels.

    ``per_image=True``: one loss per image, (B,), the mean over its channels and pixels (what
    :func:`ahp_affinity` compares); otherwise the mean over the whole batch, a scalar.
    """
    t = _task(task)
    if prediction.shape != target.shape:
        raise ValueError(
            f"{t.name}: prediction {tuple(prediction.shape)} and target {tuple(target.shape)} "
            "must have the same shape"
        )
    if t.loss == "bce":
        loss = F.binary_cross_entropy_with_logits(prediction.float(), target.float(), reduction="none")
    else:
        loss = F.l1_loss(prediction.float(), target.float(), reduction="none")
    return loss.flatten(1).mean(1) if per_image else loss.mean()


def _stage(resample: nn.Module, channels: int) -> list[nn.Module]:
    """A resampling convolution, then a 3×3 convolution, each followed by batch norm and ReLU."""
    return [
        resample,
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, 3, padding=1),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    ]


class TaskEncoder(nn.Module):
    """Image (B, 3, S, S) -> representation (B, rep_channels, S/2^k, S/2^k) for k stride-2 stages."""

    def __init__(self, in_channels: int = 3, channels: Sequence[int] = (32, 64), rep_channels: int = 16):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for c in channels:  # (B, c_in, H, W) -> (B, c, H/2, W/2)
            layers += _stage(nn.Conv2d(c_in, c, 3, stride=2, padding=1), c)
            c_in = c
        layers.append(nn.Conv2d(c_in, rep_channels, 1))  # the small representation (Taskonomy: 8 channels)
        self.net = nn.Sequential(*layers)
        self.factor = 2 ** len(channels)
        self.rep_channels = rep_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[-1] % self.factor or x.shape[-2] % self.factor:
            raise ValueError(
                f"expected images (B, C, H, W) with H and W multiples of {self.factor}, got {tuple(x.shape)}"
            )
        return self.net(x)


class TaskDecoder(nn.Module):
    """Representation (B, rep_channels, s, s) -> prediction (B, out_channels, s·2^k, s·2^k)."""

    def __init__(self, out_channels: int, rep_channels: int = 16, channels: Sequence[int] = (64, 32)):
        super().__init__()
        # normalise the representation first: a readout on a frozen encoder sees features of any scale
        layers: list[nn.Module] = [nn.BatchNorm2d(rep_channels)]
        c_in = rep_channels
        for c in channels:  # (B, c_in, h, w) -> (B, c, 2h, 2w)
            layers += _stage(nn.ConvTranspose2d(c_in, c, 4, stride=2, padding=1), c)
            c_in = c
        layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1))  # linear output (logits for edges)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class TaskNet(nn.Module):
    """Encoder + decoder for one task; ``freeze_encoder=True`` makes it a transfer readout."""

    def __init__(
        self,
        task: str | Task,
        encoder: TaskEncoder | None = None,
        *,
        width: float = 1.0,
        freeze_encoder: bool = False,
    ):
        super().__init__()
        self.task = _task(task)
        ch = [max(4, int(c * width)) for c in (32, 64)]
        self.encoder = encoder if encoder is not None else TaskEncoder(3, ch)
        self.decoder = TaskDecoder(self.task.channels, self.encoder.rep_channels, ch[::-1])
        self.frozen = freeze_encoder
        if freeze_encoder:
            self.encoder.requires_grad_(False)

    def train(self, mode: bool = True) -> TaskNet:
        super().train(mode)
        if self.frozen:
            self.encoder.eval()  # a frozen encoder keeps its batch-norm statistics
        return self

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) -> (B, task channels, S, S)"""
        return self.decoder(self.encoder(image))

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``batch``: a dict with "image" and the task's target key."""
        return task_loss(self.task, self(batch["image"]), task_target(batch, self.task))

    def predict(self, image: torch.Tensor) -> torch.Tensor:
        """Predictions in the target's range: sigmoid for edges, clamp to [0, 1] or [-1, 1] otherwise."""
        out = self(image)
        if self.task.loss == "bce":
            return torch.sigmoid(out)
        return out.clamp(-1, 1) if self.task.name == "normals" else out.clamp(0, 1)


def transfer_gain(transfer_loss: torch.Tensor, scratch_loss: torch.Tensor) -> torch.Tensor:
    """Affinity of source s for target t: ``1 − L[s, t] / L_scratch[t]`` (> 0: the transfer helps).

    ``transfer_loss`` (S, T): test loss on target t of the readout on s's frozen encoder;
    ``scratch_loss`` (T,): test loss of the same network trained from scratch on the same small set.
    """
    if transfer_loss.dim() != 2 or scratch_loss.shape != transfer_loss.shape[1:]:
        raise ValueError(
            f"expected transfer_loss (S, T) and scratch_loss (T,), got "
            f"{tuple(transfer_loss.shape)} and {tuple(scratch_loss.shape)}"
        )
    return 1 - transfer_loss / scratch_loss[None, :]


def angular_error(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean angle in degrees between predicted and true normals (B, 3, H, W); the prediction is
    normalised first (a network's output is not unit length). The usual metric for normals."""
    if prediction.shape != target.shape or prediction.dim() != 4 or prediction.shape[1] != 3:
        raise ValueError(
            f"expected two (B, 3, H, W) normal maps, got {tuple(prediction.shape)} and {tuple(target.shape)}"
        )
    cos = (F.normalize(prediction.float(), dim=1) * F.normalize(target.float(), dim=1)).sum(1)  # (B, H, W)
    return torch.rad2deg(torch.acos(cos.clamp(-1, 1))).mean()


def ahp_affinity(losses: torch.Tensor, clip: float = 1e-3, iterations: int = 200) -> torch.Tensor:
    """Taskonomy's ordinal normalisation (Zamir et al. 2018, Section 3.3) for one target task.

    ``losses`` (S, N): the test loss of each of S sources' transfers to the target, on each of N
    test images (lower is better). Returns (S,) affinities that sum to 1:

    1. the tournament matrix ``W[i, j]`` = the fraction of images on which source i's loss is lower
       than source j's (a tie counts half), clipped to ``[clip, 1 − clip]`` so that no ratio is
       infinite;
    2. the matrix of ratios ``W'[i, j] = W[i, j] / W[j, i]`` (how many times more often i beats j);
    3. its principal eigenvector (positive, by the Perron–Frobenius theorem, since every entry is
       positive), scaled to sum to 1 (the analytic hierarchy process's priority vector).

    Only orderings enter, so losses of different scales (L1 on depth, cross-entropy on edges) give
    comparable columns. The eigenvector is found by power iteration.
    """
    if losses.dim() != 2 or losses.shape[0] < 2:
        raise ValueError(f"expected losses (S, N) with at least 2 sources, got {tuple(losses.shape)}")
    losses = losses.detach().cpu().double()  # cpu: an (S, N) table of numbers, and MPS has no float64
    diff = losses[:, None, :] - losses[None, :, :]  # (S, S, N): < 0 where source i beats source j
    wins = (diff < 0).double().mean(-1) + 0.5 * (diff == 0).double().mean(-1)  # (S, S)
    wins = wins.clamp(clip, 1 - clip)
    ratios = wins / wins.T  # (S, S), ratios[j, i] = 1 / ratios[i, j]
    v = torch.full((len(losses),), 1.0 / len(losses), dtype=torch.float64, device=losses.device)
    for _ in range(iterations):
        v = ratios @ v
        v = v / v.sum()
    return v.float()
