"""Articles in subfolders of content/articles/: published at /articles/<slug>/ like the others, with
their images, through a cold build, a cached rebuild and watch alike."""

from __future__ import annotations

import os

import pytest

from conftest import article, broken_links, run_build
from live import Running, settle, wait_for
from test_cache import assert_same_as_clean, tree
from test_delta import QUICK, append
from test_output_quality import make_image

NESTED = "content/articles/2021/october/docking.md"


def _nested(site) -> None:
    make_image(site.source / "content/articles/2021/october/hatch.png", (900, 600))
    site.write(NESTED, article("The docking", "2021-10-05T12:22:00Z", "Docked by hand.\n\n![The open hatch](hatch.png)",
                               image="hatch.png", image_alt="The hatch", tags="[soyuz]", crew="[novitsky]"))


def test_an_article_in_a_subfolder_is_published_under_its_slug_with_its_images(site):
    _nested(site)
    site.build()
    # the source folders leave no trace in the output: articles/2021/ is that year's archive, nothing more
    assert sorted(p.relative_to(site.output).as_posix() for p in (site.output / "articles/2021").rglob("*")) == ["articles/2021/index.html"]
    page = site.page("articles/docking/index.html")
    assert page.select_one("h1").get_text(strip=True) == "The docking"
    sources = [img["src"] for img in page.select("main img")]
    assert len(sources) == 2 and all(src.startswith("/articles/docking/hatch-") for src in sources)
    assert all((site.output / src.lstrip("/")).is_file() for src in sources)
    assert (site.output / "articles/docking/hatch.png").is_file()
    listed = [a["href"] for a in site.page("tags/soyuz/index.html").select(".card-title a")]
    assert "/articles/docking/" in listed
    assert broken_links(site.output) == []


def test_a_slug_used_in_two_folders_is_an_error_at_both_files(site):
    site.build()
    before = tree(site.output)
    site.write("content/articles/2021/launch.md", article("Another launch", "2021-10-06", "Again."))
    site.write("content/articles/2022/landing.md", article("Another landing", "2022-03-30", "Again.", slug="landing"))
    result = site.build(expect=1)
    assert result.err.splitlines() == [
        "content/articles/2021/launch.md:2:1: slug 'launch' is also used by content/articles/launch.md:2:1; set a different 'slug:' in one of them",
        "content/articles/2022/landing.md:4:1: slug 'landing' is also used by content/articles/landing.md:2:1; set a different 'slug:' in one of them",
        "content/articles/landing.md:2:1: slug 'landing' is already used by content/articles/2022/landing.md:4:1; set a different 'slug:'",
        "content/articles/launch.md:2:1: slug 'launch' is already used by content/articles/2021/launch.md:2:1; set a different 'slug:'",
        "microsite: build failed with 4 problems; output left as it was",
    ]
    assert tree(site.output) == before


@pytest.mark.slow
def test_cached_rebuilds_of_a_subfolder_article_match_a_clean_build(site, tmp_path):
    _nested(site)
    site.build()
    append(site, NESTED, "\nA second paragraph about the *hatch*.\n")
    assert QUICK in site.build().out
    assert "hatch</em>" in str(site.page("articles/docking/index.html").select_one(".prose"))
    assert_same_as_clean(site, tmp_path)
    path = site.source / NESTED
    path.write_text(path.read_text(encoding="utf-8").replace("title: The docking", "title: The manual docking"), encoding="utf-8")
    assert QUICK not in site.build().out
    assert_same_as_clean(site, tmp_path)
    # moved to another folder: the same page, its image moved along
    (site.source / "content/articles/2022").mkdir()
    for name in ("docking.md", "hatch.png"):
        os.rename(site.source / "content/articles/2021/october" / name, site.source / "content/articles/2022" / name)
    site.build()
    assert site.page("articles/docking/index.html").select_one("h1").get_text(strip=True) == "The manual docking"
    assert_same_as_clean(site, tmp_path)


@pytest.mark.slow
def test_watch_sees_new_subfolders_and_edits_in_them(site, tmp_path):
    run = Running(site.source, quiet=0.3)
    try:
        before = settle(run.session)
        _nested(site)
        wait_for(lambda: (site.output / "articles/docking/index.html").is_file(), what="the new subfolder's article")
        settle(run.session)
        append(site, NESTED, "\nUndocking follows.\n")
        wait_for(lambda: "Undocking follows." in (site.output / "articles/docking/index.html").read_text(encoding="utf-8"),
                 what="the edit in the subfolder")
        settle(run.session)
        (site.source / NESTED).unlink()
        wait_for(lambda: not (site.output / "articles/docking").exists(), what="the deleted article gone")
        assert settle(run.session) > before
        assert "failed" not in run.out.getvalue()
        _nested(site)
        append(site, NESTED, "\nBack again.\n")
        wait_for(lambda: "Back again." in (site.output / "articles/docking/index.html").read_text(encoding="utf-8")
                 if (site.output / "articles/docking/index.html").is_file() else False, what="the article back")
        settle(run.session)
    finally:
        run.close()
    clean = tmp_path / "clean"
    run_build(site.capsys, ["--source", str(site.source), "--output", str(clean), "--jobs", "1"])
    assert tree(site.output) == tree(clean)
