"""Latent-space probes for generators: an interpolation slider (3.1) and a latent-code slider (3.4).

- :func:`interpolation_widget`: one slider t ∈ [0, 1] walks from z₀ to z₁ (linearly, or along the
  great circle, "slerp": White, "Sampling Generative Networks", 2016, which keeps the norm of
  Gaussian codes typical) and shows G(z_t) beside the two end points.
- :func:`latent_code_widget`: one slider per dimension of BicycleGAN's 8-dimensional code (Zhu et
  al., NeurIPS 2017) for one fixed input A; the picture shows A and G(A, z).

The computation lives in plain functions (:func:`interpolate`, :func:`interpolation_strip`,
:func:`code_output`, :func:`to_png`), tested without a browser; the widget wiring is thin. Each
widget returns an ``ipywidgets.VBox`` with extra attributes ``sliders``/``slider``, ``image``
(an ``ipywidgets.Image`` whose PNG bytes change with the controls) and ``last`` (the last tensor shown).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = [
    "code_output",
    "interpolate",
    "interpolation_strip",
    "interpolation_widget",
    "latent_code_widget",
    "to_png",
]


def interpolate(
    z0: torch.Tensor, z1: torch.Tensor, t: float | torch.Tensor, mode: str = "linear"
) -> torch.Tensor:
    """Point at fraction ``t`` between codes ``z0`` and ``z1`` (same shape, the last dimension is the code).

    linear: z = (1 - t) z₀ + t z₁.
    slerp:  z = sin((1 - t) Ω)/sin Ω · z₀ + sin(t Ω)/sin Ω · z₁, cos Ω = ⟨z₀, z₁⟩ / (|z₀| |z₁|)
            (falls back to linear where z₀ and z₁ are parallel).
    """
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have the same shape, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    t = torch.as_tensor(t, dtype=z0.dtype, device=z0.device)
    if mode == "linear":
        return (1 - t) * z0 + t * z1
    if mode != "slerp":
        raise ValueError(f"mode must be 'linear' or 'slerp', got {mode!r}")
    cos = (z0 * z1).sum(-1, keepdim=True) / (
        z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True)
    ).clamp(min=1e-12)
    omega = torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    out = torch.sin((1 - t) * omega) / so * z0 + torch.sin(t * omega) / so * z1
    parallel = so.abs() < 1e-6
    return torch.where(parallel, (1 - t) * z0 + t * z1, out)


@torch.no_grad()
def interpolation_strip(
    generator: Callable[[torch.Tensor], torch.Tensor],
    z0: torch.Tensor,
    z1: torch.Tensor,
    steps: int = 8,
    mode: str = "linear",
) -> torch.Tensor:
    """G at ``steps`` evenly spaced points from z₀ to z₁: (steps, C, H, W), as the generator returns them."""
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    ts = torch.linspace(0, 1, steps, device=z0.device)
    zs = torch.stack([interpolate(z0.reshape(-1), z1.reshape(-1), float(t), mode) for t in ts])  # (steps, nz)
    return generator(zs)


@torch.no_grad()
def code_output(
    generator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    a: torch.Tensor,
    code: list[float] | torch.Tensor,
) -> torch.Tensor:
    """G(A, z) for one input ``a`` (C, H, W) and one code (nz values): returns (C', H, W)."""
    z = torch.as_tensor(code, dtype=a.dtype, device=a.device).reshape(1, -1)
    return generator(a.unsqueeze(0), z)[0]


def to_png(images: torch.Tensor, titles: list[str] | None = None, size: float = 1.6) -> bytes:
    """PNG bytes of a row of images (N, C, H, W) in [0, 1] (matplotlib, no display needed)."""
    import io

    from matplotlib.figure import Figure

    images = images.detach().float().cpu().clamp(0, 1)
    n = images.shape[0]
    fig = Figure(figsize=(size * n, size + (0.3 if titles else 0)), dpi=80)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for i, ax in enumerate(axes):
        img = images[i]
        ax.imshow(
            img[0].numpy() if img.shape[0] == 1 else img.permute(1, 2, 0).numpy(),
            cmap="gray" if img.shape[0] == 1 else None,
            vmin=0,
            vmax=1,
        )
        ax.set_axis_off()
        if titles:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _to_unit(x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    lo, hi = value_range
    return (x - lo) / (hi - lo)


def interpolation_widget(
    generator: Callable[[torch.Tensor], torch.Tensor],
    z0: torch.Tensor,
    z1: torch.Tensor,
    mode: str = "slerp",
    value_range: tuple[float, float] = (-1.0, 1.0),
) -> Any:
    """A slider t ∈ [0, 1] and a mode toggle; shows G(z₀), G(z_t), G(z₁)."""
    import ipywidgets as W

    slider = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="t", continuous_update=False)
    toggle = W.ToggleButtons(options=["linear", "slerp"], value=mode, description="path")
    image = W.Image(format="png")
    box = W.VBox([W.HBox([slider, toggle]), image])

    def update(_: Any = None) -> None:
        with torch.no_grad():
            zs = torch.stack(
                [
                    z0.reshape(-1),
                    interpolate(z0.reshape(-1), z1.reshape(-1), slider.value, toggle.value),
                    z1.reshape(-1),
                ]
            )
            imgs = _to_unit(generator(zs), value_range)
        box.last = imgs[1]
        image.value = to_png(imgs, ["z₀", f"t = {slider.value:.2f}", "z₁"])

    slider.observe(update, names="value")
    toggle.observe(update, names="value")
    box.slider, box.toggle, box.image = slider, toggle, image
    update()
    return box


def latent_code_widget(
    generator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    a: torch.Tensor,
    nz: int = 8,
    limit: float = 2.5,
    value_range: tuple[float, float] = (-1.0, 1.0),
    code: torch.Tensor | None = None,
) -> Any:
    """One slider per code dimension (z_j ∈ [-limit, limit]) for the fixed input ``a`` (C, H, W) in
    ``value_range``; shows A and G(A, z)."""
    import ipywidgets as W

    start = torch.zeros(nz, device="cpu") if code is None else torch.as_tensor(code).reshape(-1).float()
    if start.numel() != nz:
        raise ValueError(f"code must have nz={nz} values, got {start.numel()}")
    sliders = [
        W.FloatSlider(
            value=float(v), min=-limit, max=limit, step=0.1, description=f"z{j}", continuous_update=False
        )
        for j, v in enumerate(start)
    ]
    image = W.Image(format="png")
    box = W.VBox([W.HBox([image, W.VBox(sliders)])])

    def update(_: Any = None) -> None:
        out = code_output(generator, a, [s.value for s in sliders])
        box.last = _to_unit(out, value_range)
        shown_a = _to_unit(a, value_range)
        if shown_a.shape[0] != box.last.shape[0]:
            shown_a = shown_a[:1].expand(box.last.shape[0], -1, -1)
        image.value = to_png(torch.stack([shown_a, box.last]), ["input A", "G(A, z)"], size=2.2)

    for s in sliders:
        s.observe(update, names="value")
    box.sliders, box.image = sliders, image
    update()
    return box
