#!/usr/bin/env python3
"""Live-authoring figures: time from a file save to the rewritten page on disk, and pages rewritten per edit.

usage: python bench/live.py [--source DIR ...] [--articles N] [--edits N]
Without --source it measures the default site and a generated site of N articles (default 1,000).
Saves are real file writes seen by `build.py watch` running in its own process, as an author runs
it; the clock runs from just before the write until the page's new text is on disk (the output
folder is swapped in only when complete).
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from corpus import generate  # noqa: E402  (bench/corpus.py, the shared benchmark corpus)
from microsite.output.assets import fingerprint  # noqa: E402

def wait(check, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("bench: timed out waiting for a rebuild")
        time.sleep(0.002)


class Watching:
    """`build.py watch` in its own process, as an author runs it, with its terminal lines collected."""

    BUILD = re.compile(r"^\d\d:\d\d:\d\d .* in (\d+) ms$")

    def __init__(self, source: Path):
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "watch", "--source", str(source)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines: list[str] = []
        self.changed = time.monotonic()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self.changed = time.monotonic()

    def builds(self) -> list[str]:
        return [line for line in self.lines if self.BUILD.match(line)]

    def settle(self, count: int) -> str:
        """Wait for build number `count` and a quiet moment after it; return its terminal line."""
        wait(lambda: len(self.builds()) >= count and time.monotonic() - self.changed > 0.4)
        return self.builds()[count - 1]

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def rewritten(line: str) -> int:
    match = re.search(r"rewrote (\d+) file", line)
    return int(match.group(1)) if match else 0


def build_ms(line: str) -> int:
    return int(Watching.BUILD.match(line).group(1))


def save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def measure(source: Path, edits: int) -> list[str]:
    out = source / "output"
    watching = Watching(source)
    try:
        first = watching.settle(1)
        articles = sorted((source / "content" / "articles").glob("*.md"))
        lines = [f"  first build: {build_ms(first) / 1000:.2f} s, {len(list(out.rglob('*.html')))} HTML pages"]
        # article body edits: the headline figure
        times, files, builds = [], [], []
        target = articles[len(articles) // 2]
        page = out / "articles" / target.stem / "index.html"
        original = target.read_text(encoding="utf-8")
        for n in range(edits):
            count = len(watching.builds())
            marker = f"Bench edit number {n} of the body."
            t0 = time.perf_counter()
            save(target, original + f"\n{marker}\n")
            wait(lambda: marker in page.read_text(encoding="utf-8"))
            times.append(time.perf_counter() - t0)
            line = watching.settle(count + 1)
            files.append(rewritten(line))
            builds.append(build_ms(line))
        lines.append(f"  article body edit: save -> page on disk median {statistics.median(times) * 1000:.0f} ms, "
                     f"worst {max(times) * 1000:.0f} ms over {edits} edits (rebuild itself median {statistics.median(builds):.0f} ms); "
                     f"{statistics.median(files):.0f} files rewritten")

        def once(label: str, path: Path, text: str, page: Path, marker: str) -> None:
            count = len(watching.builds())
            t0 = time.perf_counter()
            save(path, text)
            wait(lambda: page.is_file() and marker in page.read_text(encoding="utf-8"))
            elapsed = time.perf_counter() - t0
            line = watching.settle(count + 1)
            lines.append(f"  {label}: {elapsed * 1000:.0f} ms to the page (rebuild {build_ms(line)} ms), "
                         f"{rewritten(line)} files rewritten")

        other = articles[len(articles) // 3]
        text = other.read_text(encoding="utf-8")
        once("article title edit", other, text.replace("title: ", "title: Retitled ", 1), out / "articles" / other.stem / "index.html", "Retitled")
        new = source / "content/articles/bench-added.md"
        once("article added", new, "---\ntitle: Added by the bench\ndate: 2030-01-01\ntags: [orbit]\n---\n\nNew.\n",
             out / "articles/bench-added/index.html", "Added by the bench")
        mission = source / "content/mission.yaml"
        data = mission.read_text(encoding="utf-8")
        member = re.search(r"^  - id: (\S+)\n    name: (.+)$", data, re.M)
        once("crew member renamed (mission.yaml)", mission,
             data[:member.end()] + " (edited)" + data[member.end():], out / "crew" / member.group(1) / "index.html", "(edited)")
        templates = source / "templates"
        templates.mkdir(exist_ok=True)
        tag = (ROOT / "microsite/theme/templates/tag.html").read_text(encoding="utf-8")
        tag_page = next(iter(sorted(out.glob("tags/*/index.html"))))
        once("template edit (tag.html)", templates / "tag.html", tag.replace("{% endblock %}", "<p>bench-template</p>{% endblock %}", 1),
             tag_page, "bench-template")
        static = source / "static"
        static.mkdir(exist_ok=True)
        css = (ROOT / "microsite/theme/static/style.css").read_text(encoding="utf-8")
        new_css = css + "\n/* bench */\n"
        once("stylesheet edit", static / "style.css", new_css, out / "index.html", fingerprint("style.css", new_css.encode()))
    finally:
        watching.close()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, action="append", help="a site folder to measure (copied first; repeatable)")
    parser.add_argument("--articles", type=int, default=1000, help="articles in the generated site")
    parser.add_argument("--edits", type=int, default=20, help="body edits to time per site")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="microsite-bench-") as tmp:
        sites: list[tuple[str, Path]] = []
        if args.source:
            for i, folder in enumerate(args.source):
                copy = Path(tmp) / f"site-{i}"
                shutil.copytree(folder / "content", copy / "content")
                for extra in ("templates", "static"):
                    if (folder / extra).is_dir():
                        shutil.copytree(folder / extra, copy / extra)
                sites.append((str(folder), copy))
        else:
            default = Path(tmp) / "default"
            shutil.copytree(ROOT / "content", default / "content")
            sites.append(("default site", default))
            generated = Path(tmp) / "generated"
            generate(generated, args.articles)
            sites.append((f"generated site (bench/corpus.py), {args.articles} articles", generated))
        for label, source in sites:
            print(f"{label}:", flush=True)
            for line in measure(source, args.edits):
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
