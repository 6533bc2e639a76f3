"""Article bodies as HTML, held in memory or fetched from the build cache when a page needs them.

Only an article's own page and the feed print its body; every other page reads its title, date and
outline. A build of thousands of articles therefore keeps each body on disk (cache.Converter) and
holds none of them all at once. Equal digests mean equal HTML, so page fingerprints (deps.py) hash
the digest, never the text.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Callable

from ..source.content import text_digest

IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([\w:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


def attributes(tag: str) -> dict[str, str]:
    """The attributes of one HTML start tag, unescaped, names in lower case."""
    inner = tag[4:].rstrip(">").rstrip("/")
    return {m.group(1).lower(): html_lib.unescape(m.group(2) or m.group(3) or m.group(4) or "") for m in _ATTR.finditer(inner)}


def body_images(body: str) -> tuple[str, ...]:
    """The `src` of every <img> in an article body."""
    return tuple(a["src"] for a in (attributes(t) for t in IMG_TAG.findall(body)) if a.get("src"))


class Html:
    """An article body's HTML: its text, or a way to fetch it, with what other pages need of it."""

    __slots__ = ("_text", "_digest", "images", "_fetch")

    def __init__(self, text: str | None = None, *, digest: str | None = None, images: tuple[str, ...] | None = None,
                 fetch: Callable[[], str] | None = None):
        if text is None and (fetch is None or digest is None or images is None):
            raise ValueError("a body without its text needs a digest, its images and a way to fetch it")
        self._text = text
        self._digest = digest
        self.images: tuple[str, ...] = body_images(text) if images is None else images
        """The `src` of every <img>, for images.collect without the text."""
        self._fetch = fetch

    @property
    def held(self) -> bool:
        """Whether the text is in memory (else it is fetched when asked for)."""
        return self._text is not None

    @property
    def digest(self) -> str:
        if self._digest is None:
            self._digest = text_digest(self._text)
        return self._digest

    def __str__(self) -> str:
        return self._text if self._text is not None else self._fetch()

    def __html__(self) -> str:
        """Trusted HTML: a template printing the body gets it unescaped."""
        return str(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Html) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        return f"Html({self.digest})"

    def __reduce__(self):
        return (_restore, (str(self), self.digest, self.images))


def _restore(text: str, digest: str, images: tuple[str, ...]) -> Html:
    return Html(text, digest=digest, images=images)
