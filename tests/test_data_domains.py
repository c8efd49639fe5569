"""Procedural domains for section 3: shapes, ranges, determinism, multimodality, errors."""

import pytest
import torch

from coursekit.data import domains


def test_edges_to_shapes_pairs():
    p = domains.edges_to_shapes(64, size=32, seed=0)
    assert p.a.shape == p.b.shape == (64, 3, 32, 32) and len(p) == 64
    assert 0 <= p.a.min() and p.a.max() <= 1 and 0 <= p.b.min() and p.b.max() <= 1
    a, b = p[3]
    assert a.shape == (3, 32, 32)
    # outline and fill belong to the same shape: the fill covers the outline's inside
    inside = p.b.amax(1) > 0.3
    outline = p.a[:, 0] > 0.5
    assert (inside & outline).sum() > 0.3 * outline.sum()
    # the fill colour is one of the palette's, chosen independently of the shape
    assert set(p.colours.tolist()) == set(range(len(p.palette)))
    torch.testing.assert_close(p.labels, p.shapes * 4 + p.colours)
    # same outline, several colours: the mean of the fills is not one of the palette colours
    again = domains.edges_to_shapes(64, size=32, seed=0)
    assert torch.equal(again.a, p.a) and torch.equal(again.b, p.b)
    assert not torch.equal(domains.edges_to_shapes(8, 32, seed=1).a, p.a[:8])


def test_fill_colour_matches_palette():
    p = domains.edges_to_shapes(32, size=32, seed=2, colours=["red", "blue"])
    for i in range(8):
        mask = p.b[i].amax(0) > 0.8 * p.b[i].amax()
        rgb = p.b[i][:, mask].mean(1)
        want = torch.tensor(domains.PALETTE[p.palette[int(p.colours[i])]])
        assert torch.allclose(rgb / rgb.max(), want / want.max(), atol=0.15)


def test_render_shape_outline_and_fill():
    outline, filled = domains.render_shape("square", 32, radius=10)
    assert filled[16, 16] == 1 and filled[0, 0] == 0 and outline[16, 16] == 0
    assert outline.sum() > 20
    with pytest.raises(ValueError, match="unknown shape"):
        domains.render_shape("hexagon")


def test_font_domains_unpaired():
    u = domains.font_domains(40, size=32, seed=0, chars="ABC")
    assert u.a.shape == u.b.shape == (40, 1, 32, 32) and u.classes == ["A", "B", "C"]
    assert u.labels_a.max() <= 2 and not torch.equal(u.labels_a, u.labels_b)
    assert 0 <= u.a.min() and u.a.max() <= 1
    # the two fonts differ: same letter, different ink (serif bold has more ink)
    assert u.b.mean() > u.a.mean()


def test_labelled_digits_and_errors():
    x, y = domains.labelled_digits(20, size=32)
    assert x.shape == (20, 1, 32, 32) and y.max() <= 9
    with pytest.raises(ValueError, match="unknown colours"):
        domains.edges_to_shapes(4, colours=["purple"])
    with pytest.raises(ValueError, match="positive"):
        domains.edges_to_shapes(0)
    with pytest.raises(ValueError, match="at least 16"):
        domains.edges_to_shapes(4, size=8)
