"""The mission events as an iCalendar file (RFC 5545) that calendar apps import.

Written by hand rather than with a library: one VCALENDAR of plain VEVENTs, with the three rules
that matter (CRLF line ends, text escaping, lines folded at 75 octets), so the output is
deterministic, with no build timestamp in it.
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence
from urllib.parse import urlsplit

from ..model import Event

PRODID = "-//microsite//mission timeline//EN"


def escape_text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and line breaks."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets, never splitting a UTF-8 character."""
    out, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode("utf-8"))
        limit = 75 if not out else 74  # continuation lines start with one space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += ch
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def calendar(events: Sequence[Event], name: str, page_url: str) -> str:
    """Render the events as one iCalendar document; `page_url` is the timeline's absolute URL."""
    host = urlsplit(page_url).netloc or "microsite"
    stamp = _utc(max((e.time for e in events), default=dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{escape_text(name)}", "X-WR-TIMEZONE:UTC"]
    for event in events:
        lines += ["BEGIN:VEVENT", f"UID:{event.id}@{host}", f"DTSTAMP:{stamp}"]
        if event.has_time:
            lines.append(f"DTSTART:{_utc(event.time)}")
        else:
            day = event.time.date()
            lines += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + dt.timedelta(days=1):%Y%m%d}"]
        lines.append(f"SUMMARY:{escape_text(event.title)}")
        if event.detail:
            lines.append(f"DESCRIPTION:{escape_text(' '.join(event.detail.split()))}")
        if event.data.get("place"):
            lines.append(f"LOCATION:{escape_text(str(event.data['place']))}")
        lines += [f"URL:{page_url}#{event.id}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
