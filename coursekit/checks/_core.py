"""The exercise-check mechanism shared by every notebook.

A check runs the student's function against the reference on fresh random inputs and prints
one clear line: a pass, "not done yet", or what is wrong with a hint. It never raises, so the
rest of the notebook always runs (later cells use ``coursekit``'s own implementation).

Writing a check::

    @exercise("output size of a convolution")
    def check_conv_output_size(student_fn):
        for case in cases:
            expect_equal(student_fn(**case), reference(**case), f"conv_output_size({case})",
                         hint="use floor division: (n + 2p - d(k-1) - 1) // s + 1")

Inside a check, ``expect_*`` helpers raise :class:`Mismatch`; the decorator turns that into the
printed line and returns a :class:`CheckResult` (truthy when passed).
"""

from __future__ import annotations

import functools
import random
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "CheckResult",
    "Mismatch",
    "check_seed",
    "exercise",
    "expect",
    "expect_close",
    "expect_equal",
    "expect_shape",
    "results",
]

_CHECK_RNG: tuple[tuple[int, int], random.Random] | None = None


def check_seed() -> int:
    """A fresh seed for one check's random inputs: new at every call, yet the same sequence in every
    run with the same seed.

    Derived from the run's seed (``torch.initial_seed()``, which ``coursekit.start`` sets), from a
    private generator that restarts whenever the run is seeded again: the notebook's own random
    state is neither read nor advanced.
    """
    global _CHECK_RNG
    from .. import runtime

    key = (torch.initial_seed(), runtime._seed_generation)
    if _CHECK_RNG is None or _CHECK_RNG[0] != key:
        _CHECK_RNG = (key, random.Random(f"coursekit.checks:{key[0]}"))
    return _CHECK_RNG[1].getrandbits(63)


# Every check run in this interpreter, in order: the notebook tests read it after a solution
# notebook has run, and fail when a solution's own answer does not pass its check.
_RESULTS: list[CheckResult] = []


def _execution_count() -> int | None:
    """The IPython cell being run (its ``In [n]``), or None outside IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "execution_count", None)


def results() -> list[CheckResult]:
    """The results of every check run so far in this kernel (oldest first)."""
    return list(_RESULTS)


class Mismatch(Exception):
    """Raised inside a check when the student's answer differs from the reference."""

    def __init__(self, what: str, hint: str = ""):
        super().__init__(what)
        self.what = what
        self.hint = hint


@dataclass
class CheckResult:
    name: str
    status: str  # "passed", "not done", "failed", "error"
    message: str
    hint: str = ""
    execution_count: int | None = None  # the notebook cell that ran the check, when run in IPython

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        """Shown as the last value of a cell: nothing more (the check already printed its line)."""

    def __str__(self) -> str:
        icon = {"passed": "✅", "not done": "⏳", "failed": "❌", "error": "❌"}[self.status]
        text = f"{icon} {self.name}: {self.message}"
        if self.hint:
            text += f"\n   hint: {self.hint}"
        return text


def exercise(name: str) -> Callable[[Callable[..., None]], Callable[..., CheckResult]]:
    """Decorate a check function; see the module docstring."""

    def wrap(check: Callable[..., None]) -> Callable[..., CheckResult]:
        @functools.wraps(check)
        def run(*args: Any, quiet: bool = False, **kwargs: Any) -> CheckResult:
            try:
                check(*args, **kwargs)
                result = CheckResult(name, "passed", "correct, well done.")
            except NotImplementedError:
                result = CheckResult(
                    name, "not done", "not implemented yet: replace `raise NotImplementedError()` "
                    "in the exercise cell with your code, run that cell, then this one again."
                )
            except Mismatch as m:
                result = CheckResult(name, "failed", m.what, m.hint)
            except Exception as e:  # the student's code crashed: show where, briefly
                frames = traceback.extract_tb(e.__traceback__)
                where = ""
                for fr in reversed(frames):
                    if "coursekit" not in fr.filename:
                        where = f" (line {fr.lineno}: `{(fr.line or '').strip()}`)"
                        break
                result = CheckResult(
                    name, "error", f"your code raised {type(e).__name__}: {e}{where}",
                    "run your function on a small input in a new cell and look at the shapes.",
                )
            result.execution_count = _execution_count()
            _RESULTS.append(result)
            if not quiet:
                print(result)
            return result

        run.exercise_name = name  # type: ignore[attr-defined]
        return run

    return wrap


def expect(condition: bool, what: str, hint: str = "") -> None:
    if not condition:
        raise Mismatch(what, hint)


def expect_equal(got: Any, want: Any, what: str, hint: str = "") -> None:
    if isinstance(got, torch.Tensor) or isinstance(want, torch.Tensor):
        ok = isinstance(got, torch.Tensor) and got.shape == want.shape and bool(torch.equal(got, want))
    else:
        try:
            ok = bool(got == want)
        except Exception:
            ok = False
    if not ok:
        raise Mismatch(f"{what}: expected {want!r}, got {got!r}", hint)


def expect_shape(got: Any, shape: tuple[int, ...], what: str, hint: str = "") -> None:
    if not isinstance(got, torch.Tensor):
        raise Mismatch(f"{what}: expected a torch.Tensor, got {type(got).__name__}", hint)
    if tuple(got.shape) != tuple(shape):
        raise Mismatch(f"{what}: expected shape {tuple(shape)}, got {tuple(got.shape)}", hint)


def expect_close(got: Any, want: torch.Tensor, what: str, hint: str = "", rtol: float = 1e-4,
                 atol: float = 1e-5) -> None:
    """Compare tensors: type, shape, dtype, then values (reports the largest relative error)."""
    if not isinstance(got, torch.Tensor):
        if isinstance(want, torch.Tensor) and want.dim() == 0 and isinstance(got, (int, float)):
            got = torch.tensor(float(got), dtype=want.dtype)
        else:
            raise Mismatch(f"{what}: expected a torch.Tensor, got {type(got).__name__}", hint)
    if tuple(got.shape) != tuple(want.shape):
        raise Mismatch(f"{what}: expected shape {tuple(want.shape)}, got {tuple(got.shape)}", hint)
    if got.dtype != want.dtype and not (got.is_floating_point() and want.is_floating_point()):
        raise Mismatch(f"{what}: expected dtype {want.dtype}, got {got.dtype}", hint)
    got_d, want_d = got.detach().double().cpu(), want.detach().double().cpu()
    if not torch.isfinite(got_d).all():
        raise Mismatch(f"{what}: your result contains NaN or inf", hint)
    if not torch.allclose(got_d, want_d, rtol=rtol, atol=atol):
        err = ((got_d - want_d).abs().max() / want_d.abs().max().clamp_min(1e-12)).item()
        raise Mismatch(f"{what}: values differ from the reference (largest relative error {err:.2e})", hint)
