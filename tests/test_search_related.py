"""Search (Pagefind, queried in a real headless Chromium) and related articles."""

from __future__ import annotations

import functools
import json
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import ROOT, article, article_folders
from microsite import cli

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The default site built once and served over HTTP on the loopback interface."""
    source = tmp_path_factory.mktemp("search") / "site"
    shutil.copytree(ROOT / "content", source / "content")
    assert cli.main(["--source", str(source), "-q"]) == 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(source / "output")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is installed by `make test` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _search(page, base: str, query: str) -> list[str]:
    """Load the search page as a reader would, with the query in the URL, and list the results."""
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/search/?q={quote(query)}")
    page.wait_for_selector(".search-status:not(:empty)", timeout=15000)
    assert errors == []
    return page.eval_on_selector_all(".search-results a", "links => links.map(a => a.getAttribute('href'))")


@pytest.mark.browser
def test_search_finds_both_spellings_in_a_real_browser(served, browser):
    page = browser.new_page()
    cyrillic = _search(page, served, "Пересильд")
    latin = _search(page, served, "Peresild")
    assert cyrillic[0] == "/crew/peresild/" and latin[0] == "/crew/peresild/"
    articles = {href for href in latin if href.startswith("/articles/")}
    assert len(articles) >= 5
    assert articles <= set(cyrillic), "a Cyrillic query finds every article that names her in Latin letters"
    assert _search(page, served, "Новицкий")[0] == "/crew/novitsky/"
    assert "/articles/thruster-test-tilts-the-station/" in _search(page, served, "thruster")
    assert page.is_hidden(".search-all"), "results replace the plain list"
    assert _search(page, served, "zzzxqv") == []
    assert text_of(page, ".search-status").startswith("Nothing found")


def text_of(page, selector: str) -> str:
    return " ".join(page.inner_text(selector).split())


@pytest.mark.browser
def test_search_box_works_from_any_page(served, browser):
    page = browser.new_page()
    page.goto(f"{served}/crew/")
    page.fill("#site-search-q", "Shkaplerov")
    page.press("#site-search-q", "Enter")
    page.wait_for_selector(".search-results a", timeout=15000)
    assert "/crew/shkaplerov/" in page.eval_on_selector_all(".search-results a", "links => links.map(a => a.getAttribute('href'))")


@pytest.mark.browser
def test_without_javascript_the_search_page_lists_everything(served, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{served}/search/?q=Peresild")
    links = page.eval_on_selector_all(".search-all a", "links => links.map(a => a.getAttribute('href'))")
    assert "/articles/the-landing/" in links and "/crew/peresild/" in links
    assert page.is_visible(".search-all")
    context.close()


def test_index_covers_articles_and_crew_only(built_default_site):
    """Each language's index holds its own articles and crew pages, nothing else."""
    out = built_default_site.output
    pages = article_folders(built_default_site.source / "content/articles")
    for prefix in ("", "ru/"):
        entry = (out / prefix / "pagefind/pagefind-entry.json").read_text()
        articles = sum(1 for _, folder in pages if folder.startswith(f"{prefix}articles/"))
        crew = len(list((out / prefix / "crew").glob("*/index.html")))
        assert articles and f'"page_count":{articles + crew}' in entry, prefix


def test_related_articles_share_events_crew_and_tags(site):
    site.write("content/articles/a.md", article("A", "2021-10-06", "Text.", tags="[soyuz]", crew="[peresild]"))
    site.write("content/articles/b.md", article("B", "2021-10-07", "Text.", tags="[film]"))
    site.write("content/articles/c.md", article("C", "2021-10-08", "Text.", tags="[other]"))
    site.build()
    launch = site.page("articles/launch/index.html")
    related = [a["href"] for a in launch.select(".related a")]
    # launch has crew peresild and tag soyuz; landing shares both, a shares both and is closer in time
    assert related == ["/articles/a/", "/articles/landing/"]
    assert site.page("articles/c/index.html").select_one(".related") is None
    assert len(site.page("articles/landing/index.html").select(".related li")) <= 3


def test_default_articles_each_have_up_to_three_related(built_default_site):
    for _, folder in article_folders(built_default_site.source / "content/articles"):
        items = built_default_site.page(f"{folder}/index.html").select(".related li a")
        assert 1 <= len(items) <= 3
        hrefs = [a["href"] for a in items]
        assert f"/{folder}/" not in hrefs
        assert all(href.startswith(f"/{folder.rpartition('articles/')[0]}articles/") for href in hrefs), folder


@pytest.mark.browser
def test_hover_cards_show_on_hover_and_focus_without_script(served, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{served}/articles/the-landing/")
    link = page.locator(".prose a.mention").first
    card = page.locator(f"#{link.get_attribute('aria-describedby')}")
    assert card.is_hidden()
    link.hover()
    assert card.is_visible()
    assert "Soyuz MS-18" in card.inner_text()
    page.mouse.move(0, 0)
    assert card.is_hidden()
    link.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert card.is_visible(), "keyboard focus shows the card too"
    context.close()


@pytest.mark.slow
def test_a_large_index_is_written_completely(tmp_path):
    """Indexes over a few MiB must not stall the build (the in-memory API path does, so it is not used)."""
    import subprocess
    import sys

    source = tmp_path / "big"
    subprocess.run([sys.executable, str(ROOT / "bench/corpus.py"), str(source), "--articles", "300"], check=True, capture_output=True)
    assert cli.main(["--source", str(source), "-q"]) == 0
    bundle = source / "output/pagefind"
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    assert size * 4 / 3 > 2 * 1024 * 1024, "as base64 in one message the bundle would overflow the API's 2 MiB pipe buffer"
    crew = len(list((source / "output/crew").glob("*/index.html")))
    counts = [json.loads(p.read_text())["languages"]["en"]["page_count"] for p in bundle.rglob("pagefind-entry.json")]
    assert len(counts) > 1 and sum(counts) == 300 + crew, "every page is in one of the shards"
