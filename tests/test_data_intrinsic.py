import numpy as np
import pytest
import torch

from coursekit.data.intrinsic import KEYS, IntrinsicScenes, make_scenes


def test_shapes_dtypes_and_ranges():
    d = make_scenes(5, size=32, seed=0)
    assert set(d) == set(KEYS)
    assert d["image"].shape == (5, 3, 32, 32) and d["albedo"].shape == (5, 3, 32, 32)
    assert d["normals"].shape == (5, 3, 32, 32)
    for k in ("shading", "depth", "edges"):
        assert d[k].shape == (5, 1, 32, 32) and d[k].dtype == torch.float32
    assert d["segmentation"].shape == (5, 32, 32) and d["segmentation"].dtype == torch.long
    for k in ("image", "albedo", "shading", "depth", "edges"):
        assert 0.0 <= d[k].min() and d[k].max() <= 1.0
    assert d["normals"].min() >= -1 and d["normals"].max() <= 1


def test_image_formation_and_unit_normals():
    d = make_scenes(4, size=32, seed=1)
    torch.testing.assert_close(d["image"], (d["albedo"] * d["shading"]).clamp(0, 1))
    torch.testing.assert_close(d["normals"].norm(dim=1), torch.ones(4, 32, 32))
    # normals face the camera
    assert (d["normals"][:, 2] > 0).all()


def test_specular_adds_light():
    plain, shiny = make_scenes(4, 32, seed=2), make_scenes(4, 32, seed=2, specular=0.5)
    assert (shiny["image"] >= plain["image"] - 1e-6).all()
    assert (shiny["image"] - plain["image"]).max() > 0.1
    torch.testing.assert_close(shiny["albedo"], plain["albedo"])


def test_albedo_is_constant_per_region_and_edges_match_regions():
    d = make_scenes(3, 32, seed=3)
    for i in range(3):
        seg, alb = d["segmentation"][i], d["albedo"][i]
        for r in seg.unique():
            colours = alb[:, seg == r]
            assert (colours.std(dim=1) < 1e-6).all()
        diff = seg[:, 1:] != seg[:, :-1]
        assert bool((d["edges"][i, 0, :, 1:][diff] == 1).all())
    assert d["edges"].mean() < 0.5


def test_shading_follows_geometry_not_albedo():
    d = make_scenes(2, 32, seed=4)
    # a flat patch (normal = +z) has shading ambient + (1 - ambient) * l_z, i.e. constant
    assert d["shading"].std() > 0.01


def test_deterministic_and_seed_dependent():
    a, b, c = make_scenes(3, 16, seed=7), make_scenes(3, 16, seed=7), make_scenes(3, 16, seed=8)
    for k in KEYS:
        assert torch.equal(a[k], b[k])
    assert not torch.equal(a["image"], c["image"])


def test_dataset_items():
    ds = IntrinsicScenes(4, size=16, seed=0)
    assert len(ds) == 4
    item = ds[2]
    assert set(item) == set(KEYS) and item["image"].shape == (3, 16, 16)
    assert item["segmentation"].shape == (16, 16)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["albedo"].shape == (4, 3, 16, 16)
    with pytest.raises(IndexError):
        ds[4]


@pytest.mark.parametrize("kwargs", [dict(n=0), dict(n=2, size=4), dict(n=2, specular=2.0), dict(n=2.5)])
def test_bad_arguments(kwargs):
    name = "n" if "size" not in kwargs and "specular" not in kwargs else next(k for k in kwargs if k != "n")
    with pytest.raises(ValueError, match=rf"^{name} must be .*, got .*; "):  # the common form, with what to do
        make_scenes(**kwargs)


def test_numpy_int_accepted():
    assert make_scenes(np.int64(2), np.int64(16))["image"].shape == (2, 3, 16, 16)
