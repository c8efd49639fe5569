"""2.4's pair-sampler check: a right sampler passes, each realistic wrong one fails with a hint,
coursekit's own sampler is refused, a stub is 'not done', and the notebook's random state is kept."""

import random

import numpy as np
import pytest
import torch

from coursekit.checks.pairs import check_pair_sampler


def _allowed(labels, classes):
    """(K,) classes and, for each, the positions of its images."""
    return [torch.nonzero(labels == c).squeeze(1) for c in classes]


def _pick(members, gen):
    return members[torch.randint(len(members), (1,), generator=gen)].item()


def sample_pairs(labels, classes, batch_size, generator):
    """A right answer, written differently from coursekit's (a loop, shuffled order)."""
    by_class = _allowed(labels, classes)
    rows = []
    for _ in range(batch_size // 2):
        members = by_class[torch.randint(len(by_class), (1,), generator=generator).item()]
        a, b = torch.randperm(len(members), generator=generator)[:2]
        rows.append((members[a].item(), members[b].item(), 1.0))
    for _ in range(batch_size - batch_size // 2):
        ca, cb = torch.randperm(len(by_class), generator=generator)[:2].tolist()
        rows.append((_pick(by_class[ca], generator), _pick(by_class[cb], generator), 0.0))
    order = torch.randperm(batch_size, generator=generator)
    i, j, same = (torch.tensor(col) for col in zip(*rows))
    return i[order], j[order], same[order]


# --- realistic wrong answers -------------------------------------------------------------------


def all_same(labels, classes, batch_size, generator):
    by_class = _allowed(labels, classes)
    i, j = [], []
    for _ in range(batch_size):
        members = by_class[torch.randint(len(by_class), (1,), generator=generator).item()]
        a, b = torch.randperm(len(members), generator=generator)[:2]
        i.append(members[a]), j.append(members[b])
    return torch.stack(i), torch.stack(j), torch.ones(batch_size)


def unbalanced(labels, classes, batch_size, generator):
    """Random pairs of training images, labelled by their classes: mostly 'different'."""
    pool = torch.cat(_allowed(labels, classes))
    i = pool[torch.randint(len(pool), (batch_size,), generator=generator)]
    j = pool[torch.randint(len(pool), (batch_size,), generator=generator)]
    return i, j, (labels[i] == labels[j]).float()


def different_may_coincide(labels, classes, batch_size, generator):
    """Right same pairs; the 'different' pairs are two random training images, labelled 0 unchecked."""
    i, j, same = sample_pairs(labels, classes, batch_size, generator)
    pool = torch.cat(_allowed(labels, classes))
    diff = same == 0
    i[diff] = pool[torch.randint(len(pool), (int(diff.sum()),), generator=generator)]
    j[diff] = pool[torch.randint(len(pool), (int(diff.sum()),), generator=generator)]
    return i, j, same


def uses_held_out_classes(labels, classes, batch_size, generator):
    """Right in every way, but on every class of the set: the held-out ones too."""
    return sample_pairs(labels, labels.unique().tolist(), batch_size, generator)


def different_partner_from_anywhere(labels, classes, batch_size, generator):
    """The first image of a different pair is a training image, its partner any image of another class."""
    i, j, same = sample_pairs(labels, classes, batch_size, generator)
    for r in torch.nonzero(same == 0).squeeze(1).tolist():
        others = torch.nonzero(labels != labels[i[r]]).squeeze(1)
        j[r] = _pick(others, generator)
    return i, j, same


def global_random_state(labels, classes, batch_size, generator):
    """Ignores the generator: draws from torch's global stream."""
    return sample_pairs(labels, classes, batch_size, None)


def own_generator(labels, classes, batch_size, generator):
    """Seeds a generator of its own at every call: every batch is the same."""
    return sample_pairs(labels, classes, batch_size, torch.Generator().manual_seed(0))


def python_random(labels, classes, batch_size, generator):
    """Draws with the random module, seeded from nothing the check controls."""
    gen = torch.Generator().manual_seed(random.getrandbits(31))
    return sample_pairs(labels, classes, batch_size, gen)


def image_with_itself(labels, classes, batch_size, generator):
    i, j, same = sample_pairs(labels, classes, batch_size, generator)
    j = torch.where(same == 1, i, j)
    return i, j, same


def flipped_labels(labels, classes, batch_size, generator):
    """1 for 'different', 0 for 'same' (a distance-like convention)."""
    i, j, same = sample_pairs(labels, classes, batch_size, generator)
    return i, j, 1 - same


def first_class_only(labels, classes, batch_size, generator):
    """Same pairs always from the first training class."""
    i, j, same = sample_pairs(labels, classes, batch_size, generator)
    members = _allowed(labels, classes[:1])[0]
    for r in torch.nonzero(same == 1).squeeze(1).tolist():
        a, b = torch.randperm(len(members), generator=generator)[:2]
        i[r], j[r] = members[a], members[b]
    return i, j, same


def first_two_images(labels, classes, batch_size, generator):
    """Same pairs always the first two images of their class: most training images never appear."""
    by_class = _allowed(labels, classes)
    i, j, same = sample_pairs(labels, classes, batch_size, generator)
    for r in torch.nonzero(same == 1).squeeze(1).tolist():
        members = by_class[classes.index(int(labels[i[r]]))]
        i[r], j[r] = members[0], members[1]
    return i, j, same


def class_numbers(labels, classes, batch_size, generator):
    """Returns the classes of the pairs, not the positions of their images."""
    i, j, same = sample_pairs(labels, classes, batch_size, generator)
    return labels[i].float(), labels[j].float(), same


def one_tensor(labels, classes, batch_size, generator):
    return torch.stack(sample_pairs(labels, classes, batch_size, generator)[:2], 1)


WRONG = {
    "all pairs from one class": (all_same, "expected"),
    "random pairs, mostly different": (unbalanced, ("expected", "one image twice")),  # a random pair may be (i, i)
    "different pairs that can share a class": (different_may_coincide, "wrong label"),
    "pairs of held-out classes": (uses_held_out_classes, "held out"),
    "a different partner from a held-out class": (different_partner_from_anywhere, "held out"),
    "the global random stream": (global_random_state, "same generator state"),
    "a generator of its own": (own_generator, "not used"),
    "Python's random module": (python_random, "same generator state"),
    "an image paired with itself": (image_with_itself, "one image twice"),
    "1 means different": (flipped_labels, "opposite"),
    "same pairs from one class": (first_class_only, "only from classes"),
    "always the first two images": (first_two_images, "never appeared"),
    "class numbers instead of positions": (class_numbers, "integer positions"),
    "one tensor instead of three": (one_tensor, "three tensors"),
}


def test_a_right_sampler_passes():
    r = check_pair_sampler(sample_pairs, quiet=True)
    assert r.passed, r


@pytest.mark.parametrize("name", sorted(WRONG))
def test_each_realistic_mistake_fails_with_a_hint(name):
    fn, words = WRONG[name]
    r = check_pair_sampler(fn, quiet=True)
    assert r.status == "failed", (name, r)
    assert any(w in r.message for w in ((words,) if isinstance(words, str) else words)), (name, r.message)
    assert r.hint


def test_the_course_sampler_is_refused_and_a_stub_is_not_done():
    from coursekit.models import siamese

    r = check_pair_sampler(lambda *a: siamese.pair_batch(*a), quiet=True)
    assert r.status == "failed" and "is off while the check runs" in r.message, r
    assert check_pair_sampler(siamese.pair_batch, quiet=True).status == "failed"

    def stub(labels, classes, batch_size, generator):
        raise NotImplementedError()

    assert check_pair_sampler(stub, quiet=True).status == "not done"


def test_the_course_sampler_itself_is_right():
    """With the guard off, coursekit's pair_batch passes: the check is not tailored to one ordering."""
    from coursekit.checks import _core
    from coursekit.models.siamese import pair_batch

    original = _core._Guard.wrap
    _core._Guard.wrap = lambda self, fn: fn
    try:
        assert check_pair_sampler(pair_batch, quiet=True).passed
    finally:
        _core._Guard.wrap = original


def test_the_check_leaves_the_global_random_streams_as_they_were():
    torch.manual_seed(5), random.seed(5), np.random.seed(5)
    check_pair_sampler(global_random_state, quiet=True)
    check_pair_sampler(python_random, quiet=True)
    after = torch.rand(3), random.random(), np.random.rand()
    torch.manual_seed(5), random.seed(5), np.random.seed(5)
    assert torch.equal(after[0], torch.rand(3)) and after[1:] == (random.random(), np.random.rand())
