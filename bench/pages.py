"""Weigh the HTML pages of a built site: bytes and DOM elements, the largest first.

    python bench/pages.py OUTPUT [--top N]

A reader on a phone pays for every byte and every element of a page; Lighthouse flags a page of
more than 1,500 elements. Elements are counted as a browser's DOM holds them: every start tag in
the file, plus the html, head and body elements a parser adds when the file leaves them out.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

IMPLIED = ("html", "head", "body")


class _Counter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.count = 0
        self.seen: set[str] = set()

    def handle_starttag(self, tag: str, attrs) -> None:
        self.count += 1
        self.seen.add(tag)

    def handle_startendtag(self, tag: str, attrs) -> None:
        self.handle_starttag(tag, attrs)


def elements(text: str) -> int:
    """Count the elements a browser builds from an HTML text."""
    counter = _Counter()
    counter.feed(text)
    counter.close()
    return counter.count + sum(1 for tag in IMPLIED if tag not in counter.seen)


@dataclass(frozen=True)
class Weight:
    path: str
    bytes: int
    elements: int


def weigh(output: Path) -> list[Weight]:
    """Every published HTML page of a built site (none in hidden folders) with its weight."""
    found = []
    for page in sorted(output.rglob("*.html")):
        rel = page.relative_to(output)
        if any(part.startswith(".") for part in rel.parts):
            continue
        data = page.read_bytes()
        found.append(Weight(rel.as_posix(), len(data), elements(data.decode("utf-8", "replace"))))
    return found


def largest(output: Path) -> tuple[Weight, Weight]:
    """The page with the most bytes and the page with the most elements."""
    weights = weigh(output)
    if not weights:
        raise SystemExit(f"pages: no HTML pages in {output}")
    return max(weights, key=lambda w: (w.bytes, w.path)), max(weights, key=lambda w: (w.elements, w.path))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("output", type=Path, help="a built site")
    p.add_argument("--top", type=int, default=10, help="how many of the heaviest pages to list (default 10)")
    args = p.parse_args(argv)
    weights = weigh(args.output)
    for key, label in ((lambda w: w.bytes, "bytes"), (lambda w: w.elements, "elements")):
        print(f"pages: heaviest by {label}:")
        for w in sorted(weights, key=key, reverse=True)[:args.top]:
            print(f"  {w.bytes:>9,} bytes {w.elements:>6,} elements  {w.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
