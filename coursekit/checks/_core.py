"""The exercise-check mechanism shared by every notebook.

A check runs the student's function against the reference on fresh random inputs and prints
one clear line: a pass, "not done yet", or what is wrong with a hint. It never raises, so the
rest of the notebook always runs (later cells use ``coursekit``'s own implementation). The one
exception is grading: while nbgrader executes a notebook (``nbgrader autograde`` or ``validate``
set ``NBGRADER_EXECUTION`` in the kernel's environment), a check that did not pass also raises
``AssertionError``, so its test cell loses its points.

Writing a check::

    @exercise("output size of a convolution", answer=("coursekit.checks.welcome.conv_output_size",))
    def check_conv_output_size(student_fn):
        for case in cases:
            expect_equal(student_fn(**case), reference(**case), f"conv_output_size({case})",
                         hint=("dilation spreads the taps apart: the kernel covers more than k pixels",
                               "count the positions where the spread kernel fits, then divide by the "
                               "stride rounding down"))

Inside a check, ``expect_*`` helpers raise :class:`Mismatch`; the decorator turns that into the
printed line and returns a :class:`CheckResult` (truthy when passed).

**Shortcuts do not pass.** Each check declares, in its decorator, the dotted paths of coursekit's
own implementations of the answer (``answer=``) and of library functions that would do the whole
exercise in one call (``shortcuts=``; an entry ``(path, predicate)`` makes it a shortcut only when
``predicate(*args, **kwargs)`` holds for the call, e.g. ``F.conv2d`` only with ``groups > 1``)::

    @exercise("the affine sampling grid", answer=("coursekit.nn.stn.affine_grid",),
              shortcuts=("torch.nn.functional.affine_grid", "torch.affine_grid_generator"))

While the check runs the *student's* function, every declared name (and every alias of it in a
loaded module or in the student's namespace) raises :class:`ShortcutUsed`, which the check reports
as a failure; everything is restored afterwards, even when the student's code raises.
An exercise that asks for a layer hands the check the student's *class*: its constructor and
``forward`` then run under the guard (a subclass of coursekit's layer, or a call of it, fails). The check's
own expected values are computed outside those calls, so they always use the originals.

**Hints in tiers.** A ``hint`` may be a tuple of strings, from the concept to the specific: the
n-th failure of the same check in this kernel shows the n-th (the last one repeats). Hints say what
to do in words and formulas, never the answer's code.
"""

from __future__ import annotations

import functools
import os
import random
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ._guard import ShortcutSpec, ShortcutUsed, _Guard, _resolve, arg_is  # noqa: F401 (re-exported)

__all__ = [
    "CheckResult",
    "Hint",
    "Mismatch",
    "ShortcutUsed",
    "arg_is",
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
# Failed runs so far of each check (by exercise name) in this interpreter: the tier of the next hint.
_FAILURES: dict[str, int] = {}

Hint = str | Sequence[str]  # one hint, or tiers from the concept to the specific


def _execution_count() -> int | None:
    """The IPython cell being run (its ``In [n]``), or None outside IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    count = getattr(shell, "execution_count", None)
    # IPython numbers the running cell, then counts on: the cell's own number is one less
    return count - 1 if isinstance(count, int) else None


def _grading() -> bool:
    """True while nbgrader executes the notebook: its autograde and validate commands set
    ``NBGRADER_EXECUTION`` (to "autograde" or "validate") in the environment the kernel inherits."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def _call(check: Callable[..., None], args: tuple, kwargs: dict) -> None:
    """Run a check. Under nbgrader a warning would reach stderr, and nbgrader gives no points to a
    test cell that writes to stderr: there the warnings are printed to stdout instead."""
    if not _grading():
        check(*args, **kwargs)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            check(*args, **kwargs)
        finally:
            for w in caught:
                print(f"warning: {w.category.__name__}: {w.message}")


def results() -> list[CheckResult]:
    """The results of every check run so far in this kernel (oldest first)."""
    return list(_RESULTS)


class Mismatch(Exception):
    """Raised inside a check when the student's answer differs from the reference."""

    def __init__(self, what: str, hint: Hint = ""):
        super().__init__(what)
        self.what = what
        self.hint = hint


def _tier(hint: Hint, failures: int) -> str:
    """The hint to show at the ``failures``-th failure (1 = first) of a check."""
    if isinstance(hint, str):
        return hint
    tiers = [h for h in hint if h]
    return tiers[min(failures, len(tiers)) - 1] if tiers else ""


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


_SHORTCUT_HINT = ("write it from the operations the exercise describes; the course's own version is "
                  "shown after the exercise, to compare with yours.")


def _finish(result: CheckResult, quiet: bool) -> CheckResult:
    if result.status == "failed":
        _FAILURES[result.name] = _FAILURES.get(result.name, 0) + 1
    result.execution_count = _execution_count()
    _RESULTS.append(result)
    if not quiet:
        print(result)
    if _grading() and not result.passed:  # under nbgrader only: the test cell loses its points
        raise AssertionError(f"{result.name}: {result.message}") from None
    return result


def exercise(
    name: str, *, answer: Sequence[str] = (), shortcuts: Sequence[ShortcutSpec] = ()
) -> Callable[[Callable[..., None]], Callable[..., CheckResult]]:
    """Decorate a check function; see the module docstring.

    ``answer``: dotted paths of coursekit's own implementations of this exercise's answer;
    ``shortcuts``: library functions that would do it in one call (a path, or ``(path, predicate)``).
    """
    answer, shortcuts = tuple(answer), tuple(shortcuts)

    def wrap(check: Callable[..., None]) -> Callable[..., CheckResult]:
        @functools.wraps(check)
        def run(*args: Any, quiet: bool = False, **kwargs: Any) -> CheckResult:
            guard: _Guard | None = None
            if args and callable(args[0]):  # only the student's own calls meet the guards
                guard = _Guard(name, answer, shortcuts, args[0])
                student = guard.wrap_class(args[0]) if isinstance(args[0], type) else guard.wrap(args[0])
                args = (student, *args[1:])
            try:
                _call(check, args, kwargs)
                if guard is not None and guard.used:  # the student's code swallowed the error
                    raise ShortcutUsed(guard.used[0])
                result = CheckResult(name, "passed", "correct, well done.")
            except ShortcutUsed as e:
                result = CheckResult(name, "failed", str(e), _SHORTCUT_HINT)
            except NotImplementedError:
                result = CheckResult(
                    name, "not done", "not implemented yet: replace `raise NotImplementedError()` "
                    "in the exercise cell with your code, run that cell, then this one again."
                )
            except Mismatch as m:
                if guard is not None and guard.used:
                    result = CheckResult(name, "failed", guard.used[0], _SHORTCUT_HINT)
                else:
                    result = CheckResult(name, "failed", m.what, _tier(m.hint, _FAILURES.get(name, 0) + 1))
            except Exception as e:  # the student's code crashed: show where, briefly
                if guard is not None and guard.used:  # a shortcut's error, re-raised as another
                    return _finish(CheckResult(name, "failed", guard.used[0], _SHORTCUT_HINT), quiet)
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
            return _finish(result, quiet)

        run.exercise_name = name  # type: ignore[attr-defined]
        run.answer_paths = answer  # type: ignore[attr-defined]
        run.shortcut_paths = tuple(s if isinstance(s, str) else s[0] for s in shortcuts)  # type: ignore[attr-defined]
        return run

    return wrap


def expect(condition: bool, what: str, hint: Hint = "") -> None:
    if not condition:
        raise Mismatch(what, hint)


def expect_equal(got: Any, want: Any, what: str, hint: Hint = "") -> None:
    if isinstance(got, torch.Tensor) or isinstance(want, torch.Tensor):
        ok = isinstance(got, torch.Tensor) and got.shape == want.shape and bool(torch.equal(got, want))
    else:
        try:
            ok = bool(got == want)
        except Exception:
            ok = False
    if not ok:
        raise Mismatch(f"{what}: expected {want!r}, got {got!r}", hint)


def expect_shape(got: Any, shape: tuple[int, ...], what: str, hint: Hint = "") -> None:
    if not isinstance(got, torch.Tensor):
        raise Mismatch(f"{what}: expected a torch.Tensor, got {type(got).__name__}", hint)
    if tuple(got.shape) != tuple(shape):
        raise Mismatch(f"{what}: expected shape {tuple(shape)}, got {tuple(got.shape)}", hint)


def expect_close(got: Any, want: torch.Tensor, what: str, hint: Hint = "", rtol: float = 1e-4,
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
