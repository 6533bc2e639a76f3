"""Raw mappings to model records: every field checked, every problem collected with its place."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple
from urllib.parse import urlsplit

from .content import RawArticle, Sources
from ..features import i18n, redirects, timeline
from ..errors import BuildFailed, SiteError, located
from ..markdown.markup import Converted
from ..markdown.typography import russian, smarten
from ..markdown.urls import refused_value
from ..output.write import RESERVED_NAMES, safe_relative
from ..model import Article, CrewMember, DeployConfig, Event, Settings, Site, SiteConfig, Tag
from ..features.slugs import make_slug
from .yaml12 import YamlList, YamlMap

ID_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
SITE_FIELDS = {"title", "description", "base_url", "language", "author", "unsafe_html", "max_article_bytes", "search_shard_pages",
               "per_page", "deploy", "languages", "tags"}
DEPLOY_FIELDS = {"target", "endpoint_url", "region", "profile", "max_deletes", "uploads"}
ARTICLE_FIELDS = {"title", "date", "summary", "tags", "crew", "slug", "draft", "updated", "image", "image_alt", "events", "aliases",
                  "series"}
YEAR_SLUG = re.compile(r"[0-9]{4}$")
"""Slugs that would be published where the year archives live (`articles/2021/`)."""
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
    per_page = problems.field(raw, "per_page", (int,), "a whole number of articles, e.g. 20", default=SiteConfig.per_page)
    if per_page <= 0:
        problems.add(raw.where("per_page"), f"'per_page' must be more than 0, not {per_page}")
    title, description = problems.text(raw, "title", required=True), problems.text(raw, "description", required=True)
    languages = i18n.check_languages(raw, title, description, problems)
    extra = {}
    if languages:
        extra = dict(languages=languages, tag_names=i18n.check_tag_names(raw, {lang.code for lang in languages}, problems))
    config = SiteConfig(
        title=languages[0].title if languages else title,
        description=languages[0].description if languages else description,
        base_url=base_url,
        language=languages[0].code if languages else problems.text(raw, "language", default="en"),
        author=problems.text(raw, "author", required=True),
        unsafe_html=problems.field(raw, "unsafe_html", (bool,), "true or false", default=True),
        search_shard_pages=max(shard_pages, 1),
        per_page=max(per_page, 1),
        **extra,
    )
    limit = problems.field(raw, "max_article_bytes", (int,), "a whole number of bytes, e.g. 5000000")
    if limit is not None and limit <= 0:
        problems.add(raw.where("max_article_bytes"), f"'max_article_bytes' must be more than 0, not {limit}")
    check_deploy(raw, problems)
    refuse_script_urls(raw, problems, (raw.line, raw.column))
    return config


BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def s3_target(text: str) -> tuple[str, str]:
    """Split `s3://BUCKET[/PREFIX]` into the bucket and the prefix (no slash at either end);
    ValueError saying what is wrong."""
    if not text.startswith("s3://"):
        raise ValueError(f"{text!r} is not an S3 address; write s3://BUCKET or s3://BUCKET/PREFIX")
    bucket, _, prefix = text[len("s3://"):].partition("/")
    if not BUCKET.match(bucket) or ".." in bucket:
        raise ValueError(f"{bucket!r} is not a bucket name (3-63 lowercase letters, digits, dots and hyphens)")
    prefix = prefix.strip("/")
    if prefix:
        try:
            safe_relative(prefix)
        except ValueError:
            raise ValueError(f"prefix {prefix!r} must be plain folder names joined by single slashes") from None
    return bucket, prefix


def check_deploy(raw: YamlMap, problems: Problems) -> DeployConfig:
    """Validate the `deploy:` section of `site.yaml` (absent: the defaults)."""
    section = problems.field(raw, "deploy", (YamlMap,), "a mapping of deploy settings (target, endpoint_url, ...)")
    if section is None:
        return DeployConfig()
    problems.unknown(section, DEPLOY_FIELDS, "deploy")
    target = problems.text(section, "target") or None
    if target:
        try:
            s3_target(target)
        except ValueError as exc:
            problems.add(section.where("target"), f"deploy target: {exc}")
    endpoint = problems.text(section, "endpoint_url") or None
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.add(section.where("endpoint_url"), f"endpoint_url must be an http(s) URL such as http://127.0.0.1:9000 (got {endpoint!r})")
    counts = {}
    for key, least, example in (("max_deletes", 0, 256), ("uploads", 1, 8)):
        value = problems.field(section, key, (int,), f"a whole number, e.g. {example}", default=getattr(DeployConfig, key))
        if value < least:
            problems.add(section.where(key), f"'{key}' must be {least} or more, not {value}")
        counts[key] = max(value, least)
    return DeployConfig(target=target, endpoint_url=endpoint, region=problems.text(section, "region") or None,
                        profile=problems.text(section, "profile") or None, **counts)


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
            place=item.where("id"),
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
                  event_ids: set[str] | None = frozenset(), stem: str | None = None) -> ArticleMeta | None:
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
    stem = stem or raw.source.rsplit("/", 1)[-1].removesuffix(".md")
    slug = make_slug(problems.text(front, "slug") or stem)
    if not slug:
        problems.add(front.where("slug"), "cannot make a URL slug from this name; set 'slug: some-words'")
    elif slug in RESERVED_NAMES:
        problems.add(front.where("slug" if "slug" in front else "title"), f"slug {slug!r} is a reserved file name on Windows hosts; set a different 'slug:'")
    elif YEAR_SLUG.match(slug):
        problems.add(front.where("slug" if "slug" in front else "title"),
                     f"slug {slug!r} is where the archive of the year {slug} lives (/articles/{slug}/); set a different 'slug:'")
    series = problems.text(front, "series").strip()
    if "series" in front and front["series"] is not None and not series:
        problems.add(front.where("series"), "'series' is empty; name the series, or remove the line")
    refuse_script_urls(front, problems, (front.line, front.column))
    problems.errors += raw.over_limits
    before = len(problems.errors)
    aliases = redirects.check_aliases(problems.text_list(front, "aliases"), problems)
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
        aliases=tuple(aliases),
        alias_places=MappingProxyType(aliases),
        series=smarten(series) or None,
    )
    if problems.errors[before:] or not title or not date or not slug:
        return None
    return ArticleMeta(raw, fields)


def _slug_place(raw: RawArticle) -> tuple[int, int]:
    """Where an article's slug comes from: its `slug:` field, or else its title (and file name)."""
    return raw.front.where("slug" if "slug" in raw.front else "title")


@dataclass(frozen=True)
class Checked:
    """A validated site whose article bodies still wait for conversion."""

    config: SiteConfig
    crew: tuple[CrewMember, ...]
    events: tuple[Event, ...]
    articles: tuple[ArticleMeta, ...]
    """The articles to publish."""
    data: Any
    scheduled: tuple[ArticleMeta, ...] = ()
    """Articles held back because they are dated after the build, soonest first."""
    localized: Any = None
    """A multilingual site's (crew, events, data) in each language, by code."""


def check(sources: Sources, settings: Settings, now: dt.datetime | None = None,
          known: Mapping[str, ArticleMeta] | None = None) -> Checked:
    """Validate everything read; raise BuildFailed with every problem at once.

    Articles dated after `now` (the time of the build) are checked like the others, then held back
    unless `settings.future` asks for them. `known` holds the metadata of articles checked before,
    by source: an article whose raw record is the one checked then is not checked again (the
    caller vouches that the crew and event ids it was checked against are the same)."""
    errors = list(sources.errors)
    config = None
    if sources.site is not None:
        problems = Problems("content/site.yaml")
        config = check_config(sources.site, problems.path, settings, problems)
        errors += problems.errors
    crew: list[CrewMember] = []
    events: list[Event] = []
    languages = config.languages if config else ()
    codes = {lang.code for lang in languages}
    localized = {}
    mission_raw = sources.mission
    if sources.mission is not None:
        problems = Problems("content/mission.yaml")
        if languages:
            i18n.check_by_language(sources.mission, codes, problems)
            for lang in languages:
                view = i18n.localize(sources.mission, lang.code, languages[0].code, codes)
                found = check_mission(view, problems)
                members = tuple(replace(m, lang=lang.code) if lang.prefix else m for m in found[0])
                localized[lang.code] = (members, tuple(found[1]), _plain(view))
            mission_raw = i18n.localize(sources.mission, languages[0].code, languages[0].code, codes)
            crew, events = (list(found) for found in localized[languages[0].code][:2])
            problems.errors = list(dict.fromkeys(problems.errors))
        else:
            crew, events = check_mission(sources.mission, problems)
        errors += problems.errors
    crew_ids = {m.id for m in crew} if sources.mission is not None else None
    event_ids = {e.id for e in events} if sources.mission is not None else None
    metas = []
    by_slug: dict[tuple[str, str], RawArticle] = {}
    originals = {raw.source: raw for raw in sources.articles}
    for raw in sources.articles:
        translated = i18n.translation_of(raw.source, codes) if languages else None
        language: dict[str, Any] = {}
        if translated:
            code, original = translated
            problem = i18n.translation_problem(raw.source, code, original, languages, set(originals))
            if problem:
                errors.append(problem)
                continue
            problems = Problems(raw.source)
            first = originals[original]
            stem = original.rsplit("/", 1)[-1].removesuffix(".md")
            raw = replace(raw, front=i18n.inherit(raw.front, first.front, str(first.front.get("slug") or stem)))
            meta = check_article(raw, crew_ids, problems, event_ids, stem)
            language = dict(lang=code, original=original, prefix=f"{code}/")
            if meta is not None and code.split("-")[0] == "ru":
                language.update((key, russian(meta.fields[key]) if meta.fields[key] else meta.fields[key]) for key in ("title", "summary", "series"))
            errors += problems.errors
        else:
            meta = known.get(raw.source) if known else None
            if meta is None or meta.raw is not raw:
                problems = Problems(raw.source)
                meta = check_article(raw, crew_ids, problems, event_ids)
                errors += problems.errors
        if meta is None or (meta.fields["draft"] and not settings.drafts):
            continue
        meta.fields.update(language)
        key = (language.get("lang", ""), meta.fields["slug"].lower())
        if key in by_slug:
            # articles in different folders may share a file name: both places are shown, either can change
            first = by_slug[key]
            errors.append(SiteError(raw.source, *_slug_place(raw),
                                    f"slug {meta.fields['slug']!r} is already used by {located(first.source, *_slug_place(first))}; set a different 'slug:'"))
            errors.append(SiteError(first.source, *_slug_place(first),
                                    f"slug {meta.fields['slug']!r} is also used by {located(raw.source, *_slug_place(raw))}; set a different 'slug:' in one of them"))
            continue
        by_slug[key] = raw
        metas.append(meta)
    errors += redirects.check_conflicts([m for m in metas if not m.fields.get("lang")])
    if errors or config is None:
        raise BuildFailed(errors)
    data = _plain(mission_raw or {})
    now = now or dt.datetime.now(dt.timezone.utc)
    scheduled = [] if settings.future else sorted((m for m in metas if m.fields["date"] > now),
                                                  key=lambda m: (m.fields["date"], m.raw.source))
    held = {id(m) for m in scheduled}
    out = {m.raw.source for m in scheduled}
    published = tuple(m for m in metas if id(m) not in held and m.fields.get("original") not in out)
    if languages:  # a translation goes out with its original, not before
        live = {m.raw.source for m in published}
        published = tuple(m for m in published if not m.fields.get("original") or m.fields["original"] in live)
    return Checked(config, tuple(crew), tuple(events), published, data, tuple(scheduled), localized or None)


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
    site = Site(
        config=checked.config,
        articles=tuple(articles),
        crew=checked.crew,
        events=checked.events,
        tags=_tags(articles),
        data=checked.data,
        scheduled=tuple((m.raw.source, m.fields["date"]) for m in checked.scheduled),
    )
    return replace(site, views=_views(site, checked.localized)) if checked.config.languages else site


def _tags(articles) -> tuple[Tag, ...]:
    """The tags of some articles, each once, by slug."""
    tags: dict[str, Tag] = {}
    for article in articles:
        for name in article.tags:
            tags.setdefault(make_slug(name), Tag(name, make_slug(name)))
    return tuple(sorted(tags.values(), key=lambda t: t.slug))


def _views(site: Site, localized) -> MappingProxyType:
    """The site as each language reads it: its config, data, and the articles its lists show (its
    own, and with `untranslated: show` the default language's that it lacks)."""
    languages = site.config.languages
    views = {}
    for lang in languages:
        own = [a for a in site.articles if a.lang == (lang.code if lang.prefix else "")]
        if lang.prefix and lang.untranslated == "show":
            done = {a.original for a in own}
            own += [a for a in site.articles if not a.lang and a.source not in done]
            own.sort(key=lambda a: (a.date, a.slug), reverse=True)
        crew, events, data = localized[lang.code]
        config = replace(site.config, title=lang.title, description=lang.description, language=lang.code)
        names = site.config.tag_names
        tags = tuple(Tag(names.get(t.name, {}).get(lang.code, t.name), t.slug) for t in _tags(own))
        views[lang.code] = replace(site, config=config, articles=tuple(own), crew=crew, events=events, data=data,
                                   tags=tags, views=MappingProxyType({}))
    return MappingProxyType(views)
