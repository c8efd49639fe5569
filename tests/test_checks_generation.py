"""The exercise checks of notebooks 3.5–3.7: the reference passes, realistic mistakes fail with a hint."""

import torch
from _solutions import solution_function  # the solution notebooks' answers
from torch.nn import functional as F

from coursekit.analysis.disentanglement import mig_from_mi
from coursekit.checks.generation import (
    check_beta_vae_loss,
    check_conditioning_augmentation,
    check_fade_in,
    check_matching_aware_d_loss,
    check_mig_from_mi,
    check_minibatch_stddev,
    check_pixel_norm,
)
from coursekit.losses import kl_divergence
from coursekit.models.disentangle import beta_vae_loss
from coursekit.models.progan import MinibatchStdDev, PixelNorm, fade_in
from coursekit.models.stackgan import matching_aware_d_loss


def not_done(*args):
    raise NotImplementedError()


def assert_fails(check, fn):
    r = check(fn, quiet=True)
    assert r.status == "failed", r
    assert r.hint


def test_not_done_everywhere():
    for check in (
        check_fade_in,
        check_pixel_norm,
        check_minibatch_stddev,
        check_conditioning_augmentation,
        check_matching_aware_d_loss,
        check_beta_vae_loss,
        check_mig_from_mi,
    ):
        assert check(not_done, quiet=True).status == "not done"


def test_fade_in():
    assert check_fade_in(solution_function("check_fade_in"), quiet=True)
    assert not check_fade_in(fade_in, quiet=True)  # the course's own is off
    assert_fails(check_fade_in, lambda a, old, new: a * old + (1 - a) * new)  # swapped


def test_pixel_norm():
    assert check_pixel_norm(solution_function("check_pixel_norm"), quiet=True)
    assert not check_pixel_norm(lambda x: PixelNorm()(x), quiet=True)
    assert_fails(check_pixel_norm, lambda x: x / x.norm(dim=1, keepdim=True))  # norm, not RMS
    assert_fails(check_pixel_norm, lambda x: x / x.pow(2).mean().sqrt())  # over everything


def test_minibatch_stddev():
    assert check_minibatch_stddev(solution_function("check_minibatch_stddev"), quiet=True)
    assert not check_minibatch_stddev(lambda x, g: MinibatchStdDev(g)(x), quiet=True)

    def contiguous_groups(x, g):
        b, c, h, w = x.shape
        y = x.reshape(b // g, g, c, h, w).std(1, unbiased=False).mean((1, 2, 3))
        return torch.cat([x, y.repeat_interleave(g)[:, None, None, None].expand(b, 1, h, w)], 1)

    def whole_batch(x, g):
        b, c, h, w = x.shape
        s = x.std(0, unbiased=False).mean()
        return torch.cat([x, s.expand(b, 1, h, w)], 1)

    assert_fails(check_minibatch_stddev, contiguous_groups)
    assert_fails(check_minibatch_stddev, whole_batch)
    assert_fails(check_minibatch_stddev, lambda x, g: x)  # forgot to append


def test_conditioning_augmentation():
    assert check_conditioning_augmentation(
        lambda mu, lv, eps: (mu + torch.exp(0.5 * lv) * eps, (-0.5 * (1 + lv - mu**2 - lv.exp())).mean()),
        quiet=True,
    )
    assert not check_conditioning_augmentation(  # the course's KL is off while the check runs
        lambda mu, lv, eps: (mu + torch.exp(0.5 * lv) * eps, kl_divergence(mu, lv, reduction="mean")), quiet=True
    )
    assert_fails(
        check_conditioning_augmentation, lambda mu, lv, eps: (mu + torch.exp(lv) * eps, kl_divergence(mu, lv, reduction="mean"))
    )  # σ² for σ
    assert_fails(
        check_conditioning_augmentation,
        lambda mu, lv, eps: (
            mu + torch.exp(0.5 * lv) * eps,
            (-0.5 * (1 + lv - mu**2 - lv.exp())).sum(1).mean(),
        ),
    )  # sum over dims
    assert_fails(check_conditioning_augmentation, lambda mu, lv, eps: mu)  # not a tuple


def test_matching_aware_d_loss():
    assert check_matching_aware_d_loss(solution_function("check_matching_aware_d_loss"), quiet=True)
    assert not check_matching_aware_d_loss(matching_aware_d_loss, quiet=True)

    def no_half(r, w, f):
        return F.softplus(-r).mean() + F.softplus(w).mean() + F.softplus(f).mean()

    def wrong_is_real(r, w, f):
        return F.softplus(-r).mean() + 0.5 * (F.softplus(-w).mean() + F.softplus(f).mean())

    assert_fails(check_matching_aware_d_loss, no_half)
    assert_fails(check_matching_aware_d_loss, wrong_is_real)


def test_beta_vae_loss():
    assert check_beta_vae_loss(solution_function("check_beta_vae_loss"), quiet=True)
    assert not check_beta_vae_loss(lambda lg, x, mu, lv, b: beta_vae_loss(lg, x, mu, lv, b)["loss"], quiet=True)

    def mean_recon(lg, x, mu, lv, b):
        kl = (-0.5 * (1 + lv - mu**2 - lv.exp())).sum(1).mean()
        return F.binary_cross_entropy_with_logits(lg, x) + b * kl

    def no_beta(lg, x, mu, lv, b):
        return beta_vae_loss(lg, x, mu, lv, 1.0)["loss"]

    assert_fails(check_beta_vae_loss, mean_recon)
    assert_fails(check_beta_vae_loss, no_beta)


def test_mig_from_mi():
    assert check_mig_from_mi(solution_function("check_mig_from_mi"), quiet=True)
    assert not check_mig_from_mi(mig_from_mi, quiet=True)

    def no_entropy(mi, ent):
        t = mi.sort(0, descending=True).values
        return (t[0] - t[1]).mean()

    def best_minus_worst(mi, ent):
        return ((mi.max(0).values - mi.min(0).values) / ent).mean()

    assert_fails(check_mig_from_mi, no_entropy)
    assert_fails(check_mig_from_mi, best_minus_worst)
