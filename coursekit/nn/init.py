"""The GAN weight initialisation: every convolution and linear layer drawn from N(0, 0.02²).

Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks" (DCGAN), ICLR 2016, §4: "All weights were initialized from a
zero-centered Normal distribution with standard deviation 0.02" (``weights_init`` in
pytorch/examples ``dcgan/main.py``). pix2pix, CycleGAN and BicycleGAN keep it as their default,
``init_type='normal'`` in junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py``; so one
function serves them all.
"""

from __future__ import annotations

from torch import nn

__all__ = ["init_weights"]


def init_weights(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Initialise ``module`` in place and return it: convolution (also transposed) and linear weights
    N(0, std), their biases 0; batch-norm scales N(1, std), shifts 0. Other layers are left alone."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module
