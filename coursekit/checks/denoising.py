"""Exercise check for notebook 1.7 (denoising, after Zhang et al., "Beyond a Gaussian Denoiser",
IEEE TIP 2017): the loss of one training step of a *blind* DnCNN.

The student's function gets a network, a batch of clean crops and the noise levels; it must draw
one level per crop, add fresh Gaussian noise, ask the network for the noise (``net.residual``) and
return the paper's Eq. 1. The check hands it a stand-in network whose ``residual`` is a known
function and records what it was given, so it can see the noise the student drew (its level per
crop, its distribution, whether it is fresh at every call) and recompute the loss exactly.
"""

from __future__ import annotations

import torch
from torch import nn

from ._core import check_seed, exercise, expect, expect_close

__all__ = ["check_blind_residual_loss"]


class _Probe(nn.Module):
    """A stand-in denoiser: ``residual(y) = a·(y − 0.5) + c·y²`` (a known function), recording its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(0.3))
        self.c = nn.Parameter(torch.tensor(-0.2))
        self.inputs: list[torch.Tensor] = []

    def residual(self, y: torch.Tensor) -> torch.Tensor:
        self.inputs.append(y.detach().clone())
        return self.a * (y - 0.5) + self.c * y**2

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y - self.residual(y)


def _paper_loss(net: _Probe, noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        r = net.a * (noisy - 0.5) + net.c * noisy**2
        return 0.5 * ((r - (noisy - clean)) ** 2).flatten(1).sum(1).mean()


_NOISE_HINT = (
    "the noisy crop is the clean crop plus white Gaussian noise whose standard deviation is that crop's noise level",
    "draw one level per crop from the list (each equally likely), then standard normal noise of the crop's shape scaled by it",
    "the levels are already on the [0, 1] scale of the images; scale the unit noise of each crop by its own level",
)
_LOSS_HINT = (
    "residual learning: the network is asked for the noise, and its answer is compared with the true noise",
    "the target of net.residual(noisy) is noisy − clean; square the error and sum it over each crop's pixels",
    "add the per-crop sums over the N crops and divide by 2N: a mean over pixels, or a missing ½, is a different number",
)


@exercise("the blind residual training loss", answer=("coursekit.models.denoise.blind_residual_loss",))
def check_blind_residual_loss(student_fn):
    sigmas = torch.tensor([0.02, 0.05, 0.12])
    n, side = 96, 16
    with torch.random.fork_rng(devices=[]):  # the notebook's own random state is left as it was
        torch.manual_seed(check_seed())
        clean = 0.5 + 0.15 * torch.rand(n, 1, side, side) - 0.075
        net = _Probe()
        loss = student_fn(net, clean.clone(), sigmas.clone())
        expect(isinstance(loss, torch.Tensor) and loss.dim() == 0,
               f"expected the loss as a scalar tensor, got "
               f"{tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__}",
               ("one number for the whole batch", "average the per-crop sums over the crops"))
        expect(len(net.inputs) > 0, "your function never called net.residual (or net) on the noisy crops",
               ("the network predicts the noise of a noisy crop", "call net.residual on the noisy batch"))
        noisy = net.inputs[-1]
        expect(tuple(noisy.shape) == tuple(clean.shape),
               f"the network was given a batch of shape {tuple(noisy.shape)}, expected the noisy crops {tuple(clean.shape)}",
               _NOISE_HINT)
        noise = (noisy - clean).flatten(1)
        std = noise.std(1)
        expect(bool((noise.mean(1).abs() < 5 * std / side + 1e-6).all()),
               "the noise added to a crop does not have zero mean", _NOISE_HINT)
        ratio = std[:, None] / sigmas[None]
        level = (ratio.log().abs()).argmin(1)
        matched = (ratio.gather(1, level[:, None])[:, 0] - 1).abs() < 0.2
        expect(bool(matched.all()),
               f"{int((~matched).sum())} of {n} crops got noise whose standard deviation is none of the levels "
               f"{[float(s) for s in sigmas]} (e.g. {float(std[~matched][0]) if (~matched).any() else 0:.4f})",
               _NOISE_HINT)
        counts = torch.bincount(level, minlength=len(sigmas))
        expect(int((counts > 0).sum()) > 1,
               "every crop of the batch got the same noise level: a blind model needs a level drawn for each crop",
               ("the batch should mix noise levels", "draw one level per crop, not one per batch"))
        expect(bool((counts >= 12).all() and (counts <= 52).all()),
               f"the levels are not drawn equally often: {counts.tolist()} crops for levels {[float(s) for s in sigmas]}",
               ("each listed level should be equally likely", "pick a random index into the list for each crop"))
        tails = float(((noise / std[:, None]).abs() > 2).float().mean())
        expect(0.03 < tails < 0.065,
               f"the noise is not Gaussian: {tails:.1%} of its values lie beyond 2 standard deviations (Gaussian: 4.6%)",
               ("the paper's noise is additive white Gaussian noise", "draw standard normal noise, not uniform noise"))
        expect_close(loss, _paper_loss(net, noisy, clean), "the loss for the noise you drew", _LOSS_HINT)
        if loss.requires_grad:
            loss.backward()
        expect(net.a.grad is not None and float(net.a.grad.abs()) > 0,
               "the loss does not reach the network's parameters: no gradient flows back",
               ("the loss must be computed from the network's output", "do not detach the prediction"))

        clean2 = clean.clone()
        student_fn(net, clean2, sigmas.clone())
        noisy2 = net.inputs[-1]
        expect(not torch.allclose(noisy2, noisy),
               "two calls on the same crops added the same noise: every training step needs fresh noise",
               ("the noise is part of the training data, drawn anew at each step",
                "draw the noise inside the function, at every call"))
        std2 = (noisy2 - clean).flatten(1).std(1)
        level2 = (std2[:, None] / sigmas[None]).log().abs().argmin(1)
        expect(not torch.equal(level2, level),
               "two calls gave every crop the same noise level again: draw the levels anew at every call",
               ("the levels are random too", "draw them inside the function, at every call"))
