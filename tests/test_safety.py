"""Hostile data renders as text, nothing lands outside the output folder, and folders the generator
did not make are never replaced."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from microsite.rebuild.cache import FOLDER as CACHE

from conftest import MISSION_YAML, SITE_YAML, article, parse, text
from microsite.markdown.typography import smarten

SCRIPT = "</script><script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'


THEME_SCRIPT = re.compile(r"/static/search\.[0-9a-f]{10}\.js")
"""The theme's one script: the search page loads it as an external module, with nothing inline."""


def scripts_in(folder: Path) -> list[str]:
    """Every script element on every page, as a browser would run them, except the theme's own."""
    found = []
    for page in sorted(folder.rglob("*.html")):
        rel = page.relative_to(folder).as_posix()
        for script in parse(page).find_all("script"):
            if script.get("type") == "application/ld+json":
                raw = script.string or ""
                assert "<" not in raw and ">" not in raw, f"{page}: JSON-LD carries raw angle brackets"
                json.loads(raw)
                continue
            own = (rel == "search/index.html" and not script.get_text() and set(script.attrs) == {"type", "src"}
                   and script["type"] == "module" and THEME_SCRIPT.fullmatch(script["src"]))
            if not own:
                found.append(f"{rel}: {script}")
    return found


def every_attribute(folder: Path) -> list[tuple[str, str, str]]:
    """(page, attribute, value) for every attribute on every page."""
    found = []
    for page in sorted(folder.rglob("*.html")):
        for tag in parse(page).find_all(True):
            for name, value in tag.attrs.items():
                found.append((str(page.relative_to(folder)), name, " ".join(value) if isinstance(value, list) else value))
    return found


@pytest.fixture
def hostile(site):
    """A site whose every data field tries to break out of its HTML context."""
    mission = (MISSION_YAML
               .replace("name: Yulia Peresild", f"name: '{SCRIPT}'")
               .replace("role: Director", f"role: '{IMG}'")
               .replace("  name: Test mission", f"  name: '{SCRIPT}'\n  summary: '<b>bold</b> & \"quoted\"'")
               .replace("title: Landing", f"title: '{IMG}'")
               .replace("  title: The Challenge", f"  title: '{SCRIPT}'"))
    site.write("content/mission.yaml", mission)
    site.write("content/site.yaml", SITE_YAML.replace("title: Test Orbit", f"title: '{IMG}'"))
    site.write("content/articles/evil.md", article(f"'{SCRIPT}'", summary=f"'{IMG}'", tags=f"['{SCRIPT}', '{IMG}']",
                                                   crew="[peresild]", body="Plain body."))
    return site


def test_data_renders_as_text_everywhere(hostile):
    hostile.build()
    out = hostile.output
    assert scripts_in(out) == []
    assert not [a for a in every_attribute(out) if a[1].startswith("on")], "no event handler attribute appears"
    evil = hostile.page("articles/evil/index.html")
    assert text(evil.find("h1")) == SCRIPT
    assert evil.find("meta", attrs={"name": "description"})["content"] == smarten(IMG), "summaries get typographic quotes, as text"
    assert [text(a) for a in evil.select(".article-header .tag")] == [SCRIPT, IMG]
    assert text(hostile.page("crew/peresild/index.html").find("h1")) == SCRIPT
    assert IMG in text(hostile.page("crew/index.html").select_one(".crew-grid"))
    mission = hostile.page("mission/index.html")
    assert text(mission.find("h1")) == SCRIPT
    assert text(mission.select_one(".lede")) == '<b>bold</b> & "quoted"'
    assert IMG in [text(h) for h in mission.select(".event-title")]
    assert hostile.page("index.html").find("title").get_text() == IMG


def test_feed_and_sitemap_stay_well_formed(hostile):
    import feedparser
    hostile.build()
    feed = feedparser.parse(str(hostile.output / "feed.xml"))
    assert not feed.bozo, feed.bozo_exception
    assert SCRIPT in [e.title for e in feed.entries]
    assert feed.feed.title == IMG


def test_json_in_scripts_cannot_close_the_tag(hostile):
    hostile.write("templates/crew.html",
                  '{% extends "base.html" %}{% block head %}<script type="application/ld+json">'
                  '{{ {"name": member.name, "role": member.role}|tojson }}</script>{% endblock %}'
                  '{% block main %}<h1>{{ member.name }}</h1>{% endblock %}')
    hostile.build()
    page = hostile.page("crew/peresild/index.html")
    scripts = page.find_all("script")
    assert len(scripts) == 1
    assert json.loads(scripts[0].string) == {"name": SCRIPT, "role": "Actress"}


RAW = '<div class="raw" onclick="steal()">raw <b>html</b></div>\n\nText [click](javascript:alert(3)) and ![x](data:text/html,bad)'


def test_raw_html_in_bodies_passes_as_written_by_default(site):
    site.write("content/articles/raw.md", article("Raw", body=RAW))
    site.build()
    prose = site.page("articles/raw/index.html").select_one(".prose")
    assert prose.select_one("div.raw b").get_text() == "html"


def test_unsafe_html_false_removes_raw_html_and_script_links(site):
    site.write("content/site.yaml", SITE_YAML + "unsafe_html: false\n")
    site.write("content/articles/raw.md", article("Raw", body=RAW))
    site.build()
    prose = site.page("articles/raw/index.html").select_one(".prose")
    assert prose.select_one("div") is None and prose.select_one("b") is None
    assert "raw <b>html</b>" in text(prose), "raw HTML is shown as text"
    link = prose.find("a", string="click")
    assert link is not None and not link.has_attr("href")
    assert not prose.find("img").has_attr("src")
    assert not [a for a in every_attribute(site.output) if a[2].lower().startswith(("javascript:", "data:"))]


HOSTILE_NAMES = [
    ("slug", "'../../etc/passwd'"),
    ("slug", "'/etc/cron.d/x'"),
    ("slug", "'%2e%2e/%2e%2e/evil'"),
    ("slug", "'..\\\\..\\\\windows'"),
    ("slug", '"nul\\0byte"'),
    ("slug", "'C:\\\\Windows\\\\system32'"),
    ("tags", "['../../../outside', '%2e%2e', 'a/../../b', '\\\\\\\\server\\\\share']"),
]


@pytest.mark.parametrize("field, value", HOSTILE_NAMES, ids=[v for _, v in HOSTILE_NAMES])
def test_hostile_names_stay_inside_the_output(site, tmp_path, field, value):
    site.write("content/articles/hostile.md", article("Hostile", **{field: value}))
    cache = site.source / CACHE  # the build cache beside the output, whose file names are hashes
    before = {p for p in tmp_path.rglob("*") if not p.is_relative_to(site.output) and not p.is_relative_to(cache)}
    site.build()
    after = {p for p in tmp_path.rglob("*") if not p.is_relative_to(site.output) and not p.is_relative_to(cache)}
    assert after == before, "nothing appears outside the output folder"
    for path in site.output.rglob("*"):
        assert path.resolve().is_relative_to(site.output.resolve())
        name = path.relative_to(site.output).as_posix()
        assert "%" not in name and "\\" not in name and ".." not in name.split("/")


def test_hostile_file_names_stay_inside_the_output(site, tmp_path):
    site.write("content/articles/..\\..\\evil.md", article("Backslashes"))
    site.write("content/articles/%2e%2e%2fevil.md", article("Encoded"))
    site.build()
    names = sorted(p.relative_to(site.output).as_posix() for p in site.output.glob("articles/*"))
    assert all("\\" not in n and "%" not in n for n in names), names
    assert {p.name for p in tmp_path.iterdir()} == {"site"}
    assert {p.name for p in site.source.iterdir()} == {"content", "output", CACHE}


@pytest.mark.parametrize("target, reason", [
    (".", "it contains the source folder"),
    ("..", "it contains the source folder"),
    ("content", "it lies inside the source's content/ folder"),
    ("content/articles", "it lies inside the source's content/ folder"),
    ("templates", "it lies inside the source's templates/ folder"),
    ("../elsewhere", "it holds files this generator did not write"),
    ("../repo", "it holds .git"),
    ("../marked-repo", "it holds .git"),
    ("../file.txt", "it is a file, not a folder"),
])
def test_output_folders_it_did_not_make_are_refused(site, tmp_path, target, reason):
    (site.source / "templates").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/thesis.tex").write_text("years of work")
    (tmp_path / "repo/.git").mkdir(parents=True)
    (tmp_path / "marked-repo/.git").mkdir(parents=True)
    (tmp_path / "marked-repo/.microsite-output").write_text("")
    (tmp_path / "file.txt").write_text("keep me")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = site.build("--output", str(site.source / target), expect=2)
    assert reason in result.err
    assert result.err.startswith("microsite: error: refusing to")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert not (site.source / "output").exists()


def test_output_it_made_is_replaced_and_stale_files_go_only_on_success(site):
    site.build()
    (site.source / "content/articles/launch.md").unlink()
    site.write("content/articles/bad.md", "---\ntitle: Bad\n---\n")
    site.build(expect=1)
    assert (site.output / "articles/launch/index.html").is_file(), "a failed build removes nothing"
    (site.source / "content/articles/bad.md").unlink()
    site.build()
    assert not (site.output / "articles/launch").exists()


def test_empty_existing_folder_is_used(site, tmp_path):
    (tmp_path / "fresh").mkdir()
    site.build("--output", str(tmp_path / "fresh"))
    assert (tmp_path / "fresh/index.html").is_file()
    assert (tmp_path / "fresh/.microsite-output").is_file()


def test_output_through_a_symlink_keeps_the_symlink(site, tmp_path):
    real = tmp_path / "real-output"
    site.build("--output", str(real))
    link = tmp_path / "public"
    link.symlink_to(real)
    site.write("content/articles/new.md", article("New"))
    site.build("--output", str(link))
    assert link.is_symlink() and (link / "articles/new/index.html").is_file()


def test_a_system_error_is_a_message_not_a_traceback(site, tmp_path):
    (tmp_path / "plain.txt").write_text("a file, not a folder")
    result = site.build("--output", str(tmp_path / "plain.txt/site"), expect=1)
    assert result.err.startswith("microsite: error: ") and "output left as it was" in result.err
    assert "Traceback" not in result.err
