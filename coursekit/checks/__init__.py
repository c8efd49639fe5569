"""Exercise checks, one module per notebook section (see ``_core`` for the mechanism)."""

from ._core import (
    CheckResult,
    Mismatch,
    ShortcutUsed,
    arg_is,
    exercise,
    expect,
    expect_close,
    expect_equal,
    expect_shape,
)

__all__ = [
    "CheckResult",
    "Mismatch",
    "ShortcutUsed",
    "arg_is",
    "exercise",
    "expect",
    "expect_close",
    "expect_equal",
    "expect_shape",
]
