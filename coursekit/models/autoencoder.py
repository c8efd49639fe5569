"""Autoencoders with a chosen code size, and PCA as their linear, closed-form reference.

An autoencoder maps an image ``x`` to a short code ``z = E(x)`` and back, ``x̂ = D(z)``, and is
trained to make ``x̂`` close to ``x``. With one linear layer each way and the squared error, the
best it can do is PCA (Baldi and Hornik, "Neural networks and principal component analysis:
learning from examples without local minima", Neural Networks 1989); non-linear layers let it do
better at the same code size.

* :class:`PCA`: closed form by the SVD of the centred data (Pearson 1901; Hotelling 1933).
* :class:`FCAutoencoder`: G. E. Hinton and R. R. Salakhutdinov, "Reducing the Dimensionality of
  Data with Neural Networks", Science 313, 2006. Reference configuration (their MNIST network,
  authors' Matlab code at https://www.cs.toronto.edu/~hinton/MatlabForSciencePaper.html):
  784-1000-500-250-30 with logistic hidden units and a linear code layer.
* :class:`ConvAutoencoder`: J. Masci, U. Meier, D. Cireşan and J. Schmidhuber, "Stacked
  Convolutional Auto-Encoders for Hierarchical Feature Extraction", ICANN 2011.

Deviations (written where they happen): Hinton and Salakhutdinov pre-train layer by layer with
RBMs; we train end to end with Adam and ReLU hidden units, which works at these sizes. Masci et
al. use max-pooling and tied weights; we down-sample with stride-2 convolutions and up-sample
with transposed convolutions (untied), and put a fully connected layer before the code so that
the code size can be chosen freely, as for the other two models.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import validate

__all__ = ["PCA", "ConvAutoencoder", "FCAutoencoder", "quantize", "reconstruction_error"]


class PCA(nn.Module):
    """Principal component analysis with ``code_size`` components, fitted in closed form.

    ``fit(x)`` centres the data ``X`` (N, D) and takes its SVD ``X - μ = U S Vᵀ``; the first
    ``code_size`` rows of ``Vᵀ`` are the principal directions. ``encode`` projects on them,
    ``decode`` maps back: ``x̂ = μ + (x - μ) V_k V_kᵀ``, the best rank-k linear reconstruction.
    """

    def __init__(self, code_size: int):
        super().__init__()
        if code_size < 1:
            raise ValueError(f"code_size must be at least 1, got {code_size}")
        self.code_size = code_size
        self.register_buffer("mean", torch.zeros(0))
        self.register_buffer("components", torch.zeros(0))  # (k, D)
        self.register_buffer("explained_variance", torch.zeros(0))  # (k,)
        self.shape: tuple[int, ...] | None = None

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> PCA:
        validate.tensor(x, "x", ndim=(2, 3, 4, 5), shape="(B, ...) (a batch of vectors or images)")
        self.shape = tuple(x.shape[1:])
        flat = x.detach().reshape(len(x), -1).cpu().double()  # (N, D), float64 on the CPU (not on MPS)
        if self.code_size > min(flat.shape):
            raise ValueError(
                f"code_size {self.code_size} is larger than min(N, D) = {min(flat.shape)}; "
                "use fewer components or more data"
            )
        mean = flat.mean(0)
        _, s, vt = torch.linalg.svd(flat - mean, full_matrices=False)  # s: (min(N,D),), vt: (., D)
        back = {"device": x.device, "dtype": torch.float32}  # the fitted buffers live beside the data
        self.mean = mean.to(**back)
        self.components = vt[: self.code_size].to(**back)
        self.explained_variance = (s[: self.code_size] ** 2 / max(len(flat) - 1, 1)).to(**back)
        return self

    def _fitted(self) -> None:
        if self.shape is None:
            raise RuntimeError("call pca.fit(train_images) before encoding or decoding")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, ...) -> (B, k)"""
        self._fitted()
        return (x.reshape(len(x), -1).float() - self.mean) @ self.components.T

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, k) -> (B, ...) in the shape seen by ``fit``"""
        self._fitted()
        return (z @ self.components + self.mean).reshape(len(z), *self.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class FCAutoencoder(nn.Module):
    """Fully connected autoencoder: ``in_features-hidden...-code_size`` and the mirror back.

    Defaults are Hinton and Salakhutdinov's MNIST configuration, 784-1000-500-250-30.
    """

    def __init__(
        self,
        in_shape: Sequence[int] = (1, 28, 28),
        code_size: int = 30,
        hidden: Sequence[int] = (1000, 500, 250),
    ):
        super().__init__()
        if code_size < 1:
            raise ValueError(f"code_size must be at least 1, got {code_size}")
        self.in_shape = tuple(in_shape)
        self.code_size = code_size
        in_features = int(torch.tensor(self.in_shape).prod())
        sizes = [in_features, *hidden]
        enc: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(sizes[:-1], sizes[1:]):
            enc += [nn.Linear(a, b), nn.ReLU(inplace=True)]  # paper: logistic units, RBM pre-training
        enc.append(nn.Linear(sizes[-1], code_size))  # linear code layer, as in the paper
        dec: list[nn.Module] = []
        back = [code_size, *reversed(hidden)]
        for a, b in zip(back[:-1], back[1:]):
            dec += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        dec += [nn.Linear(back[-1], in_features), nn.Sigmoid(), nn.Unflatten(1, self.in_shape)]
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, code_size)"""
        want = f"(B, {', '.join(map(str, self.in_shape))})"
        validate.tensor(x, "x", ndim=1 + len(self.in_shape), shape=want)
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(
                f"x must be a tensor of shape {want}, got {tuple(x.shape)}; "
                f"build the model with in_shape={tuple(x.shape[1:])}"
            )
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, code_size) -> (B, C, H, W) in [0, 1]"""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder: stride-2 convolutions down to ``image_size / 2**len(channels)``,
    a linear layer to the code, and the mirror image with transposed convolutions back."""

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 32,
        code_size: int = 32,
        channels: Sequence[int] = (32, 64, 128),
    ):
        super().__init__()
        factor = 2 ** len(channels)
        if image_size % factor:
            raise ValueError(
                f"image_size must be a multiple of {factor} for {len(channels)} stride-2 stages, "
                f"got {image_size}"
            )
        if code_size < 1:
            raise ValueError(f"code_size must be at least 1, got {code_size}")
        self.in_channels, self.image_size, self.code_size = in_channels, image_size, code_size
        side = image_size // factor
        enc: list[nn.Module] = []
        c_in = in_channels
        for c in channels:  # each stage halves H and W: (B, c_in, H, W) -> (B, c, H/2, W/2)
            enc += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            c_in = c
        # (B, C, s, s) -> (B, code_size); deviation from Masci et al.: a linear code layer
        enc += [nn.Flatten(), nn.Linear(c_in * side * side, code_size)]
        dec: list[nn.Module] = [nn.Linear(code_size, c_in * side * side), nn.Unflatten(1, (c_in, side, side))]
        for c in list(channels[-2::-1]) + [None]:  # each stage doubles H and W
            if c is None:
                dec += [
                    nn.ReLU(inplace=True),
                    nn.ConvTranspose2d(c_in, in_channels, 4, stride=2, padding=1),
                    nn.Sigmoid(),
                ]
            else:
                dec += [
                    nn.ReLU(inplace=True),
                    nn.ConvTranspose2d(c_in, c, 4, stride=2, padding=1),
                    nn.BatchNorm2d(c),
                ]
                c_in = c
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) -> (B, code_size)"""
        want = f"(B, {self.in_channels}, {self.image_size}, {self.image_size})"
        validate.tensor(x, "x", ndim=4, channels=self.in_channels, shape=want)
        if tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError(
                f"x must be a tensor of shape {want}, got {tuple(x.shape)}; resize the images to "
                f"{self.image_size}x{self.image_size} (F.interpolate) or build the model with image_size={x.shape[-1]}"
            )
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, code_size) -> (B, C, S, S) in [0, 1]"""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


@torch.no_grad()
def reconstruction_error(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> float:
    """Mean squared error per pixel of ``model(images)`` (any model with ``forward``), in eval mode."""
    validate.tensor(images, "images", ndim=(2, 3, 4, 5), shape="(B, ...) (a batch of vectors or images)")
    was_training = model.training
    model.eval()
    dev = next(
        (b.device for b in list(model.parameters()) + list(model.buffers()) if b.numel()), images.device
    )
    total = 0.0
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(dev)
        total += ((model(x).float() - x) ** 2).sum().item()
    model.train(was_training)
    return total / images.numel()


def quantize(
    codes: torch.Tensor, bits: int, low: float | None = None, high: float | None = None
) -> torch.Tensor:
    """Uniformly quantise codes to ``2**bits`` levels in [low, high] (default: the codes' range).

    A code of k numbers at ``bits`` bits each costs ``k * bits`` bits per image (plus the decoder,
    shared by all images): that is the compression an autoencoder gives.
    """
    if not 1 <= bits <= 24:
        raise ValueError(f"bits must be between 1 and 24, got {bits}")
    low = codes.min().item() if low is None else low
    high = codes.max().item() if high is None else high
    if high <= low:
        return torch.full_like(codes, low)
    levels = 2**bits - 1
    q = torch.round((codes.clamp(low, high) - low) / (high - low) * levels)
    return q / levels * (high - low) + low
