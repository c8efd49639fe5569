"""Style transfer for video, with temporal consistency: warping with optical flow, occlusions, flicker.

Ruder, Dosovitskiy & Brox, "Artistic Style Transfer for Videos", GCPR 2016 (authors' code:
github.com/manuelruder/artistic-videos). Stylising each frame on its own makes the video flicker:
small changes of the input change the optimisation's result a lot. The fix: warp the previous
stylised frame into the current one with the optical flow, and penalise differences wherever the
pixel was visible in the previous frame (not occluded, not outside the image):

    L_temporal(x, w) = 1/D * sum_p c(p) * (x(p) - w(p))^2                           (Eq. 6)

with w the warped previous output and c the per-pixel weight (0 at occlusions). The same
warped frame is also the starting point of the optimisation.

Flow convention (used everywhere in coursekit): ``flow`` (B, 2, H, W) holds, in pixels, the
displacement (dx, dy) from each pixel p of the CURRENT frame to where that point was in the
PREVIOUS frame ("backward flow"): ``current(p) ~ previous(p + flow(p))``. ``warp(previous, flow)``
brings the previous frame onto the current one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ... import validate
from .features import CONTENT_LAYERS, STYLE_LAYERS, VGGFeatures
from .gatys import LBFGS_CHUNK, lbfgs
from .losses import PerceptualLoss

__all__ = [
    "consistency_mask",
    "flicker",
    "inside_mask",
    "stylize_video",
    "temporal_loss",
    "warp",
]


def _flow_fits(image: torch.Tensor, flow: torch.Tensor, image_name: str = "image") -> None:
    """The flow's domain check (after coursekit.validate's): one (dx, dy) per pixel of the image."""
    if flow.shape[-2:] != image.shape[-2:]:
        h, w = image.shape[-2:]
        raise ValueError(
            f"flow must be a tensor of shape (B, 2, {h}, {w}) (the {image_name}'s H, W), got "
            f"{tuple(flow.shape)}; compute the flow at the {image_name}'s resolution"
        )


def _sample_grid(flow: torch.Tensor) -> torch.Tensor:
    """Pixel displacements (B, 2, H, W) -> grid_sample's normalised grid (B, H, W, 2)."""
    b, _, h, w = flow.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, device=flow.device, dtype=flow.dtype),
        torch.arange(w, device=flow.device, dtype=flow.dtype),
        indexing="ij",
    )
    x = xs + flow[:, 0]  # (B, H, W): where each pixel comes from, in pixels
    y = ys + flow[:, 1]
    # align_corners=True: pixel 0 -> -1, pixel W-1 -> +1; grid's last axis is (x, y)
    return torch.stack([2 * x / max(w - 1, 1) - 1, 2 * y / max(h - 1, 1) - 1], dim=-1)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """out(p) = image(p + flow(p)), bilinear: (B, C, H, W), (B, 2, H, W) -> (B, C, H, W).

    Points outside the image take the nearest border value; mask them with ``inside_mask``.
    """
    validate.tensor(image, "image", ndim=4, floating=True)
    validate.tensor(flow, "flow", ndim=4, channels=2)
    _flow_fits(image, flow)
    grid = _sample_grid(flow.to(image.dtype))
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def inside_mask(flow: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W) -> (B, 1, H, W): 1 where p + flow(p) lies inside the image."""
    b, _, h, w = flow.shape
    grid = _sample_grid(flow)
    inside = (grid.abs() <= 1 + 1e-6).all(dim=-1)  # (B, H, W)
    return inside[:, None].to(flow.dtype)


def consistency_mask(backward: torch.Tensor, forward: torch.Tensor) -> torch.Tensor:
    """Occlusions from a forward-backward check, for flows that are estimated (Ruder et al., Eq. 5).

    ``backward``: current -> previous; ``forward``: previous -> current (both (B, 2, H, W)).
    A pixel is kept when going back and forth returns to it:
    |w + w~|^2 <= 0.01 (|w|^2 + |w~|^2) + 0.5, where w~ is the forward flow warped by ``backward``.
    """
    returned = warp(forward, backward)  # (B, 2, H, W)
    lhs = (backward + returned).pow(2).sum(1, keepdim=True)
    rhs = 0.01 * (backward.pow(2).sum(1, keepdim=True) + returned.pow(2).sum(1, keepdim=True)) + 0.5
    return (lhs <= rhs).to(backward.dtype) * inside_mask(backward)


def temporal_loss(
    current: torch.Tensor, previous: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Masked mean squared difference to the warped previous frame (Eq. 6). Scalar."""
    warped = warp(previous, flow)
    if mask is None:
        mask = inside_mask(flow)
    return (mask * (current - warped).pow(2)).mean()


def flicker(frames: torch.Tensor, flows: torch.Tensor, masks: torch.Tensor | None = None) -> float:
    """Temporal flicker of a video: mean |y_t - warp(y_{t-1}, flow_t)| over visible pixels.

    frames (T, C, H, W), flows (T, 2, H, W) with flows[t] from frame t to t-1 (flows[0] unused),
    masks (T, 1, H, W) of visible pixels (default: inside the image). Lower is steadier; a video
    that is exactly consistent with its flow scores ~0 (up to interpolation error).
    """
    validate.tensor(frames, "frames", ndim=4, shape="(T, C, H, W)")
    validate.tensor(flows, "flows", ndim=4, channels=2, shape="(T, 2, H, W)")
    if frames.shape[0] < 2:
        raise ValueError(
            f"frames must hold at least 2 frames to measure flicker, got {frames.shape[0]}; pass a clip"
        )
    _flow_fits(frames, flows, "frames")
    frames, flows = frames.detach().float(), flows.detach().float().to(frames.device)
    warped = warp(frames[:-1], flows[1:])  # previous frames brought onto the current ones
    m = inside_mask(flows[1:]) if masks is None else masks[1:].float().to(frames.device)
    diff = (frames[1:] - warped).abs().mean(1, keepdim=True)  # (T-1, 1, H, W)
    return float((m * diff).sum() / m.sum().clamp_min(1))


def stylize_video(
    frames: torch.Tensor,
    flows: torch.Tensor,
    masks: torch.Tensor | None,
    style,
    *,
    temporal_weight: float = 0.0,
    steps: int = 30,
    features=None,
    style_weight: float = 10.0,
    content_weight: float = 1.0,
    tv_weight: float = 0.0,
    style_layers: Sequence[str] | None = None,
    content_layers: Sequence[str] | None = None,
    device: torch.device | None = None,
    progress: bool = True,
) -> torch.Tensor:
    """Gatys style transfer frame by frame; with ``temporal_weight > 0``, Ruder et al.'s version.

    Frame-by-frame (weight 0): every frame starts from its content image and is optimised alone.
    Temporal (weight > 0): every frame after the first starts from the warped previous result
    (content where occluded) and adds ``temporal_weight * temporal_loss``. ``steps`` L-BFGS
    evaluations per frame, one progress bar per frame. Returns (T, 3, H, W) in [0, 1].
    """
    from ...runtime import device as default_device
    from ...train import loop

    dev = device or default_device()
    features = (features if features is not None else VGGFeatures()).to(dev)
    loss_fn = PerceptualLoss(
        features,
        style,
        content_weight=content_weight,
        style_weight=style_weight,
        tv_weight=tv_weight,
        style_layers=style_layers or STYLE_LAYERS,
        content_layers=content_layers or CONTENT_LAYERS,
    )
    frames, flows = frames.to(dev), flows.to(dev)
    masks = masks.to(dev) if masks is not None else inside_mask(flows)
    outputs: list[torch.Tensor] = []
    state: dict = {}

    def start_frame(t: int) -> None:
        content = frames[t : t + 1]
        state.update(t=t, prev=None, flow=flows[t : t + 1], mask=masks[t : t + 1])
        with torch.no_grad():
            state["target"] = features(content)
        init = content
        if t > 0 and temporal_weight > 0:
            state["prev"] = outputs[-1]
            warped = warp(outputs[-1], state["flow"])
            init = state["mask"] * warped + (1 - state["mask"]) * content  # Ruder: warped init
        state["x"] = x = init.clone().requires_grad_(True)
        state["opt"] = lbfgs([x])

    def closure() -> torch.Tensor:
        x, opt = state["x"], state["opt"]
        opt.zero_grad()
        loss = loss_fn(x, state["target"])["loss"]
        if state["prev"] is not None:
            t_loss = temporal_loss(x, state["prev"], state["flow"], state["mask"])
            loss = loss + temporal_weight * t_loss
            state["temporal"] = float(t_loss.detach())
        loss.backward()
        state["loss"] = float(loss.detach())
        return loss

    chunks = math.ceil(steps / LBFGS_CHUNK)  # progress-bar steps per frame

    def step(i: int, _) -> dict[str, float]:
        state["opt"].step(closure)  # unconstrained, as in coursekit.models.style.gatys.transfer
        return {"frame": float(state["t"]), "loss": state["loss"]}

    kind = "temporal loss" if temporal_weight > 0 else "frame by frame"
    # One loop per frame: a profile's step cap (smoke, the gpu dry run) then shortens every frame's
    # optimisation instead of cutting the clip short.
    for t in range(len(frames)):
        start_frame(t)
        loop(
            step,
            max_steps=chunks,
            max_seconds=math.inf,
            progress=progress,
            desc=f"video ({kind}) frame {t + 1}/{len(frames)}",
        )
        outputs.append(state["x"].detach().clamp(0, 1))
    return torch.cat(outputs)
