"""Attention layers for images: over channels, over positions, and as masks.

* :class:`SqueezeExcitation` — Hu, Shen, Sun, "Squeeze-and-Excitation Networks", CVPR 2018
  (code: github.com/hujie-frank/SENet). Global average pool → FC (C/r) → ReLU → FC (C) → sigmoid,
  and the input's channels are multiplied by these weights.
* :class:`NonLocalBlock` — Wang, Girshick, Gupta, He, "Non-local Neural Networks", CVPR 2018
  (code: github.com/facebookresearch/video-nonlocal-net). Embedded Gaussian version, Eq. (1)-(3),(6):
  ``y_i = 1/C(x) Σ_j exp(θ(x_i)ᵀ φ(x_j)) g(x_j)`` and ``z_i = W_z y_i + x_i``, with θ, φ, g at C/2
  channels, keys/values optionally max-pooled by 2 ("subsampling", §3.3), and batch norm after
  W_z whose scale starts at zero, so the block is the identity at initialisation.
* :class:`SelfAttention` — Zhang, Goodfellow, Metaxas, Odena, "Self-Attention Generative
  Adversarial Networks", ICML 2019 (arXiv 2018; code: github.com/brain-research/self-attention-gan).
  Query/key 1×1 convolutions at C/8 channels, ``o = v(softmax(f(x)ᵀ g(x)) h(x))`` and
  ``y = γ o + x`` with a learnable γ that starts at 0 (identity at initialisation).
* :class:`ResidualAttentionModule` — Wang et al., "Residual Attention Network for Image
  Classification", CVPR 2017 (code: github.com/fwang91/residual-attention-network). A trunk branch
  T and a bottom-up/top-down mask branch M (sigmoid), combined by attention residual learning
  ``H = (1 + M) · T`` (Eq. 3).

Every position-attention layer keeps the attention map of its last forward pass in
``.last_attention`` when ``keep_attention`` is set (shape ``(B, heads, H·W, H'·W')``: one row per
position of the ``.last_query_size = (H, W)`` grid, summing to one over the key positions of a
``.last_key_size = (H', W')`` grid),
or returns it with ``forward(x, return_attention=True)``. Without a map to keep, the layers call
:func:`torch.nn.functional.scaled_dot_product_attention` (memory-efficient kernels on a GPU).

Legend: B batch, C channels, H×W the query grid, H'×W' the key grid (H·W = N, H'·W' = M).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate

__all__ = [
    "NonLocalBlock",
    "ResidualAttentionModule",
    "SelfAttention",
    "SqueezeExcitation",
    "dot_product_attention",
]


def _input(x: torch.Tensor, channels: int, name: str) -> None:
    """The input of a layer built for ``channels``: (B, C, H, W) through :func:`validate.tensor`,
    then the layer's own channel count, with the fix that fits a layer (rebuild it)."""
    validate.tensor(x, f"{name}'s input", ndim=4)
    if x.shape[1] != channels:
        raise ValueError(
            f"{name}'s input must be a tensor of shape (B, {channels}, H, W) (the layer was built with "
            f"channels={channels}), got {tuple(x.shape)}; build it with channels={x.shape[1]} or fix the layer before it"
        )


def dot_product_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scale: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``softmax(scale · Q Kᵀ) V`` with the attention weights.

    Shapes: query (..., N, D), key (..., M, D), value (..., M, Dv) → output (..., N, Dv) and
    weights (..., N, M), each row summing to one. ``scale`` defaults to ``1/sqrt(D)`` (Vaswani et
    al. 2017); the non-local block and SAGAN use ``scale=1`` (no scaling in their papers).
    """
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"query and key need the same last dimension, got {query.shape[-1]} and {key.shape[-1]}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"key and value need the same number of positions, got {key.shape[-2]} and {value.shape[-2]}"
        )
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    logits = (query @ key.transpose(-2, -1)) * scale  # (..., N, M)
    weights = logits.softmax(dim=-1)
    return weights @ value, weights  # (..., N, Dv), (..., N, M)


class _PositionAttention2d(nn.Module):
    """Shared machinery: 1×1 projections to query/key/value, multi-head attention over positions."""

    keep_attention: bool
    last_attention: torch.Tensor | None
    last_key_size: tuple[int, int] | None
    last_query_size: tuple[int, int] | None

    def __init__(self, channels: int, heads: int, subsample: bool) -> None:
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        self.channels = channels
        self.heads = heads
        self.subsample = subsample
        self.keep_attention = False
        self.last_attention = None
        self.last_key_size = None
        self.last_query_size = None

    def _attend(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float, want_map: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """q (B, Cq, H, W), k (B, Cq, H', W'), v (B, Cv, H', W') → y (B, Cv, H, W), map or None."""
        b, _, h, w = q.shape
        hk, wk = k.shape[-2:]
        nh = self.heads

        def heads(t: torch.Tensor) -> torch.Tensor:  # (B, C, h, w) -> (B, heads, h·w, C/heads)
            return t.reshape(b, nh, t.shape[1] // nh, -1).transpose(-2, -1)

        qh, kh, vh = heads(q), heads(k), heads(v)
        if want_map:
            y, attn = dot_product_attention(qh, kh, vh, scale=scale)  # (B, nh, N, dv), (B, nh, N, M)
        else:
            y, attn = F.scaled_dot_product_attention(qh, kh, vh, scale=scale), None
        y = y.transpose(-2, -1).reshape(b, -1, h, w)  # (B, Cv, H, W)
        self.last_key_size, self.last_query_size = (hk, wk), (h, w)
        return y, attn

    def _pool(self, t: torch.Tensor) -> torch.Tensor:
        # Subsample keys/values by 2×2 max-pooling (non-local §3.3, SAGAN code); grids smaller than
        # 2 in a side are left as they are, so any spatial size works.
        if self.subsample and min(t.shape[-2:]) >= 2:
            return F.max_pool2d(t, 2, ceil_mode=True)
        return t

    def _store(self, attn: torch.Tensor | None) -> None:
        self.last_attention = attn.detach() if (attn is not None and self.keep_attention) else None


class NonLocalBlock(_PositionAttention2d):
    """Embedded-Gaussian non-local block (Wang et al. 2018), the identity at initialisation.

    Args:
        channels: C, input and output channels.
        inner_channels: channels of θ, φ, g (default C/2, as in the paper).
        subsample: max-pool φ and g by 2 (the paper's cheaper variant; default False so that a
            query can reach every pixel; the paper uses True in its video models).
        heads: split θ, φ, g into this many heads (the paper uses one; several heads are our
            extension, the same idea as multi-head attention).
        norm: batch norm after W_z with its scale initialised to 0 (paper). With ``norm=False``
            W_z's weights and bias start at 0 instead; either way the block starts as the identity.
    """

    def __init__(
        self,
        channels: int,
        inner_channels: int | None = None,
        *,
        subsample: bool = False,
        heads: int = 1,
        norm: bool = True,
    ) -> None:
        super().__init__(channels, heads, subsample)
        inner = inner_channels if inner_channels is not None else max(1, channels // 2)
        if inner % heads:
            raise ValueError(f"inner_channels ({inner}) must be divisible by heads ({heads})")
        self.inner_channels = inner
        self.theta = nn.Conv2d(channels, inner, 1)
        self.phi = nn.Conv2d(channels, inner, 1)
        self.g = nn.Conv2d(channels, inner, 1)
        self.out = nn.Conv2d(inner, channels, 1)  # W_z
        if norm:
            self.norm: nn.Module = nn.BatchNorm2d(channels)
            nn.init.zeros_(self.norm.weight)  # "scale initialised as zero": identity at start
        else:
            self.norm = nn.Identity()
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        _input(x, self.channels, "NonLocalBlock")
        q = self.theta(x)  # (B, C/2, H, W)
        k = self._pool(self.phi(x))  # (B, C/2, H', W')
        v = self._pool(self.g(x))  # (B, C/2, H', W')
        want = return_attention or self.keep_attention
        y, attn = self._attend(q, k, v, scale=1.0, want_map=want)  # embedded Gaussian: no 1/sqrt(d)
        self._store(attn)
        z = self.norm(self.out(y)) + x  # Eq. (6): z = W_z y + x, (B, C, H, W)
        return (z, attn) if return_attention else z


class SelfAttention(_PositionAttention2d):
    """SAGAN self-attention (Zhang et al. 2019): ``y = γ · v(attention) + x`` with γ starting at 0.

    Args:
        channels: C.
        reduction: query/key channels are C/reduction (paper: 8).
        value_channels: channels of h(x) before the output projection v (paper: C/8 as well
            — "C̄ = C/8"; the authors' TensorFlow code uses C/2). Default C/8.
        subsample: max-pool keys and values by 2 (authors' code; the paper has no pooling;
            default False).
        heads: split query/key/value into heads (our extension; the paper uses one).
        spectral_norm: wrap the 1×1 convolutions in spectral normalisation (the SAGAN
            generator and discriminator do).
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 8,
        *,
        value_channels: int | None = None,
        subsample: bool = False,
        heads: int = 1,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__(channels, heads, subsample)
        qk = max(heads, channels // reduction)
        vc = value_channels if value_channels is not None else max(heads, channels // reduction)
        if qk % heads or vc % heads:
            raise ValueError(
                f"query/key ({qk}) and value ({vc}) channels must be divisible by heads ({heads})"
            )
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        # W_f, W_g, W_h, W_v are plain matrices in the paper (Eq. 1-2): no biases, as in the
        # authors' sn_conv1x1 and BigGAN's attention
        # the paper's s_ij = f(x_i)ᵀ g(x_j) is normalised over i, the positions looked at: f gives the
        # keys and g the queries (the position j being computed)
        self.query = sn(nn.Conv2d(channels, qk, 1, bias=False))  # g
        self.key = sn(nn.Conv2d(channels, qk, 1, bias=False))  # f
        self.value = sn(nn.Conv2d(channels, vc, 1, bias=False))  # h
        self.out = sn(nn.Conv2d(vc, channels, 1, bias=False))  # v
        self.gamma = nn.Parameter(torch.zeros(1))  # "γ is initialised as 0"

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        _input(x, self.channels, "SelfAttention")
        q = self.query(x)  # (B, C/8, H, W)
        k = self._pool(self.key(x))  # (B, C/8, H', W')
        v = self._pool(self.value(x))  # (B, Cv, H', W')
        want = return_attention or self.keep_attention
        y, attn = self._attend(q, k, v, scale=1.0, want_map=want)  # paper: plain f(x)ᵀg(x), no scaling
        self._store(attn)
        z = self.gamma * self.out(y) + x  # (B, C, H, W)
        return (z, attn) if return_attention else z


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): reweigh channels by global context.

    ``s = σ(W₂ δ(W₁ mean_hw(x)))`` with W₁: C → C/r, W₂: C/r → C (Eq. 2-3), output ``x · s``
    (Eq. 4). The last weights are kept in ``.last_weights`` (B, C).

    Args:
        channels: C.
        reduction: r (paper: 16).
        identity_init: our option, off by default: the gate becomes ``2σ(·)`` with W₂ and its
            bias at zero, so the layer is exactly the identity at initialisation (the paper's
            gate starts near 0.5 for every channel).
    """

    def __init__(self, channels: int, reduction: int = 16, *, identity_init: bool = False) -> None:
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        self.channels = channels
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        self.identity_init = identity_init
        if identity_init:
            nn.init.zeros_(self.fc2.weight)
            nn.init.zeros_(self.fc2.bias)
        self.last_weights: torch.Tensor | None = None

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) → channel weights (B, C) in (0, 1) (or (0, 2) with ``identity_init``)."""
        _input(x, self.channels, "SqueezeExcitation")
        squeeze = x.mean(dim=(2, 3))  # (B, C)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(squeeze))))  # (B, C)
        return 2 * s if self.identity_init else s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.gate(x)
        self.last_weights = s.detach()
        return x * s[:, :, None, None]  # (B, C, H, W)


class _PreActUnit(nn.Module):
    """Pre-activation bottleneck residual unit (He et al. 2016), the paper's building block."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        mid = max(1, channels // 4)
        self.body = nn.Sequential(
            nn.BatchNorm2d(channels), nn.ReLU(inplace=False), nn.Conv2d(channels, mid, 1, bias=False),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=False), nn.Conv2d(mid, mid, 3, padding=1, bias=False),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=False), nn.Conv2d(mid, channels, 1, bias=False),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualAttentionModule(nn.Module):
    """One attention module of the Residual Attention Network (Wang et al. 2017).

    ``p`` units → split into a trunk (``t`` units) and a soft mask branch (``depth`` levels of
    max-pool + ``r`` units down, bilinear up-sampling with skip connections back, two 1×1
    convolutions and a sigmoid) → ``(1 + M) · T`` → ``p`` units. The paper's hyper-parameters
    are p=1, t=2, r=1; its first stage (56×56 maps) uses depth 3 (two skip connections).
    ``.last_mask`` keeps the mask M (B, C, H, W) of the last forward pass.

    ``mask_start`` (our option, off by default): the mask head's last 1×1 convolution starts with
    zero weights and the bias ``logit(mask_start)``, so M starts at that value everywhere and the
    module at ``(1 + mask_start)·T``: its own ablation (the same units without a mask) up to a
    constant factor. The paper initialises every layer at random, so its masks start near 0.5
    with random variation over positions.
    """

    def __init__(self, channels: int, depth: int = 2, *, p: int = 1, t: int = 2, r: int = 1,
                 mask_start: float | None = None) -> None:
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.channels = channels
        self.depth = depth
        self.pre = nn.Sequential(*[_PreActUnit(channels) for _ in range(p)])
        self.trunk = nn.Sequential(*[_PreActUnit(channels) for _ in range(t)])
        self.down = nn.ModuleList(
            nn.Sequential(*[_PreActUnit(channels) for _ in range(r)]) for _ in range(depth)
        )
        self.skips = nn.ModuleList(_PreActUnit(channels) for _ in range(depth - 1))
        self.up = nn.ModuleList(
            nn.Sequential(*[_PreActUnit(channels) for _ in range(r)]) for _ in range(depth - 1)
        )
        self.mask_head = nn.Sequential(
            nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.Sigmoid(),
        )  # fmt: skip
        if mask_start is not None:
            if not 0 < mask_start < 1:
                raise ValueError(f"mask_start must lie in (0, 1) (the sigmoid's range), got {mask_start}")
            nn.init.zeros_(self.mask_head[-2].weight)
            nn.init.constant_(self.mask_head[-2].bias, math.log(mask_start / (1 - mask_start)))  # σ⁻¹
        self.post = nn.Sequential(*[_PreActUnit(channels) for _ in range(p)])
        self.last_mask: torch.Tensor | None = None

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        """Bottom-up/top-down soft mask branch: (B, C, H, W) → M in (0, 1), same shape."""
        sizes, skips = [], []
        h = x
        for level in range(self.depth):
            sizes.append(h.shape[-2:])
            if min(h.shape[-2:]) >= 2:  # tiny maps are not pooled further (any input size works)
                h = F.max_pool2d(h, 2, ceil_mode=True)
            h = self.down[level](h)
            if level < self.depth - 1:
                skips.append(self.skips[level](h))
        for level in reversed(range(self.depth - 1)):
            h = F.interpolate(h, size=tuple(skips[level].shape[-2:]), mode="bilinear", align_corners=False)
            h = self.up[level](h + skips[level])
        h = F.interpolate(h, size=tuple(sizes[0]), mode="bilinear", align_corners=False)  # (B, C, H, W)
        return self.mask_head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _input(x, self.channels, "ResidualAttentionModule")
        x = self.pre(x)
        trunk = self.trunk(x)  # T(x), (B, C, H, W)
        m = self.mask(x)  # M(x), (B, C, H, W)
        self.last_mask = m.detach()
        return self.post((1 + m) * trunk)  # Eq. (3): attention residual learning
