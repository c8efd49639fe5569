"""SAGAN: a DCGAN-style GAN with self-attention, spectral normalisation and the hinge loss.

Zhang, Goodfellow, Metaxas, Odena, "Self-Attention Generative Adversarial Networks", ICML 2019
(arXiv 1805.08318, 2018). Authors' code: github.com/brain-research/self-attention-gan (TF);
the widely used PyTorch port: github.com/heykeetae/Self-Attention-GAN.

What makes it SAGAN (paper §4-5):

* a :class:`~coursekit.nn.attention.SelfAttention` layer in **both** networks, on a middle-sized
  feature map (the paper's best: feat32/feat64 of 128×128 images; here the S/2 map), so that a
  pixel can be coordinated with distant ones;
* **spectral normalisation** (Miyato et al. 2018) on every convolution of **both** networks;
* the **hinge loss** (:func:`coursekit.losses.d_loss` / ``g_loss`` with ``kind="hinge"``);
* **TTUR**: Adam(β1 = 0, β2 = 0.9) with lr 4e-4 for D and 1e-4 for G (Heusel et al. 2017).

Keys and values are max-pooled by 2 before attending (the authors' code does; the paper does not
say), 4× cheaper. Deviations: the layout follows :mod:`coursekit.models.dcgan` (transposed convolutions, 4×4
start) instead of SAGAN's residual blocks, and the generator uses plain (unconditional) batch
norm, so that the comparison with the DCGAN baseline isolates attention + SN + hinge.
Images are in [-1, 1] (Tanh). Training: :func:`coursekit.train.fit_gan` with
``dcgan.adversarial_step("hinge")`` and :func:`optimizers` (the DCGAN baseline: ``"nonsaturating"``).

``image_size`` may also be a pair ``(H, W)`` with W a multiple of H/4 (strips such as 16×48, used in
4.3): the generator then starts from an (4, 4·W/H) map, and the discriminator's last 4×4 convolution
no longer covers the whole image but slides along it; its scores are averaged, so the
discriminator becomes a *patch* discriminator whose receptive field (:func:`receptive_field`) is
smaller than the image. Square images give exactly the networks above.
"""

from __future__ import annotations

import torch
from torch import nn

from ..nn.attention import SelfAttention
from . import dcgan

__all__ = ["Discriminator", "Generator", "attention_layers", "optimizers", "receptive_field"]


def _sn(module: nn.Module) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module)


def _size(image_size: int | tuple[int, int]) -> tuple[int, int, int]:
    """(H, W, stages) of a square side or an (H, W) pair; W must be a multiple of H/4."""
    h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    n = dcgan._stages(h)
    if w < h or w % (h // 4):
        raise ValueError(f"image width must be a multiple of height/4 and at least the height, got {h}×{w}")
    return h, w, n


def receptive_field(image_size: int | tuple[int, int]) -> int:
    """Side in pixels of the window that one score of :class:`Discriminator` sees (before averaging)."""
    _, _, n = _size(image_size)
    rf, jump = 4, 2  # first Conv(4, 2, 1)
    for _ in range(n - 1):
        rf, jump = rf + 3 * jump, jump * 2  # Conv(4, 2, 1)
    return rf + 3 * jump  # last Conv(4, 1, 0)


class Generator(nn.Module):
    """z (B, nz) → image (B, nc, S, S) in [-1, 1]; self-attention on the S/2 × S/2 map.

    DCGAN layout (ConvT 4×4 stages from 4×4, widths ngf·2^k), spectral norm on every convolution.
    ``attention=False`` removes the attention layer (for ablations).
    """

    def __init__(
        self,
        nz: int = 128,
        ngf: int = 64,
        nc: int = 3,
        image_size: int | tuple[int, int] = 64,
        *,
        attention: bool = True,
        heads: int = 1,
    ) -> None:
        super().__init__()
        self.nz, self.nc, self.image_size = nz, nc, image_size
        height, width, n = _size(image_size)
        ch = ngf * 2 ** (n - 1)
        layers: list[nn.Module] = [
            _sn(nn.ConvTranspose2d(nz, ch, (4, 4 * width // height), 1, 0)),
            nn.BatchNorm2d(ch),
            nn.ReLU(),
        ]  # 4×4 (4 × 4W/H)
        size = 4
        for _ in range(n - 1):
            layers += [_sn(nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1)), nn.BatchNorm2d(ch // 2), nn.ReLU()]
            ch //= 2
            size *= 2
            if attention and size == height // 2:
                layers.append(
                    SelfAttention(ch, heads=heads, subsample=True, spectral_norm=True)
                )  # (B, ch, S/2, S/2)
        layers += [_sn(nn.ConvTranspose2d(ch, nc, 4, 2, 1)), nn.Tanh()]  # (B, nc, S, S)
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:
            z = z[:, :, None, None]  # (B, nz, 1, 1)
        if z.dim() != 4 or z.shape[1] != self.nz or z.shape[2:] != (1, 1):
            raise ValueError(f"expected noise (B, {self.nz}) or (B, {self.nz}, 1, 1), got {tuple(z.shape)}")
        return self.main(z)


class Discriminator(nn.Module):
    """image (B, nc, S, S) → one score per image (B,); self-attention on the S/2 × S/2 map.

    Conv(4, 2, 1) stages nc → ndf → 2·ndf …, LeakyReLU(0.1) (authors' code), spectral norm, no
    batch norm (SN replaces it), final Conv to 1×1.
    """

    def __init__(
        self, nc: int = 3, ndf: int = 64, image_size: int | tuple[int, int] = 64, *, attention: bool = True,
        heads: int = 1,
    ) -> None:
        super().__init__()
        self.nc, self.image_size = nc, image_size
        height, width, n = _size(image_size)
        self._hw = (height, width)
        layers: list[nn.Module] = [_sn(nn.Conv2d(nc, ndf, 4, 2, 1)), nn.LeakyReLU(0.1)]  # (B, ndf, S/2, S/2)
        if attention:
            layers.append(SelfAttention(ndf, heads=heads, subsample=True, spectral_norm=True))
        ch = ndf
        for _ in range(n - 1):
            layers += [_sn(nn.Conv2d(ch, ch * 2, 4, 2, 1)), nn.LeakyReLU(0.1)]
            ch *= 2
        layers.append(_sn(nn.Conv2d(ch, 1, 4, 1, 0)))  # (B, 1, 1, 1); strips: (B, 1, 1, 4W/H - 3)
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._hw[0] == self._hw[1]:
            dcgan.check_images(x, self.nc, self._hw[0])
        elif x.dim() != 4 or x.shape[1] != self.nc or tuple(x.shape[2:]) != self._hw:
            raise ValueError(f"expected images (B, {self.nc}, {self._hw[0]}, {self._hw[1]}), got {tuple(x.shape)}")
        return self.main(x).mean((1, 2, 3))  # (B,): the mean of the patch scores (one patch when square)


def attention_layers(model: nn.Module) -> list[SelfAttention]:
    """The self-attention layers of a model, in order (for the attention-map probe)."""
    return [m for m in model.modules() if isinstance(m, SelfAttention)]


def optimizers(
    generator: nn.Module,
    discriminator: nn.Module,
    lr_g: float = 1e-4,
    lr_d: float = 4e-4,
    betas: tuple[float, float] = (0.0, 0.9),
) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """SAGAN's TTUR optimisers: Adam(β1 0, β2 0.9), lr 1e-4 for G and 4e-4 for D (paper §5)."""
    return dcgan.optimizers(generator, discriminator, lr=lr_g, betas=betas, lr_d=lr_d)
