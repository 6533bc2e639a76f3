"""Smart typography for plain-text fields (titles, summaries), matching what Markdown bodies get."""

from __future__ import annotations

import re

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
_SKIP_OPEN = re.compile(r"<(pre|code|script|style|kbd|samp)\b", re.IGNORECASE)
_SKIP_CLOSE = re.compile(r"</(pre|code|script|style|kbd|samp)\s*>", re.IGNORECASE)


def russian(text: str) -> str:
    """Russian typography over smartened text: « » for the double quotes and a non-breaking space
    before a dash, so a line never starts with one."""
    if "\u201c" in text or "\u201d" in text:
        text = text.replace("\u201c", "\u00ab").replace("\u201d", "\u00bb")
    if "\u2014" in text or "\u2013" in text:
        text = _SPACED_DASH.sub("\u00a0", text)
    return text


def russian_html(html: str) -> str:
    """`russian` over the text of trusted HTML, leaving tags, attributes and code as they are."""
    out: list[str] = []
    skipping = 0
    for segment in _SEGMENTS.split(html):
        if segment.startswith("<"):
            if _SKIP_OPEN.match(segment):
                skipping += 1
            elif _SKIP_CLOSE.match(segment):
                skipping = max(0, skipping - 1)
            out.append(segment)
        else:
            out.append(segment if skipping else russian(_ENTITY_DASH.sub("\u00a0", segment).replace("&ldquo;", "\u00ab").replace("&rdquo;", "\u00bb")))
    return "".join(out)
