"""Exercise checks for notebook 4.4 (gray-box learning, after Hu et al., "Exposure", SIGGRAPH 2018):
the white-balance filter and the exact inverse of a hidden edit."""

from __future__ import annotations

import math

import torch

from ._core import check_seed, exercise, expect, expect_close, expect_shape

__all__ = ["check_inverse_parameters", "check_white_balance"]


def _wb_reference(img, log_ratios):
    from ..models.exposure.filters import white_balance

    return white_balance(img, log_ratios)


@exercise("the white-balance filter", answer=("coursekit.models.exposure.filters.white_balance", "coursekit.checks.exposure._wb_reference"))
def check_white_balance(student_fn):
    img, lr = torch.rand(3, 3, 4, 5), torch.rand(3, 2) - 0.5
    got = student_fn(img, lr)
    expect_shape(got, (3, 3, 4, 5), "white-balanced images", hint=(
        "white balance multiplies each channel by its own gain",
        "the output has the shape of the input image",
    ))
    grey = torch.full((1, 3, 2, 2), 0.5)
    expect_close(
        student_fn(grey, torch.zeros(1, 2)),
        grey,
        "log ratios of zero should leave the image unchanged",
        hint=(
            "zero log ratios must leave the image unchanged",
            "the gains (1, eᵃ, eᵇ) are divided by their luminance 0.27·1 + 0.67·eᵃ + 0.06·eᵇ",
        ),
    )
    expect_close(
        got,
        _wb_reference(img, lr),
        "white balance with random log ratios",
        hint=(
            "the filter changes the colour but not the brightness",
            "divide the gains (1, eᵃ, eᵇ) by 0.27·1 + 0.67·eᵃ + 0.06·eᵇ, per image",
        ),
    )


# --- the inverse of a hidden edit ---------------------------------------------------------------
_KEYS = ("gamma", "white_balance", "exposure")


def _edit(n: int, generator: torch.Generator, *, wb: bool = True, ev: bool = True, gamma: bool = True) -> dict:
    """Random hidden edits (the notebook's ranges); a switched-off part is the identity."""
    u = lambda *shape: torch.rand(*shape, generator=generator)  # noqa: E731
    return {
        "white_balance": (u(n, 2) * 2 - 1) * 0.35 * wb,
        "exposure": (-1.5 + 2.0 * u(n)) * ev,
        "gamma": torch.exp(math.log(0.36) + math.log(2.8 / 0.36) * u(n)) if gamma else torch.ones(n),
    }


def _undo(img: torch.Tensor, params: dict) -> torch.Tensor:
    from ..models.exposure.filters import apply_filters

    return apply_filters(img, params, ["gamma", "white_balance", "exposure"])


@exercise("the exact inverse of a hidden edit", answer=("coursekit.models.exposure.filters.inverse_parameters",))
def check_inverse_parameters(student_fn):
    from ..models.exposure.filters import apply_filters, inverse_parameters

    g = torch.Generator().manual_seed(check_seed())
    n = 6
    edit = _edit(n, g)
    got = student_fn({k: v.clone() for k, v in edit.items()})
    keys_hint = (
        "return a dict with one entry per filter of the network: gamma, white balance and exposure",
        "the keys are 'gamma', 'white_balance' and 'exposure', with the shapes of the hidden edit's "
        "entries: (B,), (B, 2) and (B,)",
    )
    expect(isinstance(got, dict) and set(got) == set(_KEYS),
           f"expected a dict with keys {sorted(_KEYS)}, got "
           f"{sorted(got) if isinstance(got, dict) else type(got).__name__}", keys_hint)
    for key, shape in (("gamma", (n,)), ("white_balance", (n, 2)), ("exposure", (n,))):
        expect_shape(got[key], shape, f"inverse {key} for {n} edits", keys_hint)

    only_gamma = _edit(n, g, wb=False, ev=False)
    expect_close(
        student_fn(only_gamma)["gamma"], 1 / only_gamma["gamma"], "inverse gamma of an edit that is only a gamma",
        hint=(
            "the hidden edit applies gamma last, so the inverse applies its gamma first: it must undo x ↦ x^γ",
            "raising to the power γ is undone by raising to the power 1/γ",
        ),
    )
    only_ev = _edit(n, g, wb=False, gamma=False)
    out = student_fn(only_ev)
    expect_close(out["exposure"], -only_ev["exposure"], "inverse exposure of an edit that is only an exposure change",
                 hint=(
                     "an exposure of EV stops multiplies the image by 2^EV",
                     "the factor 2^EV is undone by 2^(−EV); with no white balance there is nothing to correct",
                 ), atol=1e-4)
    expect_close(out["white_balance"], torch.zeros(n, 2), "inverse white balance of an edit without a colour cast",
                 hint=(
                     "an edit without white balance needs no white balance to undo it",
                     "log ratios of zero are the identity",
                 ), atol=1e-6)
    only_wb = _edit(n, g, ev=False, gamma=False)
    out = student_fn(only_wb)
    expect_close(out["white_balance"], -only_wb["white_balance"], "inverse white-balance log ratios",
                 hint=(
                     "the gains (1, eᵃ, eᵇ) are undone channel by channel by their reciprocals",
                     "the reciprocal of eᵃ is e^(−a): negate both log ratios",
                 ))
    expect_close(
        out["exposure"], inverse_parameters(only_wb)["exposure"],
        "inverse exposure of an edit that is only a white balance (it should not be 0)",
        hint=(
            "apply the white balance and then your inverse white balance to a grey pixel: is its brightness "
            "back? Both gain sets are divided by their own luminance, and the two divisions do not cancel",
            "the product of the gains of (a, b) and of (−a, −b) is the same constant on all three channels: "
            "1 / (L(a, b) · L(−a, −b)), with L the luminance of the unnormalised gains (1, eᵃ, eᵇ)",
            "the exposure filter must multiply by L(a, b) · L(−a, −b), that is 2 to the power log₂ of it, "
            "on top of undoing the hidden exposure",
        ),
        atol=1e-4,
    )
    expect_close(
        got["exposure"], inverse_parameters(edit)["exposure"], "inverse exposure of full edits (all three filters)",
        hint=(
            "the gamma is undone first, so the exposure that remains to undo is the hidden EV, as if there were no gamma",
            "add the two corrections: undo the hidden EV, and make up for the two luminance normalisations",
        ),
        atol=1e-4,
    )
    expect_close(got["gamma"], 1 / edit["gamma"], "inverse gamma of full edits",
                 hint=("gamma is undone first, whatever the other filters did", "1/γ, per image"))
    x = torch.rand(n, 3, 5, 5, generator=g) * 0.5 + 0.2
    y = apply_filters(x, edit, ["white_balance", "exposure", "gamma"])
    z = _undo(y, got)
    kept = y > 2e-3  # the gamma filter floors its input at 0.001: darker pixels cannot come back
    expect_close(z[kept], x[kept], "photos edited and then restored with your parameters", hint=(
        "the network applies gamma, then white balance, then exposure: your parameters must undo the edit in that order",
        "check each parameter alone with the edits of the cells above",
    ), rtol=1e-3, atol=1e-4)
