"""Shared test set-up: every test runs in the smoke profile on the CPU, with a private data cache."""

import os

import pytest

# Set before any notebook kernel starts (nbval kernels inherit the environment).
os.environ.setdefault("COURSEKIT_PROFILE", "smoke")
os.environ.setdefault("COURSEKIT_DEVICE", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _seeded():
    import torch

    torch.manual_seed(0)
    yield


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A private, empty data cache for tests that download or cache files."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("COURSEKIT_DATA", str(cache))
    return cache
