"""The networks on which notebook 1.1's whole-network MAC counter is checked (see
:func:`coursekit.checks.architecture.check_hook_macs`).

Each case holds something a counter by forward hooks must get right: strides, padding and
dilation (the output, not the input, sets the count), grouped and depthwise convolutions,
layers with and without a bias, linear layers on a vector and on every token of a sequence,
nested containers, a skip connection, a layer called twice, and a torchvision network.
Sizes are drawn anew at every run, so that a table of typed-in answers cannot pass. The
counting convention is that of Canziani, Paszke & Culurciello, "An Analysis of Deep Neural
Network Models for Practical Applications" (arXiv 2016) and of :mod:`coursekit.analysis.complexity`.
"""

from __future__ import annotations

import random

import torch
from torch import nn

__all__ = ["hooks_on", "mac_cases"]


class _Residual(nn.Module):
    """``x + body(x)``: a skip around a nested container."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) → (B, C, H, W)
        return x + self.body(x)


class _SharedTwice(nn.Module):
    """One grouped convolution applied twice: its MACs count twice, its parameters once."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, groups=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) → (B, C, H, W)
        return self.conv(torch.relu(self.conv(x)))


class _Tokens(nn.Module):
    """4×4 patches as tokens, then linear layers applied to every token (a transformer's MLP)."""

    def __init__(self, dim: int, hidden: int, classes: int = 10):
        super().__init__()
        self.patches = nn.Conv2d(3, dim, 4, stride=4)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim, bias=False))
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) → (B, classes)
        tokens = self.patches(x).flatten(2).transpose(1, 2)  # (B, T, dim), T = (H/4)·(W/4)
        tokens = tokens + self.mlp(tokens)  # the linear layers act on each of the T tokens
        return self.head(tokens.mean(1))


def mac_cases(seed: int) -> list[tuple[str, nn.Module, torch.Tensor]]:
    """(description, network, input batch) for the check; built under a private random state."""
    import torchvision

    rng = random.Random(seed)
    batch = lambda: rng.choice([2, 3])  # noqa: E731  (a batch > 1: the count is per image)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        c1, c2, side = rng.choice([8, 12, 16]), rng.choice([16, 24]), rng.randint(20, 36)
        plain = nn.Sequential(nn.Conv2d(3, c1, 3, stride=2, padding=1), nn.BatchNorm2d(c1), nn.ReLU(),
                              nn.Conv2d(c1, c2, 3, stride=2, bias=False), nn.ReLU(),
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c2, 10))
        cases = [("a strided CNN with a linear classifier", plain, torch.randn(batch(), 3, side, side))]
        grouped = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1, groups=4, bias=False), nn.ReLU(),
                                nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16),  # depthwise
                                nn.Conv2d(16, 24, 1, bias=False))
        side = rng.randint(12, 28)
        cases.append(("grouped and depthwise convolutions", grouped, torch.randn(batch(), 8, side, side + 3)))
        dilated = nn.Sequential(nn.Conv2d(3, 8, 3, dilation=2), nn.ReLU(),
                                nn.Conv2d(8, 8, 3, padding=1, dilation=3, groups=2),
                                nn.Conv2d(8, 4, 5, stride=3, dilation=2, bias=False))
        side = rng.randint(24, 40)
        cases.append(("dilated and strided convolutions, little padding", dilated,
                      torch.randn(batch(), 3, side, side)))
        nested = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1),
                               nn.Sequential(_Residual(8), _SharedTwice(8)),
                               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
        side = rng.randint(16, 32)
        cases.append(("nested blocks with a skip and a layer called twice", nested,
                      torch.randn(batch(), 3, side, side)))
        side = 4 * rng.randint(4, 8)
        cases.append(("linear layers applied to every token", _Tokens(rng.choice([8, 16]), rng.choice([24, 32])),
                      torch.randn(batch(), 3, side, side)))
        squeezenet = torchvision.models.squeezenet1_1(weights=None, num_classes=10)  # parallel branches
        cases.append(("torchvision's SqueezeNet 1.1", squeezenet, torch.randn(2, 3, 48, 48)))
    return cases


def hooks_on(model: nn.Module) -> int:
    """Hooks registered on ``model``'s modules, plus the global module hooks, right now."""
    from torch.nn.modules import module as module_mod

    attributes = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    total = sum(len(getattr(m, a, {})) for m in model.modules() for a in attributes)
    globals_ = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks")
    return total + sum(len(getattr(module_mod, g, {})) for g in globals_)
