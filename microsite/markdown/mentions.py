"""Crew mentions and `[[kind:target]]` references inside article bodies.

A Python-Markdown extension links the first mention of each crew member (full name, native-script
name or an alias from `mission.yaml`) to their page, with a hover and focus card giving their role
and a one-line bio, never inside headings, code or existing links. `[[crew:id]]`,
`[[article:slug]]` and `[[article:slug#heading]]` link by id. A Markdown link to another article's
file, relative to the linking one as GitHub follows it (`[the landing](../2021/landing.md#return)`),
links to that article's page. Conversion stays a pure function of the text and the crew data passed
in (it can run in worker processes, and its result is cached by text): article references and file
links are left as placeholders and resolved afterwards, once every article's file, slug and headings
are known, which is also where unknown targets become `path:line:column` errors.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field, replace
from html import escape
from typing import Callable, Iterable, Mapping
from urllib.parse import unquote, urlsplit

from markdown import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor

from .bodies import Html
from ..errors import BuildFailed, SiteError
from ..features.redirects import slug_aliases

REF_PATTERN = r"\[\[(crew|article):([^\]\s#|]*)(?:#([^\]\s|]*))?(?:\|([^\]\n]+))?\]\]"
"""`[[crew:id]]`, `[[article:slug]]`, `[[article:slug#heading]]`, each optionally `|link text`."""

SKIP_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "a", "code", "pre", "kbd", "samp", "script", "style"}
"""Elements whose text never gets an automatic link."""

TOKEN = "\ue000{}:{}\ue001"
"""Placeholder for an article reference's href or text, filled in by `resolve`."""
_TOKEN = re.compile("\ue000(href|text):([0-9]+)\ue001")
_CARD = re.compile(r'<span class="mention-card"[^>]*>(?:[^<]|<(?!/?span\b)|<span\b[^>]*>[^<]*</span>)*</span>')
"""A hover card, which may hold inline markup and spans one level deep (language marks)."""
_PATRONYMIC = re.compile(r"(вич|вна|чна|ична|ич)$")


@dataclass(frozen=True)
class Person:
    """One crew member as the converter needs them: the names to look for and the card to show."""

    id: str
    name: str
    names: tuple[str, ...]
    """Every spelling that counts as a mention, longest first."""
    native: str
    role: str
    bio: str
    href: str


@dataclass(frozen=True)
class Crew:
    """The crew data passed into each conversion (plain, picklable, the same for every article)."""

    people: tuple[Person, ...] = ()

    def by_id(self) -> dict[str, Person]:
        return {p.id: p for p in self.people}


@dataclass(frozen=True)
class Ref:
    """One `[[...]]` reference or link to an article file found in a body."""

    kind: str
    """`crew`, `article`, or `file` for a link to an article's Markdown file."""
    target: str
    """A crew id, a slug, or a file path relative to the linking article's folder."""
    fragment: str
    literal: str
    """The reference as written (a file link's URL), to find its line and column in the source."""


@dataclass
class _State:
    """What one conversion collects; reset before every article."""

    crew: Crew = field(default_factory=Crew)
    people: dict[str, Person] = field(default_factory=dict)
    pattern: re.Pattern[str] | None = None
    lookup: dict[str, Person] = field(default_factory=dict)
    refs: list[Ref] = field(default_factory=list)
    mentioned: dict[str, None] = field(default_factory=dict)
    cards: int = 0


def short_native(name: str) -> str | None:
    """`Клим Алексеевич Шипенко` -> `Клим Шипенко`: the way Russian texts usually write a name."""
    words = name.split()
    if len(words) == 3 and _PATRONYMIC.search(words[1].lower()):
        return f"{words[0]} {words[2]}"
    return None


def crew_data(members: Iterable, base_path: str) -> Crew:
    """Build the converter's crew data from validated crew members."""
    people = []
    for member in members:
        names = [member.name, member.name_native, *(str(a) for a in member.data.get("aliases") or ())]
        if member.name_native and (short := short_native(member.name_native)):
            names.append(short)
        unique = sorted({n.strip() for n in names if n and n.strip()}, key=lambda n: (-len(n), n))
        people.append(Person(member.id, member.name, tuple(unique), member.name_native, member.role, member.bio,
                             f"{base_path}crew/{member.id}/"))
    return Crew(tuple(people))


def _name_pattern(crew: Crew) -> tuple[re.Pattern[str] | None, dict[str, Person]]:
    lookup: dict[str, Person] = {}
    for person in crew.people:
        for name in person.names:
            lookup.setdefault(" ".join(name.split()), person)
    if not lookup:
        return None, lookup
    alternatives = sorted(lookup, key=lambda n: (-len(n), n))
    body = "|".join(r"\s+".join(re.escape(word) for word in name.split()) for name in alternatives)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)"), lookup


def _mention(state: _State, person: Person, text: str) -> etree.Element:
    """A crew link followed by its card, wrapped so CSS can show the card on hover and focus."""
    state.cards += 1
    card_id = f"card-{person.id}-{state.cards}"
    wrap = etree.Element("span", {"class": "mention-wrap"})
    link = etree.SubElement(wrap, "a", {"class": "mention", "href": person.href, "data-crew": person.id,
                                        "aria-describedby": card_id})
    if person.native:
        link.set("data-native", person.native)
        link.set("data-pagefind-index-attrs", "data-native")
    link.text = text
    card = etree.SubElement(wrap, "span", {"class": "mention-card", "id": card_id, "role": "tooltip",
                                           "hidden": "hidden", "data-pagefind-ignore": "all"})
    role = etree.SubElement(card, "strong")
    role.text = person.role
    role.tail = f" {person.bio}" if person.bio else ""
    return wrap


class _RefPattern(InlineProcessor):
    """Turn `[[kind:target]]` into a link; article targets stay placeholders until `resolve`."""

    def __init__(self, state_of):
        super().__init__(REF_PATTERN)
        self.state_of = state_of

    def handleMatch(self, m, data):  # noqa: N802 - Python-Markdown's name
        state: _State = self.state_of()
        kind, target, fragment, label = m.group(1), m.group(2), m.group(3) or "", m.group(4)
        state.refs.append(Ref(kind, target, fragment, m.group(0)))
        if kind == "crew":
            person = state.people.get(target)
            if person is None:
                span = etree.Element("span", {"class": "broken-ref"})
                span.text = m.group(0)
                return span, m.start(0), m.end(0)
            state.mentioned.setdefault(person.id)
            return _mention(state, person, (label or person.name).strip()), m.start(0), m.end(0)
        index = len(state.refs) - 1
        link = etree.Element("a", {"class": "ref", "href": TOKEN.format("href", index)})
        link.text = label.strip() if label else TOKEN.format("text", index)
        return link, m.start(0), m.end(0)


class _MentionLinker(Treeprocessor):
    """Link the first mention of each crew member outside headings, code and links."""

    def __init__(self, md, state_of):
        super().__init__(md)
        self.state_of = state_of

    def run(self, root):
        state: _State = self.state_of()
        if state.pattern is None:
            return None
        linked: set[str] = set()
        self._walk(root, state, linked, skipped=False)
        return None

    def _walk(self, element, state: _State, linked: set[str], skipped: bool) -> None:
        if element.get("class") == "mention-wrap":
            linked.add(element[0].get("data-crew"))
            return
        if element.get("class") == "mention-card":
            return
        skipped = skipped or element.tag in SKIP_TAGS
        code = element.tag in ("code", "pre", "kbd", "samp", "script", "style")
        children = list(element)
        if element.text and not code:
            head, new = self._link(element.text, state, linked, skipped)
            element.text = head
            for offset, node in enumerate(new):
                element.insert(offset, node)
        for child in children:
            self._walk(child, state, linked, skipped)
            if child.tail and not code:
                tail, new = self._link(child.tail, state, linked, skipped)
                child.tail = tail
                position = list(element).index(child) + 1
                for offset, node in enumerate(new):
                    element.insert(position + offset, node)

    def _link(self, text: str, state: _State, linked: set[str], skipped: bool) -> tuple[str, list]:
        """Split `text` around first mentions; return the leading text and the new elements."""
        new: list = []
        head, last = text, 0
        for match in state.pattern.finditer(text):
            person = state.lookup[" ".join(match.group(0).split())]
            state.mentioned.setdefault(person.id)
            if skipped or person.id in linked:
                continue
            linked.add(person.id)
            node = _mention(state, person, match.group(0))
            node.tail = ""
            if new:
                new[-1].tail = text[last:match.start()]
            else:
                head = text[:match.start()]
            new.append(node)
            last = match.end()
        if new:
            new[-1].tail = text[last:]
        return head, new


def file_link(href: str) -> tuple[str, str] | None:
    """(path, fragment) of a link to a Markdown file relative to the linking one, both unquoted;
    None for any other link (with a scheme or host, from the site root, to another kind of file, or
    one that is no URL at all, which the link sanitiser deals with)."""
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or not path.endswith(".md") or path.startswith("/"):
        return None
    return path, unquote(parts.fragment)


class _FileLinks(Treeprocessor):
    """Leave a placeholder in each link to an article file, which `resolve` fills with the page's URL."""

    def __init__(self, md, state_of):
        super().__init__(md)
        self.state_of = state_of

    def run(self, root):
        state: _State = self.state_of()
        for element in root.iter("a"):
            href = element.get("href")
            found = file_link(href) if href else None
            if found is not None:
                state.refs.append(Ref("file", found[0], found[1], href))
                element.set("href", TOKEN.format("href", len(state.refs) - 1))
        return None


class MentionExtension(Extension):
    """Register the reference pattern and the mention linker; `begin` sets the crew per conversion."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state = _State()

    def begin(self, crew: Crew) -> None:
        """Start a new article: forget what the previous one collected."""
        if crew != self.state.crew:
            pattern, lookup = _name_pattern(crew)
            self.state = _State(crew=crew, people=crew.by_id(), pattern=pattern, lookup=lookup)
        else:
            self.state.refs, self.state.mentioned, self.state.cards = [], {}, 0

    def extendMarkdown(self, md):  # noqa: N802 - Python-Markdown's name
        state_of = lambda: self.state  # noqa: E731 - the state object is replaced per crew
        # above 'reference' (170) so [[...]] is not read as a reference link; below 'backtick' (190) so code wins
        md.inlinePatterns.register(_RefPattern(state_of), "crew_refs", 175)
        # after the inline pass (20) and footnotes, before smarty (6) and toc (5)
        md.treeprocessors.register(_MentionLinker(md, state_of), "crew_mentions", 7)
        md.treeprocessors.register(_FileLinks(md, state_of), "file_links", 8)


def strip_cards(html: str) -> str:
    """Drop hover cards from body HTML, for feed readers that show hidden text."""
    return _CARD.sub("", html)


# ---------------------------------------------------------------------------------------------
# After conversion: resolve article references and report the broken ones in place.

@dataclass(frozen=True)
class Target:
    """What an `[[article:...]]` reference can point to."""

    url: str
    title: str
    headings: Mapping[str, str]
    """Heading id -> heading text as HTML (Python-Markdown's toc gives it escaped)."""


def locate(body: str, literal: str, body_line: int, after: str = "") -> list[tuple[int, int]]:
    """Find `literal` in the Markdown body outside fenced and inline code; 1-based file positions.

    With `after`, where one of its characters comes before the literal (spaces between allowed),
    as `(` or `<` before a link's URL, if anywhere; the start of the body when found nowhere."""
    return (after and _places(body, literal, body_line, after)) or _places(body, literal, body_line, "") or [(body_line, 1)]


def _places(body: str, literal: str, body_line: int, after: str) -> list[tuple[int, int]]:
    places = []
    fence = ""
    for number, line in enumerate(body.split("\n")):
        stripped = line.lstrip()
        if fence:
            if stripped.startswith(fence):
                fence = ""
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        code = [m.span() for m in re.finditer(r"(`+).*?\1", line)]
        start = line.find(literal)
        while start >= 0:
            before = line[:start].rstrip()
            if not any(a <= start < b for a, b in code) and (not after or (before and before[-1] in after)):
                places.append((body_line + number, start + 1))
            start = line.find(literal, start + 1)
    return places


def resolve(html: str, refs: tuple[Ref, ...], crew_ids: set[str], targets: Mapping[str, Target],
            aliases: Mapping[str, str], source: str, files: Mapping[str, str],
            scheduled: Mapping[str, str] | None = None) -> tuple[str, list[tuple[Ref, str]]]:
    """Fill in the placeholders of article references and of links to article files (`files`:
    source path -> slug; `source`: the linking article's path); return the HTML and each broken
    reference with why (`scheduled`: when each article held back is due, by slug and by path)."""
    scheduled = scheduled or {}
    later = " not published yet: it is scheduled for {}; link to it once it is (or build with --future)"
    problems: list[tuple[Ref, str]] = []
    filled: dict[str, str] = {}
    for index, ref in enumerate(refs):
        if ref.kind == "crew":
            if ref.target not in crew_ids:
                known = ", ".join(sorted(crew_ids)) or "none"
                problems.append((ref, f"unknown crew id {ref.target!r} in {ref.literal} (crew ids: {known})"))
            continue
        if ref.kind == "file":
            named = posixpath.normpath(posixpath.join(posixpath.dirname(source), ref.target))
            slug = files.get(named, "")
            if not slug:
                why = f"{named} is" + later.format(scheduled[named]) if named in scheduled else f"no published article {named}"
                problems.append((ref, f"{why} for the link {ref.literal!r}"))
                continue
            what = named
        else:
            slug = ref.target if ref.target in targets else aliases.get(ref.target, ref.target)
            if slug not in targets:
                why = f"article {slug!r} is" + later.format(scheduled[slug]) if slug in scheduled else f"no article with slug {ref.target!r}"
                problems.append((ref, f"{why} for {ref.literal}"))
                continue
            what = f"article {slug!r}"
        target = targets[slug]
        url, text = target.url, escape(target.title, quote=False)
        if ref.fragment:
            if ref.fragment not in target.headings:
                ids = ", ".join(sorted(target.headings)) or "none"
                problems.append((ref, f"{what} has no heading #{ref.fragment} (headings: {ids})"))
                continue
            url, text = f"{url}#{ref.fragment}", target.headings[ref.fragment]
        filled[f"href:{index}"], filled[f"text:{index}"] = escape(url), text
    html = _TOKEN.sub(lambda m: filled.get(f"{m.group(1)}:{m.group(2)}", ""), html)
    return html, problems


def errors_for(source: str, body: str, body_line: int, problems: list[tuple[Ref, str]]) -> list[SiteError]:
    """Place each broken reference at its line and column in the article file."""
    errors = []
    for ref, message in problems:
        for line, column in locate(body, ref.literal, body_line, "(<:" if ref.kind == "file" else ""):
            errors.append(SiteError(source, line, column, message))
    return sorted(set(errors))


def resolve_site(checked, converted: dict, text: Callable | None = None, warnings: list[SiteError] | None = None) -> dict:
    """Resolve every article's `[[...]]` references and links to article files; raise BuildFailed
    listing each broken one in place.

    `text` gives an article's Markdown (content.body_text) when it does not hold it, to place problems.
    Given a `warnings` list (`microsite check`), broken links to article files go there as warnings
    instead: a link written for GitHub may point at a file kept out of the site on purpose."""
    metas = checked.articles
    base = checked.config.base_path
    by_language: dict[str, dict[str, Target]] = {}
    for m in metas:  # a translation's references lead to articles in its own language where they exist
        prefix = m.fields.get("prefix", "")
        by_language.setdefault(prefix, {})[m.fields["slug"]] = Target(
            f"{base}{prefix}articles/{m.fields['slug']}/", m.fields["title"], {t.id: t.title for t in converted[m.raw.source].toc})
    targets = by_language.get("", {})
    aliases = slug_aliases((m.fields["slug"], m.fields["aliases"]) for m in metas if not m.fields.get("prefix"))
    files = {m.raw.source: m.fields["slug"] for m in metas}
    crew_ids = {m.id for m in checked.crew}
    scheduled = {key: f"{m.fields['date']:%Y-%m-%d %H:%M} UTC" for m in checked.scheduled for key in (m.fields["slug"], m.raw.source)}
    errors: list[SiteError] = []
    done = {}
    for meta in metas:
        body = converted[meta.raw.source]
        if not body.refs:
            done[meta.raw.source] = body
            continue
        prefix = meta.fields.get("prefix", "")
        known = {**targets, **by_language[prefix]} if prefix else targets
        html, problems = resolve(str(body.html), body.refs, crew_ids, known, aliases, meta.raw.source, files, scheduled)
        if problems:
            markdown = meta.raw.body if meta.raw.body is not None or text is None else text(meta.raw)
            if warnings is not None:
                files_only = [(ref, why) for ref, why in problems if ref.kind == "file"]
                warnings += [replace(e, message=f"warning: {e.message}")
                             for e in errors_for(meta.raw.source, markdown, meta.raw.body_line, files_only)]
                problems = [(ref, why) for ref, why in problems if ref.kind != "file"]
            errors += errors_for(meta.raw.source, markdown, meta.raw.body_line, problems)
        done[meta.raw.source] = replace(body, html=Html(html))
    if errors:
        raise BuildFailed(errors)
    return done
