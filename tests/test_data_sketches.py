import pytest
import torch

from coursekit.data.sketches import Sketches, align, make_sketches, render_segments, shift_images


def test_shapes_ranges_and_mostly_white():
    d = make_sketches(8, size=32, seed=0)
    assert d["rough"].shape == d["clean"].shape == (8, 1, 32, 32)
    assert d["shift"].shape == (8, 2) and d["shift"].abs().max() <= 1.5
    for k in ("rough", "clean"):
        assert d[k].min() >= 0 and d[k].max() <= 1
    ink = (d["clean"] < 0.5).float().mean()
    assert 0.01 < ink < 0.3  # thin lines on white paper: the imbalance the notebook discusses


def test_rough_is_messier_than_clean():
    d = make_sketches(16, size=32, seed=1)
    rough_ink = (1 - d["rough"]).sum()
    clean_ink = (1 - d["clean"]).sum()
    assert rough_ink > clean_ink  # over-drawn strokes and smudges
    # grey pencil values are common in the rough sketch, rare in the clean one
    grey = lambda x: ((x > 0.2) & (x < 0.8)).float().mean()  # noqa: E731
    assert grey(d["rough"]) > grey(d["clean"])


def test_deterministic_cache_safe_and_seed_dependent():
    a = make_sketches(4, 32, seed=3)
    a["rough"].zero_()  # must not poison the cache
    b, c = make_sketches(4, 32, seed=3), make_sketches(4, 32, seed=4)
    assert not torch.equal(a["rough"], b["rough"])
    assert torch.equal(make_sketches(4, 32, seed=3)["clean"], b["clean"])
    assert not torch.equal(b["clean"], c["clean"])


def test_no_misalignment_means_zero_shift():
    assert make_sketches(3, 32, seed=0, misalign=0)["shift"].abs().max() == 0


def test_render_segment_antialiased_width():
    # a horizontal segment through pixel centres, radius 1: coverage 1 on its row, 0.5 one row away
    p0, p1 = torch.tensor([[4.0, 8.5]]), torch.tensor([[8.0, 8.5]])
    ink = render_segments(torch.tensor([0]), p0, p1, torch.tensor([1.0]), torch.tensor([1.0]), 1, 16)[0]
    assert ink[8, 6] == 1 and ink[7, 6] == pytest.approx(0.5) and ink[9, 6] == pytest.approx(0.5)
    assert ink[6, 6] == 0 and ink[8, 2] == 0 and ink[8, 10] == 0
    with pytest.raises(ValueError, match="resample"):
        render_segments(torch.tensor([0]), p0, p0 + 10, torch.tensor([1.0]), torch.tensor([1.0]), 1, 16)


def test_shift_images_and_align_recover_a_known_shift():
    d = make_sketches(4, 32, seed=5, misalign=0)
    true = torch.tensor([[2.0, 0.0], [-1.0, 1.0], [0.0, -2.0], [1.0, 1.0]])
    moved = shift_images(d["clean"], true)
    # integer shift moves the content exactly: pixel (y, x) -> (y + dy, x + dx)
    assert torch.allclose(moved[0, 0, 5:-5, 7:-5], d["clean"][0, 0, 5:-5, 5:-7], atol=1e-5)
    est = align(moved, d["clean"], max_shift=3, step=1.0)
    assert torch.equal(est, true)


def test_dataset_pairs_and_alignment_option():
    ds, al = Sketches(4, size=32, seed=2), Sketches(4, size=32, seed=2, aligned=True)
    rough, clean = ds[1]
    assert rough.shape == clean.shape == (1, 32, 32)
    assert torch.equal(ds.rough, al.rough) and not torch.equal(ds.clean, al.clean)


@pytest.mark.parametrize(
    "kwargs", [dict(n=0), dict(n=2, size=8), dict(n=2, misalign=9.0), dict(n=2, clean_width=5.0)]
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_sketches(**kwargs)


def test_align_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="must both be"):
        align(torch.ones(2, 1, 16, 16), torch.ones(2, 1, 8, 8))


def test_hatching_adds_shading_to_the_rough_sketch_only():
    plain, hatched = make_sketches(6, 32, seed=2), make_sketches(6, 32, seed=2, hatching=(2, 3))
    # the same drawings, strokes and misalignment: only the shading is new
    assert torch.equal(plain["clean"], hatched["clean"]) and torch.equal(plain["shift"], hatched["shift"])
    assert (hatched["rough"] <= plain["rough"] + 1e-6).all()  # ink only added (max of ink)
    added = (plain["rough"] - hatched["rough"] > 0.3).flatten(1).sum(1)
    assert (added > 10).all()  # every sketch got dark new strokes
    assert torch.equal(make_sketches(6, 32, seed=2, hatching=(0, 0))["rough"], plain["rough"])
    with pytest.raises(ValueError, match="hatching"):
        make_sketches(2, 32, hatching=(3, 1))
