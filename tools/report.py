"""The results report: reading, checking, merging and rendering the rows of an instructor build.

A build (``python -m tools.build``) collects one row per notebook: status, time, peak memory,
the hashes it ran with and the metrics its kernel recorded with ``coursekit.report.record``.
This module turns rows into ``report.md``, ``report.html`` and ``report.json``
(:func:`write_report`), combines several builds' rows (:func:`merge_reports`), brings rows written
before seeds to the current form (:func:`normalise`), counts wins for the summary
(:func:`summarise`) and tells stale rows from current ones (:func:`check_rows`, with
:func:`notebook_hash` and :func:`sources_hash`). The verdict itself is
:func:`coursekit.report.verdict`: the one rule, which notebooks also use.

Instructor tooling: it runs from a checkout of the repository (``ROOT`` is the folder above
``tools/``), never from an installed ``coursekit``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from coursekit.report import FLOOR_KINDS, NOT_STATED, ahead, mean_std_se, verdict

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["VERDICT_MARKS", "check_rows", "merge_reports", "normalise", "notebook_hash", "sources_hash",
           "summarise", "write_report"]

VERDICT_MARKS = {"beats": "✅", "tie": "≈", "loses": "❌", "1 seed": "·", "not finite": "⚠️"}


def normalise(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry in the current form: old single-value entries (before seeds) gain ``values``,
    ``n``, ``std``, a ``baseline_kind`` of "not stated" and a ``verdict`` from :func:`coursekit.report.verdict`."""
    e = dict(entry)
    e.setdefault("values", [e["value"]])
    e.setdefault("n", len(e["values"]))
    e.setdefault("std", mean_std_se([float(v) for v in e["values"]])[1])
    if "baseline" in e:
        e.setdefault("baseline_values", [e["baseline"]])
        e.setdefault("baseline_n", len(e["baseline_values"]))
        e.setdefault("baseline_std", mean_std_se([float(v) for v in e["baseline_values"]])[1])
        e.setdefault("baseline_kind", NOT_STATED)
        e["verdict"] = verdict(e["values"], e["baseline_values"], e.get("higher_is_better", True))
        e["beats_baseline"] = e["verdict"] == "beats"
    return e


def summarise(metrics: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts for the report's summary: wins beyond the spread against real competitors only.

    Returns ``competitor`` (verdict → count, compared against competitors), ``floors`` (the
    entries whose baseline is a floor or ceiling), ``not_stated`` (entries without a kind:
    counted apart, neither as wins nor as floors) and ``single`` (competitor entries on 1 seed).
    """
    out: dict[str, Any] = {"competitor": {}, "floors": [], "not_stated": [], "no_baseline": 0}
    for m in map(normalise, metrics):
        if "baseline" not in m:
            out["no_baseline"] += 1
        elif m["baseline_kind"] in FLOOR_KINDS:
            out["floors"].append(m)
        elif m["baseline_kind"] == NOT_STATED:
            out["not_stated"].append(m)
        else:
            out["competitor"][m["verdict"]] = out["competitor"].get(m["verdict"], 0) + 1
    return out


def notebook_hash(path: str | os.PathLike) -> str:
    """SHA-256 (first 16 hex digits) of a notebook's code cells, in order.

    Markdown and outputs do not count (they do not change a number); nor does the Colab set-up
    cell (tagged ``colab-setup``), which does nothing outside Colab.
    """
    import nbformat

    nb = nbformat.read(Path(path), as_version=4)
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code" and "colab-setup" not in cell.metadata.get("tags", []):
            h.update(cell.source.encode("utf-8") + b"\0")
    return h.hexdigest()[:16]


def sources_hash(modules: list[str], package_dir: Path = ROOT / "coursekit") -> str:
    """SHA-256 (first 16 hex digits) of the source files of the ``coursekit`` modules named
    (``"coursekit.train"`` ...), read from ``package_dir``: what a notebook ran with."""
    h = hashlib.sha256()
    for name in sorted(set(modules)):
        parts = name.split(".")[1:]
        base = package_dir.joinpath(*parts)
        f = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        h.update(name.encode() + b"\0" + (f.read_bytes() if f.exists() else b"<missing>") + b"\0")
    return h.hexdigest()[:16]


def check_rows(rows: list[dict[str, Any]], root: Path = ROOT) -> dict[str, list[str]]:
    """Which report rows still describe the course in ``root``.

    Returns ``stale`` (rows whose notebook hash no longer matches ``solutions/NAME``: rerun them),
    ``sources_changed`` (rows whose ``coursekit`` modules changed since: the numbers may move),
    ``legacy`` (rows written before hashes existed: not verified) and ``missing`` (no such
    solution notebook any more).
    """
    out: dict[str, list[str]] = {"stale": [], "sources_changed": [], "legacy": [], "missing": []}
    for r in rows:
        nb = root / "solutions" / r["name"]
        if not nb.exists():
            out["missing"].append(r["name"])
        elif not r.get("notebook_sha"):
            out["legacy"].append(r["name"])
        elif r["notebook_sha"] != notebook_hash(nb):
            out["stale"].append(r["name"])
        elif r.get("coursekit_sha") and r["coursekit_sha"] != sources_hash(r.get("coursekit_modules", []),
                                                                          root / "coursekit"):
            out["sources_changed"].append(r["name"])
    return out


def _side(mean: float, std: float, n: int, unit: str = "") -> str:
    return f"{mean:.4g}{unit} (1 seed)" if n < 2 else f"{mean:.4g} ± {std:.2g}{unit} (n={n})"


def _metric_cells(m: dict[str, Any]) -> list[str]:
    """notebook-independent cells of one metric row: metric, result, baseline, kind, baseline value, verdict."""
    m = normalise(m)
    unit = m.get("unit", "")
    cells = [m["name"], _side(m["value"], m["std"], m["n"], unit)]
    if "baseline" not in m:
        return cells + ["—", "—", "—", "—"]
    v = m["verdict"]
    text = f"{VERDICT_MARKS.get(v, '')} {v}"
    if v == "1 seed":
        text += " (ahead)" if ahead(m) else " (not ahead)"
    return cells + [m.get("baseline_name", "baseline"), m["baseline_kind"],
                    _side(m["baseline"], m["baseline_std"], m["baseline_n"], unit), text]


def _summary(rows: list[dict[str, Any]], checked: dict[str, list[str]]) -> list[str]:
    s = summarise([m for r in rows for m in r["metrics"]])
    comp = s["competitor"]
    n_comp = sum(comp.values())
    lines = [
        f"Wins beyond the spread against real competitors: {comp.get('beats', 0)} of {n_comp} "
        f"(ties inside the spread {comp.get('tie', 0)}, losses {comp.get('loses', 0)}, "
        f"1 seed so the spread is not measured {comp.get('1 seed', 0)}, not finite {comp.get('not finite', 0)}).",
        f"Floors and ceilings shown for scale, not counted: {len(s['floors'])}"
        + (" (" + "; ".join(f"{m['name']} vs {m['baseline_kind']}" for m in s["floors"]) + ")" if s["floors"] else "")
        + ".",
    ]
    if s["not_stated"]:
        ns = s["not_stated"]
        single = [m for m in ns if m["verdict"] == "1 seed"]
        lines.append(f"Baseline kind not stated, not counted: {len(ns)} ({len(single)} on 1 seed, ahead in "
                     f"{sum(map(ahead, single))}; record them with baseline_kind='competitor' or a floor kind).")
    if checked["legacy"]:
        lines.append(f"Legacy rows, not verified (written before rows carried hashes): {len(checked['legacy'])} notebooks.")
    if checked["stale"]:
        lines.append(f"⚠️ Stale rows (the notebook changed since they ran; rerun them): {', '.join(checked['stale'])}.")
    if checked["sources_changed"]:
        lines.append(f"coursekit sources changed since these rows ran: {', '.join(checked['sources_changed'])}.")
    return lines


def _ran_with(r: dict[str, Any], checked: dict[str, list[str]]) -> str:
    if r["name"] in checked["stale"]:
        return f"⚠️ stale: notebook changed ({r['notebook_sha'][:8]})"
    if not r.get("notebook_sha"):
        return "legacy, not verified"
    s = f"{r['notebook_sha'][:8]} · {(r.get('coursekit_sha') or '?')[:8]}"
    return s + (" (coursekit changed since)" if r["name"] in checked["sources_changed"] else "")


def write_report(rows: list[dict[str, Any]], out: Path, profile: str, notes: str = "", root: Path = ROOT) -> None:
    """Write ``report.md``, ``report.html`` and ``report.json`` for these rows into ``out``.

    Each metric row shows mean ± standard deviation and n seeds for the method and its baseline,
    the baseline's kind and the verdict of :func:`coursekit.report.verdict`; the HTML adds each
    seed's values in a details block. Rows are checked against the notebooks in ``root``.
    """
    import html

    rows = [{**r, "metrics": [normalise(m) for m in r["metrics"]]} for r in rows]
    checked = check_rows(rows, root)
    head = [f"# Results report — profile `{profile}`", "",
            f"Device: {rows[0]['device'] if rows else '?'} · Python {sys.version.split()[0]} · "
            f"generated {time.strftime('%Y-%m-%d %H:%M')}", ""]
    nb_header = ["notebook", "status", "time (s)", "peak memory (MB, GPU if used else RAM)",
                 "ran with (notebook · coursekit hash)"]
    nb_rows = [[r["name"], r["status"], f"{r['seconds']:.0f}", f"{r['peak_mb']:.0f}", _ran_with(r, checked)]
               for r in rows]
    m_header = ["notebook", "metric", "result (mean ± sd, n seeds)", "baseline", "baseline kind",
                "baseline (mean ± sd, n seeds)", "verdict"]
    m_rows = [(r, m, [r["name"], *_metric_cells(m)]) for r in rows for m in r["metrics"]]
    total = sum(r["seconds"] for r in rows)
    tail = [f"Total execution time: {total / 60:.1f} min for {len(rows)} notebooks.", *_summary(rows, checked),
            "A result beats its baseline when its mean is better by more than the sum of both standard errors "
            "(`coursekit.report.verdict`); with 1 seed the spread is not measured and nothing is counted."]

    def md_table(header: list[str], body: list[list[str]]) -> list[str]:
        esc = [[c.replace("|", "\\|") for c in row] for row in body]
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(c) + " |" for c in esc)]

    md = "\n".join([*head, *md_table(nb_header, nb_rows), "", "## Metrics", "",
                    *md_table(m_header, [c for _, _, c in m_rows]), "", *(f"- {t}" for t in tail)]) + "\n"
    md += f"\n{notes.strip()}\n" if notes.strip() else ""
    (out / "report.md").write_text(md, encoding="utf-8")
    (out / "report.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")

    def html_table(header: list[str], body: list[list[str]]) -> str:
        th = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        return f"<table><tr>{th}</tr>" + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
                                                 for row in body) + "</table>"

    def seeds_block(m: dict[str, Any]) -> str:
        seeds = m.get("seeds") or list(range(m["n"]))
        label = "seed" if m.get("seeds") else "run"
        items = [f"{label} {s}: {v:.4g}" + (f" vs {m['baseline_values'][i]:.4g}"
                                              if "baseline" in m and len(m["baseline_values"]) == m["n"] else "")
                 for i, (s, v) in enumerate(zip(seeds, m["values"]))]
        if "baseline" in m and len(m["baseline_values"]) != m["n"]:
            items.append("baseline: " + ", ".join(f"{v:.4g}" for v in m["baseline_values"]))
        return f"<details><summary>per seed</summary>{html.escape('; '.join(items))}</details>"

    def hover(m: dict[str, Any], text: str) -> str:
        return f"<span title='{html.escape(', '.join(f'{v:.4g}' for v in m['values']), quote=True)}'>{html.escape(text)}</span>"

    m_html = [[html.escape(c) for c in cells[:2]] + [hover(m, cells[2]), html.escape(cells[3]) + seeds_block(m)]
              + [html.escape(c) for c in cells[4:]] for _, m, cells in m_rows]
    try:
        import markdown  # optional

        notes_html = markdown.markdown(notes, extensions=["tables"])
    except ImportError:
        notes_html = f"<pre style='white-space:pre-wrap'>{html.escape(notes.strip())}</pre>" if notes.strip() else ""
    body = (f"<h1>Results report — profile <code>{html.escape(profile)}</code></h1><p>{html.escape(head[2])}</p>"
            + html_table(nb_header, [[html.escape(c) for c in row] for row in nb_rows])
            + "<h2>Metrics</h2>" + html_table(m_header, m_html)
            + "".join(f"<p>{html.escape(t)}</p>" for t in tail) + notes_html)
    (out / "report.html").write_text(
        f"<!doctype html><meta charset='utf-8'><title>coursekit report ({profile})</title>"
        f"<style>body{{font-family:sans-serif;max-width:90em;margin:2em auto}}td,th{{border:1px solid #ccc;"
        f"padding:4px;vertical-align:top}}table{{border-collapse:collapse}}</style>{body}",
        encoding="utf-8",
    )


def merge_reports(files: list[Path]) -> list[dict[str, Any]]:
    """Rows of several ``report.json`` files, one per notebook (the last file wins), in course order.

    An instructor who reran a few notebooks merges the new rows into the full report this way.
    Rows from before seeds (one value per metric, no baseline kind) are brought to the current
    form with :func:`coursekit.report.normalise`; rows keep the hashes they have (none for old rows).
    """
    by_name: dict[str, dict[str, Any]] = {}
    for f in files:
        if not f.exists():
            raise FileNotFoundError(f"{f} not found: pass the report.json written by a build")
        for row in json.loads(f.read_text()):
            by_name[row["name"]] = {**row, "metrics": [normalise(m) for m in row.get("metrics", [])]}
    return [by_name[n] for n in sorted(by_name)]
