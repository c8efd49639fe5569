"""4.4's idea figure (coursekit.viz.draw_graybox): it draws with and without a photo and names the
filters it is given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from coursekit.viz import draw_graybox  # noqa: E402


def _texts(fig):
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_draws_the_pipeline_with_and_without_a_photo():
    for photo in (None, torch.rand(3, 40, 60)):
        fig = draw_graybox(photo, low_res=32)
        text = _texts(fig)
        assert "32×32 copy" in text and "gamma →\nwhite balance → exposure" in text
        assert "pixel CNN" in text and "full resolution" in text
        plt.close(fig)


def test_names_the_filters_it_is_given():
    fig = draw_graybox(filters=("exposure", "tone"))
    text = _texts(fig)
    assert "exposure →\ntone" in text and "EV" in text
    plt.close(fig)
