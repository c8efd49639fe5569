import pytest
import torch
from _overfit import overfit

from coursekit.models.shared_space import SharedSpace, info_nce, make_modalities, outline


def test_outline_of_a_square():
    x = torch.zeros(1, 1, 9, 9)
    x[..., 2:7, 2:7] = 1
    o = outline(x)
    assert o[0, 0, 4, 4] == 0  # inside
    assert o[0, 0, 2, 4] == 1 and o[0, 0, 1, 4] == 1  # on and just outside the border
    assert o[0, 0, 0, 0] == 0
    with pytest.raises(ValueError):
        outline(torch.rand(2, 3, 8, 8))


def test_make_modalities_shapes_and_determinism():
    g = (torch.rand(5, 1, 16, 16) > 0.5).float()
    a, b = make_modalities(g, seed=1), make_modalities(g, seed=1)
    assert a["sketch"].shape == (5, 1, 16, 16) and a["image"].shape == (5, 3, 16, 16)
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["sketch"], b["sketch"])
    assert a["image"].min() >= 0 and a["image"].max() <= 1


def test_info_nce_against_explicit_formula():
    torch.manual_seed(0)
    a, b = torch.randn(6, 4), torch.randn(6, 4)
    an, bn = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    s = an @ bn.T / 0.5
    l_ab = -(s.diag() - s.logsumexp(dim=1)).mean()
    l_ba = -(s.diag() - s.logsumexp(dim=0)).mean()
    assert torch.allclose(info_nce(a, b, 0.5), (l_ab + l_ba) / 2, atol=1e-6)
    # perfectly aligned, well separated pairs give a low loss
    e = torch.eye(6) * 10
    assert info_nce(e, e, 0.1) < 1e-3
    with pytest.raises(ValueError):
        info_nce(a, b[:3])


@pytest.mark.parametrize("alignment", ["regression", "contrastive"])
def test_shared_space_shapes_loss_and_training(alignment):
    torch.manual_seed(0)
    m = SharedSpace(16, 6, (8, 16), alignment=alignment)
    mod = make_modalities((torch.rand(8, 1, 16, 16) > 0.6).float())
    assert m.encode(mod["sketch"], "sketch").shape == (8, 6)
    assert m.decode(m.encode(mod["image"], "image")).shape == (8, 3, 16, 16)
    assert set(m.loss(mod["sketch"], mod["image"])) == {"loss", "rec_image", "rec_sketch", "align"}
    first, last = overfit(m, mod, lambda m, mod: m.loss(mod["sketch"], mod["image"]), steps=30, lr=3e-3)
    assert last < first
    with pytest.raises(ValueError, match="modality"):
        m.encode(mod["image"], "audio")
    with pytest.raises(ValueError, match="alignment"):
        SharedSpace(alignment="magic")


