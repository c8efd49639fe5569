"""Each GAN exercise check passes the reference, fails realistic mistakes with a hint, and reports
NotImplementedError as "not done"."""

import pytest
import torch
import torch.nn.functional as F
from _solutions import solution_function  # the solution notebooks' answers

from coursekit.checks import gan


def _todo(*args):
    raise NotImplementedError()


def _patch_size_wrong(size, n_layers):  # forgets the two stride-1 convolutions
    return size // 2**n_layers


def _patch_size(size, n_layers):
    for _ in range(n_layers):
        size = (size + 2 - 4) // 2 + 1  # kernel 4, stride 2, padding 1
    return size - 2  # two stride-1 convolutions (kernel 4, padding 1) each lose one pixel


CASES = {
    gan.check_discriminator_loss: (
        lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(),
        [
            lambda r, f: F.softplus(r).mean() + F.softplus(-f).mean(),  # labels swapped
            lambda r, f: -(torch.log(r) + torch.log(1 - f)).mean(),
        ],  # treats logits as probabilities
    ),
    gan.check_nonsaturating_g_loss: (
        lambda f: F.softplus(-f).mean(),
        [lambda f: -F.softplus(f).mean()],  # the saturating form
    ),
    gan.check_patch_output_size: (
        _patch_size,
        [_patch_size_wrong],
    ),
    gan.check_pix2pix_g_loss: (
        lambda lg, fake, tgt, lam: F.softplus(-lg).mean() + lam * (fake - tgt).abs().mean(),
        [
            lambda lg, fake, tgt, lam: (
                lam * F.softplus(-lg).mean() + (fake - tgt).abs().mean()
            ),  # λ on the wrong term
            lambda lg, fake, tgt, lam: F.softplus(-lg).mean() + lam * ((fake - tgt) ** 2).mean(),
        ],  # L2
    ),
    gan.check_cycle_loss: (
        lambda x, rec: (rec - x).abs().mean(),
        [lambda x, rec: ((rec - x) ** 2).mean()],
    ),
    gan.check_lsgan_d_loss: (
        lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean(),
        [
            lambda r, f: 0.5 * (r**2).mean() + 0.5 * ((f - 1) ** 2).mean(),  # targets swapped
            lambda r, f: 0.5 * ((torch.sigmoid(r) - 1) ** 2).mean() + 0.5 * (torch.sigmoid(f) ** 2).mean(),
        ],
    ),
    gan.check_reparameterize: (
        lambda mu, logvar, eps: mu + eps * torch.exp(0.5 * logvar),
        [
            lambda mu, logvar, eps: mu + eps * logvar,  # logvar used as σ
            lambda mu, logvar, eps: mu + eps * logvar.exp(),  # σ² used as σ
            lambda mu, logvar, eps: (mu + eps * torch.exp(0.5 * logvar)).detach(),
        ],  # no gradient
    ),
    gan.check_kl_divergence: (
        lambda mu, lv: (-0.5 * (1 + lv - mu**2 - lv.exp()).sum(1)).mean(),
        [
            lambda mu, lv: (-0.5 * (1 + lv - mu**2 - lv.exp())).mean(),  # mean over the code, not sum
            lambda mu, lv: (0.5 * (1 + lv - mu**2 - lv.exp()).sum(1)).mean(),
        ],  # sign
    ),
}


@pytest.mark.parametrize("check", list(CASES), ids=lambda c: c.__name__)
def test_check(check):
    reference, wrongs = CASES[check]
    assert check(reference, quiet=True).status == "passed"
    assert check(solution_function(check.__name__), quiet=True).status == "passed"
    for wrong in wrongs:
        result = check(wrong, quiet=True)
        assert result.status == "failed", (check.__name__, result)
        assert result.hint
    assert check(_todo, quiet=True).status == "not done"


def test_checks_print_a_line(capsys):
    gan.check_cycle_loss(lambda x, rec: (rec - x).abs().mean())
    assert "✅" in capsys.readouterr().out
