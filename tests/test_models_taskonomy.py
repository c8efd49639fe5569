import pytest
import torch
from _overfit import overfit

from coursekit.data.intrinsic import make_scenes
from coursekit.models.taskonomy import TASKS, TaskEncoder, TaskNet, task_loss, task_target, transfer_gain


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(8, 16, seed=0)


@pytest.mark.parametrize("task", list(TASKS))
def test_shapes_and_loss_for_every_task(task, scenes):
    net = TaskNet(task, width=0.25)
    out = net(scenes["image"])
    target = task_target(scenes, task)
    assert out.shape == target.shape
    loss = net.loss(scenes)
    assert loss.dim() == 0 and torch.isfinite(loss)
    pred = net.eval().predict(scenes["image"])
    assert pred.min() >= (-1 if task == "normals" else 0) and pred.max() <= 1


def test_representation_shape():
    enc = TaskEncoder(3, (8, 16), rep_channels=8)
    assert enc(torch.rand(2, 3, 32, 32)).shape == (2, 8, 8, 8)  # 1/4 of the side, as Taskonomy's 16/256 x 4
    with pytest.raises(ValueError, match="multiples of 4"):
        enc(torch.rand(2, 3, 30, 30))


def test_frozen_encoder_gets_no_gradient_and_keeps_its_statistics(scenes):
    source = TaskNet("depth", width=0.25)
    source(scenes["image"])  # one training-mode pass updates batch-norm statistics
    enc = source.encoder
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    readout = TaskNet("normals", enc, width=0.25, freeze_encoder=True).train()
    assert not enc.training
    readout.loss(scenes).backward()
    assert all(p.grad is None for p in enc.parameters())
    assert any(p.grad is not None for p in readout.decoder.parameters())
    after = enc.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_overfits_a_batch(scenes):
    torch.manual_seed(0)
    net = TaskNet("shading", width=0.25)
    first, last = overfit(net, scenes, lambda net, scenes: net.loss(scenes), lr=3e-3)
    assert last < 0.6 * first


def test_task_loss_kinds():
    t = torch.rand(2, 1, 4, 4)
    assert torch.allclose(task_loss("depth", t + 0.5, t), torch.tensor(0.5))
    logits = torch.zeros(2, 1, 4, 4)
    assert torch.allclose(task_loss("edges", logits, t), torch.log(torch.tensor(2.0)))
    with pytest.raises(ValueError, match="same shape"):
        task_loss("depth", t, t[:1])
    with pytest.raises(ValueError, match="unknown task"):
        task_loss("sentiment", t, t)


def test_transfer_gain():
    transfer = torch.tensor([[0.5, 2.0], [1.0, 1.0]])
    scratch = torch.tensor([1.0, 1.0])
    assert torch.allclose(transfer_gain(transfer, scratch), torch.tensor([[0.5, -1.0], [0.0, 0.0]]))
    with pytest.raises(ValueError):
        transfer_gain(transfer, torch.ones(3))


def test_angular_error():
    from coursekit.models.taskonomy import angular_error

    n = torch.zeros(1, 3, 2, 2)
    n[:, 2] = 1
    assert angular_error(3 * n, n).item() < 1e-3  # scale does not matter
    m = torch.zeros(1, 3, 2, 2)
    m[:, 0] = 1
    assert abs(angular_error(m, n).item() - 90) < 1e-4
    with pytest.raises(ValueError):
        angular_error(m[:, :2], n[:, :2])


def test_ahp_affinity_orders_sources_and_matches_the_eigenvector():
    from coursekit.checks.features import _ahp_affinity
    from coursekit.models.taskonomy import ahp_affinity

    g = torch.Generator().manual_seed(0)
    losses = torch.rand(5, 200, generator=g) + torch.linspace(0, 0.8, 5)[:, None]
    a = ahp_affinity(losses)
    assert a.shape == (5,) and abs(a.sum().item() - 1) < 1e-5
    assert torch.equal(a.argsort(descending=True), torch.arange(5))  # lower losses, higher affinity
    assert torch.allclose(a, _ahp_affinity(losses), atol=1e-4)
    # only orderings count: a monotone change of every loss leaves the affinities unchanged
    assert torch.allclose(ahp_affinity(losses.exp() * 10), a, atol=1e-6)
    with pytest.raises(ValueError, match="at least 2 sources"):
        ahp_affinity(torch.rand(1, 10))


def test_task_loss_per_image_averages_to_the_batch_loss():
    pred, target = torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4)
    per_image = task_loss("depth", pred, target, per_image=True)
    assert per_image.shape == (3,)
    assert torch.allclose(per_image.mean(), task_loss("depth", pred, target))
