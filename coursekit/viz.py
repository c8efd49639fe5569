"""Figures the notebooks share: image grids, side-by-side comparisons and idea diagrams.

Images are tensors ``(B, C, H, W)`` or ``(C, H, W)`` with values in [0, 1] (or [-1, 1] with
``value_range=(-1, 1)``), 1 or 3 channels; NumPy arrays ``(H, W)`` / ``(H, W, 3)`` work too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["draw_autoencoder", "draw_graybox", "draw_taskonomy", "draw_shared_space", "draw_unet", "show_images", "show_rows", "to_numpy_image"]


def to_numpy_image(img: Any, value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """One image as an ``(H, W)`` or ``(H, W, 3)`` float array in [0, 1]."""
    if isinstance(img, torch.Tensor):
        img = img.detach().float().cpu()
        if img.dim() == 4 and img.shape[0] == 1:
            img = img[0]
        if img.dim() != 3 and img.dim() != 2:
            raise ValueError(f"expected an image (C, H, W) or (H, W), got shape {tuple(img.shape)}")
        if img.dim() == 3:
            if img.shape[0] not in (1, 3):
                raise ValueError(f"expected 1 or 3 channels first, got shape {tuple(img.shape)}")
            img = img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)
        img = img.numpy()
    img = np.asarray(img, dtype=np.float32)
    lo, hi = value_range
    return np.clip((img - lo) / (hi - lo), 0.0, 1.0)


def show_images(
    images: Any,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    size: float = 1.6,
    value_range: tuple[float, float] = (0.0, 1.0),
    cmap: str = "gray",
    suptitle: str | None = None,
) -> Any:
    """Draw a grid of images; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    if isinstance(images, torch.Tensor) and images.dim() == 3 and images.shape[0] not in (1, 3):
        images = images[:, None]
    imgs = [to_numpy_image(im, value_range) for im in images]
    if not imgs:
        raise ValueError("show_images got no images")
    ncols = min(ncols, len(imgs))
    nrows = (len(imgs) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if suptitle else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(imgs):
            ax.imshow(imgs[i], cmap=cmap if imgs[i].ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
            if titles is not None and i < len(titles):
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_rows(rows: dict[str, Any], n: int = 8, size: float = 1.4,
              value_range: tuple[float, float] = (0.0, 1.0)) -> Any:
    """One labelled row per entry, e.g. ``{"noisy": x, "denoised": y, "clean": z}``."""
    import matplotlib.pyplot as plt

    names = list(rows)
    n = min(n, min(len(v) for v in rows.values()))
    fig, axes = plt.subplots(len(names), n, figsize=(size * n, size * len(names)), squeeze=False)
    for r, name in enumerate(names):
        for c in range(n):
            ax = axes[r, c]
            im = to_numpy_image(rows[name][c], value_range)
            ax.imshow(im, cmap="gray" if im.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
    fig.tight_layout()
    return fig


def _diagram_canvas(ax: Any, figsize: tuple[float, float], xlim: tuple[float, float] | None = None,
                    ylim: tuple[float, float] | None = None) -> Any:
    """The axes an idea diagram draws on: a new figure unless ``ax`` is given, no frame, equal
    units when the limits are fixed."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    if xlim is not None:
        ax.set(xlim=xlim, ylim=ylim, aspect="equal")
    ax.axis("off")
    return ax


#: the arrow style of the idea diagrams (draw_shared_space, draw_graybox)
_ARROW = dict(arrowstyle="-|>", mutation_scale=14, lw=1.4, color="0.25")


def draw_shared_space(sketch: Any = None, image: Any = None, ax: Any = None) -> Any:
    """The idea of a shared feature space, drawn: two domains → two encoders → one code space →
    one decoder, with the alignment losses that tie the encoders together (notebook 2.2; after
    Wang et al., "Learning a Shared Shape Space for Multimodal Garment Design", SIGGRAPH Asia 2018).

    ``sketch`` and ``image``: optional example images (C, H, W) drawn as the two inputs. Returns
    the matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse, FancyArrowPatch, FancyBboxPatch, Polygon

    ax = _diagram_canvas(ax, (11, 4.6), (0, 11), (-0.9, 4.6))
    arrow = dict(_ARROW)  # a copy: callers may change it
    blue, orange = "tab:blue", "tab:orange"

    def thumbnail(img: Any, x: float, y: float, label: str, colour: str) -> None:
        if img is None:
            ax.add_patch(FancyBboxPatch((x, y), 1, 1, boxstyle="round,pad=0.02", fc="0.95", ec=colour))
        else:
            im = to_numpy_image(img)
            ax.imshow(im, cmap="gray" if im.ndim == 2 else None, vmin=0, vmax=1, extent=(x, x + 1, y, y + 1),
                      interpolation="nearest", zorder=2)
            ax.add_patch(FancyBboxPatch((x, y), 1, 1, boxstyle="square,pad=0", fc="none", ec=colour, lw=2, zorder=3))
        ax.text(x + 0.5, y - 0.12, label, ha="center", va="top", fontsize=9)

    def trapezoid(x0: float, x1: float, yc: float, h0: float, h1: float, label: str, colour: str) -> None:
        ax.add_patch(Polygon([(x0, yc - h0), (x1, yc - h1), (x1, yc + h1), (x0, yc + h0)], fc=colour, alpha=0.25,
                             ec=colour, lw=1.5))
        ax.text((x0 + x1) / 2, yc, label, ha="center", va="center", fontsize=10)

    # the two domains and their own encoders (separate weights)
    for img, label, yc, colour, enc in ((sketch, "sketch (domain A)", 3.3, blue, r"$E_{\mathrm{sketch}}$"),
                                        (image, "image (domain B)", 1.0, orange, r"$E_{\mathrm{image}}$")):
        thumbnail(img, 0.2, yc - 0.5, label, colour)
        trapezoid(1.7, 3.1, yc, 0.6, 0.25, enc, colour)
        ax.add_patch(FancyArrowPatch((1.25, yc), (1.7, yc), **arrow))
    # one code space: three shapes, each with its sketch code (triangle) and image code (circle)
    ax.add_patch(Ellipse((5.0, 2.15), 3.1, 3.7, fc="0.97", ec="0.3", lw=1.5))
    ax.text(5.0, 4.15, "one code space $z \\in \\mathbb{R}^D$", ha="center", fontsize=10)
    pairs = [((4.1, 3.05), (4.45, 2.85)), ((5.6, 3.1), (5.25, 2.75)), ((4.6, 1.2), (5.05, 1.45))]
    for k, (zs, zi) in enumerate(pairs):
        c = plt.cm.tab10(k + 2)
        ax.plot(*zs, marker="^", ms=10, color=c, mec="k", zorder=4)
        ax.plot(*zi, marker="o", ms=10, color=c, mec="k", zorder=4)
        ax.add_patch(FancyArrowPatch(zs, zi, arrowstyle="-|>", mutation_scale=9, color="green", lw=1.3, zorder=3))
    ax.add_patch(FancyArrowPatch(pairs[2][0], pairs[0][1], arrowstyle="<|-|>", mutation_scale=9, color="crimson",
                                 lw=1.2, ls="--", zorder=3))
    ax.text(4.4, 2.0, "push\napart", color="crimson", fontsize=8, ha="right", va="center")
    ax.text(5.75, 2.55, "pull\ntogether", color="green", fontsize=8, ha="left", va="center")
    ax.text(5.0, 0.6, "▲ sketch code   ● image code\n(one colour per shape)", fontsize=8, ha="center", va="center")
    ax.add_patch(FancyArrowPatch((3.1, 3.3), pairs[0][0], connectionstyle="arc3,rad=-0.15", **arrow))
    ax.add_patch(FancyArrowPatch((3.1, 1.0), pairs[2][1], connectionstyle="arc3,rad=0.15", **arrow))
    # one decoder shared by both: any code → an image
    trapezoid(7.0, 8.4, 2.15, 0.25, 0.6, "$D$ (shared)", "tab:green")
    ax.add_patch(FancyArrowPatch((6.55, 2.15), (7.0, 2.15), **arrow))
    ax.add_patch(FancyArrowPatch((8.4, 2.15), (8.85, 2.15), **arrow))
    thumbnail(image, 8.9, 1.65, "decoded image", "tab:green")
    ax.text(5.5, -0.35, "regression (Wang et al.): $\\|E_{\\mathrm{sketch}}(s) - E_{\\mathrm{image}}(x)\\|^2$ pulls each "
            "pair together (green) only\ncontrastive (InfoNCE): pulls each pair together AND pushes the other pairs "
            "of the batch apart (red)\nboth: $D(z) \\approx$ the image, from either code", ha="center", va="center",
            fontsize=9, bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    return ax.figure


def _unet_levels(net: Any, size: int) -> tuple[list[tuple[int, int]], tuple[int, int], list[tuple[int, int]]]:
    """(channels, side) of each encoder level, of the bottom and of each decoder level (deepest first)."""
    convs = [m for m in net.down.modules() if isinstance(m, torch.nn.Conv2d)]
    widths = [c.out_channels for c in convs[1::2]]
    shrink = 0 if net.padding else 4  # two unpadded 3×3 convolutions lose 4 px
    side, down = size, []
    for w in widths:
        side -= shrink
        down.append((w, side))
        side //= 2
    bottom = (2 * widths[-1], side - shrink)
    side, up = bottom[1], []
    for w in reversed(widths):
        side = 2 * side - shrink
        up.append((w, side))
    return down, bottom, up


def draw_unet(net: Any, size: int, ax: Any = None) -> Any:
    """A U-Net drawn as its paper's Fig. 1 draws it: encoder levels down the left, decoder levels up
    the right, each box labelled with its channels and side, grey arrows for the skips.

    ``net``: a :class:`coursekit.nn.unet.UNet` (its ``down``, ``depth``, ``skips``, ``padding`` are
    read); ``size``: the input side. After Ronneberger et al., "U-Net", MICCAI 2015, Fig. 1. Returns
    the matplotlib figure.
    """
    from matplotlib.patches import FancyArrowPatch, Rectangle

    down, bottom, up = _unet_levels(net, size)
    depth = len(down)
    ax = _diagram_canvas(ax, (2.2 * depth + 5, 1.1 * depth + 2.6))
    arrow = dict(arrowstyle="-|>", mutation_scale=12, lw=1.3)

    def box(x: float, y: float, channels: int, side: int, colour: str) -> tuple[float, float]:
        w = 0.25 + 0.25 * np.log2(channels)  # width grows with the channels (log scale)
        ax.add_patch(Rectangle((x - w / 2, y - 0.3), w, 0.6, fc=colour, ec="0.2", lw=1))
        ax.text(x, y + 0.34, f"{channels} ch", ha="center", va="bottom", fontsize=9)
        ax.text(x, y, f"{side}×{side}", ha="center", va="center", fontsize=8)
        return x - w / 2, x + w / 2

    gap = 1.6
    left, right = 1.2, 1.2 + 2 * gap * depth + 1.2
    x_in = left - 1.4
    ax.add_patch(Rectangle((x_in - 0.2, depth - 0.3), 0.4, 0.6, fc="white", ec="0.2"))
    ax.text(x_in, depth + 0.36, "input", ha="center", va="bottom", fontsize=9)
    ax.text(x_in, depth - 0.36, f"{size}×{size}", ha="center", va="top", fontsize=8)
    enc_edges = []
    for level, (c, s) in enumerate(down):
        x, y = left + gap * level, depth - level
        enc_edges.append(box(x, y, c, s, "#9ecae1"))
        x_next = left + gap * (level + 1) if level + 1 < depth else left + gap * depth
        ax.add_patch(FancyArrowPatch((x, y - 0.3), (x_next - 0.3, y - 0.7), color="tab:red", **arrow))
    ax.add_patch(FancyArrowPatch((x_in + 0.2, depth), (enc_edges[0][0] - 0.05, depth), color="0.2", **arrow))
    xb = left + gap * depth
    box(xb, 0, *bottom, "#6baed6")
    ax.text(xb, -0.36, "bottleneck", ha="center", va="top", fontsize=9)
    for i, (c, s) in enumerate(up):
        level = depth - 1 - i
        x, y = right - gap * level, depth - level
        x_prev, y_prev = (xb, 0) if i == 0 else (right - gap * (level + 1), y - 1)
        ax.add_patch(FancyArrowPatch((x_prev + 0.3, y_prev + 0.3), (x, y - 0.3), color="tab:green", **arrow))
        lo, hi = box(x, y, c, s, "#fdae6b")
        if net.skips:
            crop = " (cropped)" if not net.padding and s != down[level][1] else ""
            ax.add_patch(FancyArrowPatch((enc_edges[level][1] + 0.05, y), (lo - 0.05, y), color="0.5",
                                         linestyle="--", **arrow))
            ax.text((enc_edges[level][1] + lo) / 2, y + 0.06, "copy" + crop, ha="center",
                    va="bottom", fontsize=8, color="0.35")
    x_out = hi + 1.0
    ax.add_patch(FancyArrowPatch((hi + 0.05, depth), (x_out - 0.2, depth), color="0.2", **arrow))
    ax.text((hi + x_out - 0.2) / 2, depth + 0.06, "1×1", ha="center", va="bottom", fontsize=8)
    ax.add_patch(Rectangle((x_out - 0.2, depth - 0.3), 0.4, 0.6, fc="white", ec="0.2"))
    ax.text(x_out, depth + 0.36, "output", ha="center", va="bottom", fontsize=9)
    ax.text(x_out, depth - 0.36, f"{up[-1][1]}×{up[-1][1]}", ha="center", va="top", fontsize=8)
    key = [("tab:red", "max-pool 2×2 (after two 3×3 convs)"), ("tab:green", "up-conv 2×2, then two 3×3 convs"),
           ("0.5", "skip: copy, concatenate with the up-sampled maps" if net.skips else "no skips")]
    for colour, text in key:
        ax.plot([], [], color=colour, lw=2, label=text)
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.set(xlim=(x_in - 0.6, x_out + 0.6), ylim=(-1.2, depth + 0.9))
    ax.set_title(f"U-Net, depth {depth}: each box is a level's feature maps (channels above, side inside)", fontsize=10)
    return ax.figure


def draw_graybox(photo: Any = None, low_res: int = 64, filters: Sequence[str] = ("gamma", "white_balance", "exposure"),
                 ax: Any = None) -> Any:
    """Gray-box vs black-box image editing, drawn (notebook 4.4; after Hu et al., "Exposure",
    SIGGRAPH 2018, whose networks read a 64×64 copy of the photo).

    Top lane (gray box): the full-resolution photo → a ``low_res``×``low_res`` copy → a CNN → a few
    numbers, the parameters of the named differentiable ``filters`` → the filters run on every pixel
    of the full-resolution photo. Bottom lane (black box): a pixel-to-pixel CNN runs on every pixel
    and outputs the pixels. ``photo``: an optional example image (C, H, W) drawn as the input.
    Returns the matplotlib figure.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon

    ax = _diagram_canvas(ax, (12, 4.4), (0, 12.4), (-0.3, 4.8))
    arrow = dict(_ARROW)  # a copy: callers may change it
    gray_box, black_box = "tab:blue", "0.2"  # the colours of the two lanes

    def picture(x: float, y: float, side: float, label: str, pixelate: int | None = None) -> None:
        if photo is None:
            ax.add_patch(FancyBboxPatch((x, y), side, side, boxstyle="square,pad=0", fc="0.9", ec="0.3"))
        else:
            img = torch.as_tensor(photo).float()
            h, w = img.shape[-2:]
            m = min(h, w)  # the central square, so that the photo keeps its proportions
            img = img[..., (h - m) // 2: (h - m) // 2 + m, (w - m) // 2: (w - m) // 2 + m]
            if pixelate is not None:
                img = torch.nn.functional.interpolate(img[None], size=(pixelate, pixelate), mode="area")[0]
            ax.imshow(to_numpy_image(img), extent=(x, x + side, y, y + side), interpolation="nearest", zorder=2)
        ax.text(x + side / 2, y - 0.1, label, ha="center", va="top", fontsize=9)

    def network(x0: float, x1: float, yc: float, label: str, colour: str) -> None:
        ax.add_patch(Polygon([(x0, yc - 0.55), (x1, yc - 0.2), (x1, yc + 0.2), (x0, yc + 0.55)], fc=colour,
                             alpha=0.25, ec=colour, lw=1.5))
        ax.text((x0 + x1) / 2, yc, label, ha="center", va="center", fontsize=9)

    def box(x: float, y: float, w: float, h: float, text: str, colour: str) -> None:
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc="white", ec=colour, lw=1.5))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=9)

    # gray box: photo → small copy → CNN → a few numbers → filters on the full-resolution photo
    yc = 3.55
    picture(0.1, yc - 0.8, 1.6, "full-resolution photo\n(any H × W)")
    ax.add_patch(FancyArrowPatch((1.8, yc), (2.45, yc), **arrow))
    ax.text(2.12, yc + 0.12, "shrink", ha="center", va="bottom", fontsize=8)
    picture(2.5, yc - 0.3, 0.6, f"{low_res}×{low_res} copy", pixelate=low_res)
    ax.add_patch(FancyArrowPatch((3.15, yc), (3.5, yc), **arrow))
    network(3.5, 5.0, yc, "CNN", gray_box)
    ax.add_patch(FancyArrowPatch((5.0, yc), (5.4, yc), **arrow))
    names = {"gamma": "γ", "white_balance": "WB a, b", "exposure": "EV"}
    numbers = "\n".join(names.get(f, f.replace("_", " ")) for f in filters)
    box(5.45, yc - 0.55, 1.1, 1.1, f"a few\nnumbers\n{numbers}", gray_box)
    ax.add_patch(FancyArrowPatch((6.6, yc), (7.1, yc), **arrow))
    chain = " → ".join(f.replace("_", " ") for f in filters)
    box(7.15, yc - 0.5, 2.6, 1.0, "differentiable filters,\napplied in order:\n" + chain.replace(" → ", " →\n", 1),
        gray_box)
    ax.add_patch(FancyArrowPatch((1.75, yc - 0.7), (8.45, yc - 0.58), connectionstyle="arc3,rad=0.1",
                                 color=gray_box, lw=1.2, ls="--", arrowstyle="-|>", mutation_scale=12))
    ax.text(5.6, yc - 1.2, "the filters run on every pixel of the full-resolution photo", color=gray_box, fontsize=8,
            ha="center")
    ax.add_patch(FancyArrowPatch((9.8, yc), (10.3, yc), **arrow))
    picture(10.35, yc - 0.8, 1.6, "edited photo,\nfull resolution")
    ax.text(0.1, 4.65, "gray box (after Exposure): predict the knobs, let known operations edit", fontsize=10,
            color=gray_box, weight="bold")
    # black box: every pixel through the CNN
    yb = 0.6
    picture(0.1, yb - 0.8, 1.6, "")
    ax.add_patch(FancyArrowPatch((1.8, yb), (3.5, yb), **arrow))
    ax.text(2.65, yb + 0.1, "every pixel", ha="center", va="bottom", fontsize=8)
    network(3.5, 5.0, yb, "pixel CNN", black_box)
    ax.text(4.25, yb - 0.7, "each output pixel sees a small window;\ncost grows with H × W", fontsize=8, ha="center",
            va="top")
    ax.add_patch(FancyArrowPatch((5.0, yb), (10.3, yb), **arrow))
    ax.text(7.6, yb + 0.1, "every output pixel (no readable parameters)", ha="center", va="bottom", fontsize=8)
    picture(10.35, yb - 0.8, 1.6, "")
    ax.text(0.1, 1.65, "black box: a pixel-to-pixel network outputs the pixels", fontsize=10, color=black_box,
            weight="bold")
    return ax.figure


from .viz_ideas import draw_autoencoder, draw_taskonomy  # noqa: E402  (the idea diagrams of section 2)
