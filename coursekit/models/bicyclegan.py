"""BicycleGAN: one input, many outputs, by tying the output to a latent code in both directions.

Zhu, Zhang, Pathak, Darrell, Efros, Wang & Shechtman, "Toward Multimodal Image-to-Image
Translation", NeurIPS 2017. Reference code: junyanz/BicycleGAN ``models/networks.py``
(``G_Unet_add_all``, ``UnetBlock_with_z``, ``E_ResNet``, ``D_NLayersMulti``) and
``models/bicycle_gan_model.py``. Defaults are the authors' configuration: nz = 8; generator
``unet_256`` with z added to every encoder level (``where_add='all'``), ngf 64, instance norm, ReLU
decoder, no dropout; encoder ``resnet_256`` (5 residual stages, nef 64, LeakyReLU, VAE-like: μ and
log σ²); two discriminators ``basic_256_multi`` (PatchGANs at 2 scales, ndf 64, on the output
image alone); LSGAN loss; λ_L1 = 10, λ_latent = 0.5, λ_KL = 0.01.

The two cycles (paper §3, eq. 7):

- **cVAE-GAN** (B → z → B̂): encode the true output, z ~ E(B) = N(μ, σ²) by the
  reparameterisation z = μ + σ·ε; reconstruct B̂ = G(A, z): L1(B, B̂) + KL(E(B) || N(0, I)) + GAN.
- **cLR-GAN** (z → B̂ → ẑ): draw z ~ N(0, I), generate B̂ = G(A, z), encode it back:
  |μ(E(B̂)) - z|_1 (updates G only) + GAN.

Deviations: the encoder ends in global average pooling (the reference's ``AvgPool2d(8)`` is the same
for 256×256 inputs) so smaller images work; the KL is summed over the code and averaged over the
batch (the reference sums over both); both paths use the whole batch (the reference splits the
batch in halves). Networks return logits.
"""

from __future__ import annotations

import torch
from torch import nn

from ..losses import d_loss, g_loss, kl_divergence, l1
from ..nn.init import init_weights
from .cyclegan import instance_norm

__all__ = [
    "BicycleGAN",
    "Discriminator",
    "Encoder",
    "Generator",
    "MultiscaleDiscriminator",
    "pix2pix_noise_step",
    "reparameterize",
]


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = μ + σ ε with σ = exp(log σ² / 2), ε ~ N(0, I) (Kingma & Welling 2014): differentiable in μ, σ."""
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


class _UNetBlockZ(nn.Module):
    """One U-Net level that sees z: x (B, C, H, W), z (B, nz) -> cat(up(inner(down([x, z]))), x)."""

    def __init__(
        self,
        in_channels: int,
        outer: int,
        inner: int,
        nz: int,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm_layer=instance_norm,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.outermost, self.innermost, self.nz, self.submodule = outermost, innermost, nz, submodule
        down_conv = nn.Conv2d(in_channels + nz, inner, 4, 2, 1)  # z tiled over H, W and concatenated
        norm = (lambda c: [norm_layer(c)]) if norm_layer is not None else (lambda c: [])
        if outermost:
            self.down = nn.Sequential(down_conv)
            self.up = nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh())
        elif innermost:
            self.down = nn.Sequential(nn.LeakyReLU(0.2, True), down_conv)
            self.up = nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, 2, 1), *norm(outer))
        else:
            self.down = nn.Sequential(nn.LeakyReLU(0.2, True), down_conv, *norm(inner))
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), *norm(outer)]
            if dropout > 0:
                up.append(nn.Dropout(dropout))
            self.up = nn.Sequential(*up)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        xz = x
        if self.nz > 0:
            xz = torch.cat(
                [x, z[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])], 1
            )  # (B, C+nz, H, W)
        if self.innermost:
            return torch.cat([self.up(self.down(xz)), x], 1)
        y = self.up(self.submodule(self.down(xz), z))
        return y if self.outermost else torch.cat([y, x], 1)


class Generator(nn.Module):
    """G(A, z): image (B, in_channels, H, W) and code (B, nz) -> image (B, out_channels, H, W) in [-1, 1].

    The reference ``G_Unet_add_all``: a pix2pix U-Net whose every encoder level also receives z.
    H and W must be multiples of 2**num_downs.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        nz: int = 8,
        num_downs: int = 8,
        ngf: int = 64,
        norm_layer=instance_norm,
        dropout: float = 0.0,
    ):
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be ≥ 5 (8 for 256×256 images), got {num_downs}")
        self.in_channels, self.out_channels, self.nz, self.num_downs = (
            in_channels,
            out_channels,
            nz,
            num_downs,
        )
        kw = dict(nz=nz, norm_layer=norm_layer)
        block = _UNetBlockZ(ngf * 8, ngf * 8, ngf * 8, innermost=True, **kw)
        for _ in range(num_downs - 5):
            block = _UNetBlockZ(ngf * 8, ngf * 8, ngf * 8, submodule=block, dropout=dropout, **kw)
        block = _UNetBlockZ(ngf * 4, ngf * 4, ngf * 8, submodule=block, **kw)
        block = _UNetBlockZ(ngf * 2, ngf * 2, ngf * 4, submodule=block, **kw)
        block = _UNetBlockZ(ngf, ngf, ngf * 2, submodule=block, **kw)
        self.model = _UNetBlockZ(in_channels, out_channels, ngf, submodule=block, outermost=True, **kw)
        init_weights(self)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        m = 2**self.num_downs
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[2] % m or x.shape[3] % m:
            raise ValueError(
                f"expected images (B, {self.in_channels}, H, W) with H, W multiples of {m}, got {tuple(x.shape)}"
            )
        if z.shape != (x.shape[0], self.nz):
            raise ValueError(f"expected a code z of shape ({x.shape[0]}, {self.nz}), got {tuple(z.shape)}")
        return self.model(x, z)


class _ResBlockDown(nn.Module):
    """The reference ``BasicBlock``: [norm, act, conv3, norm, act, conv3, avgpool2] + [avgpool2, conv1]."""

    def __init__(self, cin: int, cout: int, norm_layer=instance_norm):
        super().__init__()
        norm = (lambda c: [norm_layer(c)]) if norm_layer is not None else (lambda c: [])
        self.conv = nn.Sequential(
            *norm(cin),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(cin, cin, 3, 1, 1),
            *norm(cin),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(cin, cout, 3, 1, 1),
            nn.AvgPool2d(2),
        )
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(cin, cout, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.shortcut(x)  # (B, cout, H/2, W/2)


class Encoder(nn.Module):
    """E(B): image (B, in_channels, H, W) -> (μ, log σ²), each (B, nz). The reference ``E_ResNet``.

    Conv(4, 2, 1) to nef channels, then ``n_blocks - 1`` residual stages that halve the side
    (channels nef·min(4, n+1)), LeakyReLU, global average pooling, two linear heads.
    """

    def __init__(
        self, in_channels: int = 3, nz: int = 8, nef: int = 64, n_blocks: int = 5, norm_layer=instance_norm
    ):
        super().__init__()
        self.in_channels, self.nz = in_channels, nz
        layers: list[nn.Module] = [nn.Conv2d(in_channels, nef, 4, 2, 1)]  # (B, nef, H/2, W/2)
        cout = nef
        for n in range(1, n_blocks):
            cin, cout = nef * min(4, n), nef * min(4, n + 1)
            layers.append(_ResBlockDown(cin, cout, norm_layer))
        layers += [nn.LeakyReLU(0.2, True), nn.AdaptiveAvgPool2d(1), nn.Flatten()]  # (B, cout)
        self.conv = nn.Sequential(*layers)
        self.fc_mu = nn.Linear(cout, nz)
        self.fc_logvar = nn.Linear(cout, nz)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected images (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        h = self.conv(x)
        return self.fc_mu(h), self.fc_logvar(h)


class MultiscaleDiscriminator(nn.Module):
    """``num_d`` PatchGANs on the image at 1, 1/2, ... scale (the reference ``D_NLayersMulti``).

    image (B, in_channels, H, W) -> list of logit maps. The k-th sees the image average-pooled k
    times and has ``round(ndf / 2**k)`` base channels. All convs keep their biases (as the reference).
    """

    def __init__(
        self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3, num_d: int = 2, norm_layer=instance_norm
    ):
        super().__init__()
        self.in_channels = in_channels
        self.nets = nn.ModuleList(
            self._patchgan(in_channels, round(ndf / 2**k), n_layers, norm_layer) for k in range(num_d)
        )
        self.down = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        init_weights(self)

    @staticmethod
    def _patchgan(cin: int, ndf: int, n_layers: int, norm_layer) -> nn.Sequential:
        norm = (lambda c: [norm_layer(c)]) if norm_layer is not None else (lambda c: [])
        layers: list[nn.Module] = [nn.Conv2d(cin, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2**n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1), *norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2**n_layers, 8)
        layers += [
            nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1),
            *norm(ndf * mult),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * mult, 1, 4, 1, 1),
        ]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected images (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        out = []
        for k, net in enumerate(self.nets):
            if k:
                x = self.down(x)  # (B, C, H/2, W/2)
            out.append(net(x))
        return out


Discriminator = MultiscaleDiscriminator  # the name used in the paper's text: D


def _g(logits: list[torch.Tensor], kind: str) -> torch.Tensor:
    return sum(g_loss(t, kind) for t in logits)


def _d(real: list[torch.Tensor], fake: list[torch.Tensor], kind: str) -> torch.Tensor:
    return sum(d_loss(r, f, kind) for r, f in zip(real, fake))


class BicycleGAN(nn.Module):
    """The four networks and both cycles. ``losses_g`` / ``losses_d`` return dicts of loss terms.

    ``BicycleGAN()`` is the reference configuration (256×256, RGB); for teaching sizes pass e.g.
    ``num_downs=6, ngf=16, nef=16, ndf=16, encoder_blocks=4`` for 64×64 images.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        nz: int = 8,
        num_downs: int = 8,
        ngf: int = 64,
        nef: int = 64,
        ndf: int = 64,
        encoder_blocks: int = 5,
        num_d: int = 2,
        d_layers: int = 3,
        lambda_l1: float = 10.0,
        lambda_latent: float = 0.5,
        lambda_kl: float = 0.01,
        kind: str = "lsgan",
    ):
        super().__init__()
        self.nz, self.kind = nz, kind
        self.lambda_l1, self.lambda_latent, self.lambda_kl = lambda_l1, lambda_latent, lambda_kl
        self.generator = Generator(in_channels, out_channels, nz, num_downs, ngf)
        self.encoder = Encoder(out_channels, nz, nef, encoder_blocks)
        self.d_vae = MultiscaleDiscriminator(out_channels, ndf, d_layers, num_d)  # judges cVAE-GAN outputs
        self.d_lr = MultiscaleDiscriminator(out_channels, ndf, d_layers, num_d)  # judges cLR-GAN outputs

    def sample_z(self, n: int, device: torch.device | str | None = None) -> torch.Tensor:
        return torch.randn(n, self.nz, device=device)

    def losses_g(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        """Generator + encoder terms. ``loss`` updates G and E; ``latent`` must update G only (the
        reference freezes E for it): back-propagate ``loss`` with E's and G's grads, then ``latent``
        with E frozen, or use :meth:`train_step`."""
        mu, logvar = self.encoder(b)  # cVAE-GAN: B -> z -> B̂
        z_enc = reparameterize(mu, logvar)
        fake_enc = self.generator(a, z_enc)
        z_rand = self.sample_z(a.shape[0], a.device)  # cLR-GAN: z -> B̂ -> ẑ
        fake_rand = self.generator(a, z_rand)
        gan_vae = _g(self.d_vae(fake_enc), self.kind)
        gan_lr = _g(self.d_lr(fake_rand), self.kind)
        rec = l1(fake_enc, b)
        kl = kl_divergence(mu, logvar, reduction="batchmean")  # summed over the code
        loss = gan_vae + gan_lr + self.lambda_l1 * rec + self.lambda_kl * kl
        return {
            "loss": loss,
            "gan_vae": gan_vae,
            "gan_lr": gan_lr,
            "l1": rec,
            "kl": kl,
            "fake_enc": fake_enc,
            "fake_rand": fake_rand,
            "z_rand": z_rand,
        }

    def latent_loss(self, fake_rand: torch.Tensor, z_rand: torch.Tensor) -> torch.Tensor:
        """cLR-GAN's latent regression: |μ(E(G(A, z))) - z|_1 (eq. 6)."""
        mu, _ = self.encoder(fake_rand)
        return l1(mu, z_rand)

    def losses_d(
        self, b: torch.Tensor, fake_enc: torch.Tensor, fake_rand: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Both discriminators' losses on real B against detached fakes of each path."""
        d_vae = _d(self.d_vae(b), self.d_vae(fake_enc.detach()), self.kind)
        d_lr = _d(self.d_lr(b), self.d_lr(fake_rand.detach()), self.kind)
        return {"loss": d_vae + d_lr, "d_vae": d_vae, "d_lr": d_lr}

    def optimizers(
        self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999)
    ) -> dict[str, torch.optim.Adam]:
        """Adam(2e-4, β1 0.5) for G, E and the discriminators (the reference's settings)."""
        return {
            "g": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
            "e": torch.optim.Adam(self.encoder.parameters(), lr=lr, betas=betas),
            "d": torch.optim.Adam(
                list(self.d_vae.parameters()) + list(self.d_lr.parameters()), lr=lr, betas=betas
            ),
        }

    def train_step(
        self, a: torch.Tensor, b: torch.Tensor, opts: dict[str, torch.optim.Optimizer]
    ) -> dict[str, float]:
        """One update of G and E, then of both discriminators (the reference's order)."""
        out = self.losses_g(a, b)
        for p in list(self.d_vae.parameters()) + list(self.d_lr.parameters()):
            p.requires_grad_(False)
        opts["g"].zero_grad(set_to_none=True)
        opts["e"].zero_grad(set_to_none=True)
        out["loss"].backward(retain_graph=True)
        for p in self.encoder.parameters():  # the latent loss trains G alone
            p.requires_grad_(False)
        lat = self.latent_loss(out["fake_rand"], out["z_rand"])
        (self.lambda_latent * lat).backward()
        for p in self.encoder.parameters():
            p.requires_grad_(True)
        opts["g"].step()
        opts["e"].step()
        for p in list(self.d_vae.parameters()) + list(self.d_lr.parameters()):
            p.requires_grad_(True)
        dl = self.losses_d(b, out["fake_enc"], out["fake_rand"])
        opts["d"].zero_grad(set_to_none=True)
        dl["loss"].backward()
        opts["d"].step()
        logs = {k: float(v.detach()) for k, v in out.items() if v.dim() == 0}
        logs.update(latent=float(lat.detach()), d=float(dl["loss"].detach()))
        return logs


def pix2pix_noise_step(
    generator: Generator,
    discriminator: MultiscaleDiscriminator,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    a: torch.Tensor,
    b: torch.Tensor,
    lambda_l1: float = 10.0,
    kind: str = "lsgan",
) -> dict[str, float]:
    """The paper's "pix2pix+noise" baseline: G(A, z) with z ~ N(0, I) trained by GAN + λ·L1 only.

    Nothing asks the output to depend on z, and L1 to the one target pulls every z to the same
    answer: G learns to ignore its noise (Isola et al. §3.1; Zhu et al. §3.1).
    """
    z = torch.randn(a.shape[0], generator.nz, device=a.device)
    fake = generator(a, z)
    loss_d = _d(discriminator(b), discriminator(fake.detach()), kind)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    gan = _g(discriminator(fake), kind)
    rec = l1(fake, b)
    loss = gan + lambda_l1 * rec
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    return {"loss_g": loss.item(), "loss_d": loss_d.item(), "l1": rec.item()}
