"""Adversarial losses and the reconstruction terms that go with them.

Every function takes the discriminator's raw outputs (*logits*, before any sigmoid), of any shape:
one score per image (DCGAN) or one per patch (PatchGAN, shape (B, 1, H', W')); losses are means
over all elements. ``D(x) = sigmoid(logit)`` where a probability is meant.

The forms:

- ``"minimax"``: the original game of Goodfellow et al., "Generative Adversarial Nets", NeurIPS
  2014, eq. 1: ``min_G max_D E[log D(x)] + E[log(1 - D(G(z)))]``.
- ``"nonsaturating"``: the same discriminator; the generator maximises ``log D(G(z))`` instead
  (same paper, §3), which gives strong gradients early in training when D rejects every fake.
- ``"lsgan"``: least squares, Mao et al., "Least Squares Generative Adversarial Networks", ICCV
  2017, eq. 2 with the 0-1 coding (a=0, b=1, c=1). pix2pix/CycleGAN's code uses it as ``lsgan``.
- ``"hinge"``: Lim & Ye, "Geometric GAN", 2017; Miyato et al., "Spectral Normalization for GANs",
  ICLR 2018, eq. 17; used by SAGAN.
- ``"wasserstein"``: Arjovsky et al., "Wasserstein GAN", ICML 2017 (the critic's outputs are scores,
  not logits); pair it with :func:`gradient_penalty` (Gulrajani et al., "Improved Training of
  Wasserstein GANs", NeurIPS 2017, eq. 3).

Reference code: pytorch/examples ``dcgan/main.py`` (BCE, non-saturating), and
junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py`` (``GANLoss``, ``cal_gradient_penalty``).
``d_loss``/``g_loss`` dispatch on ``kind``; the named functions below are the same formulas.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import validate

__all__ = [
    "KINDS",
    "d_loss",
    "g_loss",
    "minimax_d_loss",
    "minimax_g_loss",
    "nonsaturating_g_loss",
    "lsgan_d_loss",
    "lsgan_g_loss",
    "hinge_d_loss",
    "hinge_g_loss",
    "wasserstein_d_loss",
    "wasserstein_g_loss",
    "kl_divergence",
    "l1",
    "gradient_penalty",
]

KINDS = ("minimax", "nonsaturating", "lsgan", "hinge", "wasserstein")


# --- the original game and its non-saturating generator -------------------------------------------
def minimax_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss of the original GAN (eq. 1 of Goodfellow et al., negated to minimise).

        L_D = -E[log D(x)] - E[log(1 - D(G(z)))]
            = BCE(real_logits, 1) + BCE(fake_logits, 0)

    Written with ``softplus`` for stability: ``-log sigmoid(a) = softplus(-a)`` and
    ``-log(1 - sigmoid(a)) = softplus(a)``. The two terms are summed, as in the DCGAN reference
    (``errD = errD_real + errD_fake``); pix2pix's code halves this sum, which only rescales D's step.
    """
    real_logits = validate.tensor(real_logits, "real_logits", floating=True)
    fake_logits = validate.tensor(fake_logits, "fake_logits", floating=True)
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def minimax_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss of the original minimax game: minimise E[log(1 - D(G(z)))].

        L_G = E[log(1 - D(G(z)))] = -E[softplus(fake_logits)]

    Its gradient vanishes when D confidently rejects the fakes (D(G(z)) ≈ 0), early in training:
    the "saturation" the non-saturating loss avoids.
    """
    fake_logits = validate.tensor(fake_logits, "fake_logits", floating=True)
    return -F.softplus(fake_logits).mean()


def nonsaturating_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss (Goodfellow et al. §3): maximise log D(G(z)).

        L_G = -E[log D(G(z))] = E[softplus(-fake_logits)] = BCE(fake_logits, 1)

    Same fixed point as the minimax loss, but large gradients when D(G(z)) ≈ 0.
    """
    fake_logits = validate.tensor(fake_logits, "fake_logits", floating=True)
    return F.softplus(-fake_logits).mean()


# --- least squares ---------------------------------------------------------------------------------
def lsgan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Least-squares discriminator loss (Mao et al. eq. 2, a=0 for fakes, b=1 for reals).

        L_D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]

    ``D`` here is the raw output (no sigmoid), as in the paper and pix2pix/CycleGAN's ``lsgan``.
    """
    real_logits = validate.tensor(real_logits, "real_logits", floating=True)
    fake_logits = validate.tensor(fake_logits, "fake_logits", floating=True)
    return 0.5 * ((real_logits - 1).pow(2).mean() + fake_logits.pow(2).mean())


def lsgan_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Least-squares generator loss (Mao et al. eq. 2, c=1): L_G = 1/2 E[(D(G(z)) - 1)^2]."""
    fake_logits = validate.tensor(fake_logits, "fake_logits", floating=True)
    return 0.5 * (fake_logits - 1).pow(2).mean()


# --- hinge -----------------------------------------------------------------------------------------
def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge discriminator loss (Miyato et al. 2018, eq. 17; SAGAN).

    L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]
    """
    real_logits = validate.tensor(real_logits, "real_logits", floating=True)
    fake_logits = validate.tensor(fake_logits, "fake_logits", floating=True)
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge generator loss: L_G = -E[D(G(z))] (the generator is not clipped)."""
    fake_logits = validate.tensor(fake_logits, "fake_logits", floating=True)
    return -fake_logits.mean()


# --- Wasserstein -----------------------------------------------------------------------------------
def wasserstein_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss (Arjovsky et al. 2017): L_D = E[D(G(z))] - E[D(x)].

    Only meaningful with a Lipschitz constraint on D: add ``λ · gradient_penalty(...)`` (λ = 10).
    """
    real_scores = validate.tensor(real_scores, "real_scores", floating=True)
    fake_scores = validate.tensor(fake_scores, "fake_scores", floating=True)
    return fake_scores.mean() - real_scores.mean()


def wasserstein_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN generator loss: L_G = -E[D(G(z))]."""
    fake_scores = validate.tensor(fake_scores, "fake_scores", floating=True)
    return -fake_scores.mean()


_D = {
    "minimax": minimax_d_loss,
    "nonsaturating": minimax_d_loss,  # the discriminator's loss is the same in both forms
    "lsgan": lsgan_d_loss,
    "hinge": hinge_d_loss,
    "wasserstein": wasserstein_d_loss,
}
_G = {
    "minimax": minimax_g_loss,
    "nonsaturating": nonsaturating_g_loss,
    "lsgan": lsgan_g_loss,
    "hinge": hinge_g_loss,
    "wasserstein": wasserstein_g_loss,
}


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown GAN loss kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: str = "nonsaturating") -> torch.Tensor:
    """The discriminator's loss (to minimise) for ``kind`` in :data:`KINDS`; see each named function.

    Pass ``fake_logits`` computed on *detached* fakes (``D(G(z).detach())``) so that this loss does
    not update the generator.
    """
    return _D[_kind(kind)](real_logits, fake_logits)


def g_loss(fake_logits: torch.Tensor, kind: str = "nonsaturating") -> torch.Tensor:
    """The generator's loss (to minimise) for ``kind`` in :data:`KINDS`; see each named function."""
    return _G[_kind(kind)](fake_logits)


# --- reconstruction and regularisers ---------------------------------------------------------------
def l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error: L1 = E[|output - target|] (pix2pix's L_L1, eq. 3; CycleGAN's cycle loss)."""
    if not isinstance(output, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise TypeError(f"l1 expects two tensors, got {type(output).__name__} and {type(target).__name__}")
    if output.shape != target.shape:
        raise ValueError(
            f"l1: output and target must have the same shape, got {tuple(output.shape)} and "
            f"{tuple(target.shape)}; resize or crop one of them"
        )
    return (output - target).abs().mean()


KL_REDUCTIONS = ("batchmean", "mean", "sum")


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor, *, reduction: str) -> torch.Tensor:
    """``D_KL(N(μ, diag σ²) || N(0, I))`` of Gaussian codes, from ``mu`` and ``logvar`` = log σ².

    Per element (Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, appendix B):
    ``-½ (1 + log σ² - μ² - σ²)``. The papers differ in how they reduce it, so the caller says:

    - ``"batchmean"``: summed over the code, averaged over the batch (axis 0) — the KL of each
      sample's code, on average: BicycleGAN's cVAE-GAN (Zhu et al. 2017) and the β-VAE (Higgins
      et al. 2017);
    - ``"mean"``: averaged over batch *and* code — StackGAN's ``KL_loss`` (Zhang et al. 2017; its
      paper writes the sum, the authors' code the mean, which only rescales the weight λ);
    - ``"sum"``: summed over everything.

    The names follow ``torch.nn.functional.kl_div``'s ``reduction``.
    """
    validate.tensor(mu, "mu", floating=True)
    validate.tensor(logvar, "logvar", floating=True)
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}; "
            "give one mean and one log-variance per code dimension"
        )
    if reduction not in KL_REDUCTIONS:
        raise ValueError(f"reduction must be one of {KL_REDUCTIONS}, got {reduction!r}")
    per_element = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())  # same shape as mu
    if reduction == "mean":
        return per_element.mean()
    if reduction == "sum":
        return per_element.sum()
    return per_element.flatten(1).sum(1).mean()  # (B, ...) -> (B,) -> scalar


def gradient_penalty(
    discriminator: torch.nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    target: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017, eq. 3), unweighted (multiply by λ = 10).

        x̂ = ε x + (1 - ε) G(z),  ε ~ U[0, 1] per sample
        GP = E[(||∇_x̂ D(x̂)||_2 - target)^2]

    ``fake`` is detached here; the penalty's graph is kept (``create_graph=True``) so that it can be
    backpropagated into D's weights. Same as ``cal_gradient_penalty(type="mixed")`` in the
    pix2pix/CycleGAN code.
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"gradient_penalty: real and fake batches must have the same shape, got {tuple(real.shape)} "
            f"and {tuple(fake.shape)}"
        )
    b = real.shape[0]
    eps = torch.rand(b, *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype, generator=generator)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)  # (B, C, H, W)
    scores = discriminator(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grad.reshape(b, -1).norm(2, dim=1)  # (B,)
    return (norms - target).pow(2).mean()
