"""coursekit.data.video: procedural clips whose flow and occlusion masks are exact."""

import pytest
import torch

from coursekit.data import video
from coursekit.models import style


@pytest.fixture(scope="module")
def photo():
    torch.manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, 12, 16), size=(96, 128), mode="bicubic")
    return smooth[0].clamp(0, 1)


def _consistent(clip, ratio=0.3):
    """The flow explains the frames: warping the previous frame with it leaves a small fraction
    (bilinear interpolation error) of the difference that ignoring the motion leaves."""
    exact = style.flicker(clip.frames, clip.flows, clip.masks)
    still = style.flicker(clip.frames, torch.zeros_like(clip.flows), clip.masks)
    return exact < ratio * still


def test_pan_integer_velocity_is_exact(photo):
    clip = video.pan(photo, n_frames=4, size=32, velocity=(2.0, 1.0), scene=64)
    assert clip.frames.shape == (4, 3, 32, 32) and clip.flows.shape == (4, 2, 32, 32)
    assert clip.masks.shape == (4, 1, 32, 32) and len(clip) == 4
    assert torch.equal(clip.flows[1, 0], torch.full((32, 32), -2.0)) or torch.allclose(
        clip.flows[1, 0], torch.full((32, 32), 2.0)
    )
    assert style.flicker(clip.frames, clip.flows, clip.masks) < 1e-6
    assert clip.masks[0].sum() == 0 and 0.8 < clip.masks[1:].mean() < 1  # entering strip excluded
    assert torch.equal(clip.frames[1, :, :-1, :-2], clip.frames[0, :, 1:, 2:])  # camera moved +2, +1


def test_pan_subpixel_and_zoom_are_consistent(photo):
    assert _consistent(video.pan(photo, n_frames=4, size=32, velocity=(1.5, -0.5), scene=64))
    zoomed = video.zoom(photo, n_frames=4, size=32, rate=1.05)
    assert _consistent(zoomed)
    # zooming in: flow points toward the centre, growing with the distance from it
    assert zoomed.flows[1, 0, 16, 0] > 0 > zoomed.flows[1, 0, 16, -1]


def test_sprites_have_occlusions_and_exact_flow(photo):
    clip = video.sprites(photo, n_frames=5, size=32, n_sprites=2, sprite_size=10, speed=2.0, seed=1)
    assert _consistent(clip)
    assert clip.masks[1:].mean() < 1  # uncovered background is masked out
    moving = (clip.flows[1:].abs().sum(1) > 0).float().mean()
    assert 0 < moving < 0.5  # sprites move, the (static) background does not
    again = video.sprites(photo, n_frames=5, size=32, n_sprites=2, sprite_size=10, speed=2.0, seed=1)
    assert torch.equal(clip.frames, again.frames)


def test_bad_input(photo):
    with pytest.raises(ValueError, match="too small"):
        video.pan(photo, n_frames=40, size=32, velocity=(3.0, 0.0), scene=40)
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        video.pan(photo[None], size=32)
    grey = video.pan(photo[:1], n_frames=2, size=32, scene=64)
    assert grey.frames.shape == (2, 3, 32, 32)
