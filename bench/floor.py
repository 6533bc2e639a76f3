"""The floor for a generator built on Python-Markdown: read each article, convert it, write the HTML.

    python bench/floor.py CORPUS OUT [--processes N]

It uses microsite's Markdown extensions and settings with stock Python-Markdown, without the
faster inline pass microsite converts with (microsite/inline.py): the time any generator built on
Python-Markdown with these extensions needs to convert the corpus.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from pathlib import Path

import markdown

from microsite.markdown.markup import EXTENSIONS, EXTENSION_CONFIG

_md: markdown.Markdown | None = None


def convert(job: tuple[str, str]) -> int:
    """Convert one file; return the size of the HTML written."""
    global _md
    if _md is None:
        _md = markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIG, output_format="html")
    source, target = job
    text = Path(source).read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
    _md.reset()
    html = _md.convert(body)
    Path(target).write_text(html, encoding="utf-8")
    return len(html)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--processes", type=int, default=2)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(str(f), str(args.out / (f.stem + ".html"))) for f in sorted((args.corpus / "content" / "articles").glob("*.md"))]
    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        total = sum(pool.imap_unordered(convert, jobs, chunksize=16))
    print(f"floor: {len(jobs)} articles, {total:,} bytes of HTML", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
