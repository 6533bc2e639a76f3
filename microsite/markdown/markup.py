"""Markdown to HTML: one configured Python-Markdown converter, pure text in and out."""

from __future__ import annotations

from html import unescape
import re
from dataclasses import dataclass

import markdown
from markdown.extensions.toc import slugify_unicode

from . import inline
from .bodies import Html
from .mentions import Crew, MentionExtension, Ref
from ..model import Toc, TocEntry
from .urls import SafeLinks

ANCHOR_TITLE = "Link to this section"
TABLE_LABEL = "Table"
BACKLINK_TITLE = "Back to reference %d"
"""The words conversion writes into every body, in the default language; a translation's are put
in after conversion (`features.i18n.localize_body`)."""

EXTENSIONS = ["tables", "fenced_code", "codehilite", "footnotes", "toc", "smarty", "sane_lists"]
EXTENSION_CONFIG = {
    "codehilite": {"css_class": "highlight", "guess_lang": False},
    "toc": {"slugify": slugify_unicode, "permalink": "#", "permalink_class": "anchor", "permalink_title": ANCHOR_TITLE, "toc_depth": "2-3"},
    "footnotes": {"BACKLINK_TITLE": BACKLINK_TITLE},
    "smarty": {"smart_angled_quotes": False},
}

_WORD = re.compile(r"\w+")
_EMPTY_HEADER = re.compile(r"<th(\s[^>]*)?>\s*</th>")
"""A table's empty corner cell: a header with no text confuses screen readers, so it becomes a data cell."""
_TABLE_OPEN = re.compile(r"<table\b")
_TABLE_WRAP = f'<div class="table-wrap" role="region" aria-label="{TABLE_LABEL}" tabindex="0">'
"""Wide tables scroll sideways on phones; the focusable wrapper lets keyboard users scroll them too."""
_CODE_OPEN = '<div class="highlight"><pre>'
_CODE_FOCUSABLE = '<div class="highlight"><pre tabindex="0">'
"""Long code lines scroll sideways too: keyboard users reach the block to scroll it."""
_converters: dict[bool, tuple[markdown.Markdown, MentionExtension]] = {}
NO_CREW = Crew()


@dataclass(frozen=True)
class Converted:
    """An article body turned into HTML, with its headings and length."""

    html: Html
    toc: Toc
    words: int
    mentions: tuple[str, ...] = ()
    """Ids of the crew members the body mentions by name or `[[crew:id]]`."""
    refs: tuple[Ref, ...] = ()
    """`[[...]]` references; article ones are placeholders in `html` until resolved."""


def configured(allow_html: bool, quick: bool = True) -> tuple[markdown.Markdown, MentionExtension]:
    """A converter as microsite configures it; `quick` false leaves out inline.py, which changes
    how fast it converts, never what it gives."""
    mentions = MentionExtension()
    config = EXTENSION_CONFIG
    if quick:
        config = {**config, "codehilite": {**config["codehilite"], "pygments_formatter": inline.reused_formatter}}
    md = markdown.Markdown(extensions=[*EXTENSIONS, mentions], extension_configs=config, output_format="html")
    if not allow_html:
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        SafeLinks().extendMarkdown(md)
    if quick:
        inline.install(md)
    return md, mentions


def _converter(allow_html: bool) -> tuple[markdown.Markdown, MentionExtension]:
    pair = _converters.get(allow_html)
    if pair is None:
        pair = _converters[allow_html] = configured(allow_html)
    return pair


def _flatten(tokens: list[dict]) -> list[TocEntry]:
    entries = []
    for token in tokens:
        entries.append(TocEntry(token["level"], token["id"], unescape(token["name"])))
        entries.extend(_flatten(token.get("children", [])))
    return entries


def convert(text: str, allow_html: bool = True, crew: Crew = NO_CREW) -> Converted:
    """Convert one article's Markdown; with `allow_html` false, raw HTML is shown as text.

    `crew` names the people whose mentions become links (see mentions.py).
    """
    md, mentions = _converter(allow_html)
    md.reset()
    mentions.begin(crew)
    html = _EMPTY_HEADER.sub(lambda m: f"<td{m.group(1) or ''}></td>", md.convert(text))
    html = _TABLE_OPEN.sub(_TABLE_WRAP + r"\g<0>", html).replace("</table>", "</table></div>").replace(_CODE_OPEN, _CODE_FOCUSABLE)
    state = mentions.state
    return Converted(Html(html), Toc(_flatten(md.toc_tokens)), len(_WORD.findall(text)),
                     tuple(state.mentioned), tuple(state.refs))
