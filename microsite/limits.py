"""Bounds on what one article may ask of the Markdown converter, so no input can hang a build.

Python-Markdown recurses once per nesting level, rescans nested brackets from each opening one,
and rebuilds a paragraph once per inline element in it: a few kilobytes of `[[[[`, of deeply
indented lists, or one paragraph of ten thousand code spans take minutes. Real articles nest a
handful of levels and put dozens of elements in a paragraph; past these limits the place is
reported at its line and column instead.
"""

from __future__ import annotations

import functools
import re

from .errors import SiteError

MAX_QUOTE_DEPTH = 32
"""Blockquote markers `>` on one line."""
MAX_INDENT = 4 * 32
"""Columns of indentation, i.e. 32 levels of nested lists."""
MAX_BRACKET_DEPTH = 32
"""Open `[` not yet closed within one paragraph (links inside links inside ...)."""
MAX_HEADINGS = 1000
"""Headings in one article: the table of contents makes each id unique in quadratic time."""
MAX_INLINE_MARKS = 2000
"""Characters that may open an inline element (`` ` [ * _ < & ``) in one paragraph or list item."""

_FENCE = re.compile(r"\s{0,3}(`{3,}|~{3,})")
_QUOTES = re.compile(r"\s{0,3}((?:>\s?)+)")
_OWN_BLOCK = re.compile(r"\s{0,3}([-+*]\s|[0-9]{1,9}[.)]\s|\|)")
"""A list item or table row: Markdown processes its inline elements on their own."""
_HEADING = re.compile(r"\s{0,3}(#{1,6}(\s|$)|=+\s*$|-+\s*$)")
_MARKS = re.compile(r"[`\[*_<&]")


def _indent(line: str) -> int:
    width = 0
    for char in line:
        if char == " ":
            width += 1
        elif char == "\t":
            width += 4 - width % 4
        else:
            break
    return width


def scan_markdown(body: str, path: str, first_line: int) -> list[SiteError]:
    """Report the first place (if any) where the body goes past the limits."""
    return list(_scan(body, path, first_line))


@functools.lru_cache(maxsize=4096)
def _scan(body: str, path: str, first_line: int) -> tuple[SiteError, ...]:
    """Scan once per distinct body: watch and serve check every article on every rebuild."""
    return tuple(_scan_markdown(body, path, first_line))


def _scan_markdown(body: str, path: str, first_line: int) -> list[SiteError]:
    fence = ""
    depth = marks = headings = 0
    start: int | None = None
    for number, line in enumerate(body.split("\n"), start=first_line):
        if fence:
            if line.strip().startswith(fence):
                fence = ""
            continue
        opened = _FENCE.match(line)
        if opened:
            fence = opened.group(1)
            continue
        if not line.strip():
            depth, start = 0, None
            continue
        if start is None or _OWN_BLOCK.match(line):
            marks, start = 0, number
        if _HEADING.match(line):
            headings += 1
            if headings > MAX_HEADINGS:
                return [SiteError(path, number, 1, f"more than {MAX_HEADINGS} headings in one article; split it into several")]
        quotes = _QUOTES.match(line)
        if quotes and quotes.group(1).count(">") > MAX_QUOTE_DEPTH:
            return [SiteError(path, number, 1, f"blockquotes nested more than {MAX_QUOTE_DEPTH} deep; flatten them")]
        indent = _indent(line)
        if indent > MAX_INDENT:
            return [SiteError(path, number, 1, f"indented more than {MAX_INDENT} columns (lists nested over {MAX_INDENT // 4} deep); flatten them")]
        if "[" in line or depth:
            escaped = False
            for column, char in enumerate(line, start=1):
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == "[":
                    depth += 1
                    if depth > MAX_BRACKET_DEPTH:
                        return [SiteError(path, number, column, f"more than {MAX_BRACKET_DEPTH} '[' open at once in one paragraph; "
                                                                 f"close them or escape them as \\[")]
                elif char == "]" and depth:
                    depth -= 1
        if indent < 4:
            marks += len(_MARKS.findall(line))
            if marks > MAX_INLINE_MARKS:
                return [SiteError(path, start, 1, f"paragraph with more than {MAX_INLINE_MARKS} inline marks (` [ * _ < &), "
                                                  f"which Markdown would take minutes over; split it with blank lines")]
    return []
