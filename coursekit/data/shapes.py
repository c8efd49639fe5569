"""Sprites with known factors of variation, and their captions.

A stand-in for dSprites (Matthey, Higgins, Hassabis and Lerchner, *dSprites: Disentanglement
testing Sprites dataset*, DeepMind 2017, https://github.com/deepmind/dsprites-dataset), drawn on
the fly so nothing is downloaded. Every image is fully described by six factors:

========  =====================================  ==============================
factor    values                                 in the caption
========  =====================================  ==============================
shape     square, circle, triangle               yes
scale     small, medium, large                   yes
rotation  8 angles in [0°, 90°)                  no (a nuisance factor)
x         left, centre, right (+ small jitter)   yes
y         top, middle, bottom (+ small jitter)   yes
colour    red, green, blue, yellow, magenta, cyan yes
========  =====================================  ==============================

Deviations from dSprites: a triangle replaces the heart, positions are 3×3 cells with a small
continuous jitter instead of a 32×32 grid, there are only 3 scales, and sprites have a colour
(dSprites is white on black). ``Shapes(..., colours=("white",), channels=1)`` gives the grey
version the disentanglement notebook uses.

Captions are generated from the factors with a fixed vocabulary ("a small red triangle at the top
left"), so text-to-image models (StackGAN, Zhang et al., ICCV 2017) can be trained in minutes.
:class:`Tokenizer` turns captions into word ids and names any word outside the vocabulary (the
sentence encoder that reads them is :class:`coursekit.models.text_encoder.TextEncoder`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "COLOURS",
    "FACTORS",
    "FACTOR_NAMES",
    "CAPTIONED",
    "VOCAB",
    "Shapes",
    "Tokenizer",
    "caption",
    "parse_caption",
    "render",
    "sample_factors",
]

# The factors and their values, in the order of the columns of ``Shapes.factors``.
FACTORS: dict[str, tuple[str, ...]] = {
    "shape": ("square", "circle", "triangle"),
    "scale": ("small", "medium", "large"),
    "rotation": tuple(f"{k * 90 / 8:g}deg" for k in range(8)),
    "x": ("left", "centre", "right"),
    "y": ("top", "middle", "bottom"),
    "colour": ("red", "green", "blue", "yellow", "magenta", "cyan"),
}
FACTOR_NAMES: tuple[str, ...] = tuple(FACTORS)
CAPTIONED: tuple[str, ...] = ("shape", "scale", "x", "y", "colour")  # factors a caption names

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.95, 0.15, 0.15),
    "green": (0.15, 0.85, 0.2),
    "blue": (0.2, 0.35, 1.0),
    "yellow": (0.95, 0.9, 0.15),
    "magenta": (0.9, 0.2, 0.9),
    "cyan": (0.15, 0.9, 0.9),
    "white": (1.0, 1.0, 1.0),
}
_HALF_SIZE = {"small": 0.10, "medium": 0.15, "large": 0.21}  # half the sprite's side / image side
_CENTRES = (0.27, 0.5, 0.73)  # cell centres (fraction of the image side) for x and y
_JITTER = 0.05

# Every word a caption can contain; id 0 pads a batch of captions of different lengths.
VOCAB: tuple[str, ...] = (
    "<pad>", "a", "at", "the", "in", "on",
    *FACTORS["shape"], *FACTORS["scale"], *FACTORS["x"], *FACTORS["y"], *FACTORS["colour"], "white",
)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# drawing


def render(
    shape: torch.Tensor,
    half_size: torch.Tensor,
    angle: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    rgb: torch.Tensor,
    size: int = 64,
) -> torch.Tensor:
    """Draw sprites from continuous parameters, anti-aliased; returns ``(B, 3, size, size)`` in [0, 1].

    ``shape`` (B,) long: 0 square, 1 circle, 2 triangle; ``half_size``, ``x``, ``y`` (B,) as
    fractions of the image side; ``angle`` (B,) radians; ``rgb`` (B, 3).
    """
    dev = half_size.device
    coords = (torch.arange(size, device=dev, dtype=torch.float32) + 0.5) / size
    gy, gx = torch.meshgrid(coords, coords, indexing="ij")  # (H, W)
    dx = gx[None] - x[:, None, None]  # (B, H, W)
    dy = gy[None] - y[:, None, None]
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    u = (cos * dx + sin * dy) / half_size[:, None, None]  # sprite frame: the sprite fills [-1, 1]
    v = (-sin * dx + cos * dy) / half_size[:, None, None]
    # signed distances (negative inside), in sprite units
    d_square = torch.maximum(u.abs(), v.abs()) - 1.0
    d_circle = torch.sqrt(u**2 + v**2) - 1.0
    # equilateral triangle pointing up (-v), circumradius 1.15 so its area is close to the square's
    d_tri = torch.full_like(u, -math.inf)
    for k in range(3):
        a = -math.pi / 2 + k * 2 * math.pi / 3
        d_tri = torch.maximum(d_tri, u * math.cos(a) + v * math.sin(a) - 0.575)
    d = torch.where(
        shape[:, None, None] == 0, d_square, torch.where(shape[:, None, None] == 1, d_circle, d_tri)
    )
    pixel = 1.0 / (size * half_size[:, None, None])  # one pixel in sprite units
    alpha = torch.clamp(0.5 - d / pixel, 0.0, 1.0)  # coverage: a one-pixel ramp at the edge
    return alpha[:, None] * rgb[:, :, None, None]  # (B, 3, H, W)


def sample_factors(
    n: int,
    seed: int = 0,
    colours: Sequence[str] | None = None,
    shapes: Sequence[str] | None = None,
) -> torch.Tensor:
    """``(n, 6)`` long factor indices, uniform over the allowed values (columns: :data:`FACTOR_NAMES`)."""
    g = torch.Generator().manual_seed(seed)
    cols = []
    for name, values in FACTORS.items():
        allowed = list(range(len(values)))
        if name == "colour" and colours is not None:
            allowed = [_colour_index(c) for c in colours]
        if name == "shape" and shapes is not None:
            allowed = [_value_index("shape", s) for s in shapes]
        pick = torch.randint(len(allowed), (n,), generator=g)
        cols.append(torch.tensor(allowed)[pick])
    return torch.stack(cols, dim=1)


def _colour_index(colour: str) -> int:
    if colour == "white":
        return -1  # grey-scale sprites: not one of the six caption colours
    return _value_index("colour", colour)


def _value_index(factor: str, value: str) -> int:
    if value not in FACTORS[factor]:
        raise ValueError(f"unknown {factor} {value!r}; expected one of {', '.join(FACTORS[factor])}")
    return FACTORS[factor].index(value)


class Shapes(torch.utils.data.Dataset):
    """``n`` sprites of ``size``×``size`` with their factors and captions.

    ``position="cells"`` puts sprites in a 3×3 grid of cells (with ``jitter``); ``"uniform"``
    anywhere (continuous x, y, as in dSprites), the x / y factor then being the third it falls in.
    Items are ``(image (C, S, S) float in [0, 1], factors (6,) long)``. Attributes: ``images``
    (N, C, S, S), ``factors`` (N, 6) (columns :data:`FACTOR_NAMES`; colour -1 for white sprites),
    ``captions`` (list of N strings), ``positions`` (N, 2) the continuous x, y.
    """

    def __init__(
        self,
        n: int,
        size: int = 64,
        seed: int = 0,
        colours: Sequence[str] | None = None,
        shapes: Sequence[str] | None = None,
        channels: int = 3,
        jitter: bool = True,
        position: str = "cells",
    ):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if not isinstance(size, int) or size < 8:
            raise ValueError(f"size must be an int of at least 8 pixels, got {size!r}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
        if colours is not None:
            colours = tuple(colours)
            if not colours:
                raise ValueError("colours is empty; give at least one of " + ", ".join(COLOURS))
            for c in colours:
                if c not in COLOURS:
                    raise ValueError(f"unknown colour {c!r}; expected one of {', '.join(COLOURS)}")
        if position not in ("cells", "uniform"):
            raise ValueError(f"position must be 'cells' or 'uniform', got {position!r}")
        self.size, self.channels = size, channels
        self.factors = sample_factors(n, seed, colours, shapes)  # (N, 6)
        g = torch.Generator().manual_seed(seed + 1)
        if position == "cells":
            jit = (torch.rand(n, 2, generator=g) * 2 - 1) * (_JITTER if jitter else 0.0)
            self.positions = torch.tensor(_CENTRES)[self.factors[:, 3:5]] + jit  # (N, 2): x, y
        else:  # anywhere in [lo, hi]²; the x / y factor is the third the sprite is in
            lo, hi = _CENTRES[0] - _JITTER, _CENTRES[-1] + _JITTER
            self.positions = lo + (hi - lo) * torch.rand(n, 2, generator=g)
            self.factors[:, 3:5] = ((self.positions - lo) / (hi - lo) * 3).long().clamp(0, 2)
        self.images = self._draw(self.factors, self.positions)
        self.captions = [caption(f) for f in self.factors]

    def _draw(self, factors: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        # the last row is white, so the colour index -1 (grey-scale sprites) picks it
        rgb_table = torch.tensor([COLOURS[c] for c in FACTORS["colour"]] + [COLOURS["white"]], device=factors.device)
        half = torch.tensor([_HALF_SIZE[s] for s in FACTORS["scale"]], device=factors.device)
        out = []
        for i in range(0, len(factors), 1024):  # in chunks: bounded memory for large n
            f, p = factors[i : i + 1024], positions[i : i + 1024]
            angle = f[:, 2].float() * (math.pi / 2) / len(FACTORS["rotation"])
            img = render(f[:, 0], half[f[:, 1]], angle, p[:, 0], p[:, 1], rgb_table[f[:, 5]], self.size)
            if self.channels == 1:
                img = img.max(dim=1, keepdim=True).values  # (B, 1, S, S)
            out.append(img)
        return torch.cat(out)

    def discrete_factors(self, position_bins: int = 3) -> torch.Tensor:
        """``(N, 6)`` factor indices with x and y quantised into ``position_bins`` levels of ``positions``.

        With ``position="uniform"`` the position is continuous; finer bins (e.g. 8) let a
        disentanglement score see more of it than the three caption cells.
        """
        if position_bins == 3:
            return self.factors.clone()
        lo, hi = self.positions.min(0).values, self.positions.max(0).values
        q = ((self.positions - lo) / (hi - lo + 1e-9) * position_bins).long().clamp(0, position_bins - 1)
        out = self.factors.clone()
        out[:, 3:5] = q
        return out

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[i], self.factors[i]

    def __repr__(self) -> str:
        return f"Shapes(n={len(self)}, size={self.size}, channels={self.channels})"


# ----------------------------------------------------------------------------------------------
# captions


def _position_phrase(x: str, y: str) -> str:
    if x == "centre" and y == "middle":
        return "in the centre"
    if x == "centre":
        return f"at the {y}"
    if y == "middle":
        return f"on the {x}"
    return f"at the {y} {x}"


def caption(factors: torch.Tensor | Sequence[int]) -> str:
    """The caption of one factor row, e.g. "a small red triangle at the top left".

    Rotation is not mentioned (it is the factor a caption leaves free); a white sprite is "white".
    """
    f = [int(v) for v in factors]
    if len(f) != len(FACTORS):
        raise ValueError(f"expected {len(FACTORS)} factor indices ({', '.join(FACTORS)}), got {len(f)}")
    colour = "white" if f[5] == -1 else FACTORS["colour"][f[5]]
    words = ["a", FACTORS["scale"][f[1]], colour, FACTORS["shape"][f[0]]]
    return " ".join(words) + " " + _position_phrase(FACTORS["x"][f[3]], FACTORS["y"][f[4]])


def _words(text: str) -> list[str]:
    if not isinstance(text, str):
        raise TypeError(f"a caption must be a str, got {type(text).__name__}")
    return [w for w in re.split(r"[\s,.;:!?]+", text.lower().replace("center", "centre")) if w]


def parse_caption(text: str) -> dict[str, int]:
    """The factor indices a caption names: ``{"shape": 2, "scale": 0, "x": 0, "y": 0, "colour": 0}``.

    Words outside :data:`VOCAB` raise a ``ValueError`` naming them; a factor the caption does not
    name defaults to its middle value for x / y and is otherwise an error.
    """
    Tokenizer().encode(text)  # raises on words outside the vocabulary
    words = _words(text)
    out: dict[str, int] = {}
    for factor in ("shape", "scale", "colour", "x", "y"):
        found = [w for w in words if w in FACTORS[factor]]
        if len(found) > 1:
            raise ValueError(f"caption {text!r} names more than one {factor}: {found}")
        if found:
            out[factor] = FACTORS[factor].index(found[0])
        elif factor in ("x", "y"):
            out[factor] = 1  # "at the top" means the centre column; "on the left" the middle row
        else:
            raise ValueError(f"caption {text!r} names no {factor}; use one of {', '.join(FACTORS[factor])}")
    return out


class Tokenizer:
    """Captions to word ids over the fixed :data:`VOCAB` (id 0 pads).

    >>> Tokenizer().encode("a small red square")
    tensor([1, 9, 15, 6])
    """

    def __init__(self, vocab: Sequence[str] = VOCAB):
        self.vocab = tuple(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> torch.Tensor:
        words = _words(text)
        if not words:
            raise ValueError(f"caption {text!r} has no words")
        unknown = [w for w in words if w not in self.index]
        if unknown:
            raise ValueError(
                f"caption {text!r} uses words outside the vocabulary: {', '.join(repr(w) for w in unknown)}. "
                f"The vocabulary is: {', '.join(self.vocab[1:])}"
            )
        return torch.tensor([self.index[w] for w in words], dtype=torch.long)

    def encode_batch(self, texts: Sequence[str]) -> torch.Tensor:
        """``(B, L)`` word ids, right-padded with 0 to the longest caption."""
        if isinstance(texts, str):
            raise TypeError("encode_batch expects a list of captions; use encode() for one caption")
        ids = [self.encode(t) for t in texts]
        return nn.utils.rnn.pad_sequence(ids, batch_first=True, padding_value=0)

    def decode(self, ids: torch.Tensor) -> str:
        return " ".join(self.vocab[int(i)] for i in ids if int(i) != 0)
