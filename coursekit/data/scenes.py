"""Glyph scenes for notebook 4.2: tasks that need channel attention, or masks over positions.

* :func:`framed_pair` — a red digit and a green letter side by side, inside a coloured frame. The
  frame's colour says which of the two is the label: red frame → the digit (0–9), green frame →
  the letter (A–J, labelled 0–9). Both objects share the ten labels, so a network must *select*:
  "use the digit detectors when the frame is red". The frame lies at the border, out of reach of
  the local features over the objects; a global summary (the squeeze of squeeze-and-excitation,
  Hu et al., CVPR 2018, §3.1: "each unit … is unable to exploit contextual information outside
  of this region") sees it. ``pair=False`` is the control: one object only, the frame's colour
  matching it, so nothing needs selecting.
* :func:`cluttered_digits` — one digit on a canvas strewn with fragments of other digits (the
  "cluttered MNIST" of Mnih et al., NeurIPS 2014, §4.1, which pastes 8×8 pieces of random
  digits): locally a fragment looks like part of a digit, and only the whole object tells the
  target from the clutter, which is what the soft masks of a Residual Attention Network
  (Wang et al., CVPR 2017) are for.

Everything is procedural, offline and deterministic from ``seed``; images are in [0, 1].
Legend: N examples, S the canvas side.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .glyphs import Glyphs, digits

__all__ = ["LETTERS", "Scenes", "cluttered_digits", "framed_pair", "noisy_labels"]

RED = (1.0, 0.15, 0.1)
GREEN = (0.1, 1.0, 0.15)
LETTERS = "ABCDEFGHIJ"  # the letters' labels are their positions here: A → 0, …, J → 9


class Scenes(NamedTuple):
    """Images (N, C, S, S) and labels (N,); for :func:`framed_pair` ``cue`` (N,) bool, whether the
    frame is red (the digit is the label); for :func:`cluttered_digits` ``target`` (N, 1, S, S)
    bool, the target digit's own ink (where a mask that selects should be bright)."""

    images: torch.Tensor
    labels: torch.Tensor
    cue: torch.Tensor | None = None
    target: torch.Tensor | None = None


def _paste(canvas: torch.Tensor, ink: torch.Tensor, top: int, left: int) -> None:
    """Draw ``ink`` (C, h, w) onto ``canvas`` (C, S, S) at (top, left), keeping the brighter value."""
    _, h, w = ink.shape
    region = canvas[:, top:top + h, left:left + w]
    torch.maximum(region, ink, out=region)


def framed_pair(n: int, seed: int = 0, *, canvas: int = 32, pair: bool = True, frame: int = 2) -> Scenes:
    """``n`` RGB scenes: a red digit and a green letter (A–J) in a red or green frame.

    The label is the digit's value when the frame is red and the letter's index (A = 0 … J = 9)
    when it is green. The two objects sit side by side in random order, each shifted up or down by
    up to 3 pixels; each glyph is ``0.44·canvas`` pixels square. With ``pair=False`` only the object
    the frame names is drawn (the control task). Returns :class:`Scenes`, images (N, 3, S, S).
    """
    if canvas < 20:
        raise ValueError(f"canvas must be at least 20 pixels for two glyphs and a frame, got {canvas}")
    side = int(canvas * 0.44)
    gen = torch.Generator().manual_seed(seed)
    digit = digits(n, size=side, seed=seed)  # (N, 1, side, side)
    letter = Glyphs(n, size=side, scripts=["latin"], chars=LETTERS, seed=seed + 7919)
    red, green = torch.tensor(RED)[:, None, None], torch.tensor(GREEN)[:, None, None]  # (3, 1, 1)
    frame_red = torch.rand(n, generator=gen) < 0.5  # the cue: (N,)
    digit_left = torch.rand(n, generator=gen) < 0.5
    shift = torch.randint(-3, 4, (n, 2), generator=gen)  # vertical jitter of digit and letter
    images = torch.zeros(n, 3, canvas, canvas)
    mid = canvas // 2
    for i in range(n):
        x_digit, x_letter = (mid - side, mid) if digit_left[i] else (mid, mid - side)
        if not pair:  # the control: the named object alone, centred
            x_digit = x_letter = mid - side // 2
        top_digit, top_letter = mid - side // 2 + int(shift[i, 0]), mid - side // 2 + int(shift[i, 1])
        if pair or frame_red[i]:
            _paste(images[i], digit.images[i] * red, top_digit, x_digit)
        if pair or not frame_red[i]:
            _paste(images[i], letter.images[i] * green, top_letter, x_letter)
    border = torch.ones(1, 1, canvas, canvas)
    border[..., frame:-frame, frame:-frame] = 0  # (1, 1, S, S): 1 on the frame
    colour = torch.where(frame_red[:, None, None, None], red, green)  # (N, 3, 1, 1)
    images = images * (1 - border) + border * colour
    labels = torch.where(frame_red, digit.labels, letter.labels)
    return Scenes(images, labels, cue=frame_red)


def cluttered_digits(
    n: int, seed: int = 0, *, canvas: int = 40, digit_size: int = 20, fragments: int = 8, fragment_size: int = 7
) -> Scenes:
    """``n`` grey scenes: one digit at a random place among ``fragments`` pieces of other digits.

    Each fragment is a ``fragment_size``-square crop from inside another digit's glyph (same size
    and fonts as the target), pasted anywhere on the canvas. Returns :class:`Scenes`, images
    (N, 1, S, S), labels the target digit's value, ``target`` where the target's ink is.
    """
    if digit_size > canvas or fragment_size + 4 > digit_size:
        raise ValueError(f"need fragment_size + 4 ≤ digit_size ≤ canvas, got {fragment_size}, {digit_size}, {canvas}")
    gen = torch.Generator().manual_seed(seed)
    target = digits(n, size=digit_size, seed=seed)
    source = digits(n * fragments, size=digit_size, seed=seed + 7919) if fragments else None
    where = torch.randint(0, canvas - digit_size + 1, (n, 2), generator=gen)
    pieces_at = torch.randint(0, canvas - fragment_size + 1, (n, fragments, 2), generator=gen)
    crop_at = torch.randint(2, digit_size - fragment_size - 1, (n, fragments, 2), generator=gen)
    images = torch.zeros(n, 1, canvas, canvas)
    ink = torch.zeros(n, 1, canvas, canvas)  # the target alone
    for i in range(n):
        for k in range(fragments):
            cy, cx = crop_at[i, k].tolist()
            piece = source.images[i * fragments + k, :, cy:cy + fragment_size, cx:cx + fragment_size]
            _paste(images[i], piece, *pieces_at[i, k].tolist())
        _paste(images[i], target.images[i], *where[i].tolist())
        _paste(ink[i], target.images[i], *where[i].tolist())
    return Scenes(images, target.labels, target=ink > 0.1)


def noisy_labels(labels: torch.Tensor, fraction: float, num_classes: int, seed: int = 0) -> torch.Tensor:
    """Symmetric label noise: each label is replaced, with probability ``fraction``, by a class
    drawn uniformly from the *other* classes (the label is then wrong for sure)."""
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    gen = torch.Generator().manual_seed(seed)
    flip = torch.rand(labels.shape, generator=gen) < fraction
    other = (labels + torch.randint(1, num_classes, labels.shape, generator=gen)) % num_classes
    return torch.where(flip, other, labels)
