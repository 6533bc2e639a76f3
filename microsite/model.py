"""Immutable records that flow from reading to rendering to writing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

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

    @property
    def base_path(self) -> str:
        """Path part of `base_url`, e.g. `/challenge/`; root-relative links start with it."""
        from urllib.parse import urlsplit

        return urlsplit(self.base_url).path or "/"


@dataclass(frozen=True)
class TocEntry:
    """One heading of an article's table of contents."""

    level: int
    id: str
    title: str


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
    toc: tuple[TocEntry, ...]
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

    @property
    def people(self) -> tuple[str, ...]:
        """Crew ids listed in front matter or mentioned in the body."""
        return tuple(dict.fromkeys(self.crew + self.mentions))

    @property
    def url(self) -> str:
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
    """Slugs (or aliases) named by `[[article:...]]` references in bodies: whose headings others link to."""

    def crew_by_id(self, crew_id: str) -> CrewMember:
        return next(m for m in self.crew if m.id == crew_id)


@dataclass(frozen=True)
class Page:
    """One file of the finished site: where it goes and how it is made (its template and context)."""

    path: str
    """Output path relative to the output folder, e.g. `articles/landing/index.html`."""
    template: str
    context: Mapping[str, Any]


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

    def summary(self) -> str:
        how = f", from {self.edited} edited article bod{'ies' if self.edited != 1 else 'y'}" if self.edited else ""
        return (f"built {self.pages} pages and {self.assets} static files in {self.seconds:.2f} s{how} "
                f"({self.changed} written, {self.pages + self.assets - self.changed} unchanged, {self.removed} removed)")
