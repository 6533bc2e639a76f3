"""Rebuilds in a watch session's memory: an edit rewrites the pages made from what changed and no
others, and nothing changed renders nothing. That random edits of every kind leave the output a
clean build makes is for the state machines of test_identity.py and test_rebuild.py."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT
from microsite import engine
from microsite.rebuild.state import ASSETS, CONTENT, State
from microsite.model import Settings
from microsite.output.write import MARKER, Transaction, discard_spare, spare_folder


def tree(folder: Path) -> dict[str, bytes]:
    """Every file of a folder by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


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
