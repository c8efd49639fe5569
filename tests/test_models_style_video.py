"""coursekit.models.style.video: warping with flow, masks, temporal loss and the flicker metric."""

import pytest
import torch

from coursekit.models.style import video as temporal


def test_zero_flow_is_identity_and_integer_shift_is_exact():
    image = torch.rand(2, 3, 6, 7)
    assert torch.allclose(temporal.warp(image, torch.zeros(2, 2, 6, 7)), image, atol=1e-6)
    flow = torch.zeros(2, 2, 6, 7)
    flow[:, 0], flow[:, 1] = 2, -1  # out(y, x) = image(y - 1, x + 2)
    out = temporal.warp(image, flow)
    assert torch.allclose(out[:, :, 1:, :-2], image[:, :, :-1, 2:], atol=1e-6)


def test_warp_matches_a_manual_bilinear_sample():
    image = torch.rand(1, 1, 5, 5)
    flow = torch.zeros(1, 2, 5, 5)
    flow[0, 0, 2, 2], flow[0, 1, 2, 2] = 0.25, 0.5  # pixel (y=2, x=2) samples (y=2.5, x=2.25)
    out = temporal.warp(image, flow)
    i = image[0, 0]
    top = 0.75 * i[2, 2] + 0.25 * i[2, 3]
    bottom = 0.75 * i[3, 2] + 0.25 * i[3, 3]
    assert torch.allclose(out[0, 0, 2, 2], 0.5 * top + 0.5 * bottom, atol=1e-6)


def test_warp_gradient_reaches_image_and_bad_shapes():
    image = torch.rand(1, 3, 5, 5, requires_grad=True)
    temporal.warp(image, torch.rand(1, 2, 5, 5)).sum().backward()
    assert image.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="flow must be"):
        temporal.warp(torch.rand(1, 3, 5, 5), torch.rand(1, 2, 4, 5))
    with pytest.raises(ValueError, match="flow must be"):
        temporal.warp(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5))


def test_inside_and_consistency_masks():
    flow = torch.zeros(1, 2, 4, 6)
    flow[:, 0] = 2
    inside = temporal.inside_mask(flow)
    assert inside[0, 0, :, :4].all() and not inside[0, 0, :, 4:].any()
    # forward flow = -backward for a pure translation: consistent wherever inside
    assert torch.equal(temporal.consistency_mask(flow, -flow), inside)
    assert temporal.consistency_mask(flow, torch.zeros_like(flow)).sum() == 0


def test_temporal_loss_zero_for_consistent_frames():
    prev = torch.rand(1, 3, 8, 8)
    flow = torch.zeros(1, 2, 8, 8)
    flow[:, 0] = 1
    current = temporal.warp(prev, flow)
    assert temporal.temporal_loss(current, prev, flow) < 1e-10
    assert temporal.temporal_loss(torch.rand(1, 3, 8, 8), prev, flow) > 0.01
    mask = torch.zeros(1, 1, 8, 8)
    assert temporal.temporal_loss(torch.rand(1, 3, 8, 8), prev, flow, mask) == 0


def test_flicker_metric():
    torch.manual_seed(0)
    base = torch.rand(1, 3, 16, 16)
    steady = base.expand(5, -1, -1, -1)
    zero = torch.zeros(5, 2, 16, 16)
    assert temporal.flicker(steady, zero) == pytest.approx(0, abs=1e-7)
    noisy = (steady + 0.1 * torch.randn(5, 3, 16, 16)).clamp(0, 1)
    assert temporal.flicker(noisy, zero) > 0.05
    with pytest.raises(ValueError, match="at least 2"):
        temporal.flicker(steady[:1], zero[:1])


def test_stylize_video_temporal_weight_reduces_flicker():
    from coursekit.data import video
    from tests.test_models_style import _tiny_vgg

    torch.manual_seed(0)
    clip = video.pan(torch.rand(3, 32, 32), n_frames=3, size=16, velocity=(1.5, 0.5), scene=32)
    fx = _tiny_vgg(("relu1_1", "relu2_1", "relu3_2"))
    kw = dict(steps=5, features=fx, device=torch.device("cpu"), progress=False)
    style_image = torch.rand(3, 16, 16)
    plain = temporal.stylize_video(
        clip.frames,
        clip.flows,
        clip.masks,
        style_image,
        **kw,
        style_layers=("relu1_1", "relu2_1"),
        content_layers=("relu3_2",),
    )
    steady = temporal.stylize_video(
        clip.frames,
        clip.flows,
        clip.masks,
        style_image,
        temporal_weight=100.0,
        **kw,
        style_layers=("relu1_1", "relu2_1"),
        content_layers=("relu3_2",),
    )
    assert plain.shape == steady.shape == (3, 3, 16, 16)
    assert temporal.flicker(steady, clip.flows, clip.masks) < temporal.flicker(plain, clip.flows, clip.masks)


def test_a_step_cap_shortens_each_frame_not_the_clip(monkeypatch):
    """The gpu dry run caps every loop at 2 steps; a clip needing 3 steps a frame kept only its first frame."""
    from dataclasses import replace

    from coursekit import runtime
    from coursekit.data import video
    from tests.test_models_style import _tiny_vgg

    monkeypatch.setattr(runtime, "_active", replace(runtime.PROFILES["smoke"], step_cap=2))
    clip = video.pan(torch.rand(3, 32, 32), n_frames=3, size=16, velocity=(1.5, 0.5), scene=32)
    out = temporal.stylize_video(clip.frames, clip.flows, clip.masks, torch.rand(3, 16, 16), steps=15,
                                 features=_tiny_vgg(("relu1_1", "relu2_1", "relu3_2")), device=torch.device("cpu"),
                                 progress=False, style_layers=("relu1_1", "relu2_1"), content_layers=("relu3_2",))
    assert out.shape == (3, 3, 16, 16)
