"""4.4's checks (coursekit.checks.exposure): the reference passes, realistic wrong answers fail with a
hint, a stub is 'not done', and the course's own inverse handed in directly is refused."""

import math

import pytest
import torch
from _solutions import solution_function  # the solution notebook's answers

from coursekit.checks import exposure as C
from coursekit.models import exposure as X


def _not_done(*args, **kwargs):
    raise NotImplementedError()


def _lum(log_ratios):
    """Luminance of the unnormalised gains (1, e^a, e^b), written without coursekit."""
    return 0.27 + 0.67 * log_ratios[:, 0].exp() + 0.06 * log_ratios[:, 1].exp()


def inverse_right(d):
    """A right answer, written differently from coursekit's."""
    w = d["white_balance"]
    return {"gamma": d["gamma"].reciprocal(), "white_balance": w.neg(),
            "exposure": torch.log2(_lum(w)) + torch.log2(_lum(-w)) - d["exposure"]}


# --- realistic wrong answers ------------------------------------------------------------------
def forgets_the_normalisation(d):  # the most likely mistake: EV' = -EV
    return {"gamma": 1 / d["gamma"], "white_balance": -d["white_balance"], "exposure": -d["exposure"]}


def normalisation_with_the_wrong_sign(d):
    w = d["white_balance"]
    return {"gamma": 1 / d["gamma"], "white_balance": -w, "exposure": -d["exposure"] - torch.log2(_lum(w) * _lum(-w))}


def only_one_normalisation(d):
    w = d["white_balance"]
    return {"gamma": 1 / d["gamma"], "white_balance": -w, "exposure": -d["exposure"] + torch.log2(_lum(w))}


def natural_log(d):
    w = d["white_balance"]
    return {"gamma": 1 / d["gamma"], "white_balance": -w, "exposure": -d["exposure"] + torch.log(_lum(w) * _lum(-w))}


def gamma_not_inverted(d):
    return {**inverse_right(d), "gamma": d["gamma"]}


def gamma_negated(d):
    return {**inverse_right(d), "gamma": -d["gamma"]}


def white_balance_kept(d):
    return {**inverse_right(d), "white_balance": d["white_balance"]}


def exposure_scaled_by_gamma(d):  # undoing the exposure as if it came after the gamma
    right = inverse_right(d)
    return {**right, "exposure": right["exposure"] - d["exposure"] * (d["gamma"] - 1)}


def wrong_keys(d):
    right = inverse_right(d)
    return {"gamma": right["gamma"], "wb": right["white_balance"], "ev": right["exposure"]}


def as_a_tuple(d):
    right = inverse_right(d)
    return right["gamma"], right["white_balance"], right["exposure"]


INVERSE_WRONG = [forgets_the_normalisation, normalisation_with_the_wrong_sign, only_one_normalisation, natural_log,
                 gamma_not_inverted, gamma_negated, white_balance_kept, exposure_scaled_by_gamma, wrong_keys,
                 as_a_tuple]


def wb_without_normalisation(img, lr):
    return img * torch.cat([torch.ones(len(lr), 1), lr.exp()], 1)[:, :, None, None]


def wb_normalised_by_the_mean(img, lr):
    gains = torch.cat([torch.ones(len(lr), 1), lr.exp()], 1)
    return img * (gains / gains.mean(1, keepdim=True))[:, :, None, None]


def wb_gains_not_exponentiated(img, lr):
    gains = torch.cat([torch.ones(len(lr), 1), lr], 1)
    return img * (gains / (0.27 * gains[:, :1] + 0.67 * gains[:, 1:2] + 0.06 * gains[:, 2:]))[:, :, None, None]


CASES = {
    "inverse_parameters": (C.check_inverse_parameters, inverse_right, INVERSE_WRONG),
    "white_balance": (C.check_white_balance, None, [wb_without_normalisation, wb_normalised_by_the_mean,
                                                    wb_gains_not_exponentiated]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_reference_passes(name):
    check, right, _ = CASES[name]
    for fn in [right, solution_function(check.__name__)]:
        if fn is not None:
            result = check(fn, quiet=True)
            assert result.status == "passed", result


@pytest.mark.parametrize("name", list(CASES))
def test_wrong_answers_fail_with_hint(name):
    check, _, wrongs = CASES[name]
    for wrong in wrongs:
        result = check(wrong, quiet=True)
        assert result.status == "failed", (wrong.__name__, result)
        assert result.hint, wrong.__name__


@pytest.mark.parametrize("name", list(CASES))
def test_not_done(name):
    check, _, _ = CASES[name]
    assert check(_not_done, quiet=True).status == "not done"


def test_the_course_inverse_handed_in_is_refused():
    result = C.check_inverse_parameters(X.inverse_parameters, quiet=True)
    assert result.status == "failed" and "is off while the check runs" in result.message, result


def test_the_missing_normalisation_is_what_the_hint_names():
    """Forgetting the luminance normalisation fails on the white-balance-only edit, and its hints
    (one per failure) speak of the normalisation, not of gamma."""
    from coursekit.checks import _core

    _core._FAILURES.pop(C.check_inverse_parameters.exercise_name, None)  # start again at the first tier
    hints = [C.check_inverse_parameters(forgets_the_normalisation, quiet=True) for _ in range(3)]
    assert all("white balance" in r.message for r in hints), hints[0]
    assert any("luminance" in r.hint for r in hints)


def test_inverse_restores_photos_and_stays_in_range():
    """The inverse is exact where the edit clipped nothing, and within the filters' ranges (so the
    network can express it)."""
    from coursekit.data.exposure import random_degradation

    d = random_degradation(512, torch.Generator().manual_seed(3))
    inv = X.inverse_parameters(d)
    for name in ("gamma", "white_balance", "exposure"):
        lo, hi = X.FILTERS[name]["range"]
        assert lo <= inv[name].min() and inv[name].max() <= hi
    assert math.isclose(float(inv["gamma"].max()), float(1 / d["gamma"].min()), rel_tol=1e-6)
