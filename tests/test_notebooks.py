"""Every solution and every student notebook executes end to end in the smoke profile.

Parameters are injected as papermill does and the notebook runs under nbclient (a failing cell
or magic fails it). Execution times land in build/notebook-times.md, with notebooks over the
smoke budget flagged; a notebook fails only past twice the budget (CI machines are noisy).
"""

import json
import time
from pathlib import Path

import pytest

from coursekit.build import execute_notebook
from coursekit.runtime import PROFILES

ROOT = Path(__file__).resolve().parents[1]
BUDGET = PROFILES["smoke"].budget_s
NAMES = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
TIMES: dict[tuple[str, str], float] = {}

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module", autouse=True)
def _times_table():
    yield
    if not TIMES:
        return
    out = ROOT / "build"
    out.mkdir(exist_ok=True)
    rows = [f"# Notebook execution times, smoke profile ({time.strftime('%Y-%m-%d %H:%M')})", "",
            f"Budget {BUDGET:.0f} s per notebook; a run fails past {2 * BUDGET:.0f} s.", "",
            "| notebook | version | seconds | |", "|---|---|---:|---|"]
    for (name, kind), s in sorted(TIMES.items(), key=lambda kv: -kv[1]):
        rows.append(f"| {name} | {kind} | {s:.1f} | {'⚠️ over budget' if s > BUDGET else ''} |")
    rows.append(f"\nTotal: {sum(TIMES.values()):.0f} s")
    (out / "notebook-times.md").write_text("\n".join(rows) + "\n")
    (out / "notebook-times.json").write_text(json.dumps(
        [{"name": n, "version": k, "seconds": round(s, 2)} for (n, k), s in sorted(TIMES.items())], indent=1))


def _errors(nb):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                yield cell, out


@pytest.mark.timeout(300)  # a hang fails this notebook alone
@pytest.mark.parametrize("name", NAMES)
def test_solution_notebook_runs(name):
    nb, seconds, _ = execute_notebook(ROOT / "solutions" / name, "smoke", timeout=int(4 * BUDGET))
    TIMES[(name, "solution")] = seconds
    assert not list(_errors(nb))
    assert seconds <= 2 * BUDGET, f"{name} took {seconds:.0f} s in the smoke profile (budget {BUDGET:.0f} s)"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_runs_except_unfinished_exercises(name):
    nb, seconds, _ = execute_notebook(ROOT / "notebooks" / name, "smoke", allow_errors=True, timeout=int(4 * BUDGET))
    TIMES[(name, "student")] = seconds
    for cell, err in _errors(nb):
        source = "".join(cell.source)
        assert err["ename"] == "NotImplementedError" and "exercise" in cell.metadata.get("tags", []), (
            f"{name}: a cell raised {err['ename']}: {err['evalue']}\n--- cell ---\n{source[:600]}"
        )
    assert seconds <= 2 * BUDGET, f"{name} took {seconds:.0f} s in the smoke profile (budget {BUDGET:.0f} s)"
