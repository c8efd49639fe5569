"""Runtime: which device, which profile, which seed.

Every notebook starts with ``P = coursekit.start(PROFILE, SEED)``. That one call

* picks the **profile** (``smoke``, ``cpu`` or ``gpu``): the sizes and time budgets the notebook
  scales by, so that the same notebook runs in 30 s in CI, in minutes on a laptop and at full
  size on a GPU;
* picks the **device** (CUDA, then Apple MPS, then CPU; ``COURSEKIT_DEVICE`` overrides);
* seeds every random generator, so a run on the CPU repeats exactly.

It also names the one folder coursekit caches in (:func:`cache_dir`): datasets, generated data
and trained course models.

Nothing here runs at import time: importing ``coursekit`` never probes a GPU.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "PROFILES",
    "Profile",
    "active_profile",
    "cache_dir",
    "device",
    "profile",
    "seed_everything",
    "start",
]


_COURSE_ROOT = Path(__file__).resolve().parents[1]  # the course folder, when run from a checkout


def cache_dir() -> Path:
    """The folder where datasets, generated data and trained course models are cached (created).

    ``COURSEKIT_DATA`` when set; else ``data/cache`` in the course folder when that is writable;
    else ``~/.cache/coursekit``. (Pretrained torchvision weights live in torch's own folder:
    :func:`coursekit.pretrained.weights_dir`.)
    """
    env = os.environ.get("COURSEKIT_DATA")
    if env:
        path = Path(env).expanduser()
    elif (_COURSE_ROOT / "data").is_dir() and os.access(_COURSE_ROOT / "data", os.W_OK):
        path = _COURSE_ROOT / "data" / "cache"
    else:
        path = Path.home() / ".cache" / "coursekit"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Profile:
    """The settings a notebook scales by.

    Fields are defaults that notebooks use directly; anything more specific is chosen with
    :meth:`pick`, e.g. ``P.pick(smoke=2, cpu=20, gpu=50)`` epochs.
    """

    name: str
    budget_s: float  # wall-clock budget for executing the whole notebook
    train_seconds: float  # default budget for one training run (`train.fit(max_seconds=...)`)
    n_train: int  # default number of training examples for procedural datasets
    n_test: int  # default number of held-out examples
    batch_size: int
    image_size: int  # default side of generated images
    width: float  # model width multiplier (1.0 = the paper's reference configuration)
    description: str = ""
    # When set, every training loop (`train.loop`, hence `fit` and the GAN loops) stops after this
    # many steps and ignores its wall-clock budget: smoke runs repeat exactly, whatever the machine's
    # load. `COURSEKIT_STEP_CAP` sets it for any profile (the gpu dry run: gpu sizes, a few steps).
    step_cap: int | None = None
    # A dry run (`COURSEKIT_STEP_CAP`) caps every loop, also those the caller bounded by steps alone;
    # smoke caps only the loops bounded by the clock.
    cap_every_loop: bool = False
    # Seeds a headline comparison runs over by default (`experiment.over_seeds`); shrink models
    # and data before dropping seeds.
    n_seeds: int = 3
    # When set, `count` (and n_train/n_test) never exceed it: `COURSEKIT_MAX_EXAMPLES`, for the gpu
    # dry run (tools.dryrun), which takes the gpu profile's sizes but cannot afford its data on a CPU.
    max_examples: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def pick(self, **by_profile: Any) -> Any:
        """Return the value given for this profile: ``P.pick(smoke=8, cpu=64, gpu=256)``.

        A missing ``gpu`` value falls back to ``cpu``'s, a missing ``cpu`` value to ``gpu``'s.
        """
        if self.name in by_profile:
            return by_profile[self.name]
        fallback = {"gpu": "cpu", "cpu": "gpu"}.get(self.name)
        if fallback in by_profile:
            return by_profile[fallback]
        raise KeyError(
            f"no value for profile {self.name!r}; pass one as {self.name}=... "
            f"(got values for {sorted(by_profile)})"
        )

    def count(self, **by_profile: int) -> int:
        """:meth:`pick` for a number of examples: ``P.count(smoke=128, cpu=2048, gpu=8192)``.

        The same value as ``pick``, except in a dry run (``max_examples`` set), where it is capped,
        but never below the ``smoke`` value: the smallest count the notebook is known to run with
        (a one-shot task, say, needs two images of each held-out class).
        """
        n = self.pick(**by_profile)
        if self.max_examples is None:
            return n
        return min(n, max(self.max_examples, by_profile.get("smoke", 0)))

    def scaled(self, channels: int, minimum: int = 4) -> int:
        """Scale a reference channel count by the profile's width, rounded to a multiple of 4."""
        return max(minimum, int(round(channels * self.width / 4)) * 4)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        budget_s=30,
        train_seconds=2,
        n_train=256,
        n_test=64,
        batch_size=32,
        image_size=32,
        width=0.25,
        description="CI: every code path runs, tiny sizes, no quality claim",
        step_cap=8,
        n_seeds=2,
    ),
    "cpu": Profile(
        name="cpu",
        budget_s=600,
        train_seconds=90,
        n_train=4096,
        n_test=512,
        batch_size=64,
        image_size=64,
        width=0.5,
        description="a laptop without a GPU: a real result within 10 minutes on 2 cores",
    ),
    "gpu": Profile(
        name="gpu",
        budget_s=600,
        train_seconds=150,
        n_train=20000,
        n_test=2000,
        batch_size=128,
        image_size=64,
        width=1.0,
        description="a Colab T4-class GPU or better: the best result within 10 minutes",
        n_seeds=5,
    ),
}

_active: Profile | None = None
# How many times seed_everything has run: generators derived from the run's seed (the exercise
# checks' inputs) restart when it changes, so re-running a notebook's first cell repeats them too.
_seed_generation = 0


def _cuda_available() -> bool:
    return torch.cuda.is_available()


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def device(name: str | None = None) -> torch.device:
    """The best available device: CUDA, then Apple MPS, then the CPU.

    ``name`` (or the environment variable ``COURSEKIT_DEVICE``) forces one, e.g. ``"cpu"``.
    Asking for CUDA where there is none is an error that says what to do.
    """
    name = name or os.environ.get("COURSEKIT_DEVICE") or None
    if name is None:
        if _cuda_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not _cuda_available():
        raise RuntimeError(
            f"device {name!r} was asked for (argument or COURSEKIT_DEVICE) but this machine has no "
            "CUDA GPU. Unset COURSEKIT_DEVICE or use 'cpu'; on Colab choose "
            "Runtime > Change runtime type > GPU."
        )
    if dev.type == "mps" and not _mps_available():
        raise RuntimeError(f"device {name!r} was asked for but Apple MPS is not available here; use 'cpu'.")
    return dev


def profile(name: str | None = None) -> Profile:
    """The profile to run in.

    Order: the ``name`` argument (a notebook's ``PROFILE`` parameter), then the environment variable
    ``COURSEKIT_PROFILE``, then ``gpu`` when CUDA is available, else ``cpu``.
    """
    chosen = name or os.environ.get("COURSEKIT_PROFILE") or None
    if chosen is None:
        chosen = "gpu" if _cuda_available() else "cpu"
    key = str(chosen).strip().lower()
    if key not in PROFILES:
        raise ValueError(
            f"unknown profile {chosen!r}; valid profiles are {', '.join(PROFILES)} "
            "(set COURSEKIT_PROFILE or the notebook's PROFILE parameter)"
        )
    chosen_profile = PROFILES[key]
    cap = os.environ.get("COURSEKIT_STEP_CAP", "").strip()
    if cap:
        if not cap.isdigit() or int(cap) < 1:
            raise ValueError(f"COURSEKIT_STEP_CAP must be a positive whole number of steps, got {cap!r}")
        chosen_profile = replace(chosen_profile, step_cap=int(cap), cap_every_loop=True)
    most = os.environ.get("COURSEKIT_MAX_EXAMPLES", "").strip()
    if most:  # the gpu dry run (tools.dryrun): gpu sizes and widths, fewer examples
        if not most.isdigit() or int(most) < 1:
            raise ValueError(f"COURSEKIT_MAX_EXAMPLES must be a positive whole number, got {most!r}")
        chosen_profile = replace(chosen_profile, n_train=min(chosen_profile.n_train, int(most)),
                                 n_test=min(chosen_profile.n_test, int(most)), max_examples=int(most))
    return chosen_profile


def active_profile() -> Profile:
    """The profile chosen by the last :func:`start` call (or :func:`profile`'s default)."""
    return _active if _active is not None else profile()


def seed_everything(seed: int = 0, deterministic: bool = False) -> None:
    """Seed Python, NumPy and PyTorch (all devices).

    On the CPU the same seed repeats a run exactly. ``deterministic=True`` also makes PyTorch use
    deterministic kernels (``torch.use_deterministic_algorithms``, warning where an operation has
    none) and cuBLAS a fixed workspace; slower, and GPU results are otherwise only repeatable up to
    rounding.
    """
    global _seed_generation
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    _seed_generation += 1
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS reads this when its first handle is made: set it before any CUDA matmul runs
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def start(profile_name: str | None = None, seed: int = 0, *, quiet: bool = False, **overrides: Any) -> Profile:
    """Set up a notebook: choose the profile, seed everything, print one line saying so.

    ``overrides`` replace profile fields for this notebook, e.g. ``start(PROFILE, image_size=48)``.
    """
    global _active
    p = profile(profile_name)
    if overrides:
        unknown = set(overrides) - set(Profile.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown profile fields {sorted(unknown)}")
        p = replace(p, **overrides)
    _active = p
    seed_everything(seed)
    if not quiet:
        dev = device()
        print(
            f"coursekit: profile '{p.name}' ({p.description}) · device {dev.type} · seed {seed} · "
            f"notebook budget {p.budget_s:.0f} s"
        )
    return p
