"""A direct-intrinsics network: one image in, albedo and shading out.

Narihira, Maire & Yu, "Direct Intrinsics: Learning Albedo-Shading Decomposition by
Convolutional Regression", ICCV 2015; the authors' Caffe code and models are at
https://github.com/tnarihi/direct-intrinsics (``training/train_val.prototxt``). The architecture
follows Eigen, Puhrsch & Fergus's multi-scale network ("Depth Map Prediction from a Single Image
using a Multi-Scale Deep Network", NIPS 2014; https://cs.nyu.edu/~deigen/depth/).

Two scales, as in the paper's MSCR model:

- **scale 1 (global)**: strided convolutions see the whole image at 1/8 resolution. The released
  network uses AlexNet's five convolutions (ImageNet-pretrained, total stride 32), upsampled x8
  and mixed by a 1x1 convolution; we add a *global-average context* instead (the mean feature
  vector broadcast back to every position), which gives every pixel a view of the whole image and
  keeps the network fully convolutional (any side divisible by 8).
- **scale 2 (local)**: convolutions at full resolution on the image, concatenated with the
  upsampled scale-1 features, refine the prediction; two heads output albedo (3 channels) and
  shading (1 channel, grey light; the paper predicts colour shading for Sintel).

Outputs go through a sigmoid, so both lie in (0, 1). Deviations: batch norm after each hidden
convolution (the 2015 network had none; it makes short training runs much more reliable), full
output resolution (the released network's local branch works at 1/4 and a learned 8x8, stride-4
transposed convolution upsamples each output).

Loss: the released training file regresses ``log(x + 0.5)`` of each layer with Eigen et al.'s
scale-invariant loss, ``lambda = 1`` (:func:`coursekit.metrics.si_log_loss` on those values); the
notebook trains in the linear domain with :func:`coursekit.metrics.si_mse` per layer plus a
reconstruction term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import validate

__all__ = ["DirectIntrinsicsNet"]


def _conv(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class DirectIntrinsicsNet(nn.Module):
    """Image (B, 3, H, W) in [0, 1] -> (albedo (B, 3, H, W), shading (B, 1, H, W)); H, W multiples of 8.

    ``width`` is the channel count of the local branch (the global branch uses up to 4x);
    ``fine_kernel`` the kernel of the local branch (5 as in Eigen et al.'s scale 2).
    """

    def __init__(self, width: int = 64, fine_kernel: int = 5):
        super().__init__()
        w = width
        # scale 1: H -> H/2 -> H/4 -> H/8
        self.coarse = nn.Sequential(
            _conv(3, w, 5, 2),
            _conv(w, 2 * w, 3, 2),
            _conv(2 * w, 4 * w, 3, 2),
            _conv(4 * w, 4 * w, 3),
        )
        self.context = _conv(8 * w, w, 1)  # local features + global mean, mixed per position
        # scale 2: full resolution
        self.fine_in = _conv(3, w, fine_kernel)
        self.fine = nn.Sequential(_conv(2 * w, w, fine_kernel), _conv(w, w, fine_kernel))
        self.albedo_head = nn.Conv2d(w, 3, fine_kernel, padding=fine_kernel // 2)
        self.shading_head = nn.Conv2d(w, 1, fine_kernel, padding=fine_kernel // 2)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        validate.tensor(image, "image", ndim=4, channels=3)
        h, w = image.shape[-2:]
        if h % 8 or w % 8:  # three stride-2 steps down to the coarse scale, then back up
            raise ValueError(
                f"image sides must be multiples of 8, got {h}x{w}; crop or pad the image, "
                f"e.g. to {h - h % 8}x{w - w % 8} or {h + (-h) % 8}x{w + (-w) % 8}"
            )
        c = self.coarse(image)  # (B, 4w, H/8, W/8)
        g = c.mean(dim=(2, 3), keepdim=True).expand_as(c)  # (B, 4w, H/8, W/8) global context
        c = self.context(torch.cat([c, g], 1))  # (B, w, H/8, W/8)
        c = F.interpolate(c, size=(h, w), mode="bilinear", align_corners=False)  # (B, w, H, W)
        f = self.fine(torch.cat([self.fine_in(image), c], 1))  # (B, w, H, W)
        return torch.sigmoid(self.albedo_head(f)), torch.sigmoid(self.shading_head(f))
