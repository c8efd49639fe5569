"""Idea diagrams of section 2 (notebooks 2.1 and 2.3), drawn with the same canvas and arrows as
the other idea figures in :mod:`coursekit.viz`; re-exported there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .viz import _ARROW, _diagram_canvas, to_numpy_image

__all__ = ["draw_autoencoder", "draw_taskonomy"]


def draw_autoencoder(image: Any = None, reconstruction: Any = None, code: Any = None, ax: Any = None) -> Any:
    """The idea of an autoencoder, drawn (notebook 2.1; Hinton & Salakhutdinov, Science 2006):
    an image → the encoder E → a code of k numbers → the decoder D → the reconstruction, trained
    so that D(E(x)) ≈ x, with no labels.

    ``image`` and ``reconstruction``: optional example images (C, H, W) drawn at the two ends;
    ``code``: an optional 1-D tensor, the example's code (its values are drawn as bars; its length
    is k). Returns the matplotlib figure.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon

    ax = _diagram_canvas(ax, (10, 3.6), (0, 10.4), (-0.9, 3.2))
    arrow = dict(_ARROW)  # a copy: callers may change it
    values = (torch.linspace(-1, 1, 4) if code is None else torch.as_tensor(code).detach().float().cpu().flatten())
    k = len(values)

    def thumbnail(img: Any, x: float, label: str, colour: str) -> None:
        if img is None:
            ax.add_patch(FancyBboxPatch((x, 0.6), 1.6, 1.6, boxstyle="square,pad=0", fc="0.9", ec=colour, lw=2))
        else:
            im = to_numpy_image(img)
            ax.imshow(im, cmap="gray" if im.ndim == 2 else None, vmin=0, vmax=1, extent=(x, x + 1.6, 0.6, 2.2),
                      interpolation="nearest", zorder=2)
            ax.add_patch(FancyBboxPatch((x, 0.6), 1.6, 1.6, boxstyle="square,pad=0", fc="none", ec=colour, lw=2,
                                        zorder=3))
        ax.text(x + 0.8, 0.45, label, ha="center", va="top", fontsize=9)

    def trapezoid(x0: float, x1: float, h0: float, h1: float, label: str, colour: str) -> None:
        ax.add_patch(Polygon([(x0, 1.4 - h0), (x1, 1.4 - h1), (x1, 1.4 + h1), (x0, 1.4 + h0)], fc=colour,
                             alpha=0.25, ec=colour, lw=1.5))
        ax.text((x0 + x1) / 2, 1.4, label, ha="center", va="center", fontsize=11)

    thumbnail(image, 0.1, "image x\n(H·W numbers)", "0.3")
    ax.add_patch(FancyArrowPatch((1.8, 1.4), (2.2, 1.4), **arrow))
    trapezoid(2.2, 3.9, 0.8, 0.3, "encoder $E$", "tab:blue")
    ax.add_patch(FancyArrowPatch((3.9, 1.4), (4.3, 1.4), **arrow))
    # the code: k numbers, drawn as a column of cells whose shade is the value
    cell = min(0.3, 1.6 / k)
    top = 1.4 + cell * k / 2
    scale = float(values.abs().max()) or 1.0
    for i, v in enumerate(values.tolist()):
        shade = 0.5 + 0.5 * v / scale
        ax.add_patch(FancyBboxPatch((4.35, top - (i + 1) * cell), 0.5, cell, boxstyle="square,pad=0",
                                    fc=(1 - shade * 0.6, 1 - shade * 0.3, 1.0), ec="tab:purple", lw=1))
    ax.text(4.6, top + 0.12, f"code $z = E(x)$\n$k = {k}$ numbers", ha="center", va="bottom", fontsize=9,
            color="tab:purple")
    ax.add_patch(FancyArrowPatch((4.9, 1.4), (5.3, 1.4), **arrow))
    trapezoid(5.3, 7.0, 0.3, 0.8, "decoder $D$", "tab:green")
    ax.add_patch(FancyArrowPatch((7.0, 1.4), (7.4, 1.4), **arrow))
    thumbnail(reconstruction, 7.45, "reconstruction\n$\\hat{x} = D(E(x))$", "tab:green")
    ax.text(5.2, -0.55, "trained to make $\\hat{x}$ close to $x$ (squared error), no labels; the narrow code "
            "forces it to keep what matters most\nlinear $E$ and $D$ with the squared error: the best code is PCA's "
            "projection (Baldi & Hornik 1989)", ha="center", va="center", fontsize=9,
            bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    return ax.figure


def draw_taskonomy(image: Any = None, sources: Sequence[str] = ("depth", "normals", "shading"),
                   target: str = "depth", ax: Any = None) -> Any:
    """The idea of Taskonomy, drawn (notebook 2.3; Zamir et al., CVPR 2018): stage 1, one
    encoder–decoder per source task trained on plenty of labels; stage 2, each source's encoder
    frozen and a small readout for a target task trained on a few labels; the readouts' test losses,
    compared with each other and with training from scratch, fill the affinity matrix.

    ``image``: an optional example input (C, H, W). Returns the matplotlib figure.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon, Rectangle

    ax = _diagram_canvas(ax, (13, 4.6), (0, 13.6), (-0.6, 4.9))
    arrow = dict(_ARROW)  # a copy: callers may change it
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]

    def encoder(x0: float, yc: float, label: str, colour: str, frozen: bool) -> None:
        ax.add_patch(Polygon([(x0, yc - 0.4), (x0 + 1.1, yc - 0.18), (x0 + 1.1, yc + 0.18), (x0, yc + 0.4)],
                             fc=colour, alpha=0.25, ec=colour, lw=1.5, hatch="//" if frozen else None))
        ax.text(x0 + 0.55, yc, label, ha="center", va="center", fontsize=8)

    def box(x: float, y: float, w: float, h: float, text: str, colour: str) -> None:
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", fc="white", ec=colour, lw=1.4))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8)

    # the input image, shared by every row
    if image is None:
        ax.add_patch(Rectangle((0.1, 1.6), 1.0, 1.0, fc="0.9", ec="0.3"))
    else:
        ax.imshow(to_numpy_image(image), extent=(0.1, 1.1, 1.6, 2.6), interpolation="nearest", zorder=2)
    ax.text(0.6, 1.5, "image", ha="center", va="top", fontsize=9)
    ax.text(1.7, 4.6, "stage 1: one network\nper source task (many labels)", ha="left", fontsize=9, weight="bold")
    ax.text(5.1, 4.6, f"stage 2: frozen encoder (hatched) + small\nreadout for the target ({target}; few labels)",
            ha="left", fontsize=9, weight="bold")
    ys = [3.6, 2.1, 0.6][: len(sources)]
    for k, (src, yc) in enumerate(zip(sources, ys)):
        c = colours[k % len(colours)]
        ax.add_patch(FancyArrowPatch((1.15, 2.1), (1.8, yc), **arrow))
        encoder(1.8, yc, f"$E_{{\\mathrm{{{src}}}}}$", c, frozen=False)
        box(3.05, yc - 0.22, 0.95, 0.44, f"{src}\ndecoder", c)
        # stage 2: the same encoder, frozen (hatched), with a readout for the target
        encoder(5.2, yc, f"$E_{{\\mathrm{{{src}}}}}$", c, frozen=True)
        ax.add_patch(FancyArrowPatch((4.05, yc), (5.15, yc), connectionstyle="arc3,rad=0", lw=1.0, ls=":",
                                     arrowstyle="-|>", mutation_scale=10, color=c))
        box(6.6, yc - 0.25, 1.6, 0.5, f"readout\n{src} → {target}", "0.3")
        ax.add_patch(FancyArrowPatch((6.35, yc), (6.55, yc), **arrow))
        ax.add_patch(FancyArrowPatch((8.25, yc), (9.0, 2.1 + 0.3 * (1 - k)), **arrow))
    ax.text(4.6, 0.05, "copied, then frozen", fontsize=7, ha="center", color="0.3")
    # the target column of the affinity matrix, and scratch
    box(9.05, 1.25, 1.6, 1.7, f"test loss of\neach readout\non {target},\nvs. the same net\nfrom scratch", "0.3")
    ax.add_patch(FancyArrowPatch((10.7, 2.1), (11.15, 2.1), **arrow))
    n = len(sources)
    for i in range(n):
        for j in range(n):
            shade = "0.85" if j != 0 else colours[i % len(colours)]
            ax.add_patch(Rectangle((11.2 + 0.45 * j, 2.8 - 0.45 * (i + 1)), 0.45, 0.45, fc=shade, ec="white",
                                   alpha=0.6 if j == 0 else 1.0))
    ax.text(11.2 + 0.225 * n, 2.95, "affinity matrix", ha="center", va="bottom", fontsize=9)
    ax.text(11.2 + 0.225 * n, 2.8 - 0.45 * n - 0.1, f"rows: sources\ncolumns: targets\n(column {target} filled)",
            ha="center", va="top", fontsize=8)
    return ax.figure
