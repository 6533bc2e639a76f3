"""The mission timeline: events grouped by UTC day, with local times, durations and coverage.

Times are stored in UTC (the station's clock); each event may name the IANA time zone of where it
happened, and the local time is worked out with zoneinfo for that date, so historical offsets
are right (Baikonur kept UTC+5 in 2021 while Zhezkazgan, the landing area, kept UTC+6).
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..model import Article, Event


def check_zone(name: str, problems, where: tuple[int, int]) -> str:
    """Return a valid IANA zone name, or note the problem and fall back to UTC."""
    name = name.strip() or "UTC"
    try:
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else "; use an IANA name such as Europe/Moscow or Asia/Almaty"
        problems.add(where, f"unknown time zone {name!r}{hint}")
        return "UTC"


class English:
    """The words of the timeline; a multilingual site's other languages have their own (i18n.py)."""

    def unit(self, n: int, word: str) -> str:
        """`1 day`, `3 hours`: a count of `day`, `hour` or `minute`."""
        return f"{n} {word}{'' if n == 1 else 's'}"

    def later(self, span: str) -> str:
        return f"{span} later"

    def phrase(self, key: str, **values: str) -> str:
        """`moments later`, `the same day`, `since {title}`, `local`, `local_other_day`."""
        return {"moments_later": "moments later", "same_day": "the same day", "since": "since {title}",
                "local": "{time} local time ({zone})", "local_other_day": "{time} on {day} local time ({zone})"}[key].format(**values)

    def day_label(self, value: dt.date) -> str:
        """`Tuesday 5 October 2021`."""
        return f"{value:%A} {value.day} {value:%B %Y}"

    def weekday_and_day(self, value: dt.date) -> str:
        """`Wednesday 6 October`."""
        return self.day_label(value).rsplit(" ", 1)[0]


ENGLISH = English()


def duration(delta: dt.timedelta, words: English = ENGLISH) -> str:
    """Say how long a span is in the two largest units that matter: `11 days 13 hours`, `3 hours 21 minutes`."""
    minutes = round(delta.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    unit = words.unit

    if days >= 30:
        return unit(days + (1 if hours >= 12 else 0), "day")
    if days:
        parts = [unit(days, "day")] + ([unit(hours + (1 if minutes >= 30 else 0), "hour")] if hours or minutes >= 30 else [])
        return " ".join(parts)
    if hours:
        return " ".join([unit(hours, "hour")] + ([unit(minutes, "minute")] if minutes else []))
    return unit(minutes, "minute")


def day_label(value: dt.date) -> str:
    """`Tuesday 5 October 2021`."""
    return ENGLISH.day_label(value)


def _offset(value: dt.datetime) -> str:
    offset = value.utcoffset() or dt.timedelta(0)
    sign = "-" if offset < dt.timedelta(0) else "+"
    hours, rest = divmod(abs(int(offset.total_seconds())) // 60, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@dataclass(frozen=True)
class Local:
    """An event's time where it happened."""

    time: dt.datetime
    zone: str
    label: str
    """e.g. `13:55 local time (UTC+5)` or `09:00 on Wednesday 6 October local time (NZDT, UTC+13)`."""
    other_day: int
    """-1, 0 or +1: the local calendar day against the UTC day."""


@dataclass(frozen=True)
class Moment:
    """One event as the timeline shows it."""

    event: Event
    local: Local | None
    gap: str | None
    """Time since the previous event, e.g. `3 hours 27 minutes later`."""
    since: str | None
    """A labelled span from an earlier event, e.g. `11 days 13 hours aboard the station`."""
    articles: tuple[Article, ...]


@dataclass(frozen=True)
class Day:
    """The events of one UTC calendar day."""

    date: dt.date
    label: str
    moments: tuple[Moment, ...]

    @property
    def id(self) -> str:
        return f"day-{self.date.isoformat()}"


def local_time(event: Event, words: English = ENGLISH) -> Local | None:
    """Work out the local time of a timed event outside UTC."""
    if not event.has_time or event.zone in ("UTC", "Etc/UTC"):
        return None
    local = event.time.astimezone(ZoneInfo(event.zone))
    abbreviation = local.tzname() or ""
    zone = f"{abbreviation}, {_offset(local)}" if abbreviation.isalpha() else _offset(local)
    shift = (local.date() - event.time.date()).days
    if shift == 0:
        label = words.phrase("local", time=f"{local:%H:%M}", zone=zone)
    else:
        label = words.phrase("local_other_day", time=f"{local:%H:%M}", day=words.weekday_and_day(local.date()), zone=zone)
    return Local(local, event.zone, label, shift)


def _gap(previous: Event | None, event: Event, words: English = ENGLISH) -> str | None:
    if previous is None:
        return None
    delta = event.time - previous.time
    if not (event.has_time and previous.has_time):
        days = (event.time.date() - previous.time.date()).days
        return words.later(words.unit(days, "day")) if days else words.phrase("same_day")
    return words.later(duration(delta, words)) if delta.total_seconds() >= 60 else words.phrase("moments_later")


def build(events: Sequence[Event], articles: Iterable[Article], words: English = ENGLISH) -> tuple[Day, ...]:
    """Group the events by UTC day, each with its local time, durations and covering articles, in `words`' language."""
    by_id = {e.id: e for e in events}
    covering: dict[str, list[Article]] = {}
    for article in sorted(articles, key=lambda a: (a.date, a.slug)):
        for event_id in article.events:
            covering.setdefault(event_id, []).append(article)
    days: dict[dt.date, list[Moment]] = {}
    previous = None
    for event in events:
        since = None
        start = by_id.get(str(event.data.get("since") or ""))
        if start is not None:
            label = str(event.data.get("since_label") or words.phrase("since", title=start.title))
            since = f"{duration(event.time - start.time, words)} {label}"
        moment = Moment(event, local_time(event, words), _gap(previous, event, words), since, tuple(covering.get(event.id, ())))
        days.setdefault(event.time.date(), []).append(moment)
        previous = event
    return tuple(Day(date, words.day_label(date), tuple(moments)) for date, moments in days.items())


def check_since(raw_events, problems) -> None:
    """Check that each event's `since:` names another event's id."""
    if not isinstance(raw_events, list):
        return
    ids = {str(item.get("id")) for item in raw_events if isinstance(item, dict) and item.get("id")}
    for item in raw_events:
        if isinstance(item, dict) and item.get("since") is not None and str(item["since"]) not in ids:
            close = difflib.get_close_matches(str(item["since"]), sorted(ids), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.add(item.where("since"), f"'since' names unknown event id {item['since']!r}{hint}")
