"""coursekit.models.style: Gram matrices, losses, colour control, and the Gatys optimisation."""

import pytest
import torch
import torchvision
from torch import nn

from coursekit.models import style
from coursekit.models.style import colour
from coursekit.models.style import features as features_module

_TINY = [8, 8, "M", 16, 16, "M", 32, 32, 32, 32, "M", 32, 32, 32, 32, "M", 32, 32, 32, 32, "M"]


def _tiny_vgg(layers=("relu1_1", "relu2_1", "relu3_1", "relu3_2")):
    """VGG-19's layer structure (same indices) with 1/8 of its channels: fast, random weights."""
    torch.manual_seed(0)
    model = nn.Module()
    model.features = torchvision.models.vgg.make_layers(_TINY)
    return style.VGGFeatures(layers, model=model, info=None)


def test_gram_matches_einsum_and_is_symmetric():
    x = torch.randn(2, 5, 4, 3)
    g = style.gram_matrix(x)
    assert g.shape == (2, 5, 5)
    assert torch.allclose(g, torch.einsum("bchw,bdhw->bcd", x, x) / (5 * 4 * 3), atol=1e-6)
    assert torch.allclose(g, g.transpose(1, 2))


def test_guided_gram_with_full_mask_is_the_gram():
    x = torch.randn(1, 4, 6, 6)
    assert torch.allclose(
        style.guided_gram_matrix(x, torch.ones(1, 1, 12, 12)), style.gram_matrix(x), atol=1e-6
    )
    half = torch.zeros(1, 1, 6, 6)
    half[..., :3] = 1
    inside = x[..., :3]
    expected = torch.einsum("bchw,bdhw->bcd", inside, inside) / (4 * 18)
    assert torch.allclose(style.guided_gram_matrix(x, half), expected, atol=1e-6)


def test_total_variation_by_loops():
    x = torch.rand(1, 2, 4, 5)
    down = sum((x[..., i + 1, j] - x[..., i, j]).pow(2).sum() for i in range(3) for j in range(5)) / (
        2 * 3 * 5
    )
    across = sum((x[..., i, j + 1] - x[..., i, j]).pow(2).sum() for i in range(4) for j in range(4)) / (
        2 * 4 * 4
    )
    assert torch.allclose(style.total_variation(x), down + across, atol=1e-6)
    assert style.total_variation(torch.full((1, 3, 8, 8), 0.7)) == 0


def test_style_loss_default_weights_and_zero_at_target():
    feats = {"a": torch.rand(1, 3, 4, 4), "b": torch.rand(1, 5, 2, 2)}
    targets = {k: style.gram_matrix(v) for k, v in feats.items()}
    assert style.style_loss(feats, targets) == 0
    other = {k: torch.zeros_like(v) for k, v in targets.items()}
    expected = sum(0.5 * (targets[k] ** 2).mean() for k in targets)
    assert torch.allclose(style.style_loss(feats, other), expected)


def test_check_image_handles_grey_and_huge(capsys):
    assert style.check_image(torch.rand(20, 30)).shape == (1, 3, 20, 30)
    assert style.check_image(torch.rand(1, 1, 20, 30)).shape == (1, 3, 20, 30)
    out = style.check_image(torch.rand(3, 40, 80), max_side=32)
    assert out.shape == (1, 3, 16, 32)
    assert "downscaled to (16, 32)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "bad, error",
    [
        (torch.zeros(3, 20, 20, dtype=torch.uint8), TypeError),
        (torch.rand(2, 3, 20, 20), ValueError),
        (torch.rand(4, 20, 20), ValueError),
        (torch.rand(3, 8, 8), ValueError),
        (torch.rand(3, 20, 20).numpy(), TypeError),
    ],
)
def test_check_image_rejects_bad_input(bad, error):
    with pytest.raises(error):
        style.check_image(bad)


def test_vgg_features_layers_pools_and_gradients():
    fx = _tiny_vgg()
    assert not any(isinstance(m, nn.MaxPool2d) for m in fx.modules())
    assert sum(isinstance(m, nn.AvgPool2d) for m in fx.modules()) == 2
    assert not any(p.requires_grad for p in fx.parameters())
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    out = fx(x)
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "relu1_1": (1, 8, 32, 32),
        "relu2_1": (1, 16, 16, 16),
        "relu3_1": (1, 32, 8, 8),
        "relu3_2": (1, 32, 8, 8),
    }
    sum(v.sum() for v in out.values()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="unknown VGG layers"):
        style.VGGFeatures(["conv9_9"], model=fx, info=None)


def test_perceptual_loss_is_zero_at_its_targets():
    fx = _tiny_vgg()
    img = torch.rand(1, 3, 32, 32)
    loss = style.PerceptualLoss(fx, img, content_layers=["relu3_2"], style_layers=["relu1_1", "relu2_1"])
    out = loss(img, img)
    assert out["loss"].item() == pytest.approx(0, abs=1e-6)
    assert loss(torch.rand(1, 3, 32, 32), img)["loss"] > 0.01
    with pytest.raises(ValueError, match="does not compute"):
        style.PerceptualLoss(fx, img, style_layers=["relu5_1"])
    with pytest.raises(ValueError, match="one style image per mask"):
        style.PerceptualLoss(
            fx, [img], style_layers=["relu1_1"], content_layers=["relu3_2"], masks=torch.ones(2, 1, 32, 32)
        )


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_transfer_reduces_the_loss(optimizer):
    fx = _tiny_vgg()
    stripes = (torch.arange(40) // 4 % 2).float().expand(3, 48, 40) * torch.tensor([1.0, 0.5, 0.0]).view(
        3, 1, 1
    )
    content, style_img = torch.rand(3, 32, 32), stripes  # different sizes are fine
    out, history = style.transfer(
        content,
        style_img,
        features=fx,
        steps=15,
        optimizer=optimizer,
        style_layers=["relu1_1", "relu2_1", "relu3_1"],
        lr=0.05 if optimizer == "adam" else None,
        device=torch.device("cpu"),
        progress=False,
        content_layers=["relu3_2"],
    )
    assert out.shape == (1, 3, 32, 32) and 0 <= out.min() and out.max() <= 1
    assert history["loss"][-1] < 0.7 * history["loss"][0]


def test_texture_synthesis_without_content():
    fx = _tiny_vgg()
    out, history = style.transfer(
        None,
        torch.rand(3, 32, 32),
        features=fx,
        steps=10,
        style_layers=["relu1_1", "relu2_1"],
        device=torch.device("cpu"),
        progress=False,
        content_layers=["relu3_2"],
    )
    assert out.shape == (1, 3, 32, 32) and history["loss"][-1] < history["loss"][0]


def test_spatial_control_and_bad_masks():
    fx = _tiny_vgg()
    content = torch.rand(3, 32, 32)
    masks = torch.zeros(2, 32, 32)
    masks[0, :, :16] = 1
    masks[1, :, 16:] = 1
    styles = [torch.zeros(3, 32, 32) + torch.tensor([1.0, 0, 0])[:, None, None], torch.rand(3, 32, 32)]
    out, history = style.transfer(
        content,
        styles,
        masks=masks,
        features=fx,
        steps=10,
        style_layers=["relu1_1", "relu2_1"],
        device=torch.device("cpu"),
        progress=False,
        content_layers=["relu3_2"],
    )
    assert history["loss"][-1] < history["loss"][0]
    with pytest.raises(ValueError, match="content's size"):
        style.transfer(
            content,
            styles,
            masks=torch.ones(2, 16, 16),
            features=fx,
            steps=1,
            progress=False,
            content_layers=["relu3_2"],
        )


def test_match_color_matches_mean_and_covariance():
    torch.manual_seed(0)
    source = torch.rand(1, 3, 16, 16) * 0.5
    target = torch.rand(1, 3, 16, 16) * 0.3 + torch.tensor([0.5, 0.2, 0.1]).view(1, 3, 1, 1)
    out = style.match_color(source, target)
    p_out, p_t = out.reshape(3, -1), target.reshape(3, -1)
    assert torch.allclose(p_out.mean(1), p_t.mean(1), atol=0.02)
    assert torch.allclose(torch.cov(p_out), torch.cov(p_t), atol=0.005)


def test_preserve_luminance_colors_keeps_content_colour():
    stylised, content = torch.rand(1, 3, 8, 8) * 0.4 + 0.3, torch.rand(1, 3, 8, 8) * 0.4 + 0.3
    out = style.preserve_luminance_colors(stylised, content)
    assert torch.allclose(style.luminance_yiq(out), style.luminance_yiq(stylised), atol=0.05)
    yiq = colour._YIQ
    iq = lambda x: torch.einsum("kc,bchw->bkhw", yiq, x)[:, 1:]  # noqa: E731
    assert torch.allclose(iq(out), iq(content), atol=0.05)


def test_colour_options_and_scale_run():
    fx = _tiny_vgg()
    content, style_img = torch.rand(3, 32, 32), torch.rand(3, 32, 32)
    for kwargs in ({"preserve_color": "luminance"}, {"preserve_color": "histogram"}, {"style_scale": 0.5}):
        out, _ = style.transfer(
            content,
            style_img,
            features=fx,
            steps=2,
            style_layers=["relu1_1"],
            device=torch.device("cpu"),
            progress=False,
            content_layers=["relu3_2"],
            **kwargs,
        )
        assert out.shape == (1, 3, 32, 32)
    with pytest.raises(ValueError, match="preserve_color"):
        style.transfer(
            content, style_img, features=fx, steps=1, preserve_color="hue", content_layers=["relu3_2"]
        )


def test_vgg_features_default_uses_pretrained_load_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    features_module._load_vgg.cache_clear()
    try:
        fx = style.VGGFeatures(["relu1_1", "relu2_1"])
    finally:
        features_module._load_vgg.cache_clear()
    assert not fx.info.pretrained and "offline fallback" in capsys.readouterr().out
    assert len(fx.features) == 7  # truncated after relu2_1 (features.6)
    assert torch.allclose(fx.mean.flatten(), torch.tensor([0.485, 0.456, 0.406]))
