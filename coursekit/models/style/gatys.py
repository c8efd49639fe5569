"""The Gatys driver: style transfer by optimising the image itself.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016:
start from the content image (or noise) and minimise the perceptual loss (:mod:`.losses`) over
its pixels with L-BFGS, as the authors' code does (github.com/leongatys/PytorchNeuralStyleTransfer;
the 2017 controls: github.com/leongatys/NeuralImageSynthesis). The steps run through
:func:`coursekit.train.loop` (budgets, progress bar, history), like every training loop.

Deviations: L-BFGS runs unconstrained and the image is clamped at the end; Adam is offered as an
alternative optimiser and clamps after every step.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import torch

from .colour import luminance_yiq, match_color, preserve_luminance_colors
from .features import CONTENT_LAYERS, STYLE_LAYERS, VGGFeatures, check_image
from .losses import PerceptualLoss

__all__ = ["LBFGS_CHUNK", "lbfgs", "transfer"]


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
    from ...runtime import device as default_device
    from ...train import loop

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
            y_c = luminance_yiq(content) if content is not None else None
            grey = []
            for s in styles:
                y = luminance_yiq(s)
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
                luminance_yiq(content).expand(-1, 3, -1, -1) if preserve_color == "luminance" else content
            )
    if init == "content":
        start = content.clone()
        if preserve_color == "luminance":
            start = luminance_yiq(content).expand(-1, 3, -1, -1).clone()
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
