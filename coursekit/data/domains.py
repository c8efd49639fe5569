"""Image domains for conditional and image-to-image GANs (section 3), procedural and offline.

- :func:`edges_to_shapes`: **paired** data for pix2pix and BicycleGAN. The input A is the white
  outline of a shape (circle, square, triangle, pentagon, star); the output B is the same shape
  filled with one of several colours chosen at random, independently of the outline. So p(B | A) has
  several modes: a generator trained with L1 alone predicts their mean (a muddy colour), pix2pix
  tends to pick one (mode collapse), BicycleGAN can produce each of them (Zhu et al., NeurIPS 2017).
- :func:`font_domains`: **unpaired** data for CycleGAN: letters in one font (domain A, default
  DejaVu Sans) and, independently drawn, letters in another (domain B, default DejaVu Serif Bold).
- :func:`labelled_digits`: digits with class labels for the class-conditional GAN (an MNIST
  stand-in, :func:`coursekit.data.glyphs.digits`).

All images are (N, C, S, S) floats in [0, 1] and deterministic from ``seed``.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import Dataset

__all__ = [
    "ring_centres",
    "ring_of_gaussians",
    "PALETTE",
    "SHAPES",
    "PairedDomains",
    "UnpairedDomains",
    "edges_to_shapes",
    "font_domains",
    "labelled_digits",
    "render_shape",
]

SHAPES = ("circle", "square", "triangle", "pentagon", "star")
PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (0.9, 0.15, 0.1),
    "green": (0.15, 0.75, 0.2),
    "blue": (0.15, 0.3, 0.95),
    "yellow": (0.95, 0.85, 0.1),
}


def _distance(shape: str, x: torch.Tensor, y: torch.Tensor, radius: float, angle: float) -> torch.Tensor:
    """Approximate signed distance (pixels; < 0 inside) to a shape centred at the origin."""
    if shape == "circle":
        return torch.sqrt(x**2 + y**2) - radius
    if shape == "star":  # a 5-pointed star: radius varies with the polar angle
        r = torch.sqrt(x**2 + y**2)
        phi = torch.atan2(y, x) - angle
        wave = torch.cos(5 * phi).clamp(min=-1) * 0.5 + 0.5  # 1 at the tips, 0 between
        return r - radius * (0.5 + 0.5 * wave)
    sides = {"square": 4, "triangle": 3, "pentagon": 5}[shape]
    apothem = radius * math.cos(math.pi / sides)
    d = torch.full_like(x, -1e9)
    for k in range(sides):  # max over the edges' outward normals
        t = angle + 2 * math.pi * k / sides
        d = torch.maximum(d, x * math.cos(t) + y * math.sin(t) - apothem)
    return d


def render_shape(
    shape: str,
    size: int = 32,
    centre: tuple[float, float] | None = None,
    radius: float | None = None,
    angle: float = 0.0,
    line_width: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(outline (S, S), filled mask (S, S)) of one shape, antialiased, values in [0, 1]."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    c = (size / 2 - 0.5, size / 2 - 0.5) if centre is None else centre
    radius = size * 0.35 if radius is None else radius
    ys, xs = torch.meshgrid(
        torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32), indexing="ij"
    )
    d = _distance(shape, xs - c[0], ys - c[1], radius, angle)  # (S, S)
    outline = (1 - (d.abs() - line_width / 2).clamp(min=0)).clamp(0, 1)
    filled = (0.5 - d).clamp(0, 1)
    return outline, filled


class PairedDomains(Dataset):
    """Aligned pairs: ``a`` (N, 3, S, S) inputs, ``b`` (N, 3, S, S) outputs; item i is (a[i], b[i]).

    Also ``shapes`` (N,) shape index into :data:`SHAPES`, ``colours`` (N,) index into ``palette``,
    and ``labels`` = shape · len(palette) + colour (a class per (shape, colour) for the Fréchet scorer).
    """

    def __init__(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        shapes: torch.Tensor,
        colours: torch.Tensor,
        palette: list[str],
    ):
        self.a, self.b, self.shapes, self.colours, self.palette = a, b, shapes, colours, palette
        self.labels = shapes * len(palette) + colours

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.a[i], self.b[i]

    def __repr__(self) -> str:
        return f"PairedDomains(n={len(self)}, size={self.a.shape[-1]}, shapes={len(SHAPES)}, colours={self.palette})"


def edges_to_shapes(
    n: int, size: int = 32, seed: int = 0, colours: list[str] | None = None, shapes: list[str] | None = None
) -> PairedDomains:
    """``n`` pairs (outline → filled shape), the fill colour drawn uniformly from ``colours``.

    Each sample: a random shape, centre (kept inside the image), radius 25–40 % of the side and
    rotation; the outline is white on black (3 channels, for the reference 3-channel networks);
    the filled shape is the colour with a slight random brightness (±10 %) on black.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    palette = list(colours) if colours is not None else list(PALETTE)
    unknown = [c for c in palette if c not in PALETTE]
    if unknown:
        raise ValueError(f"unknown colours {unknown}; available: {', '.join(PALETTE)}")
    kinds = list(shapes) if shapes is not None else list(SHAPES)
    for s in kinds:
        if s not in SHAPES:
            raise ValueError(f"unknown shape {s!r}; expected some of {SHAPES}")
    gen = torch.Generator().manual_seed(seed)
    shape_idx = torch.randint(len(kinds), (n,), generator=gen)
    colour_idx = torch.randint(len(palette), (n,), generator=gen)
    radius = size * (0.25 + 0.15 * torch.rand(n, generator=gen))
    angle = 2 * math.pi * torch.rand(n, generator=gen)
    margin = radius + 1
    cx = margin + (size - 1 - 2 * margin) * torch.rand(n, generator=gen)
    cy = margin + (size - 1 - 2 * margin) * torch.rand(n, generator=gen)
    bright = 0.9 + 0.2 * torch.rand(n, generator=gen)
    rgb = torch.tensor([PALETTE[c] for c in palette])  # (K, 3)
    a = torch.empty(n, 3, size, size)
    b = torch.empty(n, 3, size, size)
    for i in range(n):
        outline, filled = render_shape(
            kinds[int(shape_idx[i])],
            size,
            (float(cx[i]), float(cy[i])),
            float(radius[i]),
            float(angle[i]),
            line_width=max(1.0, size / 32),
        )
        a[i] = outline.expand(3, -1, -1)
        b[i] = filled * (rgb[colour_idx[i]] * bright[i]).clamp(0, 1)[:, None, None]
    global_shapes = torch.tensor([SHAPES.index(kinds[int(s)]) for s in shape_idx])
    return PairedDomains(a, b, global_shapes, colour_idx, palette)


class UnpairedDomains(Dataset):
    """Two unaligned sets: ``a`` (N, C, S, S) and ``b`` (N, C, S, S) with their labels (characters).

    Item i is (a[i], b[i]); a[i] and b[i] are drawn independently (different characters in general),
    so no pairing can be learned from the data. ``classes`` names the labels.
    """

    def __init__(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        labels_a: torch.Tensor,
        labels_b: torch.Tensor,
        classes: list[str],
        names: tuple[str, str],
    ):
        self.a, self.b, self.labels_a, self.labels_b, self.classes, self.names = (
            a,
            b,
            labels_a,
            labels_b,
            classes,
            names,
        )

    def __len__(self) -> int:
        return min(len(self.a), len(self.b))

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.a[i], self.b[i]

    def __repr__(self) -> str:
        return f"UnpairedDomains(A={self.names[0]!r}, B={self.names[1]!r}, n={len(self)}, size={self.a.shape[-1]})"


def font_domains(
    n: int,
    size: int = 32,
    seed: int = 0,
    font_a: str = "DejaVu Sans",
    font_b: str = "DejaVu Serif Bold",
    chars: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    distort: float = 0.3,
) -> UnpairedDomains:
    """Unpaired letters: ``n`` in ``font_a`` (domain A) and ``n`` others in ``font_b`` (domain B).

    Characters and their distortions are drawn independently for the two domains (different seeds).
    White ink on black, 1 channel.
    """
    from .glyphs import render

    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if not chars:
        raise ValueError("chars must name at least one character")
    classes = list(chars)
    g = torch.Generator().manual_seed(seed)
    out = []
    for k, font in enumerate((font_a, font_b)):
        labels = torch.randint(len(classes), (n,), generator=g)
        clean = {c: render(classes[c], font, size) for c in labels.unique().tolist()}  # (1, S, S) each
        imgs = torch.stack([clean[int(c)] for c in labels])
        if distort > 0:
            from .glyphs import _distort

            imgs = _distort(imgs, torch.Generator().manual_seed(seed * 2 + k + 1), distort).clamp(0, 1)
        out.append((imgs, labels))
    return UnpairedDomains(out[0][0], out[1][0], out[0][1], out[1][1], classes, (font_a, font_b))


def labelled_digits(n: int, size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, S, S) in [0, 1] and labels (N,) 0–9 for the class-conditional GAN."""
    from .glyphs import digits

    ds = digits(n, size=size, seed=seed)
    return ds.images, ds.labels


def ring_of_gaussians(
    n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` 2-D points (N, 2) from ``modes`` Gaussians evenly spaced on a circle: the toy data of
    Metz et al., "Unrolled Generative Adversarial Networks", ICLR 2017, where mode collapse is easy
    to see (and to count with :func:`coursekit.metrics.modes_covered`)."""
    k = torch.randint(modes, (n,), generator=generator).float()
    angle = k * 2 * math.pi / modes
    centre = torch.stack([radius * angle.cos(), radius * angle.sin()], 1)
    return centre + std * torch.randn(n, 2, generator=generator)


def ring_centres(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The (modes, 2) centres of :func:`ring_of_gaussians`."""
    angle = torch.arange(modes).float() * 2 * math.pi / modes
    return torch.stack([radius * angle.cos(), radius * angle.sin()], 1)
