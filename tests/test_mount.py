"""Building into a mount point (a Docker or CI volume), which no rename can replace: the build stages
inside it and replaces its files one by one. Real tmpfs mounts, where the tests run as root; skipped
with the reason elsewhere."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, Site, article, broken_links, published_pages
from live import Running, settle, wait_for
from microsite.live.serve import DevServer
from microsite.output import write
from test_cache import corpus
from test_delta import QUICK


@pytest.fixture
def tmpfs():
    """Mount a fresh tmpfs on a folder (made when missing); every mount is undone at the end."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def mount(folder: Path, size: str = "256m") -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(folder)], check=True)


def files(folder: Path) -> dict[str, bytes]:
    """Every file under a folder, hidden ones included, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def build(site, output: Path, expect: int = 0):
    return site.build("--output", str(output), expect=expect)


@pytest.fixture
def mounted(site, tmpfs, tmp_path):
    """The small site with its output folder a mount point, and a plain folder that every test
    builds the same sources into, to compare with. All of it lies on tmpfs file systems, so the
    build caches beside both outputs list their folders alike (the search index follows that order)."""
    moved = Site(tmpfs(tmp_path / "sourcefs", "256m") / "site", site.capsys)
    shutil.copytree(site.source, moved.source)
    mount = tmpfs(moved.output)
    plain = tmpfs(tmp_path / "plainfs") / "output"
    assert os.path.ismount(mount) and not os.path.ismount(plain)
    return moved, mount, plain


def assert_same(mount: Path, plain: Path, index: bool = True) -> None:
    """The mount holds exactly what the plain folder holds, and nothing was left beside it. Without
    `index`, the search index is left out: Pagefind reads pages in the order the staging folder
    lists them, and a watch session's staging history is not a command-line build's."""
    assert {rel: data for rel, data in files(mount).items() if index or not rel.startswith("pagefind/")} == \
           {rel: data for rel, data in files(plain).items() if index or not rel.startswith("pagefind/")}
    assert not (mount / write.STAGING).exists()
    assert sorted(p.name for p in mount.parent.iterdir()) == [".microsite-cache", "content", "output"]


def test_builds_into_a_mount_point_equal_builds_into_a_plain_folder(mounted):
    site, mount, plain = mounted
    for output in (mount, plain):
        assert "written" in build(site, output).out
    assert_same(mount, plain)
    assert site.page("articles/the-film/index.html").h1.get_text() == "The film"

    site.write("content/articles/launch.md", article("The launch, retitled", "2021-10-05", "Up they go.", tags="[soyuz]", crew="[peresild]"))
    (site.source / "content/articles/the-film.md").unlink()
    for output in (mount, plain):
        build(site, output)
    assert_same(mount, plain)
    assert not (mount / "articles/the-film").exists() and not (mount / "tags/film").exists()
    assert site.page("articles/launch/index.html").h1.get_text() == "The launch, retitled"
    assert broken_links(mount) == []


@pytest.mark.slow
def test_cached_rebuilds_into_a_mount_point(mounted):
    """The build with nothing changed, the rebuild after a body edit (written file by file into the
    live output), and a watch session's early page and rebuilds, all into the mount."""
    site, mount, plain = mounted
    for output in (mount, plain):
        build(site, output)
    path = site.source / "content/articles/launch.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nA second paragraph about the *launch pad*.\n", encoding="utf-8")
    for output in (mount, plain):
        assert QUICK in build(site, output).out
    assert_same(mount, plain)
    assert "launch pad" in site.page("articles/launch/index.html").get_text()
    for output in (mount, plain):
        assert "(0 written, " in build(site, output).out
    assert_same(mount, plain)

    run = Running(site.source, quiet=3.0)  # the rebuild waits 3 s, after the early page
    try:
        before = settle(run.session)
        path.write_text(path.read_text(encoding="utf-8").replace("Up they go.", "Up they went, on time."), encoding="utf-8")
        wait_for(lambda: "Up they went" in site.page("articles/launch/index.html").get_text(), what="the early page")
        assert "page articles/launch/index.html updated" in run.out.getvalue()
        wait_for(lambda: run.session.builds > before and run.session.idle, what="the rebuild")
        site.write("content/articles/new.md", article("A new one", "2021-10-20", "Hello."))
        wait_for(lambda: (mount / "articles/new/index.html").is_file() and run.session.idle, what="the new page")
        settle(run.session)
    finally:
        run.close()
    assert run.session.last.ok
    build(site, plain)
    assert_same(mount, plain, index=False)


def _broken_template(site) -> None:
    template = (ROOT / "microsite/theme/templates/article.html").read_text(encoding="utf-8")
    site.write("templates/article.html", template.replace('<div class="prose">', '<div class="prose">{{ article.nothing.here }}'))


@pytest.mark.parametrize("breaking, problem", [
    (lambda site: site.write("content/articles/bad.md", "---\ntitle: [unclosed\ndate: 2021-10-05\n---\nText.\n"),
     "content/articles/bad.md:3:5: malformed YAML: did not find expected ',' or ']' "
     "(while parsing a flow sequence that starts on line 2, column 8)"),
    (_broken_template, "templates/article.html:"),
], ids=["front-matter", "while-staging"])
def test_a_failed_build_leaves_the_mount_untouched(mounted, breaking, problem):
    site, mount, _ = mounted
    build(site, mount)
    before = {rel: (entry.inode(), entry.stat().st_mtime_ns) for rel, entry in write.files_under(mount)}
    breaking(site)
    result = build(site, mount, expect=1)
    assert result.err.splitlines()[0].startswith(problem)
    assert {rel: (entry.inode(), entry.stat().st_mtime_ns) for rel, entry in write.files_under(mount)} == before


def test_a_build_that_cannot_swap_the_output_replaces_it_in_place(site, tmpfs, tmp_path, monkeypatch):
    """Where the mount goes unnoticed (no /proc), the swap fails with the kernel's own error and
    the build stages beside the output, then copies what changed in, file by file."""
    outer = tmpfs(tmp_path / "outer")  # the staging folder beside the output: another file system
    mount = tmpfs(outer / "output")
    plain = tmpfs(tmp_path / "plainfs") / "output"
    monkeypatch.setattr(write, "_mount_point", lambda folder: False)
    for step in range(2):
        site.write("content/articles/launch.md", article(f"The launch, take {step}", "2021-10-05", "Up they go."))
        for output in (mount, plain):
            build(site, output)
        assert files(mount) == files(plain)
        assert sorted(p.name for p in outer.iterdir()) == [".microsite-cache", "output"]
        assert not (mount / write.STAGING).exists()


def start_build(source: Path, output: Path) -> subprocess.Popen:
    """A build in a process group of its own, so a kill reaches its workers too."""
    return subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--source", str(source), "--output", str(output), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def kill_when(proc: subprocess.Popen, ready) -> None:
    """Kill the build with SIGKILL the moment `ready()` holds; fail when it ends first."""
    while proc.poll() is None:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return
    pytest.fail(f"the build ended before it could be killed: {proc.communicate()}")


def retitle(source: Path, title: str) -> None:
    """Change the site's title, which every page shows, and its stylesheet, which every page links
    to by a name that changes with its bytes: every page changes, and links to a new file."""
    path = source / "content/site.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(f"title: {title}" if line.startswith("title:") else line for line in lines) + "\n", encoding="utf-8")
    style = (ROOT / "microsite/theme/static/style.css").read_text(encoding="utf-8")
    (source / "static/style.css").write_text(f"{style}\n/* {title} */\n", encoding="utf-8")


def staged_files(mount: Path) -> int:
    return sum(len(names) for _, _, names in os.walk(mount / write.STAGING))


def inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def assert_serves_a_working_site(mount: Path, before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """Every file of the killed build's output is whole, the previous build's or the new one's;
    no page of the previous build is missing; every link of every page leads to a file; the dev
    server shows the site and not the staging folder."""
    live = {rel: entry for rel, entry in write.published(mount)}
    for rel, entry in live.items():
        if not rel.startswith("pagefind/"):  # the new index is named by its content, which this build's history decides
            data = Path(entry.path).read_bytes()
            assert data in (before.get(rel), after.get(rel)), f"{rel} is neither the old file nor the new one"
    assert {rel for rel in before if rel.endswith(".html")} <= live.keys()
    assert broken_links(mount) == []
    server = DevServer(mount, port=0)
    thread = server.start()
    try:
        an_article = "/" + next(rel for rel in sorted(before) if rel.startswith("articles/"))
        for path, status in [("/", 200), (an_article, 200), (f"/{write.STAGING}/index.html", 404), (f"/{write.MARKER}", 404)]:
            connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
            connection.request("GET", path)
            assert connection.getresponse().status == status, path
            connection.close()
    finally:
        server.stop(thread)


@pytest.mark.slow
def test_a_killed_build_leaves_a_working_site_and_the_next_build_finishes(tmp_path, tmpfs):
    source = tmpfs(tmp_path / "sourcefs", "256m") / "large"
    corpus.generate(source, 300)
    mount = tmpfs(source / "output")
    plain = tmpfs(tmp_path / "plainfs") / "output"
    first = start_build(source, mount)
    assert first.wait() == 0, first.communicate()
    before = {rel: Path(entry.path).read_bytes() for rel, entry in write.published(mount)}
    retitle(source, "A new title on every page")
    clean = start_build(source, plain)
    assert clean.wait() == 0, clean.communicate()
    after = {rel: Path(entry.path).read_bytes() for rel, entry in write.published(plain)}

    # killed while staging: the live output has not changed at all
    marker = inode(mount / write.MARKER)
    proc = start_build(source, mount)
    kill_when(proc, lambda: staged_files(mount) >= 100)
    assert inode(mount / write.MARKER) == marker, "killed before replacing any file"
    assert {rel: Path(entry.path).read_bytes() for rel, entry in write.published(mount)} == before
    assert staged_files(mount) > 0, "kill -9 leaves its staging folder behind"
    assert_serves_a_working_site(mount, before, after)

    # killed while replacing files, once the first page is new: whole files of both builds, a site that works
    for attempt in range(3):
        first_page = inode(mount / "404.html")
        proc = start_build(source, mount)
        kill_when(proc, lambda: inode(mount / "404.html") != first_page)
        assert_serves_a_working_site(mount, before, after)
        pages = {page.relative_to(mount).as_posix(): page.read_bytes() for page in published_pages(mount)}
        if (mount / write.STAGING).exists() and any(data != after[rel] for rel, data in pages.items()):
            break  # killed half-way through the pages, as wanted
        assert attempt < 2, "the build finished replacing pages before the kill, three times"
        before = {rel: Path(entry.path).read_bytes() for rel, entry in write.published(mount)}
        retitle(source, f"Another title, take {attempt}")
        clean = start_build(source, plain)
        assert clean.wait() == 0, clean.communicate()
        after = {rel: Path(entry.path).read_bytes() for rel, entry in write.published(plain)}

    again = start_build(source, mount)
    assert again.wait() == 0, again.communicate()
    assert not (mount / write.STAGING).exists()
    final = {rel: Path(entry.path).read_bytes() for rel, entry in write.published(mount)}
    assert {rel: data for rel, data in final.items() if not rel.startswith("pagefind/")} == \
           {rel: data for rel, data in after.items() if not rel.startswith("pagefind/")}
    assert "pagefind/pagefind-entry.json" in final
    assert sorted(p.name for p in source.iterdir()) == [".microsite-cache", "content", "output", "static"]
