"""A rebuild after body edits alone renders only the pages that read those bodies, and its output
is still byte-identical to a clean build's; any other edit takes the full build."""

from __future__ import annotations

import gzip
import json
import os
import random

import pytest

from conftest import ROOT, article
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


def test_a_page_whose_template_reads_other_articles_lengths_is_rendered_again(site, tmp_path):
    """Which pages read a body is learnt from rendering, not assumed: a home page that prints every
    article's word count is rendered again when any body changes."""
    home = (ROOT / "microsite/theme/templates" / "home.html").read_text(encoding="utf-8")
    marker = "{% block main %}"
    assert marker in home
    site.write("templates/home.html", home.replace(
        marker, marker + '<p class="lengths">{% for a in articles %}{{ a.slug }}={{ a.words }} {% endfor %}</p>', 1))
    site.build()
    before = stamps(site.output)
    append(site, "content/articles/the-film.md", "\nThree more words.\n")
    assert QUICK in site.build().out
    assert "index.html" in rewritten(before, stamps(site.output))
    assert "the-film=" in site.page("index.html").select_one(".lengths").text
    assert_same_as_clean(site, tmp_path)


def test_random_body_and_other_edits_match_a_clean_build(site, tmp_path):
    rnd = random.Random(11)
    names = ["landing", "launch", "the-film"]
    site.build()
    original = (site.source / "content/articles/launch.md").read_text(encoding="utf-8")
    quick = 0
    history = []
    for step in range(12):
        kind = rnd.choice(["body", "body", "body", "two bodies", "title", "template", "revert"])
        if kind == "body":
            name = rnd.choice(names)
            append(site, f"content/articles/{name}.md", f"\nParagraph {step} of {name}, {rnd.random()}.\n")
        elif kind == "two bodies":
            for name in rnd.sample(names, 2):
                append(site, f"content/articles/{name}.md", f"\nAlso {step}.\n")
        elif kind == "title":
            path = site.source / "content/articles/the-film.md"
            path.write_text(path.read_text(encoding="utf-8").replace("title: The film", f"title: The film {step}", 1)
                            .replace(f"title: The film {step - 1}", f"title: The film {step}", 1), encoding="utf-8")
        elif kind == "template":
            text = (ROOT / "microsite/theme/templates" / "article.html").read_text(encoding="utf-8")
            site.write("templates/article.html", text.replace('<div class="prose">', f'<div class="prose" data-step="{step}">'))
        else:  # back to the text of the first build, whose pages' records the cache still holds
            site.write("content/articles/launch.md", original)
        history.append(kind)
        result = site.build()
        quick += " edited article bod" in result.out
        built = tree(site.output)
        clean = __import__("test_cache").clean_build(site, tmp_path)
        assert sorted(built) == sorted(clean), history
        assert [p for p in built if built[p] != clean[p]] == [], history
    assert quick >= 3, "body edits take the quick path"


def _front(site):
    path = site.source / "content/articles/launch.md"
    path.write_text(path.read_text().replace("title: The launch", "title: The launch, again") + "\nMore.\n")


def _image(site):
    (site.source / "content/articles/pad.png").write_bytes((ROOT / "microsite/theme/static" / "share.png").read_bytes()) \
        if (ROOT / "microsite/theme/static" / "share.png").exists() else None
    append(site, "content/articles/launch.md", "\n![The pad](/static/share.png)\n")


def _reference(site):
    append(site, "content/articles/launch.md", "\nSee [[article:landing|the landing]].\n")


def _mention(site):
    append(site, "content/articles/the-film.md", "\nKlim Shipenko directed it.\n")


def _added_file(site):
    append(site, "content/articles/launch.md", "\nMore.\n")
    site.write("content/articles/docking.md", article("The docking", "2021-10-05T12:22:00Z", "Docked."))


def _heading(site):
    append(site, "content/articles/the-film.md", "\n## Reviews\n\nMixed.\n")


def _draft_only(site):
    site.write("content/articles/secret.md", article("A secret", "2021-10-10", "Not yet.", draft="true"))
    site.build()
    append(site, "content/articles/secret.md", "\nStill not.\n")


FULL = [_front, _image, _reference, _mention, _added_file, _draft_only]


@pytest.mark.parametrize("edit", FULL, ids=[e.__name__.strip("_") for e in FULL])
def test_edits_beyond_a_body_take_the_full_build(site, tmp_path, edit):
    site.build()
    edit(site)
    result = site.build()
    assert "edited article bod" not in result.out
    assert_same_as_clean(site, tmp_path)


def test_a_new_heading_is_quick_unless_an_article_links_to_headings(site, tmp_path):
    site.build()
    _heading(site)
    assert QUICK in site.build().out
    assert_same_as_clean(site, tmp_path)
    append(site, "content/articles/landing.md", "\nSee [[article:the-film#release|the release]].\n")
    site.build()
    append(site, "content/articles/the-film.md", "\n## Box office\n\nModest.\n")
    assert "edited article bod" not in site.build().out
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


def test_shard_mirrors_follow_the_shards_as_the_site_grows(site, tmp_path):
    """Each shard's page mirror is kept between quick rebuilds; when articles are added and the
    pages move between shards, the next quick rebuild mirrors the shard as it is now."""
    from conftest import SITE_YAML

    site.write("content/site.yaml", SITE_YAML + "search_shard_pages: 2\n")
    site.build()
    append(site, "content/articles/launch.md", "\nFirst quick edit.\n")
    assert QUICK in site.build().out
    assert_same_as_clean(site, tmp_path)
    for number in range(6):
        site.write(f"content/articles/extra-{number}.md", article(f"Extra {number}", f"2021-10-1{number}", f"Extra text {number}."))
    assert "edited article bod" not in site.build().out
    for name in ("launch", "extra-3", "landing"):
        append(site, f"content/articles/{name}.md", f"\nAnother quick edit of {name}.\n")
        assert QUICK in site.build().out
        assert_same_as_clean(site, tmp_path)
