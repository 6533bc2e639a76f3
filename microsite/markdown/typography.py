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
