"""The attention-map probe of notebook 4.3 in JupyterLab: moving the query changes the picture.

The probe runs on an untrained network in ``demo_attention.ipynb`` (seconds); notebook 4.3 itself,
which builds the same probe after training, runs in the notebook gate.
"""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one JupyterLab server
expect = pytest.importorskip(
    "playwright.sync_api", reason="the Python package `playwright` is not installed (pip install -e '.[dev]')"
).expect

NOTEBOOK = "browser/demo_attention.ipynb"


def slider(scope, description: str):
    """The slider labelled ``description`` inside ``scope`` (a page or a locator)."""
    page = getattr(scope, "page", scope)
    label = page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(description)}\s*$"))
    return scope.locator(".widget-slider").filter(has=label)


def test_attention_probe_follows_the_query(lab):
    lab.open_notebook(NOTEBOOK)
    cells = lab.run_all()
    lab.assert_no_errors(cells)
    assert lab.assert_widgets_render(cells) >= 1

    probe = lab.notebook.locator(".jp-OutputArea-output").filter(has=slider(lab.page, "query x")).first
    probe.scroll_into_view_if_needed()
    query_x, query_y = slider(probe, "query x"), slider(probe, "query y")
    x = int(query_x.locator(".widget-readout").inner_text())
    y = int(query_y.locator(".widget-readout").inner_text())
    width = round(float(query_x.locator(".noUi-handle").get_attribute("aria-valuemax"))) + 1
    assert x + 1 < width, f"query x = {x} leaves no room to move right in a {width}-px image"
    line = probe.locator(".widget-label").filter(has_text="attends most to")
    picture = probe.locator(".widget-image")
    expect(line).to_contain_text(f"query ({x}, {y})")
    src_before = picture.get_attribute("src")
    pixels_before = lab.shot("probe-before", picture).read_bytes()

    query_x.locator(".noUi-handle").press("ArrowRight")

    expect(query_x.locator(".widget-readout")).to_have_text(str(x + 1))
    expect(line).to_contain_text(f"query ({x + 1}, {y}) attends most to")  # arrives asynchronously
    expect(picture).not_to_have_attribute("src", src_before)
    pixels_after = lab.shot("probe-after", picture).read_bytes()
    assert pixels_after != pixels_before, "the attention picture did not change"
