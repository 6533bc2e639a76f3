#!/usr/bin/env python3
"""Live-authoring figures: for each kind of edit, the time from a file save to the changed page on disk and to the end of the rebuild.

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
        self.done_at: list[float] = []
        """When each build's line was read (time.perf_counter)."""
        self.changed = time.monotonic()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if self.BUILD.match(line):
                self.done_at.append(time.perf_counter())
            self.lines.append(line)
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


def last_page(out: Path, since_ns: int, folder: int, done: float) -> float:
    """Seconds from `since_ns` (wall clock) until the last page other than the search index was
    written in place; `done` when the output was swapped in whole (its folder is another one)."""
    if out.stat().st_ino != folder:
        return done
    latest = since_ns
    for path in out.rglob("*"):
        if path.is_file() and path.parts[len(out.parts)] != "pagefind":
            latest = max(latest, path.stat().st_mtime_ns)
    return (latest - since_ns) / 1e9 if latest > since_ns else done


def peak_memory(pid: int) -> int:
    """Peak resident memory of a process in bytes (Linux), 0 where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measure(source: Path, edits: int) -> list[str]:
    """Each kind of edit an author makes, saved while `build.py watch` runs: the time from the save
    until the changed page is on disk, and until the rebuild that writes every affected file
    (pages, search index) is done."""
    out = source / "output"
    watching = Watching(source)
    try:
        first = watching.settle(1)
        articles = sorted((source / "content" / "articles").glob("*.md"))
        lines = [f"  first build (cold, in watch): {build_ms(first) / 1000:.2f} s, {len(list(out.rglob('*.html')))} HTML pages"]

        def once(path: Path, text: str | None, ready) -> tuple[float, float, float, str]:
            """Save (or delete, with text None); return seconds to `ready()`, to the last rewritten
            page, to the rebuild's line, and the line."""
            count = len(watching.builds())
            folder = out.stat().st_ino
            wall = time.time_ns()
            t0 = time.perf_counter()
            if text is None:
                path.unlink()
            else:
                save(path, text)
            wait(ready)
            page = time.perf_counter() - t0
            wait(lambda: len(watching.builds()) > count)
            done = watching.done_at[count] - t0
            line = watching.settle(count + 1)
            return page, last_page(out, wall, folder, done), done, line

        def report(label: str, page: float, pages: float, done: float, line: str) -> None:
            lines.append(f"  {label}: page on disk {page * 1000:.0f} ms, every page {pages * 1000:.0f} ms, "
                         f"rebuild done {done * 1000:.0f} ms, {rewritten(line)} files rewritten")

        def shows(page: Path, marker: str):
            return lambda: page.is_file() and marker in page.read_text(encoding="utf-8")

        # article body edits: the headline figure
        pages, everys, dones, files = [], [], [], []
        target = articles[len(articles) // 2]
        own = out / "articles" / target.stem / "index.html"
        original = target.read_text(encoding="utf-8")
        for n in range(edits):
            marker = f"Bench edit number {n} of the body."
            page, every, done, line = once(target, original + f"\n{marker}\n", shows(own, marker))
            pages.append(page)
            everys.append(every)
            dones.append(done)
            files.append(rewritten(line))
        lines.append(f"  article body edit: page on disk median {statistics.median(pages) * 1000:.0f} ms "
                     f"(worst {max(pages) * 1000:.0f} ms), every page median {statistics.median(everys) * 1000:.0f} ms, "
                     f"rebuild done median {statistics.median(dones) * 1000:.0f} ms (worst {max(dones) * 1000:.0f} ms) "
                     f"over {edits} edits; {statistics.median(files):.0f} files rewritten")

        other = articles[len(articles) // 3]
        page = out / "articles" / other.stem / "index.html"
        text = other.read_text(encoding="utf-8")
        text = text.replace("title: ", "title: Retitled ", 1)
        report("article title edit", *once(other, text, shows(page, "Retitled")))
        tags = re.search(r"^tags: .*$", text, re.M)
        text = text[:tags.start()] + "tags: [bench-tag, orbit]" + text[tags.end():] if tags else \
            text.replace("title: ", "tags: [bench-tag, orbit]\ntitle: ", 1)
        report("article tag edit", *once(other, text, shows(out / "tags/bench-tag/index.html", other.stem)))
        new = source / "content/articles/bench-added.md"
        added = out / "articles/bench-added/index.html"
        report("article added", *once(new, "---\ntitle: Added by the bench\ndate: 2030-01-01\ntags: [orbit]\n---\n\nNew.\n",
                                      shows(added, "Added by the bench")))
        report("article deleted", *once(new, None, lambda: not added.exists()))
        mission = source / "content/mission.yaml"
        data = mission.read_text(encoding="utf-8")
        member = re.search(r"^  - id: (\S+)\n    name: (.+)$", data, re.M)
        crew_page = out / "crew" / member.group(1) / "index.html"
        role = re.search(r"^    role: (.+)$", data[member.end():], re.M)
        at = member.end() + role.end()
        data = data[:at] + " (bench)" + data[at:]
        report("crew role edit (mission.yaml)", *once(mission, data, shows(crew_page, "(bench)")))
        data = data[:member.end()] + " (renamed)" + data[member.end():]
        report("crew member renamed (mission.yaml)", *once(mission, data, shows(crew_page, "(renamed)")))
        static = source / "static"
        static.mkdir(exist_ok=True)
        css = (ROOT / "microsite/theme/static/style.css").read_text(encoding="utf-8")
        new_css = css + "\n/* bench */\n"
        report("stylesheet edit", *once(static / "style.css", new_css, shows(out / "index.html", fingerprint("style.css", new_css.encode()))))
        templates = source / "templates"
        templates.mkdir(exist_ok=True)
        tag = (ROOT / "microsite/theme/templates/tag.html").read_text(encoding="utf-8")
        tag_page = next(iter(sorted(out.glob("tags/*/index.html"))))
        report("template edit (tag.html)", *once(templates / "tag.html", tag.replace("{% endblock %}", "<p>bench-template</p>{% endblock %}", 1),
                                                 shows(tag_page, "bench-template")))
        article_html = (ROOT / "microsite/theme/templates/article.html").read_text(encoding="utf-8")
        report("template every article page uses (article.html)",
               *once(templates / "article.html", article_html.replace('<div class="prose">', '<div class="prose" data-bench="1">'),
                     shows(own, 'data-bench="1"')))
        lines.append(f"  peak memory of the watch process: {peak_memory(watching.proc.pid) / 2**20:.0f} MiB")
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
