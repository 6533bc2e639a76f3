"""Bounds on what one article may ask of the Markdown converter, so no input can hang a build.

Python-Markdown recurses once per nesting level and rescans nested brackets from each opening
one, so a few kilobytes of `[[[[` or of deeply indented lists take minutes. Real articles nest a
handful of levels; anything past these limits is reported at its line and column instead.
"""

from __future__ import annotations

import re

from .errors import SiteError

MAX_QUOTE_DEPTH = 32
"""Blockquote markers `>` on one line."""
MAX_INDENT = 4 * 32
"""Columns of indentation, i.e. 32 levels of nested lists."""
MAX_BRACKET_DEPTH = 32
"""Open `[` not yet closed within one paragraph (links inside links inside ...)."""

_FENCE = re.compile(r"\s{0,3}(`{3,}|~{3,})")
_QUOTES = re.compile(r"\s{0,3}((?:>\s?)+)")


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
    """Report the first place (if any) where the body nests deeper than the limits allow."""
    fence = ""
    depth = 0
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
            depth = 0
            continue
        quotes = _QUOTES.match(line)
        if quotes and quotes.group(1).count(">") > MAX_QUOTE_DEPTH:
            return [SiteError(path, number, 1, f"blockquotes nested more than {MAX_QUOTE_DEPTH} deep; flatten them")]
        if _indent(line) > MAX_INDENT:
            return [SiteError(path, number, 1, f"indented more than {MAX_INDENT} columns (lists nested over {MAX_INDENT // 4} deep); flatten them")]
        if "[" not in line and not depth:
            continue
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
    return []
