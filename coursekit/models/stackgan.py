"""StackGAN: text to image in two stages, with conditioning augmentation.

Zhang, Xu, Li, Zhang, Wang, Huang and Metaxas, *StackGAN: Text to Photo-realistic Image Synthesis
with Stacked Generative Adversarial Networks*, ICCV 2017. Authors' code:
https://github.com/hanzhanggit/StackGAN-Pytorch (``code/model.py``: ``CA_NET``, ``STAGE1_G``,
``STAGE1_D``, ``STAGE2_G``, ``STAGE2_D``, ``D_GET_LOGITS``; ``code/miscc/utils.py``: ``KL_loss``,
``compute_discriminator_loss``).

* **Conditioning augmentation** (§3.2): the sentence embedding φ_t gives a mean μ and a log
  variance; the generator is conditioned on ``c ~ N(μ, Σ)`` (reparameterised), and the KL
  divergence ``D_KL(N(μ, Σ) || N(0, I))`` is added to its loss
  (``coursekit.losses.kl_divergence(mu, logvar, reduction="mean")``, the mean as in ``KL_loss``). A few captions become a smooth
  cloud of conditions (:class:`ConditioningAugmentation`).
* **Stage I** (§3.3): noise z and c → a low-resolution image (:class:`StageIGenerator`).
* **Stage II** (§3.4): the stage-I image is encoded, joined with the text condition *again*,
  refined by residual blocks and upsampled (:class:`StageIIGenerator`).
* **Matching-aware discriminators** (Reed et al. 2016, used in §3.3): the discriminator sees the
  compressed text and the image, and a real image with the *wrong* caption counts as fake
  (:class:`ConditionalDiscriminator`, :func:`matching_aware_d_loss`).

Reference configuration (the authors' birds/flowers config): sentence embedding 1024-d
(char-CNN-RNN), condition 128-d, z 100-d, stage I 64×64 with ``ngf = 8·128`` at 4×4 and
``ndf = 64``, stage II 256×256 (stage-I image encoded down to 16×16, 4 residual blocks).
Teaching sizes: 16×16 → 32×32 sprites, a 64-d bag-of-words embedding
(:class:`coursekit.models.text_encoder.TextEncoder`), narrower networks, and stage II downsampling the
stage-I image once (``n_down=1``) instead of twice.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "ConditionalDiscriminator",
    "ConditioningAugmentation",
    "StageIGenerator",
    "StageIIGenerator",
    "matching_aware_d_loss",
]


def matching_aware_d_loss(
    real_logits: torch.Tensor, wrong_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    """The StackGAN discriminator loss: real+right text → 1; real+wrong text and fake → 0.

    ``BCE(real, 1) + ½ (BCE(wrong, 0) + BCE(fake, 0))`` as in ``compute_discriminator_loss``.
    """
    bce = F.binary_cross_entropy_with_logits
    real = bce(real_logits, torch.ones_like(real_logits))
    wrong = bce(wrong_logits, torch.zeros_like(wrong_logits))
    fake = bce(fake_logits, torch.zeros_like(fake_logits))
    return real + 0.5 * (wrong + fake)


class ConditioningAugmentation(nn.Module):
    """φ_t (B, embed_dim) → ``(c, μ, log σ²)``, each (B, cond_dim); ``c = μ + σ·ε``, ε ~ N(0, I).

    As ``CA_NET``: a linear layer then a gated linear unit give μ and log σ². ``enabled=False``
    (the ablation) returns ``c = μ`` with the same layers, so only the sampling and KL differ.
    """

    def __init__(self, embed_dim: int = 1024, cond_dim: int = 128, enabled: bool = True):
        super().__init__()
        self.cond_dim, self.enabled = cond_dim, enabled
        self.fc = nn.Linear(embed_dim, cond_dim * 4)  # GLU halves it to 2·cond_dim: μ and log σ²

    def forward(self, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = F.glu(self.fc(embedding), dim=1)  # (B, 2·cond_dim)
        mu, logvar = h[:, : self.cond_dim], h[:, self.cond_dim :]
        if not self.enabled:
            return mu, mu, logvar
        c = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterisation trick
        return c, mu, logvar


def _up_block(cin: int, cout: int) -> nn.Sequential:
    """Nearest ×2, conv 3×3, batch norm, ReLU (``upBlock``)."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True),
    )  # fmt: skip


class _ResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


def _log2_steps(size: int, start: int, what: str) -> int:
    n = math.log2(size / start) if size > 0 else -1
    if n < 1 or n != int(n):
        raise ValueError(
            f"{what} must be {start} times a power of two (e.g. {start * 4}, {start * 16}), got {size}"
        )
    return int(n)


class StageIGenerator(nn.Module):
    """``(z (B, z_dim), embedding (B, embed_dim)) → (image (B, C, S, S) in [-1, 1], μ, log σ²)``.

    [z, c] → linear to ``ngf``×4×4, then ``log2(S/4)`` up blocks halving the channels, conv 3×3, tanh.
    """

    def __init__(
        self,
        embed_dim: int = 1024,
        cond_dim: int = 128,
        z_dim: int = 100,
        ngf: int = 1024,
        image_size: int = 64,
        out_channels: int = 3,
        augment: bool = True,
    ):
        super().__init__()
        self.z_dim, self.image_size = z_dim, image_size
        n_up = _log2_steps(image_size, 4, "image_size")
        self.ca = ConditioningAugmentation(embed_dim, cond_dim, augment)
        self.fc = nn.Sequential(
            nn.Linear(z_dim + cond_dim, ngf * 16, bias=False), nn.BatchNorm1d(ngf * 16), nn.ReLU(True)
        )
        self.ngf = ngf
        self.up = nn.Sequential(*[_up_block(ngf // 2**i, ngf // 2 ** (i + 1)) for i in range(n_up)])
        self.to_image = nn.Sequential(nn.Conv2d(ngf // 2**n_up, out_channels, 3, padding=1), nn.Tanh())

    def forward(
        self, z: torch.Tensor, embedding: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"expected z of shape (B, {self.z_dim}), got {tuple(z.shape)}")
        c, mu, logvar = self.ca(embedding)  # (B, cond_dim)
        h = self.fc(torch.cat([z, c], dim=1)).reshape(len(z), self.ngf, 4, 4)  # (B, ngf, 4, 4)
        return self.to_image(self.up(h)), mu, logvar  # (B, C, S, S)


class StageIIGenerator(nn.Module):
    """``(stage-I image (B, C, s, s), embedding) → (image (B, C, S, S), μ, log σ²)`` with ``S = scale·s``.

    Encoder: conv 3×3 then ``n_down`` stride-2 convs (to ``s / 2**n_down``); join with the
    spatially replicated condition (its own conditioning augmentation, as in the code); conv 3×3;
    ``n_res`` residual blocks; up blocks to S; conv 3×3, tanh.

    ``refine_input=True`` is a deviation for short trainings: the output is the bilinearly
    upsampled stage-I image plus a learned correction (zero at initialisation, clamped to
    [-1, 1]), so stage II starts from stage I's result instead of having to learn to copy it
    (the paper trains stage II for 600 epochs).
    """

    def __init__(
        self,
        embed_dim: int = 1024,
        cond_dim: int = 128,
        ngf: int = 128,
        in_size: int = 64,
        out_size: int = 256,
        n_down: int = 2,
        n_res: int = 4,
        channels: int = 3,
        augment: bool = True,
        refine_input: bool = False,
    ):
        super().__init__()
        self.in_size, self.out_size, self.refine_input = in_size, out_size, refine_input
        scale = _log2_steps(out_size, in_size, "out_size")  # doublings from stage I to stage II
        self.ca = ConditioningAugmentation(embed_dim, cond_dim, augment)
        enc: list[nn.Module] = [nn.Conv2d(channels, ngf, 3, padding=1), nn.ReLU(True)]
        ch = ngf
        for _ in range(n_down):
            enc += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.ReLU(True)]
            ch *= 2
        self.encoder = nn.Sequential(*enc)  # (B, ngf·2**n_down, s/2**n_down, same)
        self.joint = nn.Sequential(
            nn.Conv2d(ch + cond_dim, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)
        )
        self.residual = nn.Sequential(*[_ResBlock(ch) for _ in range(n_res)])
        ups = []
        for _ in range(n_down + scale):
            ups.append(_up_block(ch, max(ch // 2, 8)))
            ch = max(ch // 2, 8)
        self.up = nn.Sequential(*ups)
        if refine_input:  # a correction to the upsampled stage-I image, zero at the start
            self.to_image = nn.Conv2d(ch, channels, 3, padding=1)
            nn.init.zeros_(self.to_image.weight)
            nn.init.zeros_(self.to_image.bias)
        else:
            self.to_image = nn.Sequential(nn.Conv2d(ch, channels, 3, padding=1), nn.Tanh())

    def forward(
        self, image: torch.Tensor, embedding: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if image.dim() != 4 or image.shape[-1] != self.in_size or image.shape[-2] != self.in_size:
            raise ValueError(
                f"expected stage-I images (B, C, {self.in_size}, {self.in_size}), got {tuple(image.shape)}"
            )
        c, mu, logvar = self.ca(embedding)
        h = self.encoder(image)  # (B, ch, s', s')
        c_map = c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])  # (B, cond_dim, s', s')
        h = self.residual(self.joint(torch.cat([h, c_map], dim=1)))
        out = self.to_image(self.up(h))  # (B, C, S, S)
        if self.refine_input:
            base = F.interpolate(
                image, size=(self.out_size, self.out_size), mode="bilinear", align_corners=False
            )
            out = torch.clamp(base + out, -1.0, 1.0)
        return out, mu, logvar


class ConditionalDiscriminator(nn.Module):
    """``(image (B, C, S, S), condition (B, cond_dim)) → (B,)`` logits: is this a real image *for this text*?

    Stride-2 convs 4×4 down to 4×4 (channels ``ndf``, ``2·ndf``, … capped at ``8·ndf``; no batch
    norm on the first), then the condition compressed to ``cond_dim`` is replicated over the 4×4
    map and joined (``D_GET_LOGITS``): conv 3×3, conv 4×4 → one logit. The condition is the
    generator's μ, detached, as in the authors' training code.
    """

    def __init__(self, cond_dim: int = 128, ndf: int = 64, image_size: int = 64, in_channels: int = 3):
        super().__init__()
        self.image_size = image_size
        n = _log2_steps(image_size, 4, "image_size")
        layers: list[nn.Module] = []
        ch_in, ch = in_channels, ndf
        for i in range(n):
            layers.append(nn.Conv2d(ch_in, ch, 4, 2, 1, bias=False))
            if i > 0:
                layers.append(nn.BatchNorm2d(ch))
            layers.append(nn.LeakyReLU(0.2, True))
            ch_in, ch = ch, min(ch * 2, ndf * 8)
        self.encode = nn.Sequential(*layers)  # (B, ch_in, 4, 4)
        self.logits = nn.Sequential(
            nn.Conv2d(ch_in + cond_dim, ch_in, 3, padding=1, bias=False), nn.BatchNorm2d(ch_in), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ch_in, 1, 4, stride=4),
        )  # fmt: skip

    def forward(self, image: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        if image.dim() != 4 or image.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(
                f"expected images (B, C, {self.image_size}, {self.image_size}), got {tuple(image.shape)}"
            )
        h = self.encode(image)  # (B, ch, 4, 4)
        c_map = condition[:, :, None, None].expand(-1, -1, 4, 4)
        return self.logits(torch.cat([h, c_map], dim=1)).flatten()  # (B,)
