"""`new article "Title"` and `new crew "Name"`: ready-to-edit sources, never overwriting one.

Articles get front matter with a transliterated slug, today's date in UTC and `draft: true`. Crew
members are appended to `mission.yaml` with ruamel.yaml's round trip, which keeps the file's
comments, key order and quoting exactly as the author wrote them.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path


from .errors import UsageError
from .features.slugs import make_slug, transliterate

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


def run(kind: str, title: str, source: Path) -> int:
    """Create the article or crew member and say where it went."""
    source = source.resolve()
    if not (source / "content").is_dir():
        raise UsageError(f"no content/ folder in {source}; pass --source DIR pointing at the site")
    if kind == "article":
        path = new_article(source, title)
        print(f"microsite: wrote {path} (draft: true; build with --drafts to preview)")
    else:
        path, member_id = new_crew(source, title)
        print(f"microsite: added crew member {member_id!r} to {path}; fill in role and bio")
    return 0
