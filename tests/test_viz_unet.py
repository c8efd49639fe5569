"""1.4's U-Net diagram (coursekit.viz.draw_unet): the sizes it labels are the paper's Fig. 1."""

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from coursekit.nn.unet import UNet  # noqa: E402
from coursekit.viz import _unet_levels, draw_unet  # noqa: E402


def test_the_paper_unet_is_labelled_with_fig_1_sizes():
    with torch.device("meta"):
        net = UNet(1, 2, 64, depth=4, padding=0)
    down, bottom, up = _unet_levels(net, 572)
    assert down == [(64, 568), (128, 280), (256, 136), (512, 64)]
    assert bottom == (1024, 28)
    assert up == [(512, 52), (256, 100), (128, 196), (64, 388)]  # 388 = the output tile


def test_a_padded_unet_keeps_its_sizes_and_draws():
    net = UNet(3, 3, 8, depth=2, skips=False)
    assert _unet_levels(net, 32) == ([(8, 32), (16, 16)], (32, 8), [(16, 16), (8, 32)])
    fig = draw_unet(net, 32)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "8×8" in texts and "copy" not in texts  # the bottleneck; no skips drawn
    matplotlib.pyplot.close(fig)
