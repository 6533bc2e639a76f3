"""The search index in shards: merged in a real browser, re-indexed only where pages changed."""

from __future__ import annotations

import functools
import gzip
import json
import os
import subprocess
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import SITE_YAML, article, parse, run_build
from microsite.rebuild import cache
from microsite import engine
from microsite.output import search
from microsite.rebuild.state import State
from microsite.model import Settings
from microsite.output.write import MARKER
from test_search_related import _Quiet, _search, browser  # noqa: F401 (a fixture)

WORDS = ["quasarine", "velmorite", "zandrel", "orvexa", "plimsoth", "trevagon", "uskelin", "brondavy", "kelvashi", "moratune"]
"""Made-up words, one per article, each found in one article only."""


def sharded(site) -> None:
    """Ten more articles and a shard size of two pages, so the index is split several ways."""
    site.write("content/site.yaml", SITE_YAML + "search_shard_pages: 2\n")
    for number, word in enumerate(WORDS):
        site.write(f"content/articles/log-{number}.md",
                   article(f"Log {number}", f"2021-10-{number + 6:02d}", f"Telemetry check, then {word} in orbit."))


def shards(output: Path) -> dict[str, set[str]]:
    """Each shard folder of a built site with the URLs of the pages its fragments describe."""
    found = {}
    for entry in sorted(output.glob("pagefind/**/pagefind-entry.json")):
        folder = entry.parent.relative_to(output).as_posix()
        found[folder] = {json.loads(gzip.decompress(p.read_bytes())[len(b"pagefind_dcd"):])["url"]
                         for p in (entry.parent / "fragment").glob("*.pf_fragment")}
    return found


def shard_of(found: dict[str, set[str]], url: str) -> str:
    return next(folder for folder, urls in found.items() if url in urls)


def index_files(output: Path) -> dict[str, tuple[int, int, bytes]]:
    """Inode, modification time and bytes of every index file: what tells whether it was rewritten."""
    return {p.relative_to(output).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in (output / "pagefind").rglob("*") if p.is_file()}


def folder_of(rel: str) -> str:
    """The shard folder an index file belongs to."""
    parts = rel.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 and parts[1].startswith("shard-") else "pagefind"


def tree(output: Path) -> dict[str, bytes]:
    return {p.relative_to(output).as_posix(): p.read_bytes() for p in output.rglob("*") if p.is_file() and p.name != MARKER}


def assert_same_as_clean(site, tmp_path: Path, name: str) -> None:
    """The output equals a build into a new folder with no cache."""
    clean = tmp_path / name / "output"
    run_build(site.capsys, ["--source", str(site.source), "--output", str(clean), "--jobs", "1", "-q"])
    built, fresh = tree(site.output), tree(clean)
    assert sorted(built) == sorted(fresh)
    assert [p for p in built if built[p] != fresh[p]] == []


def test_pages_are_split_into_shards_the_search_page_merges(site):
    sharded(site)
    site.build()
    found = shards(site.output)
    assert len(found) >= 3 and "pagefind" in found
    pages = {f"/articles/{p.stem}/" for p in (site.source / "content/articles").glob("*.md")} | \
            {f"/crew/{m}/" for m in ("peresild", "shipenko", "novitsky")}
    assert sorted(url for urls in found.values() for url in urls) == sorted(pages), "every page in exactly one shard"
    form = site.page("search/index.html").select_one("form.search-form")
    assert sorted(form["data-shards"].split()) == sorted(f"/{folder}/" for folder in found if folder != "pagefind")
    for folder in found:  # merged shards hold index data only; the first shard's script reads them all
        assert (site.output / folder / "pagefind-entry.json").is_file()
        assert (folder == "pagefind") == (site.output / folder / "pagefind.js").is_file()


def test_a_small_site_has_one_shard(built_default_site):
    assert list(shards(built_default_site.output)) == ["pagefind"]
    assert built_default_site.page("search/index.html").select_one("form.search-form")["data-shards"] == ""


def test_shard_size_must_be_a_positive_number(site):
    site.write("content/site.yaml", SITE_YAML + "search_shard_pages: 0\n")
    result = site.build(expect=1)
    assert "content/site.yaml:6:" in result.err and "'search_shard_pages' must be more than 0" in result.err
    site.write("content/site.yaml", SITE_YAML + "search_shard_pages: many\n")
    assert "'search_shard_pages' must be a whole number of pages" in site.build(expect=1).err


@pytest.mark.slow
def test_rebuilds_reuse_shards_and_equal_a_clean_build(site, tmp_path):
    sharded(site)
    site.build()
    first = index_files(site.output)
    site.build()
    assert index_files(site.output) == first, "no index file is rewritten when nothing changed"
    assert_same_as_clean(site, tmp_path, "clean-1")

    found = shards(site.output)
    edited = shard_of(found, "/articles/log-3/")
    site.write("content/articles/log-3.md", article("Log 3", "2021-10-09", f"Telemetry check, then {WORDS[3]} in orbit. Corrected."))
    site.build()
    after = index_files(site.output)
    changed = {folder_of(rel) for rel in set(first) | set(after) if first.get(rel) != after.get(rel)}
    assert changed == {edited}, "only the shard holding the edited article is indexed again"
    assert shards(site.output) == found
    assert_same_as_clean(site, tmp_path, "clean-2")


@pytest.mark.slow
def test_a_damaged_cache_entry_or_index_file_is_rebuilt_never_served(site, tmp_path):
    sharded(site)
    site.build()
    store = cache.Store(site.source / cache.FOLDER)
    [entry] = [p for p in (store.folder / search.KIND).rglob("*") if p.is_file()]
    data = entry.read_bytes()
    entry.write_bytes(data[:-40] + bytes(b ^ 0xFF for b in data[-40:]))  # same length, a different record
    site.write("content/articles/log-0.md", article("Log 0", "2021-10-06", f"Telemetry check, then {WORDS[0]} in orbit. Later."))
    site.build()
    assert store.get(search.KIND, bytes.fromhex(entry.name)) is not None, "the damaged entry was replaced"
    assert_same_as_clean(site, tmp_path, "clean-1")

    found = shards(site.output)
    other = next(folder for folder in found if folder != shard_of(found, "/articles/log-1/"))
    damaged = site.output / other / "pagefind-entry.json"
    damaged.write_text("{}")  # a previous output altered by something else is not carried over
    site.write("content/articles/log-1.md", article("Log 1", "2021-10-07", f"Telemetry check, then {WORDS[1]} in orbit. Later."))
    site.build()
    assert '"page_count"' in damaged.read_text()
    assert_same_as_clean(site, tmp_path, "clean-2")


def test_watch_rebuilds_index_only_the_edited_shard(site, tmp_path):
    sharded(site)
    settings = Settings(source=site.source, output=site.output)
    memo = State()
    engine.rebuild(settings, memo)
    first = index_files(site.output)
    found = shards(site.output)
    site.write("content/articles/log-5.md", article("Log 5", "2021-10-11", f"Telemetry check, then {WORDS[5]} in orbit. Again."))
    engine.rebuild(settings, memo)
    after = index_files(site.output)
    changed = {folder_of(rel) for rel in set(first) | set(after) if first.get(rel) != after.get(rel)}
    assert changed == {shard_of(found, "/articles/log-5/")}
    assert_same_as_clean(site, tmp_path, "clean")


@pytest.fixture
def served_shards(site):
    """A site whose index is split into several shards, served over HTTP on the loopback interface."""
    sharded(site)
    site.build()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site.output)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.browser
def test_the_browser_finds_pages_in_every_shard(served_shards, browser):  # noqa: F811
    site, base = served_shards
    found = shards(site.output)
    page = browser.new_page()
    for number, word in enumerate(WORDS):
        assert _search(page, base, word) == [f"/articles/log-{number}/"], word
    merged = [number for number in range(len(WORDS)) if shard_of(found, f"/articles/log-{number}/") != "pagefind"]
    assert merged, "some article lives in a merged shard"
    everywhere = _search(page, base, "telemetry")
    assert sorted(everywhere) == sorted(f"/articles/log-{number}/" for number in range(len(WORDS)))
    assert len({shard_of(found, url) for url in everywhere}) >= 2, "results from several shards come together"
    status = " ".join(page.inner_text(".search-status").split())
    assert status.startswith(f"{len(WORDS)} results")
    assert parse(site.output / "search/index.html").select_one("form.search-form")["data-shards"]


def test_pages_whose_paths_a_glob_would_misread_are_indexed_too(tmp_path):
    staging = tmp_path / "staging"
    pages = ["plain/index.html", "we{i}rd, [x]*?/index.html"]
    for rel in pages:
        (staging / rel).parent.mkdir(parents=True)
        (staging / rel).write_text("<html><body><main data-pagefind-body><p>Hello orbit</p></main></body></html>")
    for chosen in (pages[:1], pages):
        [files] = [dict(files) for files in search._index([[(rel, str(staging / rel)) for rel in chosen]], "en")]
        assert f'"page_count":{len(chosen)}' in files["pagefind-entry.json"].decode()


def test_a_site_with_nothing_to_index_builds(site):
    site.write("content/mission.yaml", "mission:\n  name: Test mission\ncrew: []\n")
    for path in (site.source / "content/articles").glob("*.md"):
        path.unlink()
    site.build()
    assert not (site.output / "pagefind").exists()  # Pagefind makes no empty index; the page loads none
    form = site.page("search/index.html").select_one("form.search-form")
    assert form is not None and not form.has_attr("data-pagefind") and form["action"].endswith("search/")


@pytest.fixture
def tmpfs(tmp_path):
    """A fresh tmpfs mounted under tmp_path (root only), whose folders list files in another order than ext4's."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def every_file(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_same_sources_give_the_same_bytes_on_tmpfs_and_on_disk(site, tmp_path, tmpfs):
    """The index numbers pages in the order it is handed them, not in the order a folder lists them."""
    for number, word in enumerate(WORDS):
        site.write(f"content/articles/log-{number}.md",
                   article(f"Log {number}", f"2021-10-{number + 6:02d}", f"Telemetry check, then {word} in orbit."))
    on_disk, in_memory = tmp_path / "disk" / "output", tmpfs / "output"
    site.build("--output", str(on_disk))
    site.build("--output", str(in_memory))
    disk_files, memory_files = every_file(on_disk), every_file(in_memory)
    assert any(rel.startswith("pagefind/index/") for rel in disk_files)
    assert sorted(disk_files) == sorted(memory_files)
    assert [rel for rel in disk_files if disk_files[rel] != memory_files[rel]] == []
