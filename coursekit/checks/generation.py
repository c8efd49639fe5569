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
            hint=(
                "α = 0 must give the old (upsampled) image and α = 1 the new one",
                "blend linearly between the two: the old image's weight falls from 1 to 0 as α grows",
            ),
        )


@exercise("pixel-wise feature normalisation", answer=("coursekit.models.progan.PixelNorm.forward",))
def check_pixel_norm(student_fn):
    from ..models.progan import PixelNorm

    x = torch.randn(3, 16, 5, 5) * 3
    expect_close(
        student_fn(x),
        PixelNorm()(x),
        "pixel_norm(x) for x of shape (3, 16, 5, 5)",
        hint=(
            "normalise each pixel's feature vector, i.e. along the channel axis",
            "divide by the root of the MEAN square over the channels (not the norm, not over everything), with ε = 1e-8 inside the root",
        ),
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
        hint=(
            "the layer appends ONE feature map to its input",
            "the output has C + 1 channels: the input unchanged, then the statistic's map",
        ),
    )
    expect_close(
        got,
        MinibatchStdDev(4)(x),
        "minibatch_stddev(x, group_size=4)",
        hint=(
            "the statistic is a standard deviation over a group of samples, not over the whole batch",
            "sample i goes to the group of samples i, i + B/G, i + 2B/G, …; the std is the biased one, the root of the mean squared deviation plus 1e-8",
            "average the std over C, H and W to one number per group, and fill the new map of every sample of that group with it",
        ),
        rtol=1e-4,
        atol=1e-5,
    )


# --- 3.6 StackGAN ------------------------------------------------------------------------------


@exercise("conditioning augmentation", answer=("coursekit.losses.kl_divergence", "coursekit.models.stackgan.ConditioningAugmentation.forward"))
def check_conditioning_augmentation(student_fn):
    from ..losses import kl_divergence

    mu, logvar, eps = torch.randn(5, 8), torch.randn(5, 8) * 0.5, torch.randn(5, 8)
    got = student_fn(mu, logvar, eps)
    if not (isinstance(got, tuple) and len(got) == 2):
        from ._core import Mismatch

        raise Mismatch(f"expected a tuple (c, kl), got {type(got).__name__}", hint=(
            "return the pair (c, kl)",
            "a tuple of two tensors: the sampled condition and the KL term",
        ))
    c, kl = got
    expect_close(
        c,
        mu + torch.exp(0.5 * logvar) * eps,
        "c = conditioning_augmentation(mu, logvar, eps)[0]",
        hint=(
            "the condition is sampled with the reparameterisation trick",
            "σ is the exponential of half of log σ², and c = μ + σ·ε",
        ),
    )
    expect_close(
        kl,
        kl_divergence(mu, logvar, reduction="mean"),
        "kl = conditioning_augmentation(mu, logvar, eps)[1]",
        hint=(
            "the KL term keeps the condition's Gaussian near N(0, I)",
            "per element it is −½(1 + log σ² − μ² − σ²)",
            "take the MEAN over batch and dimensions (as the authors' KL loss), not the sum",
        ),
    )


@exercise("matching-aware discriminator loss", answer=("coursekit.models.stackgan.matching_aware_d_loss",))
def check_matching_aware_d_loss(student_fn):
    from ..models.stackgan import matching_aware_d_loss

    real, wrong, fake = torch.randn(6), torch.randn(6), torch.randn(6)
    expect_close(
        student_fn(real, wrong, fake),
        matching_aware_d_loss(real, wrong, fake),
        "d_loss(real_logits, wrong_logits, fake_logits)",
        hint=(
            "the discriminator must judge whether the image fits the text, not only whether it looks real",
            "real image + right caption → label 1; real image + wrong caption → 0; fake image → 0",
            "binary cross-entropy on logits for each; the real term counts fully, the wrong and fake terms ½ each",
        ),
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
            hint=(
                "the β-VAE loss is a reconstruction term plus β times a KL term, per image",
                "the reconstruction is the Bernoulli negative log-likelihood of the images under the logits, SUMMED over pixels; the KL is −½ Σ (1 + log σ² − μ² − σ²), SUMMED over latents",
                "add the two per image (β on the KL only), then average over the batch",
            ),
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
        hint=(
            "MIG rewards a factor that lives in one latent: the best latent should know much more than the runner-up",
            "for each factor (column), take the largest and the SECOND largest mutual information over the latents",
            "divide their difference by that factor's entropy, then average over the factors",
        ),
    )
