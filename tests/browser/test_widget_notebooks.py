"""Every other notebook with widgets: after Run All (smoke profile) its widgets render, none fails.

Notebooks 1.2 and 4.3 are covered, with interaction, by test_receptive_field.py and
test_attention.py; the welcome notebook has no widgets. To keep the suite short, the notebooks run
side by side (``PARALLEL`` pages and kernels at a time; smoke training is bounded by wall-clock
time, so running them together costs little more than the slowest); each test then reports its
notebook's result and has its own screenshot.
"""

import json
import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one JupyterLab server

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
COVERED = {"1.2_dilated_convolutions.ipynb", "4.3_attention_to_distant_details.ipynb"}
WIDGET_MARKERS = ("coursekit.widgets", "ipywidgets")
PARALLEL = int(os.environ.get("COURSEKIT_BROWSER_PARALLEL", "4"))


def uses_widgets(path: Path) -> bool:
    cells = json.loads(path.read_text())["cells"]
    source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return any(m in source for m in WIDGET_MARKERS)


WIDGET_NOTEBOOKS = sorted(
    p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in COVERED and uses_widgets(p)
)


CONTROLS = ".widget-slider, .widget-dropdown, .widget-toggle-buttons, .widget-button, .widget-image"


def check(lab, cells: list[dict]) -> None:
    lab.assert_no_errors(cells)
    lab.assert_widgets_render(cells)
    # Progress bars are widgets too; the notebook's own widget has controls or a picture.
    widgets = lab.notebook.locator(".jp-OutputArea-output > .jupyter-widgets").filter(
        has=lab.page.locator(CONTROLS)
    )
    assert widgets.count() >= 1, "the notebook uses widgets but none with controls is shown after Run All"
    widgets.first.scroll_into_view_if_needed()
    lab.shot("widget", widgets.first)


@pytest.fixture(scope="module")
def results(jupyter_server, new_lab):
    """Run every widget notebook (PARALLEL at a time); map its name to None or the failure."""
    outcome: dict[str, BaseException | None] = {}
    for i in range(0, len(WIDGET_NOTEBOOKS), PARALLEL):
        labs = {}
        try:
            for name in WIDGET_NOTEBOOKS[i : i + PARALLEL]:
                labs[name] = new_lab(f"test_widgets_render_after_run_all-{name}")
                try:
                    labs[name].open_notebook(f"notebooks/{name}")
                    labs[name].start_run_all()
                    outcome[name] = None
                except Exception as e:
                    outcome[name] = e
            for name, lab in labs.items():
                if outcome[name] is None:
                    try:
                        check(lab, lab.wait_run_all())
                    except Exception as e:
                        outcome[name] = e
        finally:
            for lab in labs.values():
                lab.close()  # the final screenshot of each notebook
            jupyter_server.shutdown_kernels()
    return outcome


@pytest.mark.parametrize("name", WIDGET_NOTEBOOKS)
def test_widgets_render_after_run_all(results, name):
    if results[name] is not None:
        raise results[name]
