"""The build cache: a build with nothing changed writes nothing, damage to the cache or to the
output is found and made good, and parallel conversion changes nothing that is published.

Builds here are compared, file by file and byte by byte, with a clean build of the same source made
in one process into a fresh folder with no cache; test_identity.py does so after every kind of edit.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from itertools import count
from pathlib import Path

import pytest

from conftest import ROOT, article, run_build

from microsite.rebuild import cache
from microsite.output.write import MARKER

spec = importlib.util.spec_from_file_location("corpus", ROOT / "bench" / "corpus.py")
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)

_clean = count()


def tree(folder: Path) -> dict[str, bytes]:
    """Every file of a built site by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """Inode and modification time of every file of the site (not the writer's own marker file):
    what tells whether a file was rewritten."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() and p.name != MARKER}


def clean_build(site, tmp_path: Path, *args: str) -> dict[str, bytes]:
    """Build the site's source afresh: one process, an empty output folder, no cache."""
    output = tmp_path / f"clean-{next(_clean)}" / "output"
    run_build(site.capsys, ["--source", str(site.source), "--output", str(output), "--jobs", "1", *args])
    assert not (output / cache.FOLDER).exists()
    return tree(output)


def assert_same_as_clean(site, tmp_path: Path, *args: str) -> None:
    built = tree(site.output)
    clean = clean_build(site, tmp_path, *args)
    assert sorted(built) == sorted(clean)
    assert [p for p in built if built[p] != clean[p]] == []


def records(site, kind: str = "articles") -> list[Path]:
    return sorted(p for p in (site.source / cache.FOLDER / kind).rglob("*") if p.is_file())


def body_keys(site) -> set[bytes]:
    """The keys of the converted bodies in the cache (kept in pack files, found through a directory)."""
    return set(cache.Store(site.source / cache.FOLDER).packs["bodies"].directory())


@pytest.fixture
def big_site(tmp_path: Path, capsys):
    """A generated site with enough articles to start worker processes."""
    from conftest import Site

    s = Site(tmp_path / "big", capsys)
    corpus.generate(s.source, 24, seed=7)
    return s


@pytest.mark.slow
def test_parallel_build_matches_single_process_build(big_site, tmp_path):
    big_site.build("--jobs", "2")
    index = cache.Index(cache.Store(big_site.source / cache.FOLDER), "articles", b"parsed articles")
    parsed = [raw for number in range(cache.BUCKETS) for raw in (index.store.get("articles", index.keys[number]) or {}).values()]
    assert sorted(raw.source for raw in parsed) == sorted(
        f"content/articles/{p.name}" for p in (big_site.source / "content/articles").glob("*.md"))
    assert len(body_keys(big_site)) == 24
    assert len([p for p in records(big_site, "bodies") if p.suffix == ".pack"]) == 1  # one file, not one per body
    assert len([p for p in (big_site.output / "articles").iterdir() if p.is_dir() and not p.name.isdigit()]) == 24  # besides the years
    assert_same_as_clean(big_site, tmp_path)


def test_cached_rebuild_is_identical_and_rewrites_nothing(site, tmp_path):
    site.build()
    before = stamps(site.output)
    result = site.build()
    assert stamps(site.output) == before
    assert "(0 written," in result.out
    assert_same_as_clean(site, tmp_path)


def _edit_body(site):
    path = site.source / "content/articles/launch.md"
    path.write_text(path.read_text() + "\nA second paragraph with *emphasis*.\n")


def _edit_title(site):
    path = site.source / "content/articles/launch.md"
    path.write_text(path.read_text().replace("title: The launch", "title: The launch from Baikonur"))


def _override_template(site):
    text = (ROOT / "microsite/theme/templates" / "article.html").read_text()
    site.write("templates/article.html", text.replace('<div class="prose">', '<div class="prose" data-edited="yes">'))


def test_article_edit_rewrites_only_pages_that_show_it(site):
    site.build()
    before = stamps(site.output)
    _edit_body(site)
    site.build()
    after = stamps(site.output)
    rewritten = sorted(p for p in after if after[p] != before.get(p))
    assert "articles/launch/index.html" in rewritten
    assert "feed.xml" in rewritten  # the feed carries the body
    assert not {"index.html", "crew/index.html", "mission/index.html", "tags/index.html"} & set(rewritten)


def test_an_edit_that_keeps_size_and_time_is_seen(site, tmp_path):
    """Unchanged files are not read again, by their size, times and inode; an editor or tool that
    puts the old modification time back still changes the inode's change time."""
    path = site.source / "content/articles/launch.md"
    old = path.stat()
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns - 10**10))  # old enough to be trusted unread
    site.build()
    before = path.stat()
    path.write_text(path.read_text().replace("Up they go.", "Off they go"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    site.build()
    assert "Off they go" in site.page("articles/launch/index.html").text
    assert_same_as_clean(site, tmp_path)


def test_template_edit_reuses_converted_markdown(site, tmp_path):
    site.build()
    converted = {p: p.stat().st_mtime_ns for p in records(site, "bodies")}
    _override_template(site)
    site.build()
    assert {p: p.stat().st_mtime_ns for p in records(site, "bodies")} == converted
    assert site.page("articles/launch/index.html").find("div", class_="prose")["data-edited"] == "yes"
    assert_same_as_clean(site, tmp_path)


def entries(site) -> list[tuple[str, Path]]:
    """Every entry of the cache with its kind (the spare output folder holds pages, not entries)."""
    root = site.source / cache.FOLDER
    return sorted((p.relative_to(root).parts[0], p) for p in root.rglob("*")
                  if p.is_file() and p.name not in ("CACHEDIR.TAG", ".gitignore") and p.relative_to(root).parts[0] != "spare")


def test_damaged_spare_output_never_reaches_the_site(site, tmp_path):
    site.build()
    site.write("content/articles/launch.md", article("Launch day", body="The first version."))
    site.build()
    spare = [p for p in (site.source / cache.FOLDER / "spare").rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in spare)  # the output before last, kept to stage the next build in
    for path in spare:  # a new file in place of each: damage the site's own files do not share
        path.unlink()
        path.write_bytes(b"damaged")
    site.write("content/articles/launch.md", article("Launch day", body="The second version."))
    site.build()
    assert "damaged" not in {p.read_text(errors="replace") for p in site.output.rglob("*") if p.is_file()}
    assert_same_as_clean(site, tmp_path)


@pytest.mark.parametrize("damage", [pytest.param("truncate", marks=pytest.mark.slow), "flip",
                                    pytest.param("empty", marks=pytest.mark.slow), pytest.param("garbage", marks=pytest.mark.slow)])
def test_damaged_cache_entries_are_detected_and_rebuilt(site, tmp_path, damage):
    site.build()
    assert {kind for kind, _ in entries(site)} == {"articles", "bodies", "cards", "delta", "outlines", "pages", "search"}
    for _, entry in entries(site):
        data = entry.read_bytes()
        if damage == "truncate":
            entry.write_bytes(data[: len(data) // 2])
        elif damage == "flip":
            # Same length, still a loadable pickle where the text occurs: only the checksum can tell.
            entry.write_bytes(data.replace(b"Home again.", b"Hxme again.").replace(b"launch", b"lxunch"))
        elif damage == "empty":
            entry.write_bytes(b"")
        else:
            entry.write_bytes(os.urandom(len(data)))
    _override_template(site)  # every article page is rendered again, so every body is needed
    site.build()
    assert "Hxme" not in (site.output / "articles/landing/index.html").read_text()
    assert_same_as_clean(site, tmp_path)
    store = cache.Store(site.source / cache.FOLDER)
    for kind, entry in entries(site):  # each damaged entry was replaced by a good one
        if kind not in cache.PACKED:
            assert store.get(kind, bytes.fromhex(entry.name)) is not None, entry
    assert len(body_keys(site)) == len(list((site.source / "content/articles").glob("*.md")))
    assert all(store.get("bodies", key) is not None for key in body_keys(site))


@pytest.mark.parametrize("loss", ["deleted", pytest.param("damaged", marks=pytest.mark.slow)])
def test_lost_bodies_are_converted_again_when_a_page_prints_them(site, tmp_path, loss):
    """Outlines intact, bodies gone: the build knows every article without its HTML, and fetches it
    only for the pages that print it, so the loss shows only then, and is made good."""
    site.build()
    for entry in records(site, "bodies"):
        if loss == "deleted":
            entry.unlink()
        else:
            entry.write_bytes(entry.read_bytes().replace(b"Home again.", b"Hxme again."))
    _override_template(site)  # every article page is rendered again, so every body is fetched
    site.build()
    assert "Hxme" not in (site.output / "articles/landing/index.html").read_text()
    assert_same_as_clean(site, tmp_path)
    store = cache.Store(site.source / cache.FOLDER)
    assert len(body_keys(site)) == len(list((site.source / "content/articles").glob("*.md")))
    assert all(store.get("bodies", key) is not None for key in body_keys(site))


def test_a_body_saved_again_mid_build_is_reported_not_published(site, tmp_path):
    """A body whose entry is lost is read again from its file; when that file no longer holds the
    text the build checked, the build fails naming it, and the published site stays as it was."""
    site.build()
    for entry in records(site, "bodies"):
        entry.unlink()
    _override_template(site)
    before = tree(site.output)
    path = site.source / "content/articles/launch.md"
    text = path.read_text()
    calls = count()
    original = cache.Store.get

    def get(store, kind, key):  # the moment the first body is fetched, the author saves again
        if kind == "bodies" and next(calls) == 0:
            path.write_text(text.replace("Up they go.", "Off they go."))
        return original(store, kind, key)

    cache.Store.get = get
    try:
        result = run_build(site.capsys, ["--source", str(site.source), "--output", str(site.output)], expect=1)
    finally:
        cache.Store.get = original
    assert "content/articles/launch.md: changed while the site was being built; build again" in result.err
    assert tree(site.output) == before


def test_damaged_page_index_is_detected_and_rebuilt(site, tmp_path):
    site.build()
    for index in (site.source / cache.FOLDER / "pages").rglob("*"):
        if index.is_file():
            index.write_bytes(index.read_bytes()[:-7])
    before = stamps(site.output)
    site.build()
    assert stamps(site.output) == before  # re-rendered, found identical, left alone
    assert_same_as_clean(site, tmp_path)


def test_deleting_the_cache_is_safe(site, tmp_path):
    site.build()
    before = stamps(site.output)
    shutil.rmtree(site.source / cache.FOLDER)
    site.build()
    assert stamps(site.output) == before
    _edit_title(site)
    shutil.rmtree(site.source / cache.FOLDER)
    site.build()
    assert_same_as_clean(site, tmp_path)


def _deface(output: Path) -> None:
    (output / "articles/launch/index.html").write_text("defaced")


def _delete(output: Path) -> None:
    (output / "crew/index.html").unlink()


def _add_stray(output: Path) -> None:
    (output / "articles/stray.html").write_text("not from this site")


@pytest.mark.parametrize("damage", [_deface, pytest.param(_delete, marks=pytest.mark.slow), pytest.param(_add_stray, marks=pytest.mark.slow)])
def test_output_changed_by_hand_is_rebuilt(site, tmp_path, damage):
    """Nothing the build reads changed, but the output is not as the last build left it: not skipped."""
    site.build()
    damage(site.output)
    site.build()
    assert_same_as_clean(site, tmp_path)


def test_cache_lives_beside_the_output_not_in_it(site):
    site.build()
    assert (site.source / cache.FOLDER / "CACHEDIR.TAG").is_file()
    assert not any(p.name.startswith(".microsite-cache") for p in site.output.rglob("*"))


def test_git_never_sees_the_cache_even_when_the_site_does_not_ignore_it(site):
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    site.build()
    subprocess.run([git, "init", "-q"], cwd=site.source, check=True, capture_output=True)
    listed = subprocess.run([git, "-c", "core.excludesFile=" + os.devnull, "status", "--porcelain", "--untracked-files=all"],
                            cwd=site.source, capture_output=True, text=True, check=True).stdout
    assert "content/" in listed, listed
    assert cache.FOLDER not in listed, listed


def test_negative_jobs_is_a_usage_error(site):
    result = site.build("--jobs", "-1", expect=2)
    assert "--jobs" in result.err


def _cli(source: Path, output: Path, *args: str) -> subprocess.CompletedProcess:
    """A build in a process of its own, as from a terminal: no other threads run, so pages are
    rendered in forked worker processes when there are enough of them."""
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "build", "--source", str(source), "--output", str(output), *args],
                          capture_output=True, text=True, timeout=600)


def test_forked_workers_return_every_result_in_order():
    # each item takes a moment, as a page does, so that on a busy machine one worker cannot
    # finish every chunk before the other has started
    script = ("import os, sys, time; from microsite.render import parallel; "
              "results = list(parallel.forked(lambda i: (time.sleep(0.002), i, os.getpid())[1:], 1000, 2)); "
              "print(len(results), [i for i, _ in results] == list(range(1000)), len({p for _, p in results} - {os.getpid()}))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.split() == ["1000", "True", "2"], done.stderr


@pytest.mark.slow
def test_pages_rendered_in_worker_processes_match_a_single_process_build(tmp_path):
    source = tmp_path / "many"
    corpus.generate(source, 150, seed=3)
    done = _cli(source, source / "output", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    single = _cli(source, tmp_path / "single" / "output", "--jobs", "1")
    assert single.returncode == 0, single.stderr
    assert tree(source / "output") == tree(tmp_path / "single" / "output")

    template = (ROOT / "microsite/theme/templates" / "article.html").read_text()
    (source / "templates").mkdir(exist_ok=True)
    (source / "templates" / "article.html").write_text(template.replace('<div class="prose">', '<div class="prose">{{ article.nothing.here }}'))
    before = tree(source / "output")
    broken = _cli(source, source / "output", "--jobs", "2")
    assert broken.returncode == 1
    assert "templates/article.html:" in broken.stderr and "and 149 other pages)" in broken.stderr
    assert tree(source / "output") == before


@pytest.mark.slow
def test_a_problem_found_after_early_conversion_fails_cleanly(big_site):
    """Articles start converting as they are read, before the site is checked; a problem the check
    then finds fails the build as ever: the output and the cache stay as they were."""
    big_site.build("--jobs", "2")
    before = tree(big_site.output)
    cached = {p: p.stat().st_mtime_ns for p in (big_site.source / cache.FOLDER).rglob("*") if p.is_file()}
    for path in sorted((big_site.source / "content/articles").glob("*.md"))[:20]:  # enough to start workers early
        path.write_text(path.read_text() + "\nOne more line, to be converted again.\n")
    big_site.write("content/articles/broken.md", "---\ntitle: Broken\ndate: 2021-10-05\ncrew: [nobody]\n---\nText.\n")
    result = big_site.build("--jobs", "2", expect=1)
    assert "content/articles/broken.md:4:" in result.err and "'nobody'" in result.err
    assert tree(big_site.output) == before
    assert {p: p.stat().st_mtime_ns for p in (big_site.source / cache.FOLDER).rglob("*") if p.is_file()} == cached


def test_body_packs_do_not_pile_up(site, tmp_path):
    """Each build adds its bodies in one pack file; a full build merges small packs and drops the
    bodies no article has any more, so neither files nor dead bytes grow with every edit."""
    site.build()
    path = site.source / "content/articles/launch.md"
    for step in range(4):
        path.write_text(path.read_text() + f"\nStep {step}.\n")
        site.build()
    assert len([p for p in records(site, "bodies") if p.suffix == ".pack"]) == 5
    _override_template(site)
    site.build()
    packs = [p for p in records(site, "bodies") if p.suffix == ".pack"]
    keys = body_keys(site)
    assert len(packs) == 1
    assert len(keys) == len(list((site.source / "content/articles").glob("*.md")))
    store = cache.Store(site.source / cache.FOLDER)
    assert packs[0].stat().st_size == sum(len(store.packs["bodies"].read(key)) for key in keys)
    assert "Step 3." in (site.output / "articles/launch/index.html").read_text()
    assert_same_as_clean(site, tmp_path)


def test_the_cache_key_covers_every_module_of_the_generator():
    """An edit to any module, in any subpackage, must invalidate the cache, not only the rebuild code's."""
    package = Path(cache.__file__).resolve().parent.parent
    digested = {p.relative_to(package).as_posix() for p in cache.generator_files()}
    assert {"cli.py", "engine.py", "markdown/markup.py", "render/render.py", "source/schema.py",
            "output/write.py", "features/seo.py", "rebuild/cache.py"} <= digested
    assert digested == {p.relative_to(package).as_posix() for p in package.rglob("*.py")}


def test_a_search_record_of_another_shape_is_ignored(site, tmp_path):
    """A record of the search index in a shape this version does not write (as an older version
    left it, with tuples for pages) reads as no record: every shard is indexed again."""
    from microsite.output import search

    site.build()
    store = cache.Store(site.source / cache.FOLDER)
    found = search.recall(store, site.output)
    assert found.pages
    search.remember(store, site.output, search.Record({rel: tuple(known) for rel, known in found.pages.items()}, found.shards))
    store.flush()
    _override_template(site)
    site.build()
    assert_same_as_clean(site, tmp_path)
