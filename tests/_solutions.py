"""The solution notebooks' exercises, read without running the notebooks (shared by the check tests).

An exercise is a code cell with a ``### BEGIN SOLUTION`` block; its check is the ``check_…(fn)``
call in that cell or in the next code cell. :func:`solution_function` rebuilds the answer ``fn``
by running only the import statements of the cells before it, the earlier exercise cells (a later
answer may use an earlier one, as 2.5's style loss uses the Gram matrix) and the exercise cell,
each without its check call.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_CHECK_CALL = re.compile(r"^\s*(check_\w+)\((\w+)\)\s*$", re.M)


@dataclass(frozen=True)
class Exercise:
    notebook: str  # file name in solutions/
    cell: int  # index of the exercise cell
    check: str  # e.g. "check_gram"
    function: str  # the name the check is called with in the notebook
    solution: str  # the code between the markers


@functools.cache
def all_checks() -> dict[str, object]:
    """Every ``@exercise`` check in ``coursekit.checks``, by function name."""
    import importlib
    import pkgutil

    import coursekit.checks

    found = {}
    for info in pkgutil.iter_modules(coursekit.checks.__path__):
        module = importlib.import_module(f"coursekit.checks.{info.name}")
        for name, value in vars(module).items():
            if name.startswith("check_") and hasattr(value, "exercise_name"):
                found[name] = value
    return found


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def cells(notebook: str) -> list[dict]:
    return json.loads((SOLUTIONS / notebook).read_text())["cells"]


def _solution_block(text: str) -> str:
    inside, lines = False, []
    for line in text.splitlines():
        if line.strip().startswith(BEGIN):
            inside = True
        elif line.strip().startswith(END):
            inside = False
        elif inside:
            lines.append(line)
    return "\n".join(lines)


@functools.cache
def exercises() -> tuple[Exercise, ...]:
    found = []
    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        nb = cells(path.name)
        for i, cell in enumerate(nb):
            text = _source(cell)
            if cell["cell_type"] != "code" or BEGIN not in text:
                continue
            calls = _CHECK_CALL.findall(text)
            if not calls:  # the check may live in the next code cell
                nxt = next((c for c in nb[i + 1 :] if c["cell_type"] == "code"), None)
                calls = _CHECK_CALL.findall(_source(nxt)) if nxt is not None else []
            for check, fn in calls:
                found.append(Exercise(path.name, i, check, fn, _solution_block(text)))
    return tuple(found)


def _without_checks(text: str) -> str:
    return _CHECK_CALL.sub("", text)


def _imports(text: str) -> str:
    try:
        tree = ast.parse(text)
    except SyntaxError:  # IPython magics: keep the lines that parse as imports
        return "\n".join(
            line for line in text.splitlines() if re.match(r"^(import|from)\s", line) and "(" not in line
        )
    return "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))


def solution_function(check: str):
    """The solution notebook's answer for ``check`` (the first exercise checked by it)."""
    ex = next(e for e in exercises() if e.check == check)
    nb = cells(ex.notebook)
    namespace: dict = {"__name__": f"solution_{ex.check}"}
    exercise_cells = {e.cell for e in exercises() if e.notebook == ex.notebook}
    for i, cell in enumerate(nb[: ex.cell + 1]):
        if cell["cell_type"] != "code":
            continue
        text = _source(cell)
        code = _without_checks(text) if i in exercise_cells else _imports(text)
        exec(compile(code, f"{ex.notebook}[{i}]", "exec"), namespace)
    return namespace[ex.function]
