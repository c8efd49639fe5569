"""Short procedural videos whose optical flow and occlusions are known exactly.

Real video needs an optical-flow estimator (Ruder et al. 2016 used DeepFlow/EpicFlow) whose
errors blur what the temporal loss does. Here every frame is rendered from layers that move by
known affine maps, so the flow is exact:

- ``pan(photo)``: a camera gliding over a photo (constant flow);
- ``zoom(photo)``: a camera zooming into a photo (flow growing away from the centre);
- ``sprites(photo)``: textured squares sliding over a (possibly panning) background, with
  occlusions where a sprite uncovers the background.

Every function returns a :class:`Video`: ``frames`` (T, 3, H, W) in [0, 1], ``flows`` (T, 2, H, W)
and ``masks`` (T, 1, H, W), in the convention of ``coursekit.models.style.video``: ``flows[t]`` maps each
pixel p of frame t to where it was in frame t-1 (``frames[t](p) ~ frames[t-1](p + flows[t](p))``)
and ``masks[t]`` is 1 where that point was visible (in the image, not behind a sprite). Frame 0
has zero flow and an empty mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import validate

__all__ = ["Video", "pan", "sprites", "zoom"]


@dataclass
class Video:
    frames: torch.Tensor  # (T, 3, H, W) in [0, 1]
    flows: torch.Tensor  # (T, 2, H, W), pixels, frame t -> frame t-1; flows[0] = 0
    masks: torch.Tensor  # (T, 1, H, W), 1 where visible in frame t-1; masks[0] = 0

    def __len__(self) -> int:
        return self.frames.shape[0]


@dataclass
class _Layer:
    """A texture placed by q = scale_t * p + offset_t (frame pixel p -> texture pixel q)."""

    texture: torch.Tensor  # (3, h, w)
    scales: list[float]
    offsets: list[tuple[float, float]]  # (x, y) per frame
    opaque: bool = False  # True: covers the whole frame (a background)

    def source(self, t: int, xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, (ox, oy) = self.scales[t], self.offsets[t]
        return s * xs + ox, s * ys + oy

    def frame_of(self, t: int, qx: torch.Tensor, qy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, (ox, oy) = self.scales[t], self.offsets[t]
        return (qx - ox) / s, (qy - oy) / s

    def covers(self, qx: torch.Tensor, qy: torch.Tensor) -> torch.Tensor:
        if self.opaque:
            return torch.ones_like(qx, dtype=torch.bool)
        h, w = self.texture.shape[-2:]
        return (qx >= -0.5) & (qx <= w - 0.5) & (qy >= -0.5) & (qy <= h - 0.5)

    def sample(self, qx: torch.Tensor, qy: torch.Tensor) -> torch.Tensor:
        h, w = self.texture.shape[-2:]
        grid = torch.stack([2 * qx / (w - 1) - 1, 2 * qy / (h - 1) - 1], -1)[None]  # (1, H, W, 2)
        return F.grid_sample(
            self.texture[None], grid, mode="bilinear", padding_mode="border", align_corners=True
        )[0]  # (3, H, W)


def _render(layers: list[_Layer], n_frames: int, size: int) -> Video:
    ys, xs = torch.meshgrid(
        torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32), indexing="ij"
    )
    frames, flows, masks, owners = [], [], [], []
    for t in range(n_frames):
        frame = torch.zeros(3, size, size)
        owner = torch.full((size, size), -1, dtype=torch.long)  # topmost layer at each pixel
        for k, layer in enumerate(layers):  # back to front
            qx, qy = layer.source(t, xs, ys)
            cover = layer.covers(qx, qy)
            frame = torch.where(cover, layer.sample(qx, qy), frame)
            owner = torch.where(cover, k, owner)
        flow = torch.zeros(2, size, size)
        mask = torch.zeros(1, size, size)
        if t > 0:
            for k, layer in enumerate(layers):
                qx, qy = layer.source(t, xs, ys)
                px, py = layer.frame_of(t - 1, qx, qy)  # same texture point, previous frame
                mine = owner == k
                flow[0] = torch.where(mine, px - xs, flow[0])
                flow[1] = torch.where(mine, py - ys, flow[1])
            px, py = xs + flow[0], ys + flow[1]
            inside = (px >= 0) & (px <= size - 1) & (py >= 0) & (py <= size - 1)
            # visible before: the same layer was on top at the (nearest) previous position
            ix = px.round().clamp(0, size - 1).long()
            iy = py.round().clamp(0, size - 1).long()
            same = owners[-1][iy, ix] == owner
            mask[0] = (inside & same).float()
        frames.append(frame.clamp(0, 1))
        flows.append(flow)
        masks.append(mask)
        owners.append(owner)
    return Video(torch.stack(frames), torch.stack(flows), torch.stack(masks))


def _check_photo(photo: torch.Tensor, size: int, margin: float) -> torch.Tensor:
    """A domain check: the (scaled) photo has room for the frames and their motion."""
    if min(photo.shape[-2:]) < size + margin:
        raise ValueError(
            f"photo must be at least {size + margin:.0f} pixels on each side ({size}x{size} frames moving "
            f"{margin:.0f} pixels), got {tuple(photo.shape[-2:])}: too small; use a larger photo or scene, "
            "or a smaller size or motion"
        )
    return photo.float()


def _photo_at(photo: torch.Tensor, side: int) -> torch.Tensor:
    """Check, make RGB, downscale so the shorter side is ``side`` pixels (area: no aliasing)."""
    validate.tensor(photo, "photo", ndim=3, shape="(3, H, W) or (1, H, W)")
    if photo.shape[0] not in (1, 3):
        raise ValueError(f"photo must be a tensor of shape (3, H, W) or (1, H, W), got {tuple(photo.shape)}; "
                         "pass one RGB or grey image in [0, 1], channels first")
    photo = photo.float().expand(3, -1, -1)
    scale = side / min(photo.shape[-2:])
    if scale >= 1:
        return photo
    hw = (round(photo.shape[-2] * scale), round(photo.shape[-1] * scale))
    return F.interpolate(photo[None], size=hw, mode="area")[0]


def pan(
    photo: torch.Tensor,
    n_frames: int = 8,
    size: int = 64,
    velocity: tuple[float, float] = (2.5, 1.5),
    scene: int | None = None,
) -> Video:
    """Camera gliding over ``photo`` by ``velocity`` (x, y) pixels per frame.

    The photo is first downscaled so its shorter side is ``scene`` pixels (default 2 * size).
    Flow is -velocity everywhere; masks drop the strip that enters the frame.
    """
    photo = _photo_at(photo, scene or 2 * size)
    travel = max(abs(velocity[0]), abs(velocity[1])) * (n_frames - 1)
    photo = _check_photo(photo, size, travel)
    x0 = 0.0 if velocity[0] >= 0 else travel
    y0 = 0.0 if velocity[1] >= 0 else travel
    offsets = [(x0 + velocity[0] * t, y0 + velocity[1] * t) for t in range(n_frames)]
    return _render([_Layer(photo, [1.0] * n_frames, offsets, opaque=True)], n_frames, size)


def zoom(
    photo: torch.Tensor, n_frames: int = 8, size: int = 64, rate: float = 1.04, scene: int | None = None
) -> Video:
    """Camera zooming into the centre of ``photo`` by ``rate`` per frame (> 1: in, < 1: out).

    The photo is downscaled so that the first frame samples it about 1:1 (``scene`` pixels on
    its shorter side, default size / 0.9): sampling it more coarsely would alias, and the frames
    would no longer follow the flow exactly.
    """
    photo = _check_photo(_photo_at(photo, scene or int(size / 0.9) + 2), size, 0)
    h, w = photo.shape[-2:]
    cx, cy, c0 = (w - 1) / 2, (h - 1) / 2, (size - 1) / 2
    start = min(h, w) / size * 0.9 * (min(1.0, rate) ** (n_frames - 1))  # stays inside the photo
    scales = [start / rate**t for t in range(n_frames)]
    offsets = [(cx - s * c0, cy - s * c0) for s in scales]
    return _render([_Layer(photo, scales, offsets, opaque=True)], n_frames, size)


def sprites(
    photo: torch.Tensor,
    n_frames: int = 8,
    size: int = 64,
    n_sprites: int = 3,
    sprite_size: int = 16,
    speed: float = 2.0,
    background_velocity: tuple[float, float] = (0.0, 0.0),
    seed: int = 0,
) -> Video:
    """Textured squares (cut from ``photo``) sliding over it with random velocities.

    Sprites move ``speed`` pixels per frame in random directions; the background pans with
    ``background_velocity``. Pixels a sprite uncovers are occlusions (mask 0).
    """
    generator = torch.Generator().manual_seed(seed)
    travel = max(abs(v) for v in background_velocity) * (n_frames - 1)
    photo = _check_photo(_photo_at(photo, 2 * size), size, travel)
    vx, vy = background_velocity
    x0, y0 = (0.0 if vx >= 0 else travel), (0.0 if vy >= 0 else travel)
    layers = [
        _Layer(photo, [1.0] * n_frames, [(x0 + vx * t, y0 + vy * t) for t in range(n_frames)], opaque=True)
    ]
    h, w = photo.shape[-2:]
    for _ in range(n_sprites):
        tx, ty = (int(torch.randint(0, n - sprite_size, (1,), generator=generator)) for n in (w, h))
        texture = photo[:, ty : ty + sprite_size, tx : tx + sprite_size].flip(-1)  # mirrored: stands out
        angle = float(torch.rand(1, generator=generator)) * 2 * torch.pi
        px, py = (float(torch.rand(1, generator=generator)) * (size - sprite_size) for _ in range(2))
        theta = torch.tensor(angle, device="cpu")  # float32, as the cached clips were made
        dx, dy = speed * torch.cos(theta).item(), speed * torch.sin(theta).item()
        # texture pixel q = p - position_t: offset = -position
        offsets = [(-(px + dx * t), -(py + dy * t)) for t in range(n_frames)]
        layers.append(_Layer(texture, [1.0] * n_frames, offsets))
    return _render(layers, n_frames, size)
