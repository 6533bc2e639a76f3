"""Live reload end to end in a real headless Chromium (Playwright driving Debian's /usr/bin/chromium)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import ROOT
from live import Running, wait_for

CHROMIUM = os.environ.get("MICROSITE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install -e '.[test]')")
if not Path(CHROMIUM).is_file():
    pytest.skip(f"no Chromium at {CHROMIUM}; `make test` installs it with apt-get where it runs as root",
                allow_module_level=True)


@pytest.fixture
def browser_page(site):
    run = Running(site.source, serve=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        try:
            yield run, page
        finally:
            browser.close()
            run.close()


def test_edit_break_and_fix_an_article_in_an_open_tab(browser_page):
    run, page = browser_page
    page.goto(f"{run.url}/articles/launch/")
    assert page.inner_text("h1") == "The launch"
    wait_for(lambda: run.server.hub.count() == 1, what="the page's live-reload connection")

    path = run.settings.source / "content/articles/launch.md"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("Up they go.", "Edited on disk, seen in the tab."), encoding="utf-8")
    page.wait_for_function("() => document.body.innerText.includes('Edited on disk, seen in the tab.')", timeout=15000)
    assert page.url == f"{run.url}/articles/launch/"

    path.write_text(good.replace("---\n", "", 1), encoding="utf-8")
    overlay = page.locator("#microsite-error")
    overlay.wait_for(state="visible", timeout=15000)
    assert "content/articles/launch.md:" in overlay.inner_text()

    path.write_text(good.replace("Up they go.", "Fixed, and back."), encoding="utf-8")
    overlay.wait_for(state="detached", timeout=15000)
    page.wait_for_function("() => document.body.innerText.includes('Fixed, and back.')", timeout=15000)
    assert page.inner_text("h1") == "The launch"


def test_a_stylesheet_edit_restyles_the_tab_without_reloading(browser_page):
    run, page = browser_page
    page.goto(f"{run.url}/crew/")
    wait_for(lambda: run.server.hub.count() == 1, what="the page's live-reload connection")
    page.evaluate("() => { window.stillHere = true; }")
    (run.settings.source / "static").mkdir()
    css = (ROOT / "microsite/theme/static/style.css").read_text(encoding="utf-8")
    (run.settings.source / "static/style.css").write_text(css + "\nh1 { text-transform: uppercase; }\n", encoding="utf-8")
    page.wait_for_function("() => getComputedStyle(document.querySelector('h1')).textTransform === 'uppercase'", timeout=15000)
    assert page.evaluate("() => window.stillHere") is True, "the page was not reloaded"
    assert page.locator('link[rel="stylesheet"]').count() == 1


def test_crew_and_template_edits_reach_the_open_tab(browser_page):
    run, page = browser_page
    page.goto(f"{run.url}/crew/peresild/")
    wait_for(lambda: run.server.hub.count() == 1, what="the page's live-reload connection")
    mission = run.settings.source / "content/mission.yaml"
    mission.write_text(mission.read_text(encoding="utf-8").replace("name: Yulia Peresild", "name: Yulia S. Peresild"), encoding="utf-8")
    page.wait_for_function("() => document.querySelector('h1').innerText.includes('Yulia S. Peresild')", timeout=15000)

    (run.settings.source / "templates").mkdir()
    crew = (ROOT / "microsite/theme/templates/crew.html").read_text(encoding="utf-8")
    head, _, tail = crew.rpartition("{% endblock %}")
    (run.settings.source / "templates/crew.html").write_text(
        head + '<p id="template-probe">From the edited template.</p>{% endblock %}' + tail, encoding="utf-8")
    page.wait_for_selector("#template-probe", timeout=15000)
    assert page.url == f"{run.url}/crew/peresild/"
