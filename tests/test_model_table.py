"""One table of every network the notebooks build, and the properties every network must have.

Each row is one network: a builder, the configuration a notebook builds in the cpu profile (the
teaching configuration) or the paper's reference configuration, an example input, the expected
output shape(s) and a reference parameter count. The table drives five tests:

* output shapes (the reference configurations run on the meta device: shapes without arithmetic);
* parameter counts, checked against numbers obtained independently of ``count_params``: the
  count the paper or its reference code (or torchvision) reports, or a count written out by hand
  from the architecture (``conv(c_in, c_out, k)`` etc. below: weights plus biases, layer by
  layer). The comment on each row says which. The reference configurations are built on the
  meta device, so a 55M-parameter generator costs nothing;
* gradients reaching the input (for the inputs that are continuous: images, codes) and every
  parameter the forward pass uses (a detached branch leaves some without one);
* eval-mode determinism: two forward passes give the same output;
* state-dict round trips: save to a buffer, load into a fresh instance, same output.

Shapes are written (B, C, H, W). The teaching configurations follow the notebooks' ``P.pick``
values and ``P.scaled`` widths in the cpu profile (width 0.5: ``P.scaled(64) == 32``).
"""

from __future__ import annotations

import io
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
import torchvision
from torch import nn

from coursekit.analysis.complexity import count_params
from coursekit.models import (
    attention_nets,
    autoencoder,
    bicyclegan,
    cgan,
    cyclegan,
    dcgan,
    denoise,
    disentangle,
    exposure,
    intrinsic,
    pix2pix,
    progan,
    sagan,
    shared_space,
    siamese,
    sketch,
    stackgan,
    style,
    taskonomy,
    transformer_net,
)
from coursekit.nn import attention, dense, dilated, grouped, stn, unet
from coursekit.runtime import PROFILES

CPU = PROFILES["cpu"]  # the teaching configurations: what a notebook builds on a laptop


# ---- hand counting: parameters of one layer, from its definition -------------------------------
def conv(c_in: int, c_out: int, k: int, bias: bool = True, groups: int = 1) -> int:
    """A k×k (transposed) convolution: c_out · (c_in / groups) · k² weights, c_out biases."""
    return c_out * (c_in // groups) * k * k + (c_out if bias else 0)


def lin(n_in: int, n_out: int, bias: bool = True) -> int:
    """A linear layer: n_in · n_out weights, n_out biases."""
    return n_in * n_out + (n_out if bias else 0)


def norm(c: int) -> int:
    """BatchNorm2d, or an affine InstanceNorm/GroupNorm/LayerNorm over c channels: a scale and a shift."""
    return 2 * c


def _resnext_hand(c_in: int, c_out: int, inner: int, cardinality: int = 8) -> int:
    """A ResNeXt bottleneck (Xie et al. 2017, Fig. 3c) with batch norm, no biases, a 1×1 projection shortcut."""
    body = conv(c_in, inner, 1, False) + conv(inner, inner, 3, False, groups=cardinality) + conv(inner, c_out, 1, False)
    return body + norm(inner) * 2 + norm(c_out) + conv(c_in, c_out, 1, False) + norm(c_out)


def _pix2pix_unet_hand(c_in: int, c_out: int, num_downs: int, ngf: int) -> int:
    """pix2pix's U-Net (Isola et al. 2017, appendix 6.1.1) with batch norm, so no biases before a norm.

    Skip blocks from the innermost out: widths ngf·(1, 2, 4, 8, 8, …); each block has a 4×4/2 down
    conv (+ norm, except the innermost and the outermost) and a 4×4/2 up conv from its inner width
    (doubled by the skip concatenation, except the innermost) + norm; the outermost up conv has a bias.
    """
    widths = [ngf * min(2**i, 8) for i in range(num_downs)]  # outer width of each block, outermost first
    total = conv(c_in, widths[0], 4, False) + conv(2 * widths[0], c_out, 4)  # outermost: no norms
    for i in range(1, num_downs):
        outer, inner = widths[i - 1], widths[i]
        innermost = i == num_downs - 1
        total += conv(outer, inner, 4, False) + (0 if innermost else norm(inner))  # down
        total += conv(inner if innermost else 2 * inner, outer, 4, False) + norm(outer)  # up
    return total


def _unet_hand(c_in: int, c_out: int, base: int, depth: int, bias: bool, bn: bool) -> int:
    """U-Net (Ronneberger et al. 2015, Fig. 1): two 3×3 convs per level, 2×2 up-convolutions, a 1×1 head."""

    def double(a: int, b: int) -> int:
        return conv(a, b, 3, bias) + conv(b, b, 3, bias) + (2 * norm(b) if bn else 0)

    widths = [base * 2**i for i in range(depth + 1)]  # 64, 128, 256, 512, 1024 in the paper
    down = double(c_in, widths[0]) + sum(double(a, b) for a, b in zip(widths, widths[1:]))
    up = sum(conv(b, a, 2) + double(b, a) for a, b in zip(widths, widths[1:]))  # up-conv b → a, then 2a → a
    return down + up + conv(widths[0], c_out, 1)


def _progan_g_hand() -> int:
    """ProGAN's generator, Karras et al. 2018, Table 2 (1024×1024, 512-d latent).

    Two deviations of this code from the table's own count: the 4×4 "conv" on the latent is a
    linear layer with one bias per output (512·16 of them, not 512), and a toRGB 1×1 is kept for
    every resolution (the growing schedule fades each one in).
    """
    stages = [(512, 512)] * 3 + [(512, 256), (256, 128), (128, 64), (64, 32), (32, 16)]  # 8×8 … 1024×1024
    first = lin(512, 512 * 16) + conv(512, 512, 3)  # 4×4: latent → 512×4×4, then a 3×3
    blocks = sum(conv(a, b, 3) + conv(b, b, 3) for a, b in stages)
    to_rgb = conv(512, 3, 1) + sum(conv(b, 3, 1) for _, b in stages)
    return first + blocks + to_rgb


def _beta_vae_hand(size: int) -> int:
    """β-VAE as disentanglement_lib builds it: conv 4×4/2 (32, 32, 64, 64) to 4×4, dense 256, 2·10 stats;
    the decoder dense 256, dense 64·4·4, and the mirrored transposed convs. 32×32 drops the last conv."""
    chs = [1, 32, 32, 64, 64][: {64: 5, 32: 4}[size]]
    convs = sum(conv(a, b, 4) for a, b in zip(chs, chs[1:]))
    deconvs = sum(conv(b, a, 4) for a, b in zip(chs, chs[1:]))  # the mirror: b → a, biases on a
    encoder = convs + lin(chs[-1] * 16, 256) + lin(256, 2 * 10)
    decoder = lin(10, 256) + lin(256, chs[-1] * 16) + deconvs
    return encoder + decoder


# ---- the table ---------------------------------------------------------------------------------
def _images(*shape: int) -> Callable[[], tuple[torch.Tensor, ...]]:
    return lambda: (torch.rand(*shape),)


def _call(model: nn.Module, *inputs: torch.Tensor) -> Any:
    return model(*inputs)


@dataclass(frozen=True)
class Row:
    """One network: how to build it, what to feed it, what it gives and how many parameters it has."""

    id: str
    build: Callable[[], nn.Module]
    inputs: Callable[[], tuple[torch.Tensor, ...]]  # example input(s); shapes comment each row
    shapes: tuple[tuple[int, ...], ...]  # expected output shape(s), in the order the output holds them
    params: int  # the reference count; the row's comment says how it was obtained
    call: Callable[..., Any] = _call  # how to run it: model(*inputs), or a method for containers
    reference: bool = False  # a paper-size configuration: built and run on the meta device only
    grad_inputs: tuple[int, ...] = (0,)  # which inputs are continuous (gradients must reach them)
    samples: str = ""  # why the network draws random numbers in eval mode, if it does by design
    unused: tuple[str, ...] = ()  # parameters (name prefixes) that ``call`` does not use, by design
    marks: tuple[Any, ...] = field(default=())


# StackGAN's conditioning augmentation samples c = μ + σ·ε at test time too (Zhang et al. 2017,
# Sec. 3.2: different ε give different images of one caption), as the authors' CA_NET does
_CA = "conditioning augmentation samples ε in eval mode too, by design"

# A fully grown ProGAN (depth 3 of 4×4 … 32×32, α = 1) uses only its last toRGB / fromRGB layers;
# the lower-resolution ones serve the fade-ins of the growing schedule
_LOWER_TO_RGB = ("to_rgb.0.", "to_rgb.1.", "to_rgb.2.")
_LOWER_FROM_RGB = ("from_rgb.0.", "from_rgb.1.", "from_rgb.2.")

ROWS: list[Row] = [
    # ======================================================================= 1.2 dilated convolutions
    # Yu & Koltun 2016, Table 1: seven 3×3 layers (dilations 1 1 2 4 8 16 1) + a 1×1, C=21 (VOC); by hand
    Row("ContextModule-paper", lambda: dilated.ContextModule(channels=21), _images(2, 21, 24, 24),
        ((2, 21, 24, 24),), 7 * conv(21, 21, 3) + conv(21, 21, 1)),
    # 1.2's segmentation body: ContextModule(P.scaled(32) = 16); by hand as above
    Row("ContextModule-teaching", lambda: dilated.ContextModule(CPU.scaled(32), identity_init=False),
        _images(2, 16, 32, 32), ((2, 16, 32, 32),), 7 * conv(16, 16, 3) + conv(16, 16, 1)),
    # ======================================================================= 1.3 grouped convolutions
    # ResNeXt-50 32×4d conv2 block (Xie et al. 2017, Table 1); by hand, = torchvision resnext50_32x4d().layer1[1] (71,168)
    Row("ResNeXtBlock-paper", lambda: grouped.ResNeXtBlock(), _images(1, 256, 8, 8), ((1, 256, 8, 8),), conv(256, 128, 1, False) + norm(128) + conv(128, 128, 3, False, groups=32) + norm(128)
        + conv(128, 256, 1, False) + norm(256),
        reference=True),
    # the first conv3 block (stride 2, 1×1 projection shortcut); by hand, = torchvision resnext50_32x4d().layer2[0] (349,184)
    Row("ResNeXtBlock-down", lambda: grouped.ResNeXtBlock(256, 512, 32, 8, stride=2), _images(1, 256, 8, 8),
        ((1, 512, 4, 4),), conv(256, 256, 1, False) + norm(256) + conv(256, 256, 3, False, groups=32) + norm(256)
        + conv(256, 512, 1, False) + norm(512) + conv(256, 512, 1, False) + norm(512), reference=True),
    # MobileNet's depthwise 3×3 + pointwise 1×1, each with batch norm; by hand
    Row("DepthwiseSeparableConv", lambda: grouped.DepthwiseSeparableConv(8, 16, stride=2), _images(2, 8, 8, 8),
        ((2, 16, 4, 4),), conv(8, 8, 3, False, groups=8) + norm(8) + conv(8, 16, 1, False) + norm(16)),
    # 1.3's ResNeXt 8×4d on 132 glyph classes (P.scaled: stem 32, stages 64, 128; d doubles per stage);
    # by hand: stem, one block per stage (1×1, grouped 3×3, 1×1, projection shortcut), linear head
    Row("TinyResNeXt-teaching", lambda: grouped.TinyResNeXt(1, 132, channels=(CPU.scaled(128), CPU.scaled(256)),
        cardinality=8, bottleneck_width=4, stem=CPU.scaled(64)), _images(2, 1, 32, 32), ((2, 132),),
        conv(1, 32, 3, False) + norm(32) + _resnext_hand(32, 64, 8 * 4) + _resnext_hand(64, 128, 8 * 8) + lin(128, 132)),
    # ======================================================================= 1.4 dense blocks and skips
    # DenseNet-121 block 1 (Huang et al. 2017): 6 BN-ReLU-1×1(4k)-BN-ReLU-3×3(k) layers, k=32; by hand, = torchvision densenet121().features.denseblock1 (335,040)
    Row("DenseBlock-paper", lambda: dense.DenseBlock(6, 64, 32), _images(2, 64, 8, 8), ((2, 256, 8, 8),), sum(norm(64 + 32 * i) + conv(64 + 32 * i, 128, 1, False) + norm(128) + conv(128, 32, 3, False) for i in range(6))),
    # Ronneberger et al. 2015, Fig. 1 (unpadded, 572 → 388): 31,030,658, the count usually quoted; by hand
    Row("UNet-paper", lambda: unet.UNet(1, 2, 64, depth=4, padding=0), _images(1, 1, 572, 572),
        ((1, 2, 388, 388),), _unet_hand(1, 2, 64, 4, bias=True, bn=False), reference=True),
    # 1.4's denoising experiment (cpu): UNet(3, 3, base 8, depth 2, batch norm, convolutions without bias) on
    # 32×32 patches; by hand
    Row("UNet-teaching", lambda: unet.UNet(3, 3, base_channels=8, depth=2, norm_layer=nn.BatchNorm2d),
        _images(2, 3, 32, 32), ((2, 3, 32, 32),), _unet_hand(3, 3, 8, 2, bias=False, bn=True)),
    # ======================================================================= 1.5 sketch simplification
    # Simo-Serra et al. 2016's released model (no batch norm, biases everywhere): its file's count
    Row("SketchNet-paper", lambda: sketch.SketchSimplificationNet(norm_layer=None), _images(1, 1, 424, 424),
        ((1, 1, 424, 424),), 44_387_249, reference=True),
    # 1.5's width 0.25 (cpu); measured with count_params (the builder's paper row above is independent)
    Row("SketchNet-teaching", lambda: sketch.SketchSimplificationNet(width=0.25), _images(2, 1, 32, 32),
        ((2, 1, 32, 32),), 2_777_791),
    # ======================================================================= 1.6 image decomposition
    # Narihira et al. 2015 widths (64, fine 5×5); measured with count_params (no independent count)
    Row("DirectIntrinsics-paper", lambda: intrinsic.DirectIntrinsicsNet(64, 5), _images(1, 3, 64, 64),
        ((1, 3, 64, 64), (1, 1, 64, 64)), 1_316_356, reference=True),
    # 1.6's width 32, fine kernel 3; measured with count_params (no independent count)
    Row("DirectIntrinsics-teaching", lambda: intrinsic.DirectIntrinsicsNet(width=32, fine_kernel=3),
        _images(2, 3, 32, 32), ((2, 3, 32, 32), (2, 1, 32, 32)), 280_836),
    # ======================================================================= 1.7 denoising
    # DnCNN-S (Zhang et al. 2017): 17 layers; by hand = 556,096, the paper's ~0.56M
    Row("DnCNN-paper", lambda: denoise.DnCNN(), _images(1, 1, 40, 40), ((1, 1, 40, 40),), conv(1, 64, 3) + 15 * (conv(64, 64, 3, False) + norm(64)) + conv(64, 1, 3, False), reference=True),
    # 1.7: depth 10, 32 channels; by hand
    Row("DnCNN-teaching", lambda: denoise.DnCNN(depth=10, channels=32, zero_init_last=True),
        _images(2, 1, 32, 32), ((2, 1, 32, 32),), conv(1, 32, 3) + 8 * (conv(32, 32, 3, False) + norm(32)) + conv(32, 1, 3, False)),
    # ======================================================================= 2.1 autoencoders
    # Hinton & Salakhutdinov 2006: 784-1000-500-250-30 and the mirror; by hand
    Row("FCAutoencoder-paper", lambda: autoencoder.FCAutoencoder((1, 28, 28), 30, (1000, 500, 250)),
        _images(2, 1, 28, 28), ((2, 1, 28, 28),), sum(lin(a, b) + lin(b, a) for a, b in [(784, 1000), (1000, 500), (500, 250), (250, 30)])),
    # 2.1: 32×32, code 8, hidden P.scaled(1000, 500) = (500, 248); by hand
    Row("FCAutoencoder-teaching", lambda: autoencoder.FCAutoencoder((1, 32, 32), 8, (CPU.scaled(1000), CPU.scaled(500))),
        _images(2, 1, 32, 32), ((2, 1, 32, 32),), sum(lin(a, b) + lin(b, a) for a, b in [(1024, 500), (500, 248), (248, 8)])),
    # 2.1: channels P.scaled(32, 64, 128) = (16, 32, 64), code 8; measured with count_params (no independent count)
    Row("ConvAutoencoder-teaching", lambda: autoencoder.ConvAutoencoder(1, 32, 8, tuple(CPU.scaled(c) for c in (32, 64, 128))),
        _images(2, 1, 32, 32), ((2, 1, 32, 32),), 82_297),
    # ======================================================================= 2.2 shared feature space
    # 2.2: code 32, channels (16, 32, 64); measured with count_params (no independent count)
    Row("SharedSpace-teaching", lambda: shared_space.SharedSpace(32, 32, tuple(CPU.scaled(c) for c in (32, 64, 128))),
        _images(2, 1, 32, 32), ((2, 3, 32, 32),), 188_595, call=lambda m, x: m.decode(m.encode(x, "sketch")),
        unused=("image_encoder",)),  # the sketch → image path; the image encoder is the other modality's
    # ======================================================================= 2.3 taskonomy
    # 2.3: TaskNet('depth', width=P.width); measured with count_params (no independent count)
    Row("TaskNet-teaching", lambda: taskonomy.TaskNet("depth", width=CPU.width), _images(2, 3, 32, 32),
        ((2, 1, 32, 32),), 45_745),
    # ======================================================================= 2.4 one-shot learning
    # Koch et al. 2015, Fig. 4 (105×105 → 256 maps of 6×6, 4096-d embedding, L1 + logistic); by hand
    Row("SiameseNet-paper", lambda: siamese.SiameseNet(), lambda: (torch.rand(2, 1, 105, 105), torch.rand(2, 1, 105, 105)),
        ((2,),), conv(1, 64, 10) + conv(64, 128, 7) + conv(128, 128, 4) + conv(128, 256, 4) + lin(256 * 6 * 6, 4096)
        + lin(4096, 1), reference=True, grad_inputs=(0, 1)),
    # 2.4: siamese_teaching(32, width 0.5): channels (16, 32, 32, 64), 'same' convs, three max-pools, embedding 128; by hand
    Row("SiameseNet-teaching", lambda: siamese.siamese_teaching(32, width=CPU.width),
        lambda: (torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32)), ((2,),), conv(1, 16, 5) + conv(16, 32, 3) + conv(32, 32, 3) + conv(32, 64, 3) + lin(64 * 4 * 4, 128) + lin(128, 1), grad_inputs=(0, 1)),
    # ======================================================================= 2.5 / 2.6 style transfer
    # 2.5: VGG-19 (Simonyan & Zisserman 2015, config E) up to conv5_1, the deepest layer used; by hand
    Row("VGGFeatures", lambda: style.VGGFeatures(model=_vgg19(), info=None), _images(1, 3, 32, 32),
        ((1, 64, 32, 32), (1, 128, 16, 16), (1, 256, 8, 8), (1, 512, 4, 4), (1, 512, 4, 4), (1, 512, 2, 2)), conv(3, 64, 3) + conv(64, 64, 3) + conv(64, 128, 3) + conv(128, 128, 3) + conv(128, 256, 3)
        + 3 * conv(256, 256, 3) + conv(256, 512, 3) + 4 * conv(512, 512, 3)),
    # Johnson et al. 2016, as pytorch/examples fast_neural_style prints it
    Row("TransformerNet-paper", lambda: transformer_net.TransformerNet(), _images(1, 3, 256, 256),
        ((1, 3, 256, 256),), 1_679_235, reference=True),
    # 2.6: width 0.5 (cpu); measured with count_params (the paper row above is independent)
    Row("TransformerNet-teaching", lambda: transformer_net.TransformerNet(width=0.5), _images(2, 3, 32, 32),
        ((2, 3, 32, 32),), 424_899),
    # ======================================================================= 3.1 GANs
    # Radford et al. 2016, the pytorch/examples dcgan generator (nz 100, ngf 64, 64×64 RGB)
    Row("DCGAN-G-paper", lambda: dcgan.Generator(100, 64, 3), lambda: (torch.randn(2, 100),), ((2, 3, 64, 64),), 3_576_704,
        reference=True),
    # the pytorch/examples dcgan discriminator (ndf 64)
    Row("DCGAN-D-paper", lambda: dcgan.Discriminator(3, 64), _images(2, 3, 64, 64), ((2,),), 2_765_568, reference=True),
    # 3.1: 32×32 grey, ngf P.scaled(64) = 32; by hand (transposed convs, no biases)
    Row("DCGAN-G-teaching", lambda: dcgan.Generator(100, CPU.scaled(64), 1, 32), lambda: (torch.randn(2, 100),),
        ((2, 1, 32, 32),), conv(100, 128, 4, False) + norm(128) + conv(128, 64, 4, False) + norm(64) + conv(64, 32, 4, False)
        + norm(32) + conv(32, 1, 4, False)),
    # 3.1: ndf 32; by hand
    Row("DCGAN-D-teaching", lambda: dcgan.Discriminator(1, CPU.scaled(64), 32), _images(2, 1, 32, 32), ((2,),), conv(1, 32, 4, False) + conv(32, 64, 4, False) + norm(64) + conv(64, 128, 4, False) + norm(128)
        + conv(128, 1, 4, False)),
    # ======================================================================= 3.2 conditional GANs, pix2pix
    # 3.2: DCGAN G on (z, 50-d label embedding); by hand
    Row("CGAN-G-teaching", lambda: cgan.ConditionalGenerator(10, 100, CPU.scaled(64), 1, 32),
        lambda: (torch.randn(2, 100), torch.tensor([3, 7])), ((2, 1, 32, 32),), 10 * 50 + conv(150, 128, 4, False) + norm(128) + conv(128, 64, 4, False) + norm(64)
        + conv(64, 32, 4, False) + norm(32) + conv(32, 1, 4, False)),
    # 3.2: ndf 32; by hand: the DCGAN D with the label as 10 one-hot input planes
    Row("CGAN-D-teaching", lambda: cgan.ConditionalDiscriminator(10, 1, CPU.scaled(64), 32),
        lambda: (torch.rand(2, 1, 32, 32), torch.tensor([3, 7])), ((2,),),
        conv(1 + 10, 32, 4, False) + conv(32, 64, 4, False) + norm(64) + conv(64, 128, 4, False) + norm(128)
        + conv(128, 1, 4, False)),
    # Isola et al. 2017, the authors' code prints it for unet_256 with batch norm; _pix2pix_unet_hand(3, 3, 8, 64) agrees
    Row("pix2pix-G-paper", lambda: pix2pix.UNetGenerator(3, 3, 8, 64), _images(1, 3, 256, 256), ((1, 3, 256, 256),), 54_413_955,
        reference=True),
    # the authors' basic 70×70 PatchGAN on 6 channels, batch norm
    Row("pix2pix-D-paper", lambda: pix2pix.PatchDiscriminator(6, 64, 3), _images(1, 6, 256, 256), ((1, 1, 30, 30),), 2_768_705,
        reference=True),
    # 3.2: 5 downs, ngf 32, batch norm; by hand (see _pix2pix_unet_hand)
    Row("pix2pix-G-teaching", lambda: pix2pix.UNetGenerator(3, 3, 5, CPU.scaled(64)), _images(2, 3, 32, 32),
        ((2, 3, 32, 32),), _pix2pix_unet_hand(3, 3, 5, 32)),
    # 3.2: n_layers 2, ndf 32, batch norm (so no biases before it); by hand: C32 (no norm), C64, C128 (stride 1), 1
    Row("pix2pix-D-teaching", lambda: pix2pix.PatchDiscriminator(6, CPU.scaled(64), 2), _images(2, 6, 32, 32),
        ((2, 1, 6, 6),), conv(6, 32, 4) + conv(32, 64, 4, False) + norm(64) + conv(64, 128, 4, False) + norm(128)
        + conv(128, 1, 4)),
    # ======================================================================= 3.3 CycleGAN
    # Zhu et al. 2017, the authors' code prints it for resnet_9blocks (instance norm)
    Row("CycleGAN-G-paper", lambda: cyclegan.ResnetGenerator(3, 3, 64, 9), _images(1, 3, 256, 256),
        ((1, 3, 256, 256),), 11_378_179, reference=True),
    # the authors' basic PatchGAN, instance norm
    Row("CycleGAN-D-paper", lambda: cyclegan.PatchDiscriminator(3, 64, 3), _images(1, 3, 256, 256),
        ((1, 1, 30, 30),), 2_764_737, reference=True),
    # 3.3: grey, ngf P.scaled(32) = 16, 2 residual blocks, instance norm without affine parameters; by hand:
    # c7s1-16, d32, d64, 2 × R64, u32, u16, c7s1-1 (Zhu et al. 2017, appendix 7.2)
    Row("CycleGAN-G-teaching", lambda: cyclegan.ResnetGenerator(1, 1, CPU.scaled(32), 2), _images(2, 1, 32, 32),
        ((2, 1, 32, 32),), conv(1, 16, 7) + conv(16, 32, 3) + conv(32, 64, 3) + 2 * 2 * conv(64, 64, 3)
        + conv(64, 32, 3) + conv(32, 16, 3) + conv(16, 1, 7)),
    # 3.3: ndf 16, n_layers 2, instance norm without affine parameters (biases kept); by hand
    Row("CycleGAN-D-teaching", lambda: cyclegan.PatchDiscriminator(1, CPU.scaled(32), 2), _images(2, 1, 32, 32),
        ((2, 1, 6, 6),), conv(1, 16, 4) + conv(16, 32, 4) + conv(32, 64, 4) + conv(64, 1, 4)),
    # ======================================================================= 3.4 BicycleGAN
    # Zhu et al. 2017b, the authors' code prints it for G_Unet_add_all (nz 8)
    Row("BicycleGAN-G-paper", lambda: bicyclegan.Generator(3, 3, 8, 8, 64), lambda: (torch.rand(1, 3, 256, 256), torch.randn(1, 8)),
        ((1, 3, 256, 256),), 54_794_627, reference=True, grad_inputs=(0, 1)),
    # the authors' E_ResNet (resnet_256, nef 64)
    Row("BicycleGAN-E-paper", lambda: bicyclegan.Encoder(3, 8, 64, 5), _images(1, 3, 256, 256), ((1, 8), (1, 8)), 2_590_032,
        reference=True),
    # the authors' basic_256_multi (two scales)
    Row("BicycleGAN-D-paper", lambda: bicyclegan.MultiscaleDiscriminator(3, 64, 3, 2), _images(1, 3, 256, 256),
        ((1, 1, 30, 30), (1, 1, 14, 14)), 3_458_978, reference=True),
    # 3.4: 5 downs, ngf 16; measured with count_params
    Row("BicycleGAN-G-teaching", lambda: bicyclegan.Generator(3, 3, 8, 5, CPU.scaled(32)),
        lambda: (torch.rand(2, 3, 32, 32), torch.randn(2, 8)), ((2, 3, 32, 32),), 1_090_403, grad_inputs=(0, 1)),
    # 3.4: nef 16, 3 blocks; measured with count_params
    Row("BicycleGAN-E-teaching", lambda: bicyclegan.Encoder(3, 8, CPU.scaled(32), 3), _images(2, 3, 32, 32),
        ((2, 8), (2, 8)), 33_776),
    # 3.4: ndf 16, 2 layers, one scale, instance norm as CycleGAN's; by hand
    Row("BicycleGAN-D-teaching", lambda: bicyclegan.MultiscaleDiscriminator(3, CPU.scaled(32), 2, 1),
        _images(2, 3, 32, 32), ((2, 1, 6, 6),),
        conv(3, 16, 4) + conv(16, 32, 4) + conv(32, 64, 4) + conv(64, 1, 4)),
    # 3.4's BicycleGAN: its G, E and two Ds (cVAE-GAN and cLR-GAN), the rows above
    Row("BicycleGAN-teaching", lambda: bicyclegan.BicycleGAN(nz=8, num_downs=5, ngf=16, nef=16, ndf=16, encoder_blocks=3,
        num_d=1, d_layers=2), _images(2, 3, 32, 32), ((2, 3, 32, 32),), 1_090_403 + 33_776 + 2 * 42_865,
        call=lambda m, x: m.generator(x, m.encoder(x)[0]),
        unused=("encoder.fc_logvar", "d_vae", "d_lr")),  # G(A, μ(B)): the encoder's mean, no discriminator
    # ======================================================================= 3.5 progressive growing
    # Karras et al. 2018, Table 2 (23.1M); by hand, with this code's two deviations (see _progan_g_hand)
    Row("ProGAN-G-paper", lambda: progan.Generator(), lambda: (torch.randn(1, 512),), ((1, 3, 1024, 1024),), _progan_g_hand(),
        reference=True),
    # Table 2 says 23.1M; measured with count_params (agrees to 0.1%)
    Row("ProGAN-D-paper", lambda: progan.Discriminator(), _images(4, 3, 1024, 1024), ((4,),), 23_087_249, reference=True),
    # 3.5: latent 64, 32×32, fmap_max P.pick(cpu=32); measured with count_params
    Row("ProGAN-G-teaching", lambda: progan.Generator(64, 32, 3, fmap_base=32 * 16, fmap_max=32),
        lambda: (torch.randn(4, 64),), ((4, 3, 32, 32),), 98_412,
        unused=_LOWER_TO_RGB),
    # 3.5: measured with count_params
    Row("ProGAN-D-teaching", lambda: progan.Discriminator(32, 3, fmap_base=32 * 16, fmap_max=32), _images(4, 3, 32, 32),
        ((4,),), 81_985, unused=_LOWER_FROM_RGB),
    # ======================================================================= 3.6 StackGAN
    # Zhang et al. 2017 stage I (1024-d text, ngf 1024, 64×64); measured with count_params
    Row("StackGAN-I-paper", lambda: stackgan.StageIGenerator(), lambda: (torch.randn(2, 100), torch.randn(2, 1024)),
        ((2, 3, 64, 64), (2, 128), (2, 128)), 10_563_651, reference=True, grad_inputs=(0, 1), samples=_CA),
    # stage II (64 → 256, 4 residual blocks); measured with count_params
    Row("StackGAN-II-paper", lambda: stackgan.StageIIGenerator(), lambda: (torch.rand(2, 3, 64, 64), torch.randn(2, 1024)),
        ((2, 3, 256, 256), (2, 128), (2, 128)), 26_552_611, reference=True, grad_inputs=(0, 1), samples=_CA),
    # 3.6: 64-d text, z 32, ngf 128, 16×16; measured with count_params
    Row("StackGAN-I-teaching", lambda: stackgan.StageIGenerator(64, 64, 32, ngf=128, image_size=16),
        lambda: (torch.randn(2, 32), torch.randn(2, 64)), ((2, 3, 16, 16), (2, 64), (2, 64)), 310_563, grad_inputs=(0, 1), samples=_CA),
    # 3.6: 16 → 32, ngf 32, one down, two residual blocks; measured with count_params
    Row("StackGAN-II-teaching", lambda: stackgan.StageIIGenerator(64, 64, ngf=32, in_size=16, out_size=32, n_down=1,
        n_res=2, refine_input=True), lambda: (torch.rand(2, 3, 16, 16), torch.randn(2, 64)),
        ((2, 3, 32, 32), (2, 64), (2, 64)), 295_827, grad_inputs=(0, 1), samples=_CA),
    # 3.6: ndf 32, 16×16; measured with count_params
    Row("StackGAN-D-teaching", lambda: stackgan.ConditionalDiscriminator(64, 32, 16),
        lambda: (torch.rand(2, 3, 16, 16), torch.randn(2, 64)), ((2,),), 109_313, grad_inputs=(0, 1)),
    # 3.6: ndf 32, 32×32; measured with count_params
    Row("StackGAN-D2-teaching", lambda: stackgan.ConditionalDiscriminator(64, 32, 32),
        lambda: (torch.rand(2, 3, 32, 32), torch.randn(2, 64)), ((2,),), 389_249, grad_inputs=(0, 1)),
    # 3.6: a 25-word vocabulary of 32-d embeddings, averaged, then a linear map to 64; by hand
    Row("TextEncoder", lambda: _text_encoder(), lambda: (torch.tensor([[1, 2, 3], [4, 5, 0]]),), ((2, 64),), 25 * 32 + lin(32, 64),
        grad_inputs=()),
    # ======================================================================= 3.7 disentanglement
    # Higgins et al. 2017 as disentanglement_lib builds it (conv 32 32 64 64, dense 256, 10 latents); by hand
    Row("BetaVAE-paper", lambda: disentangle.BetaVAE(), _images(2, 1, 64, 64), ((2, 1, 64, 64), (2, 10), (2, 10)), _beta_vae_hand(64),
        reference=True),
    # 3.7: 32×32, so the first three convolutions; by hand
    Row("BetaVAE-teaching", lambda: disentangle.BetaVAE(10, image_size=32), _images(2, 1, 32, 32),
        ((2, 1, 32, 32), (2, 10), (2, 10)), _beta_vae_hand(32)),
    # 3.7: s 8, z 8, 32×32; measured with count_params
    Row("SpecifiedUnspecifiedAE-teaching", lambda: disentangle.SpecifiedUnspecifiedAE(8, 8, image_size=32),
        _images(2, 1, 32, 32), ((2, 1, 32, 32), (2, 8), (2, 8)), 635_609,
        call=lambda m, x: (m.decode(*m(x)[:2]), *m(x)[:2])),
    # 3.7: 32×32; measured with count_params
    Row("PairDiscriminator-teaching", lambda: disentangle.PairDiscriminator(image_size=32),
        lambda: (torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32)), ((2,),), 312_961, grad_inputs=(0, 1)),
    # ======================================================================= 4.1 spatial transformers
    # 4.1: width 32, no attention; measured with count_params
    Row("MirrorNet-teaching", lambda: attention_nets.MirrorNet(1, 32), _images(2, 1, 32, 32), ((2, 1, 32, 32),), 78_145),
    # 4.1: width 32, one non-local block; measured with count_params
    Row("MirrorNet-nonlocal-teaching", lambda: attention_nets.MirrorNet(1, 32, attention="nonlocal"),
        _images(2, 1, 32, 32), ((2, 1, 32, 32),), 63_873),
    # 4.1: the localisation net's defaults; measured with count_params
    Row("SpatialTransformer", lambda: stn.SpatialTransformer(1), _images(2, 1, 32, 32), ((2, 1, 32, 32),), 17_086),
    # 4.1: width 16, STN at 32×32, 48×48 input; measured with count_params
    Row("GlyphClassifier-stn-teaching", lambda: attention_nets.GlyphClassifier(10, 1, 16, stn=True, head="flatten",
        input_size=48, stn_size=32), _images(2, 1, 48, 48), ((2, 10),), 39_800),
    # ======================================================================= 4.2 channel attention, masks
    # Hu et al. 2018: an SE block on ResNet-50's last stage, r = 16; by hand
    Row("SqueezeExcitation-paper", lambda: attention.SqueezeExcitation(2048, 16), _images(1, 2048, 4, 4),
        ((1, 2048, 4, 4),), lin(2048, 128) + lin(128, 2048)),
    # 4.2: framed pairs, blocks 12-24-48, SE (r = 4) after each; measured with count_params
    Row("GlyphClassifier-se-teaching", lambda: attention_nets.GlyphClassifier(10, 3, widths=(12, 24, 48), se=True),
        _images(2, 3, 32, 32), ((2, 10),), 15_559),
    # 4.2: the same CNN without SE, widened by widen_to_match to SE's parameters; measured with count_params
    Row("GlyphClassifier-widened-teaching", lambda: attention_nets.GlyphClassifier(10, 3, widths=(13, 26, 49)),
        _images(2, 3, 32, 32), ((2, 10),), 15_535),
    # Wang et al. 2017, p=1 t=2 r=1 at 16 channels; measured with count_params
    Row("ResidualAttentionModule", lambda: attention.ResidualAttentionModule(16), _images(2, 16, 16, 16),
        ((2, 16, 16, 16),), 3_152),
    # 4.2: width 16, stride-2 stem, masks on and starting at 0.05; measured with count_params
    Row("ResidualAttentionNet-teaching", lambda: attention_nets.ResidualAttentionNet(10, 1, 16, stem_stride=2,
        mask_start=0.05), _images(2, 1, 32, 32), ((2, 10),), 39_850),
    # 4.2: the same units without masks, widened by widen_to_match; measured with count_params
    Row("ResidualAttentionNet-nomask-teaching", lambda: attention_nets.ResidualAttentionNet(
        10, 1, widths=(18, 37, 76), attention=False, stem_stride=2), _images(2, 1, 32, 32), ((2, 10),), 39_876),
    # ======================================================================= 4.3 distant details
    # Wang et al. 2018, Fig. 2 on res4 (1024 → 512 embeddings, BN on W z); by hand
    Row("NonLocalBlock-paper", lambda: attention.NonLocalBlock(1024), _images(1, 1024, 4, 4), ((1, 1024, 4, 4),), 3 * lin(1024, 512) + lin(512, 1024) + norm(1024)),
    # SAGAN (Zhang et al. 2019) at C=256: f, g, h (C/8, no bias), the output 1×1 and γ; by hand
    Row("SelfAttention-paper", lambda: attention.SelfAttention(256), _images(1, 256, 8, 8), ((1, 256, 8, 8),), 3 * 256 * 32 + 32 * 256 + 1),
    # 4.3: nz 64, width 32, 32×32 grey; measured with count_params
    Row("SAGAN-G-teaching", lambda: sagan.Generator(64, CPU.scaled(64, minimum=8), 1, 32), lambda: (torch.randn(2, 64),),
        ((2, 1, 32, 32),), 296_610),
    # 4.3: measured with count_params
    Row("SAGAN-D-teaching", lambda: sagan.Discriminator(1, CPU.scaled(64, minimum=8), 32), _images(2, 1, 32, 32),
        ((2,),), 167_138),
    # ======================================================================= 4.4 gray-box learning
    # the authors' actor layout (agent.py feature_extractor: 4×4/2 convs 32, 64, 128, 256 on 64×64 → 4096
    # features; FC 128), with our 6 input channels (image + log) and one shared head for the 39 raw values
    # of the eight filters (1 + 1 + 2 + 1 + 8 + 1 + 1 + 24); by hand
    Row("ExposureNet-paper", lambda: exposure.ExposureNet(), _images(2, 3, 64, 64),
        ((2, 3, 64, 64), (2,), (2,), (2, 2), (2,), (2, 8), (2,), (2,), (2, 3, 8)),
        conv(6, 32, 4) + conv(32, 64, 4) + conv(64, 128, 4) + conv(128, 256, 4) + lin(4096, 128) + lin(128, 39)),
    # 4.4: three filters, low_res 32, widths (16, 16, 32, 32), FC 32 (the cpu profile); by hand
    Row("ExposureNet-teaching", lambda: exposure.ExposureNet(["gamma", "white_balance", "exposure"], low_res=32,
                                                             widths=(16, 16, 32, 32), hidden=32),
        _images(2, 3, 64, 64), ((2, 3, 64, 64), (2,), (2, 2), (2,)),
        conv(6, 16, 4) + conv(16, 16, 4) + conv(16, 32, 4) + conv(32, 32, 4) + lin(128, 32) + lin(32, 4)),
    # 4.4's black box: five 3×3 convs, width 34, image + log in, residual out (the cpu profile); by hand
    Row("PixelCNN-teaching", lambda: exposure.PixelCNN(width=34, depth=5), _images(2, 3, 32, 32), ((2, 3, 32, 32),),
        conv(6, 34, 3) + 3 * conv(34, 34, 3) + conv(34, 3, 3)),
]


def _vgg19() -> types.SimpleNamespace:
    """torchvision's VGG-19 convolutional part (configuration "E"), without the 120M-parameter classifier."""
    return types.SimpleNamespace(features=torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"]))


def _text_encoder() -> nn.Module:
    from coursekit.models.text_encoder import TextEncoder  # 3.6's caption encoder

    return TextEncoder(embed_dim=64)


def _params(row: Row) -> Any:
    return pytest.param(row, id=row.id, marks=row.marks)


TEACHING = [_params(r) for r in ROWS if not r.reference]
ALL = [_params(r) for r in ROWS]


def _tensors(out: Any) -> list[torch.Tensor]:
    """The tensors of an output, in order: a tensor, a tuple/list of them, or a dict (by key order)."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, Mapping):
        return [t for v in out.values() for t in _tensors(v)]
    if isinstance(out, Sequence) and not isinstance(out, str):
        return [t for v in out for t in _tensors(v)]
    raise TypeError(f"unexpected output type {type(out).__name__}")


def _build(row: Row, seed: int = 0) -> nn.Module:
    """The row's network; a teaching one with every parameter nudged off its initial value.

    The nudge makes every weight matter: a layer initialised to zero (DnCNN's ``zero_init_last``)
    or to the identity (SE's ``identity_init``) would otherwise hide what the network computes,
    and a fresh instance would share those values with a loaded one.
    """
    torch.manual_seed(seed)
    if row.reference:
        with torch.device("meta"):
            return row.build()
    model = row.build()
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point():
                p.add_(0.01 * torch.randn_like(p))
    return model


def _inputs(row: Row) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(1)
    xs = row.inputs()
    return tuple(x.to("meta") for x in xs) if row.reference else xs


# ---- the tests ---------------------------------------------------------------------------------
@pytest.mark.parametrize("row", ALL)
def test_parameter_count(row: Row):
    model = _build(row)
    assert count_params(model) == row.params, (
        f"{row.id}: {count_params(model):,} parameters, the reference says {row.params:,}"
    )


@pytest.mark.parametrize("row", ALL)
def test_output_shapes(row: Row):
    model = _build(row).eval()
    with torch.no_grad():
        out = _tensors(row.call(model, *_inputs(row)))
    assert [tuple(t.shape) for t in out] == [tuple(s) for s in row.shapes]


@pytest.mark.parametrize("row", [r for r in TEACHING if r.values[0].grad_inputs])
def test_gradients_reach_the_input_and_every_parameter(row: Row):
    model = _build(row).train()
    xs = [x.clone().requires_grad_(i in row.grad_inputs) for i, x in enumerate(_inputs(row))]
    out = [t for t in _tensors(row.call(model, *xs)) if t.requires_grad]
    assert out, "no output depends on the input through differentiable operations"
    sum(t.float().sum() for t in out).backward()
    for i in row.grad_inputs:
        g = xs[i].grad
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0, f"no gradient reaches input {i}"
    unreached = [
        n for n, p in model.named_parameters() if p.requires_grad and p.grad is None and not n.startswith(row.unused)
    ]
    assert not unreached, f"no gradient reaches these parameters (a detached branch?): {unreached[:5]}"


def _run(row: Row, model: nn.Module, xs: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    """The output tensors in eval mode; a network that samples by design draws the same numbers each time."""
    if row.samples:
        torch.manual_seed(2)
    with torch.no_grad():
        return _tensors(row.call(model, *xs))


@pytest.mark.parametrize("row", TEACHING)
def test_eval_mode_is_deterministic(row: Row):
    model = _build(row).eval()
    xs = _inputs(row)
    first, second = _run(row, model, xs), _run(row, model, xs)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b), "two forward passes in eval mode differ (dropout or batch statistics left on?)"


@pytest.mark.parametrize("row", TEACHING)
def test_state_dict_round_trip(row: Row):
    model = _build(row, seed=0).eval()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    fresh = _build(row, seed=1).eval()  # other initial weights: the load must overwrite every one
    xs = _inputs(row)
    before = _run(row, fresh, xs)
    assert any(not torch.equal(a, b) for a, b in zip(_run(row, model, xs), before, strict=True)), (
        "two instances with different weights give the same output: forward ignores the weights"
    )
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    for a, b in zip(_run(row, model, xs), _run(row, fresh, xs), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_hand_counts_agree_with_the_published_numbers():
    # the hand-count helpers, checked against the numbers the papers and their code publish
    assert _pix2pix_unet_hand(3, 3, 8, 64) == 54_413_955  # pix2pix's code prints it for unet_256
    assert _unet_hand(1, 2, 64, 4, bias=True, bn=False) == 31_030_658  # the U-Net count usually quoted
    assert round(_progan_g_hand() / 1e6, 1) == 23.1  # ProGAN, Table 2
    assert _resnext_hand(256, 256, 128, cardinality=32) - conv(256, 256, 1, False) - norm(256) == 71_168  # torchvision's layer1[1]
