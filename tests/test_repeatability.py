"""Same seed, same run (issue 17): nothing draws from OS entropy, and a notebook repeats its numbers."""

import os
import random
from pathlib import Path

import pytest
import torch

from coursekit import runtime
from coursekit.checks._core import check_seed
from coursekit.models.cyclegan import ImagePool

ROOT = Path(__file__).resolve().parents[1]


def _pool_choices(seed):
    runtime.seed_everything(seed)
    pools = [ImagePool(2), ImagePool(2)]
    x = torch.arange(8.0).view(8, 1, 1, 1)
    return [[pool.query(x).flatten().tolist() for _ in range(4)] for pool in pools]


def test_image_pool_without_a_seed_repeats_with_the_run_seed():
    first, again, other = _pool_choices(0), _pool_choices(0), _pool_choices(1)
    assert first == again
    assert first != other
    assert first[0] != first[1], "two pools of one run should not make the same choices"


def test_check_inputs_repeat_with_the_run_seed_and_leave_the_notebook_state_alone():
    def draws(seed):
        runtime.seed_everything(seed)
        state = (random.getstate(), torch.get_rng_state())
        out = [check_seed() for _ in range(3)]
        assert random.getstate() == state[0] and torch.equal(torch.get_rng_state(), state[1])
        return out

    a, b, c = draws(0), draws(0), draws(1)
    assert a == b and a != c
    assert len(set(a)) == 3, "each check call gets fresh inputs"


def test_no_os_entropy_in_coursekit():
    offenders = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in sorted((ROOT / "coursekit").rglob("*.py"))
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "os.urandom" in line or "random.Random()" in line or "SystemRandom" in line
    ]
    assert not offenders, "seed from the run's seed instead of OS entropy: " + ", ".join(offenders)


def test_deterministic_seeding_asks_torch_for_deterministic_kernels(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        runtime.seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic = False


@pytest.mark.notebooks
@pytest.mark.full  # executes a notebook twice: in `make test-full`, not in the one-run gate
def test_a_smoke_notebook_records_the_same_numbers_twice():
    """2.4 is the cheapest notebook that records metrics (about 7 s in smoke); it trains, samples
    tasks and runs two exercise checks."""
    from tools.build import execute_notebook

    runs = [execute_notebook(ROOT / "solutions" / "2.4_one_shot_learning.ipynb", "smoke")[2] for _ in range(2)]
    assert runs[0], "the notebook recorded no metric: pick another one for this test"
    assert runs[0] == runs[1]
