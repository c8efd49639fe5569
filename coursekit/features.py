"""Named intermediate features of any network, through forward hooks.

``FeatureExtractor(vgg, {"conv1_1": "features.0", "conv4_2": "features.21"})(x)`` returns
``{"conv1_1": tensor, "conv4_2": tensor}``: the outputs of those submodules for input ``x``. The
forward pass stops after the deepest requested layer when the model is an ``nn.Sequential``
chain (as VGG's ``features`` is), so asking for early layers is cheap.

Used by the autoencoder, transfer-learning and style-transfer notebooks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import torch
from torch import nn

__all__ = ["FeatureExtractor", "module_names"]


def module_names(model: nn.Module) -> list[str]:
    """Every submodule's dotted path (what ``layers`` may refer to)."""
    return [name for name, _ in model.named_modules() if name]


class _Stop(Exception):
    """Raised by the last hook to end the forward pass early."""


class FeatureExtractor(nn.Module):
    """Return the outputs of named submodules as a dict (see the module docstring)."""

    def __init__(self, model: nn.Module, layers: Mapping[str, str] | list[str]):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        self.model = model
        self.layers = dict(layers) if isinstance(layers, Mapping) else {p: p for p in layers}
        if not self.layers:
            raise ValueError("give at least one layer to extract")
        modules = dict(model.named_modules())
        missing = [p for p in self.layers.values() if p not in modules]
        if missing:
            raise ValueError(
                f"no submodule {missing} in {type(model).__name__}; valid paths look like "
                f"{module_names(model)[:8]} (see coursekit.features.module_names(model))"
            )
        self._order = list(modules)
        self._last = max(self.layers.values(), key=self._order.index)
        self._features: dict[str, torch.Tensor] = {}
        self._handles = [modules[path].register_forward_hook(self._hook(name, path))
                         for name, path in self.layers.items()]

    def _hook(self, name: str, path: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            self._features[name] = output
            if path == self._last and len(self._features) == len(self.layers):
                raise _Stop  # every requested feature is in: skip the rest of the network

        return hook

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self._features = {}
        with contextlib.suppress(_Stop):  # the deepest requested layer ended the pass early
            self.model(x)
        missing = set(self.layers) - set(self._features)
        if missing:
            raise RuntimeError(f"layers {sorted(missing)} were not reached in the forward pass")
        out, self._features = self._features, {}
        return out

    def remove(self) -> None:
        """Detach the hooks (the wrapped model is left as it was)."""
        for h in self._handles:
            h.remove()
        self._handles = []
