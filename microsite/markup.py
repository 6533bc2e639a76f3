"""Markdown to HTML: one configured Python-Markdown converter, pure text in and out."""

from __future__ import annotations

from html import unescape
import re
from dataclasses import dataclass

import markdown
from markdown.extensions.toc import slugify_unicode

from .model import TocEntry
from .urls import SafeLinks

EXTENSIONS = ["tables", "fenced_code", "codehilite", "footnotes", "toc", "smarty", "sane_lists"]
EXTENSION_CONFIG = {
    "codehilite": {"css_class": "highlight", "guess_lang": False},
    "toc": {"slugify": slugify_unicode, "permalink": "#", "permalink_class": "anchor", "permalink_title": "Link to this section", "toc_depth": "2-3"},
    "footnotes": {"BACKLINK_TITLE": "Back to reference %d"},
    "smarty": {"smart_angled_quotes": False},
}

_WORD = re.compile(r"\w+")
_EMPTY_HEADER = re.compile(r"<th(\s[^>]*)?>\s*</th>")
"""A table's empty corner cell: a header with no text confuses screen readers, so it becomes a data cell."""
_TABLE_OPEN = re.compile(r"<table\b")
_TABLE_WRAP = '<div class="table-wrap" role="region" aria-label="Table" tabindex="0">'
"""Wide tables scroll sideways on phones; the focusable wrapper lets keyboard users scroll them too."""
_converters: dict[bool, markdown.Markdown] = {}


@dataclass(frozen=True)
class Converted:
    """An article body turned into HTML, with its headings and length."""

    html: str
    toc: tuple[TocEntry, ...]
    words: int


def _converter(allow_html: bool) -> markdown.Markdown:
    md = _converters.get(allow_html)
    if md is None:
        md = markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIG, output_format="html")
        if not allow_html:
            md.preprocessors.deregister("html_block")
            md.inlinePatterns.deregister("html")
            SafeLinks().extendMarkdown(md)
        _converters[allow_html] = md
    return md


def _flatten(tokens: list[dict]) -> list[TocEntry]:
    entries = []
    for token in tokens:
        entries.append(TocEntry(token["level"], token["id"], unescape(token["name"])))
        entries.extend(_flatten(token.get("children", [])))
    return entries


def convert(text: str, allow_html: bool = True) -> Converted:
    """Convert one article's Markdown; with `allow_html` false, raw HTML is shown as text."""
    md = _converter(allow_html)
    md.reset()
    html = _EMPTY_HEADER.sub(lambda m: f"<td{m.group(1) or ''}></td>", md.convert(text))
    html = _TABLE_OPEN.sub(_TABLE_WRAP + r"\g<0>", html).replace("</table>", "</table></div>")
    return Converted(html, tuple(_flatten(md.toc_tokens)), len(_WORD.findall(text)))
