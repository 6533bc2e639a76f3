"""Smart typography for plain-text fields (titles, summaries), matching what Markdown bodies get."""

from __future__ import annotations

import re

_OPEN_BEFORE = r"(^|(?<=[\s(\[{\u2014\u2013/-]))"


def smarten(text: str) -> str:
    """Turn straight quotes, `--`, `---` and `...` into their typographic characters."""
    text = text.replace("---", "\u2014").replace("--", "\u2013").replace("...", "\u2026")
    text = re.sub(_OPEN_BEFORE + '"', "\u201c", text)
    text = text.replace('"', "\u201d")
    text = re.sub(_OPEN_BEFORE + "'", "\u2018", text)
    return text.replace("'", "\u2019")
