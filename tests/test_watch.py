"""Watch mode with a real watchdog observer: files are edited on disk the way editors and git do it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import article, article_pages, from_a_terminal, parse, run_build, text
from live import Running, settle, wait_for


@pytest.fixture
def running(site):
    run = Running(site.source)
    yield run
    run.close()


def page_text(site, rel: str) -> str:
    path = site.output / rel
    return text(parse(path)) if path.is_file() else ""


def test_editing_an_article_rewrites_its_page(site, running):
    path = site.source / "content/articles/launch.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Up they go.", "Up they went, on time."), encoding="utf-8")
    wait_for(lambda: "Up they went, on time." in page_text(site, "articles/launch/index.html"), what="the new text on disk")
    lines = wait_for(lambda: [l for l in running.out.getvalue().splitlines() if "launch.md changed" in l], what="the line")
    line = lines[0]
    assert "rewrote" in line and "articles/launch/index.html" in line and line.endswith(" ms")


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("how", ["write", "rename"])
def test_a_body_edit_reaches_its_page_before_the_rebuild_and_as_the_rebuild_writes_it(site, tmp_path, how):
    run = Running(site.source, quiet=3.0)  # the rebuild waits 3 s for the burst to settle
    try:
        before = settle(run.session)
        path = site.source / "content/articles/launch.md"
        new = path.read_text(encoding="utf-8").replace("Up they go.", "Up they went, on time.")
        if how == "write":
            path.write_text(new, encoding="utf-8")
        else:  # an editor's safe save: a temp file renamed over the article
            (path.parent / ".launch.md.tmp").write_text(new, encoding="utf-8")
            os.rename(path.parent / ".launch.md.tmp", path)
        wait_for(lambda: "Up they went, on time." in page_text(site, "articles/launch/index.html"), what="the early page")
        assert run.session.builds == before, "the page came from the rebuild, not before it"
        # the line follows the page it reports on, so a reader may see the page first
        wait_for(lambda: "content/articles/launch.md saved: page articles/launch/index.html updated" in run.out.getvalue(),
                 what="the saved line")
        assert run.session.builds == before, "the saved line came after the rebuild"
        early = (site.output / "articles/launch/index.html").read_bytes()
        wait_for(lambda: run.session.builds > before and run.session.idle, what="the rebuild")
        line = run.out.getvalue().splitlines()[-1]
        assert "launch.md changed: rewrote" in line and "articles/launch/index.html" in line  # live reload still told
    finally:
        run.close()
    assert (site.output / "articles/launch/index.html").read_bytes() == early
    clean = tmp_path / "clean"
    run_build(site.capsys, ["--source", str(site.source), "--output", str(clean), "--jobs", "1"])
    assert _tree(site.output) == _tree(clean)


@pytest.mark.slow
@pytest.mark.parametrize("edit", [lambda t: t.replace("title: The launch", "title: The launch, retitled"),
                                  lambda t: t.replace("Up they go.", "Up they go with [[article:landing]]."),
                                  lambda t: t.replace("title: The launch", "title: [broken")])
def test_edits_other_pages_show_wait_for_the_rebuild(site, edit):
    run = Running(site.source, quiet=0.5)
    try:
        before = settle(run.session)
        path = site.source / "content/articles/launch.md"
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
        wait_for(lambda: run.session.builds > before and run.session.idle, what="the rebuild")
    finally:
        run.close()
    assert "saved: page" not in run.out.getvalue()


@pytest.mark.slow
def test_atomic_rename_saves_are_one_rebuild_and_never_missed(site, running):
    settle(running.session)
    before = running.session.builds
    articles = site.source / "content/articles"
    # vim with backupcopy=no: probe file 4913, original moved to a backup, new file written, backup deleted
    (articles / "4913").write_text("", encoding="utf-8")
    (articles / "4913").unlink()
    os.rename(articles / "landing.md", articles / "landing.md~")
    (articles / "landing.md").write_text(article("The landing, saved by vim", "2021-10-17T09:00:00Z", "Vim."), encoding="utf-8")
    (articles / "landing.md~").unlink()
    # JetBrains safe write: temp file renamed over the original
    (articles / "launch.md___jb_tmp___").write_text(article("The launch, saved by an IDE", "2021-10-05", "IDE."), encoding="utf-8")
    os.rename(articles / "launch.md", articles / "launch.md___jb_old___")
    os.rename(articles / "launch.md___jb_tmp___", articles / "launch.md")
    (articles / "launch.md___jb_old___").unlink()
    wait_for(lambda: "saved by an IDE" in page_text(site, "articles/launch/index.html"), what="the IDE save")
    wait_for(lambda: "saved by vim" in page_text(site, "articles/landing/index.html"), what="the vim save")
    assert settle(running.session) == before + 1, running.out.getvalue()
    assert not any("jb_" in p.name or p.name.endswith("~") for p in site.output.rglob("*"))


@pytest.mark.slow
@pytest.mark.parametrize("name", [".launch.md.swp", "launch.md~", "4913", ".#launch.md", "#launch.md#", ".launch.md.kate-swp", "x.tmp"])
def test_editor_temp_and_swap_files_do_not_rebuild(site, running, name):
    before = settle(running.session)
    (site.source / "content/articles" / name).write_text("---\ntitle: [half\n", encoding="utf-8")
    assert settle(running.session) == before
    assert "failed" not in running.out.getvalue()


@pytest.mark.slow
def test_the_output_folder_itself_causes_no_rebuild_loop(site, running):
    before = settle(running.session)
    (site.source / "content/site.yaml").write_text((site.source / "content/site.yaml").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    wait_for(lambda: running.session.builds > before, what="a rebuild")
    assert settle(running.session, 1.0) == before + 1


@pytest.mark.slow
def test_a_git_checkout_of_another_branch_is_one_rebuild(site, running):
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull}

    def run(*args: str) -> None:
        subprocess.run([git, *args], cwd=site.source, env=env, check=True, capture_output=True)

    (site.source / ".gitignore").write_text("output/\n", encoding="utf-8")
    run("init", "-q", "-b", "main")
    run("add", "-A")
    run("commit", "-qm", "three articles")
    run("checkout", "-q", "-b", "many")
    for i in range(40):
        (site.source / f"content/articles/extra-{i:02d}.md").write_text(
            article(f"Extra {i}", f"2021-09-{1 + i % 28:02d}", f"Extra text {i}.", tags="[extra]"), encoding="utf-8")
    (site.source / "content/articles/launch.md").unlink()
    run("add", "-A")
    run("commit", "-qm", "forty more")
    wait_for(lambda: (site.output / "articles/extra-39/index.html").is_file(), what="the branch's articles")
    run("checkout", "-q", "main")
    before = settle(running.session)
    run("checkout", "-q", "many")
    wait_for(lambda: (site.output / "articles/extra-39/index.html").is_file() and not (site.output / "articles/launch").exists(),
             what="the checked-out branch built")
    assert settle(running.session) == before + 1, running.out.getvalue()
    assert len(article_pages(site.output)) == 42


@pytest.mark.slow
def test_a_save_during_a_rebuild_triggers_one_more(site, running):
    for i in range(150):
        (site.source / f"content/articles/bulk-{i:03d}.md").write_text(
            article(f"Bulk {i}", f"2020-01-{1 + i % 28:02d}", "Bulk text. " * 200, tags=f"[bulk, t{i % 9}]"), encoding="utf-8")
    wait_for(lambda: (site.output / "articles/bulk-149/index.html").is_file(), what="the bulk articles")
    before = settle(running.session)
    # a template edit re-renders every page, so the build lasts long enough to save into
    (site.source / "templates").mkdir()
    base = (Path(__file__).parent.parent / "microsite/theme/templates/base.html").read_text(encoding="utf-8")
    (site.source / "templates/base.html").write_text(base + "<!-- edited -->\n", encoding="utf-8")
    staging = site.source / f".output.staging-{os.getpid()}"
    wait_for(staging.exists, timeout=30, what="the rebuild to start")
    path = site.source / "content/articles/launch.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Up they go.", "Saved mid-build."), encoding="utf-8")
    wait_for(lambda: "Saved mid-build." in page_text(site, "articles/launch/index.html"), what="the mid-build save")
    assert settle(running.session) == before + 2, running.out.getvalue()


def test_a_broken_file_does_not_stop_watching_and_the_fix_is_picked_up(site, running):
    path = site.source / "content/articles/launch.md"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("title: The launch", "title: [The launch"), encoding="utf-8")
    wait_for(lambda: "build failed" in running.out.getvalue(), what="the failure line")
    assert re.search(r"^  content/articles/launch\.md:\d+:\d+: ", running.out.getvalue(), re.M)
    assert "The launch" in page_text(site, "articles/launch/index.html"), "the last good build stays"
    path.write_text(good.replace("Up they go.", "Fixed and back."), encoding="utf-8")
    wait_for(lambda: "Fixed and back." in page_text(site, "articles/launch/index.html"), what="the fixed page")


@pytest.mark.slow
def test_watch_command_stops_cleanly_on_ctrl_c(site):
    import signal
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "build.py", "watch", "--source", str(site.source)], cwd=Path(__file__).parent.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=from_a_terminal)
    try:
        wait_for(lambda: (site.output / "index.html").is_file(), what="the first build")
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped" in out
    assert [p.name for p in site.source.iterdir() if p.name.startswith(".output")] == []
