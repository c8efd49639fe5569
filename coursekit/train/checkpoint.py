"""Checkpoints that survive interruptions and say clearly when they do not fit.

:func:`save_checkpoint` writes atomically (temp file, then rename) and :func:`load_checkpoint`
loads with ``weights_only=True``; a corrupt or mismatched file is a clear error naming it, never a
silent retrain over it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["CheckpointError", "load_checkpoint", "save_checkpoint"]


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used (corrupt, or saved from a different model)."""


def save_checkpoint(path: str | os.PathLike, **objects: Any) -> Path:
    """Save modules/optimisers (their ``state_dict``) and plain values to ``path`` atomically.

    The file is written to a temporary name in the same folder and renamed over ``path`` only
    once complete, so an interrupted save never destroys the previous checkpoint.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.state_dict() if hasattr(v, "state_dict") else v) for k, v in objects.items()}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu", **objects: Any) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Each keyword names an object to restore in place: ``load_checkpoint(p, model=net)``. Returns
    the whole state dict. Errors name the file and say what to do; nothing is overwritten.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(e).__name__}: {str(e)[:200]}). It is corrupt or "
            "not a coursekit checkpoint. Move it aside (it is left untouched) and train again, or "
            "restore it from a backup."
        ) from e
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, not a dict of states")
    for key, obj in objects.items():
        if key not in state:
            raise CheckpointError(f"checkpoint {path} has no entry {key!r} (entries: {sorted(state)})")
        try:
            obj.load_state_dict(state[key])
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(
                f"checkpoint {path} does not fit this {type(obj).__name__} ({str(e).splitlines()[0][:300]}). "
                "It was probably saved from a different configuration: build the model with the same "
                "arguments, or move the file aside to train afresh (it is left untouched)."
            ) from e
    return state
