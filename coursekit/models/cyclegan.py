"""CycleGAN: unpaired image-to-image translation with two GANs and cycle consistency.

Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", ICCV 2017. Reference code: junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py``
(``ResnetGenerator``, ``ResnetBlock``, ``NLayerDiscriminator``), ``models/cycle_gan_model.py`` (the
objective) and ``util/image_pool.py`` (the history of fakes). Defaults are the authors' configuration:
``resnet_9blocks`` (ngf 64, instance norm without affine parameters, reflection padding, no dropout),
the ``basic`` 70×70 PatchGAN with instance norm (3 input channels: D sees one domain only), LSGAN
loss, λ_cycle = 10, identity weight 0.5 (× λ_cycle), a pool of 50 past fakes.

Objective (eq. 3): L = L_GAN(G, D_Y) + L_GAN(F, D_X) + λ (E|F(G(x)) - x|_1 + E|G(F(y)) - y|_1),
plus the optional identity loss λ·λ_id (E|G(y) - y|_1 + E|F(x) - x|_1) (§5.2, "photo → painting").

Deviation: ``n_blocks`` and ``ngf`` shrink the generator for teaching sizes (the paper uses 6 blocks
for 128×128 and 9 for 256×256). Discriminators return logits.
"""

from __future__ import annotations

import random

import torch
from torch import nn

from ..losses import d_loss, g_loss, l1
from ..nn.init import init_weights
from .pix2pix import PatchDiscriminator as _PatchDiscriminator

__all__ = [
    "ImagePool",
    "PatchDiscriminator",
    "ResnetBlock",
    "ResnetGenerator",
    "cycle_loss",
    "discriminator_loss",
    "generator_loss",
    "instance_norm",
]


def instance_norm(channels: int) -> nn.InstanceNorm2d:
    """The authors' ``norm='instance'``: no affine parameters, no running statistics."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class PatchDiscriminator(_PatchDiscriminator):
    """The 70×70 PatchGAN of :mod:`.pix2pix` in CycleGAN's configuration: one domain's image
    (3 channels, not a pair) and instance norm. (B, in_channels, H, W) -> logits (B, 1, H', W')."""

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3, norm_layer=instance_norm):
        super().__init__(in_channels, ndf, n_layers, norm_layer)


class ResnetBlock(nn.Module):
    """x (B, C, H, W) -> x + [pad, conv3, norm, ReLU, pad, conv3, norm](x) (same shape)."""

    def __init__(self, channels: int, norm_layer=instance_norm, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            norm_layer(channels),
            nn.ReLU(True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm_layer(channels)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """image (B, in_channels, H, W) -> image (B, out_channels, H, W) in [-1, 1].

    c7s1-64, d128, d256, R256 × n_blocks, u128, u64, c7s1-3 (paper appendix 7.2; Johnson et al.'s
    style-transfer network): H and W must be multiples of 4.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 64,
        n_blocks: int = 9,
        norm_layer=instance_norm,
        dropout: float = 0.0,
    ):
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be ≥ 0, got {n_blocks}")
        self.in_channels, self.out_channels = in_channels, out_channels
        # conv biases: kept, as instance norm without affine parameters has no shift of its own
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7),
            norm_layer(ngf),
            nn.ReLU(True),
        ]  # (B, ngf, H, W)
        ch = ngf
        for _ in range(2):  # (B, 4·ngf, H/4, W/4) after both
            layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1), norm_layer(ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [ResnetBlock(ch, norm_layer, dropout) for _ in range(n_blocks)]
        for _ in range(2):  # back to (B, ngf, H, W)
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1),
                norm_layer(ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(
                f"expected images (B, {self.in_channels}, H, W) with H and W multiples of 4, got {tuple(x.shape)}"
            )
        return self.model(x)


class ImagePool:
    """A history of generated images (Shrivastava et al., CVPR 2017; CycleGAN §4).

    ``query(fakes)`` returns a batch of the same size for the discriminator: while the pool is not
    full each fake is stored and returned; afterwards each fake is, with probability 1/2, swapped
    with a random stored one (which is returned) or returned itself. D then sees older fakes too,
    which damps oscillation. ``size=0`` returns the fakes unchanged.
    """

    def __init__(self, size: int = 50, seed: int | None = None):
        if size < 0:
            raise ValueError(f"pool size must be ≥ 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []
        # seed=None: drawn from Python's global generator, which coursekit.start seeds, so a run
        # repeats (never from OS entropy); two pools still get different streams
        self._rng = random.Random(seed if seed is not None else random.getrandbits(64))

    def __len__(self) -> int:
        return len(self.images)

    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        out = []
        for img in fakes.detach():
            img = img.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif self._rng.random() < 0.5:
                i = self._rng.randrange(self.size)
                out.append(self.images[i].clone())
                self.images[i] = img.clone()
            else:
                out.append(img)
        return torch.cat(out, 0)


def cycle_loss(x: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """Cycle-consistency loss for one direction (eq. 2): E[|F(G(x)) - x|_1]."""
    return l1(reconstructed, x)


def generator_loss(
    g_ab: nn.Module,
    g_ba: nn.Module,
    d_a: nn.Module,
    d_b: nn.Module,
    real_a: torch.Tensor,
    real_b: torch.Tensor,
    lambda_cycle: float = 10.0,
    lambda_identity: float = 0.5,
    kind: str = "lsgan",
) -> dict[str, torch.Tensor]:
    """Both generators' objective (eq. 3 + identity): returns ``loss`` and its terms, plus the fakes.

    ``g_ab``: A → B (G), ``g_ba``: B → A (F); ``d_b`` judges domain B, ``d_a`` domain A. With
    ``lambda_cycle=0`` the cycle terms vanish: the experiment of "what goes wrong without it".
    """
    fake_b, fake_a = g_ab(real_a), g_ba(real_b)
    rec_a, rec_b = g_ba(fake_b), g_ab(fake_a)
    gan_ab, gan_ba = g_loss(d_b(fake_b), kind), g_loss(d_a(fake_a), kind)
    cyc_a, cyc_b = cycle_loss(real_a, rec_a), cycle_loss(real_b, rec_b)
    loss = gan_ab + gan_ba + lambda_cycle * (cyc_a + cyc_b)
    out = {"gan_ab": gan_ab, "gan_ba": gan_ba, "cycle_a": cyc_a, "cycle_b": cyc_b}
    if lambda_identity > 0 and g_ab.in_channels == g_ab.out_channels:
        idt_b, idt_a = l1(g_ab(real_b), real_b), l1(g_ba(real_a), real_a)
        loss = loss + lambda_cycle * lambda_identity * (idt_a + idt_b)
        out.update(identity_a=idt_a, identity_b=idt_b)
    out.update(loss=loss, fake_a=fake_a, fake_b=fake_b, rec_a=rec_a, rec_b=rec_b)
    return out


def discriminator_loss(
    d: nn.Module, real: torch.Tensor, fake: torch.Tensor, kind: str = "lsgan"
) -> torch.Tensor:
    """One discriminator's loss, halved as in the authors' code: 1/2 (L(D(real), 1) + L(D(fake), 0)).

    Pass fakes from the :class:`ImagePool`; they are detached here.
    """
    return 0.5 * d_loss(d(real), d(fake.detach()), kind)
