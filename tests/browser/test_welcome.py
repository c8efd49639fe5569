"""The welcome notebook in JupyterLab: opened from the file browser, Run All, no errors, glyphs shown."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one JupyterLab server


def test_welcome_runs_and_shows_the_glyph_grid(lab):
    lab.open_notebook("notebooks/00_welcome.ipynb")
    cells = lab.run_all()
    lab.assert_no_errors(cells)

    grid_cell = lab.notebook.locator(".jp-CodeCell").filter(has_text="glyphs.Glyphs(")

    image = grid_cell.locator(".jp-OutputArea-output img").first
    image.scroll_into_view_if_needed()
    image.wait_for(state="visible")
    natural = image.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
    assert natural[0] and natural[1] > 200 and natural[2] > 100, f"glyph grid image not decoded: {natural}"
    lab.shot("glyph-grid", image)
