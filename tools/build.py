"""Executing notebooks: the instructor build and the notebook tests share this.

``python -m tools.build --profile cpu [NAME ...]`` (from the repository root) executes every solution notebook (or the
named ones) in that profile and writes, under ``build/<profile>/``:

* ``notebooks/NAME.ipynb`` — the executed notebook, outputs included;
* ``html/NAME.html`` — the same as a web page;
* ``report.md`` and ``report.html`` (and ``report.json``) — one row per notebook: status,
  execution time, peak memory and the hashes it ran with (its code cells, the ``coursekit``
  modules its kernel loaded); then one row per metric it recorded with
  ``coursekit.report.record``: mean ± standard deviation and n seeds beside its baseline's, the
  baseline's kind and the verdict (the HTML adds each seed's values). The summary counts wins
  against real competitors only (the rendering and the checks of rows are in ``tools/report.py``).

Parameters are injected as papermill does (into the cell tagged ``parameters``) and the
notebook is executed with nbclient, so a failing cell or magic fails the run.

Instructor tooling: it runs from a checkout of the repository (``ROOT`` is the folder above
``tools/``), never from an installed ``coursekit``. The notebook's kernel imports ``coursekit``
only: the probe cell appended below reads ``sys.modules`` and ``resource``, nothing of ``tools``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from .report import merge_reports, notebook_hash, sources_hash, write_report

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["EXTRA_TAG", "budget_table", "budgets", "cell_seconds", "execute_notebook", "kernel_env", "main",
           "time_breakdown"]


_PROBE = "__COURSEKIT_RESOURCES__"
_PROBE_CELL = f"""import json as _json, resource as _resource, sys as _sys
_self, _kids = _resource.getrusage(_resource.RUSAGE_SELF), _resource.getrusage(_resource.RUSAGE_CHILDREN)
_res = {{"peak_rss_mb": _self.ru_maxrss / 1024,
        "cpu_s": _self.ru_utime + _self.ru_stime + _kids.ru_utime + _kids.ru_stime}}
_torch = _sys.modules.get("torch")
if _torch is not None and _torch.cuda.is_available() and _torch.cuda.is_initialized():
    _res["peak_cuda_mb"] = _torch.cuda.max_memory_allocated() / 2**20
_checks = _sys.modules.get("coursekit.checks._core")
if _checks is not None:
    _res["checks"] = [[r.execution_count, r.name, r.status, r.message] for r in _checks.results()]
_res["coursekit_modules"] = sorted(_m for _m, _v in list(_sys.modules.items())
                                   if _m.split(".")[0] == "coursekit" and getattr(_v, "__file__", None))
print("{_PROBE}" + _json.dumps(_res))"""

EXTRA_TAG = "coursekit-extra"  # cells appended by execute_notebook(extra_cells=...)


def kernel_env(profile: str, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a notebook kernel starts with: this process's, plus the run's settings.

    Built as a new dict and passed to the kernel; this process's ``os.environ`` is never changed,
    so several notebooks can run at once from threads or pytest-xdist workers.
    """
    env = dict(os.environ)
    env.update({
        "COURSEKIT_PROFILE": profile,
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
        "TQDM_MININTERVAL": "5",
    })
    env.update(extra_env or {})
    return env


# How long one wait on the kernel's shell channel lasts before it looks again (seconds).
_SHELL_POLL_SLICE = 1.0


def _client_class():
    """nbclient's ``NotebookClient`` with a shell channel that cannot sleep through a reply.

    nbclient waits for a cell's ``execute_reply`` with one ``shell_channel.get_msg(timeout=T)``,
    T being the whole cell timeout. With jupyter_client's asyncio channels that wait is a
    ``zmq.asyncio`` poll woken by the socket's edge-triggered file descriptor; after ipywidgets
    cells (comm traffic on iopub) the wake-up is sometimes missed, the reply sits unread and the
    cell "takes" the full timeout (jupyter/nbclient#312, open in nbclient 0.11). Here 4.4 stalled
    that way in the gate. A fresh poll checks the socket at once, so waiting in short slices, each
    a new ``get_msg``, reads a missed reply within a second; ``Empty`` is still raised at the
    caller's deadline, so cell timeouts behave as before.
    """
    import asyncio

    from nbclient import NotebookClient

    class _Client(NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            if asyncio.iscoroutinefunction(kc.shell_channel.get_msg):  # the asyncio client nbclient uses
                kc.shell_channel.get_msg = sliced_get_msg(kc.shell_channel.get_msg)
            return kc

    return _Client


def sliced_get_msg(get_msg, slice_s: float = _SHELL_POLL_SLICE):
    """Wrap an async ``get_msg(timeout=...)`` so one long wait becomes fresh waits of ``slice_s``.

    Returns the first message any slice reads; raises ``queue.Empty`` once ``timeout`` seconds
    have passed in all (never, for ``timeout=None``), as the wrapped call would.
    """
    import asyncio
    from queue import Empty

    async def wrapper(timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = slice_s if deadline is None else deadline - time.monotonic()
            try:
                return await get_msg(timeout=max(0.0, min(slice_s, left)))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(0)

    return wrapper


def execute_notebook(
    path: str | os.PathLike,
    profile: str = "smoke",
    *,
    allow_errors: bool = False,
    timeout: int = 600,
    extra_env: dict[str, str] | None = None,
    seed: int = 0,
    extra_cells: list[Any] | None = None,
) -> tuple[Any, float, list[dict[str, Any]]]:
    """Execute one notebook; return (executed notebook, seconds, recorded metrics).

    ``extra_cells`` run after the notebook's own cells, in the same (warm) kernel; they come back
    in the executed notebook tagged ``coursekit-extra``. The kernel's peak memory, CPU seconds and
    every exercise check it ran land in ``nb.metadata["coursekit"]``.
    """
    import nbformat
    from papermill.parameterize import parameterize_notebook

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # papermill expects every cell to have a tags list
        cell.metadata.setdefault("tags", [])
    nb.metadata.setdefault("papermill", {})
    nb = parameterize_notebook(nb, {"PROFILE": profile, "SEED": seed}, kernel_name="python3", language="python")
    for cell in extra_cells or []:
        cell = nbformat.from_dict(copy.deepcopy(dict(cell)))
        cell.metadata.setdefault("tags", [])
        cell.metadata["tags"] = [*cell.metadata["tags"], EXTRA_TAG]
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_code_cell(_PROBE_CELL))  # measures the kernel; removed below
    with tempfile.TemporaryDirectory() as tmp:
        record_file = Path(tmp) / "metrics.jsonl"
        env = kernel_env(profile, {"COURSEKIT_RECORD_FILE": str(record_file), **(extra_env or {})})
        client = _client_class()(
            nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
            resources={"metadata": {"path": str(path.parent)}},
        )
        t0, started = time.perf_counter(), time.time()
        try:
            client.execute(env=env)
        except Exception as e:
            nb.cells.pop()  # the probe cell
            e.nb = nb  # type: ignore[attr-defined]  # the partly executed notebook, for the report
            raise
        seconds, finished = time.perf_counter() - t0, time.time()
        probe = nb.cells.pop()
        text = "".join(o.get("text", "") for o in probe.get("outputs", []) if o.get("output_type") == "stream")
        resources = json.loads(text.split(_PROBE, 1)[1]) if _PROBE in text else {}
        nb.metadata["coursekit"] = {"profile": profile, "seconds": round(seconds, 2), **resources}
        nb.metadata["coursekit"]["wall_clock"] = [round(started, 3), round(finished, 3)]  # Unix times, see time_breakdown
        metrics = []
        if record_file.exists():
            metrics = [json.loads(line) for line in record_file.read_text().splitlines() if line.strip()]
    return nb, seconds, metrics


def _stamp(timing: dict[str, str], key: str) -> float | None:
    from datetime import datetime

    value = timing.get(key)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def time_breakdown(nb: Any) -> dict[str, Any]:
    """Where an executed notebook's wall time went: kernel start (until the first cell is taken),
    the cells, the waits between cells (the longest one and the cell after it), kernel stop."""
    started, finished = nb.metadata.get("coursekit", {}).get("wall_clock", [None, None])
    spans = []
    for i, cell in enumerate(nb.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        busy, end = _stamp(timing, "iopub.status.busy"), _stamp(timing, "iopub.status.idle")
        if cell.get("cell_type") == "code" and busy and end:
            spans.append((i, busy, end))
    if started is None or not spans:
        return {}
    gaps = [(b - prev_end, i) for (_, _, prev_end), (i, b, _) in zip(spans, spans[1:])]
    longest = max(gaps, default=(0.0, None))
    return {"start": spans[0][1] - started, "cells": sum(e - b for _, b, e in spans),
            "between": sum(g for g, _ in gaps), "longest_wait": longest[0], "longest_wait_before": longest[1],
            "stop": finished - spans[-1][2]}


def cell_seconds(nb: Any) -> list[tuple[int, float]]:
    """``(cell index, seconds)`` for each executed code cell, from nbclient's timing metadata."""
    out = []
    for i, cell in enumerate(nb.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = _stamp(timing, "iopub.execute_input"), _stamp(timing, "shell.execute_reply")
        if cell.get("cell_type") == "code" and start and end:
            out.append((i, end - start))
    return out


def _device_name() -> str:
    import torch

    from coursekit.runtime import device

    dev = device()
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"{dev.type} ({os.cpu_count()} cores)"


def budget_table(smoke: dict[str, float], cpu: dict[str, float]) -> tuple[str, list[str]]:
    """Each notebook's smoke and cpu-profile times against the budgets, slowest first.

    Returns the Markdown table and the notebooks over *twice* a budget (the only failure: these
    timings come from shared, noisy machines).
    """
    from coursekit.runtime import PROFILES

    b_smoke, b_cpu = PROFILES["smoke"].budget_s, PROFILES["cpu"].budget_s
    names = sorted(set(smoke) | set(cpu), key=lambda n: -max(smoke.get(n, 0) / b_smoke, cpu.get(n, 0) / b_cpu))
    rows = [f"| notebook | smoke (s, budget {b_smoke:.0f}) | cpu (s, budget {b_cpu:.0f}) | |", "|---|---:|---:|---|"]
    failing = []
    for n in names:
        s, c = smoke.get(n), cpu.get(n)
        worst = max((s or 0) / b_smoke, (c or 0) / b_cpu)
        flag = "❌ over twice the budget" if worst > 2 else ("⚠️ over budget" if worst > 1 else "")
        if worst > 2:
            failing.append(n)
        rows.append(f"| {n} | {'—' if s is None else f'{s:.1f}'} | {'—' if c is None else f'{c:.0f}'} | {flag} |")
    return "\n".join(rows), failing


def budgets(times: Path, report_json: Path) -> int:
    """Print the budget table; ``times`` is the notebook gate's ``build/notebook-times/`` folder (or
    a JSON list of its rows). Smoke runs are judged by the kernel's CPU seconds where recorded: two
    notebooks run at once in the gate, so their wall times say more about the machine than about them."""
    rows: list[dict[str, Any]] = []
    if times.is_dir():
        rows = [json.loads(f.read_text()) for f in sorted(times.glob("*.json"))]
    elif times.exists():
        rows = json.loads(times.read_text())
    smoke = {r["name"]: r.get("cpu_seconds") or r["seconds"] for r in rows if r["version"] == "solution"}
    if not smoke:
        print(f"no smoke timings yet ({times}): run `make test` first")
    cpu = {r["name"]: r["seconds"] for r in json.loads(report_json.read_text())} if report_json.exists() else {}
    if not cpu:
        print(f"no cpu-profile report ({report_json}): run `make solutions PROFILE=cpu` and copy the report to docs/")
    table, failing = budget_table(smoke, cpu)
    print(table)
    if failing:
        print(f"\n{len(failing)} notebook(s) over twice their budget: {', '.join(failing)}")
        return 1
    return 0


# MathJax 3 for the exported pages, with the delimiters JupyterLab uses; loads the full TeX build
# (SVG output: one file, no web fonts) from beside this loader, so formulas render offline.
_MATHJAX_LOADER = r"""window.MathJax = {
  tex: {
    inlineMath: [['$', '$'], ['\\(', '\\)']],
    displayMath: [['$$', '$$'], ['\\[', '\\]']],
    processEscapes: true,
    processEnvironments: true,
    tags: 'ams',
  },
  svg: {fontCache: 'global'},
};
(function () {
  var script = document.createElement('script');
  script.src = document.currentScript.src.replace(/[^/]*$/, 'tex-svg-full.js');
  script.async = true;
  document.head.appendChild(script);
})();
"""


def _offline_mathjax(html_dir: Path) -> str:
    """Copy MathJax beside the HTML pages and return its URL relative to them (for nbconvert's
    ``mathjax_url``): the pages then render formulas with no network, where nbconvert's default
    loads MathJax from a CDN. MathJax 3.2.2 comes from the ``sphinx-mathjax-offline`` package
    (the ``dev`` extra)."""
    import shutil
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("sphinx-mathjax-offline")
        src = Path(str(dist.locate_file("sphinx-mathjax-offline/static/mathjax/tex-svg-full.js")))
    except PackageNotFoundError:
        src = None
    if src is None or not src.is_file():
        raise RuntimeError(
            "MathJax for the offline HTML pages is missing: install the course's dev extra "
            "(`make setup`, or pip install -e '.[dev]')"
        )
    dest = html_dir / "mathjax"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest / src.name)
    (dest / "offline.js").write_text(_MATHJAX_LOADER, encoding="utf-8")
    return "mathjax/offline.js"


def main(argv: list[str] | None = None) -> int:
    import nbformat
    from nbconvert import HTMLExporter

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "gpu"])
    parser.add_argument("--out", default=None, help="output folder (default build/<profile>)")
    parser.add_argument("--budgets", action="store_true",
                        help="compare build/notebook-times/ (smoke, from make test) and docs/report-cpu.json with the budgets")
    parser.add_argument("--merge", nargs="+", metavar="REPORT_JSON", default=None,
                        help="combine the rows of several report.json files (a later file wins for the "
                             "same notebook) into one report in --out, in course order; runs nothing")
    parser.add_argument("--notes", default=None, help="with --merge: a Markdown file appended to the report")
    parser.add_argument("names", nargs="*", help="notebook names or stems (default: all)")
    args = parser.parse_args(argv)
    if args.budgets:
        return budgets(ROOT / "build" / "notebook-times", ROOT / "docs" / "report-cpu.json")
    if args.merge:
        out = Path(args.out) if args.out else ROOT / "build" / args.profile
        out.mkdir(parents=True, exist_ok=True)
        merged = merge_reports([Path(f) for f in args.merge])
        notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else ""
        write_report(merged, out, args.profile, notes)
        print(f"wrote {out / 'report.md'} ({len(merged)} notebooks)")
        return 0

    out = Path(args.out) if args.out else ROOT / "build" / args.profile
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    (out / "html").mkdir(parents=True, exist_ok=True)
    paths = sorted((ROOT / "solutions").glob("*.ipynb"))
    if args.names:  # in the order given
        by_name = {n: p for p in paths for n in (p.name, p.stem)}
        unknown = [n for n in args.names if n not in by_name]
        if unknown:
            parser.error(f"no solution notebook {unknown}; available: {[p.stem for p in paths]}")
        paths = [by_name[n] for n in args.names]
    rows = []
    device = _device_name()
    exporter = HTMLExporter(mathjax_url=_offline_mathjax(out / "html"))
    for p in paths:
        print(f"▶ {p.name} ({args.profile}) ...", flush=True)
        status, metrics = "ok", []
        t0 = time.perf_counter()
        try:
            nb, seconds, metrics = execute_notebook(p, args.profile, timeout=1800)
        except Exception as e:  # keep going: the report says which notebook failed and why
            status, seconds = f"error: {type(e).__name__}", time.perf_counter() - t0
            nb = getattr(e, "nb", None) or nbformat.read(p, as_version=4)
            print(f"  ✖ {str(e).splitlines()[-1][:300] if str(e) else type(e).__name__}")
        nbformat.write(nb, out / "notebooks" / p.name)
        html_body, _ = exporter.from_notebook_node(nb)
        (out / "html" / (p.stem + ".html")).write_text(html_body, encoding="utf-8")
        res = nb.metadata.get("coursekit", {})
        peak = res.get("peak_cuda_mb", res.get("peak_rss_mb", float("nan")))
        modules = res.get("coursekit_modules", [])
        rows.append({"name": p.name, "status": status, "seconds": seconds, "peak_mb": peak,
                     "device": device, "profile": args.profile, "metrics": metrics,
                     "notebook_sha": notebook_hash(p), "coursekit_sha": sources_hash(modules) if modules else None,
                     "coursekit_modules": modules})
        print(f"  {status} in {seconds:.0f} s", flush=True)
        write_report(rows, out, args.profile)  # after every notebook: an interrupted build keeps its rows
    print(f"wrote {out / 'report.md'}")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
