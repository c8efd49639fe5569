"""Recording a notebook's headline numbers, with their spread over seeds, for the results report.

A notebook calls :func:`record` once per headline result::

    runs = experiment.over_seeds(train_both, 3)            # {"conv": [..3..], "linear": [..3..]}
    record("digit accuracy, small CNN", runs["conv"], baseline=runs["linear"],
           baseline_name="linear classifier", baseline_kind="competitor")

The call prints one line for the reader (mean ± standard deviation, n seeds, the verdict); when
the notebook runs inside the instructor build (``make solutions``) the entry is also appended to
the file named by ``COURSEKIT_RECORD_FILE`` and ends up in ``build/<profile>/report.md``.
This module holds only what a notebook's kernel needs (recording and the verdict); reading,
merging and rendering reports is instructor tooling, in ``tools/report.py`` of the repository.
A single number still works (``record("psnr", 29.1, baseline=27.4)``); it is marked "1 seed".

**The verdict rule** (implemented once, in :func:`verdict`). With per-seed values ``a`` (the
method) and ``b`` (the baseline), means ``m_a, m_b``, sample standard deviations ``s_a, s_b``
and standard errors ``se = s / sqrt(n)``, the method **beats** its baseline when its mean is
better by more than the sum of both standard errors::

    better(m_a, m_b) by more than  se_a + se_b     -> "beats"
    worse by more than se_a + se_b                 -> "loses"
    otherwise                                      -> "tie" (inside the spread)

and it needs at least two seeds of the method: with one, the spread is not measured and the
verdict is "1 seed" (the direction is still printed, it is never counted as a win). A baseline
given as one number (a fixed classical method on fixed data) is taken as exact (``se_b = 0``);
pass its per-seed values whenever it depends on the seed (a trained competitor, data drawn per
seed).

Why this rule and not a one-sided Welch t-test: the course runs 2–3 seeds per arm on a CPU. A
Welch test then has one to four degrees of freedom, so at the 5 % level it asks for a t of 2.1
(four) to 6.3 (one): it almost never calls a win, and it is undefined when a side has no spread (a fixed
baseline, a deterministic smoke run). The standard-error margin is a screen, not a significance
test: it says the gap between the means is larger than how much those means wobble from seed
to seed. For two equal arms it asks for a gap of about 1.4 standard errors of the difference
(one-sided p ≈ 0.08 if the spreads were known); with spreads estimated from 2–3 seeds it is
weaker than that, so a "beats" from 2 seeds is a hint and a "tie" is an honest "cannot tell".

**Baseline kinds.** ``baseline_kind`` says what the baseline is: ``"competitor"`` (a real
alternative: the same net without the idea, a classical method) is what a result is judged by;
``"untrained"``, ``"chance"``, ``"identity"``, ``"real-vs-real"``, ``"constant"`` and
``"oracle"`` are floors and ceilings shown for scale. The report counts wins against
competitors only and lists floors separately; a baseline without a kind is "not stated".
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any

__all__ = ["BASELINE_KINDS", "FLOOR_KINDS", "NOT_STATED", "ahead", "mean_std_se", "record", "verdict"]

FLOOR_KINDS = ("untrained", "chance", "identity", "real-vs-real", "constant", "oracle")
BASELINE_KINDS = ("competitor", *FLOOR_KINDS)
NOT_STATED = "not stated"


def _values(x: float | Sequence[float], what: str) -> list[float]:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return [float(x)]
    if hasattr(x, "tolist"):  # a tensor or an array
        x = x.tolist()
    if isinstance(x, (int, float)):
        return [float(x)]
    try:
        out = [float(v) for v in x]
    except TypeError as e:
        raise TypeError(f"{what} must be a number or a sequence of per-seed numbers, got {type(x).__name__}") from e
    if not out:
        raise ValueError(f"{what} is an empty sequence: pass at least one seed's value")
    return out


def mean_std_se(values: list[float]) -> tuple[float, float, float]:
    """(mean, sample standard deviation, standard error) of per-seed values; the spread of one value is 0."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0, 0.0
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, std, std / math.sqrt(n)


def verdict(values: Sequence[float], baseline: Sequence[float], higher_is_better: bool = True) -> str:
    """The course's one rule for "beats its baseline" (see the module docstring).

    Returns ``"beats"``, ``"tie"``, ``"loses"``, ``"1 seed"`` (the method has one value: spread
    not measured) or ``"not finite"``.
    """
    a, b = _values(values, "values"), _values(baseline, "baseline")
    if not all(math.isfinite(v) for v in a + b):
        return "not finite"
    if len(a) < 2:
        return "1 seed"
    (ma, _, se_a), (mb, _, se_b) = mean_std_se(a), mean_std_se(b)
    gain = (ma - mb) if higher_is_better else (mb - ma)
    margin = se_a + se_b
    if gain > margin:
        return "beats"
    if -gain > margin:
        return "loses"
    return "tie"


def _fmt(mean: float, std: float, n: int, unit: str = "") -> str:
    if n < 2:
        return f"{mean:.4g}{unit} (1 seed)"
    return f"{mean:.4g} ± {std:.2g}{unit} (n={n})"


def ahead(entry: dict[str, Any]) -> bool:
    """Whether the method's mean is on the better side of the baseline's (a direction, not a verdict)."""
    a, b = entry["value"], entry["baseline"]
    return a > b if entry.get("higher_is_better", True) else a < b


def record(
    name: str,
    value: float | Sequence[float],
    *,
    baseline: float | Sequence[float] | None = None,
    baseline_name: str = "baseline",
    baseline_kind: str | None = None,
    higher_is_better: bool = True,
    unit: str = "",
    seeds: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Record one headline metric: one value or one per seed, beside its baseline's.

    ``value`` and ``baseline`` are numbers or sequences of per-seed numbers (``seeds`` names the
    seeds, in the same order). ``baseline_kind`` is ``"competitor"`` or a floor/ceiling kind (see
    :data:`BASELINE_KINDS`). Returns the entry written to the report, with ``verdict`` and
    ``beats_baseline`` (True only for the verdict "beats").
    """
    if not isinstance(name, str) or not name:
        raise ValueError("record() needs a non-empty metric name")
    values = _values(value, "value")
    mean, std, _ = mean_std_se(values)
    entry: dict[str, Any] = {"name": name, "value": mean, "values": values, "n": len(values), "std": std,
                             "unit": unit, "higher_is_better": higher_is_better}
    if seeds is not None:
        seeds = [int(s) for s in seeds]
        if len(seeds) != len(values):
            raise ValueError(f"seeds names {len(seeds)} seeds but value has {len(values)} values; give one seed per value")
        entry["seeds"] = seeds
    line = f"📊 {name} = {_fmt(mean, std, len(values), unit)}"
    if baseline is not None:
        if baseline_kind is not None and baseline_kind not in BASELINE_KINDS:
            raise ValueError(f"baseline_kind must be one of {', '.join(BASELINE_KINDS)}, got {baseline_kind!r} "
                             "('competitor' for a real alternative; the others are floors/ceilings shown for scale)")
        b_values = _values(baseline, "baseline")
        if len(b_values) > 1 and len(b_values) != len(values):
            raise ValueError(f"the baseline has {len(b_values)} per-seed values and the method {len(values)}: "
                             "run both arms over the same seeds (or give the baseline as one exact number)")
        b_mean, b_std, _ = mean_std_se(b_values)
        v = verdict(values, b_values, higher_is_better)
        entry.update(baseline=b_mean, baseline_values=b_values, baseline_n=len(b_values), baseline_std=b_std,
                     baseline_name=baseline_name, baseline_kind=baseline_kind or NOT_STATED, verdict=v,
                     beats_baseline=v == "beats")
        kind = baseline_kind or "kind not stated"
        line += f"  vs {baseline_name} [{kind}] {_fmt(b_mean, b_std, len(b_values), unit)}  → {_verdict_text(entry)}"
    print(line)
    path = os.environ.get("COURSEKIT_RECORD_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
    return entry


def _verdict_text(entry: dict[str, Any]) -> str:
    v = entry["verdict"]
    if v == "1 seed":
        return f"{'ahead' if ahead(entry) else 'not ahead'} on 1 seed (spread not measured)"
    if v == "tie":
        return "tie: the gap is inside the spread"
    if v == "not finite":
        return "not finite"
    return {"beats": "beats it beyond the spread", "loses": "loses beyond the spread"}[v]
