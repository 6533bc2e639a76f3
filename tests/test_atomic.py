"""Nothing lost: a build killed or interrupted half way leaves the previous output byte-identical,
and two builds of one output never run at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from microsite.rebuild.cache import FOLDER as CACHE  # the build cache beside the output (make build's, not a leftover)

from conftest import MISSION_YAML, ROOT, SITE_YAML, article, article_pages, from_a_terminal
from microsite.output import write

ARTICLES = 200
BODY = "\n\n".join(f"Paragraph {i} with *some* text and a [link](https://example.org/{i})." for i in range(20))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def large_site(root: Path, title: str = "Test Orbit") -> Path:
    """Write a generated site with a few hundred articles."""
    (root / "content/articles").mkdir(parents=True, exist_ok=True)
    (root / "content/site.yaml").write_text(SITE_YAML.replace("Test Orbit", title), encoding="utf-8")
    (root / "content/mission.yaml").write_text(MISSION_YAML, encoding="utf-8")
    for i in range(ARTICLES):
        (root / f"content/articles/a{i:04d}.md").write_text(
            article(f"Article {i}", f"2021-10-{1 + i % 28:02d}", BODY, tags=f"[t{i % 10}, common]", crew="[peresild]"),
            encoding="utf-8")
    return root


def start_build(source: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--source", str(source), "-q", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=from_a_terminal)


def wait_until_half_written(proc: subprocess.Popen, output: Path, files: int = 60) -> Path:
    """Wait until the build has written `files` pages into its staging folder; return that folder."""
    staging = output.parent / f".{output.name}.staging-{proc.pid}"
    while proc.poll() is None:
        if staging.is_dir() and sum(len(names) for _, _, names in os.walk(staging)) >= files:
            return staging
        time.sleep(0.002)
    pytest.fail(f"the build ended before it was half written: {proc.communicate()}")


@pytest.fixture
def big(tmp_path):
    source = large_site(tmp_path / "big")
    done = start_build(source)
    assert done.wait() == 0, done.communicate()
    return source


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["kill", "term", "ctrl-c"])
def test_killed_build_leaves_the_old_output_byte_identical(big, sig):
    output = big / "output"
    before = snapshot(output)
    large_site(big, title="A new title on every page")
    proc = start_build(big)
    wait_until_half_written(proc, output)
    proc.send_signal(sig)
    status = proc.wait()
    assert status != 0
    if sig != signal.SIGKILL:
        assert status == 130
        assert "interrupted; output left as it was" in proc.stderr.read()
    assert snapshot(output) == before
    leftovers = sorted(p.name for p in big.iterdir() if p.name not in ("content", "output", CACHE))
    if sig != signal.SIGKILL:
        assert leftovers == [], "Ctrl-C and kill clean up after themselves"
    else:
        assert leftovers, "kill -9 leaves its staging folder behind"
    # the next build takes over what a killed one left behind
    again = start_build(big)
    assert again.wait() == 0, again.communicate()
    assert sorted(p.name for p in big.iterdir() if p.name != CACHE) == ["content", "output"]
    assert "A new title on every page" in (output / "index.html").read_text()


@pytest.mark.slow
def test_second_build_at_once_gets_a_clear_message(big, tmp_path, capsys):
    from conftest import run_build

    output = big / "output"
    small = tmp_path / "small"
    (small / "content/articles").mkdir(parents=True)
    (small / "content/site.yaml").write_text(SITE_YAML)
    (small / "content/mission.yaml").write_text(MISSION_YAML)
    (small / "content/articles/one.md").write_text(article("One"))
    large_site(big, title="Rebuilt")
    first = start_build(big)
    wait_until_half_written(first, output)
    second = run_build(capsys, ["--source", str(small), "--output", str(output)], expect=2)
    assert second.err.strip() == (f"microsite: error: another build (process {first.pid}) is writing {output}; "
                                  f"wait for it to finish, then build again")
    assert first.wait() == 0, first.communicate()
    assert "Rebuilt" in (output / "index.html").read_text()
    assert len(article_pages(output)) == ARTICLES
    assert sorted(p.name for p in big.iterdir() if p.name != CACHE) == ["content", "output"]


def test_lock_is_released_however_a_build_ends(site):
    site.build()
    site.write("content/articles/bad.md", "---\ntitle: x\n---\n")
    site.build(expect=1)
    (site.source / "content/articles/bad.md").unlink()
    site.build()
    assert sorted(p.name for p in site.source.iterdir() if p.name != CACHE) == ["content", "output"]


def test_lock_held_elsewhere_refuses_and_writes_nothing(site):
    site.build()
    before = snapshot(site.output)
    lock = write.BuildLock(site.output)
    lock.acquire()
    try:
        site.write("content/articles/new.md", article("New"))
        result = site.build(expect=2)
        assert f"another build (process {os.getpid()}) is writing {site.output}" in result.err
        assert snapshot(site.output) == before
    finally:
        lock.release()
    site.build()
    assert (site.output / "articles/new/index.html").is_file()


def test_output_moved_aside_by_a_killed_swap_comes_back(site):
    site.build()
    before = snapshot(site.output)
    aside = site.source / ".output.previous-99999"
    site.output.rename(aside)
    write.recover(site.output)
    assert snapshot(site.output) == before and not aside.exists()
