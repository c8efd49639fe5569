"""A shared feature space for two modalities, with cross-modal retrieval.

T. Y. Wang, D. Ceylan, J. Popović and N. J. Mitra, "Learning a Shared Shape Space for Multimodal
Garment Design", ACM Transactions on Graphics (SIGGRAPH Asia) 37(6), 2018; project page and code:
http://geometry.cs.ucl.ac.uk/projects/2018/garment_design/. They first learn a latent space of
garment shapes with an autoencoder, then train an encoder for each other modality (sketches,
body-and-material parameters) to regress the latent code of the matching shape, so that a
sketch can be decoded into a garment and garments can be retrieved or interpolated from sketches.

Here the two modalities are made from the glyphs: a *sketch* (the glyph's outline, hand-placed:
shifted by a few pixels) and an *image* (the filled glyph, in colour). :class:`SharedSpace` holds
one encoder per modality and one decoder (to images) shared by both:

* ``"regression"`` alignment (Wang et al.): the sketch code regresses the image code of its pair
  (the image code is detached, so the sketch encoder follows the image space);
* ``"contrastive"`` alignment: a symmetric InfoNCE loss over the batch (A. van den Oord, Y. Li and
  O. Vinyals, "Representation Learning with Contrastive Predictive Coding", 2018; as used by
  Radford et al., CLIP, ICML 2021), which pulls pairs together *and* pushes non-pairs apart.

Both add the reconstruction losses ``|D(E_img(img)) − img|²`` and ``|D(E_sketch(sketch)) − img|²``.

Deviations from Wang et al.: they train in two stages (shape autoencoder first, then the sketch
encoder) and decode 3D garment meshes; we train both encoders in one stage on 32×32 images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .autoencoder import ConvAutoencoder

__all__ = ["SharedSpace", "info_nce", "make_modalities", "outline"]


def outline(images: torch.Tensor, width: int = 1) -> torch.Tensor:
    """(B, 1, H, W) glyphs in [0, 1] -> their outlines (morphological gradient: dilate − erode)."""
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"expected gray images (B, 1, H, W), got {tuple(images.shape)}")
    k = 2 * width + 1
    dilated = F.max_pool2d(images, k, stride=1, padding=width)
    eroded = -F.max_pool2d(-images, k, stride=1, padding=width)
    return (dilated - eroded).clamp(0, 1)


def make_modalities(glyphs: torch.Tensor, max_shift: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    """Two views of each glyph (B, 1, S, S) in [0, 1] (white ink on black, as ``coursekit.data.glyphs``).

    Returns ``{"sketch": (B, 1, S, S), "image": (B, 3, S, S)}``: the outline shifted by up to
    ``max_shift`` pixels (a drawing is never registered with the photo) and the filled glyph in a
    random ink colour on a random paper colour.
    """
    g = torch.Generator().manual_seed(seed)
    b = len(glyphs)
    sk = outline(glyphs)
    shifts = torch.randint(-max_shift, max_shift + 1, (b, 2), generator=g)
    sk = torch.stack([torch.roll(s, (int(dy), int(dx)), dims=(1, 2)) for s, (dy, dx) in zip(sk, shifts)])
    ink = torch.rand(b, 3, 1, 1, generator=g) * 0.6  # dark-ish colours
    paper = 0.7 + 0.3 * torch.rand(b, 3, 1, 1, generator=g)  # light colours
    image = paper + (ink - paper) * glyphs  # (B, 3, S, S)
    return {"sketch": sk, "image": image}


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Symmetric InfoNCE of paired codes a (B, D), b (B, D): row i of ``a`` belongs with row i of ``b``.

    ``logits = normalize(a) @ normalize(b).T / temperature`` (B, B); cross-entropy with the
    diagonal as targets, averaged over both directions (a→b and b→a).
    """
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(
            f"expected two (B, D) code batches of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / temperature  # (B, B)
    target = torch.arange(len(a), device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


class SharedSpace(nn.Module):
    """Two encoders (sketch, image) into one code space, and one decoder to images."""

    def __init__(
        self,
        image_size: int = 32,
        code_size: int = 32,
        channels: tuple[int, ...] = (32, 64, 128),
        sketch_channels: int = 1,
        image_channels: int = 3,
        alignment: str = "regression",
        align_weight: float = 1.0,
    ):
        super().__init__()
        if alignment not in ("regression", "contrastive"):
            raise ValueError(f"alignment must be 'regression' or 'contrastive', got {alignment!r}")
        self.alignment, self.align_weight = alignment, align_weight
        image_ae = ConvAutoencoder(image_channels, image_size, code_size, channels)
        self.image_encoder = image_ae.encoder  # (B, 3, S, S) -> (B, code_size)
        self.decoder = image_ae.decoder  # (B, code_size) -> (B, 3, S, S), shared by both modalities
        self.sketch_encoder = ConvAutoencoder(sketch_channels, image_size, code_size, channels).encoder

    def encode(self, x: torch.Tensor, modality: str) -> torch.Tensor:
        """(B, C, S, S) of ``modality`` ("sketch" or "image") -> (B, code_size)"""
        if modality == "sketch":
            return self.sketch_encoder(x)
        if modality == "image":
            return self.image_encoder(x)
        raise ValueError(f"modality must be 'sketch' or 'image', got {modality!r}")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, code_size) -> (B, 3, S, S) images in [0, 1]"""
        return self.decoder(z)

    def loss(self, sketch: torch.Tensor, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """The training loss of a batch of pairs, with its parts (for ``coursekit.train.fit``)."""
        z_img = self.encode(image, "image")
        z_sk = self.encode(sketch, "sketch")
        rec_img = F.mse_loss(self.decode(z_img), image)
        rec_sk = F.mse_loss(self.decode(z_sk), image)  # the sketch's code must decode to its image
        if self.alignment == "regression":
            align = F.mse_loss(z_sk, z_img.detach())  # Wang et al.: the sketch follows the image space
        else:
            align = info_nce(z_sk, z_img)
        return {
            "loss": rec_img + rec_sk + self.align_weight * align,
            "rec_image": rec_img,
            "rec_sketch": rec_sk,
            "align": align,
        }
