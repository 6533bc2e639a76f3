"""Every page stays light however many articles a site has: lists hold `per_page` articles a page,
and what an article adds to a list page is small enough that a full page at the default `per_page`
stays under 100 KB and 1,500 DOM elements (the size at which Lighthouse flags a DOM as excessive)."""

from __future__ import annotations

import importlib.util
import sys

import feedparser
import pytest
from PIL import Image

from conftest import ROOT, SITE_YAML, Site, parse
from microsite import cli
from microsite.model import SiteConfig
from test_cards import card_of
from test_lists import titles, walk


def _bench(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


corpus, weights = _bench("corpus"), _bench("pages")

PER_PAGE = 4
ARTICLES = 50
MAX_BYTES, MAX_ELEMENTS = 100_000, 1_500


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Site:
    """The benchmark corpus at a size where every kind of list runs over several pages, built once:
    the tests only read it."""
    site = Site(tmp_path_factory.mktemp("gen") / "gen", None)
    corpus.generate(site.source, ARTICLES, seed=4)
    (site.source / "content/site.yaml").write_text(corpus.SITE + f"per_page: {PER_PAGE}\n", encoding="utf-8")
    assert cli.main(["--source", str(site.source), "-q", "-j", "1"]) == 0
    return site


def lists(output) -> dict[str, list[str]]:
    """The first page of every list of articles, by kind."""
    first = lambda pattern: sorted(p.parent.relative_to(output).as_posix() + "/" for p in output.glob(pattern))
    return {"home": [""], "search": ["search/"], "tag": first("tags/*/index.html"), "crew": first("crew/*/index.html"),
            "year": [y for y in first("articles/*/index.html") if y.split("/")[1].isdigit()]}


def test_every_page_and_every_list_page_is_light_at_the_default_page_size(generated):
    site = generated
    for page in weights.weigh(site.output):
        assert page.bytes < MAX_BYTES and page.elements < MAX_ELEMENTS, page
    for kind, bases in lists(site.output).items():
        slopes, heaviest, spans = [], 0, 0
        for base in bases:
            found = []
            for path, soup in walk(site, base):
                html = (site.output / path / "index.html").read_text(encoding="utf-8")
                count = len(titles(soup))
                assert 1 <= count <= PER_PAGE, f"{path} lists {count} articles"
                found.append((count, weights.elements(html), len(html.encode())))
            spans = max(spans, len(found))
            full, last = found[0], found[-1]
            heaviest = max(heaviest, *(elements for _, elements, _ in found))
            if full[0] > last[0] and len(found) > 1:
                # Later pages share page 1's chrome minus its profile: compare two later pages if there are.
                a = found[-2] if len(found) > 2 else full
                slopes.append(((a[1] - last[1]) / (a[0] - last[0]), (a[2] - last[2]) / (a[0] - last[0]), a))
        assert spans > 1, f"no {kind} list runs over more than one page"
        assert slopes, f"no {kind} list ends with a shorter page to weigh one article by"
        for per_article, per_article_bytes, (count, elements, size) in slopes:
            more = SiteConfig.per_page - count
            assert elements + more * per_article < MAX_ELEMENTS, f"{kind}: {per_article:.0f} elements an article"
            assert size + more * per_article_bytes < MAX_BYTES, f"{kind}: {per_article_bytes:.0f} bytes an article"


def test_every_feed_parses_and_every_article_has_a_card_of_1200_by_630(generated):
    site = generated
    feeds = sorted(site.output.glob("**/feed.xml"))
    assert len(feeds) == 1 + len(lists(site.output)["tag"]) + len(lists(site.output)["crew"])
    for feed in feeds:
        parsed = feedparser.parse(feed.read_bytes())
        assert parsed.bozo == 0 and parsed.entries, feed
    articles = [p for p in site.output.glob("articles/*/index.html") if not p.parent.name.isdigit()]
    assert len(articles) == ARTICLES
    for page in articles:
        path, _ = card_of(site.output, page.relative_to(site.output).as_posix())
        with Image.open(path) as image:
            assert image.size == (1200, 630), page
    assert parse(site.output / "index.html").find("meta", property="og:image")
