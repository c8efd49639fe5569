"""The receptive-field probe of notebook 1.2 in JupyterLab: a key press on a slider changes the field.

The probe is tested in this folder's demo notebook (the same widget,
``coursekit.widgets.receptive_field.receptive_field_probe()``, that notebook 1.2 shows), so the test
takes seconds; notebook 1.2 itself runs in the notebook gate.
"""

import re

import pytest
from torch import nn

from coursekit.analysis import receptive_field

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one JupyterLab server
expect = pytest.importorskip(
    "playwright.sync_api", reason="the Python package `playwright` is not installed (pip install -e '.[dev]')"
).expect

DEMO_NOTEBOOK = "browser/demo_receptive_field.ipynb"


def expected_text(layers: int, kernel_size: int, stride: int, dilation: int, size: int) -> str:
    """The probe's first line for a custom stack, from coursekit.analysis on a stack built here."""
    stack = nn.Sequential(
        *[
            nn.Conv2d(
                1, 1, kernel_size, stride=stride, padding=dilation * (kernel_size - 1) // 2, dilation=dilation
            )
            for _ in range(layers)
        ]
    )
    return receptive_field(stack, (1, size, size)).describe()


def slider(scope, description: str):
    """The slider labelled ``description`` inside ``scope`` (a page or a locator)."""
    page = getattr(scope, "page", scope)
    label = page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(description)}\s*$"))
    return scope.locator(".widget-slider").filter(has=label)


def settings(widget) -> dict:
    values = {
        key.replace(" ", "_"): int(slider(widget, key).locator(".widget-readout").inner_text())
        for key in ("layers", "kernel size", "stride", "dilation")
    }
    values["size"] = (
        round(float(slider(widget, "x").locator(".noUi-handle").get_attribute("aria-valuemax"))) + 1
    )
    return values


def test_receptive_field_probe_follows_a_key_press(lab):
    lab.open_notebook(DEMO_NOTEBOOK)
    cells = lab.run_all()
    lab.assert_no_errors(cells)
    lab.assert_widgets_render(cells)

    widget = lab.notebook.locator(".jp-OutputArea-output").filter(has=slider(lab.page, "dilation")).first
    widget.scroll_into_view_if_needed()
    assert widget.locator(".widget-dropdown select").input_value() == "custom stack"
    line = widget.locator(".widget-html b").filter(has_text="receptive field:")
    picture = widget.locator(".widget-image")
    before = settings(widget)
    expect(line).to_have_text(expected_text(**before))
    src_before = picture.get_attribute("src")
    pixels_before = lab.shot("probe-before", picture).read_bytes()

    slider(widget, "layers").locator(".noUi-handle").press("ArrowRight")

    expect(slider(widget, "layers").locator(".widget-readout")).to_have_text(str(before["layers"] + 1))
    after = dict(before, layers=before["layers"] + 1)
    assert settings(widget) == after
    assert expected_text(**after) != expected_text(**before)
    expect(line).to_have_text(expected_text(**after))  # the kernel's answer arrives asynchronously
    expect(picture).not_to_have_attribute("src", src_before)
    pixels_after = lab.shot("probe-after", picture).read_bytes()
    assert pixels_after != pixels_before, "the probe's picture did not change"
