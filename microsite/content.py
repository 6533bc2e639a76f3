"""The only reader of the source folder: text files, front matter and YAML, nothing interpreted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import yaml12
from .errors import SiteError

MAX_ARTICLE_BYTES = 5 * 1024 * 1024
"""Markdown files larger than this are reported, not parsed."""

IGNORED_PREFIXES = (".", "#", "~")
IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".bak", ".part", ".crdownload", "___jb_tmp___", "___jb_old___")


def is_ignored(name: str) -> bool:
    """Tell editor temp files, swap files and hidden files apart from real sources."""
    return name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES) or name == "4913"


@dataclass(frozen=True)
class RawArticle:
    """An article file split into its parsed front matter and its Markdown body."""

    source: str
    front: yaml12.YamlMap
    body: str
    body_line: int
    """1-based line of the file on which the body starts."""


@dataclass(frozen=True)
class Sources:
    """Everything read from `content/`, before validation."""

    site: yaml12.YamlMap | None
    mission: yaml12.YamlMap | None
    articles: tuple[RawArticle, ...]
    errors: tuple[SiteError, ...]


def read_text(path: Path, rel: str, limit: int | None = None) -> str:
    """Read a UTF-8 text file, accepting a byte-order mark and CRLF line endings."""
    data = path.read_bytes()
    if limit is not None and len(data) > limit:
        raise yaml12.LocatedProblem(SiteError(rel, 0, 0, f"file is {len(data):,} bytes, over the {limit:,}-byte limit; split it or raise max_article_bytes"))
    if b"\0" in data[:8192]:
        raise yaml12.LocatedProblem(SiteError(rel, 0, 0, "binary file, not text; move it to static/"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise yaml12.LocatedProblem(SiteError(rel, line, column, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8")) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise yaml12.LocatedProblem(SiteError(rel, 0, 0, "file is empty"))
    return text


def split_front_matter(text: str, rel: str) -> tuple[str, str, int]:
    """Split `---` front matter from the body; return (yaml, body, body's first line number)."""
    if not text.startswith("---\n") and text.rstrip("\n") != "---":
        raise yaml12.LocatedProblem(SiteError(rel, 1, 1, "missing front matter: start the file with a line '---', then title and date, then '---'"))
    lines = text.split("\n")
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "\n".join(lines[1:index]) + "\n", "\n".join(lines[index + 1:]), index + 2
    raise yaml12.LocatedProblem(SiteError(rel, 1, 1, "front matter is not closed: add a line '---' after the last field"))


def read_article(path: Path, rel: str, limit: int = MAX_ARTICLE_BYTES) -> RawArticle:
    """Read one Markdown article and parse its front matter."""
    text = read_text(path, rel, limit)
    front_text, body, body_line = split_front_matter(text, rel)
    front = yaml12.load_file_text(front_text, rel, line_offset=1)
    if front is None:
        front = yaml12.YamlMap()
        front.line, front.column = 1, 1
    if not isinstance(front, yaml12.YamlMap):
        raise yaml12.LocatedProblem(SiteError(rel, 2, 1, "front matter must be a mapping of 'field: value' lines"))
    return RawArticle(rel, front, body, body_line)


def read_yaml_file(path: Path, rel: str) -> yaml12.YamlMap:
    """Read a YAML data file whose top level must be a mapping."""
    data = yaml12.load_file_text(read_text(path, rel), rel)
    if not isinstance(data, yaml12.YamlMap):
        raise yaml12.LocatedProblem(SiteError(rel, 1, 1, "the top level must be a mapping of 'key: value' lines"))
    return data


def article_files(source: Path) -> list[Path]:
    """List the Markdown articles under `content/articles/`, in a stable order."""
    folder = source / "content" / "articles"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.md") if p.is_file() and not is_ignored(p.name))


def read_sources(source: Path, limit: int = MAX_ARTICLE_BYTES, memo=None) -> Sources:
    """Read `site.yaml`, `mission.yaml` and every article, collecting every problem found.

    A `memo` (incremental.Memo) parses each distinct article text once across rebuilds.
    """
    errors: list[SiteError] = []
    content = source / "content"
    if not content.is_dir():
        return Sources(None, None, (), (SiteError(rel(content, source), 0, 0, "no content/ folder here; pass --source DIR pointing at the site"),))

    def load(name: str):
        path = content / name
        if not path.is_file():
            errors.append(SiteError(rel(path, source), 0, 0, f"missing {name}"))
            return None
        try:
            return read_yaml_file(path, rel(path, source))
        except yaml12.LocatedProblem as exc:
            errors.append(exc.error)
            return None

    site, mission = load("site.yaml"), load("mission.yaml")
    articles = []
    for path in article_files(source):
        try:
            name = rel(path, source)
            articles.append(memo.read(path, name, limit, read_article) if memo else read_article(path, name, limit))
        except yaml12.LocatedProblem as exc:
            errors.append(exc.error)
    return Sources(site, mission, tuple(articles), tuple(errors))


def rel(path: Path, root: Path) -> str:
    """Name a source file relative to the source folder, as messages show it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
