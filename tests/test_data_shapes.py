"""Tests for coursekit.data.shapes: sprites, factors, captions, tokenizer; and the text encoder
(coursekit.models.text_encoder) trained on them by coursekit.train.fit_text_encoder."""

import pytest
import torch

from coursekit.data.shapes import (
    CAPTIONED,
    FACTOR_NAMES,
    FACTORS,
    VOCAB,
    Shapes,
    Tokenizer,
    caption,
    parse_caption,
)
from coursekit.models.text_encoder import TextEncoder
from coursekit.train import fit_text_encoder


def test_dataset_shapes_and_ranges():
    d = Shapes(50, size=32, seed=1)
    assert d.images.shape == (50, 3, 32, 32)
    assert d.factors.shape == (50, len(FACTOR_NAMES))
    assert d.images.min() >= 0 and d.images.max() <= 1
    img, f = d[3]
    assert img.shape == (3, 32, 32) and f.shape == (6,)
    for k, name in enumerate(FACTOR_NAMES):
        assert d.factors[:, k].min() >= 0 and d.factors[:, k].max() < len(FACTORS[name])


def test_same_seed_same_data_and_grey_variant():
    a, b = Shapes(20, size=32, seed=3), Shapes(20, size=32, seed=3)
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    g = Shapes(20, size=32, colours=("white",), channels=1)
    assert g.images.shape == (20, 1, 32, 32)
    assert (g.factors[:, 5] == -1).all() and "white" in g.captions[0]


def test_factors_drive_the_pixels():
    d = Shapes(400, size=32, seed=0, jitter=False)
    area = d.images.amax(1).sum((1, 2))
    s = d.factors[:, 1]
    # larger scale -> more lit pixels, for every shape
    assert area[s == 0].mean() < area[s == 1].mean() < area[s == 2].mean()
    # the centre of mass follows the x factor
    xs = torch.arange(32).float()
    cx = (d.images.amax(1).sum(1) * xs).sum(1) / area
    assert cx[d.factors[:, 3] == 0].mean() < 12 < cx[d.factors[:, 3] == 2].mean()
    # colour: the red sprites' red channel dominates
    red = d.factors[:, 5] == FACTORS["colour"].index("red")
    assert d.images[red, 0].sum() > 3 * d.images[red, 1].sum()


def test_caption_round_trip():
    d = Shapes(200, size=16, seed=2)
    for cap, f in zip(d.captions, d.factors):
        parsed = parse_caption(cap)
        for name in CAPTIONED:
            assert parsed[name] == int(f[FACTOR_NAMES.index(name)]), cap
    assert caption([2, 0, 0, 0, 0, 0]) == "a small red triangle at the top left"
    assert caption([1, 2, 3, 1, 1, 2]) == "a large blue circle in the centre"


def test_out_of_vocabulary_words_are_named():
    tok = Tokenizer()
    with pytest.raises(ValueError, match="'huge'.*'purple'|outside the vocabulary: 'huge', 'purple'"):
        tok.encode("a huge purple square")
    with pytest.raises(ValueError, match="'hexagon'"):
        parse_caption("a small red hexagon")
    with pytest.raises(TypeError):
        tok.encode(3)
    with pytest.raises(ValueError, match="no shape"):
        parse_caption("a small red")


def test_tokenizer_batch_and_decode():
    tok = Tokenizer()
    ids = tok.encode_batch(["a small red square", "a large blue circle at the top left"])
    assert ids.shape == (2, 8) and ids[0, 4:].eq(0).all()
    assert tok.decode(ids[0]) == "a small red square"
    assert len(tok) == len(VOCAB)


def test_text_encoder_learns_the_factors():
    torch.manual_seed(0)
    d = Shapes(512, size=16, seed=0)
    enc = TextEncoder(embed_dim=32)
    losses = fit_text_encoder(enc, d.captions, d.factors, steps=150)
    assert losses[-1] < 0.2 * losses[0]
    e = enc(Tokenizer().encode_batch(d.captions[:4]))
    assert e.shape == (4, 32) and not enc.training


def test_text_encoder_training_is_unchanged_by_the_move_to_train():
    """The same seeds give the losses the data layer's own loop gave before it moved to train.fit
    (so 3.6's recorded smoke numbers stay as they were)."""
    torch.manual_seed(0)
    d = Shapes(512, size=16, seed=0)
    losses = fit_text_encoder(TextEncoder(embed_dim=32), d.captions, d.factors, steps=20)
    assert [round(v, 6) for v in losses[::5]] == [6.280612, 5.333546, 4.276876, 3.198828]
    assert losses[-1] == pytest.approx(2.4292891025543213, abs=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="colour"):
        Shapes(4, colours=("orange",))
    with pytest.raises(ValueError, match="size"):
        Shapes(4, size=4)
    with pytest.raises(ValueError, match="channels"):
        Shapes(4, channels=2)


def test_uniform_positions_and_fine_factors():
    d = Shapes(300, size=32, seed=0, position="uniform")
    assert d.positions.std(0).min() > 0.1  # spread, not 3 clusters
    left = d.positions[:, 0] < 0.35
    assert (d.factors[left, 3] == 0).all()
    fine = d.discrete_factors(8)
    assert fine[:, 3].max() == 7 and torch.equal(fine[:, :3], d.factors[:, :3])
    assert torch.equal(d.discrete_factors(3), d.factors)
    with pytest.raises(ValueError, match="position"):
        Shapes(4, position="grid")
