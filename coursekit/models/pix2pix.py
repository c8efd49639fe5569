"""pix2pix: image-to-image translation with a U-Net generator and a PatchGAN discriminator.

Isola, Zhu, Zhou & Efros, "Image-to-Image Translation with Conditional Adversarial Networks", CVPR
2017. Reference code: junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py``
(``UnetGenerator``, ``UnetSkipConnectionBlock``, ``NLayerDiscriminator``) and
``models/pix2pix_model.py`` (the objective). Defaults here are the authors' pix2pix configuration:
``unet_256`` (8 downsamplings, ngf 64, batch norm, dropout 0.5 in the three innermost non-bottleneck
decoder blocks), ``basic`` PatchGAN (3 layers, ndf 64, 70×70 receptive field) on the concatenated
(input, output) pair (6 channels), vanilla GAN loss, λ_L1 = 100 (eq. 4).

Layout of the U-Net (encoder C64-C128-C256-C512-C512-C512-C512-C512, paper appendix 6.1.1): each
block is ``LeakyReLU → Conv(4, 2, 1) → norm`` down, the inner block, then ``ReLU → ConvT(4, 2, 1)
→ norm`` up, and the block's input is concatenated to its output (the skip connection). The
outermost block has no activation before its conv and ends in Tanh; the innermost has no norm on
its down path (a 1×1 map).

Deviation: ``num_downs`` sets the depth, so 64×64 images use ``num_downs=6`` (the input side must be
divisible by 2**num_downs). The discriminator returns logits (the loss applies the sigmoid).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..losses import d_loss, g_loss, l1
from ..nn.init import init_weights

__all__ = [
    "PatchDiscriminator",
    "UNetGenerator",
    "discriminator_loss",
    "generator_loss",
    "patch_receptive_field",
    "train_step",
]

NormLayer = Callable[[int], nn.Module]


def _uses_bias(norm_layer: NormLayer | None) -> bool:
    # A conv before batch norm needs no bias (BN's shift replaces it); instance norm without affine
    # parameters, or no norm, keeps it: the authors' ``use_bias`` rule.
    return (
        norm_layer is None
        or norm_layer is not nn.BatchNorm2d
        and getattr(norm_layer, "func", None) is not nn.BatchNorm2d
    )


def _norm(norm_layer: NormLayer | None, channels: int) -> list[nn.Module]:
    return [norm_layer(channels)] if norm_layer is not None else []


class _UNetBlock(nn.Module):
    """One level of the U-Net: x (B, outer, H, W) -> cat(x, up(inner(down(x)))) (B, 2·outer, H, W)."""

    def __init__(
        self,
        outer: int,
        inner: int,
        in_channels: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm_layer: NormLayer | None = nn.BatchNorm2d,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.outermost = outermost
        bias = _uses_bias(norm_layer)
        in_channels = outer if in_channels is None else in_channels
        down_conv = nn.Conv2d(in_channels, inner, 4, 2, 1, bias=bias)  # (B, inner, H/2, W/2)
        if outermost:
            up_conv = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1)  # the last layer keeps its bias
            layers = [down_conv, submodule, nn.ReLU(True), up_conv, nn.Tanh()]
        elif innermost:
            up_conv = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True), up_conv, *_norm(norm_layer, outer)]
        else:
            up_conv = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias)  # input: skip-concatenated
            layers = [
                nn.LeakyReLU(0.2, True),
                down_conv,
                *_norm(norm_layer, inner),
                submodule,
                nn.ReLU(True),
                up_conv,
                *_norm(norm_layer, outer),
            ]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)  # the skip connection (B, 2·outer, H, W)


class UNetGenerator(nn.Module):
    """image (B, in_channels, H, W) -> image (B, out_channels, H, W) in [-1, 1].

    H and W must be multiples of 2**num_downs (256 for the reference ``num_downs=8``). With
    ``dropout`` > 0 (0.5 in pix2pix, where it is the only source of noise, kept on at test time in
    the paper) the ``num_downs - 5`` blocks just outside the bottleneck use dropout.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        num_downs: int = 8,
        ngf: int = 64,
        norm_layer: NormLayer | None = nn.BatchNorm2d,
        dropout: float = 0.5,
    ):
        super().__init__()
        if num_downs < 5:
            raise ValueError(
                f"num_downs must be ≥ 5 (the reference uses 8 for 256×256 images), got {num_downs}"
            )
        self.in_channels, self.out_channels, self.num_downs = in_channels, out_channels, num_downs
        block = _UNetBlock(ngf * 8, ngf * 8, innermost=True, norm_layer=norm_layer)  # 2×2 -> 1×1 -> 2×2
        for _ in range(num_downs - 5):
            block = _UNetBlock(ngf * 8, ngf * 8, submodule=block, norm_layer=norm_layer, dropout=dropout)
        block = _UNetBlock(ngf * 4, ngf * 8, submodule=block, norm_layer=norm_layer)
        block = _UNetBlock(ngf * 2, ngf * 4, submodule=block, norm_layer=norm_layer)
        block = _UNetBlock(ngf, ngf * 2, submodule=block, norm_layer=norm_layer)
        self.model = _UNetBlock(
            out_channels, ngf, in_channels=in_channels, submodule=block, outermost=True, norm_layer=norm_layer
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = 2**self.num_downs
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[2] % m or x.shape[3] % m:
            raise ValueError(
                f"expected images (B, {self.in_channels}, H, W) with H and W multiples of {m} "
                f"(2**num_downs), got {tuple(x.shape)}; resize, or build with fewer num_downs"
            )
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """The PatchGAN: image (B, in_channels, H, W) -> a grid of logits (B, 1, H', W'), one per patch.

    ``n_layers=3`` (the reference ``basic`` D): C64-C128-C256-C512 then a 1-channel conv, kernel 4;
    strides 2, 2, 2, 1, 1; each output sees a 70×70 patch (see :func:`patch_receptive_field`).
    For 256×256 inputs the output is 30×30. No norm on the first layer.
    """

    def __init__(
        self,
        in_channels: int = 6,
        ndf: int = 64,
        n_layers: int = 3,
        norm_layer: NormLayer | None = nn.BatchNorm2d,
    ):
        super().__init__()
        self.in_channels, self.n_layers = in_channels, n_layers
        bias = _uses_bias(norm_layer)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, ndf, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
        ]  # (B, ndf, H/2, W/2)
        mult = 1
        for n in range(1, n_layers):  # each halves H and W
            prev, mult = mult, min(2**n, 8)
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=bias),
                *_norm(norm_layer, ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        prev, mult = mult, min(2**n_layers, 8)
        layers += [
            nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=bias),
            *_norm(norm_layer, ndf * mult),
            nn.LeakyReLU(0.2, True),
        ]  # stride 1: side - 1
        layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]  # (B, 1, H', W')
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"expected (B, {self.in_channels}, H, W) (for pix2pix: input and output images concatenated "
                f"on channels), got {tuple(x.shape)}"
            )
        return self.model(x)


def patch_receptive_field(n_layers: int = 3) -> int:
    """Side of the input patch one PatchGAN output sees: 70 for ``n_layers=3`` (16 for 1, 34 for 2).

    Walk back from one output: r ← r·stride + (kernel - stride) for each conv, last to first.
    """
    layers = [(4, 2)] * n_layers + [(4, 1), (4, 1)]  # (kernel, stride), first to last
    r = 1
    for k, s in reversed(layers):
        r = r * s + (k - s)
    return r


def generator_loss(
    discriminator: nn.Module,
    inputs: torch.Tensor,
    fakes: torch.Tensor,
    targets: torch.Tensor,
    lambda_l1: float = 100.0,
    kind: str = "nonsaturating",
) -> dict[str, torch.Tensor]:
    """pix2pix's generator objective (eq. 4): L_cGAN(G, D) + λ · L_L1(G), λ = 100.

        L_G = -E[log D(x, G(x))] + λ E[|y - G(x)|_1]

    The conditional D sees (input, output) concatenated on channels. Returns ``loss``, ``gan``, ``l1``.
    """
    gan = g_loss(discriminator(torch.cat([inputs, fakes], 1)), kind)
    rec = l1(fakes, targets)
    return {"loss": gan + lambda_l1 * rec, "gan": gan, "l1": rec}


def discriminator_loss(
    discriminator: nn.Module,
    inputs: torch.Tensor,
    fakes: torch.Tensor,
    targets: torch.Tensor,
    kind: str = "nonsaturating",
) -> torch.Tensor:
    """pix2pix's discriminator objective, halved as in the authors' code (slows D relative to G):

        L_D = 1/2 (-E[log D(x, y)] - E[log(1 - D(x, G(x)))])

    ``fakes`` are detached here so that this loss does not reach the generator.
    """
    real = discriminator(torch.cat([inputs, targets], 1))
    fake = discriminator(torch.cat([inputs, fakes.detach()], 1))
    return 0.5 * d_loss(real, fake, kind)


def train_step(
    generator: nn.Module,
    discriminator: nn.Module | None,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer | None,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    lambda_l1: float = 100.0,
    kind: str = "nonsaturating",
) -> dict[str, float]:
    """One pix2pix update: D on (input, real) vs (input, fake), then G on GAN + λ·L1.

    With ``discriminator=None`` only the L1 term trains G (the "L1 alone" baseline of the paper's
    Fig. 4). Images in [-1, 1].
    """
    fake = generator(inputs)
    logs: dict[str, float] = {}
    if discriminator is not None:
        loss_d = discriminator_loss(discriminator, inputs, fake, targets, kind)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        out = generator_loss(discriminator, inputs, fake, targets, lambda_l1, kind)
        logs.update(loss_d=loss_d.item(), gan=out["gan"].item())
        loss = out["loss"]
        rec = out["l1"]
    else:
        rec = l1(fake, targets)
        loss = rec
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    logs.update(loss_g=loss.item(), l1=rec.item())
    return logs
