"""The instructor build's report and the budget table (on synthetic rows; the real run is `make solutions`)."""

import json

import pytest

from coursekit import report
from tools import build
from tools import report as reports


def test_record_prints_and_appends(tmp_path, monkeypatch, capsys):
    path = tmp_path / "m.jsonl"
    monkeypatch.setenv("COURSEKIT_RECORD_FILE", str(path))
    e = report.record("psnr", 29.1, baseline=27.4, baseline_name="NL-means", unit=" dB")
    assert e["verdict"] == "1 seed" and e["beats_baseline"] is False  # one value: the spread is not measured
    assert "NL-means" in capsys.readouterr().out
    report.record("error", [0.3, 0.31], baseline=[0.2, 0.21], higher_is_better=False)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["name"] for r in rows] == ["psnr", "error"] and rows[1]["verdict"] == "loses"
    report.record("nan", float("nan"), baseline=1.0)
    assert json.loads(path.read_text().splitlines()[-1])["verdict"] == "not finite"


def test_report_rows_and_totals(tmp_path):
    rows = [{"name": "a.ipynb", "status": "ok", "seconds": 61.0, "peak_mb": 900.0, "device": "cpu (2 cores)",
             "profile": "cpu", "metrics": [{"name": "psnr", "value": 30.0, "baseline": 28.0, "baseline_name": "blur",
                                            "beats_baseline": True}]},  # an entry from before seeds
            {"name": "b.ipynb", "status": "error: CellExecutionError", "seconds": 3.0, "peak_mb": 100.0,
             "device": "cpu (2 cores)", "profile": "cpu", "metrics": []}]
    reports.write_report(rows, tmp_path, "cpu", root=tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "| a.ipynb | ok | 61 | 900 | legacy, not verified |" in md
    assert "| a.ipynb | psnr | 30 (1 seed) | blur | not stated | 28 (1 seed) | · 1 seed (ahead) |" in md
    assert "error: CellExecutionError" in md and "Wins beyond the spread against real competitors: 0 of 0" in md
    assert (tmp_path / "report.html").read_text().startswith("<!doctype html>")


def test_merge_keeps_one_row_per_notebook_the_last_run_winning(tmp_path):
    def row(name, seconds):
        return {"name": name, "status": "ok", "seconds": seconds, "peak_mb": 1.0, "device": "cpu", "profile": "cpu",
                "metrics": []}

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "report.json").write_text(json.dumps([row("2.1_x.ipynb", 10.0), row("1.1_y.ipynb", 20.0)]))
    (tmp_path / "b" / "report.json").write_text(json.dumps([row("2.1_x.ipynb", 99.0)]))
    notes = tmp_path / "notes.md"
    notes.write_text("## Why 2.1 took longer\n")
    assert build.main(["--merge", str(tmp_path / "a" / "report.json"), str(tmp_path / "b" / "report.json"),
                       "--out", str(tmp_path / "m"), "--notes", str(notes)]) == 0
    assert (tmp_path / "m" / "report.md").read_text().rstrip().endswith("## Why 2.1 took longer")
    merged = json.loads((tmp_path / "m" / "report.json").read_text())
    assert [(r["name"], r["seconds"]) for r in merged] == [("1.1_y.ipynb", 20.0), ("2.1_x.ipynb", 99.0)]
    with pytest.raises(FileNotFoundError, match="report.json written by a build"):
        reports.merge_reports([tmp_path / "missing.json"])


def test_budget_table_flags_and_fails_only_past_twice_the_budget(tmp_path):
    table, failing = build.budget_table({"a": 20, "b": 45, "c": 70}, {"a": 700, "b": 100})
    lines = table.splitlines()
    assert lines[2].startswith("| c |") and "❌" in lines[2]  # slowest (relative to budget) first
    assert "⚠️" in table and failing == ["c"]
    times = tmp_path / "t.json"
    times.write_text(json.dumps([{"name": "a", "version": "solution", "seconds": 10}]))
    rep = tmp_path / "r.json"
    rep.write_text(json.dumps([{"name": "a", "seconds": 1300}]))
    assert build.budgets(times, rep) == 1
    rep.write_text(json.dumps([{"name": "a", "seconds": 900}]))
    assert build.budgets(times, rep) == 0


def test_execute_notebook_records_metrics_and_resources(tmp_path):
    from tools import authoring as A

    nb = A.new_notebook([
        A._new_cell("code", "PROFILE = None\nSEED = 0", "p", ["parameters"]),
        A._new_cell("code", "import coursekit\nP = coursekit.start(PROFILE, SEED)\ncoursekit.record('x', 2.0, baseline=1.0)", "c"),
    ])
    nb["metadata"] = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    path = tmp_path / "n.ipynb"
    path.write_text(A.dumps(nb))
    executed, seconds, metrics = build.execute_notebook(path, "smoke")
    assert metrics == [{"name": "x", "value": 2.0, "values": [2.0], "n": 1, "std": 0.0, "unit": "",
                        "higher_is_better": True, "baseline": 1.0, "baseline_values": [1.0], "baseline_n": 1,
                        "baseline_std": 0.0, "baseline_name": "baseline", "baseline_kind": "not stated",
                        "verdict": "1 seed", "beats_baseline": False}]
    modules = executed.metadata["coursekit"]["coursekit_modules"]  # what the kernel ran with, for the row's hash
    assert {"coursekit", "coursekit.report", "coursekit.runtime"} <= set(modules)
    assert executed.metadata["coursekit"]["peak_rss_mb"] > 10 and len(executed.cells) == 3  # probe removed
    assert "profile 'smoke'" in "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    parts = build.time_breakdown(executed)
    assert set(parts) == {"start", "cells", "between", "longest_wait", "longest_wait_before", "stop"}
    assert abs(parts["start"] + parts["cells"] + parts["between"] + parts["stop"] - seconds) < 0.5
    assert all(parts[k] >= -0.05 for k in ("start", "cells", "between", "stop"))  # clocks agree to ms
    cells = build.cell_seconds(executed)
    assert [i for i, _ in cells] == [0, 1, 2] and all(0 <= t < seconds for _, t in cells)  # papermill adds cell 1


def _imported(source: str) -> set[str]:
    import ast

    return {a.name.split(".")[0] for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names} | {
        n.module.split(".")[0] for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom) and n.module}


@pytest.mark.parametrize("planted", ["", "import tools.build as _b\n", "if True:\n    from tools import report\n"])
def test_the_kernel_probe_imports_only_the_standard_library(planted):
    """The probe cell execute_notebook appends runs in the student's kernel: it must not import
    tools (instructor tooling, absent from an installed course) nor anything beyond the stdlib."""
    imported = _imported(planted + build._PROBE_CELL)
    assert ("tools" in imported) == bool(planted)
    assert imported - {"tools"} == {"json", "resource", "sys"}


def test_cell_seconds_reads_nbclient_timing_and_skips_unexecuted_cells():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"), nbformat.v4.new_code_cell("a"),
                                         nbformat.v4.new_code_cell("b")])
    nb.cells[1].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:01.000Z",
                                         "shell.execute_reply": "2026-01-01T00:00:03.500Z"}
    assert build.cell_seconds(nb) == [(1, 2.5)]


# --- the shell channel's missed wake-up (jupyter/nbclient#312) ------------------------------------

def _missing_channel(msg, misses):
    """An async get_msg that sleeps through the reply `misses` times (a missed wake-up: it waits its
    whole timeout, then reports nothing), as zmq.asyncio's poll sometimes does after widget cells."""
    import asyncio
    from queue import Empty

    calls = []

    async def get_msg(timeout=None):
        calls.append(timeout)
        if len(calls) <= misses:
            await asyncio.sleep(timeout if timeout is not None else 3600)
            raise Empty
        return msg

    return get_msg, calls


def test_a_missed_reply_is_read_within_a_slice_not_after_the_whole_timeout():
    import asyncio
    import time

    get_msg, calls = _missing_channel({"id": 1}, misses=1)
    t = time.monotonic()
    assert asyncio.run(build.sliced_get_msg(get_msg, slice_s=0.1)(timeout=30)) == {"id": 1}
    assert time.monotonic() - t < 2 and calls[0] == pytest.approx(0.1, abs=0.05)
    # the unwrapped call, for contrast, would have slept the cell's whole timeout:
    get_msg, _ = _missing_channel({"id": 1}, misses=1)
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(asyncio.wait_for(get_msg(timeout=30), 0.5))


def test_sliced_waits_still_time_out_at_the_callers_deadline_and_wait_forever_without_one():
    import asyncio
    import time
    from queue import Empty

    get_msg, calls = _missing_channel({"id": 1}, misses=10**6)
    t = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(build.sliced_get_msg(get_msg, slice_s=0.1)(timeout=0.45))
    assert 0.4 < time.monotonic() - t < 1.5 and len(calls) >= 4
    get_msg, calls = _missing_channel({"id": 2}, misses=5)  # timeout=None: keeps looking
    assert asyncio.run(build.sliced_get_msg(get_msg, slice_s=0.05)(timeout=None)) == {"id": 2} and len(calls) == 6


def test_notebooks_with_widget_cells_execute_and_cell_timeouts_still_fire(tmp_path):
    import time

    import nbformat
    from nbclient.exceptions import CellTimeoutError

    cells = [nbformat.v4.new_code_cell("import ipywidgets as w\nfrom IPython.display import display")]
    cells += [nbformat.v4.new_code_cell(f"display(w.interactive(lambda a: a * {i}, a=w.IntSlider(value=3)))")
              for i in range(12)]
    path = tmp_path / "widgets.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    t = time.monotonic()
    nb, _, _ = build.execute_notebook(path, "smoke", timeout=20)
    assert time.monotonic() - t < 20 and all(c.get("outputs") for c in nb.cells if "interactive" in c.source)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time; time.sleep(30)")]), path)
    t = time.monotonic()
    with pytest.raises(CellTimeoutError):
        build.execute_notebook(path, "smoke", timeout=2)
    assert time.monotonic() - t < 20
