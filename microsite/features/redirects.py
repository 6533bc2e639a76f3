"""Old article URLs kept alive: `aliases:` in front matter become small redirect pages.

Each alias is a page with a canonical link, a meta refresh and a plain link to the article's
current URL, so readers, crawlers and link checkers all arrive at the same place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import SiteError, located
from .slugs import make_slug
from ..output.write import safe_relative


@dataclass(frozen=True)
class Redirect:
    """One old path and the article it now points to. The article is held, not copied from, so
    a rebuild that keeps the plan puts the edited article in and its title reaches the page."""

    path: str
    """Site path of the old URL, e.g. `articles/old-slug/`."""
    article: Any
    """The article (model.Article) the path now leads to."""

    READS = {"target": "url", "title": "title", "path": "aliases"}
    """The article's field each name reads (render.Reads notes it)."""

    @property
    def target(self) -> str:
        """Site path of the article, e.g. `articles/new-slug/`."""
        return self.article.url

    @property
    def title(self) -> str:
        return self.article.title

    def __repr__(self) -> str:  # what a page can print of it, which is what fingerprints digest (deps.Digests)
        return f"Redirect(path={self.path!r}, target={self.target!r}, title={self.title!r})"

    @property
    def output(self) -> str:
        return f"{self.path}index.html" if self.path.endswith("/") else self.path


def alias_path(text: str) -> str | None:
    """Normalise an alias: a bare slug means `articles/<slug>/`; a path is taken from the site root."""
    text = text.strip()
    if not text:
        return None
    if "/" not in text:
        slug = make_slug(text)
        return f"articles/{slug}/" if slug else None
    path = text.lstrip("/")
    if not path.endswith(("/", ".html")):
        path += "/"
    try:
        safe_relative(path.rstrip("/") or ".")
    except ValueError:
        return None
    return path


LISTS = re.compile(r"articles/([0-9]{4}/)?$|(.+/)?page/[0-9]+/$")
"""Paths where the site publishes lists: the articles index, the year archives and later pages of any list."""


def check_aliases(items: list[tuple[str, tuple[int, int]]], problems) -> dict[str, tuple[int, int]]:
    """Validate the `aliases` list of one article; return the normalised paths, each with the
    line and column where it is first written."""
    places: dict[str, tuple[int, int]] = {}
    for text, where in items:
        path = alias_path(text)
        if path is None:
            problems.add(where, f"alias {text!r} is not a usable path; write an old slug or a path such as /articles/old-slug/")
        elif LISTS.match(path):
            problems.add(where, f"alias {text!r} names /{path}, where the site publishes a list of articles; write another path")
        else:
            places.setdefault(path, where)
    return places


def check_conflicts(metas) -> list[SiteError]:
    """Report aliases that collide with a live article or with another article's alias, naming
    the other article at its line."""
    live = {f"articles/{m.fields['slug']}/": located(m.raw.source, *m.raw.front.where("slug" if "slug" in m.raw.front else "title"))
            for m in metas}
    taken: dict[str, tuple[str, str]] = {}
    errors = []
    for meta in metas:
        for path, where in meta.fields["alias_places"].items():
            if path in live:
                errors.append(SiteError(meta.raw.source, *where, f"alias /{path} is the live URL of {live[path]}; remove it from aliases"))
            elif path in taken and taken[path][0] != meta.raw.source:
                errors.append(SiteError(meta.raw.source, *where, f"alias /{path} is already an alias of {taken[path][1]}"))
            taken.setdefault(path, (meta.raw.source, located(meta.raw.source, *where)))
    return errors


def redirects(articles) -> list[tuple[Any, Redirect]]:
    """List the redirect pages of every article's aliases, each with its article."""
    return [(a, Redirect(path, a)) for a in articles for path in a.aliases]


def slug_aliases(pairs) -> dict[str, str]:
    """Map old slugs to current ones from (slug, aliases) pairs, so `[[article:old-slug]]` still works."""
    found = {}
    for slug, aliases in pairs:
        for path in aliases:
            if path.startswith("articles/") and path.count("/") == 2:
                found[path.split("/")[1]] = slug
    return found
