"""Running an experiment over several seeds, inside the notebook's time budget.

A headline comparison is worth as much as its spread: :func:`over_seeds` runs a
training-and-evaluation function once per seed (seeding Python, NumPy and PyTorch first, with
:func:`coursekit.runtime.seed_everything`) and returns every seed's value, ready for
:func:`coursekit.report.record`::

    def train_both(seed, seconds):
        data = glyphs.digits(P.n_train, seed=seed)
        return {"conv": accuracy(train(conv_net(), data, seconds / 2)),
                "linear": accuracy(train(linear(), data, seconds / 2))}

    runs = over_seeds(train_both, P.n_seeds, seconds=60)   # 60 s split over the seeds
    record("digit accuracy", runs["conv"], baseline=runs["linear"], baseline_kind="competitor",
           seeds=runs.seeds)

The time budget is split between the seeds (``share="split"``, the default: each of 3 seeds gets
20 s of a 60 s budget) or given whole to each seed (``share="each"``). In a profile with a step
cap (smoke) training loops count steps, not seconds, so the budget only matters on cpu and gpu.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable
from typing import Any

from .runtime import active_profile, seed_everything

__all__ = ["SeedRuns", "SeedValues", "over_seeds"]


class SeedValues(list):
    """What :func:`over_seeds` returns when the function returns a number: the values, one per
    seed, with ``.seeds`` and ``.seconds`` (each seed's run time)."""

    seeds: list[int]
    seconds: list[float]


class SeedRuns(dict):
    """What :func:`over_seeds` returns when the function returns a dict per seed:
    ``runs[key]`` is the list of that key's values (one per seed); ``runs.seeds`` the seeds."""

    seeds: list[int]
    seconds: list[float]


def _seed_list(seeds: int | Iterable[int] | None, first: int) -> list[int]:
    if seeds is None:
        seeds = active_profile().n_seeds
    if isinstance(seeds, bool):
        raise TypeError("seeds must be a count or a list of ints, got a bool")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"run over at least one seed, got {seeds}")
        return list(range(first, first + seeds))
    out = [int(s) for s in seeds]
    if not out:
        raise ValueError("the list of seeds is empty: pass a count (e.g. 3) or a list such as [0, 1, 2]")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds repeat in {out}: each seed must be different, or the spread is not measured")
    return out


def over_seeds(
    fn: Callable[..., Any],
    seeds: int | Iterable[int] | None = None,
    *,
    seconds: float | None = None,
    share: str = "split",
    first: int = 0,
    desc: str = "seeds",
    progress: bool = True,
) -> Any:
    """Run ``fn(seed)`` (or ``fn(seed, seconds)``) once per seed; return every seed's value.

    ``seeds`` is a count (``3`` runs seeds ``first, first+1, first+2``), a list of seeds, or None
    for the profile's ``n_seeds`` (smoke 2, cpu 3, gpu 5). Before each call every random generator
    is seeded with that seed. With ``seconds``, ``fn`` must accept a second argument (or a
    ``seconds=`` keyword): its time budget, ``seconds / len(seeds)`` for ``share="split"``,
    ``seconds`` for ``share="each"``.

    Returns a :class:`SeedValues` list of the values (when ``fn`` returns a number), or a :class:`SeedRuns` dict of
    lists (when ``fn`` returns a dict: the same keys every seed) with ``.seeds`` and ``.seconds``.
    """
    from tqdm.auto import tqdm

    if share not in ("split", "each"):
        raise ValueError(f"share must be 'split' (divide the budget between the seeds) or 'each', got {share!r}")
    seed_list = _seed_list(seeds, first)
    budget = None
    if seconds is not None:
        if not seconds > 0:
            raise ValueError(f"seconds must be positive, got {seconds}")
        budget = seconds / len(seed_list) if share == "split" else float(seconds)
        params = inspect.signature(fn).parameters
        takes = "seconds" in params or sum(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params.values()) >= 2 or any(
            p.kind == p.VAR_POSITIONAL for p in params.values())
        if not takes:
            raise TypeError("over_seeds(..., seconds=...) passes each seed its time budget: define the function "
                            "as fn(seed, seconds) (or drop seconds= and budget the training yourself)")
    results, times = [], []
    with tqdm(seed_list, desc=desc, disable=not progress, leave=False, dynamic_ncols=True) as bar:
        for seed in bar:
            seed_everything(seed)
            t0 = time.perf_counter()
            out = fn(seed) if budget is None else fn(seed, budget)
            times.append(time.perf_counter() - t0)
            results.append(out)
            if isinstance(out, dict):
                bar.set_postfix({k: f"{float(v):.4g}" for k, v in list(out.items())[:3]}, refresh=False)
            else:
                bar.set_postfix(value=f"{float(out):.4g}", refresh=False)
    if progress:
        print(f"ran {len(seed_list)} seed(s) {seed_list} in {sum(times):.1f} s")
    if all(isinstance(r, dict) for r in results):
        keys = list(results[0])
        if any(list(r) != keys for r in results):
            raise ValueError(f"fn returned different keys for different seeds: {[sorted(r) for r in results]}")
        runs = SeedRuns({k: [float(r[k]) for r in results] for k in keys})
        runs.seeds, runs.seconds = seed_list, times
        return runs
    if any(isinstance(r, dict) for r in results):
        raise TypeError("fn returned a dict for some seeds and not for others: return the same kind every time")
    values = SeedValues(float(r) for r in results)
    values.seeds, values.seconds = seed_list, times
    return values
