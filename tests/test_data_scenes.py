"""The glyph scenes of notebook 4.2: deterministic, labels that follow the frame, a target mask."""

import pytest
import torch

from coursekit.data.glyphs import Glyphs, digits
from coursekit.data.scenes import LETTERS, cluttered_digits, framed_pair, noisy_labels


def test_framed_pair_labels_follow_the_frame():
    s = framed_pair(24, seed=3, canvas=32)
    assert s.images.shape == (24, 3, 32, 32) and s.labels.shape == (24,) and s.cue.dtype == torch.bool
    assert torch.equal(s.images, framed_pair(24, seed=3, canvas=32).images)
    red = torch.tensor([1.0, 0.15, 0.1])
    frame = s.images[:, :, 0, 0]  # a corner of the frame: its colour
    assert torch.equal(torch.isclose(frame, red.expand(24, 3)).all(1), s.cue)
    d = digits(24, size=14, seed=3)  # the red digits and green letters the scenes were drawn from
    letters = Glyphs(24, size=14, scripts=["latin"], chars=LETTERS, seed=3 + 7919)
    assert torch.equal(s.labels, torch.where(s.cue, d.labels, letters.labels))
    assert 0 < s.cue.float().mean() < 1


def test_framed_pair_control_draws_only_the_named_glyph():
    s = framed_pair(16, seed=0, canvas=32, pair=False)
    inside = s.images[:, :, 4:-4, 4:-4]
    red_ink = (inside[:, 0] > 0.5).flatten(1).any(1)
    green_ink = (inside[:, 1] > 0.5).flatten(1).any(1)
    assert torch.equal(red_ink, s.cue) and torch.equal(green_ink, ~s.cue)


def test_cluttered_digits_keep_the_target_ink():
    s = cluttered_digits(10, seed=1, canvas=32, digit_size=20, fragments=4, fragment_size=6)
    assert s.images.shape == (10, 1, 32, 32) and s.target.shape == (10, 1, 32, 32)
    assert (s.images[s.target] > 0.1).all()  # the target is drawn on top
    assert (s.images > 0.1).sum() > s.target.sum()  # and there is clutter besides
    with pytest.raises(ValueError):
        cluttered_digits(2, canvas=32, digit_size=8, fragment_size=6)


def test_noisy_labels_flip_the_asked_share_to_another_class():
    y = torch.arange(10).repeat(500)
    noisy = noisy_labels(y, 0.4, 10, seed=0)
    wrong = noisy != y
    assert abs(wrong.float().mean().item() - 0.4) < 0.03
    assert torch.equal(noisy, noisy_labels(y, 0.4, 10, seed=0))
    assert noisy.min() >= 0 and noisy.max() < 10
