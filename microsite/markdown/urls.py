"""Which URLs may become links: `javascript:`, `vbscript:` and `data:` never come from data fields."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree

from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

DANGEROUS_SCHEMES = ("javascript", "vbscript", "data")
_IGNORED_BY_BROWSERS = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*)\s*:", re.IGNORECASE)
_LOOKS_LIKE_URL = re.compile(r"(javascript|vbscript|data)\s*:\S", re.IGNORECASE)
URL_KEYS = {"url", "href", "link", "links", "src", "image", "images", "website", "homepage", "source", "sources", "wikipedia"}
URL_SUFFIXES = ("_url", "_href", "_link", "_links", "_src", "_image")


def scheme(url: str) -> str:
    """Return the lowercase scheme a browser would see: entities decoded, ignored characters dropped."""
    if ":" not in url and "&" not in url:  # no colon, and no entity that could decode to one
        return ""
    text = _IGNORED_BY_BROWSERS.sub("", html.unescape(url)).lstrip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                                     "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
    match = _SCHEME.match(text)
    return match.group(1).lower() if match else ""


def is_dangerous(url: str) -> bool:
    """Tell whether following this URL would run script or show inline content."""
    return scheme(url) in DANGEROUS_SCHEMES


def is_url_key(key: object) -> bool:
    """Tell whether a data field's name says its value is a link target."""
    name = str(key).lower()
    return name in URL_KEYS or name.endswith(URL_SUFFIXES)


def refused_value(key: object, value: str) -> bool:
    """Tell whether a data value must be refused: a dangerous URL in a link field, or anywhere it
    reads as a URL (no space after the scheme)."""
    if not is_dangerous(value):
        return False
    return is_url_key(key) or bool(_LOOKS_LIKE_URL.match(_IGNORED_BY_BROWSERS.sub("", value).strip()))


class _DropDangerousLinks(Treeprocessor):
    """Remove `href`/`src` attributes whose URL would run script, as Hugo and goldmark do."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and is_dangerous(value):
                    del element.attrib[attribute]


class SafeLinks(Extension):
    """Markdown extension for sites with `unsafe_html: false`."""

    def extendMarkdown(self, md) -> None:
        md.treeprocessors.register(_DropDangerousLinks(md), "safe_links", 1)
