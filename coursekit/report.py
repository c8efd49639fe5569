"""Recording a notebook's headline numbers for the instructor's results report.

A notebook calls ``record("psnr_dncnn", 29.1, baseline=27.4, baseline_name="NL-means")`` once
per headline result. The call prints one line for the reader; when the notebook runs inside the
instructor build (``make solutions``), the numbers are also appended to the file named by
``COURSEKIT_RECORD_FILE`` and end up in ``build/<profile>/report.md``.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

__all__ = ["record"]


def record(
    name: str,
    value: float,
    *,
    baseline: float | None = None,
    baseline_name: str = "baseline",
    higher_is_better: bool = True,
    unit: str = "",
) -> dict[str, Any]:
    """Record one headline metric (and its baseline, if the notebook compares with one)."""
    if not isinstance(name, str) or not name:
        raise ValueError("record() needs a non-empty metric name")
    value = float(value)
    entry: dict[str, Any] = {"name": name, "value": value, "unit": unit, "higher_is_better": higher_is_better}
    line = f"📊 {name} = {value:.4g}{unit}"
    if baseline is not None:
        baseline = float(baseline)
        beats = value > baseline if higher_is_better else value < baseline
        if not (math.isfinite(value) and math.isfinite(baseline)):
            beats = False
        entry.update(baseline=baseline, baseline_name=baseline_name, beats_baseline=beats)
        line += f"  vs {baseline_name} {baseline:.4g}{unit}  ({'better' if beats else 'NOT better'})"
    print(line)
    path = os.environ.get("COURSEKIT_RECORD_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
    return entry
