"""Exercise checks for notebooks 3.1–3.4: GAN losses, pix2pix, CycleGAN, BicycleGAN.

Each check runs the student's function on fresh random inputs and compares it with coursekit's
implementation (:mod:`coursekit.losses`, :mod:`coursekit.models.pix2pix`,
:mod:`coursekit.models.cyclegan`, :mod:`coursekit.models.bicyclegan`).
"""

from __future__ import annotations

import torch

from ._core import exercise, expect, expect_close, expect_equal

__all__ = [
    "check_cycle_loss",
    "check_discriminator_loss",
    "check_kl_divergence",
    "check_lsgan_d_loss",
    "check_nonsaturating_g_loss",
    "check_patch_output_size",
    "check_pix2pix_g_loss",
    "check_reparameterize",
]


# --- 3.1 GANs ----------------------------------------------------------------------------------


@exercise("the discriminator's loss", answer=("coursekit.losses.minimax_d_loss", "coursekit.losses.d_loss"))
def check_discriminator_loss(student_fn):
    from ..losses import minimax_d_loss

    real, fake = torch.randn(16) * 3, torch.randn(16) * 3
    expect_close(
        student_fn(real, fake),
        minimax_d_loss(real, fake),
        "discriminator_loss(real_logits, fake_logits)",
        hint=(
            "the discriminator should be told that real images are real and fakes are fake: a binary cross-entropy on logits",
            "reals have label 1 and fakes label 0; −log σ(a) = softplus of −a and −log(1 − σ(a)) = softplus of a are the stable forms",
            "average each of the two terms over its own batch, then add them",
        ),
    )


@exercise("the non-saturating generator loss", answer=("coursekit.losses.nonsaturating_g_loss", "coursekit.losses.g_loss"))
def check_nonsaturating_g_loss(student_fn):
    from ..losses import nonsaturating_g_loss

    fake = torch.randn(32) * 3
    got = student_fn(fake)
    expect_close(
        got,
        nonsaturating_g_loss(fake),
        "nonsaturating_g_loss(fake_logits)",
        hint=(
            "the generator wants the discriminator to call its fakes real",
            "the non-saturating loss maximises log D(G(z)), i.e. minimises −log σ of the fakes' logits, averaged",
            "minimising log(1 − D(G(z))) instead is the saturating (minimax) form",
        ),
    )


# --- 3.2 conditional GANs and pix2pix ----------------------------------------------------------


def _conv_out(n: int, kernel: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - kernel) // stride + 1


def _patch_output_size(size: int, n_layers: int) -> int:
    for _ in range(n_layers):
        size = _conv_out(size, 4, 2, 1)
    return _conv_out(_conv_out(size, 4, 1, 1), 4, 1, 1)


@exercise("the PatchGAN's output size", answer=("coursekit.checks.gan._patch_output_size", "coursekit.models.pix2pix.PatchDiscriminator.forward"))
def check_patch_output_size(student_fn):
    from ..models.pix2pix import PatchDiscriminator

    for size, n_layers in [(256, 3), (64, 3), (128, 2), (70, 3), (32, 1)]:
        want = _patch_output_size(size, n_layers)
        expect_equal(
            student_fn(size, n_layers),
            want,
            f"patch_output_size({size}, n_layers={n_layers})",
            hint=(
                "each convolution maps a side n to ⌊(n + 2p − k) / s⌋ + 1",
                "the n_layers stride-2 convolutions (kernel 4, padding 1) roughly halve the side; each of the last two (stride 1) removes one pixel",
                "a 256 input with 3 layers gives 30",
            ),
        )
    d = PatchDiscriminator(3, 2, 3, norm_layer=None)  # the formula agrees with the network itself
    expect(d(torch.zeros(1, 3, 64, 64)).shape[-1] == _patch_output_size(64, 3), "reference mismatch")


@exercise("pix2pix's generator objective", answer=("coursekit.models.pix2pix.generator_loss",))
def check_pix2pix_g_loss(student_fn):
    from ..losses import l1, nonsaturating_g_loss

    logits = torch.randn(4, 1, 6, 6)
    fake, target = torch.rand(4, 3, 32, 32) * 2 - 1, torch.rand(4, 3, 32, 32) * 2 - 1
    lam = float(torch.randint(1, 200, ()).item())
    want = nonsaturating_g_loss(logits) + lam * l1(fake, target)
    expect_close(
        student_fn(logits, fake, target, lam),
        want,
        f"pix2pix_g_loss(fake_logits, fake, target, lambda_l1={lam:g})",
        hint=(
            "pix2pix's generator loss is a GAN term plus an L1 term",
            "the GAN term is the non-saturating loss, averaged over every patch's logit; the L1 term is the MEAN absolute error between fake and target",
            "λ multiplies only the L1 term; not the sum of errors, not the squared error",
        ),
    )


# --- 3.3 CycleGAN ------------------------------------------------------------------------------


@exercise("the cycle-consistency loss", answer=("coursekit.models.cyclegan.cycle_loss",))
def check_cycle_loss(student_fn):
    from ..models.cyclegan import cycle_loss

    x = torch.rand(3, 1, 16, 16) * 2 - 1
    rec = x + 0.3 * torch.randn_like(x)
    expect_close(
        student_fn(x, rec),
        cycle_loss(x, rec),
        "cycle_loss(x, F(G(x)))",
        hint=(
            "translating there and back should give the input again",
            "the paper's eq. 2 uses the L1 norm: the mean absolute difference, not the squared error",
        ),
    )


@exercise("the least-squares discriminator loss", answer=("coursekit.losses.lsgan_d_loss", "coursekit.losses.d_loss"))
def check_lsgan_d_loss(student_fn):
    from ..losses import lsgan_d_loss

    real, fake = torch.randn(4, 1, 6, 6), torch.randn(4, 1, 6, 6)
    expect_close(
        student_fn(real, fake),
        lsgan_d_loss(real, fake),
        "lsgan_d_loss(real_out, fake_out)",
        hint=(
            "least squares: push the raw outputs of reals towards 1 and of fakes towards 0 (no sigmoid)",
            "the loss is ½ · mean of (D(x) − 1)² plus ½ · mean of D(G(z))²",
        ),
    )


# --- 3.4 BicycleGAN ----------------------------------------------------------------------------


@exercise("the reparameterisation trick", answer=("coursekit.models.bicyclegan.reparameterize",))
def check_reparameterize(student_fn):
    mu, logvar, eps = torch.randn(5, 8), torch.randn(5, 8), torch.randn(5, 8)
    want = mu + eps * torch.exp(0.5 * logvar)
    expect_close(
        student_fn(mu, logvar, eps),
        want,
        "reparameterize(mu, logvar, eps)",
        hint=(
            "z must be a deterministic function of μ, σ and the given noise",
            "logvar is log σ²: σ is the exponential of HALF of it (not σ, not σ²)",
            "z = μ + σ·ε",
        ),
    )
    mu.requires_grad_(True)
    z = student_fn(mu, logvar, eps)
    expect(
        z.requires_grad,
        "reparameterize(...) returned a tensor with no gradient to mu",
        hint=(
            "the gradient must flow from z back to μ",
            "compute z from μ with tensor operations only: no detaching, no no-grad block",
        ),
    )


@exercise("the KL divergence to N(0, I)", answer=("coursekit.losses.kl_divergence",))
def check_kl_divergence(student_fn):
    from ..losses import kl_divergence

    mu, logvar = torch.randn(6, 8), torch.randn(6, 8) * 0.5
    expect_close(
        student_fn(mu, logvar),
        kl_divergence(mu, logvar, reduction="batchmean"),
        "kl_divergence(mu, logvar) for (6, 8) codes",
        hint=(
            "the KL divergence to N(0, I) is zero when μ = 0 and log σ² = 0",
            "per code dimension: −½(1 + log σ² − μ² − σ²)",
            "SUM it over the 8 code dimensions, then average over the batch",
        ),
    )
