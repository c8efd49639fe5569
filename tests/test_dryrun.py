"""The gpu profile's dry run (issue 17): gpu sizes and widths, few steps and examples, on the CPU."""

import pytest

from coursekit import runtime
from tools import dryrun


def test_the_dry_run_is_the_gpu_profile_with_fewer_steps_and_examples(monkeypatch):
    for key, value in dryrun.DRY_ENV.items():
        monkeypatch.setenv(key, value)
    p = runtime.profile("gpu")
    gpu = runtime.PROFILES["gpu"]
    assert (p.name, p.width, p.image_size, p.batch_size) == ("gpu", gpu.width, gpu.image_size, gpu.batch_size)
    assert p.step_cap == 2
    assert p.n_train == p.n_test == 256 and p.n_train >= 2 * p.batch_size  # two full batches
    assert runtime.device().type == "cpu"


def test_max_examples_only_lowers_counts(monkeypatch):
    monkeypatch.setenv("COURSEKIT_MAX_EXAMPLES", "100000")
    assert runtime.profile("smoke").n_train == runtime.PROFILES["smoke"].n_train
    monkeypatch.setenv("COURSEKIT_MAX_EXAMPLES", "0")
    with pytest.raises(ValueError, match="COURSEKIT_MAX_EXAMPLES must be a positive whole number"):
        runtime.profile("gpu")


def test_an_unknown_notebook_name_is_an_error():
    with pytest.raises(SystemExit, match="no solution notebook matches"):
        dryrun.run(["9.9_nothing"])


def test_count_is_pick_except_in_a_dry_run(monkeypatch):
    monkeypatch.delenv("COURSEKIT_MAX_EXAMPLES", raising=False)
    assert runtime.profile("gpu").count(smoke=8, cpu=2048, gpu=8192) == 8192
    assert runtime.profile("cpu").count(smoke=8, cpu=2048, gpu=8192) == 2048
    monkeypatch.setenv("COURSEKIT_MAX_EXAMPLES", "256")
    assert runtime.profile("gpu").count(smoke=8, cpu=2048, gpu=8192) == 256
    assert runtime.profile("smoke").count(smoke=8, cpu=2048, gpu=8192) == 8
    # never below the smoke count, the smallest the notebook runs with (2.4 needs 640 glyphs)
    assert runtime.profile("gpu").count(smoke=640, cpu=4096, gpu=20000) == 640
    assert runtime.profile("gpu").count(smoke=640, cpu=4096, gpu=500) == 500


def test_the_report_strips_ipythons_colour_codes():
    assert dryrun._ANSI.sub("", "\x1b[31mValueError\x1b[39m: 5-way tasks need \x1b[32m5\x1b[0m") == "ValueError: 5-way tasks need 5"
