"""Raw mappings to model records: every field checked, every problem collected with its place."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple
from urllib.parse import urlsplit

from .content import RawArticle, Sources
from ..features import redirects, timeline
from ..errors import BuildFailed, SiteError
from ..markdown.markup import Converted
from ..markdown.typography import smarten
from ..markdown.urls import refused_value
from ..output.write import RESERVED_NAMES
from ..model import Article, CrewMember, Event, Settings, Site, SiteConfig, Tag
from ..features.slugs import make_slug
from .yaml12 import YamlList, YamlMap

ID_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
SITE_FIELDS = {"title", "description", "base_url", "language", "author", "unsafe_html", "max_article_bytes", "search_shard_pages"}
ARTICLE_FIELDS = {"title", "date", "summary", "tags", "crew", "slug", "draft", "updated", "image", "image_alt", "events", "aliases"}
MISSION_FIELDS = {"name", "spacecraft", "summary", "facts", "events"}
EVENT_FIELDS = {"id", "time", "timezone", "place", "title", "detail", "since", "since_label"}
CREW_FIELDS = {"id", "name", "name_native", "role", "bio", "about", "born", "birthplace", "flights", "aliases"}
FILM_FIELDS = {"title", "title_native", "summary", "director", "genre", "premiere", "release", "facts"}
"""Fields of mission.yaml that the theme uses. Other keys reach templates as written, unless
they look like a misspelling of one of these."""


class Problems:
    """Collects every problem of one file so all of them are reported together."""

    def __init__(self, path: str):
        self.path = path
        self.errors: list[SiteError] = []

    def add(self, where: tuple[int, int], message: str) -> None:
        self.errors.append(SiteError(self.path, where[0], where[1], message))

    def field(self, mapping: YamlMap, key: str, kinds: tuple[type, ...], label: str, required: bool = False, default: Any = None) -> Any:
        """Return `mapping[key]` when it has one of `kinds`; otherwise note the problem."""
        if key not in mapping or mapping[key] is None:
            if required:
                self.add(mapping.where(key), f"missing required field '{key}' ({label})")
            return default
        value = mapping[key]
        if isinstance(value, bool) and bool not in kinds:
            self.add(mapping.where(key), f"'{key}' must be {label}, not {value!r}")
            return default
        if not isinstance(value, kinds):
            self.add(mapping.where(key), f"'{key}' must be {label}, not {_kind(value)}")
            return default
        return value

    def text(self, mapping: YamlMap, key: str, required: bool = False, default: str = "") -> str:
        """Return a text field; numbers are accepted and shown as written."""
        value = self.field(mapping, key, (str, int, float), "text", required, default)
        return value if isinstance(value, str) else str(value)

    def text_list(self, mapping: YamlMap, key: str) -> list[tuple[str, tuple[int, int]]]:
        """Return a list of texts with their places; a single text counts as a list of one."""
        value = mapping.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            return [(value, mapping.where(key))]
        if not isinstance(value, YamlList):
            self.add(mapping.where(key), f"'{key}' must be a list such as [a, b], not {_kind(value)}")
            return []
        items = []
        for index, item in enumerate(value):
            if isinstance(item, (str, int)) and not isinstance(item, bool):
                items.append((str(item), value.where(index)))
            else:
                self.add(value.where(index), f"items of '{key}' must be text, not {_kind(item)}")
        return items

    def misspelt(self, mapping: YamlMap, known: set[str], what: str) -> None:
        """Name keys that are not declared but close to one that is (`nmae` for `name`)."""
        for key in mapping:
            if key not in known:
                close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.75)
                if close:
                    self.add(mapping.where(key), f"unknown key '{key}' in {what}; did you mean '{close[0]}'?")

    def unknown(self, mapping: YamlMap, known: set[str], what: str) -> None:
        """Name keys that are not part of the declared schema, suggesting the closest one."""
        for key in mapping:
            if key not in known:
                self.add(mapping.where(key), f"unknown key '{key}' in {what}{_suggest(str(key), known)}")


def _kind(value: Any) -> str:
    if isinstance(value, YamlMap):
        return "a mapping"
    if isinstance(value, YamlList):
        return "a list"
    if isinstance(value, dt.datetime):
        return "a date and time"
    if isinstance(value, dt.date):
        return "a date"
    return f"{type(value).__name__} {value!r}"


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def refuse_script_urls(value: Any, problems: Problems, where: tuple[int, int], key: object = "") -> None:
    """Report every `javascript:`, `vbscript:` or `data:` URL anywhere in a YAML value."""
    if isinstance(value, YamlMap):
        for k, v in value.items():
            refuse_script_urls(v, problems, value.where(k), k)
    elif isinstance(value, YamlList):
        for index, item in enumerate(value):
            refuse_script_urls(item, problems, value.where(index), key)
    elif isinstance(value, str) and refused_value(key, value):
        problems.add(where, f"'{key}' holds a {value.split(':', 1)[0].strip().lower()}: URL, which would run in readers' "
                            f"browsers; use an http(s) URL or a path")


class Moment(NamedTuple):
    """A point in time from the YAML, in UTC, and whether a time of day was given (else a date)."""

    time: dt.datetime
    has_time: bool


def to_utc(value: Any, problems: Problems, where: tuple[int, int], key: str) -> Moment | None:
    """Normalise a date or an offset-aware datetime to UTC; report naive times and bad text."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value or " " in value.strip() else dt.date.fromisoformat(value)
        except ValueError:
            problems.add(where, f"'{key}' is not a date: {value!r}; write 2021-10-17 or 2021-10-17T04:35:00Z")
            return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            problems.add(where, f"'{key}' has no UTC offset; add one, e.g. {value.isoformat()}Z or {value.isoformat()}+03:00")
            return None
        return Moment(value.astimezone(dt.timezone.utc), True)
    if isinstance(value, dt.date):
        return Moment(dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc), False)
    problems.add(where, f"'{key}' must be a date (2021-10-17) or a date and time with offset (2021-10-17T04:35:00Z), not {_kind(value)}")
    return None


def _plain(value: Any) -> Any:
    """Freeze YAML values for templates: mappings become read-only, lists become tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: _plain(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return value


def check_config(raw: YamlMap, path: str, settings: Settings, problems: Problems) -> SiteConfig | None:
    """Validate `site.yaml`."""
    problems.unknown(raw, SITE_FIELDS, "site.yaml")
    base_url = settings.base_url or problems.text(raw, "base_url", required=True)
    parts = urlsplit(base_url)
    if base_url and (parts.scheme not in ("http", "https") or not parts.netloc):
        where = (0, 0) if settings.base_url else raw.where("base_url")
        problems.add(where, f"base_url must be an absolute http(s) URL such as https://example.org/ (got {base_url!r})")
    if not base_url.endswith("/"):
        base_url += "/"
    shard_pages = problems.field(raw, "search_shard_pages", (int,), "a whole number of pages, e.g. 200", default=SiteConfig.search_shard_pages)
    if shard_pages <= 0:
        problems.add(raw.where("search_shard_pages"), f"'search_shard_pages' must be more than 0, not {shard_pages}")
    config = SiteConfig(
        title=problems.text(raw, "title", required=True),
        description=problems.text(raw, "description", required=True),
        base_url=base_url,
        language=problems.text(raw, "language", default="en"),
        author=problems.text(raw, "author", required=True),
        unsafe_html=problems.field(raw, "unsafe_html", (bool,), "true or false", default=True),
        search_shard_pages=max(shard_pages, 1),
    )
    limit = problems.field(raw, "max_article_bytes", (int,), "a whole number of bytes, e.g. 5000000")
    if limit is not None and limit <= 0:
        problems.add(raw.where("max_article_bytes"), f"'max_article_bytes' must be more than 0, not {limit}")
    refuse_script_urls(raw, problems, (raw.line, raw.column))
    return config


def check_crew(raw: Any, problems: Problems) -> list[CrewMember]:
    """Validate the `crew` list of `mission.yaml`."""
    members: list[CrewMember] = []
    if not isinstance(raw, YamlList):
        return members
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, YamlMap):
            problems.add(raw.where(index), "each crew member must be a mapping with id, name, role and bio")
            continue
        problems.misspelt(item, CREW_FIELDS, "a crew member")
        member_id = problems.text(item, "id", required=True)
        if member_id and not ID_PATTERN.match(member_id):
            problems.add(item.where("id"), f"crew id {member_id!r} must use only a-z, 0-9 and hyphens, e.g. {make_slug(member_id)!r}")
            continue
        if member_id in RESERVED_NAMES:
            problems.add(item.where("id"), f"crew id {member_id!r} is a reserved file name on Windows hosts; choose another")
            continue
        if member_id in seen:
            problems.add(item.where("id"), f"duplicate crew id {member_id!r} (first used on line {seen[member_id]})")
            continue
        seen[member_id] = item.where("id")[0]
        member = CrewMember(
            id=member_id,
            name=problems.text(item, "name", required=True),
            name_native=problems.text(item, "name_native"),
            role=problems.text(item, "role", required=True),
            bio=problems.text(item, "bio", required=True),
            data=_plain(item),
        )
        problems.text_list(item, "aliases")
        if member_id:
            members.append(member)
    return members


def check_events(raw: Any, problems: Problems) -> list[Event]:
    """Validate `mission.events` and put them in time order."""
    events: list[Event] = []
    if raw is None:
        return events
    if not isinstance(raw, YamlList):
        problems.add((0, 0), "mission.events must be a list of {time, title, detail}")
        return events
    seen: set[str] = set()
    for index, item in enumerate(raw):
        if not isinstance(item, YamlMap):
            problems.add(raw.where(index), "each event must be a mapping with time, title and detail")
            continue
        problems.misspelt(item, EVENT_FIELDS, "an event")
        title = problems.text(item, "title", required=True)
        event_id = problems.text(item, "id") or make_slug(title)
        if event_id in seen:
            problems.add(item.where("id"), f"duplicate event id {event_id!r}")
        seen.add(event_id)
        if "time" not in item:
            problems.add(item.where("time"), "missing required field 'time' (a date or a date and time with offset)")
            continue
        when = to_utc(item["time"], problems, item.where("time"), "time")
        zone = timeline.check_zone(problems.text(item, "timezone", default="UTC"), problems, item.where("timezone"))
        if when:
            events.append(Event(event_id, when.time, when.has_time, title, problems.text(item, "detail"), _plain(item), zone))
    timeline.check_since(raw, problems)
    return sorted(events, key=lambda e: e.time)


def check_mission(raw: YamlMap, problems: Problems) -> tuple[list[CrewMember], list[Event]]:
    """Validate `mission.yaml`: the mission with its events, the crew, and the film."""
    problems.unknown(raw, {"mission", "crew", "film"}, "mission.yaml")
    refuse_script_urls(raw, problems, (raw.line, raw.column))
    mission = problems.field(raw, "mission", (YamlMap,), "a mapping", required=True)
    problems.field(raw, "crew", (YamlList,), "a list of crew members", required=True)
    problems.field(raw, "film", (YamlMap,), "a mapping")
    events: list[Event] = []
    if isinstance(raw.get("film"), YamlMap):
        problems.misspelt(raw["film"], FILM_FIELDS, "film")
    if isinstance(mission, YamlMap):
        problems.misspelt(mission, MISSION_FIELDS, "mission")
        problems.text(mission, "name", required=True)
        facts = problems.field(mission, "facts", (YamlList,), "a list of {label, value}")
        for index, fact in enumerate(facts or []):
            if not (isinstance(fact, YamlMap) and "label" in fact and "value" in fact):
                problems.add(facts.where(index), "each fact must be a mapping with 'label' and 'value'")
        events = check_events(mission.get("events"), problems)
    return check_crew(raw.get("crew"), problems), events


@dataclass(frozen=True)
class ArticleMeta:
    """An article's validated front matter, before its body is converted."""

    raw: RawArticle
    fields: dict


def _known_ids(front: YamlMap, key: str, known: set[str] | None, problems: Problems, what: str, hint: str) -> list[str]:
    """Return the ids listed under `key` that exist (all of them when `known` is None); report the others."""
    found = []
    for item, where in problems.text_list(front, key):
        if known is None or item in known:
            found.append(item)
        else:
            problems.add(where, f"unknown {what} {item!r}{_suggest(item, known) or '; ' + hint}")
    return found


def check_article(raw: RawArticle, crew_ids: set[str] | None, problems: Problems,
                  event_ids: set[str] | None = frozenset()) -> ArticleMeta | None:
    """Validate one article's front matter; `crew_ids` and `event_ids` are None when mission.yaml could not be read."""
    front = raw.front
    title = problems.text(front, "title", required=True)
    date = None
    if "date" not in front or front["date"] is None:
        problems.add(front.where("date"), "missing required field 'date' (e.g. date: 2021-10-17 or 2021-10-17T04:35:00Z)")
    else:
        date = to_utc(front["date"], problems, front.where("date"), "date")
    updated = None
    if front.get("updated") is not None:
        updated = to_utc(front["updated"], problems, front.where("updated"), "updated")
    crew = _known_ids(front, "crew", crew_ids, problems, "crew id", "crew ids are listed in content/mission.yaml")
    events = _known_ids(front, "events", event_ids, problems, "event id", "event ids are listed under mission.events in content/mission.yaml")
    tags = []
    for name, where in problems.text_list(front, "tags"):
        if make_slug(name) in RESERVED_NAMES:
            problems.add(where, f"tag {name!r} would be published as a reserved file name on Windows hosts; reword it")
        elif make_slug(name):
            tags.append(name)
        else:
            problems.add(where, f"tag {name!r} has no letters or digits to make a URL from")
    stem = raw.source.rsplit("/", 1)[-1].removesuffix(".md")
    slug = make_slug(problems.text(front, "slug") or stem)
    if not slug:
        problems.add(front.where("slug"), "cannot make a URL slug from this name; set 'slug: some-words'")
    elif slug in RESERVED_NAMES:
        problems.add(front.where("slug" if "slug" in front else "title"), f"slug {slug!r} is a reserved file name on Windows hosts; set a different 'slug:'")
    refuse_script_urls(front, problems, (front.line, front.column))
    problems.errors += raw.over_limits
    before = len(problems.errors)
    fields = dict(
        title=smarten(title),
        date=date.time if date else None,
        updated=updated.time if updated else None,
        summary=smarten(problems.text(front, "summary")),
        tags=tuple(dict.fromkeys(t.strip() for t in tags if t.strip())),
        crew=tuple(dict.fromkeys(crew)),
        slug=slug,
        draft=problems.field(front, "draft", (bool,), "true or false", default=False),
        image=problems.text(front, "image") or None,
        image_alt=problems.text(front, "image_alt") or None,
        extra=_plain({k: v for k, v in front.items() if k not in ARTICLE_FIELDS}),
        events=tuple(dict.fromkeys(events)),
        aliases=redirects.check_aliases(problems.text_list(front, "aliases"), problems),
    )
    if problems.errors[before:] or not title or not date or not slug:
        return None
    return ArticleMeta(raw, fields)


@dataclass(frozen=True)
class Checked:
    """A validated site whose article bodies still wait for conversion."""

    config: SiteConfig
    crew: tuple[CrewMember, ...]
    events: tuple[Event, ...]
    articles: tuple[ArticleMeta, ...]
    data: Any


def check(sources: Sources, settings: Settings, known: Mapping[str, ArticleMeta] | None = None) -> Checked:
    """Validate everything read; raise BuildFailed with every problem at once.

    `known` holds the metadata of articles checked before, by source: an article whose raw
    record is the one checked then is not checked again (the caller vouches that the crew and
    event ids it was checked against are the same)."""
    errors = list(sources.errors)
    config = None
    if sources.site is not None:
        problems = Problems("content/site.yaml")
        config = check_config(sources.site, problems.path, settings, problems)
        errors += problems.errors
    crew: list[CrewMember] = []
    events: list[Event] = []
    if sources.mission is not None:
        problems = Problems("content/mission.yaml")
        crew, events = check_mission(sources.mission, problems)
        errors += problems.errors
    crew_ids = {m.id for m in crew} if sources.mission is not None else None
    event_ids = {e.id for e in events} if sources.mission is not None else None
    metas = []
    by_slug: dict[str, str] = {}
    for raw in sources.articles:
        meta = known.get(raw.source) if known else None
        if meta is None or meta.raw is not raw:
            problems = Problems(raw.source)
            meta = check_article(raw, crew_ids, problems, event_ids)
            errors += problems.errors
        if meta is None or (meta.fields["draft"] and not settings.drafts):
            continue
        key = meta.fields["slug"].lower()
        if key in by_slug:
            errors.append(SiteError(raw.source, *raw.front.where("slug" if "slug" in raw.front else "title"),
                                    f"slug {meta.fields['slug']!r} is already used by {by_slug[key]}; set a different 'slug:'"))
            continue
        by_slug[key] = raw.source
        metas.append(meta)
    errors += redirects.check_conflicts(metas)
    if errors or config is None:
        raise BuildFailed(errors)
    data = _plain(sources.mission or {})
    return Checked(config, tuple(crew), tuple(events), tuple(metas), data)


class Assembled(NamedTuple):
    """An article with the two records it was made from."""

    meta: ArticleMeta
    body: Converted
    article: Article


def assemble(checked: Checked, converted: dict[str, Converted], previous: Mapping[str, Assembled] | None = None) -> Site:
    """Join validated metadata with converted bodies into the finished Site.

    `previous` holds, by source, what an article was made from last time and the article: made
    from the same two records, it is that same article again."""
    articles = []
    for meta in checked.articles:
        body = converted[meta.raw.source]
        made = previous.get(meta.raw.source) if previous else None
        if made is not None and made.meta is meta and made.body is body:
            articles.append(made.article)
            continue
        lines = MappingProxyType({key: meta.raw.front.where(key)[0] for key in meta.raw.front})
        articles.append(Article(source=meta.raw.source, body=body.html, toc=body.toc, words=body.words,
                                mentions=body.mentions, field_lines=lines, **meta.fields))
    articles.sort(key=lambda a: (a.date, a.slug), reverse=True)
    tags: dict[str, Tag] = {}
    for article in articles:
        for name in article.tags:
            tags.setdefault(make_slug(name), Tag(name, make_slug(name)))
    return Site(
        config=checked.config,
        articles=tuple(articles),
        crew=checked.crew,
        events=checked.events,
        tags=tuple(sorted(tags.values(), key=lambda t: t.slug)),
        data=checked.data,
    )
