"""`new site DIR`, `new article "Title"` (or a translation: `--lang ru --of slug`) and `new crew "Name"`: ready-to-edit sources, never overwriting one.

A new site is a folder that builds and passes `check --strict` as it is: the site's identity, a
commented mission skeleton, one article, a `.gitignore`, and a GitHub Actions workflow that
publishes it with GitHub Pages. Articles get front matter with a transliterated slug, today's date
in UTC and `draft: true`. Crew members are appended to `mission.yaml` with ruamel.yaml's round
trip, which keeps the file's comments, key order and quoting exactly as the author wrote them.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import UsageError
from .features.slugs import make_slug, transliterate
from .rebuild.cache import FOLDER as CACHE_FOLDER

if TYPE_CHECKING:
    from ruamel.yaml import YAML

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def today_utc() -> dt.date:
    """Today's date in UTC, whatever the machine's own time zone."""
    return dt.datetime.now(dt.timezone.utc).date()


def _quote(text: str) -> str:
    """A YAML double-quoted scalar, so titles with colons or quotes stay text."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def article_text(title: str, day: dt.date) -> str:
    """The text of a new article file."""
    return (f"---\ntitle: {_quote(title)}\ndate: {day.isoformat()}\nsummary: \"\"\ntags: []\ncrew: []\n"
            f"events: []\ndraft: true\n---\n\nWrite the article here. Crew names link themselves; "
            f"`[[crew:id]]` and `[[article:slug]]` (without the backticks) link by id.\n")


def new_article(source: Path, title: str, day: dt.date | None = None) -> Path:
    """Write `content/articles/<slug>.md` for `title`; refuse to replace an existing file."""
    slug = make_slug(title)
    if not slug:
        raise UsageError(f"cannot make a file name from {title!r}; use a title with letters or digits")
    folder = source / "content" / "articles"
    path = folder / f"{slug}.md"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(article_text(title, day or today_utc()))
    except FileExistsError:
        raise UsageError(f"{path} already exists; edit it, or choose another title") from None
    return path


def translation_text(title: str, original: str) -> str:
    """The text of a new translation: its own title, the rest taken from the original until set."""
    return (f"---\ntitle: {_quote(title)}\nsummary: \"\"\ndraft: true\n---\n\nTranslate {original} here. Date, crew, events, "
            f"tags and image come from the original unless set above.\n")


def new_translation(source: Path, title: str, lang: str, of: str) -> Path:
    """Write `<original>.<lang>.md` beside the article whose file name or slug is `of`; refuse to
    replace an existing file, or to translate into a language `site.yaml` does not list."""
    from .features import i18n
    from .source import content, yaml12

    site = source / "content" / "site.yaml"
    try:
        config = content.read_yaml_file(site, "content/site.yaml")
    except (OSError, yaml12.LocatedProblem) as exc:
        raise UsageError(f"cannot read content/site.yaml: {getattr(exc, 'error', exc)}") from None
    codes = [str(item.get("code")) for item in config.get("languages") or [] if isinstance(item, dict)]
    if lang not in codes[1:]:
        listed = ", ".join(codes[1:]) or "none"
        raise UsageError(f"{lang!r} is not one of the site's other languages (languages in content/site.yaml: {listed})")
    originals = [p for p in content.article_files(source) if not i18n.translation_of(p.name, set(codes))]
    found = [p for p in originals if p.stem == of] or [p for p in originals if _slug_of(p) == make_slug(of)]
    if not found:
        raise UsageError(f"no article {of!r} in content/articles/ (give its file name without .md, or its slug)")
    path = found[0].with_name(f"{found[0].stem}.{lang}.md")
    try:
        with path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(translation_text(title, found[0].name))
    except FileExistsError:
        raise UsageError(f"{path} already exists; edit it") from None
    return path


def _slug_of(path: Path) -> str:
    """An article's slug: its `slug:` field, else its file name."""
    from .source import content, yaml12

    try:
        front = content.read_article(path, path.name).front
    except (OSError, yaml12.LocatedProblem):
        return make_slug(path.stem)
    return make_slug(str(front.get("slug") or path.stem))


def _yaml() -> "YAML":
    from ruamel.yaml import YAML  # imported for `new` only: every other command starts faster

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def new_crew(source: Path, name: str) -> tuple[Path, str]:
    """Append a crew member skeleton for `name` to `content/mission.yaml`; return the file and the id."""
    path = source / "content" / "mission.yaml"
    if not path.is_file():
        raise UsageError(f"{path} does not exist; create the site's mission.yaml first")
    name = " ".join(name.split())
    member_id = make_slug(name)
    if not member_id:
        raise UsageError(f"cannot make a crew id from {name!r}; use a name with letters or digits")
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = _yaml()
    data = yaml.load(path.read_text(encoding="utf-8"))
    if not isinstance(data, CommentedMap):
        raise UsageError(f"{path}: the top level must be a mapping")
    crew = data.get("crew")
    if crew is None:
        crew = data["crew"] = CommentedSeq()
    if not isinstance(crew, list):
        raise UsageError(f"{path}: 'crew' must be a list")
    if any(isinstance(m, dict) and m.get("id") == member_id for m in crew):
        raise UsageError(f"{path}: crew id {member_id!r} already exists")
    native = bool(_CYRILLIC.search(name))
    member = CommentedMap()
    member["id"] = member_id
    member["name"] = transliterate(name) if native else name
    member["name_native"] = name if native else ""
    aliases = CommentedSeq()
    aliases.fa.set_flow_style()
    member["aliases"] = aliases
    member["role"] = ""
    member["bio"] = ""
    member.yaml_add_eol_comment("the page's URL: /crew/" + member_id + "/", "id")
    member.yaml_add_eol_comment("name in the person's own script, e.g. Cyrillic", "name_native")
    member.yaml_add_eol_comment("other spellings that should link here", "aliases")
    member.yaml_add_eol_comment("e.g. Flight engineer", "role")
    member.yaml_add_eol_comment("one line for the crew list and hover cards", "bio")
    crew.append(member)
    out = io.StringIO()
    yaml.dump(data, out)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path, member_id


SITE_YAML = """\
# The site's identity. Every page shows the title; feeds, link previews and search engines read the rest.
title: {title}
description: {description}
# Where the site is published: its absolute URL, which may end in a subpath (https://you.github.io/{name}/).
# `microsite build --base-url URL` overrides it; the GitHub Pages workflow does so with the Pages URL.
base_url: https://example.org/
language: en  # the pages' language tag, e.g. en, fr, ru
author: {author}
"""

MISSION_YAML = """\
# What the site is about: one undertaking, the people in it and the events of its timeline.
# Articles name crew members and events by id; each person gets a page at /crew/<id>/.
# Fields marked "required" must stay; delete the others, and these comments, as you like.
mission:
  name: The first expedition  # required; shown on the home page and the mission page
  summary: >-
    One or two sentences on what happened, who took part and why it matters.
  facts:  # a small table of label and value pairs beside the summary
    - label: Start
      value: {start}
  events:  # the timeline, sorted by time; articles list the ids they cover under `events:`
    - id: kick-off  # made from the title when left out
      time: {day}  # required: a date, or a date and time with an offset (2024-05-01T09:30:00+02:00)
      timezone: UTC  # an IANA zone for local times, e.g. Europe/Paris
      place: Base camp
      title: Kick-off  # required
      detail: Everyone meets for the first time and the plan is agreed.

crew:  # required: the people; `microsite new crew "Name"` appends another
  - id: alex-rivera  # required: a-z, 0-9 and hyphens
    name: Alex Rivera  # required; this name in an article links to the person's page
    name_native: ""  # the name in the person's own script, if it differs
    aliases: [Rivera]  # other spellings that link here too
    role: Team lead  # required
    bio: Plans the routes and keeps the log.  # required: one line for the crew list and hover cards
"""

ARTICLE = """\
---
title: {title}
date: {day}
summary: What this first article covers, in one sentence for lists, feeds and link previews.
tags: [news]
crew: [alex-rivera]  # ids from content/mission.yaml
events: [kick-off]
---

This is the first article of the site. Edit it, or delete it once you have written your own:
every Markdown file under `content/articles/` is an article, in folders too if you like, and its
page is `/articles/<slug>/` (the slug comes from the file name, or from a `slug:` field).

## Writing

Write Markdown as usual. Alex Rivera's name links to the crew page by itself, the first time
it appears; `[[crew:alex-rivera]]` does the same by id. To link another article, link its file
as you would on GitHub, [like this link to the next section](welcome.md#publishing), or use
`[[article:welcome]]`. A link to a file or heading that does not exist stops the build with the
line and column where it is written.

Images beside an article are published with it: `![what it shows](photo.jpg)`.

## Publishing

`microsite serve` shows the site at http://127.0.0.1:8000/ and reloads it on every save.
`microsite build` writes it to `output/`, and `microsite check --strict` looks for broken links,
missing alt text and dates in the future. Pushed to GitHub, the workflow in `.github/workflows/`
publishes it with GitHub Pages.
"""

GITIGNORE = f"""\
# the built site and the build cache beside it: both are made again by `microsite build`
/output/
/{CACHE_FOLDER}/
# a build's staging folders and lock, while it runs
/.output.*
"""

WORKFLOW = """\
# Build the site and publish it with GitHub Pages on every push to main.
# Once, in the repository's Settings > Pages, set Source to "GitHub Actions".
name: Publish to GitHub Pages

on:
  push:
    branches: [main]
  workflow_dispatch:

permissions:
  contents: read
  pages: write
  id-token: write

concurrency:  # one deployment at a time; a running one finishes
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install microsite
        # the version this site was made with; a branch or tag from git works too:
        # pip install "microsite @ git+https://github.com/OWNER/microsite@main"
        run: pip install "microsite=={version}"
      - id: pages
        uses: actions/configure-pages@v5
      - name: Check
        run: microsite check --strict --base-url "${{{{ steps.pages.outputs.base_url }}}}/"
      - name: Build
        run: microsite build --base-url "${{{{ steps.pages.outputs.base_url }}}}/"
      - uses: actions/upload-pages-artifact@v3
        with:
          path: output

  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""


def _site_files(title: str, name: str, day: dt.date) -> dict[str, str]:
    """The files of a new site by relative path."""
    return {
        "content/site.yaml": SITE_YAML.format(title=_quote(title), name=name, description=_quote(f"News and notes from {title}."),
                                              author=_quote(f"The {title} team")),
        "content/mission.yaml": MISSION_YAML.format(day=day.isoformat(), start=f"{day.day} {day:%B %Y}"),
        "content/articles/welcome.md": ARTICLE.format(title=_quote(f"Welcome to {title}"), day=day.isoformat()),
        ".gitignore": GITIGNORE,
        ".github/workflows/pages.yml": WORKFLOW.format(version=__version__),
    }


def _title(name: str) -> str:
    """A site title from its folder's name: `my-site` -> `My Site`."""
    words = re.split(r"[-_.\s]+", name)
    return " ".join(w[:1].upper() + w[1:] for w in words if w) or "My Site"


def new_site(folder: Path, day: dt.date | None = None) -> list[Path]:
    """Create a site in `folder`, which may not exist yet or hold nothing but a `.git` folder;
    return the files written."""
    folder = folder.absolute()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file; choose a new or empty folder for the site")
    if folder.is_dir():
        present = sorted(p.name for p in folder.iterdir() if p.name != ".git")
        if present:
            shown = ", ".join(present[:3]) + (f" and {len(present) - 3} more" if len(present) > 3 else "")
            raise UsageError(f"{folder} is not empty (it holds {shown}); choose a new or empty folder for the site")
    name = folder.name
    written = []
    for rel, text in _site_files(_title(name), make_slug(name) or "site", day or today_utc()).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        written.append(path)
    return written
