"""A rebuild after body edits alone renders only the pages that read those bodies; a damaged record
or output, or a problem in the edited body, takes the full build (byte identity after every kind of
edit is test_identity.py's)."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from microsite.rebuild import cache
from test_cache import assert_same_as_clean, stamps, tree

QUICK = "from 1 edited article body"


def append(site, rel: str, text: str) -> None:
    path = site.source / rel
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def rewritten(before: dict, after: dict) -> set[str]:
    return {p for p in after if after[p] != before.get(p)} | (before.keys() - after.keys())


def test_a_body_edit_renders_only_the_pages_that_read_the_body(site, tmp_path):
    site.build()
    before = stamps(site.output)
    append(site, "content/articles/launch.md", "\nA second paragraph about the *launch pad*.\n")
    result = site.build()
    assert QUICK in result.out
    changed = rewritten(before, stamps(site.output))
    # the feeds carry the body: the site's, and those of the article's tag and crew member
    assert {p for p in changed if not p.startswith("pagefind/")} == {"articles/launch/index.html", "feed.xml", "feed.json",
                                                                     "tags/soyuz/feed.xml", "crew/peresild/feed.xml"}
    assert any(p.startswith("pagefind/") for p in changed), "the search index holds the new words"
    assert "launch pad" in site.page("articles/launch/index.html").text
    assert_same_as_clean(site, tmp_path)
    again = stamps(site.output)
    assert "(0 written," in site.build().out
    assert stamps(site.output) == again


def test_the_search_index_holds_the_new_words(site, tmp_path):
    site.build()
    append(site, "content/articles/launch.md", "\nThe word zygomorphic appears only here.\n")
    assert QUICK in site.build().out
    fragments = [gzip.decompress(p.read_bytes()) for p in (site.output / "pagefind").rglob("*.pf_fragment")]
    found = [json.loads(data[data.index(b"{"):]) for data in fragments if b"zygomorphic" in data]
    assert [f["url"] for f in found] == ["/articles/launch/"]
    assert_same_as_clean(site, tmp_path)


def test_a_problem_in_the_edited_body_is_reported_by_the_full_build(site, tmp_path):
    site.build()
    before = tree(site.output)
    append(site, "content/articles/launch.md", "\nSee [[crew:nobody]].\n")
    result = site.build(expect=1)
    assert "content/articles/launch.md:" in result.err and "unknown crew id 'nobody'" in result.err
    assert tree(site.output) == before


def test_an_output_changed_by_hand_takes_the_full_build(site, tmp_path):
    site.build()
    (site.output / "crew/index.html").write_text("changed by hand")
    append(site, "content/articles/launch.md", "\nMore.\n")
    assert "edited article bod" not in site.build().out
    assert_same_as_clean(site, tmp_path)


@pytest.mark.parametrize("loss", ["state", "bodies"])
def test_a_lost_or_damaged_cache_entry_takes_the_full_build(site, tmp_path, loss):
    site.build()
    for entry in sorted((site.source / cache.FOLDER / ("delta" if loss == "state" else "bodies")).rglob("*")):
        if entry.is_file():
            entry.write_bytes(entry.read_bytes()[:-5])
    append(site, "content/articles/launch.md", "\nMore.\n")
    result = site.build()
    if loss == "state":
        assert "edited article bod" not in result.out
    assert_same_as_clean(site, tmp_path)


def test_quick_rebuilds_in_a_row_keep_the_record_true(site, tmp_path):
    """Each quick rebuild leaves the record the next one starts from: edits pile up, and a
    no-change build afterwards finds the output exactly as recorded."""
    site.build()
    for step in range(4):
        append(site, "content/articles/landing.md", f"\nStep {step}.\n")
        os.utime(site.source / "content/articles/landing.md")
        assert QUICK in site.build().out
    before = stamps(site.output)
    assert "(0 written," in site.build().out
    assert stamps(site.output) == before
    assert_same_as_clean(site, tmp_path)
