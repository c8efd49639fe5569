"""The notebook gate: each solution notebook is executed once, and everything is judged from that run.

One execution (:func:`run_gate`) checks what used to take three:

* **the solution runs**: every cell, magics included, under nbclient with the parameters injected
  as papermill does; every cell that calls ``plt.show()`` displays a figure;
* **the solution's own answers pass their checks**: every exercise check run by an exercise cell
  (a cell holding ``### BEGIN SOLUTION``) or by the check cell right after it must pass;
* **the paper checks still say what the committed notebook says**: each ``# NBVAL_CHECK_OUTPUT``
  cell's text output is compared with its committed output, after the same sanitising rules nbval
  uses (``tests/nbval_sanitize.cfg``), with a readable diff on a mismatch;
* **the student version works unfinished**: after the solution's cells, the student version of every
  exercise cell (and its check cell) runs in the same warm kernel; the exercise may only raise
  ``NotImplementedError`` and its check must say "not done" rather than crash. A static rule
  (:func:`student_name_problems`) catches the other student-only fault, a later cell that uses a
  name only an exercise defines.

The full student execution (every student notebook run from the top) is still available as the
slower ``make test-full``.
"""

from __future__ import annotations

import ast
import configparser
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.authoring import BEGIN, CHECK_MARK, _strip_solutions
from tools.build import EXTRA_TAG, execute_notebook

ROOT = Path(__file__).resolve().parents[1]
SANITIZE_CFG = ROOT / "tests" / "nbval_sanitize.cfg"
STUDENT_TAG = "student-version"  # on the student cells appended after the solution run


# --- reading cells ------------------------------------------------------------------------------


def _src(cell: Any) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def is_exercise(cell: Any) -> bool:
    """A code cell with a solution block (in the solution) or tagged ``exercise`` (student version)."""
    return cell.get("cell_type") == "code" and (BEGIN in _src(cell) or "exercise" in _tags(cell))


def is_check_cell(cells: list[Any], i: int) -> bool:
    """The code cell right after an exercise that runs its check (``check_…(`` or an nbgrader test cell)."""
    if i == 0 or not is_exercise(cells[i - 1]) or is_exercise(cells[i]) or cells[i].get("cell_type") != "code":
        return False
    grade = cells[i].get("metadata", {}).get("nbgrader", {}).get("grade", False)
    return bool(grade) or re.search(r"\bcheck_\w+\(", _src(cells[i])) is not None


# --- paper checks: committed output vs this run -------------------------------------------------


def sanitizers(cfg: Path = SANITIZE_CFG) -> list[tuple[re.Pattern[str], str]]:
    """The regex/replace pairs of nbval's sanitize file (one section per rule)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(cfg, encoding="utf-8")
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def output_text(outputs: list[Any], rules: list[tuple[re.Pattern[str], str]]) -> str:
    """What nbval --nbval-lax compares: stdout and the plain-text results, sanitised (never images)."""
    parts = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            parts.append(_src({"source": out.get("text", "")}))
        elif kind in ("execute_result", "display_data") and "text/plain" in out.get("data", {}):
            parts.append(_src({"source": out["data"]["text/plain"]}) + "\n")
        elif kind == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}\n")
    text = "".join(parts)
    for regex, replace in rules:
        text = regex.sub(replace, text)
    return text


def paper_check_problems(committed: Any, executed: Any) -> list[str]:
    """A readable diff for every ``# NBVAL_CHECK_OUTPUT`` cell whose output changed."""
    rules = sanitizers()
    ran = {c.get("id"): c for c in executed["cells"]}
    problems = []
    for cell in committed["cells"]:
        if cell.get("cell_type") != "code" or CHECK_MARK not in _src(cell):
            continue
        if not cell.get("outputs"):
            problems.append(f"paper check `{_src(cell).splitlines()[1][:60]}…` has no committed output: run `make record`")
            continue
        if cell.get("id") not in ran:
            problems.append(f"paper check cell {cell.get('id')} did not run")
            continue
        want = output_text(cell["outputs"], rules)
        got = output_text(ran[cell["id"]].get("outputs", []), rules)
        if want != got:
            diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                "committed output", "this run", n=1))
            problems.append(f"paper check cell {cell['id']} printed something else than its committed output "
                            f"(if the change is intended, `make record` and commit):\n{diff}")
    return problems


# --- the student version: a static rule and the exercise cells in the warm kernel ---------------


def _parse(source: str) -> ast.Module | None:
    lines = [ln for ln in source.split("\n") if not ln.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _top_level_bindings(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def _local_names(tree: ast.Module) -> set[str]:
    """Names bound inside functions and lambdas of a cell (parameters, local assignments)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            names.update(x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x)
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def _broken_names(tree: ast.Module) -> set[str]:
    """What an unfinished exercise cell leaves unusable: functions and classes that raise
    ``NotImplementedError``, and every name the cell would bind after a top-level raise."""
    names: set[str] = set()
    raised = False
    for node in tree.body:
        raises = any(isinstance(sub, ast.Raise) and "NotImplementedError" in ast.dump(sub) for sub in ast.walk(node))
        if raised:
            names |= _top_level_bindings(ast.Module(body=[node], type_ignores=[]))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and raises:
            names.add(node.name)
        elif raises:
            raised = True
            names |= _top_level_bindings(ast.Module(body=[node], type_ignores=[]))
    return names


def student_name_problems(student: Any, solution: Any = None) -> list[str]:
    """Cells outside the exercises that use a name only an unfinished exercise defines.

    In the student version an exercise's function raises ``NotImplementedError`` and names bound
    inside a solution block do not exist, so such a cell breaks the notebook for every student who
    has not finished the exercise (or skips it).
    """
    cells = student["cells"]
    solved = {c.get("id"): c for c in (solution["cells"] if solution is not None else [])}
    only_exercise: dict[str, int] = {}  # name -> index of the exercise cell that binds it
    problems = []
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        tree = _parse(_src(cell))
        if tree is None:
            continue
        if is_exercise(cell):
            broken = _broken_names(tree)
            solved_tree = _parse(_src(solved[cell.get("id")])) if cell.get("id") in solved else None
            if solved_tree is not None and any(isinstance(n, ast.Raise) for n in tree.body):
                # a top-level solution block: whatever the solution binds, the student's cell does not
                broken |= _top_level_bindings(solved_tree) - _top_level_bindings(tree)
            for name in broken:
                only_exercise[name] = i
            continue
        if not is_check_cell(cells, i):
            used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            used -= _local_names(tree)
            for name in sorted(used & set(only_exercise)):
                problems.append(f"cell {i} uses `{name}`, which only exercise cell {only_exercise[name]} defines: "
                                "an unfinished exercise breaks it (use coursekit's implementation there)")
        for name in _top_level_bindings(tree):  # rebound outside an exercise: fine from here on
            only_exercise.pop(name, None)
    return problems


def student_tail(student: Any) -> list[Any]:
    """The student version's exercise cells, each with its check cell, to run after the solution."""
    cells, tail = student["cells"], []
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "code" and is_exercise(cell):
            tail.append(_tagged(cell, "exercise"))
            if i + 1 < len(cells) and is_check_cell(cells, i + 1):
                tail.append(_tagged(cells[i + 1], "check"))
    return tail


def _tagged(cell: Any, role: str) -> dict[str, Any]:
    src = _src(cell)
    if BEGIN in src:  # a solution cell given directly: make its student version
        src = _strip_solutions(src, markdown=False)
    # raises-exception: nbclient records the error and goes on (the rule below judges it)
    return {"cell_type": "code", "source": src, "outputs": [], "execution_count": None,
            "metadata": {"tags": ["raises-exception", STUDENT_TAG, f"student-{role}"]}}


# --- the gate -------------------------------------------------------------------------------------


@dataclass
class GateResult:
    name: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    notebook: Any = None


def _first_line(cell: Any) -> str:
    lines = [ln for ln in _src(cell).splitlines() if ln.strip()]
    return lines[0][:70] if lines else "?"


def judge(committed: Any, executed: Any) -> list[str]:
    """Every problem the gate finds in one executed solution notebook (see the module docstring)."""
    problems = []
    checks = executed.metadata.get("coursekit", {}).get("checks", [])
    by_count: dict[int, list[list[Any]]] = {}
    for count, name, status, message in checks:
        by_count.setdefault(count, []).append([name, status, message])
    cells = executed.cells
    own = [i for i, c in enumerate(cells) if EXTRA_TAG not in _tags(c)]
    for i in own:  # errors, blank figures, solution checks
        cell = cells[i]
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {i} (`{_first_line(cell)}`) raised {out['ename']}: {out['evalue']}")
        if "\nplt.show()" in "\n" + _src(cell) and not any(
                "image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            problems.append(f"cell {i} (`{_first_line(cell)}`) calls plt.show() but displayed no figure")
        if is_exercise(cell) or is_check_cell(cells, i):
            for name, status, message in by_count.get(cell.get("execution_count"), []):
                if status != "passed":
                    problems.append(f"the solution's answer fails its own check in cell {i}: "
                                    f"exercise '{name}' {status}: {message}")
    for i, cell in enumerate(cells):  # code exercises must each run a check
        if is_exercise(cell) and EXTRA_TAG not in _tags(cell):
            ran = by_count.get(cell.get("execution_count"), [])
            if i + 1 < len(cells) and is_check_cell(cells, i + 1):
                ran = ran + by_count.get(cells[i + 1].get("execution_count"), [])
            if not ran:
                problems.append(f"exercise cell {i} (`{_first_line(cell)}`) ran no check")
    for cell in cells:  # the student's unfinished exercises, run in the warm kernel
        if STUDENT_TAG not in _tags(cell):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            if not ("student-exercise" in _tags(cell) and out.get("ename") == "NotImplementedError"):
                problems.append(f"student version: `{_first_line(cell)}` raised {out['ename']}: {out['evalue']} "
                                "(an unfinished exercise may only raise NotImplementedError)")
        for name, status, message in by_count.get(cell.get("execution_count"), []):
            if status != "not done":
                problems.append(f"student version: the check of '{name}' says {status!r} for an unfinished "
                                f"exercise instead of 'not done': {message}")
    problems += paper_check_problems(committed, executed)
    return problems


def run_gate(solution: Path, student: Path | None = None, *, timeout: int = 120,
             extra_env: dict[str, str] | None = None) -> GateResult:
    """Execute ``solution`` once (smoke profile) with the student exercise cells appended; judge it."""
    import nbformat

    committed = nbformat.read(solution, as_version=4)
    result = GateResult(solution.name)
    student_nb = nbformat.read(student, as_version=4) if student is not None and student.exists() else None
    if student_nb is not None:
        result.problems += [f"student version: {p}" for p in student_name_problems(student_nb, committed)]
    tail = student_tail(student_nb if student_nb is not None else committed)
    try:
        nb, seconds, _ = execute_notebook(solution, "smoke", timeout=timeout, extra_cells=tail,
                                          extra_env=extra_env)
    except Exception as e:  # a cell failed: nbclient names it
        result.problems.insert(0, f"{solution.name} did not run to the end: {type(e).__name__}: "
                                  + "\n".join(str(e).splitlines()[-12:]))
        result.notebook = getattr(e, "nb", None)
        return result
    result.notebook, result.seconds = nb, seconds
    result.cpu_seconds = float(nb.metadata.get("coursekit", {}).get("cpu_s", 0.0))
    result.problems += judge(committed, nb)
    return result
