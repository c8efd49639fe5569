"""Tests for coursekit.analysis.disentanglement: MIG and the factor classifier (trained by coursekit.train)."""

import math

import pytest
import torch

from coursekit.analysis.disentanglement import (
    discrete_entropy,
    discrete_mutual_info,
    factor_accuracy,
    mig_from_mi,
    mutual_information_gap,
    mutual_information_matrix,
)
from coursekit.data.shapes import FACTOR_NAMES, Shapes
from coursekit.train import fit_factor_classifier


def test_entropy_and_mutual_information():
    a = torch.tensor([0, 1, 2, 3] * 25)
    assert math.isclose(discrete_entropy(a), math.log(4), rel_tol=1e-9)
    assert math.isclose(discrete_mutual_info(a, a), math.log(4), rel_tol=1e-9)
    assert math.isclose(discrete_mutual_info(a, a % 2), math.log(2), rel_tol=1e-9)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randint(3, (20000,), generator=g), torch.randint(3, (20000,), generator=g)
    assert discrete_mutual_info(x, y) < 0.005  # independent


def test_mig_from_mi_by_hand():
    mi = torch.tensor([[0.9, 0.1], [0.2, 0.5], [0.1, 0.4]])
    ent = torch.tensor([1.0, 0.5])
    assert torch.isclose(mig_from_mi(mi, ent), torch.tensor(((0.9 - 0.2) / 1.0 + (0.5 - 0.4) / 0.5) / 2))


def test_mig_separates_aligned_from_rotated_codes():
    g = torch.Generator().manual_seed(0)
    factors = torch.randint(5, (3000, 2), generator=g)
    aligned = factors.float() + 0.1 * torch.randn(3000, 2, generator=g)
    rot = torch.tensor([[1.0, 1.0], [1.0, -1.0]]) / math.sqrt(2)
    entangled = aligned @ rot
    mig_a, per = mutual_information_gap(aligned, factors, ["p", "q"])
    mig_e, _ = mutual_information_gap(entangled, factors, ["p", "q"])
    assert mig_a > 0.8 and mig_e < 0.3 and set(per) == {"p", "q"}


def test_constant_factors_are_skipped_and_bad_input():
    f = torch.stack([torch.arange(100) % 4, torch.zeros(100, dtype=torch.long)], 1)
    codes = torch.randn(100, 3)
    _, per = mutual_information_gap(codes, f)
    assert list(per) == ["factor 0"]
    with pytest.raises(ValueError, match="same N"):
        mutual_information_gap(codes[:50], f)
    with pytest.raises(ValueError, match="two latents"):
        mutual_information_gap(codes[:, :1], f)


def test_factor_classifier_learns_colour_and_shape():
    torch.manual_seed(0)
    d = Shapes(512, size=16, seed=0)
    clf = fit_factor_classifier(
        d.images, d.factors, FACTOR_NAMES, ["shape", "colour", "x"], steps=60, width=8, device="cpu"
    )
    t = Shapes(256, size=16, seed=1)
    acc = factor_accuracy(clf, t.images, t.factors, FACTOR_NAMES)
    assert set(acc) == {"shape", "colour", "x"}
    assert acc["colour"] > 0.6 and acc["x"] > 0.6  # chance: 1/6 and 1/3


def test_mutual_information_matrix_matches_pairwise():
    g = torch.Generator().manual_seed(1)
    factors = torch.stack([torch.randint(3, (500,), generator=g), torch.zeros(500, dtype=torch.long)], 1)
    codes = torch.stack([factors[:, 0].float(), torch.randn(500, generator=g)], 1)
    mi, ent, kept = mutual_information_matrix(codes, factors, n_bins=3)
    assert kept == [0] and mi.shape == (2, 1)
    assert math.isclose(float(mi[0, 0]), float(ent[0]), rel_tol=1e-6)  # latent 0 is the factor
