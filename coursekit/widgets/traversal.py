"""Latent traversals: change one latent at a time and watch what the decoder draws.

As in the β-VAE paper's figures (Higgins et al., ICLR 2017, Fig. 1 and 7): start from the code of
one image, sweep a single latent over ``[-span, span]`` with the others fixed. In a disentangled
code each row changes one factor (position, scale, shape); in an entangled one several at once.

Plain functions compute (:func:`traverse`, :func:`traversal_grid`, :func:`to_png`); the
widget (:class:`LatentSliders`, one core-ipywidgets slider per latent) only wires them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .. import validate

__all__ = ["LatentSliders", "mosaic", "show_traversals", "to_png", "traversal_grid", "traverse"]

Decoder = Callable[[torch.Tensor], torch.Tensor]  # (B, L) codes -> (B, C, H, W) images in [0, 1]


def _one_code(z: torch.Tensor) -> torch.Tensor:
    """One latent code (L,), given as (L,) or (1, L) (checked by :func:`validate.tensor`)."""
    validate.tensor(z, "z", ndim=(1, 2), shape="(L,) or (1, L)")
    if z.dim() == 2 and z.shape[0] != 1:
        raise ValueError(f"z must be one code, a tensor of shape (L,) or (1, L), got {tuple(z.shape)}; "
                         "pick one row, e.g. z[0]")
    return z.reshape(-1)


@torch.no_grad()
def traverse(
    decode: Decoder, z: torch.Tensor, dim: int, values: Sequence[float] | torch.Tensor
) -> torch.Tensor:
    """Images for ``z`` with latent ``dim`` set to each of ``values``: ``(len(values), C, H, W)``."""
    z = _one_code(z)
    if not 0 <= dim < len(z):
        raise ValueError(f"dim must be in 0..{len(z) - 1} for a code of {len(z)} latents, got {dim}")
    values = torch.as_tensor(values, dtype=z.dtype, device=z.device)
    codes = z.expand(len(values), -1).clone()  # (V, L)
    codes[:, dim] = values
    return decode(codes)


@torch.no_grad()
def traversal_grid(
    decode: Decoder, z: torch.Tensor, dims: Sequence[int] | None = None, n_steps: int = 7, span: float = 2.5
) -> torch.Tensor:
    """``(len(dims), n_steps, C, H, W)``: row i sweeps latent ``dims[i]`` over ``[-span, span]``."""
    z = _one_code(z)
    dims = list(range(len(z))) if dims is None else list(dims)
    values = torch.linspace(-span, span, n_steps, device=z.device)
    return torch.stack([traverse(decode, z, d, values) for d in dims])


def mosaic(grid: torch.Tensor, pad: int = 1) -> torch.Tensor:
    """``(R, K, C, H, W)`` images → one ``(C, R·(H+pad), K·(W+pad))`` image (a grey line between tiles)."""
    r, k, c, h, w = grid.shape
    out = torch.full((c, r * (h + pad), k * (w + pad)), 0.5, device="cpu")  # an image to show
    for i in range(r):
        for j in range(k):
            out[:, i * (h + pad) : i * (h + pad) + h, j * (w + pad) : j * (w + pad) + w] = grid[i, j].cpu()
    return out


def show_traversals(
    grid: torch.Tensor, row_labels: Sequence[str] | None = None, size: float = 0.7, title: str = ""
):
    """Draw a :func:`traversal_grid` as one image (rows: latents; columns: values), with row labels."""
    import matplotlib.pyplot as plt

    from ..viz import to_numpy_image

    rows, cols, _, h, _ = grid.shape
    fig, ax = plt.subplots(figsize=(cols * size + 0.8, rows * size + (0.4 if title else 0.1)))
    ax.imshow(
        to_numpy_image(mosaic(grid.float().clamp(0, 1))), cmap="gray", vmin=0, vmax=1, interpolation="nearest"
    )
    ax.set_xticks([])
    labels = list(row_labels) if row_labels else [f"z{i}" for i in range(rows)]
    ax.set_yticks([i * (h + 1) + h / 2 for i in range(rows)], labels)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def to_png(image: torch.Tensor, scale: int = 4) -> bytes:
    """One image (C, H, W) in [0, 1] as PNG bytes, enlarged ``scale`` times (nearest neighbour)."""
    from PIL import Image

    from ..viz import to_numpy_image

    arr = (to_numpy_image(image) * 255).round().astype(np.uint8)
    img = Image.fromarray(arr)
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


class LatentSliders:
    """One slider per latent; moving one redraws the decoded image.

    ``LatentSliders(decode, z0)``; display ``.widget`` in a notebook. ``.sliders[i]`` controls
    latent i; ``.image.value`` holds the current PNG; ``.code()`` returns the current code.
    """

    def __init__(
        self,
        decode: Decoder,
        z0: torch.Tensor,
        span: float = 3.0,
        step: float = 0.1,
        scale: int = 4,
        labels: Sequence[str] | None = None,
    ):
        import ipywidgets as W

        z0 = _one_code(z0).detach().float().cpu()
        self.decode, self.z0, self.scale = decode, z0, scale
        labels = list(labels) if labels is not None else [f"z{i}" for i in range(len(z0))]
        if len(labels) != len(z0):
            raise ValueError(f"got {len(labels)} labels for {len(z0)} latents")
        self.sliders = [
            W.FloatSlider(
                value=float(v), min=-span, max=span, step=step, description=lab, continuous_update=False
            )
            for v, lab in zip(z0.tolist(), labels)
        ]
        self.image = W.Image(format="png", value=self.render())
        self.reset_button = W.Button(description="reset")
        self.reset_button.on_click(lambda _: self.reset())
        for s in self.sliders:
            s.observe(self._update, names="value")
        self.widget = W.HBox([W.VBox([*self.sliders, self.reset_button]), self.image])

    def code(self) -> torch.Tensor:
        return torch.tensor([s.value for s in self.sliders], dtype=torch.float32)

    @torch.no_grad()
    def render(self) -> bytes:
        return to_png(self.decode(self.code()[None])[0], self.scale)

    def _update(self, _change=None) -> None:
        self.image.value = self.render()

    def reset(self) -> None:
        for s, v in zip(self.sliders, self.z0.tolist()):
            s.value = float(v)

    def _ipython_display_(self) -> None:  # pragma: no cover - display only
        from IPython.display import display

        display(self.widget)
