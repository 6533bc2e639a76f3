"""A session's rebuild starts from the changed paths and the last build's state, and its output is
always byte for byte a clean build's; it renders only the pages an edit reaches."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from PIL import Image

from conftest import MISSION_YAML, ROOT, SITE_YAML, article, examples, sources_digest, steps
from microsite import engine
from microsite.errors import BuildFailed
from microsite.features import related
from microsite.markdown.bodies import Html
from microsite.model import Article, Settings
from microsite.rebuild import deps
from microsite.render import render
from microsite.rebuild.changes import Kind, kind_of
from microsite.rebuild.state import ASSETS, CONTENT, State


def tree(folder: Path) -> dict[str, bytes]:
    """Every file of a folder by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def folders(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir()}


CLEAN: dict[str, tuple[dict[str, bytes], set[str]] | None] = {}
"""What a clean build made of each set of sources seen: a clean build depends on nothing else."""


def clean(source: Path, scratch: Path) -> tuple[dict[str, bytes], set[str]] | None:
    """A clean build of the source in one process, into a fresh folder with no cache; None when it fails."""
    key = sources_digest(source)
    if key not in CLEAN:
        shutil.rmtree(scratch, ignore_errors=True)
        output = scratch / "output"
        try:
            engine.build(Settings(source=source, output=output, jobs=1))
            CLEAN[key] = tree(output), folders(output)
        except BuildFailed:
            CLEAN[key] = None
        shutil.rmtree(scratch, ignore_errors=True)
    return CLEAN[key]


def write(source: Path, rel: str, text: str) -> str:
    path = source / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return rel


def small_site(source: Path) -> None:
    write(source, "content/site.yaml", SITE_YAML)
    write(source, "content/mission.yaml", MISSION_YAML)
    write(source, "content/articles/landing.md", article("The landing", "2021-10-17T09:00:00Z", "Home again, says Klim Shipenko.",
                                                          tags="[landing, soyuz]", crew="[peresild, shipenko, novitsky]"))
    write(source, "content/articles/launch.md", article("The launch", "2021-10-05", "Up they go.\n\n## Lift-off\n\nLoud.",
                                                         tags="[soyuz]", crew="[peresild]"))
    write(source, "content/articles/the-film.md", article("The film", "2023-04-20T10:00:00+03:00", "## Release\n\nIn cinemas.",
                                                           tags="[film]"))


REBUILD_NOW = st.sampled_from(["changes", "changes", "changes", "unknown", "later"])
"""After an edit: rebuild told the changed paths, rebuild not told, or edit more first."""


class Edits(RuleBasedStateMachine):
    """Random sequences of the edits authors make, each followed by a rebuild told exactly which
    paths changed, as watch tells it; after each, the output equals a clean build's."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="microsite-rebuild-"))
        self.source = self.root / "site"
        small_site(self.source)
        self.settings = Settings(source=self.source, output=self.source / "output")
        self.state = State()
        self.changed: set[str] = set()
        self.count = 0
        engine.rebuild(self.settings, self.state)

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def articles(self) -> list[str]:
        return sorted(p.relative_to(self.source).as_posix() for p in (self.source / "content/articles").glob("*.md"))

    def edit(self, rel: str, change) -> None:
        path = self.source / rel
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
        self.changed.add(rel)

    @rule(now=REBUILD_NOW, data=st.data(), words=st.sampled_from(["More text.", "A mention of Yulia Peresild.", "## A new part\n\nWith words.",
                                                  "Two\n\nparagraphs.", "See [[crew:novitsky]]."]))
    def body(self, data, words, now):
        rel = data.draw(st.sampled_from(self.articles()))
        self.edit(rel, lambda text: text + f"\n{words}\n")
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW, data=st.data(), field=st.sampled_from(["title", "date", "tags", "crew", "summary", "slug", "draft", "events"]))
    def front_matter(self, data, field, now):
        rel = data.draw(st.sampled_from(self.articles()))
        value = {"title": f"Title {self.count}", "date": data.draw(st.sampled_from(["2021-10-03", "2022-01-01T10:00:00Z", "2024-05-05"])),
                 "tags": data.draw(st.sampled_from(["[soyuz]", "[film, orbit]", "[]", "[landing, new tag]"])),
                 "crew": data.draw(st.sampled_from(["[shipenko]", "[]", "[novitsky, peresild]"])),
                 "summary": f"Summary {self.count}.", "slug": f"slug-{self.count}",
                 "draft": data.draw(st.sampled_from(["true", "false"])),
                 "events": data.draw(st.sampled_from(["[launch]", "[]", "[landing, launch]"]))}[field]
        self.count += 1

        def change(text: str) -> str:
            head, _, body = text.partition("\n---\n")
            lines = [line for line in head.split("\n") if not line.startswith(f"{field}:")]
            return "\n".join(lines + [f"{field}: {value}"]) + "\n---\n" + body
        self.edit(rel, change)
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW, day=st.integers(1, 28), tags=st.sampled_from(["[soyuz]", "[new]", "[film, soyuz]"]))
    def add(self, day, tags, now):
        self.count += 1
        rel = write(self.source, f"content/articles/added-{self.count}.md",
                    article(f"Added {self.count}", f"2021-11-{day:02d}", "New text.", tags=tags, crew="[novitsky]"))
        self.changed.add(rel)
        self.maybe_rebuild(now)

    @precondition(lambda self: len(self.articles()) > 1)
    @rule(now=REBUILD_NOW, data=st.data())
    def delete(self, data, now):
        rel = data.draw(st.sampled_from(self.articles()))
        (self.source / rel).unlink()
        self.changed.add(rel)
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW, data=st.data())
    def rename(self, data, now):
        rel = data.draw(st.sampled_from(self.articles()))
        self.count += 1
        target = f"content/articles/moved-{self.count}.md"
        (self.source / rel).rename(self.source / target)
        self.changed |= {rel, target}
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW, what=st.sampled_from(["role", "bio", "name", "fact", "film"]))
    def mission(self, what, now):
        self.count += 1
        number = self.count
        pattern = {"role": (r"role: Director\S*", f"role: Director{number}"),
                   "bio": (r"bio: Lead actress\S*", f"bio: Lead actress{number}."),
                   "name": (r"name: Oleg\S* Novitsky", f"name: Oleg{number} Novitsky"),
                   "fact": (r"value: 5 October 2021\S*", f"value: 5 October 2021-{number}"),
                   "film": (r"  title: The Challenge\S*", f"  title: The Challenge{number}")}[what]
        self.edit("content/mission.yaml", lambda text: re.sub(pattern[0], pattern[1], text, count=1))
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW, number=st.integers(0, 3))
    def stylesheet(self, number, now):
        css = (ROOT / "microsite/theme/static/style.css").read_text(encoding="utf-8")
        self.changed.add(write(self.source, "static/style.css", css + f"\n/* {number} */\n"))
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW, number=st.integers(0, 3))
    def static_file(self, number, now):
        self.changed.add(write(self.source, f"static/note-{number}.txt", f"note {self.count}"))
        self.count += 1
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW, name=st.sampled_from(["tag.html", "article.html", "_macros.html", "base.html"]), number=st.integers(0, 3))
    def template(self, name, number, now):
        text = (ROOT / "microsite/theme/templates" / name).read_text(encoding="utf-8")
        marker = f"<!-- variant {number} -->"
        if name == "_macros.html":
            text = text.replace("{% endmacro %}", marker + "{% endmacro %}", 1)
        elif name == "base.html":
            text = text.replace("</footer>", marker + "</footer>", 1)
        else:
            text = text.replace("{% endblock %}", marker + "{% endblock %}", 1)
        self.changed.add(write(self.source, f"templates/{name}", text))
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW, data=st.data(), where=st.sampled_from(["static/photo.jpg", "content/articles/photo.jpg"]),
          size=st.sampled_from([(40, 30), (900, 600)]))
    def image(self, now, data, where, size):
        """A raster image saved, and an article that shows it."""
        (self.source / where).parent.mkdir(exist_ok=True)
        Image.new("RGB", size, (self.count % 255, 90, 160)).save(self.source / where, "JPEG")
        self.count += 1
        rel = data.draw(st.sampled_from(self.articles()))
        src = "/static/photo.jpg" if where.startswith("static/") else "photo.jpg"
        self.edit(rel, lambda text: text + f"\n![A photo]({src})\n")
        self.changed.add(where)
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW, name=st.sampled_from(["templates", "static", "static/fonts"]))
    def folder(self, now, name):
        """A folder made: editors and file managers report the folder before the files put in it."""
        (self.source / name).mkdir(parents=True, exist_ok=True)
        self.changed.add(name)
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW)
    def site_yaml(self, now):
        self.count += 1
        self.changed.add(write(self.source, "content/site.yaml", SITE_YAML.replace("Test Orbit", f"Test Orbit {self.count}")))
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW, data=st.data())
    def break_article(self, data, now):
        rel = data.draw(st.sampled_from(self.articles()))
        self.edit(rel, lambda text: text.replace("title:", "title: [unclosed", 1))
        self.maybe_rebuild(now)

    @rule(now=REBUILD_NOW)
    def fix(self, now):
        for rel in self.articles():
            if "[unclosed" in (self.source / rel).read_text(encoding="utf-8"):
                self.edit(rel, lambda text: text.replace("title: [unclosed", "title:", 1))
        self.maybe_rebuild(now)

    def maybe_rebuild(self, now: str) -> None:
        """Rebuild after most edits, telling the changed paths or not; the other edits pile up
        into one burst of changes."""
        if now != "later":
            self.rebuild(now == "unknown")

    @rule(unknown=st.booleans())
    def rebuild(self, unknown):
        expected = clean(self.source, self.root / "clean")
        before = tree(self.settings.output)
        changed, self.changed = (None if unknown else sorted(self.changed)), set()
        try:
            engine.rebuild(self.settings, self.state, changed)
        except BuildFailed:
            assert expected is None, "the rebuild failed where a clean build does not"
            assert tree(self.settings.output) == before, "a failed rebuild leaves the output as it was"
            return
        assert expected is not None, "the rebuild succeeded where a clean build fails"
        got = tree(self.settings.output)
        files, dirs = expected
        assert sorted(got) == sorted(files)
        assert [rel for rel in got if got[rel] != files[rel]] == []
        assert folders(self.settings.output) == dirs


TestEdits = Edits.TestCase
TestEdits.settings = settings(max_examples=examples(10), stateful_step_count=steps(10), deadline=None,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture
def session(site):
    state = State()
    settings_ = Settings(source=site.source, output=site.output)
    engine.rebuild(settings_, state)
    return site, settings_, state


def test_a_body_edit_renders_the_pages_that_print_the_body(session):
    site, settings_, state = session
    site.write("content/articles/launch.md", article("The launch", "2021-10-05", "Up they went.", tags="[soyuz]", crew="[peresild]"))
    engine.rebuild(settings_, state, ["content/articles/launch.md"])
    pages = {rel for rel in state.last.rewritten if rel.endswith((".html", ".xml"))}
    feeds = {"feed.xml", "tags/soyuz/feed.xml", "crew/peresild/feed.xml"}  # the feeds of the site, its tag and its crew member
    assert pages == {"articles/launch/index.html"} | feeds
    assert "feed.json" in state.last.rewritten
    assert state.last.rendered == 5
    for rel in ["articles/launch/index.html", "feed.json", *feeds]:
        assert "Up they went." in (site.output / rel).read_text(encoding="utf-8")


def test_a_role_edit_renders_the_pages_that_show_the_role_not_those_that_name_the_member(session):
    site, settings_, state = session
    site.write("content/mission.yaml", MISSION_YAML.replace("role: Commander", "role: Soyuz commander"))
    engine.rebuild(settings_, state, ["content/mission.yaml"])
    rendered = set(state.last.rewritten)
    assert {"crew/novitsky/index.html", "crew/index.html", "search/index.html"} <= rendered
    assert "articles/landing/index.html" not in rendered, "the article names Novitsky but does not show his role"


def test_a_role_edit_keeps_the_plan_and_an_event_edit_plans_again(site, tmp_path):
    """Planning reads no crew member's role: the last plan holds, with the edited member put in.
    The mission page's timeline is planned from the events, so an event edit plans the site again."""
    state, settings_ = State(), Settings(source=site.source, output=site.output)
    engine.rebuild(settings_, state)
    before = dict(state.pages)
    site.write("content/mission.yaml", MISSION_YAML.replace("role: Commander", "role: Soyuz commander"))
    engine.rebuild(settings_, state, ["content/mission.yaml"])
    assert state.pages["articles/the-film/index.html"] is before["articles/the-film/index.html"], "the site was planned again"
    assert state.pages["crew/novitsky/index.html"].context["member"].role == "Soyuz commander"
    assert "Soyuz commander" in site.page("crew/novitsky/index.html").get_text()
    files, dirs = clean(site.source, tmp_path / "clean")
    assert tree(site.output) == files and folders(site.output) == dirs
    before = dict(state.pages)
    launch = re.search(r"^ *title: Launch$", MISSION_YAML, re.M)
    assert launch, "the mission of the tests has a launch event"
    site.write("content/mission.yaml", MISSION_YAML.replace("role: Commander", "role: Soyuz commander")
               .replace(launch.group(), launch.group().replace("Launch", "Lift-off")))
    engine.rebuild(settings_, state, ["content/mission.yaml"])
    assert state.pages["articles/the-film/index.html"] is not before["articles/the-film/index.html"]
    assert "Lift-off" in site.page("mission/index.html").get_text()
    files, dirs = clean(site.source, tmp_path / "clean")
    assert tree(site.output) == files and folders(site.output) == dirs


def test_a_role_edit_renders_the_list_page_that_shows_the_crew_not_the_pages_after_it(site, tmp_path):
    site.write("content/site.yaml", SITE_YAML + "per_page: 1\n")
    state, settings_ = State(), Settings(source=site.source, output=site.output)
    engine.rebuild(settings_, state)
    before = dict(state.reads)
    site.write("content/mission.yaml", MISSION_YAML.replace("role: Commander", "role: Soyuz commander"))
    engine.rebuild(settings_, state, ["content/mission.yaml"])
    rendered = {path for path, reads in state.reads.items() if reads is not before.get(path)}
    assert {"search/index.html", "crew/index.html", "crew/novitsky/index.html"} <= rendered
    assert "Soyuz commander" in site.page("search/index.html").get_text()
    assert not {"search/page/2/index.html", "search/page/3/index.html"} & rendered, "later pages do not list the crew"
    files, dirs = clean(site.source, tmp_path / "clean")
    assert tree(site.output) == files and folders(site.output) == dirs


CACHED_TAG = """{% extends "base.html" %}
{% block main %}
<h1>{{ tag.name }}</h1>
<ul>{% for article in articles %}{{ cached("_lines.html", "line", article, crew=crew[-1].id, note=none) }}{% endfor %}</ul>
<p>{{ cached("_lines.html", "all", articles) }}</p>
{% endblock %}
"""
LINES = """{% macro line(article, crew, note) %}<li>{{ article.title }}, told to {% for member in crew_list if member.id == crew %}{{ member.role }}{% endfor %}</li>{% endmacro %}
{% macro all(articles) %}{{ articles|map(attribute="title")|join(", ") }}{% endmacro %}
{% set crew_list = crew %}
"""


def test_a_cached_macro_prints_anew_what_a_changed_record_makes_it_print(site, tmp_path):
    """`cached` keeps a macro's output for the next build of a session, and drops it when a record
    the macro read changed, even one it reached through a global (`crew`), not its arguments."""
    site.write("templates/tag.html", CACHED_TAG)
    site.write("templates/_lines.html", LINES)
    state, settings_ = State(), Settings(source=site.source, output=site.output)
    engine.rebuild(settings_, state)
    page = site.page("tags/soyuz/index.html")
    assert [li.get_text() for li in page.select("main li")] == ["The landing, told to Commander", "The launch, told to Commander"]
    assert page.select_one("main p").get_text() == "The landing, The launch"
    for rel, text in [("content/mission.yaml", MISSION_YAML.replace("role: Commander", "role: Soyuz commander")),
                      ("content/articles/launch.md", article("The lift-off", "2021-10-05", "Up they go.", tags="[soyuz]", crew="[peresild]"))]:
        site.write(rel, text)
        engine.rebuild(settings_, state, [rel])
        files, dirs = clean(site.source, tmp_path / "clean")
        assert tree(site.output) == files and folders(site.output) == dirs
    page = site.page("tags/soyuz/index.html")
    assert [li.get_text() for li in page.select("main li")] == ["The landing, told to Soyuz commander", "The lift-off, told to Soyuz commander"]
    assert page.select_one("main p").get_text() == "The landing, The lift-off"


def test_cached_calls_with_equal_values_of_other_types_or_other_pagers_print_their_own_output(site):
    """1, True and 1.0 are equal in Python: a cached call tells them apart by type. A pager (a
    frozen record of plain values) is keyed by its values, so each page of a list prints its own."""
    site.write("templates/_lines.html", '{% macro show(value) %}[{{ value }}]{% endmacro %}'
                                        '{% macro place(pager) %}{{ pager.number }}/{{ pager.count }}{% endmacro %}')
    site.write("templates/tag.html", """{% extends "base.html" %}
{% block main %}
<p>{% for v in [1, true, 1.0, "1", none, (1, 2)] %}{{ cached("_lines.html", "show", v) }}{% endfor %} {{ cached("_lines.html", "place", pager) }}</p>
{% endblock %}
""")
    site.write("content/site.yaml", SITE_YAML + "per_page: 1\n")
    engine.build(Settings(source=site.source, output=site.output))
    for number, rel in [(1, "tags/soyuz/index.html"), (2, "tags/soyuz/page/2/index.html")]:
        assert site.page(rel).select_one("main p").get_text() == f"[1][True][1.0][1][None][(1, 2)] {number}/2"


def test_a_cached_macro_that_does_not_exist_is_named_at_its_line(site):
    site.write("templates/tag.html", CACHED_TAG.replace('"line"', '"lines"'))
    site.write("templates/_lines.html", LINES)
    with pytest.raises(BuildFailed) as failed:
        engine.build(Settings(source=site.source, output=site.output))
    assert any(e.path == "templates/tag.html" and e.line == 4 and "lines" in e.message for e in failed.value.errors), failed.value.errors


def test_a_stylesheet_edit_renders_nothing_and_puts_the_new_name_into_every_page(session):
    site, settings_, state = session
    css = (ROOT / "microsite/theme/static/style.css").read_text(encoding="utf-8")
    site.write("static/style.css", css + "\nh1 { color: teal }\n")
    engine.rebuild(settings_, state, ["static/style.css"])
    assert state.last.rendered == 0
    (old, new), = state.last.stylesheets.items()
    pages = {rel: kind for rel, kind in state.last.rewritten.items() if rel.endswith(".html")}
    assert pages and set(pages.values()) == {ASSETS}
    assert site.page("index.html").find("link", rel="stylesheet")["href"] == f"/{new}"
    assert not (site.output / old).exists() and (site.output / new).is_file()


def test_a_title_edit_replaces_the_articles_card_in_place(session, tmp_path):
    site, settings_, state = session
    folder = settings_.output.stat().st_ino
    before = {p.relative_to(site.output).as_posix() for p in (site.output / "cards").rglob("*.png")}
    site.write("content/articles/launch.md", article("The launch, again", "2021-10-05", "Up they go.\n\n## Lift-off\n\nLoud.",
                                                     tags="[soyuz]", crew="[peresild]"))
    engine.rebuild(settings_, state, ["content/articles/launch.md"])
    assert settings_.output.stat().st_ino == folder, "the output was patched, not staged whole and swapped in"
    after = {p.relative_to(site.output).as_posix() for p in (site.output / "cards").rglob("*.png")}
    (old,), (new,) = sorted(before - after), sorted(after - before)
    assert old.startswith("cards/articles/launch.") and new.startswith("cards/articles/launch.")
    assert site.page("articles/launch/index.html").find("meta", property="og:image")["content"].endswith("/" + new)
    assert {new, "articles/launch/index.html"} <= set(state.last.rewritten) and old in state.last.removed
    files, dirs = clean(site.source, tmp_path / "clean")
    assert tree(site.output) == files and folders(site.output) == dirs


def test_a_title_edit_keeps_the_plan_and_reaches_the_redirect_of_an_alias(site, tmp_path):
    """Planning copies no title: the last plan holds, with the edited article put in, and the page
    at an alias of the article names it by its new title."""
    text = lambda title: article(title, "2021-10-05", "Up they go.", tags="[soyuz]", crew="[peresild]", aliases="[lift-off]")  # noqa: E731
    site.write("content/articles/launch.md", text("The launch"))
    state, settings_ = State(), Settings(source=site.source, output=site.output)
    engine.rebuild(settings_, state)
    before = dict(state.pages)
    site.write("content/articles/launch.md", text("The launch, retold"))
    engine.rebuild(settings_, state, ["content/articles/launch.md"])
    assert state.pages["crew/index.html"] is before["crew/index.html"], "the site was planned again"
    moved = site.page("articles/lift-off/index.html")
    assert moved.find("p", class_="lede").a.get_text() == "The launch, retold"
    assert "The launch, retold" in moved.title.get_text()
    assert "articles/lift-off/index.html" in state.last.rewritten
    files, dirs = clean(site.source, tmp_path / "clean")
    assert tree(site.output) == files and folders(site.output) == dirs


def test_a_template_edit_renders_the_pages_made_with_it(session):
    site, settings_, state = session
    tag = (ROOT / "microsite/theme/templates/tag.html").read_text(encoding="utf-8")
    site.write("templates/tag.html", tag.replace("{% endblock %}", "<p class=probe>probe</p>{% endblock %}", 1))
    engine.rebuild(settings_, state, ["templates/tag.html"])
    assert set(state.last.rewritten) == {f"tags/{t}/index.html" for t in ("film", "landing", "soyuz")}
    assert set(state.last.rewritten.values()) == {CONTENT}


def test_a_deleted_article_leaves_no_folder_behind(session):
    site, settings_, state = session
    (site.source / "content/articles/the-film.md").unlink()
    engine.rebuild(settings_, state, ["content/articles/the-film.md"])
    assert not (site.output / "articles/the-film").exists()
    assert not (site.output / "tags/film").exists()
    assert "articles/the-film/index.html" in state.last.removed


def test_an_early_rebuild_does_a_body_edit_and_leaves_anything_else_for_later(session):
    site, settings_, state = session
    before = tree(site.output)
    site.write("content/articles/launch.md", article("The launch, renamed", "2021-10-05", "Up.", tags="[soyuz]", crew="[peresild]"))
    assert engine.rebuild(settings_, state, ["content/articles/launch.md"], early=True) is None
    assert tree(site.output) == before
    site.write("content/articles/launch.md", article("The launch", "2021-10-05", "Up they went.", tags="[soyuz]", crew="[peresild]"))
    assert engine.rebuild(settings_, state, ["content/articles/launch.md"], early=True) is not None
    assert "Up they went." in (site.output / "articles/launch/index.html").read_text(encoding="utf-8")
    engine.rebuild(settings_, state, ["content/articles/launch.md"])
    assert state.last.rendered == 0 and state.last.rewritten == {}


def test_a_failed_rebuild_keeps_the_state_and_the_next_one_picks_up_the_fix(session):
    site, settings_, state = session
    path = site.source / "content/articles/launch.md"
    good = path.read_text(encoding="utf-8")
    before = tree(site.output)
    path.write_text(good.replace("title: The launch", "title: [broken"), encoding="utf-8")
    with pytest.raises(BuildFailed) as failed:
        engine.rebuild(settings_, state, ["content/articles/launch.md"])
    assert failed.value.errors[0].path == "content/articles/launch.md"
    assert tree(site.output) == before
    path.write_text(good.replace("Up they go.", "Fixed."), encoding="utf-8")
    engine.rebuild(settings_, state, ["content/articles/launch.md"])
    assert "Fixed." in (site.output / "articles/launch/index.html").read_text(encoding="utf-8")


def _article(slug: str, when: dt.datetime, tags: list[str], crew: list[str], events: list[str]) -> Article:
    return Article(source=f"content/articles/{slug}.md", slug=slug, title=slug, date=when, updated=None, summary="",
                   tags=tuple(tags), crew=tuple(crew), draft=False, image=None, image_alt=None, body="", toc=(), words=0,
                   events=tuple(events))


def test_related_articles_kept_across_edits_equal_those_ranked_afresh():
    rnd = random.Random(5)
    base = dt.datetime(2021, 10, 1, tzinfo=dt.timezone.utc)
    tags, crew, events = ["a", "b", "c", "d", "e"], ["x", "y", "z"], ["e1", "e2"]

    def make(n: int) -> Article:
        return _article(f"a{n:03d}", base + dt.timedelta(hours=rnd.choice([0, 1, 5, 24, 48]) * rnd.randint(0, 9)),
                        rnd.sample(tags, rnd.randint(0, 3)), rnd.sample(crew, rnd.randint(0, 2)), rnd.sample(events, rnd.randint(0, 1)))

    articles = {n: make(n) for n in range(60)}
    kept = related.Related()
    for step in range(40):
        choice = rnd.random()
        if choice < 0.5:  # an edit: new features or a new date
            n = rnd.choice(list(articles))
            articles[n] = make(n)
        elif choice < 0.75:
            articles[100 + step] = make(100 + step)
        elif len(articles) > 2:
            del articles[rnd.choice(list(articles))]
        current = sorted(articles.values(), key=lambda a: (a.date, a.slug), reverse=True)
        assert kept.of(current) == related.related_all(current), f"step {step}"


def test_a_crew_rename_converts_only_the_bodies_that_mention_the_member_or_hold_the_new_name(session):
    site, settings_, state = session
    site.write("content/articles/the-film.md", article("The film", "2023-04-20T10:00:00+03:00", "Directed by Klim S.", tags="[film]"))
    site.write("content/articles/landing.md", article("The landing", "2021-10-17T09:00:00Z", "Home again, says Klim Shipenko.",
                                                      tags="[landing, soyuz]", crew="[peresild, shipenko, novitsky]"))
    engine.rebuild(settings_, state, ["content/articles/the-film.md", "content/articles/landing.md"])
    before = dict(state.records.converted)
    site.write("content/mission.yaml", MISSION_YAML.replace("name: Klim Shipenko", "name: Klim S."))
    engine.rebuild(settings_, state, ["content/mission.yaml"])
    after = state.records.converted
    assert after["content/articles/landing.md"] is not before["content/articles/landing.md"], "mentioned him by his old name"
    assert after["content/articles/the-film.md"] is not before["content/articles/the-film.md"], "holds his new name"
    assert after["content/articles/launch.md"] is before["content/articles/launch.md"], "mentions nobody renamed"
    link = site.page("articles/the-film/index.html").find("a", class_="mention")
    assert link is not None and link.get_text() == "Klim S."
    assert site.page("articles/landing/index.html").find("a", class_="mention") is None


@pytest.mark.parametrize("path, kind", [
    ("content/articles/launch.md", Kind.ARTICLE),
    ("content/articles/2021/deep.md", Kind.ARTICLE),
    ("content/articles/photo.JPG", Kind.IMAGE),
    ("content/articles/diagram.svg", Kind.IMAGE),
    ("content/articles/2021", Kind.OTHER),
    ("content/mission.yaml", Kind.MISSION),
    ("content/site.yaml", Kind.SITE),
    ("content/notes.txt", Kind.OTHER),
    ("content", Kind.OTHER),
    ("templates/tag.html", Kind.TEMPLATE),
    ("templates", Kind.TEMPLATE),
    ("static/style.css", Kind.STYLESHEET),
    ("static/search.js", Kind.STYLESHEET),
    ("static/favicon.svg", Kind.STATIC),
    ("static/share.png", Kind.IMAGE),
    ("static/fonts", Kind.IMAGE),
    (str(engine.BUNDLED / "templates/base.html"), Kind.TEMPLATE),
    (str(engine.BUNDLED / "static/style.css"), Kind.STYLESHEET),
    ("/elsewhere/file.md", Kind.OTHER),
])
def test_each_changed_path_has_a_kind(path, kind):
    assert kind_of(path, engine.BUNDLED) is kind


def test_the_dependency_record_names_the_pages_each_source_feeds(session):
    site, settings_, state = session
    reading = lambda key: {path for path, reads in state.reads.items() if any(k == key for k, _ in reads)}  # noqa: E731
    fed = reading("content/articles/the-film.md")
    assert "articles/the-film/index.html" in fed and "tags/film/index.html" in fed
    assert "mission/index.html" not in fed
    assert "crew/index.html" in reading("crew:novitsky")
    base = (ROOT / "microsite/theme/templates/base.html").read_text(encoding="utf-8")
    site.write("templates/base.html", base.replace("</footer>", "<!-- probe --></footer>", 1))
    engine.rebuild(settings_, state, ["templates/base.html"])
    html = {path for path in state.pages if path.endswith(".html")}
    assert set(state.last.rewritten) == html and state.last.rendered == len(html)


def _other(value):
    """A different value of the same kind, for any field of an article."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7
    if isinstance(value, str) or value is None:
        return f"{value or ''} changed"
    if isinstance(value, tuple):
        return value + (value[0],) if value else ("changed",)
    if isinstance(value, Html):
        return Html(str(value) + "<p>changed</p>")
    return {"changed": 1}


def test_planning_reads_no_field_outside_plan_fields(site):
    """A rebuild after an edit of other fields keeps the last plan; planning again must give
    every page a context of the same shape, whatever field changed."""
    built = engine.load_site(Settings(source=site.source, output=site.output))
    before = {page.path: page for page in render.plan(built)}
    names = {f.name for f in dataclasses.fields(Article)} | {n for n in dir(Article) if isinstance(getattr(Article, n), property)}
    assert names - render.PLAN_FIELDS >= {"body", "toc", "words", "summary", "image"}
    for name in sorted(names - render.PLAN_FIELDS):
        for index in range(len(built.articles)):
            article = built.articles[index]
            edited = dataclasses.replace(article, **{name: _other(getattr(article, name))})
            site_ = dataclasses.replace(built, articles=built.articles[:index] + (edited,) + built.articles[index + 1:])
            after = render.plan(site_)
            assert [page.path for page in after] == list(before), name
            assert all(deps.same_shape(before[page.path].context, page.context) for page in after), name
