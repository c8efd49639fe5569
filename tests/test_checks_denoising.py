"""1.7's check (coursekit.checks.denoising): a right answer passes, realistic wrong answers fail with
a hint, a stub is 'not done', and the course's own loss handed in (or called) is refused. Also the
loader of the shipped DnCNN weights: a corrupt or missing file is a clear error."""

import json
import shutil

import pytest
import torch
from _solutions import solution_function  # the solution notebook's answers

from coursekit.checks import denoising as C
from coursekit.models import denoise as D


def _not_done(*args, **kwargs):
    raise NotImplementedError()


def right(net, clean, sigmas):
    """A right answer, written differently from coursekit's."""
    idx = torch.randint(0, sigmas.numel(), (clean.shape[0], 1, 1, 1))
    noise = torch.randn_like(clean) * sigmas[idx]
    noisy = clean + noise
    err = net.residual(noisy) - noise
    return (err**2).sum() / (2 * clean.shape[0])


def right_through_forward(net, clean, sigmas):
    """Comparing net(y) = y - R(y) with the clean crop is the same loss."""
    s = sigmas[torch.randint(len(sigmas), (len(clean),))].view(-1, 1, 1, 1)
    y = clean + s * torch.randn(clean.shape)
    return 0.5 * ((net(y) - clean) ** 2).sum((1, 2, 3)).mean()


def _noisy(clean, sigmas):
    s = sigmas[torch.randint(len(sigmas), (len(clean),))].view(-1, 1, 1, 1)
    return clean + s * torch.randn_like(clean)


# --- realistic wrong answers ------------------------------------------------------------------
def predicts_the_clean_image(net, clean, sigmas):
    y = _noisy(clean, sigmas)
    return 0.5 * ((net.residual(y) - clean) ** 2).flatten(1).sum(1).mean()


def one_sigma_per_batch(net, clean, sigmas):
    s = sigmas[torch.randint(len(sigmas), (1,))]
    y = clean + s * torch.randn_like(clean)
    return 0.5 * ((net.residual(y) - (y - clean)) ** 2).flatten(1).sum(1).mean()


def mean_over_pixels(net, clean, sigmas):  # the usual MSE, not the paper's 1/(2N) sum
    y = _noisy(clean, sigmas)
    return ((net.residual(y) - (y - clean)) ** 2).mean()


def no_half(net, clean, sigmas):
    y = _noisy(clean, sigmas)
    return ((net.residual(y) - (y - clean)) ** 2).flatten(1).sum(1).mean()


def summed_not_averaged(net, clean, sigmas):
    y = _noisy(clean, sigmas)
    return 0.5 * ((net.residual(y) - (y - clean)) ** 2).sum()


_FROZEN = {}


def noise_not_resampled(net, clean, sigmas):  # the noise drawn once and reused at every step
    if "noise" not in _FROZEN:
        _FROZEN["noise"] = torch.randn_like(clean)
        _FROZEN["s"] = sigmas[torch.randint(len(sigmas), (len(clean),))].view(-1, 1, 1, 1)
    y = clean + _FROZEN["s"] * _FROZEN["noise"]
    return 0.5 * ((net.residual(y) - (y - clean)) ** 2).flatten(1).sum(1).mean()


def fixed_seed_inside(net, clean, sigmas):  # reseeding in the function repeats the same noise
    g = torch.Generator().manual_seed(0)
    s = sigmas[torch.randint(len(sigmas), (len(clean),), generator=g)].view(-1, 1, 1, 1)
    y = clean + s * torch.randn(clean.shape, generator=g)
    return 0.5 * ((net.residual(y) - (y - clean)) ** 2).flatten(1).sum(1).mean()


def levels_fixed_by_position(net, clean, sigmas):  # crop i always gets level i mod 3
    s = sigmas[torch.arange(len(clean)) % len(sigmas)].view(-1, 1, 1, 1)
    y = clean + s * torch.randn_like(clean)
    return 0.5 * ((net.residual(y) - (y - clean)) ** 2).flatten(1).sum(1).mean()


def uniform_noise(net, clean, sigmas):
    s = sigmas[torch.randint(len(sigmas), (len(clean),))].view(-1, 1, 1, 1)
    y = clean + s * (torch.rand_like(clean) - 0.5) * 12**0.5
    return 0.5 * ((net.residual(y) - (y - clean)) ** 2).flatten(1).sum(1).mean()


def sigma_range_not_list(net, clean, sigmas):  # a level from the continuous range [min, max]
    s = sigmas.min() + (sigmas.max() - sigmas.min()) * torch.rand(len(clean), 1, 1, 1)
    y = clean + s * torch.randn_like(clean)
    return 0.5 * ((net.residual(y) - (y - clean)) ** 2).flatten(1).sum(1).mean()


def divides_by_255_again(net, clean, sigmas):
    return right(net, clean, sigmas / 255)


def variance_not_std(net, clean, sigmas):
    return right(net, clean, sigmas**2)


def only_the_first_two_levels(net, clean, sigmas):
    return right(net, clean, sigmas[:2])


def detached_prediction(net, clean, sigmas):
    y = _noisy(clean, sigmas)
    return 0.5 * ((net.residual(y).detach() - (y - clean)) ** 2).flatten(1).sum(1).mean()


def per_crop_losses(net, clean, sigmas):
    y = _noisy(clean, sigmas)
    return 0.5 * ((net.residual(y) - (y - clean)) ** 2).flatten(1).sum(1)


def uses_the_course_loss(net, clean, sigmas):
    return D.blind_residual_loss(net, clean, sigmas)


WRONG = [predicts_the_clean_image, one_sigma_per_batch, mean_over_pixels, no_half, summed_not_averaged,
         noise_not_resampled, fixed_seed_inside, levels_fixed_by_position, uniform_noise, sigma_range_not_list,
         divides_by_255_again, variance_not_std, only_the_first_two_levels, detached_prediction, per_crop_losses]


@pytest.mark.parametrize("fn", [right, right_through_forward], ids=lambda f: f.__name__)
def test_right_answers_pass(fn):
    result = C.check_blind_residual_loss(fn, quiet=True)
    assert result.status == "passed", result


def test_solution_notebook_answer_passes():
    result = C.check_blind_residual_loss(solution_function("check_blind_residual_loss"), quiet=True)
    assert result.status == "passed", result


def test_passes_for_many_seeds():
    """The statistical tests (levels, Gaussian tails) do not fail a right answer by chance."""
    for seed in range(30):
        torch.manual_seed(seed)
        result = C.check_blind_residual_loss(right, quiet=True)
        assert result.status == "passed", (seed, result)


@pytest.mark.parametrize("wrong", WRONG, ids=lambda f: f.__name__)
def test_wrong_answers_fail_with_hint(wrong):
    _FROZEN.clear()
    result = C.check_blind_residual_loss(wrong, quiet=True)
    assert result.status == "failed", (wrong.__name__, result)
    assert result.hint, wrong.__name__


def test_not_done():
    assert C.check_blind_residual_loss(_not_done, quiet=True).status == "not done"


def test_the_course_loss_is_refused():
    for fn in (D.blind_residual_loss, uses_the_course_loss):
        result = C.check_blind_residual_loss(fn, quiet=True)
        assert result.status == "failed" and "is off while the check runs" in result.message, result


def test_the_check_leaves_the_global_rng_alone():
    torch.manual_seed(5)
    before = torch.rand(3)
    torch.manual_seed(5)
    C.check_blind_residual_loss(right, quiet=True)
    assert torch.equal(torch.rand(3), before)


# --- the shipped weights --------------------------------------------------------------------------
def test_shipped_weights_load_with_the_recorded_architecture():
    model, meta = D.load_course_dncnn()
    arch = meta["architecture"]
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == arch["depth"] and convs[0].out_channels == arch["channels"]
    assert sum(p.numel() for p in model.parameters()) == arch["parameters"]
    assert not model.training
    assert meta["training"]["data"]["photos"] == __import__("coursekit.data.photos", fromlist=["x"]).names("train")
    y = torch.rand(1, 1, 24, 24)
    with torch.no_grad():
        assert model(y).shape == y.shape


def _copy(tmp_path):
    for suffix in (".pt", ".json"):
        shutil.copy(D.COURSE_WEIGHTS / f"dncnn_blind{suffix}", tmp_path / f"dncnn_blind{suffix}")
    return tmp_path


def test_a_corrupt_file_is_a_clear_error(tmp_path):
    folder = _copy(tmp_path)
    data = bytearray((folder / "dncnn_blind.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "dncnn_blind.pt").write_bytes(bytes(data))
    with pytest.raises(D.CourseWeightsError, match="corrupt.*tools.train_dncnn"):
        D.load_course_dncnn(folder=folder)


def test_a_missing_file_is_a_clear_error(tmp_path):
    folder = _copy(tmp_path)
    (folder / "dncnn_blind.pt").unlink()
    with pytest.raises(D.CourseWeightsError, match="missing.*tools.train_dncnn"):
        D.load_course_dncnn(folder=folder)


def test_a_manifest_with_the_wrong_architecture_is_a_clear_error(tmp_path):
    folder = _copy(tmp_path)
    meta = json.loads((folder / "dncnn_blind.json").read_text())
    meta["architecture"]["depth"] += 1
    (folder / "dncnn_blind.json").write_text(json.dumps(meta))
    with pytest.raises(D.CourseWeightsError, match="does not fit"):
        D.load_course_dncnn(folder=folder)
