"""Smart typography for plain-text fields (titles, summaries), matching what Markdown bodies get."""

from __future__ import annotations

import re
from typing import Callable

_OPEN_BEFORE = r"(^|(?<=[\s(\[{\u2014\u2013/-]))"
_OPENING_DOUBLE = re.compile(_OPEN_BEFORE + '"')
_OPENING_SINGLE = re.compile(_OPEN_BEFORE + "'")


def smarten(text: str) -> str:
    """Turn straight quotes, `--`, `---` and `...` into their typographic characters."""
    if '"' not in text and "'" not in text and "--" not in text and "..." not in text:
        return text
    text = text.replace("---", "\u2014").replace("--", "\u2013").replace("...", "\u2026")
    text = _OPENING_DOUBLE.sub("\u201c", text)
    text = text.replace('"', "\u201d")
    text = _OPENING_SINGLE.sub("\u2018", text)
    return text.replace("'", "\u2019")


_SPACED_DASH = re.compile(r"[ \t]+(?=[\u2014\u2013](?:\s|$))")
_ENTITY_DASH = re.compile(r"[ \t]+(?=&[mn]dash;(?:\s|$))")
"""Python-Markdown's smarty writes its dashes and quotes as entities."""
_SEGMENTS = re.compile(r"(<[^>]*>)")
CODE_TAGS = ("pre", "code", "script", "style", "textarea", "kbd", "samp")
"""Elements whose text is code or input, never prose to retouch."""


def over_text(html: str, change: Callable[[str], str], skip: tuple[str, ...] = CODE_TAGS) -> str:
    """Apply `change` to the text of trusted HTML outside the `skip` elements, leaving tags and attributes untouched."""
    opening = re.compile(rf"<({'|'.join(skip)})\b", re.IGNORECASE)
    closing = re.compile(rf"</({'|'.join(skip)})\s*>", re.IGNORECASE)
    out: list[str] = []
    skipping = 0
    for segment in _SEGMENTS.split(html):
        if segment.startswith("<"):
            if opening.match(segment):
                skipping += 1
            elif closing.match(segment):
                skipping = max(0, skipping - 1)
            out.append(segment)
        else:
            out.append(segment if skipping else change(segment))
    return "".join(out)


def russian(text: str) -> str:
    """Russian typography over smartened text: « » for the double quotes and a non-breaking space
    before a dash, so a line never starts with one."""
    if "\u201c" in text or "\u201d" in text:
        text = text.replace("\u201c", "\u00ab").replace("\u201d", "\u00bb")
    if "\u2014" in text or "\u2013" in text:
        text = _SPACED_DASH.sub("\u00a0", text)
    return text


def russian_html(html: str) -> str:
    """`russian` over the text of trusted HTML (smarty's entities too), leaving tags, attributes and code as they are."""
    return over_text(html, lambda text: russian(_ENTITY_DASH.sub("\u00a0", text).replace("&ldquo;", "\u00ab").replace("&rdquo;", "\u00bb")))
