"""Pages from a Site: what pages exist (plan) and their text (render); no file is read or written."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import traceback
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote

import jinja2
import jinja2.bccache
import jinja2.defaults
from markupsafe import Markup

from ..features import i18n, ics, lang, paging, redirects, related, seo, timeline
from ..output import cards, images, search
from . import parallel
from ..output.assets import Asset
from ..errors import BuildFailed, SiteError
from ..model import Article, CrewMember, Language, Origin, Page, Site, SitePath
from ..progress import NONE, Progress
from ..markdown import typography
from ..markdown.mentions import strip_cards
from ..source.schema import make_slug

FEED_ARTICLES = 20
"""Each feed carries the latest articles only: readers poll it, and its size must not grow with the site."""
TAGS_PER_ARTICLE = 10
"""A page of the tags index holds this many tags for each article a page of a list holds (`per_page`):
a tag is one short line."""
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
FEED_NAMESPACE = uuid.UUID("6f1d1c52-8a3e-5f0b-9b0e-2c6f3a0d7e41")
"""Feed ids are UUIDs in this namespace, derived from the site title and the entry, never the URL."""


def _format_date(value: dt.datetime | dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def _format_utc(value: dt.datetime) -> str:
    return f"{_format_date(value)}, {value:%H:%M} UTC"


def _iso(value: dt.datetime | dt.date) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _json(value: Any) -> Markup:
    """Serialise for a <script> block: `<`, `>` and `&` escaped so data cannot close the tag."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def _json_value(value: Any) -> str:
    """Serialise for a JSON file (the JSON Feed): text as written, nothing escaped for HTML."""
    return json.dumps(value, ensure_ascii=False)


_UNQUOTED = re.compile(r"[A-Za-z0-9_.~/#?=&%-]*")
"""What `quote` leaves as it is with the safe characters of a URL path (most site paths)."""


def _quoted(path: str) -> str:
    """A site path as a URL path: what is not ASCII or not safe in a URL percent-encoded."""
    return path if _UNQUOTED.fullmatch(path) else quote(path, safe="/#?=&%~")


_language: str | None = None
"""Code of the language of the page being rendered, in a multilingual site: what `url`, `t` and
dates on that page speak (`lang` in the page's context)."""


def environment(template_dirs: list[Path], site: Site, assets: Mapping[str, Asset],
                library: images.Library | None = None, fragments: Fragments | None = None) -> Environment:
    """Make the Jinja2 environment: autoescape on, undefined names are errors, site helpers global.
    `fragments` keeps what `cached` macros printed beyond this environment (a session's builds)."""
    env = Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "xml", "htm"), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    base_path = site.config.base_path

    prefixes = {language.code: language.prefix for language in site.config.languages}
    shared = tuple(p for p in prefixes.values() if p) + ("static/", "cards/")

    def local(path: str) -> str:
        """A site path inside the folder of the page's language, unless it names its own (an
        article's URL, a language's folder) or a file all languages share (static files, cards)."""
        named = isinstance(path, SitePath)
        path = path.lstrip("/")
        if not prefixes or named or _language is None or path.startswith(shared):
            return path
        return prefixes.get(_language, "") + path

    def root_url(path: str = "") -> str:
        return base_path + _quoted(path.lstrip("/"))

    def url(path: str = "") -> str:
        """Root-relative URL of a site path, under the site's base path (and the page's language)."""
        return base_path + _quoted(local(path))

    def abs_url(path: str = "") -> str:
        """Absolute URL of a site path, for feeds, canonical links and sitemaps."""
        return site.config.base_url + _quoted(local(path))

    def asset(name: str) -> str:
        """URL of a static file by its name in `static/`, fingerprinted where it applies."""
        env.note_asset(name)
        if name not in assets:
            raise LookupError(f"no static file {name!r}; put it in static/")
        return root_url(assets[name].output)

    env.globals.update(
        site=site.config,
        data=site.data,
        mission=site.data.get("mission", {}),
        film=site.data.get("film", {}),
        crew=site.crew,
        events=site.events,
        tags=site.tags,
        url=url,
        abs_url=abs_url,
        asset=asset,
    )
    env.fragments = fragments or Fragments()

    def cached(template: str, macro: str, *args: Any, **kwargs: Any) -> Any:
        """What macro `macro` of `template` prints for these arguments, rendered once and then
        reused (`Fragments`): for a macro that reads only its arguments and the globals."""
        return env.fragments.call(env, template, macro, args, kwargs)

    env.globals["cached"] = cached
    def urn(value: str) -> str:
        """A permanent Atom id that survives moving the site to another address."""
        return f"urn:uuid:{uuid.uuid5(FEED_NAMESPACE, f'{site.config.title}:{value}')}"

    env.filters.update(urn=urn, date=_format_date, utc=_format_utc, iso=_iso, tojson=_json, strip_cards=strip_cards, json=_json_value, tag_url=lambda name: url(f"tags/{make_slug(name)}/"))
    _add_output_helpers(env, site, library or images.Library(), root_url, abs_url)
    _add_language_helpers(env, site, site.config.strings or i18n.load_strings([i18n.THEME_STRINGS], ["en"], _theme_yaml), root_url)
    for name, function in list(env.filters.items()):
        if jinja2.defaults.DEFAULT_FILTERS.get(name) is not function:
            env.filters[name] = _at_render(function)
    env.bytecode_cache = Compiled(repr(sorted(env.filters)))
    return env


class Compiled(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the whole process; Jinja checks each against its source.

    Every build of the process reuses them (a session's rebuilds, a check, a test run's many
    builds). Compiled code depends on the template's text and on which filters the environment
    has (a site's own filters never run at compile time: `_at_render`), so that set is in the key.
    """

    _store: dict[tuple[str, str], bytes] = {}
    _MOST = 512

    def __init__(self, filters: str) -> None:
        self.filters = filters

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self._store.get((self.filters, bucket.key))
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if len(self._store) > self._MOST:
            self._store.clear()
        self._store[(self.filters, bucket.key)] = bucket.bytecode_to_string()


def _at_render(function: Callable[..., Any]) -> Callable[..., Any]:
    """A site filter that Jinja calls when a page renders, never while compiling: Jinja folds a
    filter of a constant (`"feed"|urn`) at compile time, and a site's filters read its data and the
    page's language, so compiled templates would otherwise hold one site's or one page's answers."""
    @jinja2.pass_context
    def at_render(context: Any, *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)
    return at_render


def _theme_yaml(path: Path, rel: str) -> Mapping[str, Any]:
    """The bundled theme's strings, for a site record made without reading them (tests, tools)."""
    from ..source import yaml12
    return yaml12.load_file_text(path.read_text(encoding="utf-8"), rel)


def _add_language_helpers(env: Environment, site: Site, strings: i18n.Strings, root_url: Callable[[str], str]) -> None:
    """Interface strings, dates and tag names in the language of the page being rendered."""
    default = strings.default

    def here() -> str:
        return _language or default

    def t(key: str, count: int | None = None, **values: Any) -> str:
        """Interface string `key` in the page's language, in the plural form of `count`."""
        return strings.text(here(), key, count, **values)

    def t_forms(key: str) -> dict[str, str]:
        """Every plural form of interface string `key` in the page's language, for a script that
        counts in the browser (`Intl.PluralRules`); empty when no table has the key (a site's own
        table of the default language may predate it), and the script says it its own way."""
        return strings.forms(here(), key)

    def date(value: dt.datetime | dt.date) -> str:
        return i18n.format_date(value, here())

    def tag_name(name: str) -> str:
        return site.config.tag_names.get(name, {}).get(here(), name)

    names = {language.code: language.name for language in site.config.languages}
    env.globals.update(t=t, t_forms=t_forms, t_in=strings.text, languages=site.config.languages, root_url=root_url, alternates={}, feed_key="", page_lang=here,
                       language_name=lambda code: names.get(code, code))
    env.filters.update(tag_name=tag_name)
    if site.config.languages:
        env.filters.update(date=date, utc=lambda value: f"{date(value)}, {value:%H:%M} UTC")


def _add_output_helpers(env: Environment, site: Site, library: images.Library,
                        url: Callable[[str], str], abs_url: Callable[[str], str]) -> None:
    """Helpers for what browsers, crawlers and link previews read: images, JSON-LD, language marks."""
    default = site.config.language

    def page_language() -> str:
        return _language or default

    names = {m.id: m.name for m in site.crew}
    people = {language.code: {m.id: (f"{site.config.base_path}{language.prefix}{m.url}", names.get(m.id, ""), m.role, m.bio)
                               for m in site.views[language.code].crew}
              for language in site.config.languages if language.prefix}

    def share_image(article=None, card=None) -> images.Variant | cards.Card | None:
        """The picture a link preview shows for a page: the article's image, the page's card
        (`cards.of(page_url)`) or `static/share.*`."""
        if article is not None:
            env.note(article, "image")
            if card is not None:  # an article's card shows its title and date
                env.note(article, "title")
                env.note(article, "date")
        return images.share_image(library, article, card)

    def image_url(article) -> str | None:
        variant = share_image(article, library.cards.of(article.url))
        return abs_url(variant.output) if variant else None

    def article_html(article, feed: bool = False) -> str:
        """An article body (trusted HTML) with responsive images, or single sized ones for feeds, and language marks."""
        env.note(article, "body")
        body = images.rewrite_body(str(article.body), article, library, url, responsive=not feed)
        if site.config.strings and article.lang:
            body = i18n.localize_body(body, site.config.strings, article.lang)
        if article.lang in people:
            body = i18n.localize_mentions(body, people[article.lang])
        if article.lang.split("-")[0] == "ru":
            body = typography.russian_html(body)
        return lang.mark_html(body, article.lang or default)

    def picture(name: str, alt: str, sizes: str = images.DEFAULT_SIZES, css_class: str = "") -> Markup:
        """A responsive <picture> for a raster image in `static/`."""
        found = library.static(name)
        if found is None:
            raise LookupError(f"no raster image {name!r} in static/")
        return images.picture_html(found, alt, url, sizes, css_class)

    def article_picture(article, sizes: str = images.DEFAULT_SIZES) -> Markup:
        """The article's lead image as a responsive <picture>, or plain <img> if it is not a raster image."""
        env.note(article, "image")
        env.note(article, "image_alt")
        found = library.for_article(article, article.image)
        if found is None:
            try:
                src = env.globals["asset"](article.image.removeprefix("static/"))
            except LookupError:
                src = url(article.image)
            return Markup('<img src="{}" alt="{}">').format(src, article.image_alt or "")
        return images.picture_html(found, article.image_alt or "", url, sizes, lead=True)

    def describe(article) -> str:
        """The article's summary, or the opening of its body."""
        env.note(article, "summary")
        if not article.summary:
            env.note(article, "body")
        return seo.article_description(article)

    records = seo.StructuredData(site.config, abs_url, image_url, env.note)
    if site.config.languages:
        records = _ByLanguage({code: seo.StructuredData(view.config, abs_url, image_url, env.note) for code, view in site.views.items()},
                              page_language)
    env.globals.update(ld=records, share_image=share_image, cards=library.cards,
                       article_html=article_html, picture=picture, article_picture=article_picture)
    env.filters.update(describe=describe, langmark=lambda value: lang.mark_text(value, page_language()))


class _ByLanguage:
    """One helper per language, answering as the one of the language of the page being rendered."""

    def __init__(self, helpers: Mapping[str, Any], language: Callable[[], str]):
        self.helpers, self.language = helpers, language

    def __getattr__(self, name: str) -> Any:
        return getattr(self.helpers[self.language()], name)

    def __repr__(self) -> str:
        return f"_ByLanguage({sorted(self.helpers.items())!r})"


PLAN_FIELDS = frozenset({"source", "slug", "url", "date", "updated", "modified", "tags", "crew", "mentions",
                         "people", "events", "aliases", "draft", "series", "field_lines", "alias_places", "lang", "original",
                         "prefix", "local_url"})
"""The fields of an article `plan` reads (its order, related articles, series, tags, crew,
timeline, redirects, year archives, feeds, sitemap, and where its pages come from for messages):
an edit that changes none of them leaves every page's context as it was but for the article itself."""


MISSION = "content/mission.yaml"


def _slug_line(article: Article) -> int:
    """The line an article's slug comes from: its `slug` field, else (as slug messages say) its title."""
    return article.field_lines.get("slug") or article.field_lines.get("title", 0)


def plan(site: Site, similar: related.Related | None = None) -> list[Page]:
    """List every page of the site with its template, context and where it comes from.

    Every list that grows with the site (the home page, tags, crew members, years, the tags index
    and the search page's plain list) is split into pages of `per_page` articles (paging.py).
    `similar` ranks related articles; a session keeps one, so that a rebuild ranks again only
    what an edit can change. A multilingual site has each page once per language, the default at
    the root and the others in their folders (`ru/`), each page knowing its translations."""
    if not site.config.languages:
        pages, sitemap = _plan_language(site, similar)
        return pages + _plan_root(sitemap)
    planned = {language.code: _plan_language(
                   site.views[language.code], similar.part(language.code) if similar else None, language,
                   (search.merged_folders(site, language.prefix), search.has_index(site, language.prefix)),
                   i18n.Spoken(site.config.strings, language.code) if site.config.strings else timeline.ENGLISH,
                   site.articles[0].modified if site.articles else None)
               for language in site.config.languages}
    found: dict[tuple[str, str], dict[str, SitePath]] = {}
    for language in site.config.languages:
        for page in planned[language.code][0]:
            if _is_page(page):
                found.setdefault(_identity(page), {})[language.code] = SitePath(language.prefix + page.context["page_url"])
    pages: list[Page] = []
    sitemap: list[tuple] = []
    for language in site.config.languages:
        view = site.views[language.code]
        shared = {"lang": language.code, "site": view.config, "data": view.data, "mission": view.data.get("mission", {}),
                  "film": view.data.get("film", {}), "crew": view.crew, "events": view.events, "tags": view.tags,
                  "feed_key": f":{language.code}" if language.prefix else ""}
        own, entries = planned[language.code]
        for page in own:
            alternates = found.get(_identity(page), {}) if _is_page(page) else {}
            pages.append(replace(page, path=language.prefix + page.path,
                                 context={**shared, **page.context, "alternates": alternates,
                                          "site_path": SitePath(language.prefix + page.context["page_url"])}))
        originals = {a.local_url: ("article", a.original or a.source) for a in view.articles if a.prefix == language.prefix}
        sitemap += [(SitePath(language.prefix + path), modified, found.get(originals.get(path, ("page", path)), {}))
                    for path, modified in entries]
    return pages + _plan_root(sitemap)


def _is_page(page: Page) -> bool:
    """Tell an HTML page readers see (with translations) from feeds, redirects and other files."""
    return page.path.endswith(".html") and page.template not in ("redirect.html", "404.html")


def _identity(page: Page) -> tuple[str, str]:
    """What a page is, the same in every language: an article by its original, else its place."""
    article = page.context.get("article")
    if page.template == "article.html" and isinstance(article, Article):
        return ("article", article.original or article.source)
    return ("page", page.context["page_url"])


def _plan_root(sitemap: list[tuple]) -> list[Page]:
    """The files of the site's root that no language has its own of: the sitemap and robots.txt."""
    return [Page("sitemap.xml", "sitemap.xml", {"pages": sitemap, "page_url": "sitemap.xml"}, Origin("the sitemap", template="sitemap.xml")),
            Page("robots.txt", "robots.txt", {"page_url": "robots.txt"}, Origin("robots.txt", template="robots.txt"))]


def _plan_language(site: Site, similar: related.Related | None = None, language: Language | None = None,
                   searched: tuple[list[str], bool] | None = None, words: timeline.English = timeline.ENGLISH,
                   latest: dt.datetime | None = None) -> tuple[list[Page], list[tuple[str, dt.datetime | None]]]:
    """The pages of one language (of the site, when it has one) with paths inside its folder, and its sitemap entries."""
    crew_by_id = {m.id: m for m in site.crew}
    articles = site.articles
    own = language.code if language and language.prefix else ""
    written = [a for a in articles if a.lang == own] if language else articles
    per_page = site.config.per_page
    similar_to = (similar or related.Related()).of(written)
    parts = _series(written)
    newest = articles[0].modified if articles else latest
    pages: list[Page] = []
    sitemap: list[tuple[str, dt.datetime | None]] = []

    def paged(base: str, template: str, items: Sequence[Any], context: dict[str, Any],
              first: dt.datetime | None, origin: Origin, key: str = "articles", size: int = per_page) -> None:
        """Plan each page of one list, and its sitemap entry: the first page's `first`, a later
        page's newest change among its articles."""
        for pager, chunk in paging.pages(base, items, size):
            shown = [item for item in chunk if isinstance(item, Article)]
            pages.append(Page(f"{pager.here}index.html", template, {**context, key: chunk, "pager": pager, "page_url": pager.here},
                              origin))
            sitemap.append((pager.here, first if pager.number == 1 else max((a.modified for a in shown), default=newest)))

    def feeds(folder: str, listed: Sequence[Article], context: dict[str, Any],
              origin: Origin, kinds: tuple[str, ...] = ("feed.xml",)) -> None:
        """Plan the feeds of a list: its latest articles (FEED_ARTICLES), whatever its length."""
        latest = listed[:FEED_ARTICLES]
        updated = max((a.modified for a in listed), default=EPOCH)
        for kind in kinds:
            pages.append(Page(f"{folder}{kind}", kind, {**context, "articles": latest, "updated": updated, "page_url": f"{folder}{kind}"},
                              replace(origin, template=kind)))

    paged("", "home.html", articles, {}, newest, Origin("the home page", template="home.html"))
    for index, article in enumerate(written):
        newer = written[index - 1] if index > 0 else None
        older = written[index + 1] if index + 1 < len(written) else None
        members = [crew_by_id[c] for c in article.crew]
        similar = similar_to[article.source]
        series = parts.get(article.series, ()) if article.series else ()
        pages.append(Page(f"{article.local_url}index.html", "article.html",
                          {"article": article, "newer": newer, "older": older, "members": members, "related": similar,
                           "series": series, "page_url": article.local_url},
                          Origin("the article's page", article.source, _slug_line(article), template="article.html")))
        sitemap.append((article.local_url, article.modified))
    pages.append(Page("crew/index.html", "crew_list.html", {"page_url": "crew/"},
                      Origin("the crew list", MISSION, template="crew_list.html")))
    sitemap.append(("crew/", newest))
    featuring: dict[str, list] = {}
    for article in articles:
        for person in article.people:
            featuring.setdefault(person, []).append(article)
    for member in site.crew:
        own = featuring.get(member.id, [])
        made = Origin(f"the page of crew member {member.id!r}", MISSION, *member.place, template="crew.html")
        paged(member.url, "crew.html", own, {"member": member}, newest, made)
        feeds(member.url, own, {"member": member}, made)
    pages.append(Page("mission/index.html", "mission.html", {"days": timeline.build(site.events, articles, words), "page_url": "mission/"},
                      Origin("the mission page", MISSION, template="mission.html")))
    sitemap.append(("mission/", newest))
    calendar = ics.calendar(site.events, site.data.get("mission", {}).get("name") or site.config.title, site.config.base_url + "mission/")
    pages.append(Page("mission/events.ics", "events.ics", {"calendar": calendar, "page_url": "mission/events.ics"},
                      Origin("the mission calendar", MISSION, template="events.ics")))
    for article, redirect in redirects.redirects(written):
        pages.append(Page(redirect.output, "redirect.html", {"redirect": redirect, "page_url": redirect.target},
                          Origin(f"alias /{redirect.path}", article.source, *article.alias_places.get(redirect.path, (0, 0)))))
    by_year: dict[int, list[Article]] = {}
    for article in articles:
        by_year.setdefault(article.date.year, []).append(article)
    years = tuple((year, len(listed)) for year, listed in by_year.items())
    tagged_by = _tagged(site)
    counts = {slug: len(tagged) for slug, tagged in tagged_by.items()}
    paged("tags/", "tags.html", site.tags, {"counts": counts}, newest, Origin("the tag list", template="tags.html"),
          key="tags", size=TAGS_PER_ARTICLE * per_page)
    shards, indexed = searched or (search.merged_folders(site), bool(search.indexed_pages(site)))
    paged("search/", "search.html", articles, {"shards": shards, "indexed": indexed,
                                               "years": years}, newest,
          Origin("the search page", template="search.html"))
    for tag in site.tags:
        tagged = tagged_by[tag.slug]
        first = tagged[0]  # the newest article with the tag, whose spelling names it
        made = Origin(f"the page of tag {tag.name!r}", first.source, first.field_lines.get("tags", 0), template="tag.html")
        paged(tag.url, "tag.html", tagged, {"tag": tag}, max((a.modified for a in tagged), default=newest), made)
        feeds(tag.url, tagged, {"tag": tag}, made)
    pages.append(Page("articles/index.html", "years.html", {"years": years, "page_url": "articles/"},
                      Origin("the list of years", template="years.html")))
    sitemap.append(("articles/", newest))
    for year, listed in by_year.items():
        paged(f"articles/{year}/", "year.html", listed, {"year": year}, max(a.modified for a in listed),
              Origin(f"the archive of {year}", template="year.html"))
    feeds("", articles, {}, Origin("the feed"), ("feed.xml", "feed.json"))
    pages.append(Page("404.html", "404.html", {"page_url": "404.html"}, Origin("the 404 page", template="404.html")))
    return pages, sitemap


def article_pages(pages: Iterable[Page]) -> dict[str, Page]:
    """Each published article's own page, by the article's source path."""
    return {page.context["article"].source: page for page in pages
            if page.template == "article.html" and isinstance(page.context.get("article"), Article)}


def _tagged(site: Site) -> dict[str, list]:
    """Each tag's articles, newest first, in one pass over the articles."""
    tagged: dict[str, list] = {t.slug: [] for t in site.tags}
    for article in site.articles:
        for slug in dict.fromkeys(make_slug(n) for n in article.tags):
            tagged[slug].append(article)
    return tagged


def _series(articles: Sequence[Article]) -> dict[str, tuple[Article, ...]]:
    """Each series' parts, in order of date (then slug), by the series name."""
    parts: dict[str, list[Article]] = {}
    for article in sorted(articles, key=lambda a: (a.date, a.slug)):
        if article.series:
            parts.setdefault(article.series, []).append(article)
    return {name: tuple(found) for name, found in parts.items()}


class _PageProblem(Exception):
    """A template problem met while rendering one page; `shared` is true when the page is not the cause."""

    def __init__(self, error: SiteError, shared: bool = True):
        super().__init__(str(error))
        self.error, self.shared = error, shared


def _render(env: jinja2.Environment, page: Page) -> str:
    global _language
    _language = page.context.get("lang")
    try:
        return env.get_template(page.template).render(page.context)
    except jinja2.TemplateSyntaxError as exc:
        raise _PageProblem(_syntax_error(exc, page.template), shared=False) from None
    except jinja2.TemplateNotFound as exc:
        missing = exc.name if isinstance(exc.name, str) else page.template
        if missing == page.template:
            raise _PageProblem(SiteError(f"templates/{missing}", 0, 0, f"template not found (needed for {page.path}); "
                                                                        f"add templates/{missing}"), shared=False) from None
        where, line = _template_frame(exc, page.template)
        raise _PageProblem(SiteError(where, line, 0, f"template {missing!r} not found; add templates/{missing} or fix the name")) from None
    except jinja2.UndefinedError as exc:
        where, line = _template_frame(exc, page.template)
        raise _PageProblem(SiteError(where, line, 0, f"{exc.message}; check the spelling, or test it with 'is defined'")) from None
    except (LookupError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError) as exc:
        where, line = _template_frame(exc, page.template)
        raise _PageProblem(SiteError(where, line, 0, f"{type(exc).__name__}: {exc}")) from None
    finally:
        _language = None


def _while(error: SiteError, pages: list[str]) -> SiteError:
    """Say which page (and how many more) a template problem broke."""
    others = len(pages) - 1
    more = f" and {others} other page{'s' if others != 1 else ''}" if others else ""
    return SiteError(error.path, error.line, error.column, f"{error.message} (while rendering {pages[0]}{more})")


def render(env: jinja2.Environment, page: Page) -> str:
    """Render one page to text; template problems become SiteErrors naming template and line."""
    try:
        return _render(env, page)
    except _PageProblem as exc:
        raise BuildFailed([_while(exc.error, [page.path]) if exc.shared else exc.error]) from None


def _syntax_error(exc: jinja2.TemplateSyntaxError, fallback: str) -> SiteError:
    return SiteError(_template_name(exc.filename or exc.name or fallback), exc.lineno or 0, 0, f"template syntax error: {exc.message}")


_CHECKED: dict[tuple[str, str, str], SiteError | None] = {}
"""The outcome of compiling each template text, by name, file and text, for every build of the
process: compiling is pure, and a process that builds again (serve, a test run) checks each once."""


def template_problems(template_dirs: list[Path]) -> list[SiteError]:
    """Compile every template without rendering, so syntax errors show even when no page renders."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(d) for d in template_dirs]), autoescape=True)
    errors = []
    if len(_CHECKED) > 1024:
        _CHECKED.clear()
    for name in env.list_templates():
        if Path(name).name.startswith((".", "#", "~")) or name.endswith(("~", ".swp", ".tmp", ".bak")):
            continue
        try:
            source, filename, _ = env.loader.get_source(env, name)
        except jinja2.TemplateNotFound:
            continue  # removed since it was listed
        except UnicodeDecodeError as exc:
            errors.append(SiteError(f"templates/{name}", 0, 0, f"not valid UTF-8 ({exc.reason}); save the template as UTF-8"))
            continue
        key = (name, filename or "", source)
        if key not in _CHECKED:
            _CHECKED[key] = _compile_problem(env, name, filename, source)
        if _CHECKED[key] is not None:
            errors.append(_CHECKED[key])
    return errors


def _compile_problem(env: jinja2.Environment, name: str, filename: str | None, source: str) -> SiteError | None:
    try:
        env.compile(source, name, filename)
    except jinja2.TemplateAssertionError:
        return None  # an unknown filter or test here may be one the site's environment adds
    except jinja2.TemplateSyntaxError as exc:
        return _syntax_error(exc, name)
    return None


def _template_name(filename: str) -> str:
    """Name a template file as messages show it, relative to its templates folder."""
    path = Path(filename)
    if path.is_absolute():
        parts = path.parts
        if "templates" in parts:
            index = len(parts) - 1 - parts[::-1].index("templates")
            return "/".join(parts[index:])
        return f"templates/{path.name}"
    return f"templates/{filename}"


def _template_frame(exc: BaseException, fallback: str) -> tuple[str, int]:
    """Find the innermost template line in a render traceback (Jinja maps frames to templates)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not frame.filename.endswith(".py") and not frame.filename.startswith("<"):
            return _template_name(frame.filename), frame.lineno or 0
    return f"templates/{fallback}", 0


BODY_FIELDS = frozenset({"body", "toc", "words"})
"""What a body-only edit changes in an article's record."""
ANY = "*"
"""A read of every field of a record (a helper that hands the whole record on)."""

Read = tuple[str, str]
"""(record key, field): an article by its source path, a crew member as `crew:id`, a static
file as `asset:name`."""


def record_key(record: Any) -> str | None:
    """The key by which reads of a record are recorded; None for values that are not records."""
    kind = type(record)
    if kind is Article:
        return record.source
    if kind is CrewMember:
        return f"crew:{record.lang}:{record.id}" if record.lang else f"crew:{record.id}"
    return None


class Fields:
    """What one page read, as a set of reads (`(key, name) in fields`, iterating gives the reads)
    kept as the names read of each record: a site's pages read the same few sets of fields of
    many records, so each set of names is one object shared by every page that reads it
    (`Reads.interned`), and a page costs a small dict instead of a set of every read."""

    __slots__ = ("by_record",)

    def __init__(self, by_record: Mapping[str, frozenset[str]] | None = None) -> None:
        self.by_record: Mapping[str, frozenset[str]] = by_record or {}

    def __contains__(self, read: Read) -> bool:
        names = self.by_record.get(read[0])
        return names is not None and read[1] in names

    def __iter__(self) -> Iterator[Read]:
        for key, names in self.by_record.items():
            for name in names:
                yield key, name

    def __repr__(self) -> str:
        return f"Fields({sorted(self)!r})"


NONE_READ = Fields()


class Reads:
    """The recorder handed to rendering: which fields of which records one page read.

    Templates reach a field through the environment's attribute and item lookups (`Environment`),
    and the helpers that print or describe a record say what they read (`note`)."""

    def __init__(self, interned: dict[Any, Any] | None = None) -> None:
        self.by_record: dict[str, set[str]] = {}
        self.interned = {} if interned is None else interned
        """One object for each record key and each set of names read, shared by every page that
        reads it: a site's pages make hundreds of thousands of reads of far fewer distinct ones."""

    def note(self, record: Any, name: str = ANY) -> None:
        """Note that the page read field `name` of `record` (ANY: all of it); what a page reads
        of a redirect it reads of the redirect's article."""
        kind = type(record)
        if kind is redirects.Redirect:
            record, name, kind = record.article, redirects.Redirect.READS.get(name, ANY), Article
        if kind is Article or kind is CrewMember:
            self._add(record_key(record), name)

    def asset(self, name: str) -> None:
        """Note that the page named the static file `name` (its fingerprinted path)."""
        self._add(f"asset:{name}", "output")

    def _add(self, key: str, name: str) -> None:
        names = self.by_record.get(key)
        if names is None:
            self.by_record[self.interned.setdefault(key, key)] = {name}
        else:
            names.add(name)

    def add(self, fields: Fields) -> None:
        """Note every read of `fields` (what a cached macro read, for a page that prints it)."""
        for key, names in fields.by_record.items():
            own = self.by_record.get(key)
            if own is None:
                self.by_record[key] = set(names)
            else:
                own.update(names)

    def frozen(self) -> Fields:
        """What the page read, for keeps."""
        if not self.by_record:
            return NONE_READ
        intern = self.interned.setdefault
        return Fields({key: intern(names := frozenset(found), names) for key, found in self.by_record.items()})


def bodies_read(reads: Fields) -> frozenset[str]:
    """The articles (by source) whose body fields a page read."""
    return frozenset(key for key, names in reads.by_record.items()
                     if key.startswith("content/") and (ANY in names or not BODY_FIELDS.isdisjoint(names)))


class Environment(jinja2.Environment):
    """The Jinja environment of a site: every attribute or item a template looks up passes
    through here, so the recorder of the page being rendered (`reads`) sees what it reads."""

    reads: Reads | None = None
    fragments: Fragments
    interned: dict[Any, Any] | None = None
    """Record keys and sets of names shared across pages (Reads.interned); a session keeps one
    table for all its builds."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if self.reads is not None:
            self.reads.note(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if self.reads is not None and isinstance(argument, str):
            self.reads.note(obj, argument)
        return super().getitem(obj, argument)

    def note(self, record: Any, name: str = ANY) -> None:
        """Tell the recorder of the page being rendered that a helper read a record's field."""
        if self.reads is not None:
            self.reads.note(record, name)

    def note_asset(self, name: str) -> None:
        """Tell the recorder of the page being rendered that a helper named a static file."""
        if self.reads is not None:
            self.reads.asset(name)

    @contextlib.contextmanager
    def recording(self, reads: Reads) -> Iterator[Reads]:
        """Record into `reads` what templates and helpers read while the block renders one page."""
        self.reads = reads
        try:
            yield reads
        finally:
            self.reads = None


class Fragments:
    """What macros called through `cached` printed, by template, macro, arguments and the page's
    language, for every page that calls them again.

    A macro imported without context sees only its arguments and the globals, so what it prints
    is a function of its arguments, the page's language, and its template's part (deps.Inputs.part:
    the template files and the globals they name) but for the fields of records it reads, which
    each entry keeps (the pages that print it read them too). Arguments are plain values and
    records, the very objects (a record that changed is another object). An environment of its
    own keeps entries for its builds only; a session's keeps them across builds (`begin`)."""

    MOST = 16 << 20
    """Characters kept at most; past that the entries start again."""

    def __init__(self) -> None:
        self._entries: dict[tuple, tuple[Any, tuple, Any, Fields]] = {}
        self._readers: dict[str, set[tuple]] = {}
        """Keys of the entries that read each record, for dropping those an edit changes."""
        self._size = 0
        self._stamp: Callable[[str], Any] = lambda template: ""

    def begin(self, part: Callable[[str], str | None], changed: Mapping[str, set[str]] | None) -> None:
        """Start a build whose templates' parts are `part` and whose records changed these fields
        since the last one (None: not known): entries that read a changed field are dropped, and
        those made with another part of their template are not used."""
        self._stamp = part
        if changed is None or len(changed) > len(self._entries) // 4 + 64:
            self.clear()
            return
        for key, fields in changed.items():
            for entry in self._readers.pop(key, ()):
                found = self._entries.get(entry)
                if found is None:
                    continue
                read = found[3].by_record.get(key, frozenset())
                if ANY in fields or ANY in read or not read.isdisjoint(fields):
                    del self._entries[entry]
                    self._size -= len(found[2])
                else:
                    self._readers.setdefault(key, set()).add(entry)

    def clear(self) -> None:
        self._entries.clear()
        self._readers.clear()
        self._size = 0

    def call(self, env: Environment, template: str, macro: str, args: tuple, kwargs: Mapping[str, Any]) -> Any:
        """Print macro `macro` of `template` (imported without context) with these arguments."""
        names = tuple(sorted(kwargs))
        values = (*args, *(kwargs[name] for name in names))
        key = _fragment_key(template, macro, values, names)
        stamp = self._stamp(template) if key is not None else None
        if stamp is None:
            return getattr(env.get_template(template).module, macro)(*args, **kwargs)
        records = tuple(value for value in values if record_key(value) is not None)
        found = self._entries.get(key)
        if found is not None and found[0] == stamp and all(a is b for a, b in zip(found[1], records)):
            if env.reads is not None:
                env.reads.add(found[3])
            return found[2]
        outer = env.reads
        env.reads = Reads(env.interned)
        try:
            text = getattr(env.get_template(template).module, macro)(*args, **kwargs)
            reads = env.reads.frozen()
        finally:
            env.reads = outer
        if outer is not None:
            outer.add(reads)
        if found is not None:
            self._size -= len(found[2])
        if self._size > self.MOST:
            self.clear()
        self._entries[key] = (stamp, records, text, reads)
        self._size += len(text)
        for record in reads.by_record:
            self._readers.setdefault(record, set()).add(key)
        return text


def _fragment_key(template: str, macro: str, values: tuple, names: tuple[str, ...]) -> tuple | None:
    """The key of a cached macro call, or None when an argument is neither a plain value nor a record."""
    parts: list[Any] = [template, macro, _language, names]
    for value in values:
        kind = type(value)
        if kind in _PLAIN or _is_value(value):
            parts.append((kind, value))
            continue
        key = record_key(value)
        if key is None:
            return None
        parts.append(key)
    return tuple(parts)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _is_value(value: Any) -> bool:
    """Tell a frozen record or a tuple of plain values (a list's `Pager`, the search page's
    shards), which equal values stand for."""
    kind = type(value)
    if kind is tuple:
        return all(type(item) in _PLAIN or _is_value(item) for item in value)
    params = getattr(kind, "__dataclass_params__", None)
    return params is not None and params.frozen and record_key(value) is None \
        and all(type(getattr(value, name)) in _PLAIN for name in kind.__dataclass_fields__)


@dataclass(frozen=True)
class Rendered:
    """One page's outcome: its text and what it read, or the problem that stopped it."""

    text: str | None
    reads: Fields = NONE_READ
    """The fields of records the page read."""
    problem: SiteError | None = None
    shared: bool = False
    """Whether the problem lies in a template other pages share, not in this page."""


def _attempt(env: Environment, page: Page) -> Rendered:
    """Render one page, recording what it reads; a template problem becomes part of the outcome."""
    with env.recording(Reads(env.interned)) as reads:
        try:
            return Rendered(_render(env, page), reads.frozen())
        except _PageProblem as exc:
            return Rendered(None, problem=exc.error, shared=exc.shared)


def _shared(fields: Fields, interned: dict[Any, Any] | None) -> Fields:
    """What a page rendered in a worker read, made of the keys and sets of names this process
    shares (Reads.interned) instead of the copies it arrived as."""
    if interned is None or not fields.by_record:
        return fields
    return Fields({interned.setdefault(key, key): interned.setdefault(names, names) for key, names in fields.by_record.items()})


def render_all(env: Environment, pages: list[Page], emit: Callable[[Page, str], None], workers: int = 1,
               reads: dict[str, Fields] | None = None, progress: Progress = NONE) -> None:
    """Render pages into `emit`, in order, collecting every template problem.

    With `workers` other than 1 (0: one per core), pages are rendered in forked processes and
    emitted here. One mistake in a shared template fails every page; it is reported once, naming
    how many other pages it broke. `reads` gets, by output path, the fields of records each page
    read; `progress` counts the pages as they arrive here.
    """
    broken: dict[SiteError, list[str]] = {}
    errors: list[SiteError] = []
    progress.phase("rendering", len(pages))
    for page, done in zip(pages, parallel.forked(lambda index: _attempt(env, pages[index]), len(pages), workers)):
        progress.advance()
        if done.problem is not None:
            if done.shared:
                broken.setdefault(done.problem, []).append(page.path)
            else:
                errors.append(done.problem)
            continue
        if reads is not None:
            reads[page.path] = done.reads if workers == 1 else _shared(done.reads, env.interned)
        try:
            emit(page, done.text)
        except BuildFailed as exc:
            errors += exc.errors
    errors += [_while(error, paths) for error, paths in broken.items()]
    if errors:
        raise BuildFailed(errors)
