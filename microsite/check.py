"""`microsite check`: every validation of a build plus links and anchors, without writing anything.

A build stops on errors; `check` also reports warnings, things a reader would trip over that do
not make the site wrong: an image without alt text, a link to a page or anchor that does not
exist. `--strict` turns warnings into errors, for CI. It lists the articles a build holds back
because they are dated in the future, with when each is due.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .output import assets as assets_mod
from .source import content
from . import engine
from .output import claims, images, write
from .render import render
from .errors import BuildFailed, SiteError
from .features.slugs import make_slug
from .model import Settings, Site


class _Page(HTMLParser):
    """The ids a page offers and the links it makes, as a crawler reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []
        """(tag, attribute, URL) of every href, src and srcset candidate."""
        self.images: list[tuple[str, str | None]] = []
        """(src, alt) of every img."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if values.get(name):
                self.ids.add(values[name])
        for name in ("href", "src"):
            if values.get(name) is not None:
                self.links.append((tag, name, values[name]))
        for candidate in (values.get("srcset") or "").split(","):
            if candidate.strip():
                self.links.append((tag, "srcset", candidate.split()[0]))
        if tag == "img":
            self.images.append((values.get("src") or "", values.get("alt")))


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def _target(page_path: str, href: str, site: Site) -> tuple[str, str] | None:
    """Map a link on a page to (output path, fragment), or None when it leaves the site."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None  # absolute URLs may name pages this site does not build (feeds, canonical links, sources)
    path = unquote(parts.path)
    if not path:
        return page_path, parts.fragment
    if path.startswith("/"):
        if not path.startswith(site.config.base_path):
            return ("/" + path.lstrip("/")), parts.fragment  # outside the base path: never a file of the site
        path = path[len(site.config.base_path):]
    else:
        path = posixpath.join(posixpath.dirname(page_path), path)
    trailing = path.endswith("/") or path == ""
    path = posixpath.normpath(path) if path else ""
    path = "" if path == "." else path
    if trailing or not path:
        path = f"{path}/index.html".lstrip("/")
    return path, parts.fragment


def _line_of(raw: content.RawArticle, needle: str) -> tuple[int, int] | None:
    """Find where a link target is written in an article's Markdown body."""
    index = raw.body.find(needle)
    if index < 0:
        return None
    line = raw.body.count("\n", 0, index)
    column = index - (raw.body.rfind("\n", 0, index) + 1) + 1
    return raw.body_line + line, column


def _tag_spellings(site: Site, raws) -> list[SiteError]:
    """Tags spelt otherwise than one with the same slug: they share its page, which takes the
    spelling of the newest article that uses it; each other spelling is pointed out where written."""
    first: dict[str, tuple[str, str]] = {}
    found = []
    for article in site.articles:  # newest first, as the page takes its name
        for name in article.tags:
            slug = make_slug(name)
            shown, where = first.setdefault(slug, (name, article.source))
            if shown != name:
                found.append(SiteError(article.source, *raws[article.source].front.where("tags"),
                                       f"warning: tag {name!r} shares the page tags/{slug}/ with {shown!r} ({where}), "
                                       f"which names it; spell them alike"))
    return found


def check_site(settings: Settings, now: dt.datetime | None = None) -> tuple[list[SiteError], list[SiteError]]:
    """Validate and render the whole site in memory as a build at `now` would; return the warnings
    and the scheduled articles it holds back, raise BuildFailed on errors."""
    write.check_output_folder(settings.output, settings.source)
    found: list[SiteError] = []
    now = now or dt.datetime.now(dt.timezone.utc)
    site = engine.load_site(settings, warnings=found, now=now)
    static = assets_mod.collect(engine.theme_dirs(settings.source, "static"))
    library = images.collect(settings.source, static, site)
    env = render.environment(engine.theme_dirs(settings.source, "templates"), site, static, library)
    pages = render.plan(site)
    rendered: dict[str, str] = {}
    templates: dict[str, str] = {}
    errors = claims.clashes(claims.of_build(pages, static, library, site))

    def safe(path: str, where: str) -> bool:
        try:
            write.safe_relative(path)
        except ValueError as exc:
            errors.append(SiteError(where, 0, 0, str(exc)))
            return False
        return True

    for asset in static.values():
        safe(asset.output, f"static/{asset.name}")

    def emit(page, text: str) -> None:
        if safe(page.path, page.path):
            rendered[page.path] = text
            templates[page.path] = page.template

    render.render_all(env, pages, emit)
    if errors:
        raise BuildFailed(errors)

    raws = {a.source: _raw(settings.source, a.source) for a in site.articles}
    warnings: list[SiteError] = found
    scheduled = [SiteError(rel, *_raw(settings.source, rel).front.where("date"),
                           f"scheduled for {date:%Y-%m-%d %H:%M} UTC: held back until the first build after then "
                           f"(--future publishes it now)") for rel, date in site.scheduled]
    for article in site.articles:
        raw = raws[article.source]
        if article.image and not article.image_alt:
            warnings.append(SiteError(article.source, *raw.front.where("image"),
                                      "warning: 'image' has no 'image_alt'; describe the picture for readers who cannot see it"))
        for src, alt in _parse(str(article.body)).images:
            if not (alt or "").strip():
                where = _line_of(raw, src) or (raw.body_line, 1)
                warnings.append(SiteError(article.source, *where,
                                          f"warning: image {src!r} has no alt text; write it as ![what it shows]({src})"))

    warnings += _tag_spellings(site, raws)

    strings = site.config.strings
    if site.config.languages and strings:
        default = strings.default
        warnings += [SiteError(f"i18n/{code}.yaml", 0, 0, f"warning: no interface string {key!r} in {code}; "
                                                          f"pages in {code} show the {default} one (from i18n/{default}.yaml)")
                     for code, key in strings.missing()]
    parsed = {path: _parse(text) for path, text in rendered.items() if path.endswith(".html")}
    files = set(rendered) | {a.output for a in static.values()} | library.outputs()
    by_page = {f"{a.url}index.html": a for a in site.articles}
    for path, page in sorted(parsed.items()):
        article = by_page.get(path)
        for tag, attribute, href in page.links:
            if href.startswith(("mailto:", "tel:")):
                continue
            target = _target(path, href, site)
            if target is None:
                continue
            file, fragment = target
            problem = ""
            if file not in files:
                problem = f"broken internal link {href!r}: no page {file}"
            elif fragment and file in parsed and unquote(fragment) not in parsed[file].ids:
                problem = f"broken anchor {href!r}: {file} has no id {unquote(fragment)!r}"
            if not problem:
                continue
            where = None
            if article:
                raw = raws[article.source]
                where = raw.front.where("image") if article.image and href.endswith(article.image) else _line_of(raw, href)
            if where:
                warnings.append(SiteError(article.source, *where, f"warning: {problem}"))
            else:
                warnings.append(SiteError(f"templates/{templates[path]}", 0, 0, f"warning: {problem} (on {path})"))
    return sorted(set(warnings)), scheduled


def _raw(source: Path, rel: str) -> content.RawArticle:
    return content.read_article(source / rel, rel, None)


def run(settings: Settings, strict: bool = False, quiet: bool = False) -> int:
    """Check the site without writing the output folder; return the exit status."""
    try:
        warnings, scheduled = check_site(settings)
    except BuildFailed as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"microsite: check failed with {_count(len(exc.errors), 'problem')}; nothing written", file=sys.stderr)
        return 1
    for warning in warnings:
        print(warning, file=sys.stderr)
    if warnings and strict:
        print(f"microsite: check failed with {_count(len(warnings), 'warning')} (--strict); nothing written", file=sys.stderr)
        return 1
    if not quiet:
        for article in scheduled:
            print(article)
        held = f"; {_count(len(scheduled), 'scheduled article')} held back" if scheduled else ""
        print(f"microsite: check passed with {_count(len(warnings), 'warning')}{held}; nothing written")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"
