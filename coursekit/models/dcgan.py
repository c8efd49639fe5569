"""DCGAN: the all-convolutional generator and discriminator that made GAN training routine.

Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional Generative
Adversarial Networks", ICLR 2016. Reference code: pytorch/examples ``dcgan/main.py`` (the
configuration reproduced here: ``nz=100, ngf=64, ndf=64``, 64×64 images, weights N(0, 0.02),
batch-norm weights N(1, 0.02), Adam lr 2e-4, β1 = 0.5).

The paper's recipe (§3): strided convolutions instead of pooling, batch norm in both networks (not
on G's output nor D's input), no fully connected hidden layers, ReLU in G with Tanh on the output,
LeakyReLU(0.2) in D.

Deviations: the discriminator returns a *logit* (no final sigmoid) so that the losses in
:mod:`coursekit.losses` can use the numerically stable log-sigmoid forms; ``image_size`` picks the
number of up/down-sampling stages (64 → the reference; 32 → one stage fewer, for teaching sizes).
Images are in [-1, 1] (Tanh), as in the reference.
"""

from __future__ import annotations

import torch
from torch import nn

from ..nn.init import init_weights

__all__ = [
    "AdversarialStep",
    "Discriminator",
    "Discriminator32",
    "Generator",
    "Generator32",
    "adversarial_step",
    "optimizers",
    "sample_noise",
    "train_step",
]


def _stages(image_size: int) -> int:
    if image_size < 16 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two ≥ 16 (32 or 64 are typical), got {image_size}")
    return image_size.bit_length() - 1 - 2  # log2(S) - 2 resolution doublings from 4×4


class Generator(nn.Module):
    """z (B, nz) or (B, nz, 1, 1) -> image (B, nc, S, S) in [-1, 1].

    Reference (S = 64): ConvT(nz→8·ngf, 4, 1, 0) to 4×4, then ConvT(4, 2, 1) stages 8·ngf → 4·ngf →
    2·ngf → ngf (8, 16, 32) and ngf → nc (64), batch norm + ReLU between, Tanh at the end.
    S = 32 drops the widest stage (starts at 4·ngf).
    """

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3, image_size: int = 64):
        super().__init__()
        self.nz, self.nc, self.image_size = nz, nc, image_size
        n = _stages(image_size)  # 4 for 64×64
        ch = ngf * 2 ** (n - 1)  # 8·ngf for 64×64
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(True),  # (B, ch, 4, 4)
        ]
        for _ in range(n - 1):  # each stage doubles H and W, halves the channels
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, nc, 4, 2, 1, bias=False), nn.Tanh()]  # (B, nc, S, S)
        self.main = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:
            z = z[:, :, None, None]  # (B, nz) -> (B, nz, 1, 1)
        if z.dim() != 4 or z.shape[1] != self.nz or z.shape[2:] != (1, 1):
            raise ValueError(f"expected noise (B, {self.nz}) or (B, {self.nz}, 1, 1), got {tuple(z.shape)}")
        return self.main(z)


class Discriminator(nn.Module):
    """image (B, nc, S, S) -> one logit per image (B,).

    Reference (S = 64): Conv(4, 2, 1) stages nc → ndf (no batch norm on the input layer) → 2·ndf →
    4·ndf → 8·ndf (32, 16, 8, 4), LeakyReLU(0.2), then Conv(8·ndf → 1, 4, 1, 0) to 1×1.
    """

    def __init__(self, nc: int = 3, ndf: int = 64, image_size: int = 64):
        super().__init__()
        self.nc, self.image_size = nc, image_size
        n = _stages(image_size)
        layers: list[nn.Module] = [
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, True),
        ]  # (B, ndf, S/2, S/2)
        ch = ndf
        for _ in range(n - 1):
            layers += [
                nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch * 2),
                nn.LeakyReLU(0.2, True),
            ]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False)]  # (B, 1, 1, 1); the reference adds a Sigmoid here
        self.main = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.nc, self.image_size)
        return self.main(x).flatten()  # (B,)


class Generator32(Generator):
    """The 32×32 variant: ``Generator(..., image_size=32)`` (starts at 4·ngf; one stage fewer)."""

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3):
        super().__init__(nz, ngf, nc, image_size=32)


class Discriminator32(Discriminator):
    """The 32×32 variant: ``Discriminator(..., image_size=32)`` (ends at 4·ndf; one stage fewer)."""

    def __init__(self, nc: int = 3, ndf: int = 64):
        super().__init__(nc, ndf, image_size=32)


def check_images(x: torch.Tensor, nc: int, image_size: int) -> None:
    """A discriminator's input check: (B, nc, image_size, image_size), or a clear error."""
    if x.dim() != 4 or x.shape[1] != nc or x.shape[2:] != (image_size, image_size):
        raise ValueError(
            f"expected images (B, {nc}, {image_size}, {image_size}), got {tuple(x.shape)}; "
            "resize them or build the Discriminator with a matching image_size"
        )


def sample_noise(
    batch_size: int,
    nz: int = 100,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """z ~ N(0, I), shape (B, nz) (the reference samples N(0, 1); the paper used U[-1, 1])."""
    return torch.randn(batch_size, nz, device=device, generator=generator)


def optimizers(
    generator: nn.Module,
    discriminator: nn.Module,
    lr: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    *,
    lr_d: float | None = None,
) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """The DCGAN optimisers: Adam(lr 2e-4, β1 0.5) for each player (paper §4).

    ``lr_d`` gives the discriminator its own rate (default: the same ``lr``).
    """
    return (
        torch.optim.Adam(generator.parameters(), lr=lr, betas=betas),
        torch.optim.Adam(discriminator.parameters(), lr=lr if lr_d is None else lr_d, betas=betas),
    )


class AdversarialStep:
    """One unconditional GAN step as :func:`coursekit.train.fit_gan` runs it (D, then G).

    ``sample`` draws z ~ N(0, I) (B, nz) for a real batch (B, C, S, S) in [-1, 1] and returns
    ``G(z)``; ``d_loss`` is D's loss on the real batch against the (detached) fakes; ``g_loss`` is
    G's loss on D's verdict on the fakes. ``kind`` picks the losses of :mod:`coursekit.losses`:
    ``"nonsaturating"`` (DCGAN), ``"hinge"`` (SAGAN, Zhang et al. 2019 §4), ...
    """

    def __init__(self, kind: str = "nonsaturating"):
        self.kind = kind

    def sample(self, generator: nn.Module, real: torch.Tensor) -> torch.Tensor:
        z = torch.randn(real.shape[0], generator.nz, device=real.device)  # (B, nz)
        return generator(z)  # (B, C, S, S)

    def d_loss(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        from ..losses import d_loss

        return d_loss(discriminator(real), discriminator(fake), kind=self.kind)

    def g_loss(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        from ..losses import g_loss

        return g_loss(discriminator(fake), kind=self.kind)

    def __repr__(self) -> str:
        return f"AdversarialStep({self.kind!r})"


def adversarial_step(kind: str = "nonsaturating") -> AdversarialStep:
    """The single step :func:`coursekit.train.fit_gan` alternates, with the losses named by ``kind``."""
    return AdversarialStep(kind)


def train_step(
    generator: nn.Module,
    discriminator: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: torch.Tensor,
    kind: str = "nonsaturating",
) -> dict[str, float]:
    """One alternating update (the reference's order): D on real vs detached fakes, then G.

    ``real`` (B, nc, S, S) in [-1, 1]. Returns the losses and D's mean outputs as probabilities:
    ``d_real`` = D(x), ``d_fake`` = D(G(z)) (both → 1/2 at the game's equilibrium).
    """
    from ..losses import d_loss, g_loss

    z = torch.randn(real.shape[0], generator.nz, device=real.device)
    fake = generator(z)
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    loss_d = d_loss(real_logits, fake_logits, kind)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    fake_logits = discriminator(fake)  # D just changed: judge the same fakes again for G's step
    loss_g = g_loss(fake_logits, kind)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {
        "loss_d": loss_d.item(),
        "loss_g": loss_g.item(),
        "d_real": torch.sigmoid(real_logits.detach()).mean().item(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean().item(),
    }
