"""The notebook gate: every solution notebook executed once in the smoke profile, and judged.

See ``tests/notebook_gate.py`` for what one run checks (cells and magics run, figures shown, the
solution's answers pass their checks, paper-check outputs unchanged, the student's unfinished
exercises run in the warm kernel). Notebooks run two at a time under pytest-xdist, each kernel with
one thread. Time is judged by the kernel's CPU seconds, which a busy machine does not inflate:
a notebook fails past twice the smoke budget. Timings land in ``build/notebook-times/``
(``make budgets`` reads them).

``make test-full`` also runs every student notebook from the top (the slow, complete check).
"""

import json
import os
from pathlib import Path

import pytest
from notebook_gate import run_gate

from coursekit.runtime import PROFILES
from tools.build import execute_notebook

ROOT = Path(__file__).resolve().parents[1]
BUDGET = PROFILES["smoke"].budget_s
NAMES = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
# one thread per kernel: two notebooks run at once on CI's two cores
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "COURSEKIT_OFFLINE": "1"}

pytestmark = pytest.mark.notebooks


def _save_time(name: str, version: str, seconds: float, cpu_seconds: float) -> None:
    out = ROOT / "build" / "notebook-times"
    out.mkdir(parents=True, exist_ok=True)
    row = {"name": name, "version": version, "seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2)}
    (out / f"{name}.{version}.json").write_text(json.dumps(row))


@pytest.mark.timeout(600)  # a hang fails this notebook alone
@pytest.mark.parametrize("name", NAMES)
def test_solution_notebook(name):
    result = run_gate(ROOT / "solutions" / name, ROOT / "notebooks" / name, extra_env=ONE_THREAD)
    _save_time(name, "solution", result.seconds, result.cpu_seconds)
    assert not result.problems, f"{name}:\n- " + "\n- ".join(result.problems)
    assert result.cpu_seconds <= 2 * BUDGET, (
        f"{name} used {result.cpu_seconds:.0f} CPU seconds, over twice the smoke budget of {BUDGET:.0f} s "
        f"(wall {result.seconds:.0f} s): shrink its smoke sizes with P.pick(smoke=...)")


@pytest.mark.full
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_runs_from_the_top(name):
    """The slow, complete student check (``make test-full``): the whole student notebook, unfinished."""
    nb, seconds, _ = execute_notebook(ROOT / "notebooks" / name, "smoke", allow_errors=True, timeout=int(4 * BUDGET),
                                      extra_env=ONE_THREAD)
    _save_time(name, "student", seconds, nb.metadata["coursekit"].get("cpu_s", 0.0))
    for cell in nb.cells:
        for err in (o for o in cell.get("outputs", []) if o.get("output_type") == "error"):
            assert err["ename"] == "NotImplementedError" and "exercise" in cell.metadata.get("tags", []), (
                f"{name}: a cell raised {err['ename']}: {err['evalue']}\n--- cell ---\n{cell.source[:600]}")


def test_gate_runs_with_its_own_environment():
    """Kernels get their settings passed in; this process's environment is never changed."""
    before = dict(os.environ)
    from tools.build import kernel_env

    env = kernel_env("smoke", {"X_COURSEKIT_TEST": "1"})
    assert env["X_COURSEKIT_TEST"] == "1" and env["COURSEKIT_PROFILE"] == "smoke"
    assert dict(os.environ) == before
