import gzip
import io
import zipfile

import numpy as np
import pytest
import torch

from coursekit.data import glyphs, photos, real


def test_glyphs_shapes_range_and_balance():
    g = glyphs.Glyphs(300, size=24, seed=1)
    assert g.images.shape == (300, 1, 24, 24) and g.images.dtype == torch.float32
    assert 0 <= g.images.min() and g.images.max() <= 1 and g.images.mean() > 0.03
    counts = torch.bincount(g.labels, minlength=len(g.classes))
    assert counts.max() - counts.min() <= 1  # balanced
    x, y = g[0]
    assert x.shape == (1, 24, 24) and int(y) == int(g.labels[0])
    assert set(g.scripts) == {"latin", "greek", "cyrillic", "armenian", "georgian", "hebrew", "arabic", "math"}


def test_glyphs_are_deterministic_from_the_seed():
    a, b = glyphs.Glyphs(50, seed=3), glyphs.Glyphs(50, seed=3)
    assert torch.equal(a.images, b.images) and a.fonts == b.fonts
    assert not torch.equal(a.images, glyphs.Glyphs(50, seed=4).images)


def test_glyphs_only_use_fonts_that_have_the_character():
    g = glyphs.Glyphs(200, scripts=["hebrew", "arabic"], seed=0)
    assert all(not f.startswith(("STIX", "Computer Modern")) for f in g.fonts)
    with pytest.raises(ValueError, match="has no glyph"):
        glyphs.render("א", "Computer Modern Roman")


def test_digits_and_bad_arguments():
    d = glyphs.digits(40, size=28)
    assert d.classes == list("0123456789") and d.images.shape == (40, 1, 28, 28)
    with pytest.raises(ValueError, match="unknown scripts"):
        glyphs.Glyphs(10, scripts=["klingon"])
    with pytest.raises(ValueError, match="unknown font"):
        glyphs.Glyphs(10, fonts=["Comic Sans"])
    with pytest.raises(ValueError, match="none of the fonts"):
        glyphs.Glyphs(10, scripts=["hebrew"], fonts=["Computer Modern Roman"])
    with pytest.raises(ValueError, match="single character"):
        glyphs.render("ab")


def test_undistorted_render_is_centred():
    img = glyphs.render("O", "DejaVu Sans", 32)[0]
    ys, xs = torch.nonzero(img > 0.5, as_tuple=True)
    assert abs(ys.float().mean() - 15.5) < 2 and abs(xs.float().mean() - 15.5) < 2


def test_photos_split_by_source_image():
    train, test = set(photos.names("train")), set(photos.names("test"))
    assert train and test and not train & test
    with pytest.raises(ValueError, match="not in the 'train' split"):
        photos.patches(4, 32, split="train", sources=["coffee"])


def test_camera_only_photos():
    cam = photos.names("train", camera_only=True)
    assert set(cam) < set(photos.names("train")) and "page" not in cam and "hubble_deep_field" not in cam
    assert set(photos.names("test", camera_only=True)) == set(photos.names("test"))  # the test photos are all camera photos
    assert photos.patches(3, 16, split="train", sources=cam, seed=0).shape == (3, 3, 16, 16)


def test_patches_never_come_from_test_photos_in_training(monkeypatch):
    used = []
    original = photos.load
    monkeypatch.setattr(photos, "load", lambda name, **kw: used.append(name) or original(name, **kw))
    photos.patches(6, size=16, split="train", seed=2)
    assert used and set(used) <= set(photos.names("train"))
    used.clear()
    photos.patches(6, size=16, split="test", seed=2)
    assert set(used) == set(photos.names("test"))


def test_photo_loading_and_patches():
    img = photos.load("astronaut")
    assert img.shape == (3, 512, 512) and 0 <= img.min() and img.max() <= 1
    assert max(photos.load("hubble_deep_field", max_side=256).shape[1:]) == 256
    g = photos.patches(5, size=32, split="test", gray=True, seed=0)
    assert g.shape == (5, 1, 32, 32)
    assert torch.equal(g, photos.patches(5, size=32, split="test", gray=True, seed=0))
    with pytest.raises(ValueError, match="unknown photo"):
        photos.load("mona_lisa")
    with pytest.raises(ValueError, match="split must be"):
        photos.names("val")


def _idx_gz(path, arr, code):
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.tobytes())


def _entries(tmp_path, files):
    import hashlib

    return {name: {"url": p.as_uri(), "filename": p.name + ".cached", "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                   "size": p.stat().st_size, "license": "test", "offline": "glyphs"} for name, p in files.items()}


def test_mnist_reads_real_idx_files(tmp_path, tmp_cache):
    imgs = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.arange(7, dtype=np.uint8)
    _idx_gz(tmp_path / "i.gz", imgs, 0x08)
    _idx_gz(tmp_path / "l.gz", labels, 0x08)
    entries = _entries(tmp_path, {"mnist-test-images": tmp_path / "i.gz", "mnist-test-labels": tmp_path / "l.gz"})
    x, y, source = real.mnist("test", entries=entries, progress=False)
    assert source == "MNIST" and x.shape == (7, 1, 28, 28) and y.tolist() == list(range(7))
    assert torch.allclose(x[3, 0], torch.from_numpy(imgs[3]).float() / 255)


def test_mnist_falls_back_offline(tmp_cache, capsys):
    entries = {f"mnist-train-{k}": {"url": "http://127.0.0.1:9/x", "filename": f"{k}.gz", "sha256": "0" * 64, "size": 1,
                                    "license": "x", "offline": "glyph digits"} for k in ("images", "labels")}
    x, y, source = real.mnist("train", n=30, entries=entries, timeout=1, progress=False)
    assert "offline stand-in" in source and x.shape == (30, 1, 28, 28) and int(y.max()) <= 9
    assert "MNIST is not available" in capsys.readouterr().out


def test_truncated_idx_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.gz"
    with gzip.open(p, "wb") as f:
        f.write(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]))
    with pytest.raises(ValueError, match="truncated"):
        real.read_idx(p)


def test_omniglot_reads_the_zip_layout(tmp_path, tmp_cache):
    from PIL import Image

    zpath = tmp_path / "images_background.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for a in ("Alpha", "Beta"):
            for c in ("character01", "character02"):
                for k in range(2):
                    buf = io.BytesIO()
                    Image.fromarray(np.full((105, 105), 255 if k else 0, np.uint8)).save(buf, "PNG")
                    z.writestr(f"images_background/{a}/{c}/{k}.png", buf.getvalue())
    entries = _entries(tmp_path, {"omniglot-background": zpath})
    x, y, classes, source = real.omniglot("background", size=20, entries=entries, progress=False)
    assert source == "Omniglot" and x.shape == (8, 1, 20, 20) and len(classes) == 4
    assert classes[0] == "Alpha/character01" and y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_glyphs_chars_keeps_a_subset():
    g = glyphs.Glyphs(40, size=16, scripts=["latin"], chars="ABCDEFGHIJ", seed=0)
    assert g.classes == list("ABCDEFGHIJ") and set(g.labels.tolist()) == set(range(10))
    with pytest.raises(ValueError, match="not in the scripts"):
        glyphs.Glyphs(10, scripts=["digits"], chars="A")


def test_glyph_strips_hold_the_same_character_at_both_ends():
    s = glyphs.GlyphStrips(24, size=16, gap=8, chars="HOT", fonts=["DejaVu Sans Bold"], seed=3)
    assert s.images.shape == (24, 1, 16, 40) and 0 <= s.images.min() and s.images.max() <= 1
    assert s.images[..., 16:24].abs().max() == 0  # the gap is empty
    left, right = s.ends(s.images)
    assert left.shape == right.shape == (24, 1, 16, 16)
    assert torch.equal(left, s.glyphs.images[:24])
    for i in range(24):  # the right end is another sample of the same character
        same = [j for j in range(24, 48) if torch.equal(s.glyphs.images[j], right[i])]
        assert same and all(s.glyphs.labels[j] == s.labels[i] for j in same)
    assert repr(s).startswith("GlyphStrips(n=24, strip 16×40")
