"""Results with their spread (issue 19): the verdict rule, baseline kinds, running over seeds,
the report's rows and summary, the merge of old single-seed rows and stale-row detection."""

import json
import math
import random

import pytest
import torch

from coursekit import report
from coursekit.experiment import over_seeds
from coursekit.runtime import PROFILES
from tools import report as reports

# --- the verdict rule, on constructed cases ---------------------------------------------------

def test_clear_win_beyond_the_spread():
    assert report.verdict([0.90, 0.91, 0.92], [0.80, 0.81, 0.79]) == "beats"
    # lower is better: an error well below the baseline's
    assert report.verdict([0.10, 0.11, 0.12], [0.30, 0.31, 0.29], higher_is_better=False) == "beats"


def test_tie_inside_the_noise_even_though_the_mean_is_ahead():
    a, b = [0.967, 0.940, 0.990], [0.961, 0.985, 0.930]  # means 0.9657 vs 0.9587; spreads ~0.025
    assert sum(a) / 3 > sum(b) / 3
    assert report.verdict(a, b) == "tie"


def test_the_margin_is_the_sum_of_both_standard_errors():
    se = 1 / math.sqrt(2)
    a = [1.0 - se, 1.0 + se]  # mean 1, sd 1, standard error 1/sqrt(2)
    for gap, want in ((1.40, "tie"), (1.43, "beats"), (-1.43, "loses")):  # margin: 2/sqrt(2) ≈ 1.414
        b = [x - gap for x in a]  # the same spread, the mean `gap` lower
        assert report.verdict(a, b) == want, (gap, want)


def test_clear_loss():
    assert report.verdict([0.40, 0.41, 0.42], [0.80, 0.81, 0.79]) == "loses"
    assert report.verdict([5.0, 5.1], [1.0, 1.1], higher_is_better=False) == "loses"


def test_one_seed_is_never_a_win_and_says_so(capsys):
    assert report.verdict([0.99], [0.10]) == "1 seed"
    assert report.verdict(0.99, [0.10, 0.11]) == "1 seed"
    e = report.record("acc", 0.99, baseline=0.10, baseline_kind="competitor")
    assert e["verdict"] == "1 seed" and e["beats_baseline"] is False and e["n"] == 1
    out = capsys.readouterr().out
    assert "(1 seed)" in out and "ahead on 1 seed (spread not measured)" in out


def test_an_exact_baseline_has_no_spread_and_nan_never_wins():
    assert report.verdict([0.50, 0.52, 0.51], 0.40) == "beats"  # a fixed classical method, taken as exact
    assert report.verdict([0.50, 0.52, 0.51], 0.51) == "tie"
    assert report.verdict([0.5, float("nan")], [0.1, 0.2]) == "not finite"


def test_record_per_seed_values_prints_mean_sd_n_and_writes_them(tmp_path, monkeypatch, capsys):
    path = tmp_path / "m.jsonl"
    monkeypatch.setenv("COURSEKIT_RECORD_FILE", str(path))
    report.record("acc", [0.9, 0.92, 0.91], baseline=torch.tensor([0.8, 0.81, 0.79]), baseline_name="linear",
                  baseline_kind="competitor", seeds=[0, 1, 2])
    out = capsys.readouterr().out
    assert "0.91 ± 0.01 (n=3)" in out and "linear [competitor]" in out and "beats it beyond the spread" in out
    row = json.loads(path.read_text())
    assert row["values"] == [0.9, 0.92, 0.91] and row["seeds"] == [0, 1, 2] and row["n"] == 3
    assert row["verdict"] == "beats" and row["beats_baseline"] is True and row["baseline_kind"] == "competitor"
    assert abs(row["std"] - 0.01) < 1e-9 and abs(row["baseline"] - 0.8) < 1e-6


def test_record_rejects_what_it_cannot_judge():
    with pytest.raises(ValueError, match="baseline_kind must be one of"):
        report.record("x", [1, 2], baseline=[0, 1], baseline_kind="weak")
    with pytest.raises(ValueError, match="same seeds"):
        report.record("x", [1, 2, 3], baseline=[0, 1])
    with pytest.raises(ValueError, match="one seed per value"):
        report.record("x", [1, 2], seeds=[0])
    with pytest.raises(ValueError, match="empty"):
        report.record("x", [])


# --- baseline kinds: floors are not counted ---------------------------------------------------

def _m(name, values, baseline, kind):
    return {"name": name, "value": sum(values) / len(values), "values": values, "baseline": sum(baseline) / len(baseline),
            "baseline_values": baseline, "baseline_kind": kind, "higher_is_better": True}


def test_floors_are_listed_apart_and_never_counted_as_wins():
    metrics = [_m("fid vs untrained", [9.0, 9.1], [1.0, 1.1], "untrained"),
               _m("acc vs chance", [0.9, 0.91], [0.1, 0.1], "chance"),
               _m("acc vs linear", [0.9, 0.91], [0.5, 0.51], "competitor"),
               _m("acc vs plain", [0.90, 0.95], [0.92, 0.90], "competitor"),
               {"name": "old", "value": 1.0, "baseline": 0.5}]
    s = reports.summarise(metrics)
    assert s["competitor"] == {"beats": 1, "tie": 1}
    assert [m["name"] for m in s["floors"]] == ["fid vs untrained", "acc vs chance"]
    assert [m["name"] for m in s["not_stated"]] == ["old"]
    rows = [{"name": "a.ipynb", "status": "ok", "seconds": 1.0, "peak_mb": 1.0, "device": "cpu", "profile": "cpu",
             "metrics": metrics}]
    lines = reports._summary(rows, reports.check_rows(rows))
    assert lines[0].startswith("Wins beyond the spread against real competitors: 1 of 2 (ties inside the spread 1")
    assert lines[1].startswith("Floors and ceilings shown for scale, not counted: 2")


# --- over_seeds ------------------------------------------------------------------------------

def test_over_seeds_seeds_every_generator_and_returns_every_value(capsys):
    def draw(seed):
        return {"torch": torch.rand(1).item(), "py": random.random(), "seed": seed}

    runs = over_seeds(draw, [3, 7], progress=False)
    assert runs.seeds == [3, 7] and runs["seed"] == [3.0, 7.0]
    again = over_seeds(draw, [7], progress=False)
    assert again["torch"] == runs["torch"][1:] and again["py"] == runs["py"][1:]  # same seed, same draw
    values = over_seeds(lambda seed: seed * 2.0, 3, first=10)
    assert values == [20.0, 22.0, 24.0] and values.seeds == [10, 11, 12]
    assert "ran 3 seed(s) [10, 11, 12]" in capsys.readouterr().out


def test_over_seeds_splits_or_shares_the_budget_and_uses_the_profile_default(monkeypatch):
    got = []
    over_seeds(lambda seed, seconds: got.append(seconds) or 0.0, 4, seconds=60, progress=False)
    assert got == [15.0] * 4
    got.clear()
    over_seeds(lambda seed, seconds: got.append(seconds) or 0.0, 2, seconds=60, share="each", progress=False)
    assert got == [60.0, 60.0]
    monkeypatch.setenv("COURSEKIT_PROFILE", "smoke")
    monkeypatch.setattr("coursekit.runtime._active", None)
    assert over_seeds(lambda s: float(s), progress=False).seeds == list(range(PROFILES["smoke"].n_seeds))
    assert (PROFILES["smoke"].n_seeds, PROFILES["cpu"].n_seeds, PROFILES["gpu"].n_seeds) == (2, 3, 5)


def test_over_seeds_errors_say_what_to_do():
    with pytest.raises(TypeError, match=r"fn\(seed, seconds\)"):
        over_seeds(lambda seed: 0.0, 2, seconds=10, progress=False)
    with pytest.raises(ValueError, match="split"):
        over_seeds(lambda seed: 0.0, 2, share="half", progress=False)
    with pytest.raises(ValueError, match="seeds repeat"):
        over_seeds(lambda seed: 0.0, [1, 1], progress=False)
    with pytest.raises(ValueError, match="different keys"):
        over_seeds(lambda seed: {"a": 1} if seed else {"b": 1}, 2, progress=False)


# --- the report: rows, per-seed details, merge of old rows ------------------------------------

def _row(name, metrics, **extra):
    return {"name": name, "status": "ok", "seconds": 12.0, "peak_mb": 900.0, "device": "cpu (2 cores)",
            "profile": "cpu", "metrics": metrics, **extra}


def test_report_rows_show_mean_spread_n_kind_verdict_and_seeds_in_html(tmp_path):
    e = _m("acc, conv", [0.90, 0.92, 0.91], [0.80, 0.81, 0.79], "competitor")
    e["seeds"] = [0, 1, 2]
    reports.write_report([_row("x.ipynb", [e])], tmp_path, "cpu", root=tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert ("| x.ipynb | acc, conv | 0.91 ± 0.01 (n=3) | baseline | competitor | 0.8 ± 0.01 (n=3) | ✅ beats |"
            in md), md
    assert "Wins beyond the spread against real competitors: 1 of 1" in md
    html = (tmp_path / "report.html").read_text()
    assert "<details><summary>per seed</summary>seed 0: 0.9 vs 0.8; seed 1: 0.92 vs 0.81; seed 2: 0.91 vs 0.79" in html


def test_merge_brings_old_single_seed_rows_to_the_current_form(tmp_path):
    old = _row("1.3_x.ipynb", [{"name": "acc", "value": 0.43, "unit": "", "higher_is_better": True, "baseline": 0.40,
                                "baseline_name": "cardinality 1", "beats_baseline": True}])
    new = _row("2.4_y.ipynb", [_m("acc", [0.7, 0.72], [0.4, 0.41], "competitor")], notebook_sha="0" * 16)
    (tmp_path / "old.json").write_text(json.dumps([old]))
    (tmp_path / "new.json").write_text(json.dumps([new]))
    merged = reports.merge_reports([tmp_path / "old.json", tmp_path / "new.json"])
    m = merged[0]["metrics"][0]
    assert m["values"] == [0.43] and m["n"] == 1 and m["baseline_kind"] == "not stated"
    assert m["verdict"] == "1 seed" and m["beats_baseline"] is False  # the old ✅ was one seed
    assert merged[1]["notebook_sha"] == "0" * 16 and "notebook_sha" not in merged[0]  # no hash invented
    out = tmp_path / "m"
    out.mkdir()
    reports.write_report(merged, out, "cpu", root=tmp_path)
    md = (out / "report.md").read_text()
    assert "| 0.43 (1 seed) | cardinality 1 | not stated | 0.4 (1 seed) | · 1 seed (ahead) |" in md
    assert "Baseline kind not stated, not counted: 1 (1 on 1 seed, ahead in 1" in md


# --- stale rows -------------------------------------------------------------------------------

def _solutions(tmp_path, code):
    from tools import authoring as A

    (tmp_path / "solutions").mkdir(exist_ok=True)
    nb = A.new_notebook([A._new_cell("markdown", "# t", "m"), A._new_cell("code", code, "c")])
    path = tmp_path / "solutions" / "n.ipynb"
    path.write_text(A.dumps(nb))
    return path


def test_notebook_hash_follows_code_not_prose(tmp_path):
    path = _solutions(tmp_path, "x = 1")
    h = reports.notebook_hash(path)
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = "# other prose"
    path.write_text(json.dumps(nb))
    assert reports.notebook_hash(path) == h
    _solutions(tmp_path, "x = 2")
    assert reports.notebook_hash(path) != h


def test_stale_legacy_and_changed_sources_are_told_apart(tmp_path):
    path = _solutions(tmp_path, "x = 1")
    (tmp_path / "coursekit").mkdir()
    (tmp_path / "coursekit" / "__init__.py").write_text("")
    (tmp_path / "coursekit" / "train.py").write_text("A = 1\n")
    mods = ["coursekit", "coursekit.train"]
    row = _row("n.ipynb", [], notebook_sha=reports.notebook_hash(path),
               coursekit_sha=reports.sources_hash(mods, tmp_path / "coursekit"), coursekit_modules=mods)
    assert reports.check_rows([row], tmp_path) == {"stale": [], "sources_changed": [], "legacy": [], "missing": []}
    (tmp_path / "coursekit" / "train.py").write_text("A = 2\n")
    assert reports.check_rows([row], tmp_path)["sources_changed"] == ["n.ipynb"]
    _solutions(tmp_path, "x = 2")
    assert reports.check_rows([row], tmp_path)["stale"] == ["n.ipynb"]
    checked = reports.check_rows([_row("n.ipynb", []), _row("gone.ipynb", [])], tmp_path)
    assert checked["legacy"] == ["n.ipynb"] and checked["missing"] == ["gone.ipynb"]
    reports.write_report([row, _row("gone.ipynb", [])], tmp_path, "cpu", root=tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "⚠️ stale: notebook changed" in md and "Stale rows (the notebook changed since they ran; rerun them): n.ipynb" in md


def test_the_committed_cpu_report_matches_the_course():
    """``docs/report-cpu.json`` is the current course: one row per solution notebook, every row with
    its hashes, and every hash matching its notebook today (a row from before hashes, "legacy, not
    verified", is no longer accepted)."""
    rows = json.loads((reports.ROOT / "docs" / "report-cpu.json").read_text())
    checked = reports.check_rows(rows)
    assert not checked["stale"], (
        f"docs/report-cpu.json has rows for notebooks that changed since they ran: {checked['stale']}. "
        "Rerun them (`python -m tools.build --profile cpu NAME ...`) and merge the new rows "
        "(`python -m tools.build --merge docs/report-cpu.json build/cpu/report.json --out docs-new`)")
    assert not checked["missing"], f"docs/report-cpu.json has rows for notebooks that no longer exist: {checked['missing']}"
    assert not checked["legacy"], (
        f"docs/report-cpu.json has rows without hashes (legacy, not verified): {checked['legacy']}. "
        "Rerun them in the cpu profile and merge the new rows")
    notebooks = sorted(p.name for p in (reports.ROOT / "solutions").glob("*.ipynb"))
    without_row = sorted(set(notebooks) - {row["name"] for row in rows})
    assert not without_row, f"docs/report-cpu.json has no row for {without_row}: run them in the cpu profile and merge"
