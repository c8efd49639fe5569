"""Nothing before an exercise gives it away.

In each solution notebook, no code cell before an exercise prints the source of
(``inspect.getsource``) or imports by name a function in that exercise's ``answer_paths`` or
``shortcut_paths`` (printing the class that holds an answer method counts too). The course's
own implementation may be shown *after* the exercise, to compare. And no markdown cell between
the previous exercise and this one spells the answer's code: no line of the solution block
appears in it.
"""

from __future__ import annotations

import ast
import importlib
import re

import pytest
from _solutions import _source, all_checks, cells, exercises

from coursekit.checks import _core

CHECKS = all_checks()


def _code(text: str) -> ast.Module:
    """A cell's code without IPython magics and shell lines."""
    lines = [line if not re.match(r"^\s*[%!]", line) else "" for line in text.splitlines()]
    return ast.parse("\n".join(lines))


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _lookup(path: str):
    """The object at a dotted path (module prefix imported), or None."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for part in parts[i:]:
                obj = getattr(obj, part)
        except AttributeError:
            return None
        return obj
    return None


def _declared(check) -> tuple[list, list]:
    """(functions, classes holding an answer method) of a check's declaration."""
    functions, classes = [], []
    for path in check.answer_paths + check.shortcut_paths:
        owner, attr = _core._resolve(path)
        functions.append(getattr(owner, attr))
        if isinstance(owner, type):
            classes.append(owner)
    return functions, classes


def giveaways(notebook: str, cell_index: int, check) -> list[str]:
    """What the code cells before ``cell_index`` reveal of ``check``'s answer."""
    functions, classes = _declared(check)
    aliases: dict[str, str] = {}
    found = []
    for i, cell in enumerate(cells(notebook)[:cell_index]):
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(_code(_source(cell))):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                    obj = _lookup(f"{node.module}.{a.name}")
                    if any(obj is f for f in functions):
                        found.append(f"cell {i} imports {a.name} by name")
            elif isinstance(node, ast.Call) and (_dotted(node.func) or "").endswith("getsource") and node.args:
                shown = _dotted(node.args[0])
                if not shown:
                    continue
                head, _, rest = shown.partition(".")
                obj = _lookup(".".join(filter(None, [aliases.get(head, head), rest])))
                if obj is None:
                    continue
                obj = getattr(obj, "__func__", obj)
                if any(obj is f for f in functions) or any(obj is c for c in classes):
                    found.append(f"cell {i} prints the source of {shown}")
    return found


def _solution_lines(solution: str) -> list[str]:
    lines = [line.strip() for line in solution.splitlines()]
    return [line for line in lines if len(line) >= 12 and not line.startswith("#")]


@pytest.mark.parametrize("ex", exercises(), ids=lambda e: f"{e.notebook[:4]}-{e.check}")
def test_no_cell_before_an_exercise_shows_or_imports_its_answer(ex):
    assert giveaways(ex.notebook, ex.cell, CHECKS[ex.check]) == []


@pytest.mark.parametrize("ex", exercises(), ids=lambda e: f"{e.notebook[:4]}-{e.check}")
def test_the_exercise_prose_does_not_spell_the_solution(ex):
    nb = cells(ex.notebook)
    previous = max([e.cell for e in exercises() if e.notebook == ex.notebook and e.cell < ex.cell], default=-1)
    prose = "\n".join(_source(c) for c in nb[previous + 1 : ex.cell] if c["cell_type"] == "markdown")
    assert [line for line in _solution_lines(ex.solution) if line in prose] == []


def test_the_rule_catches_a_printed_and_an_imported_answer(tmp_path, monkeypatch):
    """The rule on a made-up notebook: it flags both ways of giving the answer away."""
    import json

    import _solutions

    cell = lambda text: {"cell_type": "code", "source": text, "metadata": {}, "outputs": []}
    nb = {
        "cells": [
            cell("import inspect\nfrom coursekit.models import style\nfrom coursekit.nn.dense import DenseBlock"),
            cell("print(inspect.getsource(style.gram_matrix))\nprint(inspect.getsource(DenseBlock))"),
            cell("from coursekit.models.style import gram_matrix"),
        ]
    }
    (tmp_path / "x.ipynb").write_text(json.dumps(nb))
    monkeypatch.setattr(_solutions, "SOLUTIONS", tmp_path)
    assert giveaways("x.ipynb", 3, CHECKS["check_gram"]) == [
        "cell 1 prints the source of style.gram_matrix",
        "cell 2 imports gram_matrix by name",
    ]
    assert giveaways("x.ipynb", 3, CHECKS["check_dense_block_forward"]) == [
        "cell 1 prints the source of DenseBlock"
    ]
    assert giveaways("x.ipynb", 1, CHECKS["check_gram"]) == []  # shown only after: fine
