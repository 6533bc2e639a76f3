"""What crawlers, link previews, feed readers and screen readers see, checked without a browser."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree
from pathlib import Path

import feedparser
import pytest
from PIL import Image

from conftest import article, parse, run_build, text
from microsite.features.lang import mark_html, mark_text

CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def html_pages(output: Path) -> list[Path]:
    return sorted(output.rglob("*.html"))


def json_ld(soup) -> list[dict]:
    return [json.loads(script.string) for script in soup.find_all("script", type="application/ld+json")]


def meta(soup, key: str) -> str | None:
    tag = soup.find("meta", attrs={"property": key}) or soup.find("meta", attrs={"name": key})
    return tag["content"] if tag else None


def test_json_ld_describes_articles_people_and_events(built_site):
    [news] = json_ld(built_site.page("articles/landing/index.html"))
    assert news["@context"] == "https://schema.org" and news["@type"] == "NewsArticle"
    assert news["headline"] == "The landing"
    assert news["datePublished"] == "2021-10-17T09:00:00Z"
    assert news["url"] == "https://example.org/articles/landing/"
    assert {p["name"] for p in news["about"]} == {"Yulia Peresild", "Klim Shipenko", "Oleg Novitsky"}
    assert news["keywords"] == ["landing", "soyuz"]

    [person] = json_ld(built_site.page("crew/peresild/index.html"))
    assert person["@type"] == "Person" and person["name"] == "Yulia Peresild"
    assert person["alternateName"] == ["Юлия Пересильд"]
    assert person["jobTitle"] == "Actress"
    assert person["url"] == "https://example.org/crew/peresild/"

    [graph] = json_ld(built_site.page("mission/index.html"))
    events = graph["@graph"]
    assert [e["@type"] for e in events] == ["Event", "Event"]
    assert [(e["name"], e["startDate"]) for e in events] == [("Launch", "2021-10-05T08:55:02Z"), ("Landing", "2021-10-17T04:35:00Z")]
    assert events[0]["url"] == "https://example.org/mission/#launch"

    [website] = json_ld(built_site.page("index.html"))
    assert website["@type"] == "WebSite" and website["url"] == "https://example.org/"


def test_json_ld_carries_hostile_text_escaped(site):
    hostile = "Fish </script><script>alert(1)</script> & chips"
    site.write("content/articles/hostile.md", article(hostile, summary="A <!doctype> & </SCRIPT> test"))
    site.build()
    raw = (site.output / "articles/hostile/index.html").read_text(encoding="utf-8")
    block = raw.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block and "&" not in block
    [news] = json_ld(site.page("articles/hostile/index.html"))
    assert news["headline"] == hostile
    assert news["description"] == "A <!doctype> & </SCRIPT> test"
    assert site.page("articles/hostile/index.html").find("h1").get_text() == hostile


def test_share_tags_and_canonical_are_absolute_under_a_subpath(site):
    base = "https://example.net/orbit/"
    site.build("--base-url", base)
    for page in html_pages(site.output):
        rel = page.relative_to(site.output).as_posix()
        expected = base + rel.removesuffix("index.html")
        soup = parse(page)
        assert soup.find("link", rel="canonical")["href"] == expected, rel
        assert meta(soup, "og:url") == expected, rel
        assert meta(soup, "og:title") and meta(soup, "og:description") and meta(soup, "og:site_name") == "Test Orbit"
        assert meta(soup, "twitter:card") in ("summary", "summary_large_image")
        image = meta(soup, "og:image")
        assert image and image.startswith(base), rel
        assert (site.output / image[len(base):]).is_file()
        assert (int(meta(soup, "og:image:width")), int(meta(soup, "og:image:height"))) == Image.open(site.output / image[len(base):]).size
    landing = site.page("articles/landing/index.html")
    assert meta(landing, "og:image").startswith(base + "cards/articles/landing."), "an article without an image shows its card"
    assert meta(landing, "twitter:image") == meta(landing, "og:image")
    assert meta(site.page("mission/index.html"), "og:image") == base + "static/share.jpg", "a page without a card shows the site's picture"
    assert not list((site.output / "static").glob("share-*")), "the link-preview picture needs no copies"
    assert meta(landing, "og:type") == "article" and meta(landing, "og:title") == "The landing"
    assert meta(landing, "article:published_time") == "2021-10-17T09:00:00Z"
    assert meta(site.page("crew/peresild/index.html"), "og:type") == "profile"
    assert json_ld(landing)[0]["url"] == base + "articles/landing/"
    assert json_ld(landing)[0]["image"] == [meta(landing, "og:image")]
    robots = (site.output / "robots.txt").read_text()
    assert f"Sitemap: {base}sitemap.xml" in robots


def test_titles_and_descriptions_are_unique(built_default_site):
    titles, descriptions = {}, {}
    for page in html_pages(built_default_site.output):
        soup = parse(page)
        rel = page.relative_to(built_default_site.output).as_posix()
        title, description = text(soup.title), meta(soup, "description")
        assert title and description and len(description) <= 200, rel
        assert title not in titles, f"{rel} repeats the title of {titles.get(title)}"
        assert description not in descriptions, f"{rel} repeats the description of {descriptions.get(description)}"
        titles[title], descriptions[description] = rel, rel


def test_article_without_summary_is_described_by_its_opening(site):
    site.write("content/articles/plain.md", article("Plain", body="First words of the text. " * 20))
    site.build()
    description = meta(site.page("articles/plain/index.html"), "description")
    assert description.startswith("First words of the text.") and description.endswith("…") and len(description) <= 160


def test_every_page_has_one_h1_landmarks_and_a_skip_link(built_default_site):
    for page in html_pages(built_default_site.output):
        soup = parse(page)
        rel = page.relative_to(built_default_site.output).as_posix()
        assert len(soup.find_all("h1")) == 1, rel
        skip = soup.body.find("a")
        assert skip["href"] == "#main" and soup.find(id="main").name == "main", rel
        assert soup.find("header") and soup.find("nav") and soup.find("footer"), rel
        assert soup.find("link", rel="alternate", type="application/atom+xml"), rel


def test_lang_marks_every_cyrillic_text(built_default_site):
    checked = 0
    for page in html_pages(built_default_site.output):
        soup = parse(page)
        in_russian = page.relative_to(built_default_site.output).parts[0] == "ru"  # the Russian pages, if the site has them
        assert soup.html["lang"] == ("ru" if in_russian else "en")
        if in_russian:
            continue
        for node in soup.body.find_all(string=CYRILLIC):
            if node.parent.name in ("script", "style"):
                continue
            assert node.find_parent(attrs={"lang": "ru"}) is not None, f"{page}: {node!r} lacks lang=ru"
            checked += 1
    assert checked > 10
    peresild = built_default_site.page("crew/peresild/index.html")
    assert peresild.find("span", lang="ru").get_text() == "Юлия Пересильд"


def test_feed_ids_never_change_when_the_site_moves(site, tmp_path):
    site.build("--output", str(tmp_path / "a"), "--base-url", "https://example.org/")
    site.build("--output", str(tmp_path / "b"), "--base-url", "https://mirror.example.com/deep/path/")
    a = feedparser.parse((tmp_path / "a/feed.xml").read_bytes())
    b = feedparser.parse((tmp_path / "b/feed.xml").read_bytes())
    assert a.bozo == 0 and b.bozo == 0
    assert a.feed.id == b.feed.id and a.feed.id.startswith("urn:uuid:")
    assert [e.id for e in a.entries] == [e.id for e in b.entries]
    assert len({e.id for e in a.entries}) == 3
    assert [e.link for e in b.entries][0].startswith("https://mirror.example.com/deep/path/articles/")
    assert all(e.updated and e.content[0].value for e in a.entries)


def test_sitemap_lists_every_page_with_lastmod(built_default_site):
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    sitemap = ElementTree.parse(built_default_site.output / "sitemap.xml")
    listed = {url.findtext("s:loc", namespaces=ns): url.findtext("s:lastmod", namespaces=ns) for url in sitemap.findall("s:url", ns)}
    for page in html_pages(built_default_site.output):
        rel = page.relative_to(built_default_site.output).as_posix()
        if rel in ("404.html", "ru/404.html"):
            continue
        url = "https://example.org/" + rel.removesuffix("index.html")
        if parse(page).find("link", rel="canonical")["href"] != url:
            continue  # an old address kept as a redirect (article aliases) names its new home instead

        assert url in listed, rel
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", listed[url] or ""), rel


@pytest.mark.slow
def test_two_builds_are_byte_identical(default_site, tmp_path):
    make_image(default_site.source / "static/photo.jpg", (1700, 900))
    default_site.build("--output", str(tmp_path / "one"))
    default_site.build("--output", str(tmp_path / "two"))
    one = {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one").rglob("*") if p.is_file()}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes() for p in (tmp_path / "two").rglob("*") if p.is_file()}
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []
    assert any(name.suffix == ".webp" for name in one)


def make_image(path: Path, size: tuple[int, int], mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new(mode, size, (200, 80, 20) if mode == "RGB" else (200, 80, 20, 128))
    image.save(path)


def test_images_get_sized_lazy_responsive_copies(site):
    make_image(site.source / "static/photos/wide.jpg", (3000, 2000))
    make_image(site.source / "content/articles/chart.png", (640, 480), "RGBA")
    site.write("content/articles/pictures.md", article(
        "Pictures", image="photos/wide.jpg", image_alt="The steppe at dawn",
        body="Before.\n\n![A chart of the orbit & its height](chart.png)\n\nAfter."))
    site.build()
    soup = site.page("articles/pictures/index.html")
    pictures = soup.find_all("picture")
    assert len(pictures) == 2
    for picture, alt in zip(pictures, ["The steppe at dawn", "A chart of the orbit & its height"]):
        img = picture.find("img")
        assert img["alt"] == alt and img["sizes"]
        width, height = int(img["width"]), int(img["height"])
        assert (site.output / img["src"].lstrip("/")).is_file()
        assert Image.open(site.output / img["src"].lstrip("/")).size == (width, height)
        webp = picture.find("source", type="image/webp")
        for srcset in (img["srcset"], webp["srcset"]):
            for candidate in srcset.split(", "):
                url, descriptor = candidate.split(" ")
                copy = Image.open(site.output / url.lstrip("/"))
                assert copy.width == int(descriptor.removesuffix("w"))
                assert copy.width <= 2000
    lead = pictures[0]
    assert lead.img["fetchpriority"] == "high" and not lead.img.get("loading")
    assert pictures[1].img["loading"] == "lazy"
    widths = [int(c.split(" ")[1][:-1]) for c in lead.find("source")["srcset"].split(", ")]
    assert widths == [480, 800, 1200, 1600]
    assert Image.open(site.output / lead.find("source")["srcset"].split(" ")[0].lstrip("/")).format == "WEBP"
    chart = pictures[1].find("img")
    assert chart["src"].startswith("/articles/pictures/chart-640w.") and chart["src"].endswith(".png")
    assert (site.output / "articles/pictures/chart.png").is_file()
    assert Image.open(site.output / chart["src"].lstrip("/")).mode == "RGBA"
    assert meta(soup, "og:image").startswith("https://example.org/static/photos/wide-1600w.")
    assert json_ld(soup)[0]["image"] == [meta(soup, "og:image")]

    feed = feedparser.parse((site.output / "feed.xml").read_bytes())
    entry = next(e for e in feed.entries if e.title == "Pictures")
    assert 'src="https://example.org/articles/pictures/chart-640w.' in entry.content[0].value
    assert "<picture" not in entry.content[0].value


def test_image_copies_are_reused_by_the_next_build(site):
    make_image(site.source / "static/big.png", (1300, 900))
    site.build()
    copies = sorted((site.output / "static").glob("big-*"))
    assert [c.name.split(".")[0] for c in copies] == ["big-1200w", "big-1200w", "big-1300w", "big-1300w", "big-480w", "big-480w", "big-800w", "big-800w"]
    stamps = {c.name: c.stat().st_mtime_ns for c in copies}
    site.build()
    assert {c.name: c.stat().st_mtime_ns for c in sorted((site.output / "static").glob("big-*"))} == stamps
    make_image(site.source / "static/big.png", (1000, 700))
    site.build()
    assert sorted(c.name.split(".")[0] for c in (site.output / "static").glob("big-*")) == ["big-1000w", "big-1000w", "big-480w", "big-480w", "big-800w", "big-800w"]


@pytest.mark.parametrize("name, data, message", [
    ("missing.jpg", None, "content/articles/bad.md:4:1: image 'missing.jpg' not found beside the article or under static/"),
    ("broken.jpg", b"not an image", "content/articles/broken.jpg: not a readable JPEG image (named by content/articles/bad.md)"),
])
def test_bad_article_image_is_reported(site, name, data, message):
    if data is not None:
        (site.source / "content/articles" / name).write_bytes(data)
    site.write("content/articles/bad.md", article("Bad", image=name))
    result = site.build(expect=1)
    assert result.err.splitlines() == [message, "microsite: build failed with 1 problem; output left as it was"]


def test_contents_and_empty_table_corners_read_cleanly(site):
    body = '## One\n\n## How "first" & why\n\n## Three\n\n| | A |\n|---|---|\n| row | 1 |\n'
    site.write("content/articles/toc.md", article("Toc", body=body))
    site.build()
    soup = site.page("articles/toc/index.html")
    assert [text(li) for li in soup.select("nav.toc li")] == ["One", "How “first” & why", "Three"]
    assert soup.select("thead th") and all(text(th) for th in soup.select("th"))
    assert soup.select_one("thead tr").find().name == "td"


def test_a_vector_lead_image_comes_from_static(site):
    site.write("static/diagram.svg", '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>')
    site.write("content/articles/vector.md", article("Vector", image="diagram.svg", image_alt="A diagram"))
    site.build()
    img = site.page("articles/vector/index.html").select_one(".article-image img")
    assert img["src"] == "/static/diagram.svg" and img["alt"] == "A diagram"


@pytest.mark.parametrize("value, page_language, expected", [
    ("Юлия Пересильд", "en", '<span lang="ru">Юлия Пересильд</span>'),
    ("Soyuz (Союз МС-19) & <b>", "en", 'Soyuz (<span lang="ru">Союз МС-19</span>) &amp; &lt;b&gt;'),
    ("«Вызов», or Vyzov", "en-GB", '«<span lang="ru">Вызов</span>», or Vyzov'),
    ("Вызов", "ru", "Вызов"),
    ("No Cyrillic here", "en", "No Cyrillic here"),
])
def test_cyrillic_runs_are_marked_and_text_escaped(value, page_language, expected):
    assert str(mark_text(value, page_language)) == expected


def test_cyrillic_in_html_is_marked_outside_tags_and_code():
    html = '<p title="Вызов">Film «Вызов»</p><pre><code>print("Вызов")</code></pre>'
    assert mark_html(html, "en") == '<p title="Вызов">Film «<span lang="ru">Вызов</span>»</p><pre><code>print("Вызов")</code></pre>'


def test_check_command_sees_the_image_copies_a_build_makes(site):
    make_image(site.source / "content/articles/chart.png", (900, 500))
    site.write("content/articles/pictures.md", article("Pictures", image="chart.png", image_alt="A chart",
                                                       body="![The same chart](chart.png)"))
    result = run_build(site.capsys, ["check", "--strict", "--source", str(site.source)], expect=0)
    assert result.out.strip() == "microsite: check passed with 0 warnings; nothing written"
