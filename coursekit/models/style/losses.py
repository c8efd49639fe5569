"""The perceptual losses of neural style transfer: Gram matrices, content, style, total variation.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016:

    L(x) = alpha * L_content(x, c) + beta * sum_l w_l * E_l(x, s)                     (Eq. 7)
    E_l  = || G_l(x) - G_l(s) ||^2,   G_l = F_l F_l^T / (C_l H_l W_l)                 (Eq. 3-4)

and the guided Gram matrices of Gatys et al., "Controlling Perceptual Factors in Neural Style
Transfer", CVPR 2017 (spatial control: one style per masked region). Deviations, each written
where it happens: losses are means instead of sums (so weights do not depend on the image size);
a total-variation term is available (Johnson et al. 2016, not Gatys).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ... import validate
from .features import CONTENT_LAYERS, STYLE_LAYERS, VGGFeatures, check_image

__all__ = [
    "PerceptualLoss",
    "content_loss",
    "gram_matrix",
    "guided_gram_matrix",
    "style_loss",
    "total_variation",
]


def _without_autocast(dev: torch.device) -> contextlib.AbstractContextManager:
    """Switch mixed precision off for one product (autocast exists for CUDA and the CPU here)."""
    if dev.type in ("cuda", "cpu"):
        return torch.autocast(dev.type, enabled=False)
    return contextlib.nullcontext()


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C): channel correlations, normalised by C*H*W (Eq. 3)."""
    validate.tensor(features, "features", ndim=4)
    b, c, h, w = features.shape
    # float32 even under autocast: a sum over H*W products overflows fp16 (max 65504)
    f = features.float().reshape(b, c, h * w)  # (B, C, HW)
    with _without_autocast(f.device):
        return f @ f.transpose(1, 2) / (c * h * w)  # (B, C, C)


def guided_gram_matrix(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Gram matrix of the features inside a soft mask (Gatys et al. 2017, Sec. 4, Eq. 3-4).

    features (B, C, H, W); mask (B or 1, 1, H', W') in [0, 1], resized to (H, W). Normalised by
    C times the mask's area, so a region's Gram does not depend on how large the region is.
    """
    m = F.interpolate(mask, size=features.shape[-2:], mode="bilinear", align_corners=False)
    b, c, h, w = features.shape
    f = (features.float() * m.float()).reshape(b, c, h * w)  # (B, C, HW), float32 as in gram_matrix
    area = m.float().flatten(1).sum(1).clamp_min(1e-6).view(-1, 1, 1)  # deviation: paper divides by HW
    with _without_autocast(f.device):
        return f @ f.transpose(1, 2) / (c * area)  # (B, C, C)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of features (Eq. 1; a mean where the paper has half a sum)."""
    return F.mse_loss(features, target)


def style_loss(
    features: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    weights: Mapping[str, float] | None = None,
) -> torch.Tensor:
    """sum_l w_l * mean((G_l(features) - target_l)^2) (Eq. 4-5), w_l = 1/L by default."""
    layers = list(target_grams)
    if weights is None:
        weights = {layer: 1.0 / len(layers) for layer in layers}
    total = 0.0
    for layer in layers:
        gram = gram_matrix(features[layer])  # (B, C, C)
        total = total + weights[layer] * F.mse_loss(gram, target_grams[layer].expand_as(gram))
    return total


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels, down plus across: (B, C, H, W) -> scalar.

    The smoothness prior of Mahendran & Vedaldi 2015 (beta = 2) used by Johnson et al. 2016.
    """
    down = (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean()
    across = (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()
    return down + across


class PerceptualLoss(nn.Module):
    """Content + style + total-variation loss on named VGG layers, with stored style targets.

    ``loss = PerceptualLoss(features, style_image)``; ``loss(x, content_image)`` returns a dict
    with "loss" (weighted sum), "content", "style" and "tv" (unweighted). Style targets may also be
    given as a ``{layer: gram}`` dict (to mix styles per layer: scale control), and regions as
    ``masks`` with one style image per mask (spatial control).
    """

    def __init__(
        self,
        features: VGGFeatures,
        style: torch.Tensor | Sequence[torch.Tensor] | Mapping[str, torch.Tensor],
        *,
        content_layers: Sequence[str] = CONTENT_LAYERS,
        style_layers: Sequence[str] = STYLE_LAYERS,
        content_weight: float = 1.0,
        style_weight: float = 10.0,
        tv_weight: float = 0.0,
        masks: torch.Tensor | None = None,
        style_scale: float = 1.0,
    ):
        super().__init__()
        self.features = features
        self.content_layers, self.style_layers = tuple(content_layers), tuple(style_layers)
        missing = set(self.content_layers + self.style_layers) - set(features.layers)
        if missing:
            raise ValueError(f"features does not compute layers {sorted(missing)}")
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        self.masks = masks  # (R, 1, H, W) or None
        self.targets = self.style_targets(style, style_scale)  # [ {layer: (1, C, C)} per region ]
        # w_l = 1 / (L * mean(A_l^2)): every layer counts equally (deviation from the paper's
        # w_l = 1/L, whose balance between layers depends on the network's weights)
        self.layer_weights = [
            {layer: 1.0 / (len(t) * g.pow(2).mean().clamp_min(1e-30).item()) for layer, g in t.items()}
            for t in self.targets
        ]

    @torch.no_grad()
    def style_targets(self, style, scale: float = 1.0) -> list[dict[str, torch.Tensor]]:
        if isinstance(style, Mapping):
            unknown = set(style) - set(self.style_layers)
            if unknown:
                raise ValueError(f"style targets for layers {sorted(unknown)} not in style_layers")
            return [{layer: g.detach() for layer, g in style.items()}]
        styles = [style] if isinstance(style, torch.Tensor) else list(style)
        n_regions = 1 if self.masks is None else self.masks.shape[0]
        if len(styles) != n_regions:
            raise ValueError(f"give one style image per mask: {n_regions} masks, {len(styles)} styles")
        targets = []
        for i, s in enumerate(styles):
            s = check_image(s, f"style image {i}")
            if scale != 1.0:  # scale control: larger style image -> smaller strokes, and back
                s = F.interpolate(s, scale_factor=scale, mode="bilinear", antialias=True)
            s = s.to(self.features.mean.device)
            feats = self.features(s)
            targets.append({layer: gram_matrix(feats[layer]) for layer in self.style_layers})
        return targets

    def forward(
        self, x: torch.Tensor, content: torch.Tensor | Mapping[str, torch.Tensor] | None
    ) -> dict[str, torch.Tensor]:
        # x: (B, 3, H, W) in [0, 1]; content: an image batch or its precomputed features
        feats = self.features(x)
        zero = x.new_zeros(())
        c_loss = zero
        if content is not None and self.content_weight:
            c_feats = content if isinstance(content, Mapping) else self.features(content)
            for layer in self.content_layers:
                target = c_feats[layer].detach()
                # deviation: divided by the target's mean square, so that the weights mean the
                # same with ImageNet and with random VGG weights (whose features shrink with depth)
                c_loss = c_loss + content_loss(feats[layer], target) / target.pow(2).mean().clamp_min(1e-12)
            c_loss = c_loss / len(self.content_layers)
        s_loss = zero
        for r, (target, weights) in enumerate(zip(self.targets, self.layer_weights)):
            if self.masks is None:
                s_loss = s_loss + style_loss(feats, target, weights)
            else:
                mask = self.masks[r : r + 1].to(x)
                s_loss = s_loss + sum(
                    weights[layer]
                    * F.mse_loss(
                        guided_gram_matrix(feats[layer], mask), target[layer].expand(x.shape[0], -1, -1)
                    )
                    for layer in target
                )
        tv = total_variation(x) if self.tv_weight else zero
        loss = self.content_weight * c_loss + self.style_weight * s_loss + self.tv_weight * tv
        return {"loss": loss, "content": c_loss.detach(), "style": s_loss.detach(), "tv": tv.detach()}
