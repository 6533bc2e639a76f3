"""Lists that grow with the site: pages of `per_page` articles, year archives, a feed per tag and
crew member, a JSON Feed, reading time, updated dates and series, as readers and feed readers see them."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import feedparser
import pytest

from conftest import SITE_YAML, article, broken_links, built_once, copy_of, parse, published_pages, text
from live import Running, settle, wait_for
from microsite import engine
from microsite.features.paging import Pager
from microsite.model import Settings
from microsite.rebuild.state import State
from microsite.render.render import FEED_ARTICLES
from test_cache import assert_same_as_clean
from test_delta import QUICK

MORE = {
    "docking.md": article("The docking", "2021-10-06", "Hard dock.", tags="[soyuz]", crew="[peresild, shipenko]"),
    "filming.md": article("Filming begins", "2021-10-08", "Lights.", tags="[soyuz, film]", crew="[peresild, shipenko]",
                          series="Diary"),
    "return.md": article("The return", "2021-10-18", "Home.", tags="[soyuz, landing]", series="Diary", updated="2021-11-01"),
    "premiere.md": article("The premiere", "2023-04-21", "Cinema.", tags="[film]", crew="[peresild]"),
}
"""With the fixture's three, seven articles: at two a page, every list but a few runs over a page."""


def make_paged(site):
    """Put seven articles in the small site, two a page, three of them a series."""
    site.write("content/site.yaml", SITE_YAML + "per_page: 2\n")
    for name, text_ in MORE.items():
        site.write(f"content/articles/{name}", text_)
    launch = site.source / "content/articles/launch.md"
    launch.write_text(launch.read_text(encoding="utf-8").replace("crew: [peresild]", "crew: [peresild]\nseries: Diary"), encoding="utf-8")
    return site


@pytest.fixture
def paged(site):
    return make_paged(site)


@pytest.fixture(scope="module")
def paged_built(tmp_path_factory) -> Path:
    """The `paged` fixture's folder after one good build, made once for the tests that only read it."""
    return built_once(tmp_path_factory, make_paged)


@pytest.fixture
def built_paged(paged, paged_built: Path):
    """The `paged` fixture after one good build: a copy of its sources, output and build cache."""
    return copy_of(paged_built, paged)


def titles(soup) -> list[str]:
    """The article titles a list page shows, in order (cards, or the search page's plain list)."""
    return [text(a) for a in soup.select(".cards .card-title a, .search-list a[href*='/articles/']")]


def walk(site, base: str) -> list[tuple[str, object]]:
    """Follow a list's `rel="next"` links from its first page: (site path, page) for each page."""
    found = []
    path = base
    while True:
        soup = site.page(f"{path}index.html")
        found.append((path, soup))
        step = soup.find("link", rel="next")
        if step is None:
            return found
        path = step["href"].lstrip("/")


NEWEST_FIRST = ["The premiere", "The film", "The return", "The landing", "Filming begins", "The docking", "The launch"]


@pytest.mark.parametrize("base, listed", [
    ("", NEWEST_FIRST),
    ("tags/soyuz/", ["The return", "The landing", "Filming begins", "The docking", "The launch"]),
    ("crew/peresild/", ["The premiere", "The landing", "Filming begins", "The docking", "The launch"]),
    ("articles/2021/", ["The return", "The landing", "Filming begins", "The docking", "The launch"]),
    ("search/", NEWEST_FIRST),
])
def test_each_list_runs_over_pages_of_per_page_articles(built_paged, base, listed):
    pages = walk(built_paged, base)
    assert [path for path, _ in pages] == [base] + [f"{base}page/{n}/" for n in range(2, len(pages) + 1)]
    assert len(pages) == (len(listed) + 1) // 2
    assert [title for _, soup in pages for title in titles(soup)] == listed
    for number, (path, soup) in enumerate(pages, 1):
        assert len(titles(soup)) <= 2
        assert soup.find("link", rel="canonical")["href"] == f"https://example.org/{path}"
        assert text(soup.title).endswith(" · Test Orbit") or text(soup.title).startswith("Test Orbit")
        assert (" – page " in text(soup.title)) == (number > 1)
        if number > 1:
            assert f" – page {number}" in text(soup.title)
            assert soup.find("link", rel="prev")["href"] == "/" + pages[number - 2][0]
        else:
            assert soup.find("link", rel="prev") is None
        nav = soup.select_one("nav.pages[aria-label]")
        current = nav.select("a[aria-current='page']")
        assert [(text(a), a["href"]) for a in current] == [(f"Page {number}", f"/{path}")]
        assert [text(a) for a in nav.select("li:not(.pages-step) a")] == [f"Page {n}" for n in range(1, len(pages) + 1)]
    assert not (built_paged.output / base / "page/1").exists(), "page 1 lives at the list's own URL only"
    assert not (built_paged.output / base / f"page/{len(pages) + 1}").exists()


def test_later_pages_keep_the_chrome_and_leave_out_the_profile(built_paged):
    first, second = built_paged.page("crew/peresild/index.html"), built_paged.page("crew/peresild/page/2/index.html")
    assert first.select_one("article.profile dl.facts") is not None
    assert second.select_one("article.profile") is None and second.select_one(".kicker a")["href"] == "/crew/peresild/"
    assert text(second.h1) == "Articles about Yulia Peresild – page 2"
    assert len(first.find_all("script", type="application/ld+json")) == 1
    assert second.find_all("script", type="application/ld+json") == []
    home2 = built_paged.page("page/2/index.html")
    assert text(home2.h1) == "Articles – page 2" and home2.select_one(".hero") is None
    assert home2.select_one("nav[aria-label=Main] a[aria-current=page]")["href"] == "/", "still the Articles section"


@pytest.mark.parametrize("number, count, shown", [
    (1, 1, [1]),
    (1, 5, [1, 2, 3, 4, 5]),
    (1, 10, [1, 2, 3, None, 10]),
    (5, 10, [1, 2, 3, 4, 5, 6, 7, None, 10]),
    (6, 12, [1, None, 4, 5, 6, 7, 8, None, 12]),
    (12, 12, [1, None, 10, 11, 12]),
])
def test_page_numbers_near_the_current_one(number, count, shown):
    """The first and last page, two either side of this one, and a gap where more are left out
    (a gap of one page shows that page's number instead)."""
    assert list(Pager("tags/x/", number, count).near) == shown


def test_the_sitemap_names_every_page_of_every_list(built_paged):
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [urlsplit(loc.text).path for loc in ElementTree.parse(built_paged.output / "sitemap.xml").findall("s:url/s:loc", ns)]
    assert len(locs) == len(set(locs))
    pages = {"/" + p.relative_to(built_paged.output).as_posix().removesuffix("index.html")
             for p in published_pages(built_paged.output) if p.name == "index.html"}
    assert set(locs) == pages
    assert {"/page/4/", "/tags/soyuz/page/3/", "/crew/peresild/page/3/", "/articles/2021/page/3/", "/search/page/4/"} <= set(locs)
    assert broken_links(built_paged.output) == []


def test_the_tags_index_runs_over_pages_when_tags_are_many(site):
    site.write("content/site.yaml", SITE_YAML + "per_page: 1\n")  # ten tags a page
    site.write("content/articles/tagged.md", article("Tagged", "2021-10-09", "Text.", tags="[" + ", ".join(f"t{n:02d}" for n in range(12)) + "]"))
    site.build()
    pages = walk(site, "tags/")
    assert [path for path, _ in pages] == ["tags/", "tags/page/2/"]
    names = [text(a) for _, soup in pages for a in soup.select(".tag-cloud a")]
    assert names == sorted(names) and len(names) == 15 and len(set(names)) == 15
    assert text(pages[1][1].select_one("nav.pages a[rel=prev]")) == "Previous"


def test_year_archives_and_the_index_of_years(built_paged):
    years = built_paged.page("articles/index.html")
    assert [(text(a), a["href"]) for a in years.select(".year-list a")] == [("2023", "/articles/2023/"), ("2021", "/articles/2021/")]
    assert [text(c) for c in years.select(".year-list .count")] == ["2 articles", "5 articles"]
    assert [path for path, _ in walk(built_paged, "articles/2023/")] == ["articles/2023/"]
    assert titles(built_paged.page("articles/2023/index.html")) == ["The premiere", "The film"]
    assert text(built_paged.page("articles/2021/page/2/index.html").title) == "Articles from 2021 – page 2 · Test Orbit"
    search = built_paged.page("search/index.html")
    assert [a["href"] for a in search.select(".years a")] == ["/articles/2023/", "/articles/2021/"]


def test_the_default_site_has_no_second_pages(built_default_site):
    out = built_default_site.output
    assert not [p for p in out.rglob("page") if p.is_dir()]
    for page in published_pages(out):
        soup = parse(page)
        assert soup.select("nav.pages") == [] and soup.find("link", rel="next") is None, page
    assert broken_links(out) == []


@pytest.mark.parametrize("value, message", [
    ("0", "content/site.yaml:6:1: 'per_page' must be more than 0, not 0"),
    ("-3", "content/site.yaml:6:1: 'per_page' must be more than 0, not -3"),
    ("ten", "content/site.yaml:6:1: 'per_page' must be a whole number of articles, e.g. 20, not str 'ten'"),
    ("2.5", "content/site.yaml:6:1: 'per_page' must be a whole number of articles, e.g. 20, not float 2.5"),
])
def test_per_page_must_be_a_whole_number_above_zero(site, value, message):
    site.build()
    before = (site.output / "index.html").read_bytes()
    site.write("content/site.yaml", SITE_YAML + f"per_page: {value}\n")
    result = site.build(expect=1)
    assert result.err.splitlines()[0] == message
    assert (site.output / "index.html").read_bytes() == before


@pytest.mark.parametrize("fields, message", [
    ({"slug": "2021"}, "content/articles/year.md:4:1: slug '2021' is where the archive of the year 2021 lives "
                       "(/articles/2021/); set a different 'slug:'"),
    ({"aliases": "[page/2]"}, "content/articles/year.md:4:11: alias 'page/2' names /page/2/, where the site publishes "
                              "a list of articles; write another path"),
    ({"aliases": "[/articles/2021/]"}, "content/articles/year.md:4:11: alias '/articles/2021/' names /articles/2021/, "
                                       "where the site publishes a list of articles; write another path"),
    ({"series": '""'}, "content/articles/year.md:4:1: 'series' is empty; name the series, or remove the line"),
    ({"series": "[a, b]"}, "content/articles/year.md:4:1: 'series' must be text, not a list"),
])
def test_paths_of_lists_and_bad_series_are_refused_in_place(site, fields, message):
    site.write("content/articles/year.md", article("A year", "2021-10-09", "Text.", **fields))
    result = site.build(expect=1)
    assert message in result.err.splitlines()


# Feeds


def head_feeds(soup, kind: str = "application/atom+xml") -> list[str]:
    return [link["href"] for link in soup.find_all("link", rel="alternate", type=kind)]


def test_each_tag_and_crew_member_has_a_feed_linked_from_its_pages(built_paged):
    main = feedparser.parse((built_paged.output / "feed.xml").read_bytes())
    ids = {e.link: e.id for e in main.entries}
    feed_ids = {main.feed.id}
    for base, name, expected in [("tags/soyuz/", "soyuz", ["The return", "The landing", "Filming begins", "The docking", "The launch"]),
                                 ("crew/peresild/", "Yulia Peresild", ["The premiere", "The landing", "Filming begins", "The docking", "The launch"])]:
        for path, soup in walk(built_paged, base):
            assert head_feeds(soup) == ["/feed.xml", f"/{base}feed.xml"], path
        feed = feedparser.parse((built_paged.output / base / "feed.xml").read_bytes())
        assert feed.bozo == 0, feed.bozo_exception
        assert feed.feed.title == f"Test Orbit: {name}"
        assert feed.feed.link == f"https://example.org/{base}"
        assert [link.href for link in feed.feed.links if link.rel == "self"] == [f"https://example.org/{base}feed.xml"]
        assert [e.title for e in feed.entries] == expected
        assert all(e.id == ids[e.link] for e in feed.entries), "an article has one id in every feed"
        assert all(e.content[0].value for e in feed.entries)
        feed_ids.add(feed.feed.id)
    assert len(feed_ids) == 3 and all(i.startswith("urn:uuid:") for i in feed_ids)
    every = sorted(p.relative_to(built_paged.output).as_posix() for p in built_paged.output.rglob("feed.xml"))
    assert len(every) == 1 + 3 + 3, every  # the site's, one per tag (soyuz, landing, film) and per crew member
    for rel in every:
        assert feedparser.parse((built_paged.output / rel).read_bytes()).bozo == 0, rel


def test_feeds_carry_the_latest_articles_only_with_ids_that_survive_a_move(site, tmp_path):
    for n in range(FEED_ARTICLES + 3):
        site.write(f"content/articles/many-{n:02d}.md",
                   article(f"Many {n}", f"2022-01-{1 + n:02d}", f"Text {n}.", tags="[many]", crew="[shipenko]"))
    site.build()
    moved = tmp_path / "moved"
    site.build("--output", str(moved), "--base-url", "https://mirror.example.com/deep/")
    for rel in ("tags/many/feed.xml", "crew/shipenko/feed.xml", "feed.xml"):
        here, there = (feedparser.parse((folder / rel).read_bytes()) for folder in (site.output, moved))
        assert here.bozo == 0 and len(here.entries) == FEED_ARTICLES, rel
        assert here.feed.id == there.feed.id and [e.id for e in here.entries] == [e.id for e in there.entries]
    assert feedparser.parse((site.output / "tags/many/feed.xml").read_bytes()).entries[0].title == "Many 22"
    here, there = (json.loads((folder / "feed.json").read_text(encoding="utf-8")) for folder in (site.output, moved))
    assert len(here["items"]) == FEED_ARTICLES
    assert [i["id"] for i in here["items"]] == [i["id"] for i in there["items"]]
    assert [i["url"] for i in there["items"]][0].startswith("https://mirror.example.com/deep/articles/")


RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def test_the_json_feed_has_what_the_spec_requires(built_paged):
    feed = json.loads((built_paged.output / "feed.json").read_text(encoding="utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Test Orbit"
    assert feed["home_page_url"] == "https://example.org/" and feed["feed_url"] == "https://example.org/feed.json"
    assert feed["authors"] == [{"name": "Test Desk"}] and feed["language"] == "en"
    items = feed["items"]
    assert [i["title"] for i in items] == NEWEST_FIRST
    assert len({i["id"] for i in items}) == len(items) and all(isinstance(i["id"], str) and i["id"] for i in items)
    atom = feedparser.parse((built_paged.output / "feed.xml").read_bytes())
    assert [i["id"] for i in items] == [e.id for e in atom.entries]
    for item in items:
        assert item.get("content_html") or item.get("content_text")
        assert RFC3339.match(item["date_published"]), item["date_published"]
        assert set(item) <= {"id", "url", "title", "summary", "content_html", "date_published", "date_modified", "tags"}
    [back] = [i for i in items if i["title"] == "The return"]
    assert back["date_modified"] == "2021-11-01T00:00:00Z" and back["tags"] == ["soyuz", "landing"]
    assert all("date_modified" not in i for i in items if i["title"] != "The return")
    for page in published_pages(built_paged.output):
        if page.name != "404.html" and parse(page).find("meta", attrs={"http-equiv": "refresh"}) is None:
            assert head_feeds(parse(page), "application/feed+json") == ["/feed.json"], page


# Reading aids


def test_lists_show_reading_time_and_updated_dates(paged):
    paged.write("content/articles/long.md", article("A long read", "2021-10-07", "word " * 700, tags="[soyuz]"))
    paged.build()
    shown = {}
    for path, soup in walk(paged, "") + walk(paged, "tags/soyuz/") + walk(paged, "articles/2021/"):
        for card in soup.select(".cards .card"):
            shown.setdefault(text(card.select_one(".card-title")), set()).add(text(card.select_one(".meta")))
    for title, metas in shown.items():
        assert len(metas) == 1, title
        link = next(a["href"] for _, soup in walk(paged, "") for a in soup.select(".card-title a") if text(a) == title)
        page = paged.page(f"{link.lstrip('/')}index.html")
        minutes = re.search(r"\d+ min read", text(page.select_one(".article-header .meta"))).group()
        assert minutes in next(iter(metas)), title
    assert "4 min read" in next(iter(shown["A long read"]))
    assert "Updated 1 November 2021" in next(iter(shown["The return"]))
    assert all("Updated" not in next(iter(m)) for t, m in shown.items() if t != "The return")
    [entry] = [e for e in feedparser.parse((paged.output / "feed.xml").read_bytes()).entries if e.title == "The return"]
    assert entry.updated == "2021-11-01T00:00:00Z" and entry.published == "2021-10-18T00:00:00Z"


def test_a_series_box_links_the_parts_in_date_order(built_paged):
    for number, slug in enumerate(["launch", "filming", "return"], 1):
        box = built_paged.page(f"articles/{slug}/index.html").select_one("nav.series")
        assert box.select_one(".series-title").get_text() == f"Diary, part {number} of 3"
        assert [a["href"] for a in box.select("ol a")] == ["/articles/launch/", "/articles/filming/", "/articles/return/"]
        assert [a["href"] for a in box.select("a[aria-current=page]")] == [f"/articles/{slug}/"]
    assert built_paged.page("articles/docking/index.html").select_one("nav.series") is None


# Scheduled articles


LATER = article("Later news", "2999-01-01", "From the future.", tags="[soyuz, someday]", crew="[peresild]", series="Diary")


def mentions_later(output: Path) -> list[str]:
    """Every published file that names the scheduled article, by its title or its URL."""
    return sorted(p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file()
                  and not p.relative_to(output).parts[0].startswith(".")
                  and (b"Later news" in p.read_bytes() or b"later-news" in p.read_bytes()))


@pytest.mark.slow
def test_a_future_article_is_held_back_everywhere_until_future_is_asked(paged, tmp_path):
    paged.write("content/articles/later-news.md", LATER)
    result = paged.build()
    assert "; 1 scheduled article held back, the next due 2999-01-01 00:00 UTC ->" in result.out
    assert mentions_later(paged.output) == []
    assert not (paged.output / "tags/someday").exists() and not (paged.output / "articles/2999").exists()
    entry = (paged.output / "pagefind/pagefind-entry.json").read_text()
    assert '"page_count":10' in entry, "seven articles and three crew members indexed"
    result = paged.build("--future")
    assert "held back" not in result.out
    assert {"articles/later-news/index.html", "feed.xml", "feed.json", "sitemap.xml", "index.html", "tags/someday/index.html",
            "tags/someday/feed.xml", "crew/peresild/feed.xml", "articles/2999/index.html", "search/index.html",
            "articles/launch/index.html"} <= set(mentions_later(paged.output))
    assert_same_as_clean(paged, tmp_path, "--future")
    paged.build()
    assert mentions_later(paged.output) == []
    assert_same_as_clean(paged, tmp_path)


def _moment(seconds: float) -> tuple[str, dt.datetime]:
    """A time `seconds` from now, whole seconds, as front matter writes it."""
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)).replace(microsecond=0)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ"), when


def _wait_past(moment: dt.datetime) -> None:
    while dt.datetime.now(dt.timezone.utc) <= moment:
        time.sleep(0.1)


@pytest.mark.slow
def test_scheduled_articles_come_out_with_the_first_build_after_their_time(paged, tmp_path):
    """Neither the no-change skip nor the body-edit fast path may keep a build from before an
    article came due."""
    started = time.monotonic()
    paged.build()
    margin = max(3.0, 4 * (time.monotonic() - started))  # time for the builds before each comes due
    first_text, first = _moment(margin)
    second_text, second = _moment(2 * margin)
    paged.write("content/articles/first.md", article("First due", first_text, "One.", tags="[soyuz]"))
    paged.write("content/articles/second.md", article("Second due", second_text, "Two.", tags="[soyuz]"))
    result = paged.build()
    assert f"; 2 scheduled articles held back, the next due {first:%Y-%m-%d %H:%M} UTC ->" in result.out
    assert "(0 written," in paged.build().out, "before anything comes due, nothing changed"
    _wait_past(first)
    result = paged.build()
    assert f"; 1 scheduled article held back, the next due {second:%Y-%m-%d %H:%M} UTC ->" in result.out
    assert "First due" in titles(paged.page("index.html")) and not (paged.output / "articles/second-due").exists()
    assert_same_as_clean(paged, tmp_path)
    _wait_past(second)
    launch = paged.source / "content/articles/launch.md"
    launch.write_text(launch.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    result = paged.build()
    assert QUICK not in result.out and "held back" not in result.out, result.out
    assert titles(paged.page("index.html"))[:2] == ["Second due", "First due"]
    assert_same_as_clean(paged, tmp_path)


# Rebuilds stay exact as articles move across pages


def _edit(site, rel: str, old: str, new: str) -> None:
    path = site.source / rel
    text_ = path.read_text(encoding="utf-8")
    assert old in text_, (rel, old)
    path.write_text(text_.replace(old, new, 1), encoding="utf-8")


EDITS = [
    ("add the newest article", lambda s: s.write("content/articles/newest.md", article(
        "Newest", "2024-02-01", "New.", tags="[soyuz]", crew="[peresild]", series="Diary"))),
    ("remove one", lambda s: (s.source / "content/articles/docking.md").unlink()),
    ("re-date one into another year", lambda s: _edit(s, "content/articles/filming.md", "date: 2021-10-08", "date: 2022-06-01")),
    ("re-date one within its year", lambda s: _edit(s, "content/articles/launch.md", "date: 2021-10-05", "date: 2021-10-30")),
    ("retag one", lambda s: _edit(s, "content/articles/landing.md", "tags: [landing, soyuz]", "tags: [film]")),
    ("a body long enough to read longer", lambda s: _edit(s, "content/articles/return.md", "Home.", "Home. " + "word " * 600)),
    ("schedule one", lambda s: s.write("content/articles/someday.md", article("Someday", "2999-01-01", "Later.", tags="[soyuz]"))),
    ("more a page", lambda s: s.write("content/site.yaml", SITE_YAML + "per_page: 3\n")),
    ("add an old one", lambda s: s.write("content/articles/old.md", article("Old", "2019-01-01", "Old.", tags="[soyuz]", crew="[peresild]"))),
]


@pytest.mark.slow
def test_cached_rebuilds_match_a_clean_build_as_articles_move_across_pages(paged, tmp_path):
    paged.build()
    quick = 0
    for what, edit in EDITS:
        edit(paged)
        quick += QUICK in paged.build().out
        assert_same_as_clean(paged, tmp_path), what
    assert quick == 1, "the longer body took the fast path, which renders the lists that show its reading time"


@pytest.mark.slow
def test_session_rebuilds_match_a_clean_build_as_articles_move_across_pages(paged, tmp_path):
    settings = Settings(source=paged.source, output=paged.output)
    state = State()
    engine.rebuild(settings, state)
    for what, edit in EDITS:
        edit(paged)
        engine.rebuild(settings, state)
        assert_same_as_clean(paged, tmp_path), what


@pytest.mark.slow
def test_watch_matches_a_clean_build_as_articles_move_across_pages(paged, tmp_path):
    run = Running(paged.source, quiet=0.3)
    try:
        before = settle(run.session)
        for what, edit in EDITS:
            edit(paged)
            wait_for(lambda: run.session.builds > before and run.session.idle, what=f"the rebuild after: {what}")
            before = settle(run.session)  # the clean build beside it writes nothing the session watches
            assert_same_as_clean(paged, tmp_path), what
    finally:
        run.close()
