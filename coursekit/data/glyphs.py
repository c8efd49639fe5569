"""Glyphs: characters of many scripts, rendered from the fonts matplotlib ships.

An offline stand-in for MNIST (``digits``: ten digit classes across many fonts) and for Omniglot
(many scripts; hold some scripts out to test one-shot learning on alphabets never seen). Every
sample is a character in a random font with a random affine and elastic distortion, white ink
on black, values in [0, 1]. Deterministic from the seed.

Scripts: Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew, Arabic (isolated letters), math
symbols and digits; fonts: DejaVu Sans/Serif/Mono, STIX and Computer Modern in several weights.
A character is drawn only in fonts that contain it (checked in the font's character map).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

__all__ = ["FONTS", "SCRIPTS", "GlyphStrips", "Glyphs", "digits", "font_path", "render"]


def _chars(first: str, last: str, skip: str = "") -> str:
    return "".join(chr(c) for c in range(ord(first), ord(last) + 1) if chr(c) not in skip)


SCRIPTS: dict[str, str] = {
    "latin": _chars("A", "Z") + _chars("a", "z"),
    "greek": _chars("Α", "Ω", skip="\u03a2") + _chars("α", "ω", skip="ς"),
    "cyrillic": _chars("А", "Я"),
    "armenian": _chars("Ա", "Ֆ"),
    "georgian": _chars("ა", "ჰ"),
    "hebrew": _chars("א", "ת", skip="ךםןףץ"),
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "math": "∀∃∂∇∑∏∫√∞≈≠≤≥⊂⊃∪∩∈∉⊕⊗⊥∠∧∨¬→⇒↔±×÷∝∅ℵℏ",
    "digits": "0123456789",
}

# font name -> file in matplotlib's font folder
FONTS: dict[str, str] = {
    "DejaVu Sans": "DejaVuSans.ttf",
    "DejaVu Sans Bold": "DejaVuSans-Bold.ttf",
    "DejaVu Sans Oblique": "DejaVuSans-Oblique.ttf",
    "DejaVu Sans Bold Oblique": "DejaVuSans-BoldOblique.ttf",
    "DejaVu Serif": "DejaVuSerif.ttf",
    "DejaVu Serif Bold": "DejaVuSerif-Bold.ttf",
    "DejaVu Serif Italic": "DejaVuSerif-Italic.ttf",
    "DejaVu Serif Bold Italic": "DejaVuSerif-BoldItalic.ttf",
    "DejaVu Sans Mono": "DejaVuSansMono.ttf",
    "DejaVu Sans Mono Bold": "DejaVuSansMono-Bold.ttf",
    "DejaVu Sans Mono Oblique": "DejaVuSansMono-Oblique.ttf",
    "STIX": "STIXGeneral.ttf",
    "STIX Bold": "STIXGeneralBol.ttf",
    "STIX Italic": "STIXGeneralItalic.ttf",
    "STIX Bold Italic": "STIXGeneralBolIta.ttf",
    "Computer Modern Roman": "cmr10.ttf",
    "Computer Modern Sans": "cmss10.ttf",
    "Computer Modern Typewriter": "cmtt10.ttf",
    "Computer Modern Bold": "cmb10.ttf",
    "Computer Modern Italic": "cmti10.ttf",
}


def font_path(font: str) -> str:
    import matplotlib

    if font not in FONTS:
        raise ValueError(f"unknown font {font!r}; available: {', '.join(FONTS)}")
    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf", FONTS[font])


@functools.cache
def _covered(font: str) -> frozenset[str]:
    """The characters of SCRIPTS that ``font`` really contains."""
    from matplotlib.ft2font import FT2Font

    ft = FT2Font(font_path(font))
    cmap = ft.get_charmap()
    return frozenset(ch for chars in SCRIPTS.values() for ch in chars if cmap.get(ord(ch), 0) != 0)


@functools.lru_cache(maxsize=4096)
def _render_clean(char: str, font: str, size: int) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    big = 4 * size
    pil_font = ImageFont.truetype(font_path(font), size=2 * size)
    canvas = Image.new("L", (big, big), 0)
    ImageDraw.Draw(canvas).text((big // 2, big // 2), char, fill=255, font=pil_font, anchor="mm")
    img = np.asarray(canvas, dtype=np.float32) / 255.0
    ys, xs = np.nonzero(img > 0.05)
    if len(ys) == 0:
        raise ValueError(f"font {font!r} draws nothing for {char!r}")
    crop = img[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    # fit the glyph's longer side into 70 % of the output, keeping its aspect ratio
    h, w = crop.shape
    scale = 0.7 * size / max(h, w)
    t = torch.from_numpy(crop)[None, None]
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    t = F.interpolate(t, size=(nh, nw), mode="area")[0, 0]
    out = torch.zeros(size, size)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top: top + nh, left: left + nw] = t
    return out.numpy()


def render(char: str, font: str = "DejaVu Sans", size: int = 32) -> torch.Tensor:
    """One clean, centred glyph as a ``(1, size, size)`` tensor in [0, 1]."""
    if not isinstance(char, str) or len(char) != 1:
        raise ValueError(f"render() takes a single character, got {char!r}")
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    if char not in _covered(font):
        raise ValueError(f"font {font!r} has no glyph for {char!r} (U+{ord(char):04X}); pick another font")
    return torch.from_numpy(_render_clean(char, font, size).copy())[None]


def _distort(images: torch.Tensor, gen: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """Random affine (rotation, scale, shear, shift) plus a smooth elastic warp; (B,1,S,S)."""
    b, _, s, _ = images.shape

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, generator=gen)

    angle = u(-0.26, 0.26) * strength  # ±15°
    scale = 1 + u(-0.15, 0.1) * strength
    shear = u(-0.25, 0.25) * strength
    tx, ty = u(-0.08, 0.08) * strength, u(-0.08, 0.08) * strength
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([
        torch.stack([cos, -sin + shear * cos, tx], 1),
        torch.stack([sin, cos + shear * sin, ty], 1),
    ], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (B, S, S, 2)
    # elastic: a coarse random displacement field, upsampled smoothly (Simard et al. 2003)
    coarse = torch.randn(b, 2, 4, 4, generator=gen) * 0.035 * strength
    field = F.interpolate(coarse, size=(s, s), mode="bicubic", align_corners=True).permute(0, 2, 3, 1)
    return F.grid_sample(images, grid + field, mode="bilinear", padding_mode="zeros", align_corners=False)


class Glyphs(Dataset):
    """``n`` distorted glyphs of the chosen scripts and fonts; items are ``(image, label)``.

    Attributes: ``images`` (N, 1, S, S) float in [0, 1]; ``labels`` (N,) long; ``classes`` the
    character of each label; ``class_scripts`` the script of each class; ``fonts`` the font of
    each sample. Classes are balanced (counts differ by at most one) and, for small ``n``, drawn from every script.
    ``chars`` keeps only these characters of the scripts (``Glyphs(n, scripts=["latin"], chars="ABCDEFGHIJ")``: ten
    letters, labelled 0–9 in the scripts' order).
    """

    def __init__(
        self,
        n: int,
        size: int = 32,
        scripts: Sequence[str] | None = None,
        fonts: Sequence[str] | None = None,
        seed: int = 0,
        distort: bool | float = True,
        chars: str | None = None,
    ):
        scripts = list(scripts) if scripts is not None else [s for s in SCRIPTS if s != "digits"]
        if chars is not None:
            missing = [ch for ch in chars if not any(ch in SCRIPTS[s] for s in scripts)]
            if missing:
                raise ValueError(f"chars {missing} are not in the scripts {scripts}; add their script or drop them")
        unknown = [s for s in scripts if s not in SCRIPTS]
        if unknown:
            raise ValueError(f"unknown scripts {unknown}; available: {', '.join(SCRIPTS)}")
        fonts = list(fonts) if fonts is not None else list(FONTS)
        for f in fonts:
            font_path(f)  # validates the name
        if n < 1:
            raise ValueError(f"n must be positive, got {n}")
        self.size, self.seed = size, seed
        self.classes: list[str] = []
        self.class_scripts: list[str] = []
        self._class_fonts: list[list[str]] = []
        for script in scripts:
            for ch in SCRIPTS[script]:
                if chars is not None and ch not in chars:
                    continue
                have = [f for f in fonts if ch in _covered(f)]
                if have:
                    self.classes.append(ch)
                    self.class_scripts.append(script)
                    self._class_fonts.append(have)
        if not self.classes:
            raise ValueError(f"none of the fonts {fonts} has any character of the scripts {scripts}")
        gen = torch.Generator().manual_seed(seed)
        k = len(self.classes)  # balanced: each round of k samples holds every class once
        labels = torch.cat([torch.randperm(k, generator=gen) for _ in range(-(-n // k))])[:n]
        labels = labels[torch.randperm(n, generator=gen)]
        picks = torch.randint(0, 1 << 30, (n,), generator=gen)
        self.fonts = [self._class_fonts[c][int(p) % len(self._class_fonts[c])] for c, p in zip(labels.tolist(), picks)]
        clean = torch.stack([render(self.classes[c], f, size) for c, f in zip(labels.tolist(), self.fonts)])
        strength = float(distort)
        self.images = _distort(clean, gen, strength).clamp(0, 1) if strength > 0 else clean
        self.labels = labels.long()

    @property
    def scripts(self) -> list[str]:
        return sorted(set(self.class_scripts), key=list(SCRIPTS).index)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[i], self.labels[i]

    def __repr__(self) -> str:
        return (f"Glyphs(n={len(self)}, size={self.size}, classes={len(self.classes)}, "
                f"scripts={self.scripts}, seed={self.seed})")


def digits(n: int, size: int = 32, seed: int = 0, fonts: Sequence[str] | None = None,
           distort: bool | float = True) -> Glyphs:
    """An MNIST stand-in: the ten digits across many fonts (labels are the digit values)."""
    return Glyphs(n, size=size, scripts=["digits"], fonts=fonts, seed=seed, distort=distort)


class GlyphStrips:
    """Strips that hold the same glyph twice, far apart: a task with a long-range dependency (4.3).

    Each strip is ``size`` × (2·``size`` + ``gap``) pixels: a glyph in the left ``size`` × ``size``
    square, an empty gap, and in the right square *another* sample of the same character in the
    same font (its own random distortion). Half of a strip alone looks like any glyph; only the
    two ends together show whether they agree. Attributes: ``images`` (N, 1, size, 2·size + gap)
    in [0, 1], ``labels`` (N,), ``classes``, ``ends`` (the left and right squares of any strips)
    and ``glyphs`` (the pool of single glyphs the ends were drawn from, for training a classifier).
    """

    def __init__(self, n: int, size: int = 16, gap: int = 16, chars: str = "HOTX",
                 fonts: Sequence[str] | None = None, seed: int = 0, distort: bool | float = 0.5):
        if n < 1 or gap < 0:
            raise ValueError(f"need n ≥ 1 strips and a gap ≥ 0, got n={n}, gap={gap}")
        scripts = [s for s in SCRIPTS if any(ch in SCRIPTS[s] for ch in chars)]
        self.size, self.gap = size, gap
        self.glyphs = Glyphs(2 * n, size=size, scripts=scripts, fonts=fonts, seed=seed, distort=distort, chars=chars)
        self.classes = self.glyphs.classes
        gen = torch.Generator().manual_seed(seed + 1)
        labels, fonts_of = self.glyphs.labels, self.glyphs.fonts
        by_kind: dict[tuple[int, str], list[int]] = {}
        for j in range(n, 2 * n):  # partners come from the second half of the pool
            by_kind.setdefault((int(labels[j]), fonts_of[j]), []).append(j)
        partner = []
        for i in range(n):  # another sample of the same character in the same font
            same = by_kind.get((int(labels[i]), fonts_of[i])) or [i]
            partner.append(same[int(torch.randint(len(same), (1,), generator=gen))])
        self.images = torch.zeros(n, 1, size, 2 * size + gap)
        self.images[..., :size] = self.glyphs.images[:n]
        self.images[..., size + gap:] = self.glyphs.images[partner]
        self.labels = labels[:n].clone()

    def ends(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The left and right ``size`` × ``size`` squares of strips (N, C, size, width)."""
        return images[..., : self.size], images[..., -self.size:]

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (f"GlyphStrips(n={len(self)}, strip {self.size}×{2 * self.size + self.gap}, "
                f"classes={''.join(self.classes)})")
