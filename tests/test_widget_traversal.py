"""Tests for coursekit.widgets.traversal: traversals and the slider widget, without a browser."""

import pytest
import torch

from coursekit.widgets.traversal import LatentSliders, mosaic, to_png, traversal_grid, traverse


def decode(z):
    # latent 0 moves a bright column, latent 1 sets the brightness: (B, 2) -> (B, 1, 8, 8)
    b = len(z)
    img = torch.zeros(b, 1, 8, 8)
    cols = ((z[:, 0].clamp(-3, 3) + 3) / 6 * 7).round().long()
    for i in range(b):
        img[i, 0, :, cols[i]] = torch.sigmoid(z[i, 1])
    return img


def test_traverse_changes_only_one_latent():
    z = torch.tensor([0.0, 2.0])
    imgs = traverse(decode, z, 0, [-3.0, 0.0, 3.0])
    assert imgs.shape == (3, 1, 8, 8)
    assert imgs[0, 0, 0, 0] > 0 and imgs[2, 0, 0, 7] > 0  # column moved left to right
    bright = traverse(decode, z, 1, [-3.0, 3.0])
    assert bright[0].max() < bright[1].max()


def test_grid_shape_and_errors():
    grid = traversal_grid(decode, torch.zeros(2), n_steps=5, span=2)
    assert grid.shape == (2, 5, 1, 8, 8)
    with pytest.raises(ValueError, match="dim must be"):
        traverse(decode, torch.zeros(2), 2, [0.0])
    with pytest.raises(ValueError, match="one code"):
        traverse(decode, torch.zeros(3, 2), 0, [0.0])


def test_png_bytes():
    png = to_png(torch.rand(3, 8, 8), scale=2)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_slider_redraws_and_resets():
    w = LatentSliders(decode, torch.tensor([0.0, 1.0]))
    assert len(w.sliders) == 2
    before = w.image.value
    w.sliders[0].value = 2.5  # fires the observer synchronously
    assert w.image.value != before
    assert torch.allclose(w.code(), torch.tensor([2.5, 1.0]))
    w.reset()
    assert w.image.value == before
    with pytest.raises(ValueError, match="labels"):
        LatentSliders(decode, torch.zeros(2), labels=["a"])


def test_mosaic_layout():
    grid = torch.zeros(2, 3, 1, 4, 4)
    grid[1, 2] = 1.0
    m = mosaic(grid)
    assert m.shape == (1, 10, 15)
    assert m[0, 5:9, 10:14].eq(1).all() and m[0, 0:4, 0:4].eq(0).all() and m[0, 4, 0] == 0.5
