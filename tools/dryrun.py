"""The gpu profile's code paths, run on the CPU: ``python -m tools.dryrun`` (``make test-gpu-dry``).

Every solution notebook executes with the ``gpu`` profile, so it takes the gpu branches of every
``P.pick(...)`` (sizes, widths, layer counts, batch sizes), but on the CPU and with every training
loop capped at a few steps (``COURSEKIT_STEP_CAP``). Shape and configuration errors in paths that
only the gpu profile takes show up here, on a machine without a GPU, in minutes rather than on a
student's Colab session.

What a dry run cannot show: speed, memory on the card, and numerical behaviour under fp16/bf16
(run ``tests/test_gpu.py`` and the gpu profile on a CUDA machine for those). Its numbers mean
nothing: two training steps learn nothing.

Example counts (``n_train``/``n_test``) are capped by ``COURSEKIT_MAX_EXAMPLES`` (default here
256, read by :func:`coursekit.runtime.profile`: two gpu-profile batches) so that generating 20 000 examples on two CPU
cores does not dominate the run; the sizes of the examples and of the models are the gpu
profile's own.

Instructor tooling: run it from the repository root of a checkout (``tools`` is not installed).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import traceback
from pathlib import Path

from .build import ROOT, cell_seconds, execute_notebook

__all__ = ["DRY_ENV", "main", "run"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # IPython colours its tracebacks

#: The environment of a dry run: gpu profile, CPU, two steps per training loop, capped example counts.
DRY_ENV = {
    "COURSEKIT_DEVICE": "cpu",
    "COURSEKIT_STEP_CAP": "2",
    "COURSEKIT_MAX_EXAMPLES": "256",
}


def run(names: list[str] | None = None, *, timeout: int = 900, out: Path | None = None) -> list[dict]:
    """Execute the named solution notebooks (default: all) in the gpu profile's dry run."""
    paths = sorted((ROOT / "solutions").glob("*.ipynb"))
    if names:
        wanted = {n.removesuffix(".ipynb") for n in names}
        paths = [p for p in paths if p.stem in wanted or p.stem.split("_")[0] in wanted]
        if not paths:
            raise SystemExit(f"no solution notebook matches {names}")
    rows = []
    for path in paths:
        t0 = time.perf_counter()
        try:
            nb, seconds, _ = execute_notebook(path, "gpu", timeout=timeout, extra_env=DRY_ENV)
            rows.append({"name": path.name, "seconds": seconds, "error": ""})
        except Exception as e:  # report every notebook, then fail
            nb = getattr(e, "nb", None)
            text = _ANSI.sub("", "".join(traceback.format_exception_only(type(e), e))).strip()  # no colour codes
            rows.append({"name": path.name, "seconds": time.perf_counter() - t0, "error": text[-1500:]})
        row = rows[-1]
        slowest = sorted(cell_seconds(nb), key=lambda c: -c[1])[:3] if nb is not None else []
        row["slowest"] = ", ".join(f"cell {i}: {s:.0f} s" for i, s in slowest)
        print(f"{row['name']:<50} {row['seconds']:7.1f} s  {'FAILED' if row['error'] else 'ok':<6}  "
              f"slowest {row['slowest']}", flush=True)
        if row["error"]:
            print("    " + row["error"].strip().splitlines()[-1][:300], flush=True)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        total = sum(r["seconds"] for r in rows)
        lines = [f"# gpu profile, dry run on the CPU ({time.strftime('%Y-%m-%d %H:%M')})", "",
                 f"Environment: {' '.join(f'{k}={v}' for k, v in DRY_ENV.items())}. "
                 f"{len(rows)} notebooks, {total:.0f} s in all.", "",
                 "| notebook | seconds | result | slowest cells |", "|---|---:|---|---|"]
        lines += [f"| {r['name']} | {r['seconds']:.1f} | {'FAILED' if r['error'] else 'ok'} | {r['slowest']} |"
                  for r in rows]
        for r in rows:
            if r["error"]:
                lines += ["", f"## {r['name']}", "", "```", r["error"], "```"]
        (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebook names or numbers such as 2.6 (default: all)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "gpu-dry", help="where report.md goes")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    rows = run(args.names, timeout=args.timeout, out=args.out)
    failed = [r for r in rows if r["error"]]
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed in {time.perf_counter() - t0:.0f} s "
          f"(report: {args.out / 'report.md'})")
    for r in failed:
        print(f"\n--- {r['name']}\n{r['error']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
