"""The generator end to end: real sites built into tmp_path and read back as a reader would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import feedparser
import pytest

from conftest import ROOT, article, article_folders, broken_links, parse, text

PAGES = ["index.html", "crew/index.html", "mission/index.html", "tags/index.html", "feed.xml",
         "sitemap.xml", "robots.txt", "404.html"]


def test_default_site_has_every_page_and_no_broken_link(default_site):
    result = default_site.build()
    out = default_site.output
    for rel in PAGES:
        assert (out / rel).is_file(), rel
    articles = article_folders(ROOT / "content/articles")
    assert len(articles) >= 3
    for source, folder in articles:
        assert (out / folder / "index.html").is_file(), source
    crew = sorted(p.parent.name for p in (out / "crew").glob("*/index.html"))
    assert len(crew) >= 5
    assert broken_links(out) == []
    assert "pages" in result.out and " s " in result.out


def test_default_site_content(built_default_site):
    home = built_default_site.page("index.html")
    assert len(home.find_all("h1")) == 1
    dates = [card.select_one(".meta time")["datetime"] for card in home.select(".cards .card")]  # each one's publication date
    assert dates == sorted(dates, reverse=True) and len(dates) >= 3
    assert home.select(".factbox dt"), "the home page shows a mission fact box"
    mission = built_default_site.page("mission/index.html")
    times = [t["datetime"] for t in mission.select(".timeline time")]
    assert len(times) >= 6 and times == sorted(times)
    assert any("UTC" in text(t) for t in mission.select(".timeline time"))


def test_article_page_shows_what_a_reader_needs(built_site):
    page = built_site.page("articles/landing/index.html")
    assert text(page.find("h1")) == "The landing"
    assert page.find("time")["datetime"] == "2021-10-17T09:00:00Z"
    crew_links = [a["href"] for a in page.select(".crew-line a")]
    assert crew_links == ["/crew/peresild/", "/crew/shipenko/", "/crew/novitsky/"]
    assert [text(a) for a in page.select(".article-header .tag")] == ["landing", "soyuz"]
    assert "Home again." in text(page.select_one(".prose"))
    assert page.select_one("a[rel=prev]")["href"] == "/articles/launch/"
    assert page.select_one("a[rel=next]")["href"] == "/articles/the-film/"
    assert page.find("link", rel="canonical")["href"] == "https://example.org/articles/landing/"


def test_crew_pages_list_exactly_their_articles(built_site):
    def listed(member):
        return sorted(a["href"] for a in built_site.page(f"crew/{member}/index.html").select(".card-title a"))
    assert listed("peresild") == ["/articles/landing/", "/articles/launch/"]
    assert listed("shipenko") == ["/articles/landing/"]
    assert listed("novitsky") == ["/articles/landing/"]
    profile = built_site.page("crew/peresild/index.html")
    assert profile.find(lang="ru").get_text() == "Юлия Пересильд"


def test_tag_pages(built_site):
    soyuz = built_site.page("tags/soyuz/index.html")
    assert sorted(a["href"] for a in soyuz.select(".card-title a")) == ["/articles/landing/", "/articles/launch/"]
    assert (built_site.output / "tags/film/index.html").is_file()


def test_drafts_only_with_flag(site):
    site.write("content/articles/secret.md", article("Secret", body="Not yet.", draft="true"))
    site.build()
    assert not (site.output / "articles/secret").exists()
    assert "Secret" not in (site.output / "feed.xml").read_text()
    site.build("--drafts")
    assert (site.output / "articles/secret/index.html").is_file()


def test_feed_parses_with_a_feed_reader(built_site):
    feed = feedparser.parse(str(built_site.output / "feed.xml"))
    assert not feed.bozo, feed.bozo_exception
    assert [e.title for e in feed.entries] == ["The film", "The landing", "The launch"]
    assert feed.entries[0].link == "https://example.org/articles/the-film/"
    assert feed.entries[0].published == "2023-04-20T07:00:00Z"
    assert "In cinemas." in feed.entries[0].content[0].value
    assert len({e.id for e in feed.entries}) == 3


def test_subpath_base_url_gives_working_links(site):
    site.build("--base-url", "https://example.org/challenge/")
    assert broken_links(site.output, "/challenge/") == []
    home = site.page("index.html")
    assert home.find("link", rel="stylesheet")["href"].startswith("/challenge/static/style.")
    assert home.find("link", rel="canonical")["href"] == "https://example.org/challenge/"
    sitemap = (site.output / "sitemap.xml").read_text()
    assert "<loc>https://example.org/challenge/articles/landing/</loc>" in sitemap
    assert "Sitemap: https://example.org/challenge/sitemap.xml" in (site.output / "robots.txt").read_text()


def test_stale_pages_disappear(site):
    site.build()
    assert (site.output / "articles/launch/index.html").is_file()
    (site.source / "content/articles/launch.md").unlink()
    site.build()
    assert not (site.output / "articles/launch").exists()
    assert "/articles/launch/" not in (site.output / "sitemap.xml").read_text()


def test_unchanged_files_keep_their_timestamps(site):
    site.build()
    page = site.output / "articles/launch/index.html"
    before = page.stat().st_mtime_ns
    site.build()
    assert page.stat().st_mtime_ns == before


def test_static_files_are_fingerprinted_and_overridable(site):
    site.build()
    css = site.page("index.html").find("link", rel="stylesheet")["href"]
    assert (site.output / css.lstrip("/")).is_file()
    site.write("static/style.css", "body { color: red; }\n")
    site.build()
    new_css = site.page("index.html").find("link", rel="stylesheet")["href"]
    assert new_css != css
    assert (site.output / new_css.lstrip("/")).read_text() == "body { color: red; }\n"
    assert (site.output / "static/favicon.svg").is_file(), "files not overridden still come from the theme"


def test_template_override_file_by_file(site):
    site.write("templates/404.html", '{% extends "base.html" %}{% block main %}<h1>Lost in orbit</h1>{% endblock %}')
    site.build()
    assert text(site.page("404.html").find("h1")) == "Lost in orbit"
    assert site.page("index.html").select(".factbox"), "other templates still come from the theme"


def test_markdown_features(site):
    body = """
    Straight "quotes" -- and dashes.

    ## A table

    | a | b |
    |---|---|
    | 1 | 2 |

    ```python
    print("hi")
    ```

    A claim.[^1]

    [^1]: The source.
    """
    site.write("content/articles/features.md", article("Features", body=body))
    site.build()
    page = site.page("articles/features/index.html")
    prose = page.select_one(".prose")
    assert "\u201cquotes\u201d \u2013 and" in text(prose)
    assert prose.find("table").find("td").get_text() == "1"
    assert prose.select_one(".highlight pre code span")
    assert prose.find(id="a-table")
    assert prose.select_one(".footnote li").get_text().strip().startswith("The source.")


def test_content_error_exits_1_with_place(site):
    site.write("content/articles/bad.md", "---\ntitle: Broken\n---\n\nText\n")
    result = site.build(expect=1)
    assert "content/articles/bad.md:2:1: missing required field 'date'" in result.err


def test_usage_error_exits_2(site, tmp_path):
    result = site.build("--output", str(site.source), expect=2)
    assert "refusing" in result.err


@pytest.mark.slow
def test_console_script_runs_the_same_command(site):
    script = Path(sys.executable).parent / "microsite"
    if not script.exists():
        pytest.skip("the console script is installed by `make build` / `make test`")
    done = subprocess.run([str(script), "--source", str(site.source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (site.output / "index.html").is_file()
    done = subprocess.run([sys.executable, str(ROOT / "build.py"), "--source", str(site.source), "--bogus"], capture_output=True, text=True)
    assert done.returncode == 2
