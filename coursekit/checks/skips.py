"""Exercise check for notebook 1.4's U-Net: the whole forward pass, skips and crops included.

After Ronneberger, Fischer and Brox, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015, Fig. 1 and Section 2: each encoder level's maps (before pooling) are
cropped to the decoder's size and concatenated, encoder first, with the up-sampled maps of the
level below. The check runs the student's ``unet_forward(net, x)`` on small random U-Nets (padded
and unpadded, with and without skips, depths 2 and 3) and compares with ``net(x)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._core import Mismatch, check_seed, exercise, expect_close, expect_shape

__all__ = ["check_unet_forward"]

_HINTS = (
    "go down the encoder keeping each level's maps, go back up the decoder using them; the 1×1 head comes last",
    "each encoder level: its two convolutions (net.down[i]), KEEP the result, then net.pool. Then net.bottom. "
    "Each decoder level, deepest first: net.up[i], then (if net.skips) join the kept maps of the same level, "
    "then net.decode[i]",
    "the decoder meets the kept maps in the reverse order they were kept (deepest first); the join is a "
    "concatenation along channels with the kept (encoder) maps FIRST; unpadded convolutions shrink the maps, "
    "so cut the kept maps to the decoder's height and width from their CENTRE first",
)


def _cases() -> list[tuple[str, dict, tuple[int, int]]]:
    # (what, UNet arguments, input height × width): padded and unpadded, skips on and off
    return [
        ("padded, depth 2", dict(base_channels=4, depth=2, padding=1), (16, 24)),
        ("unpadded (the paper's crops), depth 2", dict(base_channels=4, depth=2, padding=0), (44, 60)),
        ("padded, depth 3", dict(base_channels=3, depth=3, padding=1), (24, 16)),
        ("unpadded, depth 3", dict(base_channels=2, depth=3, padding=0), (92, 108)),
        ("no skips (net.skips is False)", dict(base_channels=4, depth=2, padding=1, skips=False), (16, 16)),
    ]


@exercise("the U-Net's forward pass", answer=("coursekit.nn.unet.UNet.forward", "coursekit.nn.unet.center_crop"),
          shortcuts=("torchvision.transforms.functional.center_crop",))
def check_unet_forward(student_fn: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]) -> None:
    from ..nn.unet import UNet

    for what, kwargs, (h, w) in _cases():
        torch.manual_seed(check_seed())
        net = UNet(in_channels=2, out_channels=3, **kwargs).eval()
        x = torch.randn(2, 2, h, w)
        with torch.no_grad():
            want = net(x)  # (2, 3, H_out, W_out)
            try:
                got = student_fn(net, x)
            except NotImplementedError:
                raise
            except RuntimeError as e:  # a shape error inside a convolution or torch.cat
                first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
                raise Mismatch(f"unet_forward on a {what} U-Net: torch raised “{first}”: the maps that reach a "
                               "layer do not have the channels or size it expects", _HINTS) from None
        expect_shape(got, tuple(want.shape), f"unet_forward on a {what} U-Net, input {tuple(x.shape)}", _HINTS)
        expect_close(got, want, f"unet_forward on a {what} U-Net, input {tuple(x.shape)}", _HINTS)
