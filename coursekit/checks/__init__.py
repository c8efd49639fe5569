"""Exercise checks, one module per notebook section (see ``_core`` for the mechanism)."""

from ._core import CheckResult, Mismatch, exercise, expect, expect_close, expect_equal, expect_shape

__all__ = ["CheckResult", "Mismatch", "exercise", "expect", "expect_close", "expect_equal", "expect_shape"]
