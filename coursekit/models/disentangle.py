"""Disentangled codes: the β-VAE, and specified vs unspecified factors by adversarial training.

* Kingma and Welling, *Auto-Encoding Variational Bayes*, ICLR 2014 (the VAE), and Higgins,
  Matthey, Pal, Burgess, Glorot, Botvinick, Mohamed and Lerchner, *β-VAE: Learning Basic Visual
  Concepts with a Constrained Variational Framework*, ICLR 2017 (reference code:
  https://github.com/deepmind/disentanglement_lib, ``methods/unsupervised/vae.py``;
  architecture: ``methods/shared/architectures.py``, ``conv_encoder``/``deconv_decoder``).
  Loss (β-VAE Eq. 4): ``E_q[-log p(x|z)] + β·D_KL(q(z|x) || N(0, I))``, β > 1 presses each
  latent to carry one independent factor. ``variational=False`` gives the plain autoencoder with
  the same layers (the entangled baseline).
* Mathieu, Zhao, Sprechmann, Ramesh and LeCun, *Disentangling factors of variation in deep
  representations using adversarial training*, NeurIPS 2016 (authors' code (Torch7):
  https://github.com/MichaelMathieu/factors-variation). The code splits into ``s``, the
  *specified* factor known from labels (here: the shape), and ``z``, everything else. Two images
  of the same class must reconstruct each other after swapping their ``s``; an image decoded from
  ``(s of x₂, z of x₁)`` must, paired with a real image of x₂'s class, fool a discriminator of
  same-class pairs, so that ``z`` cannot smuggle the class in (:func:`mathieu_losses`).

Reference configuration (Higgins et al. / disentanglement_lib, 64×64): encoder conv 4×4 stride 2
with 32, 32, 64, 64 channels, dense 256, 10 latents; decoder the mirror; Bernoulli likelihood
(the decoder outputs logits); β = 4 for dSprites. 32×32 images use the first three convolutions.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..losses import kl_divergence

__all__ = [
    "BetaVAE",
    "PairDiscriminator",
    "SpecifiedUnspecifiedAE",
    "beta_vae_loss",
    "mathieu_losses",
    "pairs_by_factor",
]


def beta_vae_loss(
    recon_logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, beta: float = 4.0
) -> dict[str, torch.Tensor]:
    """β-VAE loss per image: Bernoulli reconstruction summed over pixels + β·KL summed over latents.

    Returns ``{"loss", "recon", "kl"}`` (each averaged over the batch). ``beta=0`` is a plain
    (regularisation-free) autoencoder's loss; ``beta=1`` the VAE's negative ELBO.
    """
    if recon_logits.shape != x.shape:
        raise ValueError(
            f"recon_logits {tuple(recon_logits.shape)} and x {tuple(x.shape)} must have the same shape"
        )
    b = len(x)
    recon = F.binary_cross_entropy_with_logits(recon_logits, x, reduction="sum") / b
    kl = kl_divergence(mu, logvar, reduction="batchmean")  # summed over latents, mean over B
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


def _n_convs(image_size: int) -> int:
    n = math.log2(image_size / 4) if image_size > 0 else 0
    if n < 1 or n != int(n):
        raise ValueError(f"image_size must be 4 times a power of two (32, 64, …), got {image_size}")
    return int(n)


def _conv_encoder(in_channels: int, channels: tuple[int, ...], image_size: int, hidden: int) -> nn.Sequential:
    n = _n_convs(image_size)
    chs = list(channels)[:n] + [channels[-1]] * max(0, n - len(channels))
    layers: list[nn.Module] = []
    c = in_channels
    for co in chs:
        layers += [nn.Conv2d(c, co, 4, 2, 1), nn.ReLU(True)]  # halves H and W
        c = co
    layers += [nn.Flatten(), nn.Linear(c * 16, hidden), nn.ReLU(True)]  # (B, hidden)
    return nn.Sequential(*layers)


class _ConvDecoder(nn.Module):
    def __init__(
        self, latent_dim: int, out_channels: int, channels: tuple[int, ...], image_size: int, hidden: int
    ):
        super().__init__()
        n = _n_convs(image_size)
        chs = (list(channels)[:n] + [channels[-1]] * max(0, n - len(channels)))[::-1]  # mirror
        self.c0 = chs[0]
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(True), nn.Linear(hidden, chs[0] * 16), nn.ReLU(True)
        )
        layers: list[nn.Module] = []
        for i, c in enumerate(chs):
            co = chs[i + 1] if i + 1 < len(chs) else out_channels
            layers.append(nn.ConvTranspose2d(c, co, 4, 2, 1))  # doubles H and W
            if i + 1 < len(chs):
                layers.append(nn.ReLU(True))
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.fc(z).reshape(len(z), self.c0, 4, 4))  # (B, C, S, S) logits


class BetaVAE(nn.Module):
    """``x (B, C, S, S) in [0, 1] → (recon_logits (B, C, S, S), μ (B, latent_dim), log σ² (B, latent_dim))``.

    ``variational=False``: a plain autoencoder (z = μ, log σ² = 0, nothing sampled).
    """

    def __init__(
        self,
        latent_dim: int = 10,
        in_channels: int = 1,
        image_size: int = 64,
        channels: tuple[int, ...] = (32, 32, 64, 64),
        hidden: int = 256,
        variational: bool = True,
    ):
        super().__init__()
        self.latent_dim, self.variational, self.image_size = latent_dim, variational, image_size
        self.encoder = _conv_encoder(in_channels, channels, image_size, hidden)
        self.to_stats = nn.Linear(hidden, 2 * latent_dim)  # μ and log σ²
        self.decoder = _ConvDecoder(latent_dim, in_channels, channels, image_size, hidden)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 4 or x.shape[-1] != self.image_size:
            raise ValueError(
                f"expected images (B, C, {self.image_size}, {self.image_size}), got {tuple(x.shape)}"
            )
        mu, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        if not self.variational:
            logvar = torch.zeros_like(mu)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, latent_dim) → (B, C, S, S)`` logits; ``torch.sigmoid`` gives the image."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.variational and self.training else mu
        return self.decode(z), mu, logvar


class SpecifiedUnspecifiedAE(nn.Module):
    """Mathieu et al.'s autoencoder: ``x → (s, z)``, ``(s, z) → x``.

    ``s`` (B, s_dim) is deterministic; ``z`` (B, z_dim) is variational (μ, log σ², sampled while
    training), as in the paper's VAE variant. ``forward`` returns ``(s, z, μ_z, log σ²_z)``.
    """

    def __init__(
        self,
        s_dim: int = 16,
        z_dim: int = 16,
        in_channels: int = 1,
        image_size: int = 64,
        channels: tuple[int, ...] = (32, 32, 64, 64),
        hidden: int = 256,
    ):
        super().__init__()
        self.s_dim, self.z_dim, self.image_size = s_dim, z_dim, image_size
        self.encoder = _conv_encoder(in_channels, channels, image_size, hidden)
        self.to_s = nn.Linear(hidden, s_dim)
        self.to_z = nn.Linear(hidden, 2 * z_dim)
        self.decoder = _ConvDecoder(s_dim + z_dim, in_channels, channels, image_size, hidden)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        if x.dim() != 4 or x.shape[-1] != self.image_size:
            raise ValueError(
                f"expected images (B, C, {self.image_size}, {self.image_size}), got {tuple(x.shape)}"
            )
        h = self.encoder(x)
        mu, logvar = self.to_z(h).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        return self.to_s(h), z, mu, logvar

    def decode(self, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``(s (B, s_dim), z (B, z_dim)) → (B, C, S, S)`` logits."""
        return self.decoder(torch.cat([s, z], dim=1))


class PairDiscriminator(nn.Module):
    """``(x, x') → (B,)`` logits: are these two *real* images of the same class?

    The two images are stacked on the channel axis; a small strided conv net follows.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 64,
        channels: tuple[int, ...] = (32, 32, 64, 64),
        hidden: int = 256,
    ):
        super().__init__()
        self.body = _conv_encoder(2 * in_channels, channels, image_size, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        if x.shape != other.shape:
            raise ValueError(
                f"both images of a pair must have the same shape, got {tuple(x.shape)} and {tuple(other.shape)}"
            )
        return self.head(self.body(torch.cat([x, other], dim=1))).flatten()


def pairs_by_factor(
    labels: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each sample i: the index of another sample with the same label, and one with a different label.

    ``labels`` (N,) long with at least two classes; returns two (N,) long tensors.
    """
    if labels.dim() != 1:
        raise ValueError(f"labels must be (N,), got {tuple(labels.shape)}")
    classes = labels.unique()
    if len(classes) < 2:
        raise ValueError("pairs_by_factor needs at least two classes in labels")
    n = len(labels)
    same = torch.empty(n, dtype=torch.long, device=labels.device)
    other = torch.empty(n, dtype=torch.long, device=labels.device)
    members = {int(c): (labels == c).nonzero().flatten() for c in classes}
    not_members = {int(c): (labels != c).nonzero().flatten() for c in classes}
    for c, idx in members.items():
        same[idx] = idx[torch.randint(len(idx), (len(idx),), generator=generator)]
        pool = not_members[c]
        other[idx] = pool[torch.randint(len(pool), (len(idx),), generator=generator)]
    return same, other


def mathieu_losses(
    model: SpecifiedUnspecifiedAE,
    disc: PairDiscriminator,
    x1: torch.Tensor,
    x1_same: torch.Tensor,
    x2: torch.Tensor,
    x2_same: torch.Tensor,
    kl_weight: float = 1.0,
    adv_weight: float = 10.0,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The generator-side losses and the discriminator loss of one step (images in [0, 1]).

    ``x1_same`` has x1's class, ``x2`` another class, ``x2_same`` x2's class.

    * reconstruction of x1 from ``(s(x1), z(x1))`` and from ``(s(x1_same), z(x1))`` (the swap);
    * KL of z's posterior to N(0, I);
    * adversarial: ``x̃ = dec(s(x2), z(x1))`` paired with ``x2_same`` should look like a real
      same-class pair; the discriminator learns real pairs ``(x2, x2_same)`` → 1, ``(x̃, x2_same)`` → 0.

    Returns ``({"loss", "recon", "swap", "kl", "adv"}, d_loss)``; ``d_loss`` uses a detached x̃.
    The reconstruction terms are summed over pixels (hundreds of nats per image) while the
    adversarial term is one cross-entropy per pair, hence ``adv_weight`` of 10 rather than 1.
    """
    b = len(x1)
    bce = F.binary_cross_entropy_with_logits
    s1, z1, mu1, logvar1 = model(x1)
    s1_same = model(x1_same)[0]
    s2 = model(x2)[0]
    recon = bce(model.decode(s1, z1), x1, reduction="sum") / b
    swap = bce(model.decode(s1_same, z1), x1, reduction="sum") / b
    kl = kl_divergence(mu1, logvar1, reduction="batchmean")
    mixed = torch.sigmoid(model.decode(s2, z1))  # x2's class, x1's everything else
    fake_logits = disc(mixed, x2_same)
    adv = bce(fake_logits, torch.ones_like(fake_logits))
    g = {"recon": recon, "swap": swap, "kl": kl, "adv": adv}
    g["loss"] = recon + swap + kl_weight * kl + adv_weight * adv
    real_logits = disc(x2, x2_same)
    fake_d = disc(mixed.detach(), x2_same)
    d_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(fake_d, torch.zeros_like(fake_d))
    return g, d_loss
