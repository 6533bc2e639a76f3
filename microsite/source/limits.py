"""Bounds on what one article may ask of the Markdown converter, so no input can hang a build.

Python-Markdown recurses once per nesting level, rescans nested brackets from each opening one,
and rebuilds a paragraph once per inline element in it: a few kilobytes of `[[[[`, of deeply
indented lists, or one paragraph of ten thousand code spans take minutes. Real articles nest a
handful of levels and put dozens of elements in a paragraph; past these limits the place is
reported at its line and column instead.
"""

from __future__ import annotations

import re

from ..errors import SiteError

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


_DEEP_QUOTE = re.compile(r">(?:[^\S\n]?>){%d}" % MAX_QUOTE_DEPTH)
"""More `>` in a row than one line may open, anywhere (a superset of the lines that open them)."""
_DEEP_INDENT = re.compile(r"\n[ \t]{%d}" % (MAX_INDENT // 4 + 1))
"""Enough spaces and tabs at a line's start to pass MAX_INDENT, were each of them a tab.
Line starts are found after a newline (a text is searched with one put before it): much faster
than `^` in multi-line mode."""
_FENCE_LINE = re.compile(r"\n[^\S\n]{0,3}(`{3,}|~{3,})")
_MARK_CHARS = "`[*_<&"


def scan_markdown(body: str, path: str, first_line: int) -> list[SiteError]:
    """Report the first place (if any) where the body goes past the limits."""
    if _within_limits(body):
        return []
    return _scan_markdown(body, path, first_line)


def _within_limits(body: str) -> bool:
    """Tell, by counting over the whole text, that no line can go past a limit.

    Every test here is looser than the line-by-line scan, so a true answer is always right; a
    false one only means the scan must look. Real articles pass on a few string searches.
    """
    text = "\n" + body
    if body.count("\n") >= MAX_HEADINGS or _DEEP_QUOTE.search(body) or _DEEP_INDENT.search(text):
        return False
    brackets = body.count("[") > MAX_BRACKET_DEPTH
    marks = sum(body.count(char) for char in _MARK_CHARS) > MAX_INLINE_MARKS
    if not (brackets or marks):
        return True
    # open brackets and marks only add up between blank lines outside code fences
    for chunk in _outside_fences(text).split("\n\n"):
        if brackets and chunk.count("[") > MAX_BRACKET_DEPTH:
            return False
        if marks and sum(chunk.count(char) for char in _MARK_CHARS) > MAX_INLINE_MARKS:
            return False
    return True


def _outside_fences(text: str) -> str:
    """The text (a newline, then the body) without its fenced code blocks, fence lines included,
    as the scan skips them.

    Two lines that meet where a block was taken out never make a blank line: the one after the
    block would have to be empty already.
    """
    parts = []
    position = 0  # the newline before the next line to look at
    while True:
        opened = _FENCE_LINE.search(text, position)
        if opened is None:
            parts.append(text[position + 1:])
            break
        parts.append(text[position + 1:opened.start() + 1])
        line_end = text.find("\n", opened.end())
        closed = re.compile(r"\n[^\S\n]*" + re.escape(opened.group(1))).search(text, line_end) if line_end >= 0 else None
        after = text.find("\n", closed.end()) if closed else -1
        if after < 0:
            break
        position = after
    return "".join(parts)


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
