"""Neural style transfer by optimisation, and its perceptual controls.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016:
an image ``x`` is optimised so that its deep features match a content image's (content loss, one
deep layer) and the correlations between its feature channels (Gram matrices) match a style
image's (style loss, five layers from fine to coarse):

    L(x) = alpha * L_content(x, c) + beta * sum_l w_l * E_l(x, s)                     (Eq. 7)
    E_l  = || G_l(x) - G_l(s) ||^2,   G_l = F_l F_l^T / (C_l H_l W_l)                 (Eq. 3-4)

Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual Factors in Neural Style
Transfer", CVPR 2017: colour control (transfer on luminance only, or match the style's colours to
the content's first), spatial control (guided Gram matrices from masks: one style per region) and
scale control (the size of the style's structures follows the style image's resolution; fine
layers from one style, coarse from another).

Reference code: the authors' github.com/leongatys/PytorchNeuralStyleTransfer (and
github.com/leongatys/NeuralImageSynthesis for the 2017 controls).

Deviations from the paper, each written where it happens: layers are taken after the ReLU (the
paper's "conv4_2" is the rectified output, as in the authors' code: ``r42``); losses are means
instead of sums (so weights are independent of the image size); max-pools are replaced by average
pools, as the paper itself recommends; a total-variation term is available (used by Johnson et
al. 2016 and most later work, not by Gatys).
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..features import FeatureExtractor

__all__ = [
    "CONTENT_LAYERS",
    "STYLE_LAYERS",
    "MAX_SIDE",
    "PerceptualLoss",
    "VGGFeatures",
    "check_image",
    "content_loss",
    "gram_matrix",
    "guided_gram_matrix",
    "LBFGS_CHUNK",
    "lbfgs",
    "luminance",
    "match_color",
    "preserve_luminance_colors",
    "style_loss",
    "total_variation",
    "transfer",
]

#: Gatys et al. 2016: content from conv4_2, style from conv1_1 ... conv5_1 (after their ReLUs).
CONTENT_LAYERS = ("relu4_2",)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

#: Images larger than this (longest side, pixels) are downscaled, with a message.
MAX_SIDE = 1024


# ---------------------------------------------------------------------------------------------
# Input checking
# ---------------------------------------------------------------------------------------------
def check_image(image: torch.Tensor, name: str = "image", max_side: int = MAX_SIDE) -> torch.Tensor:
    """Validate and tidy one image: returns (1, 3, H, W) float in [0, 1].

    Accepts (3, H, W), (1, 3, H, W), and grey (H, W), (1, H, W) or (1, 1, H, W) images (grey is
    repeated over three channels: VGG expects colour). Larger than ``max_side`` -> downscaled with
    a printed message.
    """
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if not image.is_floating_point():
        raise TypeError(f"{name} must be a float tensor in [0, 1], got {image.dtype}; divide by 255")
    x = image
    if x.dim() == 2:  # (H, W)
        x = x[None]
    if x.dim() == 3:  # (C, H, W)
        x = x[None]
    if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] not in (1, 3):
        raise ValueError(
            f"{name} must be one image of shape (3, H, W) or (1, 3, H, W) (grey: (H, W)), "
            f"got {tuple(image.shape)}"
        )
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)  # grey -> RGB
    if min(x.shape[-2:]) < 16:
        raise ValueError(f"{name} is {tuple(x.shape[-2:])}: too small for VGG, use at least 16x16")
    if max(x.shape[-2:]) > max_side:
        scale = max_side / max(x.shape[-2:])
        size = (round(x.shape[-2] * scale), round(x.shape[-1] * scale))
        print(f"{name}: {tuple(x.shape[-2:])} is larger than {max_side} pixels; downscaled to {size}")
        x = F.interpolate(x, size=size, mode="area")
    return x.clamp(0, 1)


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _load_vgg(name: str):
    from .. import pretrained

    # loaded (or announced as the fallback) once per process; the classifier is not needed
    return pretrained.load(name, classifier=False)


class VGGFeatures(nn.Module):
    """Named VGG features of images in [0, 1]: ``VGGFeatures()(x) -> {"relu1_1": ..., ...}``.

    Wraps ``coursekit.pretrained.load(name)`` (ImageNet weights when cached, else the announced
    random-weight fallback, see ``self.info``) with ImageNet normalisation, frozen weights and
    only the layers up to the deepest one asked for.
    """

    def __init__(
        self,
        layers: Sequence[str] = STYLE_LAYERS + CONTENT_LAYERS,
        name: str = "vgg19",
        pool: str = "avg",
        model: nn.Module | None = None,
        info=None,
    ):
        super().__init__()
        from .. import pretrained

        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        paths = pretrained.vgg_layers(name)
        unknown = [layer for layer in layers if layer not in paths]
        if unknown:
            raise ValueError(f"unknown VGG layers {unknown}; valid names look like {list(paths)[:6]}")
        if model is None:
            model, info = _load_vgg(name)
        self.info = info
        deepest = max(int(paths[layer].split(".")[1]) for layer in layers)
        modules = []
        for module in list(model.features)[: deepest + 1]:
            if isinstance(module, nn.MaxPool2d) and pool == "avg":
                module = nn.AvgPool2d(2, 2)  # Gatys et al. 2016, Sec. 2: "improves gradient flow"
            if isinstance(module, nn.ReLU):
                module = nn.ReLU(inplace=False)  # in-place would overwrite the hooked conv outputs
            modules.append(module)
        self.features = nn.Sequential(*modules)
        self.requires_grad_(False).eval()
        mean = info.mean if info is not None else (0.485, 0.456, 0.406)
        std = info.std if info is not None else (0.229, 0.224, 0.225)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.layers = tuple(layers)
        self.extractor = FeatureExtractor(
            self.features, {layer: paths[layer].split(".", 1)[1] for layer in layers}
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        # x: (B, 3, H, W) in [0, 1] -> {layer: (B, C_l, H_l, W_l)}
        return self.extractor((x - self.mean) / self.std)

    def train(self, mode: bool = True) -> VGGFeatures:
        return super().train(False)  # always eval: a fixed feature space


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------
def _without_autocast(dev: torch.device) -> contextlib.AbstractContextManager:
    """Switch mixed precision off for one product (autocast exists for CUDA and the CPU here)."""
    if dev.type in ("cuda", "cpu"):
        return torch.autocast(dev.type, enabled=False)
    return contextlib.nullcontext()


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C): channel correlations, normalised by C*H*W (Eq. 3)."""
    if features.dim() != 4:
        raise ValueError(f"features must be (B, C, H, W), got shape {tuple(features.shape)}")
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


# ---------------------------------------------------------------------------------------------
# Colour control (Gatys et al. 2017, Sec. 5)
# ---------------------------------------------------------------------------------------------
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def luminance(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB -> (B, 1, H, W) luminance Y of YIQ."""
    return torch.einsum("kc,bchw->bkhw", _YIQ[:1].to(x), x)


def preserve_luminance_colors(stylised: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Keep the stylised image's luminance and the content's colour (I, Q) channels."""
    yiq_s = torch.einsum("kc,bchw->bkhw", _YIQ.to(stylised), stylised)
    yiq_c = torch.einsum("kc,bchw->bkhw", _YIQ.to(content), content)
    yiq = torch.cat([yiq_s[:, :1], yiq_c[:, 1:]], 1)
    return torch.einsum("kc,bchw->bkhw", torch.linalg.inv(_YIQ).to(yiq), yiq).clamp(0, 1)


def match_color(source: torch.Tensor, target: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Recolour ``source`` so its pixels' mean and covariance match ``target``'s (both (1,3,H,W)).

    x' = A (x - mu_s) + mu_t with A = Cov_t^(1/2) Cov_s^(-1/2): the linear colour transfer of
    Gatys et al. 2017 (Sec. 5.1, after Hertzmann's image analogies). The 3x3 statistics are
    computed in float64 on the CPU (MPS has no float64; a 3x3 eigendecomposition is no work
    for a GPU anyway); the result returns to ``source``'s device and dtype.
    """

    def stats(img):
        p = img.detach().reshape(3, -1).cpu().double()  # (3, N), float64 on the CPU
        mu = p.mean(1, keepdim=True)  # (3, 1)
        centred = p - mu
        cov = centred @ centred.T / max(p.shape[1] - 1, 1)  # (3, 3), unbiased
        return p, mu, cov + eps * torch.eye(3, dtype=p.dtype, device=p.device)

    def sqrtm(m, power):
        vals, vecs = torch.linalg.eigh(m)
        return vecs @ torch.diag(vals.clamp_min(eps) ** power) @ vecs.T

    p, mu_s, cov_s = stats(source)
    _, mu_t, cov_t = stats(target)
    a = sqrtm(cov_t, 0.5) @ sqrtm(cov_s, -0.5)
    out = a @ (p - mu_s) + mu_t
    return out.reshape(source.shape).to(device=source.device, dtype=source.dtype).clamp(0, 1)


# ---------------------------------------------------------------------------------------------
# The optimisation
# ---------------------------------------------------------------------------------------------
#: Function evaluations per call of L-BFGS (one progress-bar step).
LBFGS_CHUNK = 5


def lbfgs(params, lr: float = 1.0) -> torch.optim.LBFGS:
    """L-BFGS as used here: each ``.step(closure)`` runs up to ``LBFGS_CHUNK`` evaluations.

    With a strong-Wolfe line search: without one, L-BFGS on this problem now and then jumps to a
    point with a loss 10^4 times larger (measured). The line search needs several evaluations
    per call, hence chunks rather than one iteration per call. No tolerance stops: the number of
    steps decides.
    """
    return torch.optim.LBFGS(
        params,
        lr=lr,
        max_iter=LBFGS_CHUNK,
        max_eval=LBFGS_CHUNK,
        history_size=50,
        line_search_fn="strong_wolfe",
        tolerance_grad=0.0,
        tolerance_change=0.0,
    )


def transfer(
    content: torch.Tensor,
    style,
    *,
    features: VGGFeatures | None = None,
    steps: int = 300,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    content_weight: float = 1.0,
    style_weight: float = 10.0,
    tv_weight: float = 0.0,
    init: str = "content",
    preserve_color: str | None = None,
    masks: torch.Tensor | None = None,
    style_scale: float = 1.0,
    style_layers: Sequence[str] = STYLE_LAYERS,
    content_layers: Sequence[str] = CONTENT_LAYERS,
    max_seconds: float | None = None,
    device: torch.device | None = None,
    progress: bool = True,
    seed: int = 0,
):
    """Optimise an image (Gatys et al. 2016). Returns (image (1, 3, H, W) in [0, 1], History).

    ``content`` may be None (texture synthesis: style alone, from noise). ``style`` is an image,
    a list of images (one per mask in ``masks``, (R, 1, H, W)), or ``{layer: gram}`` targets.
    ``steps``: function evaluations (L-BFGS runs them in chunks of ``LBFGS_CHUNK``, one progress-
    bar step each) or Adam steps. ``optimizer``: "lbfgs" (the paper's) or "adam". ``preserve_color``: None, "luminance" (style
    transfer on luminance only) or "histogram" (recolour the style image first).
    """
    from ..runtime import device as default_device
    from ..train import loop

    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")
    if init not in ("content", "noise"):
        raise ValueError(f"init must be 'content' or 'noise', got {init!r}")
    if preserve_color not in (None, "luminance", "histogram"):
        raise ValueError(f"preserve_color must be None, 'luminance' or 'histogram', got {preserve_color!r}")
    dev = device or default_device()
    features = features if features is not None else VGGFeatures()
    features = features.to(dev)
    styles = style
    if content is not None:
        content = check_image(content, "content image").to(dev)
    elif init == "content":
        init = "noise"
    if isinstance(style, torch.Tensor):
        styles = [style]
    if not isinstance(style, Mapping):
        styles = [check_image(s, f"style image {i}").to(dev) for i, s in enumerate(styles)]
        if preserve_color == "histogram" and content is not None:
            styles = [match_color(s, content) for s in styles]
        if preserve_color == "luminance":
            # luminance-only transfer (Sec. 5.2): grey style matched to the content's Y statistics
            y_c = luminance(content) if content is not None else None
            grey = []
            for s in styles:
                y = luminance(s)
                if y_c is not None:
                    y = (y - y.mean()) / y.std().clamp_min(1e-6) * y_c.std() + y_c.mean()
                grey.append(y.clamp(0, 1).expand(-1, 3, -1, -1))
            styles = grey
    if masks is not None:
        if content is None:
            raise ValueError("spatial control needs a content image (masks are laid over it)")
        if masks.dim() == 3:
            masks = masks[:, None]
        if masks.shape[-2:] != content.shape[-2:]:
            raise ValueError(
                f"masks must have the content's size {tuple(content.shape[-2:])}, "
                f"got {tuple(masks.shape[-2:])}"
            )
        masks = masks.to(dev).float()
    loss_fn = PerceptualLoss(
        features,
        styles,
        style_layers=style_layers,
        content_layers=content_layers,
        content_weight=content_weight if content is not None else 0.0,
        style_weight=style_weight,
        tv_weight=tv_weight,
        masks=masks,
        style_scale=style_scale,
    )
    target_content = None
    if content is not None:
        with torch.no_grad():
            target_content = features(
                luminance(content).expand(-1, 3, -1, -1) if preserve_color == "luminance" else content
            )
    if init == "content":
        start = content.clone()
        if preserve_color == "luminance":
            start = luminance(content).expand(-1, 3, -1, -1).clone()
    else:
        size = content.shape[-2:] if content is not None else styles[0].shape[-2:]
        generator = torch.Generator().manual_seed(seed)
        start = (0.5 + 0.1 * torch.randn(1, 3, *size, generator=generator)).clamp(0, 1).to(dev)
    x = start.requires_grad_(True)

    if optimizer == "lbfgs":
        opt = lbfgs([x], lr=lr or 1.0)
        n_steps = math.ceil(steps / LBFGS_CHUNK)  # each step: up to LBFGS_CHUNK evaluations
    else:
        opt = torch.optim.Adam([x], lr=lr or 0.02)
        n_steps = steps
    last = {}

    def closure():
        opt.zero_grad()
        out = loss_fn(x, target_content)
        out["loss"].backward()
        last.update({k: float(v.detach()) for k, v in out.items()})
        return out["loss"]

    def step(i, _):
        opt.step(closure)
        if optimizer == "adam":
            with torch.no_grad():
                x.clamp_(0, 1)  # keep a valid image; L-BFGS runs unconstrained as in the authors'
                # code (clamping between its steps spoils its curvature estimates): clamped at the end
        return dict(last)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        history = loop(
            step,
            max_steps=n_steps,
            max_seconds=max_seconds if max_seconds is not None else math.inf,
            desc=f"Gatys (L-BFGS, {LBFGS_CHUNK} evaluations per step)"
            if optimizer == "lbfgs"
            else "Gatys (Adam)",
            progress=progress,
        )
    result = x.detach().clamp(0, 1)
    if preserve_color == "luminance" and content is not None:
        result = preserve_luminance_colors(result, content)
    return result, history
