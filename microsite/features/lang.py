"""Language marks: Cyrillic runs inside an English page get `lang="ru"` so screen readers switch voice."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from ..markdown.typography import over_text

CYRILLIC_RUN = re.compile(r"[\u0400-\u052F](?:[\u0400-\u052F\u0300-\u036F'’]|[-\d]+(?=[\u0400-\u052F\d])|-?\d+|\s+(?=[\u0400-\u052F]))*")
"""Cyrillic words, and the spaces, hyphens, apostrophes and numbers that join them into one phrase (Союз МС-19)."""


def _wrap(text: str, language: str) -> str:
    return CYRILLIC_RUN.sub(lambda m: f'<span lang="{language}">{m.group(0)}</span>', text)


def mark_text(value: object, page_language: str, language: str = "ru") -> Markup:
    """Escape plain text from data and wrap its Cyrillic runs in a span with their language."""
    escaped = str(escape(value))
    if page_language.split("-")[0].lower() == language:
        return Markup(escaped)
    return Markup(_wrap(escaped, language))


def mark_html(html: str, page_language: str, language: str = "ru") -> str:
    """Wrap Cyrillic runs in the text of trusted HTML, leaving tags, attributes and code untouched."""
    if page_language.split("-")[0].lower() == language or not CYRILLIC_RUN.search(html):
        return html
    return over_text(html, lambda text: _wrap(text, language), ("pre", "code", "script", "style", "textarea"))
