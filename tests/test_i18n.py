"""A site in two languages: translations, pages under /ru/, hreflang, switcher, strings and plurals."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import feedparser
import pytest

from conftest import MISSION_YAML, ROOT, SITE_YAML, Site, article, broken_links, built_once, copy_of, parse

LANGUAGES = """\
languages:
  - code: en
    name: English
    title: Test Orbit
    description: A small site used by the tests.
  - code: ru
    name: Русский
    title: Тестовая орбита
    description: Небольшой сайт для тестов.
tags:
  soyuz: {en: Soyuz, ru: Союз}
"""


def make_bilingual(site: Site) -> Site:
    """Put the test site in English and Russian, with one article translated."""
    site.write("content/site.yaml", SITE_YAML + LANGUAGES)
    mission = MISSION_YAML.replace("    role: Actress", "    role: {en: Actress, ru: Актриса}")
    site.write("content/mission.yaml", mission.replace("      title: Landing", "      title: {en: Landing, ru: Посадка}"))
    site.write("content/articles/landing.ru.md", article("Посадка", body="Снова дома. Юлия Пересильд вернулась."))
    return site


@pytest.fixture
def bilingual(site: Site) -> Site:
    """The test site in English and Russian, with one article translated."""
    return make_bilingual(site)


@pytest.fixture(scope="module")
def bilingual_built(tmp_path_factory) -> Path:
    """The `bilingual` fixture's folder after one good build, made once for the tests that only read it."""
    return built_once(tmp_path_factory, make_bilingual)


@pytest.fixture
def built_bilingual(bilingual: Site, bilingual_built: Path) -> Site:
    """The `bilingual` fixture after one good build: a copy of its sources, output and build cache."""
    return copy_of(bilingual_built, bilingual)


def hreflang(page) -> dict[str, str]:
    return {link["hreflang"]: link["href"] for link in page.find_all("link", rel="alternate", hreflang=True)}


def test_translation_published_under_language_folder(built_bilingual: Site):
    page = built_bilingual.page("ru/articles/landing/index.html")
    assert page.html["lang"] == "ru"
    assert page.h1.get_text() == "Посадка"
    original = built_bilingual.page("articles/landing/index.html")
    assert original.html["lang"] == "en"
    assert not broken_links(built_bilingual.output)


def test_translation_inherits_fields_of_original(built_bilingual: Site):
    page = built_bilingual.page("ru/articles/landing/index.html")
    published = page.find("meta", property="article:published_time")["content"]
    assert published == "2021-10-17T09:00:00Z"
    assert [a.get_text() for a in page.select("ul.tags a")] == ["landing", "Союз"]
    crew_links = [a["href"] for a in page.select(".crew-line a")]
    assert "/ru/crew/peresild/" in crew_links


def test_hreflang_reciprocal_with_x_default(built_bilingual: Site):
    en, ru = built_bilingual.page("articles/landing/index.html"), built_bilingual.page("ru/articles/landing/index.html")
    expected = {"en": "https://example.org/articles/landing/", "ru": "https://example.org/ru/articles/landing/",
                "x-default": "https://example.org/articles/landing/"}
    assert hreflang(en) == expected == hreflang(ru)
    assert hreflang(built_bilingual.page("ru/crew/peresild/index.html"))["en"] == "https://example.org/crew/peresild/"


def test_switcher_goes_to_translation_or_home_saying_so(built_bilingual: Site):
    switch = built_bilingual.page("articles/landing/index.html").select_one("nav.languages a[hreflang=ru]")
    assert switch["href"] == "/ru/articles/landing/"
    untranslated = built_bilingual.page("articles/launch/index.html").select_one("nav.languages a[hreflang=ru]")
    assert untranslated["href"] == "/ru/"
    assert "перевода нет" in untranslated.get_text()
    assert not built_bilingual.output.joinpath("ru/articles/launch").exists()


def test_listings_per_language_hide_untranslated(built_bilingual: Site):
    ru_home = built_bilingual.page("ru/index.html")
    titles = [a.get_text() for a in ru_home.select(".card-title a")]
    assert titles == ["Посадка"]
    en_home = built_bilingual.page("index.html")
    assert "Посадка" not in [a.get_text() for a in en_home.select(".card-title a")]


def test_untranslated_show_marks_english_items(bilingual: Site):
    bilingual.write("content/site.yaml", SITE_YAML + LANGUAGES.replace("    description: Небольшой сайт для тестов.\n",
                                                                       "    description: Небольшой сайт для тестов.\n    untranslated: show\n"))
    bilingual.build()
    cards = bilingual.page("ru/index.html").select("article.card")
    english = [c for c in cards if c.get("lang") == "en"]
    assert {c.select_one(".card-title a")["href"] for c in english} == {"/articles/launch/", "/articles/the-film/"}
    assert not any(c.get("lang") for c in cards if c not in english)
    assert not broken_links(bilingual.output)


def test_data_by_language(built_bilingual: Site):
    ru_crew = built_bilingual.page("ru/crew/peresild/index.html")
    assert ru_crew.h1.get_text() == "Юлия Пересильд"
    assert ru_crew.select_one(".role").get_text() == "Актриса"
    assert built_bilingual.page("crew/peresild/index.html").select_one(".role").get_text() == "Actress"
    titles = [h.get_text() for h in built_bilingual.page("ru/mission/index.html").select(".event-title")]
    assert "Посадка" in titles


def test_interface_strings_and_dates_in_russian(built_bilingual: Site):
    page = built_bilingual.page("ru/articles/landing/index.html")
    assert page.select_one("a.skip-link").get_text() == "Перейти к содержанию"
    assert page.select_one("p.meta time").get_text() == "17 октября 2021\u202fг."
    assert built_bilingual.page("articles/landing/index.html").select_one("p.meta time").get_text() == "17 October 2021"


@pytest.mark.parametrize("count, expected", [(1, "1 статья"), (2, "2 статьи"), (5, "5 статей"), (11, "11 статей"),
                                             (21, "21 статья"), (22, "22 статьи"), (25, "25 статей")])
def test_russian_plurals(count, expected):
    from microsite.features import i18n

    strings = i18n.load_strings([i18n.THEME_STRINGS], ["en", "ru"], lambda path, rel: __import__("yaml").safe_load(path.read_text()))
    assert strings.text("ru", "articles_count", count) == expected
    assert strings.text("en", "articles_count", count) == f"{count} article{'s' if count != 1 else ''}"


def test_feed_per_language(built_bilingual: Site):
    ru = feedparser.parse((built_bilingual.output / "ru/feed.xml").read_bytes())
    assert not ru.bozo
    assert ru.feed.language == "ru"
    assert [e.title for e in ru.entries] == ["Посадка"]
    assert [e.link for e in ru.entries] == ["https://example.org/ru/articles/landing/"]
    en = feedparser.parse((built_bilingual.output / "feed.xml").read_bytes())
    assert {e.id for e in en.entries}.isdisjoint(e.id for e in ru.entries)


def test_per_language_404_and_calendar(built_bilingual: Site):
    assert built_bilingual.page("ru/404.html").h1.get_text() == "Страница не найдена"
    assert "Посадка" in (built_bilingual.output / "ru/mission/events.ics").read_text(encoding="utf-8")


def test_sitemap_alternates(built_bilingual: Site):
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    root = ElementTree.parse(built_bilingual.output / "sitemap.xml").getroot()
    urls = {u.find("s:loc", ns).text: {l.get("hreflang"): l.get("href") for l in u.findall("x:link", ns)} for u in root.findall("s:url", ns)}
    assert urls["https://example.org/ru/articles/landing/"]["en"] == "https://example.org/articles/landing/"
    assert urls["https://example.org/articles/landing/"]["ru"] == "https://example.org/ru/articles/landing/"
    assert "ru" not in urls["https://example.org/articles/launch/"]


def test_translation_without_original_is_an_error(bilingual: Site):
    bilingual.write("content/articles/nothing.ru.md", article("Ничего"))
    result = bilingual.build(expect=1)
    assert "content/articles/nothing.ru.md:1:1" in result.err and "does not exist" in result.err


def test_unknown_language_code_is_an_error(bilingual: Site):
    bilingual.write("content/articles/landing.de.md", article("Landung"))
    result = bilingual.build(expect=1)
    assert "content/articles/landing.de.md:1:1" in result.err and "unknown language 'de'" in result.err


def test_unknown_language_in_mission_data_names_its_line(bilingual: Site):
    text = (bilingual.source / "content/mission.yaml").read_text(encoding="utf-8")
    bilingual.write("content/mission.yaml", text.replace("{en: Actress, ru: Актриса}", "{en: Actress, de: Schauspielerin}"))
    result = bilingual.build(expect=1)
    line = next(n for n, l in enumerate(text.splitlines(), 1) if "Актриса" in l)
    assert f"content/mission.yaml:{line}:" in result.err and "unknown language 'de'" in result.err


def test_search_index_per_language(bilingual: Site):
    import json

    bilingual.build()
    form = bilingual.page("ru/search/index.html").select_one("form.search-form")
    assert form["data-pagefind"] == "/ru/pagefind/pagefind.js"
    assert (bilingual.output / "ru/pagefind/pagefind.js").is_file()
    ru_entry = json.loads((bilingual.output / "ru/pagefind/pagefind-entry.json").read_text())
    en_entry = json.loads((bilingual.output / "pagefind/pagefind-entry.json").read_text())
    assert list(ru_entry["languages"]) == ["ru"] and list(en_entry["languages"]) == ["en"]
    ru_crew = bilingual.page("ru/crew/peresild/index.html").select_one("[data-pagefind-body]").get_text()
    assert "Юлия Пересильд" in ru_crew and "Yulia Peresild" in ru_crew


def test_mentions_in_a_translation_lead_to_its_language(built_bilingual: Site):
    mention = built_bilingual.page("ru/articles/landing/index.html").select_one("a.mention")
    assert mention.get_text() == "Юлия Пересильд"
    assert mention["href"] == "/ru/crew/peresild/"
    assert mention["data-native"] == "Yulia Peresild"
    card = built_bilingual.page("ru/articles/landing/index.html").select_one(".mention-card strong")
    assert card.get_text() == "Актриса"


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def served_bilingual(bilingual: Site):
    """The bilingual test site built and served over HTTP on the loopback interface."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    bilingual.write("content/articles/launch.ru.md", article("Старт", body="Юлия Пересильд и Клим Шипенко улетели на станцию."))
    bilingual.build()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(bilingual.output)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_search_status_line_speaks_the_language_of_its_page(built_bilingual: Site):
    """The script counts results in the browser: each page hands it its language's plural forms."""
    forms = {}
    for lang, rel in (("en", "search/index.html"), ("ru", "ru/search/index.html")):
        status = built_bilingual.page(rel).select_one(".search-status")
        forms[lang] = json.loads(status["data-found"]), status["data-none"]
    assert forms["en"] == ({"one": "{n} result for “{query}”", "other": "{n} results for “{query}”"}, "Nothing found for “{query}”")
    found, none = forms["ru"]
    assert set(found) == {"one", "few", "many", "other"} and found["many"] == "{n} результатов по запросу «{query}»"
    assert none == "По запросу «{query}» ничего не найдено"


def test_a_site_table_without_the_search_strings_keeps_the_scripts_own_line(site: Site):
    """A site's own table of the default language made before the search strings still builds:
    the page hands the script no forms, and the script says it in English."""
    theme = (ROOT / "microsite/theme/i18n/en.yaml").read_text(encoding="utf-8")
    site.write("i18n/en.yaml", "".join(line for line in theme.splitlines(keepends=True) if not line.startswith("search_found:")
                                       and not line.startswith("search_none:")))
    site.build()
    status = site.page("search/index.html").select_one(".search-status")
    assert json.loads(status["data-found"]) == {} and status["data-none"] == ""


@pytest.mark.browser
def test_russian_search_finds_both_spellings_in_a_real_browser(served_bilingual):
    from urllib.parse import quote

    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is installed by `make test` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    def search(page, query: str) -> list[str]:
        page.goto(f"{served_bilingual}/ru/search/?q={quote(query)}")
        page.wait_for_selector(".search-status:not(:empty)", timeout=15000)
        return page.eval_on_selector_all(".search-results a", "links => links.map(a => a.getAttribute('href'))")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            cyrillic, latin = search(page, "Пересильд"), search(page, "Peresild")
            status = page.inner_text(".search-status")
            assert status.endswith("по запросу «Peresild»") and status.split()[1] in ("результат", "результата", "результатов"), status
            assert errors == []
            assert "/ru/crew/peresild/" in cyrillic and "/ru/crew/peresild/" in latin
            assert {"/ru/articles/launch/", "/ru/articles/landing/"} <= set(latin)
            assert all(href.startswith("/ru/") for href in cyrillic + latin), "the Russian page searches the Russian index only"
            assert "/ru/articles/launch/" in search(page, "улетели"), "Russian stemming"
            english = search(page, "Up they go")
            assert not any(href.startswith("/articles/") for href in english)
        finally:
            browser.close()


def test_timeline_durations_and_days_in_russian(bilingual: Site):
    mission = (bilingual.source / "content/mission.yaml").read_text(encoding="utf-8")
    bilingual.write("content/mission.yaml", mission.replace("      detail: Back on the ground.\n",
                                                            "      detail: Back on the ground.\n      since: launch\n"))
    bilingual.build()
    page = bilingual.page("ru/mission/index.html")
    since = page.select_one("#landing .event-since").get_text()
    assert since.startswith("11 дней 20 часов") and "«Launch»" in since
    assert page.select_one("#landing .event-gap").get_text() == "через 11 дней 20 часов"
    assert page.select_one("#day-2021-10-17 .timeline-date").get_text() == "воскресенье, 17 октября 2021"
    english = bilingual.page("mission/index.html")
    assert english.select_one("#landing .event-gap").get_text() == "11 days 20 hours later"
    assert english.select_one("#day-2021-10-17 .timeline-date").get_text() == "Sunday 17 October 2021"


@pytest.mark.parametrize("words, expected", [(1, "1 минута чтения"), (3 * 220, "3 минуты чтения"), (5 * 220, "5 минут чтения")])
def test_reading_time_in_russian(bilingual: Site, words, expected):
    bilingual.write("content/articles/landing.ru.md", article("Посадка", body=" ".join(["слово"] * words)))
    bilingual.build()
    meta = " ".join(bilingual.page("ru/articles/landing/index.html").select_one("p.meta").get_text().split())
    assert meta.endswith(expected)


def test_russian_typography_in_translations(bilingual: Site):
    bilingual.write("content/articles/landing.ru.md", article("'\"Вызов\" -- фильм'", summary="'Фильм \"Вызов\" снят на орбите'",
                                                              body='Фильм "Вызов" -- первый такой. Код: `"x" -- y`.'))
    bilingual.build()
    page = bilingual.page("ru/articles/landing/index.html")
    assert page.h1.get_text() == "«Вызов»\u00a0– фильм"
    prose = page.select_one(".prose p")
    assert "Фильм «Вызов»\u00a0– первый такой." in prose.get_text()
    assert prose.code.get_text() == '"x" -- y'
    assert page.select_one(".lede").get_text() == "Фильм «Вызов» снят на орбите"


def test_structured_data_language_and_translation(bilingual: Site):
    import json

    bilingual.build()

    def record(rel):
        return json.loads(bilingual.page(rel).find("script", type="application/ld+json").string)

    ru, en = record("ru/articles/landing/index.html"), record("articles/landing/index.html")
    assert ru["inLanguage"] == "ru" and en["inLanguage"] == "en"
    assert ru["translationOfWork"]["@id"] == "https://example.org/articles/landing/"
    assert en["workTranslation"] == [{"@type": "NewsArticle", "@id": "https://example.org/ru/articles/landing/"}]
    assert record("ru/index.html")["inLanguage"] == "ru"


def test_new_article_writes_a_translation(bilingual: Site):
    from conftest import run_build

    (bilingual.source / "content/articles/landing.ru.md").unlink()
    run_build(bilingual.capsys, ["new", "article", "Возвращение", "--lang", "ru", "--of", "landing", "--source", str(bilingual.source)])
    written = bilingual.source / "content/articles/landing.ru.md"
    assert written.is_file()
    bilingual.build()
    assert not (bilingual.output / "ru/articles/landing").exists(), "a new translation is a draft"
    bilingual.build("--drafts")
    page = bilingual.page("ru/articles/landing/index.html")
    assert page.h1.get_text() == "Возвращение"
    assert page.find("meta", property="article:published_time")["content"] == "2021-10-17T09:00:00Z"
    again = run_build(bilingual.capsys, ["new", "article", "Ещё", "--lang", "ru", "--of", "landing", "--source", str(bilingual.source)], expect=None)
    assert again.status != 0 and "already exists" in again.err
    unknown = run_build(bilingual.capsys, ["new", "article", "Landung", "--lang", "de", "--of", "landing", "--source", str(bilingual.source)], expect=None)
    assert unknown.status != 0 and "'de' is not one of the site's other languages" in unknown.err


def test_check_reports_missing_strings_and_strict_fails(bilingual: Site):
    from conftest import run_build

    clean = run_build(bilingual.capsys, ["check", "--source", str(bilingual.source)])
    assert "warning" not in clean.err, clean.err
    theme = bilingual.source / "i18n/ru.yaml"
    theme.parent.mkdir()
    from microsite.features.i18n import THEME_STRINGS
    table = (THEME_STRINGS / "ru.yaml").read_text(encoding="utf-8")
    theme.write_text("\n".join(l for l in table.splitlines() if not l.startswith("latest:")).replace(
        "skip: Перейти к содержанию", "skip: К содержанию") + "\n", encoding="utf-8")
    bilingual.build()
    page = bilingual.page("ru/index.html")
    assert page.select_one("a.skip-link").get_text() == "К содержанию", "the site's file overrides the theme's"
    assert page.select_one("#latest").get_text() == "Latest articles", "a missing key falls back to the default language"
    result = run_build(bilingual.capsys, ["check", "--source", str(bilingual.source)])
    assert "i18n/ru.yaml" in result.err and "'latest'" in result.err
    run_build(bilingual.capsys, ["check", "--strict", "--source", str(bilingual.source)], expect=1)


class TranslationEditor:
    """Random edits of a bilingual site: translations added, edited, re-dated, removed, and the
    data and interface strings of the other language changed."""

    def __init__(self, source, rnd):
        self.source, self.rnd = source, rnd
        self.articles = source / "content" / "articles"

    def originals(self):
        return sorted(p for p in self.articles.glob("*.md") if p.name.count(".") == 1)

    def translations(self):
        return sorted(self.articles.glob("*.ru.md"))

    def add(self) -> str:
        original = self.rnd.choice(self.originals())
        target = original.with_name(f"{original.stem}.ru.md")
        target.write_text(article(f"Перевод {self.rnd.randint(0, 99)}", body=f"Юлия Пересильд, текст {self.rnd.random()}."),
                          encoding="utf-8")
        return f"add {target.name}"

    def edit_body(self) -> str:
        if not self.translations():
            return self.add()
        path = self.rnd.choice(self.translations())
        path.write_text(path.read_text(encoding="utf-8") + f"\nЕщё абзац {self.rnd.random()}.\n", encoding="utf-8")
        return f"body of {path.name}"

    def redate(self) -> str:
        if not self.translations():
            return self.add()
        path = self.rnd.choice(self.translations())
        text = path.read_text(encoding="utf-8").replace("---\n", f"---\ndate: 2021-10-{self.rnd.randint(10, 28)}\n", 1)
        path.write_text(text if text.count("\ndate:") == 1 else article("Другая дата", f"2021-10-{self.rnd.randint(10, 28)}"), encoding="utf-8")
        return f"date of {path.name}"

    def delete(self) -> str:
        if not self.translations():
            return self.add()
        path = self.rnd.choice(self.translations())
        path.unlink()
        return f"delete {path.name}"

    def strings(self) -> str:
        from microsite.features.i18n import THEME_STRINGS

        folder = self.source / "i18n"
        folder.mkdir(exist_ok=True)
        table = (THEME_STRINGS / "ru.yaml").read_text(encoding="utf-8")
        (folder / "ru.yaml").write_text(table.replace("Новые статьи", f"Свежее {self.rnd.randint(0, 99)}"), encoding="utf-8")
        return "i18n/ru.yaml"

    def mission(self) -> str:
        path = self.source / "content/mission.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("ru: Актриса", f"ru: Актриса {self.rnd.randint(0, 9)}").replace("ru: Актриса 0", "ru: Актриса"),
                        encoding="utf-8")
        return "mission.yaml"

    def show(self) -> str:
        path = self.source / "content/site.yaml"
        text = path.read_text(encoding="utf-8")
        anchor, shown = "    description: Небольшой сайт для тестов.\n", "    untranslated: show\n"
        path.write_text(text.replace(shown, "") if shown in text else text.replace(anchor, anchor + shown), encoding="utf-8")
        return "untranslated: show/hide"

    EDITS = ["add", "add", "edit_body", "edit_body", "redate", "delete", "strings", "mission", "show"]

    def random_edit(self) -> str:
        return getattr(self, self.rnd.choice(self.EDITS))()


@pytest.mark.slow
@pytest.mark.parametrize("way", ["cli", "watch"])
@pytest.mark.parametrize("seed", [1, 2])
def test_random_translation_edits_match_a_clean_build(bilingual: Site, tmp_path, seed, way):
    """After each random edit, a watch session (its real observer) or the command line (the build
    cache beside the output) writes the same bytes as a clean build, or both fail."""
    import random

    from live import Running, settle, wait_for
    from microsite import cli

    def tree(folder):
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    source = str(bilingual.source)
    run = Running(bilingual.source) if way == "watch" else None
    try:
        if run:
            assert run.session.last.ok, run.out.getvalue()
            seen = run.session.builds
        else:
            assert cli.main(["--source", source, "-q"]) == 0
        editor, history = TranslationEditor(bilingual.source, random.Random(seed)), []
        for number in range(10):
            history.append(editor.random_edit())
            if run:
                session = run.session
                wait_for(lambda: session.builds > seen and session.idle, what="a rebuild after the edits")
                seen = settle(session, 0.4)
                ok = session.last.ok
            else:
                ok = cli.main(["--source", source, "-q"]) == 0
            clean = tmp_path / f"clean-{number}" / "output"  # its own cache beside it: a clean build
            assert (cli.main(["--source", source, "--output", str(clean), "-q"]) == 0) == ok, f"after {history}"
            if ok:
                got, expected = tree(bilingual.output), tree(clean)
                assert sorted(got) == sorted(expected), f"file lists differ after {history}"
                assert [rel for rel in got if got[rel] != expected[rel]] == [], f"bytes differ after {history}"
    finally:
        if run:
            run.close()


def test_theme_tables_have_the_same_keys():
    from microsite.features import i18n
    from microsite.source import content

    strings = i18n.load_strings([i18n.THEME_STRINGS], ["en", "ru"], content.read_yaml_file)
    assert strings.missing() == []
    assert set(strings.tables["ru"]) == set(strings.tables["en"])


def test_translation_has_its_own_link_preview_card(built_bilingual: Site):
    ru = built_bilingual.page("ru/articles/landing/index.html").find("meta", property="og:image")["content"]
    en = built_bilingual.page("articles/landing/index.html").find("meta", property="og:image")["content"]
    assert ru != en and "/cards/ru/articles/landing" in ru
    assert (built_bilingual.output / ru.removeprefix("https://example.org/")).is_file()


def test_every_hreflang_pair_is_reciprocal_and_resolves(built_bilingual: Site):
    pages = {p.relative_to(built_bilingual.output).as_posix(): p for p in built_bilingual.output.rglob("*.html")}
    checked = 0
    for rel, path in pages.items():
        links = hreflang(parse(path))
        for code, href in links.items():
            target = href.removeprefix("https://example.org/") + "index.html"
            assert target in pages, f"{rel}: hreflang {code} leads to {href}, which does not exist"
            if code != "x-default":
                back = hreflang(parse(pages[target]))
                own = "https://example.org/" + rel.removesuffix("index.html")
                assert back.get(parse(path).html["lang"]) == own, f"{href} does not link back to {own}"
                checked += 1
    assert checked > 20


def test_without_languages_a_dotted_name_is_an_ordinary_article(site: Site):
    site.write("content/articles/landing.ru.md", article("Посадка"))
    site.build()
    assert site.page("articles/landing-ru/index.html").h1.get_text() == "Посадка"
    assert not (site.output / "ru").exists()
    assert site.page("index.html").html["lang"] == "en"
    assert not site.page("index.html").select("nav.languages, link[hreflang]")


def test_a_translation_waits_for_its_draft_original(bilingual: Site):
    bilingual.write("content/articles/landing.md", article("The landing", "2021-10-17T09:00:00Z", "Home again.",
                                                           tags="[landing, soyuz]", crew="[peresild]", draft="true"))
    bilingual.write("content/articles/landing.ru.md", article("Посадка", body="Снова дома.", draft="false"))
    bilingual.build()
    assert not (bilingual.output / "ru/articles/landing").exists()
    bilingual.build("--drafts")
    assert (bilingual.output / "ru/articles/landing/index.html").is_file()


def test_cards_of_other_language_pages_speak_it(built_bilingual: Site):
    for rel in ("ru/index.html", "ru/crew/peresild/index.html"):
        ru = built_bilingual.page(rel).find("meta", property="og:image")
        en = built_bilingual.page(rel.removeprefix("ru/")).find("meta", property="og:image")
        assert ru["content"] != en["content"] and "/cards/ru" in ru["content"]
    alt = built_bilingual.page("ru/crew/peresild/index.html").find("meta", property="og:image:alt")["content"]
    assert "Юлия Пересильд" in alt and "Тестовая орбита" in alt


def test_an_alias_of_a_translation_redirects_within_its_language(bilingual: Site):
    bilingual.write("content/articles/landing.ru.md", article("Посадка", body="Снова дома.", aliases="[posadka]"))
    bilingual.build()
    moved = bilingual.page("ru/articles/posadka/index.html")
    assert moved.find("link", rel="canonical")["href"] == "https://example.org/ru/articles/landing/"
    lines = (bilingual.output / "_redirects").read_text(encoding="utf-8").splitlines()
    assert any(line.split()[:2] == ["/ru/articles/posadka/", "/ru/articles/landing/"] for line in lines), lines


def test_words_conversion_writes_into_a_body_speak_its_language(bilingual: Site):
    body = "## Дорога домой\n\nСноска[^a] и ещё раз[^a].\n\n| Время | Событие |\n|---|---|\n| 04:35 | Посадка |\n\n[^a]: Источник."
    bilingual.write("content/articles/landing.ru.md", article("Посадка", body=body))
    bilingual.build()
    ru = bilingual.page("ru/articles/landing/index.html")
    assert ru.select_one("h2 a.anchor")["title"] == "Ссылка на этот раздел"
    assert ru.select_one(".table-wrap")["aria-label"] == "Таблица"
    assert [a["title"] for a in ru.select("a.footnote-backref")] == ["Вернуться к сноске 1"] * 2
    en = bilingual.page("articles/landing/index.html")
    assert all(a["title"] == "Link to this section" for a in en.select("a.anchor"))


def test_a_site_filter_of_a_constant_answers_in_the_language_of_each_page(bilingual: Site):
    """Jinja folds a filter of a constant when it compiles a template; a site's filters answer for
    the page being rendered, so they must run then, on every page, not once at compile time."""
    base = (Path(__file__).parent.parent / "microsite/theme/templates/base.html").read_text(encoding="utf-8")
    bilingual.write("templates/base.html", base.replace("</body>", '<a id="fixed-tag" href="{{ "soyuz"|tag_url }}">{{ "soyuz"|tag_name }}</a></body>'))
    bilingual.build()
    for rel, href, name in [("articles/landing/index.html", "/tags/soyuz/", "Soyuz"),
                            ("ru/articles/landing/index.html", "/ru/tags/soyuz/", "Союз")]:
        link = bilingual.page(rel).find(id="fixed-tag")
        assert (link["href"], link.get_text()) == (href, name), rel
