"""Markdown links to other articles' files, written as they work on GitHub (`[x](../2021/launch.md#y)`),
become links to those articles' pages; a link to a missing file or heading fails at its place, and
every way of building follows the linked article's slug and headings."""

from __future__ import annotations

import pytest

from microsite.markdown import mentions

from conftest import article, broken_links, run_build
from live import Running, settle, wait_for
from test_cache import assert_same_as_clean, tree
from test_delta import QUICK, append

LINKING = "content/articles/2021/docking.md"
BODY = """\
Docked by hand after [the launch](../launch.md), long before [the release](../the-film.md#release).

Back home: see [the landing][home], or [a part of this page](docking.md#after-docking).

[home]: <../landing.md> "The landing"

## After docking

Written as `[code](nowhere.md)` it stays code; [the source](https://github.com/o/r/blob/main/launch.md) is elsewhere.
"""


def _linking(site, body: str = BODY) -> None:
    site.write(LINKING, article("The docking", "2021-10-05T12:22:00Z", body))


def prose_links(site, rel: str = "articles/docking/index.html") -> list[tuple[str, str]]:
    prose = site.page(rel).select_one(".prose")
    return [(a.get_text(), a["href"]) for a in prose.select("a") if not a.get("class")]


def check(site, *args: str, expect: int):
    return run_build(site.capsys, ["check", "--source", str(site.source), *args], expect)


@pytest.mark.parametrize("base", ["https://example.org/", "https://example.org/challenge/"])
def test_links_to_article_files_become_links_to_their_pages(site, base):
    _linking(site)
    site.write("content/site.yaml", (site.source / "content/site.yaml").read_text().replace("https://example.org/", base))
    site.build()
    prefix = base.removeprefix("https://example.org")
    assert prose_links(site) == [
        ("the launch", f"{prefix}articles/launch/"),
        ("the release", f"{prefix}articles/the-film/#release"),
        ("the landing", f"{prefix}articles/landing/"),
        ("a part of this page", f"{prefix}articles/docking/#after-docking"),
        ("the source", "https://github.com/o/r/blob/main/launch.md"),
    ]
    assert site.page("articles/docking/index.html").select_one(".prose code").get_text() == "[code](nowhere.md)"
    assert broken_links(site.output, prefix) == []
    check(site, "--strict", expect=0)


def test_links_to_missing_files_or_headings_fail_at_their_place(site):
    site.build()
    before = tree(site.output)
    site.write("content/articles/secret.md", article("A secret", "2021-10-10", "Not yet.", draft="true"))
    _linking(site, "Intro.\n\nSee [nothing](nothing.md), [the film](../the-film.md#box-office),\n"
                   "  [a secret](../secret.md) and [far](../../site.md).\n")
    expected = [
        "content/articles/2021/docking.md:8:15: no published article content/articles/2021/nothing.md for the link 'nothing.md'",
        "content/articles/2021/docking.md:8:39: content/articles/the-film.md has no heading #box-office (headings: release)",
        "content/articles/2021/docking.md:9:14: no published article content/articles/secret.md for the link '../secret.md'",
        "content/articles/2021/docking.md:9:38: no published article content/site.md for the link '../../site.md'",
    ]
    result = site.build(expect=1)
    assert result.err.splitlines() == [*expected, "microsite: build failed with 4 problems; output left as it was"]
    assert tree(site.output) == before
    # check reports them as warnings, which --strict turns into a failure, as for other broken links
    warned = [line.replace(": no published", ": warning: no published").replace(": content/articles/the-film.md has",
                                                                            ": warning: content/articles/the-film.md has")
              for line in expected]
    result = check(site, expect=0)
    assert result.err.splitlines() == warned
    assert result.out.strip() == "microsite: check passed with 4 warnings; nothing written"
    result = check(site, "--strict", expect=1)
    assert result.err.splitlines() == [*warned, "microsite: check failed with 4 warnings (--strict); nothing written"]
    site.build("--drafts", "--output", str(site.source / "drafts"), expect=1)
    assert "secret.md for the link" not in site.capsys.readouterr().err


def _rename_target(site) -> None:
    path = site.source / "content/articles/the-film.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: The film", "title: The film\nslug: premiere"), encoding="utf-8")


def _move_target(site) -> None:
    (site.source / "content/articles/2023").mkdir()
    (site.source / "content/articles/the-film.md").rename(site.source / "content/articles/2023/the-film.md")


def _drop_heading(site) -> None:
    path = site.source / "content/articles/the-film.md"
    path.write_text(path.read_text(encoding="utf-8").replace("## Release", "## Premiere"), encoding="utf-8")


def _edit_target_body(site) -> None:
    append(site, "content/articles/the-film.md", "\nIn cinemas across Russia.\n")


def _edit_linking_body(site) -> None:
    append(site, LINKING, "\nAnd see [the film again](../the-film.md#release).\n")


EDITS = [_rename_target, _move_target, _drop_heading, _edit_target_body, _edit_linking_body]


@pytest.mark.parametrize("edit", EDITS, ids=[e.__name__.strip("_") for e in EDITS])
def test_a_cached_rebuild_follows_the_linked_article_as_a_clean_build_does(site, tmp_path, edit):
    _linking(site)
    site.build()
    edit(site)
    clean = run_build(site.capsys, ["--source", str(site.source), "--output", str(tmp_path / "clean"), "--jobs", "1"], None)
    cached = site.build(expect=clean.status)
    if clean.status:
        assert cached.err == clean.err
        assert cached.err.startswith("content/articles/2021/docking.md:6:76: ")
    else:
        assert_same_as_clean(site, tmp_path)
    if edit is _edit_target_body:
        assert QUICK in cached.out, "a body edit keeping the headings stays quick"
    if edit is _rename_target:
        assert ("the release", "/articles/premiere/#release") in prose_links(site)


@pytest.mark.slow
def test_watch_follows_the_linked_article_as_a_clean_build_does(site, tmp_path):
    _linking(site)
    run = Running(site.source, quiet=0.3)
    try:
        before = settle(run.session)
        film = (site.output / "articles/the-film/index.html").read_bytes()
        _drop_heading(site)
        wait_for(lambda: run.session.builds > before and run.session.idle, what="the rebuild")
        settle(run.session)
        assert not run.session.last.ok
        assert [str(e) for e in run.session.last.errors] == [
            "content/articles/2021/docking.md:6:76: content/articles/the-film.md has no heading #release (headings: premiere)"]
        assert (site.output / "articles/the-film/index.html").read_bytes() == film, "the last good build stays whole"
        assert "saved: page" not in run.out.getvalue()
        path = site.source / "content/articles/the-film.md"
        path.write_text(path.read_text(encoding="utf-8").replace("## Premiere", "## Release").replace(
            "title: The film", "title: The film\nslug: premiere"), encoding="utf-8")
        wait_for(lambda: ("the release", "/articles/premiere/#release") in prose_links(site), what="the new slug in the link")
        settle(run.session)
        assert run.session.last.ok
    finally:
        run.close()
    clean = tmp_path / "clean"
    run_build(site.capsys, ["--source", str(site.source), "--output", str(clean), "--jobs", "1"])
    assert tree(site.output) == tree(clean)


@pytest.mark.parametrize("href", ["//[x", "http://[::1", "//]z", "[x]: http://z"])
def test_hrefs_that_are_no_urls_are_not_taken_for_file_links(href):
    assert mentions.file_link(href) is None
