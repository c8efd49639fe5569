"""Exercise check for notebook 2.4: sampling the training pairs of a siamese network.

G. Koch, R. Zemel and R. Salakhutdinov, "Siamese Neural Networks for One-shot Image Recognition",
ICML Deep Learning Workshop 2015, sec. 4.2: the verification network trains on "random same and
different pairs" of the training alphabets only; the evaluation alphabets stay unseen. The check
draws many batches from the student's sampler and tests the properties such a batch must have
(half same, half different, right labels, no held-out class, no image paired with itself, every
class and image used, the given generator as the only source of randomness), so any correct
sampler passes, not only coursekit's :func:`coursekit.models.siamese.pair_batch`. It lives in its
own module because ``features.py`` (section 2's other checks) is near the size limit.
"""

from __future__ import annotations

import random

import torch

from ._core import check_seed, exercise, expect

__all__ = ["check_pair_sampler"]


def _draw_batches(student_fn, labels, classes, batch, seed, n_batches):
    """``n_batches`` calls with one generator (as a training loop makes them), each as three (B,) tensors."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_batches):
        got = student_fn(labels.clone(), list(classes), batch, gen)
        ok = isinstance(got, (tuple, list)) and len(got) == 3
        if ok:
            try:
                got = tuple(torch.as_tensor(t).cpu() for t in got)
            except (TypeError, ValueError, RuntimeError):
                ok = False
        ok = ok and all(t.dim() == 1 and len(t) == batch for t in got)
        expect(
            ok,
            f"sample_pairs(labels, classes, batch_size={batch}, generator) should return three tensors of "
            f"shape ({batch},): i, j and same",
            hint=(
                "one pair per row of the batch: the index of its first image, of its second, and its label",
                "return (i, j, same), each a 1-D tensor with batch_size entries",
            ),
        )
        i, j, same = got
        expect(
            not i.is_floating_point() and not j.is_floating_point()
            and bool(((i >= 0) & (i < len(labels)) & (j >= 0) & (j < len(labels))).all()),
            "i and j should be integer positions in labels (0 ≤ index < len(labels))",
            hint=(
                "i and j say WHICH images form each pair, so the training loop can look the images up",
                "they are positions in the labelled set (0 to len(labels) - 1), not class numbers",
            ),
        )
        out.append((i.long(), j.long(), same.float()))
    return out


def _global_states():
    import numpy as np

    return torch.get_rng_state(), random.getstate(), np.random.get_state()


def _advance_global_states() -> None:
    """Move torch's, Python's and NumPy's global random streams on (without re-seeding them)."""
    import numpy as np

    torch.rand(7), random.random(), np.random.rand(7)


def _restore_states(states) -> None:
    import numpy as np

    torch.set_rng_state(states[0]), random.setstate(states[1]), np.random.set_state(states[2])


@exercise("sampling training pairs for the siamese network", answer=("coursekit.models.siamese.pair_batch",))
def check_pair_sampler(student_fn):
    g = torch.Generator().manual_seed(check_seed())  # new inputs at every call, repeatable run to run
    n_classes = 9
    labels = torch.arange(n_classes).repeat(6)[torch.randperm(6 * n_classes, generator=g)]  # (54,) six images a class
    classes = sorted(torch.randperm(n_classes, generator=g)[:4].tolist())  # the training classes
    batch = 2 * int(torch.randint(6, 12, (), generator=g))
    seed = int(torch.randint(1 << 30, (), generator=g))
    states = _global_states()
    try:
        batches = _draw_batches(student_fn, labels, classes, batch, seed, 40)
        for i, j, same in batches:
            li, lj = labels[i], labels[j]
            foreign = sorted(set(li.tolist() + lj.tolist()) - set(classes))  # held-out classes in the batch
            expect(
                not foreign,
                f"a pair uses images of class {foreign[0] if foreign else None}, which is held out: the training classes are {classes}",
                hint=(
                    "the held-out classes are for testing one-shot learning: training must never see them, not even as the "
                    "'other' image of a different pair",
                    "draw every image, of the same pairs and of the different pairs, only among the images whose label is in "
                    "`classes`",
                ),
            )
            expect(
                bool(((same == 0) | (same == 1)).all()),
                f"same should hold only 1 (same class) and 0 (different classes), got values {sorted(set(same.tolist()))[:4]}",
                hint=(
                    "the label of a pair is a yes/no answer for binary cross-entropy",
                    "1 for the same class, 0 for different classes, nothing else",
                ),
            )
            truth = (li == lj).float()
            expect(
                not bool((same == 1 - truth).all()),
                "every label is the opposite of the truth: same = 1 must mean 'the same class'",
                hint=(
                    "the network's output is read as the probability that the two images show the same class",
                    "so the target is 1 for a same pair and 0 for a different pair",
                ),
            )
            wrong = int((same != truth).sum())
            accidental = int(((same == 0) & (truth == 1)).sum())
            expect(
                wrong == 0,
                f"{wrong} of {batch} pairs have the wrong label ({accidental} labelled 'different' show two images of "
                "the same class)",
                hint=(
                    "a pair labelled 'different' must really show two classes: two random images may share their class",
                    "for a different pair choose two DIFFERENT classes first, then one image of each",
                ),
            )
            twins = int(((i == j) & (same == 1)).sum())
            expect(
                twins == 0,
                f"{twins} same pairs show one image twice (i == j)",
                hint=(
                    "comparing an image with itself teaches nothing: the distance is zero whatever the network does",
                    "a same pair takes two DIFFERENT images of one class",
                ),
            )
            n_same = int(same.sum())
            expect(
                n_same == batch // 2,
                f"a batch of {batch} pairs holds {n_same} same pairs and {batch - n_same} different ones; expected "
                f"{batch // 2} of each",
                hint=(
                    "with random pairs almost all are different: the network would learn to always answer 'different'",
                    "build the two halves separately: batch_size // 2 same pairs, then the rest different pairs",
                ),
            )
        # the generator is the only source of randomness: same seed, same batches, wherever the global streams are
        _advance_global_states()
        again = _draw_batches(student_fn, labels, classes, batch, seed, 3)
        _advance_global_states()
        other_global = _draw_batches(student_fn, labels, classes, batch, seed, 3)
        other_seed = _draw_batches(student_fn, labels, classes, batch, seed + 1, 3)
    finally:
        _restore_states(states)
    equal = lambda u, v: all(torch.equal(x, y) for a, b in zip(u, v) for x, y in zip(a, b))
    expect(
        equal(again, batches[:3]) and equal(other_global, batches[:3]),
        "the same generator state gave different batches (the result depends on another random source)",
        hint=(
            "a run repeats only when every random draw comes from the generator you are given",
            "every torch sampling function takes a generator argument: hand yours to each draw (class, index, "
            "permutation); Python's random module and numpy ignore it",
        ),
    )
    expect(
        not equal(other_seed, batches[:3]),
        "generators seeded differently gave the same batches: the generator passed in is not used",
        hint=(
            "two different seeds must give two different runs: something in your sampler ignores its seed",
            "draw from the generator argument itself, not from a new generator you seed inside the function",
        ),
    )
    i_all = torch.cat([b[0] for b in batches])
    j_all = torch.cat([b[1] for b in batches])
    same_all = torch.cat([b[2] for b in batches]) == 1
    classes_of_same = set(labels[i_all[same_all]].tolist())
    expect(
        classes_of_same == set(classes),
        f"in {len(batches)} batches the same pairs came only from classes {sorted(classes_of_same)}, "
        f"out of the training classes {classes}",
        hint=(
        "the network must learn what 'same' looks like for every training class, not for a few",
        "pick the class of each same pair at random among all the training classes",
    ),
    )
    allowed = set(torch.nonzero(torch.isin(labels, torch.tensor(classes))).squeeze(1).tolist())
    for kind, rows in (("same", same_all), ("different", ~same_all)):
        unused = allowed - set(i_all[rows].tolist()) - set(j_all[rows].tolist())
        expect(
            not unused,
            f"in {len(batches)} batches {len(unused)} of the {len(allowed)} training images never appeared in a "
            f"{kind} pair",
            hint=(
                "a sampler that keeps returning the same few images wastes the rest of the data",
                "pick the images of each pair at random among ALL the images of the chosen class",
            ),
        )
    combos = {tuple(sorted(p)) for p in zip(labels[i_all[~same_all]].tolist(), labels[j_all[~same_all]].tolist())}
    n_combos = len(classes) * (len(classes) - 1) // 2
    expect(
        len(combos) == n_combos,
        f"in {len(batches)} batches the different pairs combined only {len(combos)} of the {n_combos} pairs of "
        "training classes",
        hint=(
        "a different pair should be able to contrast any two training classes",
        "choose its two classes at random among the training classes (two distinct ones)",
    ),
    )
