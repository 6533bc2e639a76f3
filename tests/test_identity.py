"""Byte identity: however a site is rebuilt, after any sequence of edits its output is what a clean build
of the same sources makes, byte for byte, and a build that fails leaves the last output as it was.

One state machine edits a real site the way authors do (every kind of source file), and after each
step compares the output of the way of building under test with a build into a new, empty folder:
- `cli`: the command line, again and again on one source, with its cache beside the output;
- `watch`: a live watch session, with its real file-system observer, rebuilding as files are saved.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
from dataclasses import dataclass, field, replace
from itertools import count
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test
from PIL import Image

from conftest import ROOT, examples, sources_digest
from live import Running, settle, wait_for
from microsite import cli

THEME = ROOT / "microsite" / "theme"
SUBPATH = "https://example.org/challenge/"


def tree(folder: Path) -> dict[str, str]:
    """Every file of a folder by relative path, with a digest of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


CLEAN: dict[str, dict[str, str] | None] = {}
"""What a clean build made of each set of sources seen: a clean build depends on nothing else."""


# The sources, as records the machine edits and writes out whole.

@dataclass(frozen=True)
class Doc:
    """One article: front matter fields and body paragraphs."""

    title: str
    date: str
    body: tuple[str, ...]
    tags: tuple[str, ...] = ()
    crew: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    draft: bool = False
    image: str | None = None
    aliases: tuple[str, ...] = ()
    series: str | None = None

    def text(self) -> str:
        lines = ["---", f"title: {json.dumps(self.title, ensure_ascii=False)}", f"date: {self.date}"]
        for key in ("tags", "crew", "events", "aliases"):
            if getattr(self, key):
                lines.append(f"{key}: [{', '.join(json.dumps(v, ensure_ascii=False) for v in getattr(self, key))}]")
        if self.draft:
            lines.append("draft: true")
        if self.series:
            lines.append(f"series: {json.dumps(self.series, ensure_ascii=False)}")
        if self.image:
            lines += [f"image: {self.image}", "image_alt: A picture of the mission"]
        return "\n".join(lines + ["---", "", "\n\n".join(self.body), ""])


@dataclass(frozen=True)
class Member:
    name: str
    role: str
    bio: str
    native: str = ""


@dataclass(frozen=True)
class Event:
    time: str
    title: str
    detail: str


@dataclass
class Mission:
    crew: dict[str, Member] = field(default_factory=lambda: {
        "peresild": Member("Yulia Peresild", "Actress", "Lead actress.", "Юлия Пересильд"),
        "shipenko": Member("Klim Shipenko", "Director", "Director and camera.", "Клим Шипенко"),
        "novitsky": Member("Oleg Novitsky", "Commander", "Soyuz MS-18 commander."),
    })
    events: dict[str, Event] = field(default_factory=lambda: {
        "launch": Event("2021-10-05T08:55:02Z", "Launch", "Lift-off from Baikonur."),
        "landing": Event("2021-10-17T04:35:00Z", "Landing", "Back on the ground."),
    })
    launch_fact: str = "5 October 2021"
    film: str = "The Challenge"

    def text(self) -> str:
        lines = ["mission:", "  name: Test mission", "  spacecraft: [Soyuz MS-19]", "  facts:", "    - label: Launch",
                 f"      value: {self.launch_fact}", "  events:"]
        for key, event in self.events.items():
            lines += [f"    - id: {key}", f"      time: {event.time}", f"      title: {event.title}", f"      detail: {event.detail}"]
        lines.append("crew:")
        for key, member in self.crew.items():
            lines += [f"  - id: {key}", f"    name: {member.name}"]
            if member.native:
                lines.append(f"    name_native: {member.native}")
            lines += [f"    role: {member.role}", f"    bio: {member.bio}"]
        return "\n".join(lines + ["film:", f"  title: {self.film}", ""])


@dataclass(frozen=True)
class SiteFile:
    title: str = "Test Orbit"
    unsafe_html: bool | None = None
    shard_pages: int | None = None
    per_page: int | None = None

    def text(self) -> str:
        lines = [f"title: {self.title}", "description: A small site used by the tests.", "base_url: https://example.org/",
                 "language: en", "author: Test Desk"]
        if self.unsafe_html is not None:
            lines.append(f"unsafe_html: {str(self.unsafe_html).lower()}")
        if self.shard_pages is not None:
            lines.append(f"search_shard_pages: {self.shard_pages}")
        if self.per_page is not None:
            lines.append(f"per_page: {self.per_page}")
        return "\n".join(lines) + "\n"


FIRST_ARTICLES = {
    "landing": Doc("The landing", "2021-10-17T09:00:00Z", ("Home again.",), ("landing", "soyuz"), ("peresild", "shipenko", "novitsky")),
    "launch": Doc("The launch", "2021-10-05", ("Up they go.",), ("soyuz",), ("peresild",)),
    "the-film": Doc("The film", "2023-04-20T10:00:00+03:00", ("## Release", "In cinemas."), ("film",)),
}
NEW_NAMES = ["docking", "spacewalk", "premiere", "Орбита", "2021-10-12-press"]

PARAGRAPHS = st.one_of(
    st.sampled_from([
        "Up they go, at last.",
        "Klim Shipenko directed it; Yulia Peresild starred.",  # names linked as mentions
        "Oleg Kononenko met them at the hatch.",  # a mention only while that member is on the crew
        "See [[article:landing|the landing]].",  # a reference: a problem once that article is gone
        "See [[article:the-film#release|the release]].",  # a reference to a heading
        "See [[crew:novitsky|the commander]].",
        "See [the landing](landing.md).",  # a link to an article's file: a problem once that file is gone
        "## Reviews\n\nMixed.",
        "<b>Raw</b> HTML, kept or dropped by unsafe_html.",
        "![A chart](chart.png)",  # a picture beside the articles, whether it is there or not
        "![The photo](/static/photos/photo.jpg)",
        "A claim.[^1]\n\n[^1]: The source.",
        "```python\nprint('orbit')\n```",
        "The word zygomorphic appears only here.",
        "Юлия Пересильд в кадре.",
        "| a | b |\n|---|---|\n| 1 | 2 |",
    ]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40),
)
TITLES = st.sampled_from(["The launch", "The launch from Baikonur", "Fish </script> & chips", "«Вызов»", "The film: a sequel"])
DATES = st.sampled_from(["2021-10-05", "2021-10-17T09:00:00Z", "2023-04-20T10:00:00+03:00", "2019-01-01", "2021-10-12T23:30:00-05:00",
                         "2999-01-01"])  # the last is held back: scheduled
TAGS = st.lists(st.sampled_from(["soyuz", "film", "landing", "orbit", "crew life", "Орбита"]), unique=True, max_size=3)
PICK = st.integers(0, 99)
"""Which of the articles (crew members, events, ...) there are now: the n-th of them in sorted order, modulo their number."""
IMAGES = {"static/photos/photo.jpg": "photos/photo.jpg", "content/articles/chart.png": "chart.png"}
TEMPLATES = ["base.html", "_macros.html", "_related.html", "article.html", "tag.html", "home.html", "crew.html", "feed.xml"]


def choose(options, pick: int):
    """The `pick`-th of some names in sorted order, counting round."""
    ordered = sorted(options)
    return ordered[pick % len(ordered)]


def template_variant(name: str, variant: int) -> str:
    """The bundled template with a visible change; a variant of home.html prints every article's word count."""
    text = (THEME / "templates" / name).read_text(encoding="utf-8")
    marker = f"<!-- variant {variant} -->"
    if name == "home.html" and variant % 2:
        marker += '<p class="lengths">{% for a in articles %}{{ a.slug }}={{ a.words }} {% endfor %}</p>'
    if name == "_macros.html":
        return text.replace("{% endmacro %}", marker + "{% endmacro %}", 1)
    if name == "_related.html":
        return text + marker
    if name == "feed.xml":
        return text.replace("</feed>", marker + "\n</feed>")
    if name == "base.html":
        return text.replace("</body>", marker + "</body>")
    return text.replace("{% block main %}", "{% block main %}" + marker, 1)


class Builds:
    """The command line run again and again on one source: the way a terminal or CI rebuilds."""

    def __init__(self, source: Path, drafts: bool, base_url: str | None):
        self.source, self.drafts, self.base_url = source, drafts, base_url

    def flags(self) -> list[str]:
        return (["--drafts"] if self.drafts else []) + (["--base-url", self.base_url] if self.base_url else [])

    def start(self) -> None:
        assert self.rebuilt()

    def rebuilt(self) -> bool:
        """Build; True when the build succeeded."""
        status = cli.main(["--source", str(self.source), "-q", *self.flags()])
        assert status in (0, 1), f"exit {status}"
        return status == 0

    def again(self) -> bool | None:
        """Build once more with nothing changed (None where that cannot be asked for)."""
        return self.rebuilt()

    def close(self) -> None:
        pass


class Watching(Builds):
    """A watch session with its real observer, rebuilding by itself as the machine saves files."""

    def start(self) -> None:
        self.run = Running(self.source, drafts=self.drafts, base_url=self.base_url)
        assert self.run.session.last.ok, self.run.out.getvalue()
        self.seen = self.run.session.builds

    def rebuilt(self) -> bool:
        """Wait until a build has followed the edits and no other follows it; True when the last one succeeded."""
        session = self.run.session
        wait_for(lambda: session.builds > self.seen and session.idle, what="a rebuild after the edits")
        self.seen = settle(session, 0.4)
        return session.last.ok

    def again(self) -> bool | None:
        return None

    def close(self) -> None:
        self.run.close()


WAYS = {"cli": Builds, "watch": Watching}


class EditSequence(RuleBasedStateMachine):
    """Edits of every kind, each followed by a rebuild that must equal a clean build of the sources."""

    def __init__(self, way: str, root: Path):
        super().__init__()
        self.way = way
        self.root = root / f"run-{next(RUNS)}"
        self.source = self.root / "site"
        self.docs = dict(FIRST_ARTICLES)
        self.history = {name: [doc] for name, doc in self.docs.items()}
        self.broken: set[str] = set()
        self.mission = Mission()
        self.site = SiteFile()
        self.templates: set[str] = set()
        self.held = 0
        self.edited = False
        self.last_good: dict[str, str] = {}
        self.clean_builds = count()

    # Writing the sources

    def write(self, rel: str, text: str) -> None:
        self.edited = True
        path = self.source / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def remove(self, rel: str) -> None:
        """Delete a file, and the folders it leaves empty up to the source folder."""
        self.edited = True
        path = self.source / rel
        path.unlink()
        for folder in path.parents:
            if folder == self.source or any(folder.iterdir()):
                break
            folder.rmdir()

    def save(self, name: str, doc: Doc) -> None:
        self.docs[name] = doc
        self.history.setdefault(name, []).append(doc)
        self.broken.discard(name)
        self.write(f"content/articles/{name}.md", doc.text())

    def edit(self, name: str, **changes) -> None:
        self.save(name, replace(self.docs[name], **changes))

    # The sequence

    @initialize(drafts=st.booleans(), base_url=st.sampled_from([None, SUBPATH]))
    def start(self, drafts: bool, base_url: str | None) -> None:
        self.write("content/site.yaml", self.site.text())
        self.write("content/mission.yaml", self.mission.text())
        for name, doc in self.docs.items():
            self.write(f"content/articles/{name}.md", doc.text())
        self.builds = WAYS[self.way](self.source, drafts, base_url)
        self.builds.start()
        self.compare(self.clean_build(), built=True)
        self.edited = False

    @invariant()
    def output_is_what_a_clean_build_makes(self) -> None:
        if self.held:
            self.held -= 1
            return
        if not self.edited:
            return
        self.edited = False
        built = self.builds.rebuilt()
        expected = self.clean_build()  # after the rebuild: one build at a time in this process
        self.compare(expected, built)
        again = self.builds.again()  # what the last build recorded holds for the next one
        if again is not None:
            self.compare(expected, again)

    def compare(self, expected: dict[str, str] | None, built: bool) -> None:
        """Check the output against a clean build's (None: the clean build failed)."""
        got = tree(self.source / "output")
        if expected is None:
            assert not built, "the rebuild succeeded where a clean build fails"
            assert got == self.last_good, "the failed build changed the output"
            return
        assert built, "the rebuild failed where a clean build succeeds"
        assert sorted(got) == sorted(expected)
        assert [rel for rel in got if got[rel] != expected[rel]] == []
        self.last_good = got

    def clean_build(self) -> dict[str, str] | None:
        """Build the sources as they are into a new folder, in one process: no cache, no memory of earlier builds."""
        key = sources_digest(self.source, self.builds.flags())
        if key not in CLEAN:
            folder = self.root / f"clean-{next(self.clean_builds)}"
            status = cli.main(["--source", str(self.source), "--output", str(folder / "output"), "--jobs", "1", "-q", *self.builds.flags()])
            assert status in (0, 1), f"exit {status}"
            CLEAN[key] = tree(folder / "output") if status == 0 else None
            shutil.rmtree(folder, ignore_errors=True)
        return CLEAN[key]

    def teardown(self) -> None:
        if hasattr(self, "builds"):
            self.builds.close()
        shutil.rmtree(self.root, ignore_errors=True)

    @rule(edits=st.integers(1, 3))
    def hold(self, edits: int) -> None:
        """Make the next few edits before building: one build sees them all (a watch session may build between them)."""
        self.held = edits + 1

    @precondition(lambda self: self.way == "cli")
    @rule(drafts=st.booleans(), base_url=st.sampled_from([None, SUBPATH]))
    def other_flags(self, drafts: bool, base_url: str | None) -> None:
        """Build the same sources with other command-line settings."""
        self.builds.drafts, self.builds.base_url = drafts, base_url
        self.edited = True

    # Articles

    def articles(self) -> bool:
        return bool(self.docs)

    def free_index(self, name: str) -> int:
        """The pick that chooses this name for a new article."""
        return sorted(n for n in [*FIRST_ARTICLES, *NEW_NAMES] if n not in self.docs).index(name)

    def free_name(self, pick: int) -> str:
        return choose([n for n in [*FIRST_ARTICLES, *NEW_NAMES] if n not in self.docs], pick)

    def room(self) -> bool:
        return len(self.docs) < len(FIRST_ARTICLES) + len(NEW_NAMES)

    @precondition(articles)
    @rule(pick=PICK, paragraph=PARAGRAPHS, how=st.sampled_from(["append", "replace last", "drop last"]))
    def edit_body(self, pick: int, paragraph: str, how: str) -> None:
        name = choose(self.docs, pick)
        body = self.docs[name].body
        body = {"append": body + (paragraph,), "replace last": body[:-1] + (paragraph,), "drop last": body[:-1]}[how]
        self.edit(name, body=body)

    @precondition(articles)
    @rule(pick=PICK, version=PICK)
    def revert(self, pick: int, version: int) -> None:
        """Put back an earlier text of an article: what a build before made of it may still be remembered."""
        name = choose(self.docs, pick)
        self.save(name, self.history[name][version % len(self.history[name])])

    @precondition(articles)
    @rule(pick=PICK, which=st.sets(st.sampled_from(["title", "date", "tags", "draft", "aliases", "series"]), min_size=1),
          title=TITLES, date=DATES, tags=TAGS, draft=st.booleans(), aliases=st.booleans(), series=st.booleans())
    def edit_front_matter(self, pick: int, which: set[str], title: str, date: str, tags: list[str], draft: bool, aliases: bool,
                          series: bool = False) -> None:
        name = choose(self.docs, pick)
        values = {"title": title, "date": date, "tags": tuple(tags), "draft": draft, "aliases": (f"old-{name}",) if aliases else (),
                  "series": "The flight" if series else None}
        self.edit(name, **{key: values[key] for key in which})

    @precondition(articles)
    @rule(pick=PICK, crew=st.lists(PICK, max_size=3), events=st.lists(PICK, max_size=2))
    def edit_crew_and_events_of_an_article(self, pick: int, crew: list[int], events: list[int]) -> None:
        self.edit(choose(self.docs, pick), crew=tuple(dict.fromkeys(choose(self.mission.crew, c) for c in crew)),
                  events=tuple(dict.fromkeys(choose(self.mission.events, e) for e in events)))

    @precondition(articles)
    @rule(pick=PICK, image=st.sampled_from([None, *IMAGES.values()]))
    def set_lead_image(self, pick: int, image: str | None) -> None:
        self.edit(choose(self.docs, pick), image=image)

    @precondition(room)
    @rule(pick=PICK, title=TITLES, date=DATES, tags=TAGS, paragraph=PARAGRAPHS)
    def add_article(self, pick: int, title: str, date: str, tags: list[str], paragraph: str) -> None:
        self.save(self.free_name(pick), Doc(title, date, (paragraph,), tuple(tags)))

    @precondition(articles)
    @rule(pick=PICK)
    def remove_article(self, pick: int) -> None:
        name = choose(self.docs, pick)
        del self.docs[name]
        self.broken.discard(name)
        self.remove(f"content/articles/{name}.md")

    @precondition(lambda self: self.articles() and self.room())
    @rule(pick=PICK, to=PICK)
    def rename_article(self, pick: int, to: int) -> None:
        old, new = choose(self.docs, pick), self.free_name(to)
        self.edited = True
        (self.source / f"content/articles/{old}.md").rename(self.source / f"content/articles/{new}.md")
        self.docs[new] = self.docs.pop(old)
        self.history.setdefault(new, []).append(self.docs[new])
        if old in self.broken:
            self.broken.discard(old)
            self.broken.add(new)

    @precondition(lambda self: set(self.docs) - self.broken)
    @rule(pick=PICK)
    def break_article(self, pick: int) -> None:
        """Save an article whose front matter does not parse."""
        name = choose(set(self.docs) - self.broken, pick)
        self.broken.add(name)
        self.write(f"content/articles/{name}.md", self.docs[name].text().replace("---\n", "", 1).replace("title:", "title: [unclosed", 1))

    @precondition(lambda self: self.broken)
    @rule(pick=PICK)
    def fix_article(self, pick: int) -> None:
        name = choose(self.broken, pick)
        self.save(name, self.docs[name])

    # mission.yaml and site.yaml

    def save_mission(self) -> None:
        self.write("content/mission.yaml", self.mission.text())

    @rule(pick=PICK, which=st.sampled_from(["name", "role", "bio"]),
          name=st.sampled_from(["Klim Shipenko", "Klim A. Shipenko", "Yulia Peresild", "Oleg V. Novitsky"]),
          role=st.sampled_from(["Director", "Camera", "Flight engineer"]), bio=st.sampled_from(["Director and camera.", "Back on Earth."]))
    def edit_crew_member(self, pick: int, which: str, name: str, role: str, bio: str) -> None:
        """Rename a crew member (which mentions link to them), or change their role or bio."""
        key = choose(self.mission.crew, pick)
        self.mission.crew[key] = replace(self.mission.crew[key], **{which: {"name": name, "role": role, "bio": bio}[which]})
        self.save_mission()

    def add_or_remove(self, entries: dict, key: str, entry: Member | Event, field: str) -> None:
        """Add an entry to mission.yaml, or remove it and with it every article's mention of its id."""
        if key in entries:
            del entries[key]
            for name, doc in list(self.docs.items()):
                if key in getattr(doc, field):
                    self.edit(name, **{field: tuple(k for k in getattr(doc, field) if k != key)})
        else:
            entries[key] = entry
        self.save_mission()

    @rule()
    def add_or_remove_a_crew_member(self) -> None:
        self.add_or_remove(self.mission.crew, "kononenko", Member("Oleg Kononenko", "ISS commander", "Met them at the hatch."), "crew")

    @rule(pick=PICK, which=st.sampled_from(["time", "title"]),
          time=st.sampled_from(["2021-10-05T08:55:02Z", "2021-10-05T12:22:00Z", "2021-10-16T20:41:00Z"]),
          title=st.sampled_from(["Launch", "Docking", "Hatch closed"]))
    def edit_event(self, pick: int, which: str, time: str, title: str) -> None:
        key = choose(self.mission.events, pick)
        self.mission.events[key] = replace(self.mission.events[key], **{which: {"time": time, "title": title}[which]})
        self.save_mission()

    @rule(fact=st.sampled_from(["5 October 2021", "5 Oct 2021, 08:55 UTC"]), film=st.sampled_from(["The Challenge", "Вызов"]))
    def edit_mission_facts_or_film(self, fact: str, film: str) -> None:
        self.mission.launch_fact, self.mission.film = fact, film
        self.save_mission()

    @rule()
    def add_or_remove_an_event(self) -> None:
        self.add_or_remove(self.mission.events, "docking", Event("2021-10-05T12:22:00Z", "Docking", "Docked by hand."), "events")

    @rule(title=st.sampled_from(["Test Orbit", "Test Orbit Renamed", "Орбита"]), unsafe_html=st.sampled_from([None, True, False]),
          shard_pages=st.sampled_from([None, 2]), per_page=st.sampled_from([None, 2]))
    def edit_site_yaml(self, title: str, unsafe_html: bool | None, shard_pages: int | None, per_page: int | None = None) -> None:
        self.site = SiteFile(title, unsafe_html, shard_pages, per_page)
        self.write("content/site.yaml", self.site.text())

    # Templates, static files, images

    @rule(name=st.sampled_from(TEMPLATES), variant=st.integers(0, 3))
    def override_template(self, name: str, variant: int) -> None:
        self.templates.add(name)
        self.write(f"templates/{name}", template_variant(name, variant))

    @precondition(lambda self: self.templates)
    @rule(pick=PICK)
    def drop_template_override(self, pick: int) -> None:
        name = choose(self.templates, pick)
        self.templates.discard(name)
        self.remove(f"templates/{name}")

    @rule(variant=st.integers(0, 3))
    def override_stylesheet(self, variant: int) -> None:
        css = (THEME / "static" / "style.css").read_text(encoding="utf-8")
        self.write("static/style.css", css + f"\nh1 {{ letter-spacing: .0{variant}em }}\n")

    @rule(name=st.sampled_from(["static/style.css", "static/notes.txt", "static/diagram.svg"]), text=st.sampled_from(["one", "two"]))
    def add_or_remove_static_file(self, name: str, text: str) -> None:
        if (self.source / name).exists():
            self.remove(name)
        elif name.endswith(".svg"):
            self.write(name, f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><title>{text}</title></svg>')
        elif name.endswith(".css"):
            self.write(name, f"body {{ color: navy; }} /* {text} */\n")
        else:
            self.write(name, text)

    @rule(rel=st.sampled_from(sorted(IMAGES)), size=st.sampled_from([(320, 200), (960, 640)]), shade=st.integers(0, 255))
    def put_image(self, rel: str, size: tuple[int, int], shade: int) -> None:
        """Add or replace a picture; one wider than the smallest copy gets responsive copies."""
        self.edited = True
        path = self.source / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (shade, 80, 20)).save(path)

    def images(self) -> list[str]:
        return [rel for rel in IMAGES if (self.source / rel).exists()]

    @precondition(images)
    @rule(pick=PICK)
    def remove_image(self, pick: int) -> None:
        self.remove(choose(self.images(), pick))


RUNS = count()

def at(options, name: str) -> int:
    """The pick that chooses `name` among `options`."""
    return sorted(options).index(name)


WALK = [
    lambda m: m.edit_body(at(m.docs, "launch"), "A second paragraph with *emphasis*.", "append"),
    lambda m: m.edit_front_matter(at(m.docs, "launch"), {"title"}, "The launch from Baikonur", "", [], False, False),
    lambda m: m.edit_front_matter(at(m.docs, "landing"), {"date", "tags", "aliases"}, "", "2021-10-12T23:30:00-05:00",
                                  ["orbit", "Орбита"], False, True),
    lambda m: m.edit_site_yaml("Test Orbit", None, 2),  # the search index in shards of two pages
    lambda m: m.edit_site_yaml("Test Orbit", None, 2, 2),  # and lists of two articles a page
    lambda m: m.add_article(m.free_index("docking"), "The docking", "2021-10-05", ["soyuz"], "Docked by hand."),  # moves others across pages
    lambda m: m.edit_front_matter(at(m.docs, "launch"), {"series"}, "", "", [], False, False, True),
    lambda m: m.edit_front_matter(at(m.docs, "docking"), {"series"}, "", "", [], False, False, True),  # a series of two
    lambda m: m.edit_front_matter(at(m.docs, "docking"), {"date"}, "", "2999-01-01", [], False, False),  # held back: scheduled
    lambda m: m.edit_front_matter(at(m.docs, "docking"), {"date"}, "", "2021-10-06", [], False, False),  # published again
    lambda m: m.edit_body(at(m.docs, "the-film"), "See [the landing](landing.md).", "append"),  # a link to an article's file
    lambda m: m.edit_body(at(m.docs, "the-film"), "Klim Shipenko directed it; Yulia Peresild starred.", "append"),
    lambda m: m.edit_body(at(m.docs, "launch"), "See [[article:the-film#release|the release]].", "append"),
    lambda m: m.edit_body(at(m.docs, "the-film"), "## Reviews\n\nMixed.", "append"),  # a new heading, while one is linked
    lambda m: m.hold(2),  # two bodies and a new article, one build
    lambda m: m.edit_body(at(m.docs, "landing"), "Also this.", "append"),
    lambda m: m.edit_body(at(m.docs, "the-film"), "And this.", "replace last"),
    lambda m: m.add_article(m.free_index("premiere"), "The premiere", "2023-04-12", ["film"], "In Moscow."),
    lambda m: m.revert(at(m.docs, "launch"), 0),
    lambda m: m.edit_front_matter(at(m.docs, "the-film"), {"draft"}, "", "", [], True, False),
    lambda m: m.edit_body(at(m.docs, "the-film"), "Not yet.", "append"),  # a draft's body
    lambda m: m.edit_crew_and_events_of_an_article(at(m.docs, "the-film"), [0, 2], [0]),
    lambda m: m.edit_crew_member(at(m.mission.crew, "shipenko"), "name", "Klim A. Shipenko", "", ""),
    lambda m: m.edit_crew_member(at(m.mission.crew, "peresild"), "role", "", "Flight engineer", ""),
    lambda m: m.edit_body(at(m.docs, "landing"), "Oleg Kononenko met them at the hatch.", "append"),
    lambda m: m.add_or_remove_a_crew_member(),  # joins: the body above now names someone on the crew
    lambda m: m.edit_crew_and_events_of_an_article(at(m.docs, "landing"), [at(m.mission.crew, "kononenko")], []),
    lambda m: m.add_or_remove_a_crew_member(),  # leaves, and the article that named them
    lambda m: m.edit_event(at(m.mission.events, "launch"), "time", "2021-10-16T20:41:00Z", ""),
    lambda m: m.add_or_remove_an_event(),
    lambda m: m.edit_mission_facts_or_film("5 Oct 2021, 08:55 UTC", "Вызов"),
    lambda m: m.edit_body(at(m.docs, "launch"), "<b>Raw</b> HTML, kept or dropped by unsafe_html.", "append"),
    lambda m: m.edit_site_yaml("Test Orbit Renamed", False, 2),
    lambda m: m.override_template("article.html", 0),
    lambda m: m.override_template("base.html", 1),
    lambda m: m.override_template("_macros.html", 2),
    lambda m: m.override_template("home.html", 1),  # prints every article's word count
    lambda m: m.edit_body(at(m.docs, "docking"), "Three more words.", "append"),
    lambda m: m.override_stylesheet(1),
    lambda m: m.add_or_remove_static_file("static/notes.txt", "one"),
    lambda m: m.add_or_remove_static_file("static/notes.txt", "one"),
    lambda m: m.put_image("static/photos/photo.jpg", (960, 640), 10),
    lambda m: m.set_lead_image(at(m.docs, "landing"), "photos/photo.jpg"),
    lambda m: m.edit_body(at(m.docs, "launch"), "![A chart](chart.png)", "append"),  # a picture not there yet
    lambda m: m.put_image("content/articles/chart.png", (320, 200), 200),
    lambda m: m.put_image("content/articles/chart.png", (960, 640), 100),
    lambda m: m.remove_image(at(m.images(), "static/photos/photo.jpg")),  # fails: an article shows it
    lambda m: m.set_lead_image(at(m.docs, "landing"), None),
    lambda m: m.rename_article(at(m.docs, "launch"), m.free_index("spacewalk")),
    lambda m: m.remove_article(at(m.docs, "the-film")),
    lambda m: m.break_article(at(m.docs, "premiere")),
    lambda m: m.edit_body(at(m.docs, "docking"), "Still broken elsewhere.", "append"),
    lambda m: m.fix_article(0),
    *[lambda m: m.drop_template_override(0)] * 4,
    lambda m: m.add_or_remove_static_file("static/style.css", "one"),
]
"""Every kind of edit in turn, with builds that fail and one build after several edits."""

CLI_WALK = [
    lambda m: m.edit_front_matter(at(m.docs, "premiere"), {"draft"}, "", "", [], True, False),
    lambda m: m.other_flags(True, None),
    lambda m: m.other_flags(False, SUBPATH),
    lambda m: m.other_flags(False, None),
]
"""The command line alone builds the same sources with other settings from one build to the next."""


@pytest.mark.slow
@pytest.mark.parametrize("way", sorted(WAYS))
def test_every_kind_of_edit_rebuilds_to_the_bytes_of_a_clean_build(way, tmp_path):
    machine = EditSequence(way, tmp_path)
    try:
        machine.start(drafts=False, base_url=None)
        for number, step in enumerate(WALK + (CLI_WALK if way == "cli" else [])):
            try:
                step(machine)
                machine.output_is_what_a_clean_build_makes()
            except AssertionError as exc:
                exc.add_note(f"at step {number} of the walk: {inspect.getsource(step).strip()}")
                raise
    finally:
        machine.teardown()


@pytest.mark.parametrize("way", sorted(WAYS))
def test_any_edit_sequence_rebuilds_to_the_bytes_of_a_clean_build(way, tmp_path):
    run_state_machine_as_test(lambda: EditSequence(way, tmp_path),
                              settings=settings(max_examples=examples(8)))
