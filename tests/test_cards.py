"""Link-preview cards: what a crawler fetches for og:image, and what a rebuild draws again."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

from PIL import Image, ImageChops, ImageFont

from conftest import ROOT, article, parse, run_build
from microsite.output import cards

BASE = "https://example.org/"
STYLE = ROOT / "microsite/theme/static/style.css"


def meta(soup, key: str) -> str | None:
    tag = soup.find("meta", attrs={"property": key}) or soup.find("meta", attrs={"name": key})
    return tag["content"] if tag else None


def night(css: str) -> tuple[int, int, int]:
    """The masthead background a stylesheet's first :root rule sets, which cards are painted with."""
    value = re.search(r":root\s*\{[^}]*--night:\s*#([0-9a-fA-F]{6})", css).group(1)
    return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))


def card_of(output: Path, rel: str) -> tuple[Path, object]:
    """The card a page names in og:image, checked against its meta tags, and the page."""
    soup = parse(output / rel)
    url = meta(soup, "og:image")
    assert url and url.startswith(BASE + "cards/"), f"{rel}: og:image {url!r} is not a card"
    assert meta(soup, "twitter:image") == url, rel
    assert meta(soup, "twitter:card") == "summary_large_image", rel
    assert (meta(soup, "og:image:width"), meta(soup, "og:image:height")) == ("1200", "630"), rel
    return output / url[len(BASE):], soup


def opened(path: Path) -> Image.Image:
    image = Image.open(path)
    assert image.format == "PNG" and image.size == (1200, 630), path
    return image.convert("RGB")


def cached(site) -> dict[str, tuple[int, int]]:
    """The cards the build cache holds, by name, with their inode and modification time: a card
    drawn again is written again, so both change."""
    folder = site.source / ".microsite-cache" / "cards"
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_articles_crew_and_home_pages_name_a_card_of_their_own(site):
    site.build()
    pages = sorted(p.relative_to(site.output).as_posix() for p in (site.output / "articles").glob("*/index.html")
                   if not p.parent.name.isdigit())  # articles/2021/ is a year's archive, not an article
    pages += ["index.html", "crew/peresild/index.html", "crew/novitsky/index.html"]
    assert len(pages) == 6
    seen = set()
    for rel in pages:
        path, soup = card_of(site.output, rel)
        opened(path)
        title = soup.find("meta", property="og:title")["content"]
        assert title in meta(soup, "og:image:alt") or rel == "index.html", rel
        seen.add(path)
    assert len(seen) == len(pages), "each page has its own card"
    landing = parse(site.output / "articles/landing/index.html")
    news = json.loads(landing.find("script", type="application/ld+json").string)
    assert news["image"] == [meta(landing, "og:image")], "search engines get the same picture"


def test_cards_are_the_same_bytes_in_every_build(site, tmp_path, capsys):
    site.build()
    again = tmp_path / "elsewhere" / "output"
    run_build(capsys, ["--source", str(site.source), "--output", str(again)])
    drawn = sorted(p.relative_to(site.output) for p in (site.output / "cards").rglob("*.png"))
    assert len(drawn) == 7  # home, three crew members, three articles
    for rel in drawn:
        assert (again / rel).read_bytes() == (site.output / rel).read_bytes(), rel


def test_cards_take_the_masthead_colours_of_the_sites_stylesheet(site):
    site.build()
    path, _ = card_of(site.output, "articles/landing/index.html")
    assert opened(path).getpixel((5, 5)) == night(STYLE.read_text())
    css = STYLE.read_text().replace("--night: #14213d;", "--night: #2a0d3a;", 1)
    site.write("static/style.css", css)
    site.build()
    repainted, _ = card_of(site.output, "articles/landing/index.html")
    assert repainted != path and not path.exists(), "a new recipe is a new name"
    assert opened(repainted).getpixel((5, 5)) == (0x2a, 0x0d, 0x3a)


def test_an_article_with_its_own_image_shows_it_instead_of_a_card(site):
    site.write("content/articles/pictured.md", article("Pictured", image="/static/share.jpg", image_alt="The crew"))
    site.build()
    soup = parse(site.output / "articles/pictured/index.html")
    assert meta(soup, "og:image") == BASE + "static/share.jpg" == meta(soup, "twitter:image")
    assert meta(soup, "og:image:alt") == "The crew"
    assert not list((site.output / "cards/articles").glob("pictured.*"))


CYRILLIC = ["Пересильд и Шипенко вернулись на Землю", "Съёмки «Вызова» на борту МКС: двенадцать дней"]


def test_the_font_draws_cyrillic_glyphs_not_boxes():
    font = ImageFont.truetype(str(cards.FONT), 64)
    missing = bytes(font.getmask("\ue000"))  # a private-use character no font draws: the box for a missing glyph
    for char in sorted(set("".join(CYRILLIC)) - set(" «»:")):
        assert bytes(font.getmask(char)) != missing, f"{char!r} (U+{ord(char):04X}) has no glyph in {cards.FONT.name}"


def test_cyrillic_titles_are_drawn(site):
    for number, title in enumerate(CYRILLIC):
        site.write(f"content/articles/ru-{number}.md", article(json.dumps(title, ensure_ascii=False), slug=f"ru-{number}"))
    site.build()
    background = night(STYLE.read_text())
    titles = []
    for number in range(len(CYRILLIC)):
        image = opened(card_of(site.output, f"articles/ru-{number}/index.html")[0])
        area = image.crop((80, 180, 1120, 480))  # the title's box, between the site name and the date
        assert ImageChops.difference(area, Image.new("RGB", area.size, background)).getbbox(), "the title area is empty"
        titles.append(area)
    assert ImageChops.difference(*titles).getbbox(), "two different titles look the same"
    recipe = cards.recipe(STYLE)
    boxes = cards.draw(cards.make("articles/x/", "Test Orbit", "\ue000" * len(CYRILLIC[0]), "17 October 2021", recipe), recipe)
    tofu = Image.open(io.BytesIO(boxes)).convert("RGB").crop((80, 180, 1120, 480))
    assert ImageChops.difference(titles[0], tofu).getbbox(), "the title is drawn as boxes"


LONG = ("Пересильд, Шипенко и Новицкий: " + "Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherung"
        + " — " + "очень длинный заголовок, который не помещается ни в одну строку " * 6)


def test_a_very_long_title_and_site_name_stay_inside_the_margins(site):
    site_yaml = (site.source / "content/site.yaml").read_text()
    site.write("content/site.yaml", site_yaml.replace("title: Test Orbit", "title: " + "Орбитальная станция и киносъёмочная группа " * 3))
    site.write("content/articles/long.md", article(json.dumps(LONG, ensure_ascii=False), slug="long"))
    site.build()
    image = opened(card_of(site.output, "articles/long/index.html")[0])
    background = night(STYLE.read_text())
    band = 64  # the margins are 80 pixels: no text, no mark reaches this band along any edge
    for box in ((0, 0, 1200, band), (0, 630 - band, 1200, 630), (0, 0, band, 630), (1200 - band, 0, 1200, 630)):
        assert image.crop(box).getcolors() == [(box_area(box), background)], f"something is drawn in the band {box}"
    text_rows = [y for y in range(630) if image.crop((0, y, 1200, y + 1)).getcolors() != [(1200, background)]]
    assert text_rows and max(text_rows) - min(text_rows) > 400, "the card is filled from the site name to the date"


def box_area(box: tuple[int, int, int, int]) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def test_an_edit_redraws_only_that_articles_card(site):
    site.build()
    before = cached(site)
    assert len(before) == 7
    outputs = {p.name: p.stat().st_ino for p in (site.output / "cards").rglob("*.png")}
    landing, _ = card_of(site.output, "articles/landing/index.html")

    text = (site.source / "content/articles/landing.md").read_text()
    site.write("content/articles/landing.md", text.replace("title: The landing", "title: The landing, at last"))
    site.build()
    after = cached(site)
    new, = set(after) - set(before)
    gone, = set(before) - set(after)
    assert {name: before[name] for name in after if name != new} == {name: after[name] for name in after if name != new}, \
        "the other cards were neither drawn nor written again"
    redrawn, _ = card_of(site.output, "articles/landing/index.html")
    assert redrawn != landing and not landing.exists()
    assert new.startswith(redrawn.name.split(".")[1]) and gone.startswith(landing.name.split(".")[1])
    for path in (site.output / "cards").rglob("*.png"):
        if path != redrawn:
            assert path.stat().st_ino == outputs[path.name], f"{path.name} was written again"

    site.write("content/articles/landing.md", (site.source / "content/articles/landing.md").read_text() + "\nOne more line.\n")
    site.build()
    assert cached(site) == after, "a body edit draws no card"


def test_a_card_lost_from_the_output_comes_from_the_cache(site):
    site.build()
    before = cached(site)
    shutil.rmtree(site.output)
    site.build()
    assert cached(site) == before, "nothing drawn again"
    path, _ = card_of(site.output, "crew/peresild/index.html")
    opened(path)
    assert os.path.getsize(path) > 0
