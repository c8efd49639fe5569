"""Hints in tiers, and no hint gives the answer's code.

Every hint a check can print is read from the check's source (the ``hint=`` arguments, the
positional hint of the ``expect*`` helpers and ``Mismatch``, and names assigned a hint). The
rules: each hint is a tier list from the concept to the specific (two tiers at least); no tier
contains a line of the solution notebook's answer, a call of a function the answer calls
(``softplus(``, ``roll(``), a method call (``.mean(``) or a library prefix (``F.``, ``torch.``,
``nn.``). And at run time the n-th failure of a check shows its n-th tier.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import pytest
import torch
from _solutions import all_checks, exercises

from coursekit.checks import _core

CHECKS = all_checks()
_POSITIONAL_HINT = {"expect": 2, "expect_equal": 3, "expect_shape": 3, "expect_close": 3, "Mismatch": 1}


def _strings(node: ast.AST) -> list[str]:
    """The text of a hint expression: a string, an f-string's fixed parts, or a tuple/list of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value for v in node.values if isinstance(v, ast.Constant))]
    if isinstance(node, ast.BinOp):
        return ["".join(_strings(node.left) + _strings(node.right))]
    return []


def hint_sites(check) -> list[ast.AST]:
    """Every expression in ``check``'s source that becomes a printed hint."""
    source = textwrap.dedent(inspect.getsource(inspect.unwrap(check)))
    sites = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            sites += [k.value for k in node.keywords if k.arg == "hint"]
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in _POSITIONAL_HINT and len(node.args) > _POSITIONAL_HINT[name]:
                sites.append(node.args[_POSITIONAL_HINT[name]])
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and "hint" in target.id:
                    sites.append(node.value)
    return sites


def tiers(site: ast.AST) -> list[str]:
    if isinstance(site, (ast.Tuple, ast.List)):
        if all(isinstance(e, (ast.Tuple, ast.List)) for e in site.elts):  # several hints, one per case
            return [s for e in site.elts for s in tiers(e)]
        return [s for e in site.elts for s in _strings(e)]
    return _strings(site)


def _is_tier_list(site: ast.AST) -> bool:
    if isinstance(site, (ast.Tuple, ast.List)):
        if all(isinstance(e, (ast.Tuple, ast.List)) for e in site.elts):
            return all(_is_tier_list(e) for e in site.elts)
        return len(site.elts) >= 2
    return isinstance(site, ast.Name)  # a name assigned a tier list, itself a site


def _solution(check_name: str) -> str:
    return "\n".join(e.solution for e in exercises() if e.check == check_name)


def giveaways(hint: str, solution: str) -> list[str]:
    found = [line for line in (s.strip() for s in solution.splitlines()) if len(line) >= 8 and line in hint]
    called = set(re.findall(r"([A-Za-z_]\w*)\s*\(", solution))
    found += [f"{name}(" for name in called if re.search(rf"(?<![\w]){re.escape(name)}\(", hint)]
    found += re.findall(r"\.\w+\(", hint)
    found += re.findall(r"(?<![\w])(?:F|torch|nn)\.\w+", hint)
    return found


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_hints_come_in_tiers_and_give_no_code(name):
    check = CHECKS[name]
    sites = hint_sites(check)
    assert sites, f"{name} has no hint"
    solution = _solution(name)
    assert solution, f"no solution notebook exercise uses {name}"
    for site in sites:
        assert _is_tier_list(site), f"{name}: a hint that is not a tier list: {ast.unparse(site)[:80]}"
        for hint in tiers(site):
            assert hint.strip(), name
            assert giveaways(hint, solution) == [], f"{name}: {hint!r}"


def test_the_code_rule_catches_the_old_hints():
    """The GAN hint before this rule printed the answer; the rule flags it."""
    old = "F.softplus(-real).mean() + F.softplus(fake).mean() (reals are labelled 1, fakes 0)"
    found = giveaways(old, _solution("check_discriminator_loss"))
    assert "softplus(" in found and ".mean(" in found and "F.softplus" in found


def test_the_nth_failure_shows_the_nth_tier():
    @_core.exercise("tiers demo", answer=("coursekit.models.style.losses.gram_matrix",))
    def check(fn):
        _core.expect_close(fn(torch.ones(2)), torch.full((2,), 2.0), "double(x)",
                           hint=("the concept", "more specific", "most specific"))

    _core._FAILURES.pop("tiers demo", None)
    shown = [check(lambda x: x, quiet=True).hint for _ in range(4)]
    assert shown == ["the concept", "more specific", "most specific", "most specific"]
    assert check(lambda x: 2 * x, quiet=True).passed


def test_a_real_check_gets_more_specific():
    from coursekit.checks.gan import check_discriminator_loss

    _core._FAILURES.pop(check_discriminator_loss.exercise_name, None)
    wrong = lambda real, fake: (real - fake).mean()
    first, second = (check_discriminator_loss(wrong, quiet=True).hint for _ in range(2))
    assert first != second and first and second
