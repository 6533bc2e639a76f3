"""Immutable records that flow from reading to rendering to writing."""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .errors import located

EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Settings:
    """What one build is asked to do, after the command line and defaults are applied."""

    source: Path
    """Folder holding `content/`, and optionally `templates/` and `static/` overrides."""
    output: Path
    """Folder that receives the finished site."""
    base_url: str | None = None
    """Overrides `base_url` from `site.yaml` (e.g. for a preview deploy under a subpath)."""
    drafts: bool = False
    """Publish articles marked `draft: true` as well."""
    jobs: int = 0
    """Worker processes for Markdown conversion; 0 picks one per core."""
    max_article_bytes: int | None = None
    """Overrides `max_article_bytes` from `site.yaml`: larger articles are reported, not parsed."""
    future: bool = False
    """Publish articles dated in the future as well, instead of holding them back until their time."""


class SitePath(str):
    """A site path that already names its language (an article's URL), which a page in another
    language links to as it is instead of under its own language's folder."""

    __slots__ = ()


@dataclass(frozen=True)
class Language:
    """One entry of `languages:` in `site.yaml`."""

    code: str
    name: str
    """The language's name in itself (`Русский`), for the language switcher."""
    title: str
    description: str
    untranslated: str = "hide"
    """`show`: this language's lists also show the articles not translated into it, marked as in the default language."""
    prefix: str = ""
    """Folder of its pages: empty for the default language, `ru/` for the others."""


@dataclass(frozen=True)
class SiteConfig:
    """`content/site.yaml`: the site's identity."""

    title: str
    description: str
    base_url: str
    """Absolute URL of the site's root, always ending in `/`."""
    language: str
    author: str
    unsafe_html: bool = True
    search_shard_pages: int = 200
    """Most pages per search shard on average (search.py): an edit re-indexes one shard, which
    takes Pagefind about 3 ms a page; the browser merges the shards, one request each."""
    per_page: int = 20
    """Most articles on one page of a list (home, tags, crew, years, search); the rest go on
    `page/2/` and so on, so no page grows with the site."""
    languages: tuple[Language, ...] = ()
    """The languages of a multilingual site, the default first; empty for a site in one language."""
    tag_names: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: EMPTY)
    """Display names of tags by language (`tags:` in `site.yaml`), keyed by the tag as written."""
    strings: Any = None
    """The interface strings of each language (i18n.Strings): a site's `i18n/<code>.yaml` or the
    theme's; part of the config so that every page's fingerprint covers them."""

    @property
    def base_path(self) -> str:
        """Path part of `base_url`, e.g. `/challenge/`; root-relative links start with it."""
        from urllib.parse import urlsplit

        return urlsplit(self.base_url).path or "/"


@dataclass(frozen=True)
class DeployConfig:
    """`deploy:` in `content/site.yaml`: defaults for `microsite deploy`, each overridden by its option."""

    target: str | None = None
    """Where the site goes: `s3://BUCKET` or `s3://BUCKET/PREFIX`."""
    endpoint_url: str | None = None
    """The storage's address when it is not AWS S3 (MinIO, R2, Ceph, ...); `AWS_ENDPOINT_URL` overrides it."""
    region: str | None = None
    profile: str | None = None
    """A profile of the AWS configuration files to take credentials from."""
    max_deletes: int = 256
    """A deploy that would delete more objects than this stops before changing anything."""
    uploads: int = 8
    """Transfers at the same time."""


@dataclass(frozen=True)
class TocEntry:
    """One heading of an article's table of contents."""

    level: int
    id: str
    title: str


class Toc(Sequence):
    """An article's table of contents: a sequence of its headings (TocEntry), each made when asked
    for. A site keeps every article's outline for the whole of a session, tens of thousands of
    headings, so they are held as one string of their ids and titles and an array of their levels
    and lengths: a fifth of what as many records take."""

    __slots__ = ("_text", "_sizes")

    def __init__(self, entries: Iterable[TocEntry] = ()) -> None:
        entries = tuple(entries)
        self._text = "".join(entry.id + entry.title for entry in entries)
        self._sizes = array("I", [n for entry in entries for n in (entry.level, len(entry.id), len(entry.title))])

    @classmethod
    def _packed(cls, text: str, sizes: bytes) -> "Toc":
        toc = cls.__new__(cls)
        toc._text, toc._sizes = text, array("I", sizes)
        return toc

    def __iter__(self) -> Iterator[TocEntry]:
        text, sizes, at = self._text, self._sizes, 0
        for i in range(0, len(sizes), 3):
            level, id_end = sizes[i], at + sizes[i + 1]
            end = id_end + sizes[i + 2]
            yield TocEntry(level, text[at:id_end], text[id_end:end])
            at = end

    def __len__(self) -> int:
        return len(self._sizes) // 3

    def __getitem__(self, index):
        return tuple(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Toc):
            return self._text == other._text and self._sizes == other._sizes
        return isinstance(other, tuple) and tuple(self) == other

    def __hash__(self) -> int:
        return hash((self._text, self._sizes.tobytes()))

    def __repr__(self) -> str:
        return f"Toc({list(self)!r})"

    def __reduce__(self):
        return (Toc._packed, (self._text, self._sizes.tobytes()))


@dataclass(frozen=True)
class Article:
    """One published Markdown article, converted and validated."""

    source: str
    """Path of the Markdown file relative to the source folder."""
    slug: str
    title: str
    date: dt.datetime
    updated: dt.datetime | None
    summary: str
    tags: tuple[str, ...]
    crew: tuple[str, ...]
    draft: bool
    image: str | None
    image_alt: str | None
    body: Any
    """The article body as HTML (bodies.Html: `str()` gives the text, which may be fetched from the cache)."""
    toc: Toc
    words: int
    extra: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    """Front-matter fields the generator does not know; handed to templates unchanged."""
    field_lines: Mapping[str, int] = field(default_factory=lambda: EMPTY)
    """Line of each front-matter field in the source file, for messages found after checking."""
    events: tuple[str, ...] = ()
    """Ids of the mission events the article covers (front matter `events`)."""
    aliases: tuple[str, ...] = ()
    """Earlier output paths of this article (`articles/old-slug/`), each served as a redirect."""
    mentions: tuple[str, ...] = ()
    """Ids of the crew members its body mentions by name or `[[crew:id]]`."""
    alias_places: Mapping[str, tuple[int, int]] = field(default_factory=lambda: EMPTY, repr=False, compare=False)
    """Line and column where each of `aliases` is written, for messages; no page shows them."""
    series: str | None = None
    """Name of the series the article is a part of (front matter `series`); parts go by date."""
    lang: str = ""
    """Code of the language of a translation (`the-landing.ru.md`); empty in the default language."""
    original: str | None = None
    """Source path of the article a translation translates."""
    prefix: str = ""
    """Folder of the language's pages (`ru/`), empty in the default language."""

    @property
    def people(self) -> tuple[str, ...]:
        """Crew ids listed in front matter or mentioned in the body."""
        return tuple(dict.fromkeys(self.crew + self.mentions))

    @property
    def url(self) -> str:
        return SitePath(f"{self.prefix}articles/{self.slug}/")

    @property
    def local_url(self) -> str:
        """Its URL inside its language's folder."""
        return f"articles/{self.slug}/"

    @property
    def modified(self) -> dt.datetime:
        return self.updated or self.date


@dataclass(frozen=True)
class CrewMember:
    """One person from the `crew` list of `mission.yaml`; `data` holds every field as written."""

    id: str
    name: str
    name_native: str
    role: str
    bio: str
    data: Mapping[str, Any]
    place: tuple[int, int] = field(default=(0, 0), repr=False, compare=False)
    """Line and column of its `id` in `mission.yaml`, for messages; no page shows them."""
    lang: str = ""
    """The language its texts are in, when not the default one of a multilingual site."""

    @property
    def url(self) -> str:
        return f"crew/{self.id}/"


@dataclass(frozen=True)
class Event:
    """One entry of `mission.events`; `time` is in UTC, `has_time` is false for date-only events."""

    id: str
    time: dt.datetime
    has_time: bool
    title: str
    detail: str
    data: Mapping[str, Any]
    zone: str = "UTC"
    """IANA time zone of the place where it happened, for local times (`timezone:` in the YAML)."""


@dataclass(frozen=True)
class Tag:
    """A tag as written by authors and the slug its page lives under."""

    name: str
    slug: str

    @property
    def url(self) -> str:
        return f"tags/{self.slug}/"


@dataclass(frozen=True)
class Site:
    """Everything one build knows, read and validated before anything is rendered."""

    config: SiteConfig
    articles: tuple[Article, ...]
    """Published articles, newest first."""
    crew: tuple[CrewMember, ...]
    events: tuple[Event, ...]
    """Mission events in time order."""
    tags: tuple[Tag, ...]
    data: Mapping[str, Any]
    """`mission.yaml` as written (`mission`, `crew`, `film`, ...), for templates."""
    linked: frozenset[str] = frozenset()
    """Slugs (or aliases) named by `[[article:...]]` references in bodies, and article files named by
    Markdown links (relative to the linking article): whose headings others link to."""
    scheduled: tuple[tuple[str, dt.datetime], ...] = ()
    """Articles held back because they are dated after the build (source path, date), soonest first."""
    views: Mapping[str, "Site"] = field(default_factory=lambda: EMPTY)
    """A multilingual site seen in each language, by code: its config, data, crew, events, tags
    and articles in that language (the default language's view holds its own articles only)."""

    def crew_by_id(self, crew_id: str) -> CrewMember:
        return next(m for m in self.crew if m.id == crew_id)


@dataclass(frozen=True)
class Origin:
    """What one file of the output is made from, for messages that must name it: the source file
    and the place in it, what there makes the file, and the template that renders it."""

    what: str
    """What makes the file, e.g. `alias /crew/`, `the page of crew member 'shipenko'`, `static file logo.png`."""
    path: str = ""
    """The source file relative to the source folder; empty for a file no one source makes."""
    line: int = 0
    column: int = 0
    template: str = ""
    """The template that renders a page, e.g. `crew.html`."""

    def where(self) -> str:
        """The source file and template as messages name them, e.g. `content/mission.yaml:22:5, templates/crew.html`."""
        named = [located(self.path, self.line, self.column)] if self.path else []
        return ", ".join(named + ([f"templates/{self.template}"] if self.template else []))


@dataclass(frozen=True)
class Page:
    """One file of the finished site: where it goes and how it is made (its template and context)."""

    path: str
    """Output path relative to the output folder, e.g. `articles/landing/index.html`."""
    template: str
    context: Mapping[str, Any]
    origin: Origin | None = field(default=None, compare=False)
    """Where the page comes from, for messages (a clash of output paths); None names its template alone."""

    def made_from(self) -> Origin:
        """Where the page comes from, its template when nothing more is known."""
        return self.origin or Origin(f"page {self.path}", template=self.template)


@dataclass(frozen=True)
class BuildReport:
    """What a finished build did, for the summary line."""

    pages: int
    assets: int
    changed: int
    removed: int
    seconds: float
    edited: int = 0
    """Articles whose body alone changed, when the build rendered only the pages that read them (the body-edit rebuild)."""
    scheduled: int = 0
    """Articles held back because they are dated after the build."""
    due: dt.datetime | None = None
    """When the first of them is due: the first build after then publishes it."""

    def summary(self) -> str:
        how = f", from {self.edited} edited article bod{'ies' if self.edited != 1 else 'y'}" if self.edited else ""
        held = ""
        if self.scheduled and self.due:
            held = (f"; {self.scheduled} scheduled article{'s' if self.scheduled != 1 else ''} held back, "
                    f"the next due {self.due:%Y-%m-%d %H:%M} UTC")
        return (f"built {self.pages} pages and {self.assets} static files in {self.seconds:.2f} s{how} "
                f"({self.changed} written, {self.pages + self.assets - self.changed} unchanged, {self.removed} removed){held}")
