"""Exercise checks for notebooks 3.5–3.7: progressive growing, StackGAN, disentanglement.

Each check runs the student's function on fresh random inputs and compares with coursekit's
implementation (:mod:`coursekit.models.progan`, :mod:`coursekit.models.stackgan`,
:mod:`coursekit.models.disentangle`, :mod:`coursekit.analysis.disentanglement`).
"""

from __future__ import annotations

import torch

from ._core import exercise, expect_close, expect_shape

__all__ = [
    "check_beta_vae_loss",
    "check_conditioning_augmentation",
    "check_fade_in",
    "check_matching_aware_d_loss",
    "check_mig_from_mi",
    "check_minibatch_stddev",
    "check_pixel_norm",
]


# --- 3.5 progressive growing -------------------------------------------------------------------


@exercise("fade-in blending", answer=("coursekit.models.progan.fade_in",))
def check_fade_in(student_fn):
    from ..models.progan import fade_in

    old, new = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    for alpha in (0.0, 0.3, 1.0):
        expect_close(
            student_fn(alpha, old, new),
            fade_in(alpha, old, new),
            f"fade_in(alpha={alpha}, old, new)",
            hint="α = 0 must give the old (upsampled) image and α = 1 the new one: (1 - α)·old + α·new",
        )


@exercise("pixel-wise feature normalisation", answer=("coursekit.models.progan.PixelNorm.forward",))
def check_pixel_norm(student_fn):
    from ..models.progan import PixelNorm

    x = torch.randn(3, 16, 5, 5) * 3
    expect_close(
        student_fn(x),
        PixelNorm()(x),
        "pixel_norm(x) for x of shape (3, 16, 5, 5)",
        hint="normalise over the channel axis (dim=1) at each pixel: x / sqrt(mean(x², dim=1) + 1e-8)",
        rtol=1e-4,
        atol=1e-5,
    )


@exercise("minibatch standard deviation", answer=("coursekit.models.progan.MinibatchStdDev.forward",))
def check_minibatch_stddev(student_fn):
    from ..models.progan import MinibatchStdDev

    x = torch.randn(8, 6, 4, 4) * torch.linspace(0.5, 2, 8)[:, None, None, None]
    got = student_fn(x, 4)
    expect_shape(
        got,
        (8, 7, 4, 4),
        "minibatch_stddev(x, group_size=4) for x (8, 6, 4, 4)",
        hint="append ONE feature map to the input: torch.cat([x, stat_map], dim=1)",
    )
    expect_close(
        got,
        MinibatchStdDev(4)(x),
        "minibatch_stddev(x, group_size=4)",
        hint="group samples i, i + B/G, … (x.reshape(G, B // G, C, H, W)); take the biased std over "
        "the group axis (sqrt(mean of squared deviations + 1e-8)), average it over C, H, W, then "
        "tile that number over the group's samples and pixels",
        rtol=1e-4,
        atol=1e-5,
    )


# --- 3.6 StackGAN ------------------------------------------------------------------------------


@exercise("conditioning augmentation", answer=("coursekit.models.stackgan.kl_divergence", "coursekit.models.stackgan.ConditioningAugmentation.forward"))
def check_conditioning_augmentation(student_fn):
    from ..models.stackgan import kl_divergence

    mu, logvar, eps = torch.randn(5, 8), torch.randn(5, 8) * 0.5, torch.randn(5, 8)
    got = student_fn(mu, logvar, eps)
    if not (isinstance(got, tuple) and len(got) == 2):
        from ._core import Mismatch

        raise Mismatch(f"expected a tuple (c, kl), got {type(got).__name__}", hint="return c, kl")
    c, kl = got
    expect_close(
        c,
        mu + torch.exp(0.5 * logvar) * eps,
        "c = conditioning_augmentation(mu, logvar, eps)[0]",
        hint="σ = exp(½·log σ²), then c = μ + σ·ε (the reparameterisation trick)",
    )
    expect_close(
        kl,
        kl_divergence(mu, logvar),
        "kl = conditioning_augmentation(mu, logvar, eps)[1]",
        hint="KL per element is -½(1 + log σ² - μ² - σ²); take the mean over batch and dimensions "
        "(as the authors' KL_loss), not the sum",
    )


@exercise("matching-aware discriminator loss", answer=("coursekit.models.stackgan.matching_aware_d_loss",))
def check_matching_aware_d_loss(student_fn):
    from ..models.stackgan import matching_aware_d_loss

    real, wrong, fake = torch.randn(6), torch.randn(6), torch.randn(6)
    expect_close(
        student_fn(real, wrong, fake),
        matching_aware_d_loss(real, wrong, fake),
        "d_loss(real_logits, wrong_logits, fake_logits)",
        hint="real image + right caption → label 1; real image + wrong caption and fake image → label 0; "
        "BCE(real) + ½(BCE(wrong) + BCE(fake)), on logits (binary_cross_entropy_with_logits)",
    )


# --- 3.7 disentanglement -----------------------------------------------------------------------


@exercise("the β-VAE loss", answer=("coursekit.models.disentangle.beta_vae_loss",))
def check_beta_vae_loss(student_fn):
    from ..models.disentangle import beta_vae_loss

    x = torch.rand(4, 1, 8, 8).round()
    logits, mu, logvar = torch.randn(4, 1, 8, 8), torch.randn(4, 5), torch.randn(4, 5) * 0.3
    for beta in (1.0, 4.0):
        want = beta_vae_loss(logits, x, mu, logvar, beta)["loss"]
        expect_close(
            student_fn(logits, x, mu, logvar, beta),
            want,
            f"beta_vae_loss(..., beta={beta})",
            hint="per image: Bernoulli reconstruction SUMMED over pixels "
            "(binary_cross_entropy_with_logits, reduction='sum') plus β times the KL summed over "
            "latents, -½Σ(1 + log σ² - μ² - σ²); then divide both by the batch size",
        )


@exercise("the mutual information gap", answer=("coursekit.analysis.disentanglement.mig_from_mi",))
def check_mig_from_mi(student_fn):
    from ..analysis.disentanglement import mig_from_mi

    mi = torch.rand(6, 4)
    ent = torch.rand(4) + 1.0
    expect_close(
        torch.as_tensor(student_fn(mi, ent), dtype=torch.float32).reshape(()),
        mig_from_mi(mi, ent).float(),
        "mig_from_mi(mi (6 latents, 4 factors), entropy (4,))",
        hint="for each factor (column): sort its MI over latents, take best minus SECOND best, divide by "
        "that factor's entropy; then average over factors",
    )
