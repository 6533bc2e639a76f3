"""Authoring: slugs from any script, `new article` / `new crew`, and aliases that keep old URLs alive."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import article, broken_links, text
from microsite import cli
from microsite.features.slugs import make_slug


@pytest.mark.parametrize("title, slug", [
    ("Юлия Пересильд", "yulia-peresild"),
    ("Клим Шипенко", "klim-shipenko"),
    ("Олег Новицкий", "oleg-novitsky"),
    ("Пётр Дубров", "pyotr-dubrov"),
    ("Антон Шкаплеров", "anton-shkaplerov"),
    ("Вызов: фильм", "vyzov-film"),
    ("Back on the steppe -- Soyuz MS-18", "back-on-the-steppe-soyuz-ms-18"),
    ("Ça va, Zoë?", "ca-va-zoe"),
])
def test_slugs_are_readable_latin(title, slug):
    assert make_slug(title) == slug
    assert make_slug(title) == make_slug(title)


def test_cyrillic_slug_in_front_matter(site):
    site.write("content/articles/ru.md", article("Заметки", slug="Юлия Пересильд"))
    site.build()
    assert (site.output / "articles/yulia-peresild/index.html").is_file()


def _new(capsys, *args, expect=0):
    capsys.readouterr()
    status = cli.main(["new", *args])
    out, err = capsys.readouterr()
    assert status == expect, err
    return out, err


def test_new_article_is_a_dated_draft_and_never_overwritten(site, capsys):
    _new(capsys, "article", "Юлия Пересильд: дневник", "--source", str(site.source))
    path = site.source / "content/articles/yulia-peresild-dnevnik.md"
    written = path.read_text(encoding="utf-8")
    assert 'title: "Юлия Пересильд: дневник"' in written
    assert f"date: {dt.datetime.now(dt.timezone.utc).date().isoformat()}" in written
    assert "draft: true" in written
    path.write_text(written + "\nMy own words.\n", encoding="utf-8")
    _, err = _new(capsys, "article", "Юлия Пересильд: дневник", "--source", str(site.source), expect=2)
    assert "already exists" in err
    assert path.read_text(encoding="utf-8").endswith("My own words.\n")
    site.build()
    assert not (site.output / "articles/yulia-peresild-dnevnik").exists(), "drafts stay out"
    site.build("--drafts")
    page = site.page("articles/yulia-peresild-dnevnik/index.html")
    assert text(page.find("h1")) == "Юлия Пересильд: дневник"


def test_new_crew_appends_keeping_comments_and_order(site, capsys):
    mission = site.source / "content/mission.yaml"
    original = mission.read_text(encoding="utf-8").replace("crew:\n", "# the people who flew\ncrew:  # in order of launch\n")
    mission.write_text(original, encoding="utf-8")
    _new(capsys, "crew", "Марк Ванде Хай", "--source", str(site.source))
    updated = mission.read_text(encoding="utf-8")
    film = original.index("film:")
    assert updated.startswith(original[:film]) and updated.endswith(original[film:]), "everything else stays as written"
    added = updated[film:len(updated) - len(original) + film]
    assert "- id: mark-vande-khay" in added and "name_native: Марк Ванде Хай" in added and "name: Mark Vande Khay" in added
    _, err = _new(capsys, "crew", "Марк Ванде Хай", "--source", str(site.source), expect=2)
    assert "already exists" in err
    site.build()
    assert (site.output / "crew/mark-vande-khay/index.html").is_file()


def test_aliases_make_redirect_pages_that_links_follow(site):
    site.write("content/articles/launch.md", article("The launch", "2021-10-05", "Up they go.", aliases="[first-launch, /2021/10/launch.html]"))
    site.write("content/articles/old-links.md", article("Old links", body="[Old URL](/articles/first-launch/) and [older](/2021/10/launch.html)."))
    site.build()
    for rel in ("articles/first-launch/index.html", "2021/10/launch.html"):
        page = site.page(rel)
        assert page.find("link", rel="canonical")["href"] == "https://example.org/articles/launch/"
        assert page.find("meta", attrs={"http-equiv": "refresh"})["content"] == "0; url=/articles/launch/"
        assert page.select_one("main a")["href"] == "/articles/launch/"
    assert broken_links(site.output) == []
    assert "first-launch" not in (site.output / "sitemap.xml").read_text()


def test_alias_that_shadows_a_live_article_is_an_error(site):
    site.write("content/articles/launch.md", article("The launch", "2021-10-05", "Up.", aliases="[landing]"))
    result = site.build(expect=1)
    assert "content/articles/launch.md:4:11: alias /articles/landing/ is the live URL of content/articles/landing.md:2:1; remove it from aliases" in result.err
