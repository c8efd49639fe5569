"""Idea figures of 2.1 and 2.3 (coursekit.viz.draw_autoencoder, draw_taskonomy): they draw with and
without example images and show what they are given (the code's length, the sources and target)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from coursekit.viz import draw_autoencoder, draw_taskonomy  # noqa: E402


def _texts(fig):
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_autoencoder_draws_one_cell_per_code_number():
    for image, code in ((None, None), (torch.rand(1, 32, 32), torch.randn(6))):
        fig = draw_autoencoder(image, image, code=code)
        k = 4 if code is None else 6
        assert f"$k = {k}$ numbers" in _texts(fig) and "encoder $E$" in _texts(fig)
        cells = [p for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch) and p.get_edgecolor()[:3] != (1, 1, 1)]
        assert len(cells) >= k
        plt.close(fig)


def test_taskonomy_names_its_sources_and_target():
    for image in (None, torch.rand(3, 32, 32)):
        fig = draw_taskonomy(image, sources=("depth", "albedo"), target="normals")
        text = _texts(fig)
        assert "readout\ndepth → normals" in text and "readout\nalbedo → normals" in text
        assert "affinity matrix" in text and "column normals filled" in text
        plt.close(fig)
