"""Rebuilds in a watch session's memory: an edit rewrites the pages made from what changed and no
others, nothing changed renders nothing, and random edits of lists longer than a page leave the
output a clean build makes (the walk through every kind of edit is test_identity.py's)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, article
from microsite import engine
from microsite.errors import BuildFailed
from microsite.rebuild.state import ASSETS, CONTENT, State
from microsite.model import Settings
from microsite.output.write import MARKER, Transaction, discard_spare, spare_folder


def tree(folder: Path) -> dict[str, bytes]:
    """Every file of a folder by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def sources(source: Path, output: Path) -> dict[str, bytes]:
    """Every file of a site's sources by path relative to the source folder, its output left out."""
    return {p.relative_to(source).as_posix(): p.read_bytes() for p in sorted(source.rglob("*"))
            if p.is_file() and output not in p.parents}


def clean_build(source: Path, into: Path) -> dict[str, bytes] | None:
    """Build from scratch into a fresh folder; None when the sources do not build."""
    shutil.rmtree(into, ignore_errors=True)
    try:
        engine.build(Settings(source=source, output=into))
    except BuildFailed:
        return None
    return tree(into)


class Editor:
    """Random edits of the kinds authors make, applied to a site folder on disk."""

    def __init__(self, source: Path, rnd: random.Random, years: tuple[str, ...] = ("2019", "2021", "2022", "2024")):
        self.source, self.rnd, self.count = source, rnd, 0
        self.articles = source / "content" / "articles"
        self.years = years

    def existing(self) -> list[Path]:
        return sorted(self.articles.glob("*.md"))

    def pick(self) -> Path:
        return self.rnd.choice(self.existing())

    def edit_body(self) -> str:
        path = self.pick()
        path.write_text(path.read_text(encoding="utf-8") + f"\nA new paragraph {self.rnd.random()}.\n", encoding="utf-8")
        return f"body of {path.name}"

    def edit_front(self) -> str:
        path = self.pick()
        text = path.read_text(encoding="utf-8")
        head, _, body = text.partition("\n---\n")
        lines = [l for l in head.split("\n") if not l.startswith(("title:", "date:", "tags:", "crew:", "draft:"))]
        year = self.rnd.choice(self.years)
        tags = self.rnd.sample(["soyuz", "film", "landing", "orbit", "crew life"], self.rnd.randint(0, 3))
        crew = self.rnd.sample(["peresild", "shipenko", "novitsky"], self.rnd.randint(0, 2))
        lines += [f"title: Title {self.rnd.randint(0, 999)}", f"date: {year}-0{self.rnd.randint(1, 9)}-1{self.rnd.randint(0, 9)}",
                  f"tags: [{', '.join(tags)}]", f"crew: [{', '.join(crew)}]"]
        if self.rnd.random() < 0.2:
            lines.append("draft: true")
        path.write_text("\n".join(lines) + "\n---\n" + body, encoding="utf-8")
        return f"front matter of {path.name}"

    def add(self) -> str:
        self.count += 1
        name = f"added-{self.count}-{self.rnd.randint(0, 99)}.md"
        (self.articles / name).write_text(article(f"Added {self.count}", f"2021-10-{self.rnd.randint(10, 28)}",
                                                  "New text.", tags="[soyuz, new]", crew="[shipenko]"), encoding="utf-8")
        return f"add {name}"

    def rename(self) -> str:
        path = self.pick()
        self.count += 1
        target = path.with_name(f"renamed-{self.count}.md")
        path.rename(target)
        return f"rename {path.name} -> {target.name}"

    def delete(self) -> str:
        if len(self.existing()) < 2:
            return self.add()
        path = self.pick()
        path.unlink()
        return f"delete {path.name}"

    def mission(self) -> str:
        path = self.source / "content" / "mission.yaml"
        text = path.read_text(encoding="utf-8")
        choice = self.rnd.randrange(3)
        if choice == 0:
            text = text.replace("bio: Lead actress.", f"bio: Lead actress, take {self.rnd.randint(0, 99)}.")
            text = text.replace("bio: Lead actress, take", "bio: Lead actress, take", 1)
        elif choice == 1:
            text = text.replace("    value: 5 October 2021", f"    value: 5 October 2021 ({self.rnd.randint(0, 99)})", 1)
        else:
            text = text.replace("  title: The Challenge", f"  title: The Challenge {self.rnd.randint(0, 9)}")
        path.write_text(text, encoding="utf-8")
        return "mission.yaml"

    def template(self) -> str:
        folder = self.source / "templates"
        folder.mkdir(exist_ok=True)
        name = self.rnd.choice(["base.html", "_macros.html", "article.html", "tag.html"])
        target = folder / name
        if target.exists() and self.rnd.random() < 0.4:
            target.unlink()
            return f"remove template override {name}"
        text = (ROOT / "microsite/theme/templates" / name).read_text(encoding="utf-8")
        marker = f"<!-- variant {self.rnd.randint(0, 999)} -->"
        text = text.replace("{% endblock %}", "{% endblock %}" + marker, 1) if "endblock" in text and name != "base.html" else text + marker
        if name == "_macros.html":
            text = text.replace("{% endmacro %}", marker + "{% endmacro %}", 1)
        target.write_text(text, encoding="utf-8")
        return f"template {name}"

    def static(self) -> str:
        folder = self.source / "static"
        folder.mkdir(exist_ok=True)
        if self.rnd.random() < 0.5:
            css = (ROOT / "microsite/theme/static" / "style.css").read_text(encoding="utf-8")
            (folder / "style.css").write_text(css + f"\n/* {self.rnd.randint(0, 999)} */\n", encoding="utf-8")
            return "static style.css"
        notes = sorted(folder.glob("note-*.txt"))
        if notes and self.rnd.random() < 0.3:
            notes[0].unlink()
            return f"delete static {notes[0].name}"
        (folder / f"note-{self.rnd.randint(0, 3)}.txt").write_text(str(self.rnd.random()), encoding="utf-8")
        return "static file"

    def site(self) -> str:
        path = self.source / "content" / "site.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("Test Orbit", f"Test Orbit {self.rnd.randint(0, 9)}"), encoding="utf-8")
        return "site.yaml"

    def break_article(self) -> str:
        path = self.pick()
        path.write_text(path.read_text(encoding="utf-8").replace("---\n", "", 1).replace("title:", "title: [unclosed", 1), encoding="utf-8")
        return f"break {path.name}"

    def fix(self) -> str:
        for path in self.existing():
            if not path.read_text(encoding="utf-8").startswith("---\n"):
                path.write_text(article(f"Fixed {path.stem}", "2021-10-12", "Fixed."), encoding="utf-8")
        return "fix broken articles"

    EDITS = ["edit_body", "edit_body", "edit_front", "add", "rename", "delete", "mission", "template", "static", "site", "break_article"]

    def random_edit(self) -> str:
        done = getattr(self, self.rnd.choice(self.EDITS))()
        if not done.startswith("break") and self.rnd.random() < 0.7:
            done += "; " + self.fix()
        return done


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_edit_sequences_match_a_clean_build(site, tmp_path, seed):
    random_edits(site, tmp_path, Editor(site.source, random.Random(seed)))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4, 5])
def test_random_edits_to_lists_longer_than_a_page_match_a_clean_build(site, tmp_path, seed):
    """Two articles a page: an added, removed, re-dated or retagged article moves others across
    the pages of every list it is in; some dates are in the future, held back."""
    path = site.source / "content/site.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "per_page: 2\n", encoding="utf-8")
    for n in range(4):
        site.write(f"content/articles/more-{n}.md", article(f"More {n}", f"2021-10-0{n + 1}", "More.", tags="[soyuz, more]", crew="[peresild]"))
    random_edits(site, tmp_path, Editor(site.source, random.Random(seed), years=("2019", "2021", "2022", "2999")))


def random_edits(site, tmp_path: Path, editor: Editor) -> None:
    """Build in one session after each of a series of random edits, from the paths each changed;
    each time, the output must equal a clean build's, or both must fail."""
    settings = Settings(source=site.source, output=site.output)
    memo = State()
    engine.rebuild(settings, memo)
    history = []
    for step in range(14):
        was = sources(site.source, site.output)
        history.append(editor.random_edit())
        now = sources(site.source, site.output)
        changed = sorted(rel for rel in was.keys() | now.keys() if was.get(rel) != now.get(rel))  # as watch names them
        expected = clean_build(site.source, tmp_path / "clean")
        before = tree(site.output)
        try:
            engine.rebuild(settings, memo, changed)
        except BuildFailed:
            assert expected is None, f"incremental build failed, clean build did not; edits: {history}"
            assert tree(site.output) == before, "a failed rebuild leaves the output as it was"
            continue
        assert expected is not None, f"clean build failed, incremental did not; edits: {history}"
        got = tree(site.output)
        assert sorted(got) == sorted(expected), f"file lists differ after {history}"
        differing = [rel for rel in got if got[rel] != expected[rel]]
        assert differing == [], f"bytes differ after {history}"


def test_one_article_body_edit_rewrites_only_the_pages_showing_it(site):
    settings = Settings(source=site.source, output=site.output)
    memo = State()
    engine.rebuild(settings, memo)
    path = site.source / "content/articles/launch.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Up they go.", "Up they go, at last."), encoding="utf-8")
    engine.rebuild(settings, memo)
    rewritten = set(memo.last.rewritten)
    assert "articles/launch/index.html" in rewritten
    assert "Up they go, at last." in (site.output / "articles/launch/index.html").read_text(encoding="utf-8")
    may_show_it = {"articles/launch/index.html", "index.html", "feed.xml", "sitemap.xml", "tags/soyuz/index.html",
                   "crew/peresild/index.html", "articles/landing/index.html", "articles/the-film/index.html",
                   "search/index.html", "articles/2021/index.html", "feed.json", "tags/soyuz/feed.xml", "crew/peresild/feed.xml"}
    # the search index holds the article's words, so some of its files change with them
    assert {p for p in rewritten if not p.startswith("pagefind/")} <= may_show_it
    assert memo.last.rendered <= len(may_show_it), "pages that do not show the article are carried over, not rendered"
    assert set(memo.last.rewritten.values()) == {CONTENT}


def test_nothing_changed_renders_nothing_and_keeps_every_file(site):
    settings = Settings(source=site.source, output=site.output)
    memo = State()
    engine.rebuild(settings, memo)
    inodes = {rel: (site.output / rel).stat().st_ino for rel in tree(site.output) if rel != MARKER}
    engine.rebuild(settings, memo)
    assert memo.last.rendered == 0 and memo.last.rewritten == {}
    assert {rel: (site.output / rel).stat().st_ino for rel in tree(site.output) if rel != MARKER} == inodes


def test_crew_edit_rewrites_the_member_pages_not_unrelated_ones(site):
    settings = Settings(source=site.source, output=site.output)
    memo = State()
    engine.rebuild(settings, memo)
    path = site.source / "content/mission.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("bio: Director and camera.", "bio: Director, camera and editor."), encoding="utf-8")
    engine.rebuild(settings, memo)
    rewritten = set(memo.last.rewritten)
    assert "crew/index.html" in rewritten
    assert "articles/the-film/index.html" not in rewritten, "an article without that crew member is untouched"
    assert "tags/film/index.html" not in rewritten


def test_template_edit_rewrites_pages_using_it_and_stylesheet_edit_is_an_asset_change(site):
    settings = Settings(source=site.source, output=site.output)
    memo = State()
    engine.rebuild(settings, memo)
    (site.source / "templates").mkdir()
    tag = (ROOT / "microsite/theme/templates/tag.html").read_text(encoding="utf-8")
    (site.source / "templates/tag.html").write_text(tag.replace("{% endblock %}", "<p class=probe>probe</p>{% endblock %}", 1), encoding="utf-8")
    engine.rebuild(settings, memo)
    assert set(memo.last.rewritten) == {f"tags/{t}/index.html" for t in ("film", "landing", "soyuz")}
    (site.source / "static").mkdir()
    css = (ROOT / "microsite/theme/static/style.css").read_text(encoding="utf-8")
    (site.source / "static/style.css").write_text(css + "\nbody { outline: 0 }\n", encoding="utf-8")
    engine.rebuild(settings, memo)
    assert len(memo.last.stylesheets) == 1
    pages = {rel: kind for rel, kind in memo.last.rewritten.items() if rel.endswith(".html")}
    assert pages and set(pages.values()) == {ASSETS}


def test_a_reused_staging_folder_never_touches_the_live_output(tmp_path):
    out = tmp_path / "out"
    with Transaction(out, reuse=True) as tx:
        tx.write("a", b"file a")
        tx.write("b/index.html", b"page b")
        tx.write("c/d/e.txt", b"deep")
        tx.write("same.txt", b"same")
    with Transaction(out, reuse=True) as tx:
        tx.write("x", b"only x")
        tx.write("same.txt", b"same")
    assert spare_folder(out).is_dir()
    live = tree(out)
    with Transaction(out, reuse=True) as tx:
        tx.write("a/index.html", b"a became a folder")
        tx.write("b", b"b became a file")
        tx.write("same.txt", b"same")
        assert tx.keep("x")
        assert tree(out) == live, "the live output is untouched until the swap"
    got = tree(out)
    del got[MARKER]
    assert got == {"a/index.html": b"a became a folder", "b": b"b became a file", "same.txt": b"same", "x": b"only x"}
    assert not (out / "c").exists()
    discard_spare(out)
    assert not spare_folder(out).exists()


def test_a_killed_sessions_spare_folder_is_cleared_by_the_next_build(site):
    import subprocess
    import sys

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(finished.stdout)
    stale = site.source / f".output.staging-{dead}.spare"
    (stale / "articles").mkdir(parents=True)
    (stale / "articles/old.html").write_text("old", encoding="utf-8")
    settings = Settings(source=site.source, output=site.output)
    memo = State()
    engine.rebuild(settings, memo)
    assert not stale.exists()
    engine.rebuild(settings, memo)
    assert spare_folder(site.output).is_dir(), "this session's own spare folder stays between its builds"
    discard_spare(site.output)
