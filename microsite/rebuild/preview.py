"""An edited article's own page, rewritten the moment its file is saved, before the full rebuild.

In a large site a watch-mode rebuild still reads and plans every article, which takes seconds; an
author who saved one article wants that page now. When the save changed only the body of an
article the last build published (its front matter, mentions and links to other articles as
before), every other page stays as it is, and this page is rendered with the last build's site and
the new body: the bytes the full rebuild will write too. That rebuild follows at once and makes
everything else consistent; anything this shortcut cannot vouch for (a new title or date, a
problem in the file, a `[[...]]` reference or a link to an article file, headings changed while
other articles link to headings) is left to it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from pathlib import Path
from typing import Any

import jinja2

from ..source import content, schema, yaml12
from ..markdown import markup
from ..render import render
from ..errors import BuildFailed
from ..source.content import RawArticle
from ..model import Article, Page, Settings, Site


@dataclass(frozen=True)
class Built:
    """What the last successful build of a session rendered with: enough to render one article again."""

    site: Site
    env: jinja2.Environment
    pages: dict[str, Page]
    """Each published article's own page, by the article's source path."""
    crew: Any
    """The crew data conversion links mentions with (mentions.Crew)."""
    limit: int


def remember(site: Site, env: jinja2.Environment, pages: list[Page], crew: Any, limit: int) -> Built:
    """Keep what `page` needs from a build that succeeded."""
    return Built(site, env, render.article_pages(pages), crew, limit)


def page(settings: Settings, built: Built, rel: str) -> tuple[str, bytes] | None:
    """Render the page of the article at `rel` (a source-relative path) after a body-only edit.

    Returns (output path, bytes), or None when the edit needs the full rebuild to be shown right.
    """
    old_page = built.pages.get(rel)
    path = settings.source / rel
    if old_page is None or path.is_symlink():
        return None
    old: Article = old_page.context["article"]
    new = rebodied(path, rel, built.limit, old, built.site, built.crew)
    if new is None:
        return None
    try:
        text = render.render(built.env, Page(old_page.path, old_page.template, {**old_page.context, "article": new[0]}, old_page.deps))
    except BuildFailed:
        return None
    return old_page.path, text.encode("utf-8")


def rebodied(path: Path, rel: str, limit: int | None, old: Article, site: Site, crew: Any) -> tuple[Article, RawArticle] | None:
    """Read an article file again; when only its body changed since `old` (its front matter,
    mentions and images as before, no `[[...]]` reference or file link to resolve against the whole site, no
    problem, and its headings as before when any article links to headings), return its new record,
    whose body, headings and length are new, and what was read."""
    try:
        raw = content.read_article(path, rel, limit)
    except (yaml12.LocatedProblem, OSError, ValueError):
        return None
    problems = schema.Problems(rel)
    meta = schema.check_article(raw, {m.id for m in site.crew}, problems, {e.id for e in site.events})
    if raw.over_limits or meta is None or problems.errors:
        return None
    try:
        body = markup.convert(raw.body, site.config.unsafe_html, crew)
    except RecursionError:
        return None
    if body.refs:
        return None
    lines = MappingProxyType({key: raw.front.where(key)[0] for key in raw.front})
    new = Article(source=rel, body=body.html, toc=body.toc, words=body.words, mentions=body.mentions,
                  field_lines=lines, **meta.fields)
    if dataclasses.replace(new, body=old.body, toc=old.toc, words=old.words) != old or body.html.images != old.body.images:
        return None  # other pages show what changed, or the images the site publishes change
    if new.toc != old.toc and site.linked:
        return None  # an article links to headings, maybe these: resolved against the whole site
    return new, raw
