"""Progressive growing of GANs: train at 4×4, then double the resolution with a fade-in.

Karras, Aila, Laine and Lehtinen, *Progressive Growing of GANs for Improved Quality, Stability,
and Variation*, ICLR 2018. Authors' code: https://github.com/tkarras/progressive_growing_of_gans
(``networks.py``: ``G_paper``, ``D_paper``; ``train.py``: ``TrainingSchedule``).

The four ideas, each a small piece here:

* **Growing** (paper §2): :class:`Generator` and :class:`Discriminator` hold one block per
  resolution 4, 8, 16, …; ``forward(..., depth, alpha)`` uses the first ``depth + 1`` blocks.
* **Fade-in** (Fig. 2): a new block's output is blended with the upsampled output of the
  previous resolution, ``(1 - α)·old + α·new``, α going 0 → 1 (:func:`fade_in`;
  :class:`ProgressiveSchedule` says which depth and α to use at each moment of training).
* **Minibatch standard deviation** (§3): the discriminator sees one extra feature map, the
  standard deviation of each feature over a group of samples averaged to one number, so it can
  tell a batch with too little variety (:class:`MinibatchStdDev`).
* **Pixel-wise feature normalisation** (§4.2): after every generator convolution each pixel's
  feature vector is scaled to unit average square (:class:`PixelNorm`); and the **equalised
  learning rate** (§4.1): weights drawn from N(0, 1) and scaled at run time by He's constant
  ``sqrt(2 / fan_in)`` (:class:`EqualizedConv2d`, :class:`EqualizedLinear`).

Reference configuration (``G_paper``/``D_paper`` at 1024×1024): latent 512, feature maps
``min(8192 / 2**stage, 512)`` (512 up to 32×32, then 256, 128, 64, 32, 16), leaky ReLU 0.2,
nearest-neighbour upsampling, average-pool downsampling, linear toRGB: 23.1 M parameters each
(Table 2). Teaching sizes: ``max_resolution=32`` with ``fmap_base``/``fmap_max`` scaled down.
Images are in [-1, 1]; the generator's output is linear (no tanh), as in the paper.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "Discriminator",
    "EqualizedConv2d",
    "EqualizedLinear",
    "Generator",
    "MinibatchStdDev",
    "PixelNorm",
    "ProgressiveSchedule",
    "fade_in",
    "feature_maps",
]


def fade_in(alpha: float | torch.Tensor, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """Blend the previous resolution's (upsampled) output into the new one: ``(1 - α)·old + α·new``."""
    if old.shape != new.shape:
        raise ValueError(
            f"fade_in needs tensors of the same shape, got {tuple(old.shape)} and {tuple(new.shape)}"
        )
    return old + (new - old) * alpha


def feature_maps(stage: int, fmap_base: int = 8192, fmap_max: int = 512) -> int:
    """Channels at a stage (1 = 4×4, 2 = 8×8, …): ``min(fmap_base / 2**stage, fmap_max)`` (``nf`` in the code)."""
    return max(1, min(fmap_base // 2**stage, fmap_max))


class PixelNorm(nn.Module):
    """``b = a / sqrt(mean_c(a²) + ε)`` per pixel (paper Eq. in §4.2, ε = 1e-8)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class MinibatchStdDev(nn.Module):
    """Append one feature map: the average standard deviation over groups of ``group_size`` samples.

    As in the authors' ``minibatch_stddev_layer``: samples ``i, i + B/G, i + 2B/G, …`` form a
    group; per group the std of every feature at every pixel is averaged to one number, which is
    replicated over that group's samples and pixels. ``(B, C, H, W) → (B, C + 1, H, W)``.
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8):
        super().__init__()
        self.group_size, self.eps = group_size, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = min(self.group_size, b)
        if b % g:
            raise ValueError(
                f"batch size {b} must be a multiple of the group size {g}; use an even batch size"
            )
        y = x.reshape(g, b // g, c, h, w)  # (G, B/G, C, H, W)
        y = y - y.mean(dim=0, keepdim=True)
        y = torch.sqrt(y.pow(2).mean(dim=0) + self.eps)  # (B/G, C, H, W) std over the group
        y = y.mean(dim=(1, 2, 3))  # (B/G,)
        y = y.repeat(g).reshape(b, 1, 1, 1).expand(b, 1, h, w)  # sample i gets group i % (B/G)
        return torch.cat([x, y], dim=1)


class EqualizedConv2d(nn.Conv2d):
    """A convolution whose weights are N(0, 1) and scaled by ``sqrt(2 / fan_in)`` at every call (§4.1).

    With ``equalized=False`` it is a plain ``nn.Conv2d`` with PyTorch's default initialisation
    (the ablation).
    """

    def __init__(self, *args, equalized: bool = True, gain: float = math.sqrt(2), **kwargs):
        super().__init__(*args, **kwargs)
        self.equalized = equalized
        self.scale = gain / math.sqrt(self.weight[0].numel()) if equalized else 1.0
        if equalized:
            nn.init.normal_(self.weight)
            if self.bias is not None:
                nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * self.scale, self.bias)


class EqualizedLinear(nn.Linear):
    """A linear layer with the equalised learning rate of §4.1 (see :class:`EqualizedConv2d`)."""

    def __init__(self, *args, equalized: bool = True, gain: float = math.sqrt(2), **kwargs):
        super().__init__(*args, **kwargs)
        self.scale = gain / math.sqrt(self.in_features) if equalized else 1.0
        if equalized:
            nn.init.normal_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def _n_levels(max_resolution: int) -> int:
    if not isinstance(max_resolution, int) or max_resolution < 4 or max_resolution & (max_resolution - 1):
        raise ValueError(f"max_resolution must be a power of two ≥ 4 (4, 8, …, 1024), got {max_resolution!r}")
    return int(math.log2(max_resolution)) - 1  # 4×4 is level 0


class Generator(nn.Module):
    """Progressive generator: ``forward(z (B, latent_dim), depth, alpha) → (B, C, 4·2**depth, same)``.

    ``depth=None`` means the full resolution; ``alpha < 1`` fades in the block at ``depth``.
    ``pixel_norm=False`` and ``equalized=False`` switch those ideas off for ablations.
    """

    def __init__(
        self,
        latent_dim: int = 512,
        max_resolution: int = 1024,
        out_channels: int = 3,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        pixel_norm: bool = True,
        equalized: bool = True,
    ):
        super().__init__()
        self.latent_dim, self.max_resolution = latent_dim, max_resolution
        self.n_levels = _n_levels(max_resolution)
        nf = [feature_maps(s + 1, fmap_base, fmap_max) for s in range(self.n_levels)]
        self.channels = nf
        norm = PixelNorm if pixel_norm else nn.Identity
        eq = {"equalized": equalized}
        self.latent_norm = norm()  # the paper normalises z too
        # 4×4: the latent as a 1×1 image → 4×4 by a dense layer ("Conv 4×4" in Table 2)
        self.dense = EqualizedLinear(latent_dim, nf[0] * 16, gain=math.sqrt(2) / 4, **eq)
        self.blocks = nn.ModuleList()
        self.blocks.append(
            nn.Sequential(
                nn.LeakyReLU(0.2),
                norm(),
                EqualizedConv2d(nf[0], nf[0], 3, padding=1, **eq),
                nn.LeakyReLU(0.2),
                norm(),
            )
        )
        for lvl in range(1, self.n_levels):
            self.blocks.append(
                nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    EqualizedConv2d(nf[lvl - 1], nf[lvl], 3, padding=1, **eq), nn.LeakyReLU(0.2), norm(),
                    EqualizedConv2d(nf[lvl], nf[lvl], 3, padding=1, **eq), nn.LeakyReLU(0.2), norm(),
                )
            )  # fmt: skip
        # one linear 1×1 "toRGB" per resolution (gain 1: no non-linearity follows)
        self.to_rgb = nn.ModuleList(EqualizedConv2d(c, out_channels, 1, gain=1.0, **eq) for c in nf)

    def resolution(self, depth: int) -> int:
        return 4 * 2**depth

    def forward(self, z: torch.Tensor, depth: int | None = None, alpha: float = 1.0) -> torch.Tensor:
        depth = self.n_levels - 1 if depth is None else depth
        if not 0 <= depth < self.n_levels:
            raise ValueError(
                f"depth must be in 0..{self.n_levels - 1} (4×4..{self.max_resolution}²), got {depth}"
            )
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected z of shape (B, {self.latent_dim}), got {tuple(z.shape)}")
        h = self.dense(self.latent_norm(z)).reshape(len(z), self.channels[0], 4, 4)  # (B, C0, 4, 4)
        h = self.blocks[0](h)
        for lvl in range(1, depth + 1):
            prev, h = h, self.blocks[lvl](h)  # (B, C_lvl, 4·2**lvl, same)
        new = self.to_rgb[depth](h)
        if depth == 0 or alpha >= 1.0:
            return new
        old = F.interpolate(self.to_rgb[depth - 1](prev), scale_factor=2, mode="nearest")
        return fade_in(alpha, old, new)


class Discriminator(nn.Module):
    """Progressive discriminator: ``forward(images (B, C, R, R), alpha) → (B,)`` logits.

    The depth is read from the image side ``R = 4·2**depth``. ``minibatch_std=False`` removes
    the minibatch standard-deviation feature (ablation).
    """

    def __init__(
        self,
        max_resolution: int = 1024,
        in_channels: int = 3,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        minibatch_std: bool = True,
        group_size: int = 4,
        equalized: bool = True,
    ):
        super().__init__()
        self.max_resolution = max_resolution
        self.n_levels = _n_levels(max_resolution)
        nf = [feature_maps(s + 1, fmap_base, fmap_max) for s in range(self.n_levels)]
        self.channels = nf
        eq = {"equalized": equalized}
        self.from_rgb = nn.ModuleList(
            nn.Sequential(EqualizedConv2d(in_channels, c, 1, **eq), nn.LeakyReLU(0.2)) for c in nf
        )
        self.blocks = nn.ModuleList()
        # level 0 (4×4): [minibatch std] → conv 3×3 → conv 4×4 ("dense") → linear → 1
        extra = 1 if minibatch_std else 0
        self.blocks.append(
            nn.Sequential(
                MinibatchStdDev(group_size) if minibatch_std else nn.Identity(),
                EqualizedConv2d(nf[0] + extra, nf[0], 3, padding=1, **eq), nn.LeakyReLU(0.2),
                EqualizedConv2d(nf[0], nf[0], 4, **eq), nn.LeakyReLU(0.2),  # (B, C0, 1, 1)
                nn.Flatten(), EqualizedLinear(nf[0], 1, gain=1.0, **eq),
            )
        )  # fmt: skip
        for lvl in range(1, self.n_levels):
            self.blocks.append(
                nn.Sequential(
                    EqualizedConv2d(nf[lvl], nf[lvl], 3, padding=1, **eq), nn.LeakyReLU(0.2),
                    EqualizedConv2d(nf[lvl], nf[lvl - 1], 3, padding=1, **eq), nn.LeakyReLU(0.2),
                    nn.AvgPool2d(2),
                )
            )  # fmt: skip

    def forward(self, x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"expected images (B, C, H, W), got shape {tuple(x.shape)}")
        side = x.shape[-1]
        depth = int(round(math.log2(max(side, 1)))) - 2
        if x.shape[-2] != side or side != 4 * 2**depth or not 0 <= depth < self.n_levels:
            raise ValueError(
                f"images must be square with side 4, 8, …, {self.max_resolution}; got {tuple(x.shape[-2:])}"
            )
        h = self.blocks[depth](self.from_rgb[depth](x))  # (B, C_{depth-1}, R/2, R/2), or logits at 4×4
        if depth > 0 and alpha < 1.0:
            old = self.from_rgb[depth - 1](F.avg_pool2d(x, 2))  # the previous resolution's path
            h = fade_in(alpha, old, h)
        for lvl in range(depth - 1, -1, -1):
            h = self.blocks[lvl](h)
        return h.squeeze(1)  # (B,)


class ProgressiveSchedule:
    """Which resolution and fade-in α to train at, as a function of training progress in [0, 1].

    Training is a sequence of phases: stabilise 4×4, fade in 8×8, stabilise 8×8, …, stabilise
    the final resolution. The paper gives each phase 800 k images; here a wall-clock budget is
    shared: the last phase gets ``final_share`` of it and the others equal parts (a deviation
    that spends more time where the final images are made).
    """

    def __init__(self, n_levels: int, final_share: float = 0.4):
        if n_levels < 1:
            raise ValueError(f"n_levels must be ≥ 1, got {n_levels}")
        if not 0.0 < final_share <= 1.0:
            raise ValueError(f"final_share must be in (0, 1], got {final_share}")
        self.n_levels = n_levels
        # phases: (depth, fading?) : stable 0, fade 1, stable 1, …
        self.phases = [(0, False)] + [(d, f) for d in range(1, n_levels) for f in (True, False)]
        n = len(self.phases)
        share = (1.0 - final_share) / (n - 1) if n > 1 else 0.0
        self.bounds = [share * i for i in range(n)] + [1.0]  # phase i spans bounds[i]..bounds[i+1]
        if n == 1:
            self.bounds = [0.0, 1.0]

    def __call__(self, progress: float) -> tuple[int, float]:
        """``(depth, alpha)`` at ``progress`` (fraction of the budget used)."""
        p = min(max(float(progress), 0.0), 1.0)
        for i, (depth, fading) in enumerate(self.phases):
            lo, hi = self.bounds[i], self.bounds[i + 1]
            if p < hi or i == len(self.phases) - 1:
                return depth, (min((p - lo) / (hi - lo), 1.0) if fading else 1.0)
        raise AssertionError("unreachable")

    def plot(self, ax=None):
        """Draw resolution and α against training progress."""
        import matplotlib.pyplot as plt

        ax = ax or plt.gca()
        ts = torch.linspace(0, 1, 400).tolist()
        vals = [self(t) for t in ts]
        ax.plot(ts, [d - 1 + a for d, a in vals])  # a fading level climbs from the previous one
        ax.set_yticks(range(self.n_levels), [f"{4 * 2**d}²" for d in range(self.n_levels)])
        ax.set_xlabel("fraction of the training budget")
        ax.set_ylabel("resolution")
        ax.grid(alpha=0.3)
        return ax
