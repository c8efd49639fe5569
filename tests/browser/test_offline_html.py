"""The instructor build's HTML pages render their formulas with the network off.

``python -m tools.build`` writes ``html/NAME.html`` with MathJax copied beside it
(``html/mathjax/``); nbconvert's default would load MathJax from a CDN and, offline, show every
formula as raw LaTeX. Here the welcome notebook is built in the smoke profile and its page opened
from disk in Chromium with every non-file request blocked.
"""

from __future__ import annotations

import json
import re

import pytest

from .conftest import REPO, SHOTS

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # the browser share on one worker

INLINE_OR_DISPLAY = re.compile(r"\$\$[^$]+\$\$|\$[^$\n]+\$")
MATHJAX_S = 30


def _formulas_in_source(name: str) -> int:
    nb = json.loads((REPO / "solutions" / f"{name}.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return len(INLINE_OR_DISPLAY.findall(text))


def test_built_page_renders_formulas_offline(browser, tmp_path):
    from tools import build

    name = "00_welcome"
    expected = _formulas_in_source(name)
    assert expected >= 3, f"{name} should hold formulas to check; found {expected}"
    assert build.main(["--profile", "smoke", "--out", str(tmp_path), name]) == 0
    page_file = tmp_path / "html" / f"{name}.html"

    context = browser.new_context(viewport={"width": 1200, "height": 900})
    blocked: list[str] = []

    def offline(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        try:
            page.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=MATHJAX_S * 1000
            )
        except Exception:
            raw = INLINE_OR_DISPLAY.findall(page.locator("body").inner_text())
            pytest.fail(
                f"MathJax did not load from disk within {MATHJAX_S} s (blocked requests: {blocked}); "
                f"formulas left as raw LaTeX: {raw[:5]}"
            )
        page.evaluate("() => MathJax.startup.promise")  # typesetting done
        rendered = page.locator("mjx-container").count()
        errors = page.evaluate(
            "() => [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error'))"
        )
        markdown = "\n".join(page.locator(".jp-RenderedMarkdown").all_inner_texts())
        SHOTS.mkdir(parents=True, exist_ok=True)
        if rendered:  # the first formula in view
            page.locator("mjx-container").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "offline_html.png"))
    finally:
        context.close()

    assert not errors, f"MathJax could not typeset: {errors}"
    raw = INLINE_OR_DISPLAY.findall(markdown)
    assert not raw, f"formulas left as raw LaTeX in {page_file.name}: {raw[:5]}"
    assert rendered == expected, f"{expected} formulas in {name}'s Markdown, {rendered} typeset"
