"""Progress of a long build: its phases and counts on a terminal, then the summary; nothing else
on a pipe or with -q."""

from __future__ import annotations

import importlib.util
import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

from microsite import engine
from microsite.model import Settings
from microsite.progress import Line

spec = importlib.util.spec_from_file_location("corpus", ROOT / "bench" / "corpus.py")
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)

ARTICLES = 200
SUMMARY = re.compile(r"microsite: built (\d+) pages and (\d+) static files in [\d.]+ s \(\d+ written, \d+ unchanged, \d+ removed\) -> \S+")
DRAWN = re.compile(r"microsite: ([a-z ]+?)(?: ([\d,]+)/([\d,]+))? *")
PHASES = ["reading", "converting", "copying static files and images", "rendering", "indexing", "writing"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A generated site of a few hundred articles, whose cold build takes more than a second."""
    source = tmp_path_factory.mktemp("generated")
    corpus.generate(source, ARTICLES, seed=5)
    return source


def on_terminal(*args: str) -> str:
    """Run `build.py` with stdout and stderr on a new pseudo-terminal; return what it showed."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), *args], stdin=subprocess.DEVNULL,
                            stdout=terminal, stderr=terminal, cwd=ROOT)
    os.close(terminal)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal's other end closed: the build has ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert proc.wait() == 0, shown.decode()
    return shown.decode()


def drawings(shown: str) -> list[tuple[str, int | None, int | None]]:
    """The progress lines drawn in place (each begins with a carriage return), as (phase, done, total)."""
    found = []
    for part in shown.split("\r"):
        if part.strip() and not part.startswith("\n"):
            match = DRAWN.fullmatch(part)
            assert match, f"not a progress line: {part!r}"
            done, total = (int(n.replace(",", "")) if n else None for n in match.group(2, 3))
            found.append((match.group(1), done, total))
    return found


@pytest.mark.slow
def test_a_long_build_on_a_terminal_shows_its_phases_then_only_the_summary(generated, tmp_path):
    shown = on_terminal("--source", str(generated), "--output", str(tmp_path / "out"))
    head, _, summary = shown.removesuffix("\r\n").rpartition("\r")
    progress, _, cleared = head.rpartition("\r")
    assert SUMMARY.fullmatch(summary), shown
    pages = int(SUMMARY.fullmatch(summary).group(1))
    assert cleared.strip() == "" and cleared.startswith(" ")  # the last line drawn is blanked out
    drawn = drawings(progress)
    names = [name for name, _, _ in drawn]
    assert names == sorted(names, key=PHASES.index)
    assert {"rendering", "indexing", "writing"} <= set(names)
    assert {total for name, _, total in drawn if name == "rendering"} == {pages}
    assert all(done <= total for _, done, total in drawn if total)


@pytest.mark.slow
def test_a_build_piped_or_quiet_prints_the_summary_or_nothing(generated, tmp_path):
    piped = subprocess.run([sys.executable, str(ROOT / "build.py"), "--source", str(generated), "--output", str(tmp_path / "a" / "out")],
                           capture_output=True, text=True, cwd=ROOT, check=True)
    assert piped.stderr == ""
    assert SUMMARY.fullmatch(piped.stdout.removesuffix("\n"))
    assert on_terminal("-q", "--source", str(generated), "--output", str(tmp_path / "b" / "out")) == ""


@pytest.mark.slow
def test_every_phase_is_shown_with_its_count(generated, tmp_path):
    shown = io.StringIO()
    line = Line(shown, after=0, interval=0)
    report = engine.build(Settings(source=generated, output=tmp_path / "out"), progress=line)
    line.close()
    drawn = drawings(shown.getvalue())
    assert [name for name, _, _ in drawn] == sorted((name for name, _, _ in drawn), key=PHASES.index)
    last = {name: (done, total) for name, done, total in drawn}
    assert set(last) == set(PHASES)
    assert last["reading"] == (ARTICLES, ARTICLES)
    assert last["converting"] == (ARTICLES, ARTICLES)
    assert last["rendering"] == (report.pages, report.pages)
    static = last["copying static files and images"]
    assert static[0] == static[1] > 0
    assert last["indexing"][0] == last["indexing"][1] > 0
    assert last["writing"] == (None, None)
    assert [done for name, done, _ in drawn if name == "rendering"] == list(range(report.pages + 1))
    assert shown.getvalue().endswith("\r" + " " * len("microsite: writing") + "\r")


def test_a_build_quicker_than_the_threshold_shows_nothing(site):
    shown = io.StringIO()
    line = Line(shown, after=3600)
    engine.build(Settings(source=site.source, output=site.output), progress=line)
    line.close()
    assert shown.getvalue() == ""
    assert (site.output / "index.html").is_file()
