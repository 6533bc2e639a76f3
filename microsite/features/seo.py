"""What search engines and link previews read: schema.org records and page descriptions, from the model.

Records are plain dicts; templates serialise them with the `tojson` filter, which escapes `<`, `>`
and `&`, so no value from content can end the <script> block that holds them.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any, Callable, Iterable, Mapping

from ..model import Article, CrewMember, Event, SiteConfig

CONTEXT = "https://schema.org"
DESCRIPTION_CHARS = 160
"""Search engines show about this much of a meta description."""

_TAG = re.compile(r"<[^>]+>")
_FOOTNOTES = re.compile(r'<div class="footnote">.*?</div>', re.DOTALL)
_SPACE = re.compile(r"\s+")


def _iso(value: dt.datetime | dt.date) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def plain_text(body: str) -> str:
    """Readable text of an article body: no tags, footnotes or heading anchors, whitespace folded."""
    text = _FOOTNOTES.sub(" ", body)
    text = re.sub(r'<a class="anchor"[^>]*>.*?</a>', " ", text)
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def excerpt(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """Shorten text at a word boundary, ending in an ellipsis when cut."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-–—")
    return cut + "…"


def article_description(article: Article) -> str:
    """The article's summary, or the opening of its text when it has none."""
    return excerpt(article.summary or plain_text(str(article.body)))


class StructuredData:
    """Builds the JSON-LD records of a site; `abs_url` makes every URL absolute."""

    def __init__(self, config: SiteConfig, abs_url: Callable[[str], str], image_url: Callable[[Article], str | None],
                 note: Callable[..., None] = lambda record, field="*": None):
        self.config = config
        self.abs_url = abs_url
        self.image_url = image_url
        self.note = note
        """Told which fields of which records a JSON-LD record reads, `note(record)` for all of
        them (the page's recorder, render.Reads)."""

    def __repr__(self) -> str:
        """Name what the records depend on beyond their arguments, so rebuilds can fingerprint it."""
        return f"StructuredData({self.config!r})"

    def _publisher(self) -> dict[str, Any]:
        return {"@type": "Organization", "name": self.config.title, "url": self.abs_url("")}

    def website(self) -> dict[str, Any]:
        """The site itself, for the home page."""
        return {"@context": CONTEXT, "@type": "WebSite", "name": self.config.title, "description": self.config.description,
                "url": self.abs_url(""), "inLanguage": self.config.language, "publisher": self._publisher()}

    def _person_ref(self, member: CrewMember) -> dict[str, Any]:
        return {"@type": "Person", "name": member.name, "url": self.abs_url(member.url)}

    def news_article(self, article: Article, members: Iterable[CrewMember] = (),
                     translations: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A NewsArticle: headline, dates, authorship, the crew it is about, and in a multilingual
        site the work it translates or its translations (`translations`: site path by language)."""
        self.note(article)
        members = list(members)
        for member in members:
            self.note(member, "name")
            self.note(member, "url")
        record: dict[str, Any] = {
            "@context": CONTEXT,
            "@type": "NewsArticle",
            "headline": excerpt(article.title, 110),
            "description": article_description(article),
            "url": self.abs_url(article.url),
            "mainEntityOfPage": {"@type": "WebPage", "@id": self.abs_url(article.url)},
            "datePublished": _iso(article.date),
            "dateModified": _iso(article.modified),
            "inLanguage": self.config.language,
            "wordCount": article.words,
            "author": {"@type": "Organization", "name": self.config.author, "url": self.abs_url("")},
            "publisher": self._publisher(),
            "isPartOf": {"@type": "WebSite", "name": self.config.title, "url": self.abs_url("")},
        }
        if article.tags:
            record["keywords"] = list(article.tags)
        people = [self._person_ref(m) for m in members]
        if people:
            record["about"] = people
        image = self.image_url(article)
        if image:
            record["image"] = [image]
        if translations and self.config.languages:
            default = self.config.languages[0].code
            if article.lang and default in translations:
                record["translationOfWork"] = {"@type": "NewsArticle", "@id": self.abs_url(translations[default])}
            elif not article.lang:
                others = [self.abs_url(path) for code, path in translations.items() if code != default]
                if others:
                    record["workTranslation"] = [{"@type": "NewsArticle", "@id": url} for url in others]
        return record

    def person(self, member: CrewMember) -> dict[str, Any]:
        """A Person: names in both scripts, role, birth date and place as given in mission.yaml."""
        self.note(member)
        data: Mapping[str, Any] = member.data
        record: dict[str, Any] = {"@context": CONTEXT, "@type": "Person", "name": member.name, "url": self.abs_url(member.url)}
        alternate = [n for n in [member.name_native, *(data.get("aliases") or [])] if isinstance(n, str) and n and n != member.name]
        if alternate:
            record["alternateName"] = alternate
        if member.role:
            record["jobTitle"] = member.role
        description = data.get("about") or member.bio
        if description:
            record["description"] = excerpt(str(description), 300)
        born = data.get("born")
        if isinstance(born, (dt.date, dt.datetime)):
            record["birthDate"] = _iso(born)
        elif isinstance(born, str) and born:
            record["birthDate"] = born
        if data.get("birthplace"):
            record["birthPlace"] = {"@type": "Place", "name": str(data["birthplace"])}
        return record

    def event(self, event: Event, page: str = "mission/") -> dict[str, Any]:
        """An Event: name, start (to the second in UTC, or the day), place and description."""
        record: dict[str, Any] = {
            "@type": "Event",
            "name": event.title,
            "startDate": _iso(event.time) if event.has_time else event.time.date().isoformat(),
            "url": self.abs_url(f"{page}#{event.id}"),
            "eventStatus": "https://schema.org/EventScheduled",
            "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        }
        if event.data.get("organizer"):
            record["organizer"] = {"@type": "Organization", "name": str(event.data["organizer"])}
        place = event.data.get("place")
        if place:
            record["location"] = {"@type": "Place", "name": str(place)}
        if event.detail:
            record["description"] = event.detail
        return record

    def events(self, events: Iterable[Event], page: str = "mission/") -> dict[str, Any]:
        """Every event of the timeline in one graph."""
        return {"@context": CONTEXT, "@graph": [self.event(e, page) for e in events]}
