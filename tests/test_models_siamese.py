import pytest
import torch
from _overfit import overfit

from coursekit.models.siamese import (
    SiameseNet,
    n_way_one_shot_accuracy,
    n_way_tasks,
    pair_batch,
    siamese_teaching,
    split_by_script,
    verification_loss,
)


def test_paper_configuration():
    # Koch et al. 2015, Fig. 4: 105x105 -> 256 maps of 6x6 -> 4096 -> L1 -> 1
    # (its 38,951,745 parameters, counted by hand: test_model_table.py)
    with torch.device("meta"):
        net = SiameseNet()
    assert net.flat_features == 256 * 6 * 6 == 9216


def test_teaching_shapes_symmetry_and_gradients():
    torch.manual_seed(0)
    net = siamese_teaching(32, 0.25).eval()
    a = torch.rand(3, 1, 32, 32, requires_grad=True)
    b = torch.rand(3, 1, 32, 32)
    out = net(a, b)
    assert out.shape == (3,)
    assert torch.allclose(out, net(b, a), atol=1e-6)  # L1 distance is symmetric
    out.sum().backward()
    assert a.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="expected images"):
        net.embed(torch.rand(2, 1, 28, 28))


def test_overfits_pairs():
    torch.manual_seed(0)
    net = siamese_teaching(32, 0.25)
    labels = torch.arange(4).repeat(4)
    protos = torch.rand(4, 1, 32, 32)
    images = protos[labels] + 0.05 * torch.randn(16, 1, 32, 32)
    g = torch.Generator().manual_seed(0)

    def pairs_loss(net, batch):
        images, labels = batch
        i, j, same = pair_batch(labels, None, 16, g)  # new random pairs at every step
        return verification_loss(net(images[i], images[j]), same)

    first, last = overfit(net, (images, labels), pairs_loss, steps=60, lr=3e-3, window=5)
    assert last < 0.6 * first


def test_pair_batch_labels():
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    i, j, same = pair_batch(labels, None, 20, torch.Generator().manual_seed(1))
    assert len(i) == len(j) == len(same) == 20
    assert torch.equal(labels[i] == labels[j], same.bool())
    assert (i != j).all()
    assert same.sum() == 10
    with pytest.raises(ValueError):
        pair_batch(torch.tensor([0, 1, 2]), None, 4)


def test_pair_batch_never_touches_held_out_classes_and_repeats_with_its_generator():
    labels = torch.arange(6).repeat(5)[torch.randperm(30, generator=torch.Generator().manual_seed(0))]
    train = [1, 3, 4]
    draw = lambda seed: pair_batch(labels, train, 33, torch.Generator().manual_seed(seed))  # noqa: E731
    i, j, same = draw(2)
    assert set(labels[i].tolist()) | set(labels[j].tolist()) <= set(train)
    assert same.sum() == 16 and torch.equal(labels[i] == labels[j], same.bool()) and (i != j).all()
    torch.manual_seed(123)  # the global stream plays no part
    assert all(torch.equal(a, b) for a, b in zip(draw(2), (i, j, same)))
    assert not torch.equal(draw(3)[0], i)
    with pytest.raises(ValueError, match="two classes"):
        pair_batch(labels, [2], 8)  # one training class cannot give a different pair


def test_n_way_tasks():
    labels = torch.arange(30).repeat_interleave(3)
    sup, q, ans = n_way_tasks(labels, 20, 50, seed=3)
    assert sup.shape == (50, 20) and q.shape == (50,) and ans.shape == (50,)
    for t in range(50):
        support_labels = labels[sup[t]]
        assert len(support_labels.unique()) == 20  # N different classes
        assert support_labels[ans[t]] == labels[q[t]]  # the answer is the query's class
        assert q[t] not in sup[t]  # the query is never its own support example
    with pytest.raises(ValueError, match="20-way"):
        n_way_tasks(torch.arange(10).repeat(2), 20, 5)


def test_accuracy():
    sim = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]])
    assert n_way_one_shot_accuracy(sim, torch.tensor([1, 1])) == 0.5
    with pytest.raises(ValueError):
        n_way_one_shot_accuracy(sim, torch.tensor([1]))


def test_split_by_script_never_shares_classes_or_scripts():
    from coursekit.data.glyphs import SCRIPTS, Glyphs

    test_scripts = ["georgian", "hebrew"]
    train_scripts = [s for s in SCRIPTS if s not in test_scripts and s != "digits"]
    everything = Glyphs(400, scripts=train_scripts + test_scripts, seed=0, distort=False)
    train_c, test_c = split_by_script(everything.class_scripts, test_scripts)
    assert set(train_c).isdisjoint(test_c)
    assert {everything.class_scripts[c] for c in test_c} == set(test_scripts)
    assert {everything.class_scripts[c] for c in train_c}.isdisjoint(test_scripts)
    # the notebook's way: pairs drawn with the training classes never show a test-script image
    i, j, _ = pair_batch(everything.labels, train_c, 64, torch.Generator().manual_seed(0))
    assert set(everything.labels[torch.cat([i, j])].tolist()).isdisjoint(test_c)
    with pytest.raises(ValueError, match="do not occur"):
        split_by_script(everything.class_scripts, ["klingon"])


def test_similarities_pick_identical_images():
    from coursekit.models.siamese import one_shot_similarity, pixel_similarity

    torch.manual_seed(0)
    images = torch.rand(10, 1, 32, 32)
    images[9] = images[3]  # the query (9) equals support example 3
    support = torch.tensor([[0, 3, 5]])
    query = torch.tensor([9])
    assert pixel_similarity(images, support, query).argmax(1).item() == 1
    net = siamese_teaching(32, 0.25)
    net.head.weight.data.fill_(-1.0)  # larger L1 distance -> less similar
    sim = one_shot_similarity(net, images, support, query)
    assert sim.shape == (1, 3) and sim.argmax(1).item() == 1
    assert net.training  # left in the mode it was in
