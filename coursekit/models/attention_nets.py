"""Small networks for the attention notebooks (section 4): with and without attention.

* :class:`MirrorNet` — the horizontal-mirroring task from the course slides ("target:
  horizontal mirroring — why is this hard for the network? 1) locality of convolutions"): a
  fully convolutional net maps an image to its mirror image. ``attention=None`` is a plain CNN
  (a stack of 3×3 convolutions); ``attention="nonlocal"`` puts a :class:`NonLocalBlock`
  (Wang et al., CVPR 2018) in the middle, so every output pixel can read any input pixel.
  Both receive the same sinusoidal position channels (Vaswani et al. 2017's encoding, in 2-d),
  because content-based attention by itself does not know *where* a pixel is.
* :class:`GlyphClassifier` — a small CNN classifier for glyphs, optionally with a
  :class:`SpatialTransformer` in front (Jaderberg et al., NeurIPS 2015) and/or a
  :class:`SqueezeExcitation` after each convolution block (Hu et al., CVPR 2018).
* :class:`ResidualAttentionNet` — a two-stage classifier built from
  :class:`ResidualAttentionModule` (Wang et al., CVPR 2017), a teaching-size Attention-56.
* :func:`widen_to_match` — the widths that give a network without attention the parameters of
  the network with it (the matched budget of a fair ablation).

These are teaching sizes, not the papers' reference configurations (those are given by the
layers in :mod:`coursekit.nn.attention` and :mod:`coursekit.nn.stn`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate
from ..nn.attention import NonLocalBlock, ResidualAttentionModule, SqueezeExcitation
from ..nn.stn import SpatialTransformer

__all__ = ["GlyphClassifier", "MirrorNet", "ResidualAttentionNet", "positional_encoding", "rts_distort", "widen_to_match"]


def positional_encoding(height: int, width: int, frequencies: int = 6) -> torch.Tensor:
    """2-d sinusoidal position channels: (4·frequencies, H, W).

    For each axis and each frequency ω_k = π·2^(k/2) (k = 0..F-1), ``sin(ω u)`` and ``cos(ω u)``
    with u ∈ [-1, 1] the normalised pixel coordinate. A mirrored coordinate -u is a *linear*
    function of these channels (cos(-ωu) = cos ωu, sin(-ωu) = -sin ωu), so a 1×1 projection
    can turn "where am I" into "where is my mirror image".
    """

    def axis(n: int) -> torch.Tensor:
        u = (torch.arange(n, dtype=torch.float32) * 2 + 1) / n - 1  # pixel centres in [-1, 1]
        omega = math.pi * 2.0 ** (torch.arange(frequencies, dtype=torch.float32) / 2)  # (F,)
        phase = omega[:, None] * u[None, :]  # (F, n)
        return torch.cat([phase.sin(), phase.cos()])  # (2F, n)

    ex = axis(width)[:, None, :].expand(-1, height, width)  # (2F, H, W), varies along x
    ey = axis(height)[:, :, None].expand(-1, height, width)  # (2F, H, W), varies along y
    return torch.cat([ex, ey])  # (4F, H, W)


def rts_distort(
    images: torch.Tensor,
    generator: torch.Generator | None = None,
    *,
    rotation: float = 45.0,
    scale: tuple[float, float] = (0.7, 1.2),
    translate: float | None = None,
    out_size: int | None = None,
) -> torch.Tensor:
    """Rotate, scale and translate each image at random and place it on a (larger) canvas.

    The defaults are the "RTS" distortion of the STN paper (Jaderberg et al. 2015, §4.1 and
    appendix: rotation uniform in ±45°, scale uniform in 0.7–1.2, the digit placed at a random
    location of a 42×42 canvas for 28×28 MNIST digits, i.e. a canvas 1.5× the digit's side: pass
    ``out_size=48`` for 32×32 glyphs). ``translate=None`` places the scaled glyph anywhere it fits
    on the canvas; a number is the largest shift in normalised coordinates ([-1, 1] spans the canvas).
    images (B, C, S, S) → (B, C, out, out).
    """
    images = validate.tensor(images, "images", ndim=4, floating=True)
    b, c, s, _ = images.shape
    out = out_size or s
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(b, generator=generator)  # noqa: E731
    angle = u(-rotation, rotation) * math.pi / 180
    k = u(*scale) * s / out  # glyph side as a fraction of the canvas side
    if translate is None:  # anywhere the (unrotated) glyph box fits: |t| ≤ 1 − k
        room = (1 - k).clamp(min=0)
        tx, ty = (2 * torch.rand(b, generator=generator) - 1) * room, (2 * torch.rand(b, generator=generator) - 1) * room
    else:
        tx, ty = u(-translate, translate), u(-translate, translate)
    cos, sin = torch.cos(angle) / k, torch.sin(angle) / k
    # output coordinate p → input coordinate R(-angle) (p - t) / k
    theta = torch.stack([
        torch.stack([cos, sin, -(cos * tx + sin * ty)], 1),
        torch.stack([-sin, cos, -(-sin * tx + cos * ty)], 1),
    ], 1)  # fmt: skip  # (B, 2, 3)
    theta = theta.to(images.dtype).to(images.device)
    grid = F.affine_grid(theta, [b, c, out, out], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _widths(widths: Sequence[int] | None, width: int, n: int) -> tuple[int, ...]:
    """The channels of ``n`` stages: ``widths`` as given, or ``width`` doubled at each stage."""
    if widths is None:
        return tuple(width * 2**i for i in range(n))
    widths = tuple(int(w) for w in widths)
    if len(widths) != n or min(widths) < 1:
        raise ValueError(f"widths must be {n} positive channel counts, got {widths}")
    return widths


def widen_to_match(
    build: Callable[[tuple[int, ...]], nn.Module], budget: int, widths: Sequence[int], *, most: float = 1.6
) -> tuple[int, ...]:
    """The widths, each at least the given one, whose network ``build(widths)`` has the number of
    parameters closest to ``budget``: how a network without an attention branch is widened to the
    parameters of the one with it, so that a comparison changes the mechanism and not the size.

    Tries every width scaled by a common factor from 1 to ``most`` in steps of 1 % (the stages keep their ratios),
    each with the last stage's width moved by up to ±3 channels for a finer match; networks are
    built on the meta device (shapes only). On a tie the smaller network wins.
    """
    widths = tuple(int(w) for w in widths)
    candidates = set()
    for step in range(int((most - 1) / 0.01) + 1):
        scaled = [max(w, round(w * (1 + 0.01 * step))) for w in widths]
        for extra in range(-3, 4):
            last = scaled[-1] + extra
            if last >= widths[-1]:
                candidates.add((*scaled[:-1], last))

    def count(ws: tuple[int, ...]) -> int:
        with torch.device("meta"):
            return sum(p.numel() for p in build(ws).parameters())

    counts = {ws: count(ws) for ws in sorted(candidates)}
    return min(counts, key=lambda ws: (abs(counts[ws] - budget), counts[ws]))


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU())


class MirrorNet(nn.Module):
    """Image → its horizontal mirror image; plain CNN or with a non-local block.

    Layout: [image, position channels] → conv3×3 → conv4×4 stride 2 (half resolution: each cell
    holds a 2×2 patch) → + projected position channels of the half-resolution grid → middle → transposed conv4×4 stride 2 → conv3×3 → image. The middle is
    ``depth`` conv3×3 layers (plain) or a :class:`NonLocalBlock` followed by ``depth - 2`` conv3×3
    layers (similar parameter counts). Attention at half resolution costs 16× less than at full
    resolution (the non-local paper also places its blocks on down-sampled maps).
    """

    def __init__(
        self,
        in_channels: int = 1,
        width: int = 32,
        *,
        attention: str | None = None,
        depth: int = 4,
        frequencies: int = 6,
        heads: int = 1,
    ) -> None:
        super().__init__()
        if attention not in (None, "nonlocal"):
            raise ValueError(f"attention must be None or 'nonlocal', got {attention!r}")
        self.in_channels = in_channels
        self.frequencies = frequencies
        self.attention = attention
        cin = in_channels + 4 * frequencies
        self.stem = nn.Sequential(
            _conv(cin, width), nn.Conv2d(width, width, 4, stride=2, padding=1), nn.ReLU()
        )
        # position channels at half resolution, projected and added to the features (as the
        # Transformer adds its position encoding), so queries and keys are linear in position
        self.position = nn.Conv2d(4 * frequencies, width, 1)
        if attention == "nonlocal":
            self.nonlocal_block: NonLocalBlock | None = NonLocalBlock(width, width, heads=heads, norm=False)
            middle = [_conv(width, width) for _ in range(max(0, depth - 2))]
        else:
            self.nonlocal_block = None
            middle = [_conv(width, width) for _ in range(depth)]
        self.middle = nn.Sequential(*middle)
        self.head = nn.Sequential(
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(width, in_channels, 3, padding=1),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"MirrorNet expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        b, _, h, w = x.shape
        if h % 2 or w % 2:
            raise ValueError(f"MirrorNet needs even image sides (it works at half resolution), got {h}×{w}")
        pos = positional_encoding(h, w, self.frequencies).to(x)  # (4F, H, W)
        f = self.stem(torch.cat([x, pos.expand(b, -1, -1, -1)], dim=1))  # (B, width, H/2, W/2)
        f = f + self.position(positional_encoding(h // 2, w // 2, self.frequencies).to(x))[None]
        if self.nonlocal_block is not None:
            f = self.nonlocal_block(f)  # every cell can read every other one
        f = self.middle(f)  # (B, width, H/2, W/2)
        return self.head(f)  # (B, C, H, W)


class GlyphClassifier(nn.Module):
    """Three conv blocks (conv3×3-BN-ReLU-maxpool) → global average pool → linear.

    ``stn=True`` puts a :class:`SpatialTransformer` in front (it learns to un-warp the input);
    ``se=True`` adds a :class:`SqueezeExcitation` (reduction ``se_reduction``) after each block.
    ``head="flatten"`` replaces global average pooling by a fully connected layer over the whole
    final map (needs ``input_size``). ``stn_size`` makes the transformer output a smaller
    ``stn_size``×``stn_size`` image (a learned zoom, as in the paper's cluttered-MNIST models).
    ``widths`` sets the three blocks' channels (default ``(width, 2·width, 4·width)``): a network
    without SE is widened with it to the parameters of one with SE (:func:`widen_to_match`).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 1,
        width: int = 32,
        *,
        stn: bool = False,
        se: bool = False,
        se_reduction: int = 4,
        head: str = "pool",
        input_size: int | None = None,
        stn_size: int | None = None,
        widths: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        widths = _widths(widths, width, 3)
        if head not in ("pool", "flatten"):
            raise ValueError(f"head must be 'pool' or 'flatten', got {head!r}")
        if head == "flatten" and input_size is None:
            raise ValueError("head='flatten' needs input_size (the side of the square input images)")
        self.in_channels = in_channels
        self.stn = None
        if stn:
            # the paper's localisation net, run on a 2× smaller copy: where the glyph is and how it
            # is turned can be read at half resolution, and it makes the transformer much cheaper
            loc_width = max(8, width // 4)
            localization = nn.Sequential(
                nn.AvgPool2d(2, ceil_mode=True),
                nn.Conv2d(in_channels, loc_width, 5, padding=2), nn.MaxPool2d(2, ceil_mode=True), nn.ReLU(),
                nn.Conv2d(loc_width, loc_width, 5, padding=2), nn.MaxPool2d(2, ceil_mode=True), nn.ReLU(),
                nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(loc_width * 16, 32), nn.ReLU(),
            )  # fmt: skip
            out = None if stn_size is None else (stn_size, stn_size)
            self.stn = SpatialTransformer(in_channels, out, features=32, localization=localization)
            if stn_size is not None:
                input_size = stn_size  # the CNN sees the transformer's (smaller) output
        blocks: list[nn.Module] = []
        cin = in_channels
        for cout in widths:
            blocks += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
            if se:
                blocks.append(SqueezeExcitation(cout, se_reduction))
            blocks.append(nn.MaxPool2d(2, ceil_mode=True))
            cin = cout
        self.features = nn.Sequential(*blocks)
        if head == "pool":  # global average pooling: largely translation invariant
            self.classifier = nn.Sequential(
                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)
            )
        else:  # a fully connected head, as the CNN baselines of the STN paper: position matters
            side = input_size
            for _ in range(3):
                side = -(-side // 2)
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(cin * side * side, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"GlyphClassifier expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        if self.stn is not None:
            x = self.stn(x)  # (B, C, H, W), un-warped
        return self.classifier(self.features(x))  # (B, classes)


class ResidualAttentionNet(nn.Module):
    """Stem conv → [attention module → stride-2 conv] × stages → pool → linear.

    ``attention=False`` keeps every residual unit of each attention module (before, trunk, after)
    and removes only the mask branch: the same network as ``(1 + M)·T`` with M = 0, the paper's
    comparison of attention modules against plain residual units of the same depth.
    ``widths`` gives the stem's and each stage's output channels (``stages + 1`` numbers; default
    ``width·(1, 2, 4, …)``), so the network without masks can be widened to the same parameters
    (:func:`widen_to_match`). ``stem_stride=2`` halves the resolution in the stem (the paper's
    ImageNet stem divides it by four before the first module). ``mask_start`` is passed to every
    :class:`ResidualAttentionModule` (each mask then starts uniform: the network starts as its ablation).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        width: int = 32,
        *,
        stages: int = 2,
        attention: bool = True,
        widths: Sequence[int] | None = None,
        stem_stride: int = 1,
        mask_start: float | None = None,
    ) -> None:
        super().__init__()
        widths = _widths(widths, width, stages + 1)
        self.in_channels = in_channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, stride=stem_stride, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(),
        )  # fmt: skip
        layers: list[nn.Module] = []
        for s in range(stages):
            c, c_next = widths[s], widths[s + 1]
            if attention:
                layers.append(ResidualAttentionModule(c, depth=max(1, stages - s + 1), mask_start=mask_start))
            else:
                plain = ResidualAttentionModule(c, depth=1)
                layers.append(nn.Sequential(plain.pre, plain.trunk, plain.post))  # units only, no mask
            layers += [
                nn.Conv2d(c, c_next, 3, stride=2, padding=1, bias=False),  # (B, c', H/2, W/2)
                nn.BatchNorm2d(c_next),
                nn.ReLU(),
            ]
        self.body = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], num_classes))

    def attention_modules(self) -> list[ResidualAttentionModule]:
        return [m for m in self.body if isinstance(m, ResidualAttentionModule)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"ResidualAttentionNet expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        return self.classifier(self.body(self.stem(x)))
