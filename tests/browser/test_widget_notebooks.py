"""Every kind of widget the course shows renders in JupyterLab, with its controls.

Notebooks 1.2 and 4.3 are covered, with interaction, by test_receptive_field.py and
test_attention.py; the welcome notebook has no widgets. The other widget notebooks (2.5, 3.1, 3.4,
3.7, 4.4) already run to the end in the notebook gate (tests/test_notebooks.py), where each builds
its widgets in a kernel; what only a browser can show is that those widgets *render*. That depends
on the widget kinds, not on the training before them, so one small page builds every kind with a
tiny untrained network (``widget_gallery.ipynb``) instead of running five notebooks a second time.
A test keeps the gallery complete: every widget builder a student notebook calls appears in it.
"""

import json
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one JupyterLab server

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parents[1] / "notebooks"
GALLERY = "browser/widget_gallery.ipynb"
COVERED = {"1.2_dilated_convolutions.ipynb", "4.3_attention_to_distant_details.ipynb"}
CONTROLS = ".widget-slider, .widget-dropdown, .widget-toggle-buttons, .widget-button, .widget-image"
# what builds a widget in a notebook: a coursekit widget builder or ipywidgets' interactive
BUILDERS = re.compile(r"\b(interpolation_widget|latent_code_widget|LatentSliders|widgets\.interactive|interact)\(")


def _code(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_the_gallery_has_every_widget_kind_the_notebooks_use():
    gallery = set(BUILDERS.findall(_code(HERE / "widget_gallery.ipynb")))
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        if path.name in COVERED:
            continue
        missing = set(BUILDERS.findall(_code(path))) - gallery
        assert not missing, f"{path.name} shows {sorted(missing)}, which tests/browser/widget_gallery.ipynb does not"


def test_every_widget_kind_renders_after_run_all(lab):
    lab.open_notebook(GALLERY)
    cells = lab.run_all()
    lab.assert_no_errors(cells)
    shown = lab.assert_widgets_render(cells)
    assert shown >= 4, f"the gallery builds four widgets, {shown} rendered"
    widgets = lab.notebook.locator(".jp-OutputArea-output > .jupyter-widgets").filter(has=lab.page.locator(CONTROLS))
    assert widgets.count() >= 4, "a widget rendered without its controls"
    lab.shot("gallery")
