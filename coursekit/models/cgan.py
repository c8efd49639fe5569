"""A class-conditional GAN: both players are told the class, so G(z, y) draws a sample of class y.

Mirza & Osindero, "Conditional Generative Adversarial Nets", arXiv:1411.1784, 2014: the condition y
is fed to both networks (eq. 2: min_G max_D E[log D(x | y)] + E[log(1 - D(G(z | y) | y))]). The
networks here are the DCGAN ones (:mod:`.dcgan`; Radford et al., ICLR 2016) with the label
concatenated to the inputs, as in common conditional DCGAN code (the paper used MLPs on MNIST):

- G: z (B, nz) and a learned label embedding (B, embed_dim) concatenated -> the DCGAN generator.
- D: the image (B, nc, S, S) and the one-hot label broadcast to S × S maps (B, num_classes, S, S)
  concatenated on channels -> the DCGAN discriminator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate
from . import dcgan

__all__ = ["ConditionalDiscriminator", "ConditionalGenerator", "Discriminator", "Generator", "train_step"]


def _labels(y: torch.Tensor, batch: int, num_classes: int) -> None:
    """Class labels: one integer per example (:func:`validate.tensor`), each a valid class."""
    validate.tensor(y, "labels", ndim=1, shape=f"({batch},)")
    if y.shape[0] != batch:
        raise ValueError(f"labels must be a tensor of shape ({batch},), got {tuple(y.shape)}; give one label per example")
    if y.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"labels must be an integer tensor (class indices), got {y.dtype}; convert it with labels.long()")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes - 1}], got [{int(y.min())}, {int(y.max())}]; "
                         f"the model was built with num_classes={num_classes}")


class ConditionalGenerator(nn.Module):
    """(z (B, nz), labels (B,)) -> images (B, nc, S, S) in [-1, 1]."""

    def __init__(
        self,
        num_classes: int = 10,
        nz: int = 100,
        ngf: int = 64,
        nc: int = 1,
        image_size: int = 32,
        embed_dim: int = 50,
    ):
        super().__init__()
        self.num_classes, self.nz = num_classes, nz
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.net = dcgan.Generator(nz + embed_dim, ngf, nc, image_size)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        validate.tensor(z, "z", ndim=2, shape=f"(B, {self.nz})")
        if z.shape[1] != self.nz:
            raise ValueError(f"z must be a tensor of shape (B, {self.nz}), got {tuple(z.shape)}; "
                             f"draw it with torch.randn(B, {self.nz})")
        _labels(labels, z.shape[0], self.num_classes)
        return self.net(torch.cat([z, self.embed(labels)], 1))  # (B, nz + embed_dim) -> (B, nc, S, S)


class ConditionalDiscriminator(nn.Module):
    """(images (B, nc, S, S), labels (B,)) -> one logit per image (B,)."""

    def __init__(self, num_classes: int = 10, nc: int = 1, ndf: int = 64, image_size: int = 32):
        super().__init__()
        self.num_classes, self.nc = num_classes, nc
        self.net = dcgan.Discriminator(nc + num_classes, ndf, image_size)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        validate.tensor(x, "x", ndim=4, channels=self.nc)
        _labels(labels, x.shape[0], self.num_classes)
        maps = F.one_hot(labels.long(), self.num_classes).to(x.dtype)[:, :, None, None]
        maps = maps.expand(-1, -1, x.shape[2], x.shape[3])  # (B, num_classes, H, W)
        return self.net(torch.cat([x, maps], 1))


Generator, Discriminator = ConditionalGenerator, ConditionalDiscriminator  # short names


def train_step(
    generator: ConditionalGenerator,
    discriminator: ConditionalDiscriminator,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: torch.Tensor,
    labels: torch.Tensor,
    kind: str = "nonsaturating",
) -> dict[str, float]:
    """One alternating update of eq. 2: D on (real, y) vs (G(z, y), y), then G. Images in [-1, 1].

    The fakes are drawn for the same labels as the real batch, so D cannot tell them apart by the
    class frequencies; it must check that each image matches its label.
    """
    from ..losses import d_loss, g_loss

    z = torch.randn(real.shape[0], generator.nz, device=real.device)
    fake = generator(z, labels)
    loss_d = d_loss(discriminator(real, labels), discriminator(fake.detach(), labels), kind)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    loss_g = g_loss(discriminator(fake, labels), kind)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}
