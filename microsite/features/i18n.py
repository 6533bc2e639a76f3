"""A site in several languages: the `languages:` list, data written per language, translation
files, and the interface strings of each language with CLDR plurals and dates (Babel)."""

from __future__ import annotations

import datetime as dt
import functools
import html
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

import babel
import babel.dates

from ..errors import SiteError
from ..markdown import markup
from .timeline import English
from ..model import Language
from ..source.yaml12 import YamlList, YamlMap

CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")
"""A BCP 47 language tag as a site folder can carry it: `ru`, `pt-br`."""
TRANSLATION = re.compile(r"(?P<stem>.+)\.(?P<code>[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.md$")
"""A translation's file name: `the-landing.ru.md` beside `the-landing.md`."""
INHERITED = ("date", "updated", "crew", "events", "tags", "image", "image_alt", "series", "draft")
"""Front-matter fields a translation takes from its original unless it sets them."""
NATIVE = "ru"
"""The language of crew `name_native`: pages in it show that name as the member's name."""
LANGUAGE_FIELDS = {"code", "name", "title", "description", "untranslated"}


def check_languages(raw: YamlMap, title: str, description: str, problems) -> tuple[Language, ...]:
    """Validate `languages:` of `site.yaml`; the first is the default, served at the site's root."""
    listed = problems.field(raw, "languages", (YamlList,), "a list of languages, each with code and name")
    if not listed:
        return ()
    languages: list[Language] = []
    for index, item in enumerate(listed):
        if not isinstance(item, YamlMap):
            problems.add(listed.where(index), "each language must be a mapping with code, name, title and description")
            continue
        problems.unknown(item, LANGUAGE_FIELDS, "a language")
        code = problems.text(item, "code", required=True)
        if code and not CODE.match(code):
            problems.add(item.where("code"), f"language code {code!r} must be lowercase like 'en', 'ru' or 'pt-br'")
            continue
        if code in {lang.code for lang in languages}:
            problems.add(item.where("code"), f"language {code!r} is listed twice")
            continue
        untranslated = problems.text(item, "untranslated", default="hide")
        if untranslated not in ("hide", "show"):
            problems.add(item.where("untranslated"), f"'untranslated' must be hide or show, not {untranslated!r}")
        first = not languages
        languages.append(Language(code, problems.text(item, "name", required=True),
                                  problems.text(item, "title") or title, problems.text(item, "description") or description,
                                  untranslated if untranslated in ("hide", "show") else "hide", "" if first else f"{code}/"))
    return tuple(languages)


def check_tag_names(raw: YamlMap, codes: set[str], problems) -> Mapping[str, Mapping[str, str]]:
    """Validate `tags:` of `site.yaml`: each tag's display name per language."""
    section = problems.field(raw, "tags", (YamlMap,), "a mapping of tag: {language: name}")
    if not section:
        return MappingProxyType({})
    names: dict[str, Mapping[str, str]] = {}
    for tag, value in section.items():
        if not isinstance(value, YamlMap):
            problems.add(section.where(tag), f"tag {tag!r} must map languages to names, e.g. {{en: Soyuz, ru: Союз}}")
            continue
        for code in value:
            if code not in codes:
                problems.add(value.where(code), f"unknown language {code!r} for tag {tag!r}{_listed(codes)}")
        names[str(tag)] = MappingProxyType({str(k): str(v) for k, v in value.items() if k in codes})
    return MappingProxyType(names)


def _listed(codes) -> str:
    return f" (languages in content/site.yaml: {', '.join(sorted(codes))})" if codes else "; list languages in content/site.yaml"


def is_by_language(value: Any, codes: set[str]) -> bool:
    """Tell a mapping by language (`{en: ..., ru: ...}`) from a mapping of fields."""
    return (isinstance(value, YamlMap) and bool(value) and any(k in codes for k in value)
            and all(isinstance(k, str) and CODE.match(k) for k in value))


def check_by_language(value: Any, codes: set[str], problems) -> None:
    """Report every language key in data that `languages:` does not list, at its line."""
    if isinstance(value, YamlMap):
        if is_by_language(value, codes):
            for key in value:
                if key not in codes:
                    problems.add(value.where(key), f"unknown language {key!r}{_listed(codes)}")
            return
        for item in value.values():
            check_by_language(item, codes, problems)
    elif isinstance(value, YamlList):
        for item in value:
            check_by_language(item, codes, problems)


def localize(value: Any, code: str, default: str, codes: set[str]) -> Any:
    """Data as one language reads it: each mapping by language replaced by its text in `code`
    (else the default language's); places kept, so problems still name their lines."""
    if isinstance(value, YamlMap):
        if is_by_language(value, codes):
            return value.get(code, value.get(default, next(iter(value.values()))))
        out = YamlMap((k, localize(v, code, default, codes)) for k, v in value.items())
        out.line, out.column, out.key_marks = value.line, value.column, value.key_marks
        if code == NATIVE and code != default and out.get("name_native") and "id" in out and not is_by_language(value.get("name"), codes):
            # the name as the default language writes it stays findable, under "also written"
            aliases = list(out.get("aliases") or []) if isinstance(out.get("aliases"), list) else [out["aliases"]] if out.get("aliases") else []
            out["aliases"] = YamlList([out["name"], *(a for a in aliases if a != out["name"])])
            out["name"] = out["name_native"]
        return out
    if isinstance(value, YamlList):
        out_list = YamlList(localize(v, code, default, codes) for v in value)
        out_list.line, out_list.column, out_list.item_marks = value.line, value.column, value.item_marks
        return out_list
    return value


def translation_of(source: str, codes: set[str]) -> tuple[str, str] | None:
    """(language code, original's source path) of a translation file, by its name; None for an original."""
    folder, _, name = source.rpartition("/")
    found = TRANSLATION.match(name)
    if not found:
        return None
    return found["code"], f"{folder}/{found['stem']}.md" if folder else f"{found['stem']}.md"


def translation_problem(source: str, code: str, original: str, languages: tuple[Language, ...],
                        sources: set[str]) -> SiteError | None:
    """Why a translation file cannot be published, if it cannot."""
    codes = {lang.code for lang in languages}
    if code not in codes:
        return SiteError(source, 1, 1, f"unknown language {code!r} in the file name{_listed(codes)}")
    if code == languages[0].code:
        return SiteError(source, 1, 1, f"{code!r} is the default language: name the file {original.rpartition('/')[2]}")
    if original not in sources:
        return SiteError(source, 1, 1, f"translation of {original}, which does not exist; add it, or rename this file")
    return None


def inherit(front: YamlMap, original: YamlMap, slug: str) -> YamlMap:
    """A translation's front matter with the fields it leaves out taken from its original."""
    merged = YamlMap(front)
    merged.line, merged.column, merged.key_marks = front.line, front.column, dict(front.key_marks)
    for key in INHERITED:
        if key not in front and key in original:
            merged[key] = original[key]
    if "slug" not in front:
        merged["slug"] = slug
    return merged


# Interface strings

THEME_STRINGS = Path(__file__).resolve().parent.parent / "theme" / "i18n"


@dataclass(frozen=True)
class Strings:
    """The interface strings of every language: the site's `i18n/<code>.yaml` over the theme's."""

    tables: Mapping[str, Mapping[str, Any]]
    default: str

    def get(self, code: str, key: str) -> Any:
        table = self.tables.get(code, {})
        if key in table:
            return table[key]
        fallback = self.tables.get(self.default, {})
        if key in fallback:
            return fallback[key]
        raise LookupError(f"no interface string {key!r} in i18n/{self.default}.yaml")

    def text(self, code: str, key: str, count: int | None = None, **values: Any) -> str:
        """The string `key` in language `code`, in the plural form CLDR gives `count`, filled in."""
        entry = self.get(code, key)
        if not isinstance(entry, str) and isinstance(entry, Mapping):  # most strings have no plural forms
            form = plural_form(code, count if count is not None else 0)
            entry = entry.get(form, entry.get("other", ""))
        if count is not None:
            values["n"] = count
        return str(entry).format(**values) if values else str(entry)

    def forms(self, code: str, key: str) -> dict[str, str]:
        """Every plural form of string `key` in language `code`, unfilled, by CLDR category ("other"
        alone for a string without forms); empty when no table has the key."""
        try:
            entry = self.get(code, key)
        except LookupError:
            return {}
        return {str(form): str(text) for form, text in entry.items()} if isinstance(entry, Mapping) else {"other": str(entry)}

    def missing(self) -> list[tuple[str, str]]:
        """(language, key) of each key the default language has and another lacks."""
        base = self.tables.get(self.default, {})
        return [(code, key) for code, table in self.tables.items() if code != self.default for key in base if key not in table]


def plural_form(code: str, count: int) -> str:
    """The CLDR plural category of a count in a language: `one`, `few`, `many` or `other`."""
    return _plural_rule(code)(abs(count))


@functools.lru_cache(maxsize=None)
def _plural_rule(code: str) -> Callable[[int], str]:
    """A language's plural rule, parsed once: every list page asks it for every article's reading time."""
    return babel.Locale.parse(code.replace("-", "_")).plural_form


def load_strings(folders: list[Path], codes: list[str], read) -> Strings:
    """Read each language's table by `read(path, rel)` from the first of `folders` that has its
    file: a site's `i18n/ru.yaml` replaces the theme's, as its templates do, and what it leaves
    out is shown in the default language (and reported by `check`)."""
    tables: dict[str, Mapping[str, Any]] = {}
    for code in codes:
        found = next((folder / f"{code}.yaml" for folder in folders if (folder / f"{code}.yaml").is_file()), None)
        tables[code] = MappingProxyType(dict(read(found, f"i18n/{code}.yaml")) if found else {})
    return Strings(MappingProxyType(tables), codes[0])


def format_date(value: dt.date, code: str) -> str:
    """A date in the long form of a language: `5 October 2021`, `5 октября 2021 г.`."""
    if code.split("-")[0] == "en":
        return f"{value.day} {value:%B %Y}"
    return babel.dates.format_date(value, "long", locale=code.replace("-", "_"))


_MENTION = re.compile(r'<a aria-describedby="(?P<card>card-[^"]*)" class="mention" data-crew="(?P<id>[^"]*)"'
                      r'(?: data-native="[^"]*")?(?: data-pagefind-index-attrs="data-native")? href="[^"]*">')
_CARD = re.compile(r'(?P<open><span class="mention-card" data-pagefind-ignore="all" hidden id="card-(?P<id>[a-z0-9-]+)-\d+" role="tooltip">)'
                   r'<strong>[^<]*</strong>[^<]*</span>')


_BODY_WORDS = re.compile("|".join((
    'title="' + re.escape(markup.ANCHOR_TITLE) + '"',
    'aria-label="' + re.escape(markup.TABLE_LABEL) + '"',
    'title="' + re.escape(markup.BACKLINK_TITLE).replace("%d", r"(\d+)") + '"',
)))


def localize_body(body: str, strings: Strings, code: str) -> str:
    """The few words Markdown conversion writes into a body (a heading's link, a table's label, a
    footnote's way back), in the article's language: conversion is shared by every language, so
    they are put in afterwards, from the strings `body_anchor`, `body_table` and `body_backref`."""

    def swap(match: re.Match) -> str:
        if match.group(1):
            return f'title="{html.escape(strings.text(code, "body_backref", None, n=match.group(1)))}"'
        attribute, key = ("title", "body_anchor") if match.group(0).startswith("title") else ("aria-label", "body_table")
        return f'{attribute}="{html.escape(strings.text(code, key))}"'

    return _BODY_WORDS.sub(swap, body)


def localize_mentions(html: str, people: Mapping[str, tuple[str, str, str, str]]) -> str:
    """Crew mentions of a translation as its language reads them: the link to the member's page
    in that language, the card's role and bio in it, and the name as the default language writes
    it in `data-native`, which the search index reads, so a Latin spelling finds a Cyrillic page.
    `people`: by crew id, (href, other name, role, bio)."""
    from markupsafe import escape

    def link(found: re.Match) -> str:
        person = people.get(found["id"])
        if person is None:
            return found[0]
        href, other, _, _ = person
        native = f' data-native="{escape(other)}" data-pagefind-index-attrs="data-native"' if other else ""
        return f'<a aria-describedby="{found["card"]}" class="mention" data-crew="{found["id"]}"{native} href="{escape(href)}">'

    def card(found: re.Match) -> str:
        person = people.get(found["id"])
        if person is None:
            return found[0]
        _, _, role, bio = person
        return f'{found["open"]}<strong>{escape(role)}</strong>{" " + str(escape(bio)) if bio else ""}</span>'

    if 'class="mention"' not in html:
        return html
    return _CARD.sub(card, _MENTION.sub(link, html))


class Spoken(English):
    """The timeline's words in a language of the site, from its interface strings."""

    def __init__(self, strings: Strings, code: str):
        self.strings, self.code = strings, code

    def __repr__(self) -> str:
        """Name the language and its strings, so rebuilds can fingerprint the pages that use them."""
        return f"Spoken({self.code!r}, {sorted(self.strings.tables.get(self.code, {}).items())!r})"

    def unit(self, n: int, word: str) -> str:
        return self.strings.text(self.code, f"timeline_{word}", n)

    def later(self, span: str) -> str:
        return self.strings.text(self.code, "timeline_later", span=span)

    def phrase(self, key: str, **values: str) -> str:
        return self.strings.text(self.code, f"timeline_{key}", **values)

    def day_label(self, value: dt.date) -> str:
        if self.code.split("-")[0] == "en":
            return super().day_label(value)
        return babel.dates.format_date(value, "EEEE, d MMMM y", locale=self.code.replace("-", "_"))

    def weekday_and_day(self, value: dt.date) -> str:
        if self.code.split("-")[0] == "en":
            return super().weekday_and_day(value)
        return babel.dates.format_date(value, "EEEE, d MMMM", locale=self.code.replace("-", "_"))


def language_cards(site, deck, has_image: Callable[[Any], bool]):
    """The link-preview cards of a multilingual site: each other language's home page, crew and
    translations get cards in its own words (title, names, dates) beside the default language's."""
    from ..output import cards

    extra = []
    for language in site.config.languages[1:]:
        view = site.views[language.code]
        own = view.config.title
        extra.append(cards.make(language.prefix, own, view.config.description or own, "", deck.recipe))
        extra += [cards.make(f"{language.prefix}{m.url}", own, m.name, m.role, deck.recipe) for m in view.crew]
        extra += [cards.make(a.url, own, a.title, format_date(a.date, a.lang), deck.recipe)
                  for a in view.articles if a.lang == language.code and not has_image(a)]
    return cards.Deck(deck.recipe, {**deck.cards, **{card.page: card for card in extra}})
