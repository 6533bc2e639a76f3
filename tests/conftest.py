"""Fixtures that write small real sites into a temporary folder and build them."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import textwrap
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, settings

from microsite import cli

ROOT = Path(__file__).resolve().parent.parent

# Properties, not timings: a busy machine must fail no test, so no example has a deadline. `make test`
# runs the full profile; `make test-fast` passes --hypothesis-profile=fast: a tenth of the examples,
# and state machines take half as many steps.
settings.register_profile("full", deadline=None, suppress_health_check=[HealthCheck.too_slow], stateful_step_count=12)
settings.register_profile("fast", settings.get_profile("full"), max_examples=10, stateful_step_count=6)
settings.load_profile("full")


# Modules with long tests spread evenly through the order, longest first: xdist hands each worker a
# run of consecutive tests, so each run holds its share of them and every worker starts its long
# ones early, with none left for the end. A module's tests stay together, so a module-scoped
# fixture (an installed package, a generated site) is made once, not once a test. A test is long by
# its duration in the last run with the same Hypothesis profile (kept in pytest's cache), or, with
# none known yet, by its slow mark. The other modules keep their order.
LONG = 3.0


def _durations_key() -> str:
    return f"microsite/durations/{settings.get_current_profile_name()}"


def pytest_collection_modifyitems(config, items):
    last = config.cache.get(_durations_key(), {}) if getattr(config, "cache", None) else {}

    def length(item) -> float:
        seconds = last.get(item.nodeid, 60.0 if item.get_closest_marker("slow") else 0.0)
        return seconds if seconds >= LONG else 0.0
    module = lambda item: item.nodeid.split("::")[0]
    long = {module(item) for item in items if length(item)}
    if not long:
        return
    by_module: dict[str, list] = {}
    for item in items:
        if module(item) in long:
            by_module.setdefault(module(item), []).append(item)
    groups = sorted(by_module.values(), key=lambda group: -sum(map(length, group)))
    others = [item for item in items if module(item) not in long]
    units = len(groups) + len(others)
    at = {round(k * units / len(groups)): group for k, group in enumerate(groups)}
    rest = iter(others)
    items[:] = [item for i in range(units) for item in (at[i] if i in at else [next(rest)])]


_durations: dict[str, float] = {}


def pytest_runtest_logreport(report):
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config, "cache", None) or not _durations:
        return  # under xdist the controller hears every worker's reports and keeps them
    config.cache.set(_durations_key(), {**config.cache.get(_durations_key(), {}), **_durations})


def examples(full: int) -> int:
    """Scale a test's number of examples in the full profile to the profile in use (100 is Hypothesis's own default)."""
    return max(1, full * settings.default.max_examples // 100)


def steps(full: int) -> int:
    """Scale a state machine's number of steps in the full profile to the profile in use."""
    return max(1, full * settings.default.stateful_step_count // settings.get_profile("full").stateful_step_count)

SITE_YAML = """\
title: Test Orbit
description: A small site used by the tests.
base_url: https://example.org/
language: en
author: Test Desk
"""

MISSION_YAML = """\
mission:
  name: Test mission
  spacecraft: [Soyuz MS-19]
  facts:
    - label: Launch
      value: 5 October 2021
  events:
    - id: landing
      time: 2021-10-17T04:35:00Z
      title: Landing
      detail: Back on the ground.
    - id: launch
      time: 2021-10-05T08:55:02Z
      title: Launch
      detail: Lift-off from Baikonur.
crew:
  - id: peresild
    name: Yulia Peresild
    name_native: Юлия Пересильд
    role: Actress
    bio: Lead actress.
  - id: shipenko
    name: Klim Shipenko
    name_native: Клим Шипенко
    role: Director
    bio: Director and camera.
  - id: novitsky
    name: Oleg Novitsky
    role: Commander
    bio: Soyuz MS-18 commander.
film:
  title: The Challenge
"""


def article(title: str, date: str = "2021-10-17T09:00:00Z", body: str = "Some text.", **fields) -> str:
    """Return the text of an article file with the given front matter."""
    lines = ["---", f"title: {title}", f"date: {date}"]
    for key, value in fields.items():
        lines.append(f"{key}: {value}")
    lines += ["---", "", textwrap.dedent(body).strip(), ""]
    return "\n".join(lines)


@dataclass
class Site:
    """A source folder in tmp_path, with helpers to edit it and build it."""

    source: Path
    capsys: pytest.CaptureFixture

    @property
    def output(self) -> Path:
        return self.source / "output"

    def write(self, rel: str, text: str) -> Path:
        path = self.source / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def build(self, *args: str, expect: int = 0) -> "Result":
        return run_build(self.capsys, ["--source", str(self.source), *args], expect)

    def page(self, rel: str) -> BeautifulSoup:
        return parse(self.output / rel)


@dataclass
class Result:
    status: int
    out: str
    err: str


def sources_digest(folder: Path, flags: Iterable[str] = ()) -> str:
    """A digest of everything a build reads (the files under content/, templates/, static/ and
    i18n/) and of its flags: what a clean build's output depends on, so one per digest will do."""
    digest = hashlib.sha256(json.dumps(list(flags)).encode())
    for part in ("content", "templates", "static", "i18n"):
        for path in sorted(p for p in (folder / part).rglob("*") if p.is_file()):
            digest.update(f"{path.relative_to(folder).as_posix()}\0".encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def from_a_terminal() -> None:
    """For a command a test starts and stops with Ctrl-C: SIGINT at its default, as a terminal
    leaves it, even where the tests run with it ignored (a background job of a script, as
    `make test &`); Python leaves an inherited ignored SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_build(capsys, args: list[str], expect: int | None = 0) -> Result:
    """Run the command line in-process and check its exit status."""
    capsys.readouterr()
    status = cli.main(args)
    out, err = capsys.readouterr()
    if expect is not None:
        assert status == expect, f"exit {status}, expected {expect}\nstdout:\n{out}\nstderr:\n{err}"
    return Result(status, out, err)


def small_site(s: Site) -> Site:
    """Write a minimal valid site with three articles."""
    s.write("content/site.yaml", SITE_YAML)
    s.write("content/mission.yaml", MISSION_YAML)
    s.write("content/articles/landing.md", article("The landing", "2021-10-17T09:00:00Z", "Home again.", tags="[landing, soyuz]", crew="[peresild, shipenko, novitsky]"))
    s.write("content/articles/launch.md", article("The launch", "2021-10-05", "Up they go.", tags="[soyuz]", crew="[peresild]"))
    s.write("content/articles/the-film.md", article("The film", "2023-04-20T10:00:00+03:00", "## Release\n\nIn cinemas.", tags="[film]"))
    return s


@pytest.fixture
def site(tmp_path: Path, capsys) -> Site:
    """A minimal valid site with three articles."""
    return small_site(Site(tmp_path / "site", capsys))


def built_once(tmp_path_factory, make: Callable[[Site], Site] = lambda s: s) -> Path:
    """Write the small site, changed by `make`, into a new folder and build it: the folder a fixture
    builds once and hands each test a copy of (`copy_of`)."""
    source = make(small_site(Site(tmp_path_factory.mktemp("built") / "site", None))).source
    assert cli.main(["--source", str(source), "-q"]) == 0
    return source


@pytest.fixture(scope="session")
def small_site_built(tmp_path_factory) -> Path:
    """The `site` fixture's folder after one good build, made once for every test that starts there."""
    return built_once(tmp_path_factory)


@pytest.fixture
def built_site(site: Site, small_site_built: Path) -> Site:
    """The `site` fixture after one good build: a copy of its sources, output and build cache."""
    return copy_of(small_site_built, site)


@pytest.fixture(scope="session")
def default_site_built(tmp_path_factory) -> Path:
    """The `default_site` fixture's folder after one good build, made once for every test that starts there."""
    source = tmp_path_factory.mktemp("built") / "default"
    shutil.copytree(ROOT / "content", source / "content")
    assert cli.main(["--source", str(source), "-q"]) == 0
    return source


@pytest.fixture
def built_default_site(default_site: Site, default_site_built: Path) -> Site:
    """The `default_site` fixture after one good build: a copy of its sources, output and build cache."""
    return copy_of(default_site_built, default_site)


def copy_of(built: Path, s: Site) -> Site:
    """Put a copy of a built site's folder in place of a test's own."""
    shutil.rmtree(s.source)
    shutil.copytree(built, s.source, symlinks=True)
    return s


@pytest.fixture
def default_site(tmp_path: Path, capsys) -> Site:
    """A copy of the shipped default site."""
    s = Site(tmp_path / "default", capsys)
    shutil.copytree(ROOT / "content", s.source / "content")
    return s


def parse(path: Path) -> BeautifulSoup:
    """Parse an HTML file as a browser would read it."""
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def resolve(site_dir: Path, page: Path, href: str, base_path: str = "/") -> tuple[Path | None, str]:
    """Map a link on `page` to the file it names inside the built site, plus its fragment."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None, ""
    path = unquote(parts.path)
    if not path:
        return page, parts.fragment
    if path.startswith("/"):
        assert path.startswith(base_path), f"{page}: link {href!r} is outside the base path {base_path}"
        target = site_dir / path[len(base_path):]
    else:
        target = (page.parent / path)
    if path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target, parts.fragment


def published_pages(site_dir: Path) -> list[Path]:
    """The HTML pages of a built site as a server publishes them: none in a hidden folder (such as
    the staging folder a build killed in a mount point leaves)."""
    return [page for page in sorted(site_dir.rglob("*.html"))
            if not any(part.startswith(".") for part in page.relative_to(site_dir).parts)]


def article_pages(site_dir: Path) -> list[Path]:
    """The articles' own pages in a built site: `articles/<slug>/index.html`, without the year
    archives (`articles/2021/`) beside them."""
    return sorted(p for p in site_dir.glob("articles/*/index.html") if not p.parent.name.isdigit())


def article_folders(articles: Path) -> list[tuple[Path, str]]:
    """Each article source of a site beside the folder its page is published in: `x.md` at
    `articles/x/`, its translation `x.ru.md` at `ru/articles/x/`."""
    found = []
    for source in sorted(articles.glob("*.md")):
        stem, _, code = source.stem.partition(".")
        found.append((source, f"{code}/articles/{stem}" if code else f"articles/{stem}"))
    return found


class _Anchors(HTMLParser):
    """The ids of a page and the href or src of its a, link, img and script tags, in order: what
    BeautifulSoup would find there (it reads pages with this same parser), without building a tree."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id") is not None:
            self.ids.add(values["id"])
        if tag in ("a", "link", "img", "script"):
            link = values.get("href") or values.get("src")
            if link:
                self.links.append(link)

    handle_startendtag = handle_starttag


def anchors(page: Path) -> _Anchors:
    found = _Anchors()
    found.feed(page.read_text(encoding="utf-8"))
    found.close()
    return found


def broken_links(site_dir: Path, base_path: str = "/") -> list[str]:
    """Every internal href/src on every page that does not resolve to a file (and fragment)."""
    broken = []
    pages = {page: anchors(page) for page in published_pages(site_dir)}
    for page, found in pages.items():
        for href in found.links:
            if href.startswith(("mailto:", "tel:")):
                continue
            target, fragment = resolve(site_dir, page, href, base_path)
            if target is None:
                continue
            if not target.is_file():
                broken.append(f"{page.relative_to(site_dir)}: {href}")
            elif fragment and target.suffix == ".html":
                target_ids = (pages.get(target) or anchors(target)).ids
                if unquote(fragment) not in target_ids:
                    broken.append(f"{page.relative_to(site_dir)}: {href} (no such id)")
    return broken


def text(node) -> str:
    """Visible text of a node with whitespace folded."""
    return " ".join(node.get_text(" ").split())
