"""The attention-map probe: pick a query position, see where an attention layer looks.

For any model containing :class:`~coursekit.nn.attention.NonLocalBlock` or
:class:`~coursekit.nn.attention.SelfAttention` layers (the non-local mirroring network of 4.1 and
4.3, SAGAN's generator and discriminator of 4.3). Controls: ``query x``, ``query y`` (pixels of
the shown image), ``layer``, ``head`` and ``image`` (index in the batch). The picture shows the
image with the query marked and, beside it, the attention map of that query (one row of the
softmax, upsampled to the image, summing to one over the key positions) over the image.

The computation lives in plain functions (:func:`query_cell`, :func:`attention_row`,
:func:`render_probe`) and in :class:`AttentionProbe`, which runs the model once and then only
indexes the kept maps; the widget wiring in :meth:`AttentionProbe.widget` is thin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..nn.attention import NonLocalBlock, SelfAttention

__all__ = ["AttentionProbe", "attention_layers", "attention_row", "query_cell", "render_probe"]

_ATTENTION_TYPES = (NonLocalBlock, SelfAttention)


def attention_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Named attention layers of ``model`` (module path → layer), in forward order."""
    return {
        name or type(model).__name__: m
        for name, m in model.named_modules()
        if isinstance(m, _ATTENTION_TYPES)
    }


def query_cell(x: int, y: int, image_size: tuple[int, int], grid_size: tuple[int, int]) -> tuple[int, int]:
    """Pixel (x, y) of an image of ``image_size = (H, W)`` → (column, row) in a query grid (h, w)."""
    h_img, w_img = image_size
    h, w = grid_size
    if not (0 <= x < w_img and 0 <= y < h_img):
        raise ValueError(f"query ({x}, {y}) lies outside the image of width {w_img} and height {h_img}")
    return min(w - 1, x * w // w_img), min(h - 1, y * h // h_img)


def attention_row(
    attention: torch.Tensor,
    query_size: tuple[int, int],
    key_size: tuple[int, int],
    *,
    image: int = 0,
    head: int = 0,
    column: int = 0,
    row: int = 0,
) -> torch.Tensor:
    """One query's attention over the key grid: (B, heads, h·w, h'·w') → (h', w'), sums to one."""
    if attention.dim() != 4:
        raise ValueError(f"attention must be (B, heads, N, M), got shape {tuple(attention.shape)}")
    b, nh, n, m = attention.shape
    h, w = query_size
    hk, wk = key_size
    if n != h * w or m != hk * wk:
        raise ValueError(
            f"attention of shape {tuple(attention.shape)} does not match grids {query_size} and {key_size}"
        )
    if not 0 <= image < b:
        raise ValueError(f"image index {image} out of range for a batch of {b}")
    if not 0 <= head < nh:
        raise ValueError(f"head {head} out of range: the layer has {nh} head(s)")
    if not (0 <= column < w and 0 <= row < h):
        raise ValueError(f"query cell ({column}, {row}) outside the {w}×{h} query grid")
    return attention[image, head, row * w + column].reshape(hk, wk)


def render_probe(
    image: torch.Tensor,
    amap: torch.Tensor,
    x: int,
    y: int,
    *,
    title: str = "",
    size: float = 3.0,
) -> bytes:
    """PNG bytes of two panels: ``image`` (C, H, W) in [0, 1] with the query (x, y) marked, and the
    attention map ``amap`` (h', w') upsampled over the image with its strongest key marked."""
    import io

    # a bare Figure draws with Agg by itself; never switch pyplot's backend here (that would
    # stop every later plt.show() in the notebook from displaying)
    from matplotlib.figure import Figure

    img = image.detach().float().cpu().clamp(0, 1)
    h, w = img.shape[-2:]
    shown = img[0].numpy() if img.shape[0] == 1 else img.permute(1, 2, 0).numpy()
    cmap_img = "gray" if img.shape[0] == 1 else None
    up = F.interpolate(amap[None, None].float().cpu(), size=(h, w), mode="nearest")[0, 0].numpy()
    ky, kx = np.unravel_index(int(amap.argmax()), tuple(amap.shape))
    sy, sx = h / amap.shape[0], w / amap.shape[1]
    fig = Figure(figsize=(2 * size, size + 0.4), dpi=80)
    axes = fig.subplots(1, 2)
    axes[0].imshow(shown, cmap=cmap_img, vmin=0, vmax=1)
    axes[0].plot([x], [y], marker="+", color="red", markersize=14, mew=2.5)
    axes[0].set_title(f"query ({x}, {y})", fontsize=9)
    axes[1].imshow(shown, cmap=cmap_img, vmin=0, vmax=1)
    axes[1].imshow(up, cmap="inferno", alpha=0.65)
    axes[1].plot(
        [(kx + 0.5) * sx - 0.5], [(ky + 0.5) * sy - 0.5], marker="o", mfc="none", color="cyan", markersize=10
    )
    axes[1].plot([x], [y], marker="+", color="red", markersize=10, mew=2)
    axes[1].set_title(f"attention (max {float(amap.max()):.3f}, uniform {1 / amap.numel():.3f})", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


class AttentionProbe:
    """Run ``model(inputs)`` once, keep every attention layer's maps, and answer queries.

    Args:
        model: a module with :class:`NonLocalBlock`/:class:`SelfAttention` layers.
        inputs: what the model is called with (images, or noise for a generator).
        images: the images to show (B, C, H, W) in [0, 1]; default: ``to_image(model(inputs))``
            when ``to_image`` is given, else ``inputs``.
        to_image: maps the model output to shown images (e.g. ``lambda g: (g + 1) / 2`` for a
            generator in [-1, 1]).
        layers: names of the layers to probe (default: all, see :func:`attention_layers`).
    """

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        *,
        images: torch.Tensor | None = None,
        to_image: Callable[[torch.Tensor], torch.Tensor] | None = None,
        layers: Sequence[str] | None = None,
    ) -> None:
        found = attention_layers(model)
        if not found:
            raise ValueError(f"{type(model).__name__} has no NonLocalBlock or SelfAttention layer to probe")
        if layers is not None:
            missing = [n for n in layers if n not in found]
            if missing:
                raise ValueError(f"no attention layer named {missing}; available: {list(found)}")
            found = {n: found[n] for n in layers}
        self.layer_names = list(found)
        self.maps: dict[str, tuple[torch.Tensor, tuple[int, int], tuple[int, int]]] = {}
        was_training = model.training
        model.eval()
        old = {n: m.keep_attention for n, m in found.items()}
        try:
            for m in found.values():
                m.keep_attention = True
            with torch.no_grad():
                out = model(inputs)
            for n, m in found.items():
                self.maps[n] = (m.last_attention.cpu(), m.last_query_size, m.last_key_size)
                m.last_attention = None  # the probe holds the maps; the layer needn't
        finally:
            for n, m in found.items():
                m.keep_attention = old[n]
            model.train(was_training)
        if images is None:
            images = to_image(out) if to_image is not None else inputs
        if images.dim() != 4:
            raise ValueError(f"images must be (B, C, H, W) in [0, 1], got shape {tuple(images.shape)}")
        self.images = images.detach().float().cpu().clamp(0, 1)

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.images.shape[-2:])  # type: ignore[return-value]

    def heads(self, layer: str) -> int:
        return self.maps[layer][0].shape[1]

    def attention(
        self, *, x: int, y: int, layer: str | None = None, head: int = 0, image: int = 0
    ) -> torch.Tensor:
        """The attention map (h', w') of query pixel (x, y); it sums to one over the key positions."""
        layer = layer if layer is not None else self.layer_names[0]
        if layer not in self.maps:
            raise ValueError(f"unknown layer {layer!r}; available: {self.layer_names}")
        attn, qsize, ksize = self.maps[layer]
        column, row = query_cell(x, y, self.image_size, qsize)
        return attention_row(attn, qsize, ksize, image=image, head=head, column=column, row=row)

    def describe(self, *, x: int, y: int, layer: str | None = None, head: int = 0, image: int = 0) -> str:
        """One line of text: where the query looks most (in image pixels)."""
        layer = layer if layer is not None else self.layer_names[0]
        amap = self.attention(x=x, y=y, layer=layer, head=head, image=image)
        ky, kx = np.unravel_index(int(amap.argmax()), tuple(amap.shape))
        h, w = self.image_size
        px, py = int((kx + 0.5) * w / amap.shape[1]), int((ky + 0.5) * h / amap.shape[0])
        return (
            f"layer {layer}, head {head}, image {image}: query ({x}, {y}) attends most to "
            f"({px}, {py}) with weight {float(amap.max()):.3f} (uniform: {1 / amap.numel():.3f})"
        )

    def render(self, *, x: int, y: int, layer: str | None = None, head: int = 0, image: int = 0) -> bytes:
        layer = layer if layer is not None else self.layer_names[0]
        amap = self.attention(x=x, y=y, layer=layer, head=head, image=image)
        return render_probe(self.images[image], amap, x, y, title=f"layer {layer}, head {head}")

    def widget(self, x: int | None = None, y: int | None = None) -> Any:
        """The interactive probe (core ipywidgets): sliders ``query x``, ``query y``, ``head``,
        ``image`` and a ``layer`` dropdown; the picture is an ``ipywidgets.Image``."""
        import ipywidgets as W

        h, w = self.image_size
        style = {"description_width": "initial"}
        cx = W.IntSlider(
            value=w // 4 if x is None else x,
            min=0,
            max=w - 1,
            description="query x",
            style=style,
            continuous_update=False,
        )
        cy = W.IntSlider(
            value=h // 2 if y is None else y,
            min=0,
            max=h - 1,
            description="query y",
            style=style,
            continuous_update=False,
        )
        layer = W.Dropdown(
            options=self.layer_names, value=self.layer_names[0], description="layer", style=style
        )
        head = W.IntSlider(
            value=0,
            min=0,
            max=self.heads(self.layer_names[0]) - 1,
            description="head",
            style=style,
            continuous_update=False,
        )
        image = W.IntSlider(
            value=0,
            min=0,
            max=len(self.images) - 1,
            description="image",
            style=style,
            continuous_update=False,
        )
        picture = W.Image(format="png")
        text = W.Label()

        def update(_: Any = None) -> None:
            head.max = self.heads(layer.value) - 1
            args = dict(x=cx.value, y=cy.value, layer=layer.value, head=head.value, image=image.value)
            picture.value = self.render(**args)
            text.value = self.describe(**args)

        for c in (cx, cy, layer, head, image):
            c.observe(update, names="value")
        update()
        box = W.VBox([W.HBox([cx, cy]), W.HBox([layer, head, image]), picture, text])
        box.controls = {
            "query x": cx,
            "query y": cy,
            "layer": layer,
            "head": head,
            "image": image,
        }  # for tests
        box.picture, box.text = picture, text
        return box
