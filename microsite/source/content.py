"""The only reader of the source folder: text files, front matter and YAML, nothing interpreted."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from . import limits, yaml12
from ..errors import BuildFailed, SiteError
from ..progress import NONE, Progress

MAX_ARTICLE_BYTES = 5 * 1024 * 1024
"""Markdown files larger than this are reported, not parsed (site.yaml `max_article_bytes` changes it)."""
MAX_YAML_BYTES = 20 * 1024 * 1024
"""YAML data files larger than this are reported, not parsed."""

ARTICLE_MEDIA = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".svg", ".avif"}
"""Images that may sit beside an article and be named by it; other binaries there are reported."""

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
    body: str | None
    """The Markdown text; None in a build that keeps only its digest (`without_body`), where
    `body_text` reads it again when it is needed."""
    body_line: int
    """1-based line of the file on which the body starts."""
    over_limits: tuple[SiteError, ...] = ()
    """Where the body asks more of the Markdown converter than `limits` allows: found when the
    file is read, so a cached article (cache.Articles) is not scanned again."""
    digest: str = ""
    """Digest of the body text: names it when the text itself is not held."""

    def place(self) -> "RawArticle":
        """The article without its front matter: its name, body line and digest (and text, if it
        holds it), what reading and converting its body again needs."""
        return RawArticle(self.source, None, self.body, self.body_line, (), self.digest)

    def without_body(self) -> "RawArticle":
        """The same article holding its body's digest instead of the text: a large site's bodies
        then wait on disk until they are converted, instead of all being held at once."""
        return replace(self, body=None)


@dataclass(frozen=True)
class Sources:
    """Everything read from `content/`, before validation."""

    site: yaml12.YamlMap | None
    mission: yaml12.YamlMap | None
    articles: tuple[RawArticle, ...]
    errors: tuple[SiteError, ...]


def _binary(head: bytes) -> bool:
    """Tell a binary file by a NUL byte near its start, as git and grep do."""
    return b"\0" in head


def read_text(path: Path, rel: str, limit: int | None = None) -> str:
    """Read a UTF-8 text file, accepting a byte-order mark and CRLF line endings.

    The size is checked before reading and the start before decoding, so a video saved as `.md`
    costs one `stat` and 8 KiB, not its whole length in memory.
    """
    size = path.stat().st_size
    if limit is not None and size > limit:
        raise yaml12.LocatedProblem(SiteError(rel, 1, 1, f"file is {size:,} bytes, over the {limit:,}-byte limit; "
                                                         f"split it, or raise max_article_bytes in content/site.yaml"))
    with path.open("rb") as handle:
        if _binary(handle.read(8192)):
            raise yaml12.LocatedProblem(SiteError(rel, 1, 1, "binary file, not text; images and videos belong in static/"))
        handle.seek(0)
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1:exc.start].decode("utf-8", "replace")) + 1
        raise yaml12.LocatedProblem(SiteError(rel, line, column, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8")) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise yaml12.LocatedProblem(SiteError(rel, 1, 1, "file is empty; write the front matter and text, or delete the file"))
    return text


def split_front_matter(text: str, rel: str) -> tuple[str, str, int]:
    """Split `---` front matter from the body; return (yaml, body, body's first line number).

    The front matter ends at the first line that is `---` or `...` (trailing spaces allowed), so
    a `---` rule inside the body stays in the body.
    """
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        raise yaml12.LocatedProblem(SiteError(rel, 1, 1, "missing front matter: start the file with a line '---', then title and date, then '---'"))
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "".join(line + "\n" for line in lines[1:index]), "\n".join(lines[index + 1:]), index + 2
    raise yaml12.LocatedProblem(SiteError(rel, 1, 1, "front matter opened here is not closed: add a line '---' after the last field"))


def read_article(path: Path, rel: str, limit: int | None = MAX_ARTICLE_BYTES) -> RawArticle:
    """Read one Markdown article and parse its front matter."""
    text = read_text(path, rel, limit)
    front_text, body, body_line = split_front_matter(text, rel)
    front = yaml12.load_file_text(front_text, rel, line_offset=1)
    if front is None:
        front = yaml12.YamlMap()
        front.line, front.column = 1, 1
    if not isinstance(front, yaml12.YamlMap):
        raise yaml12.LocatedProblem(SiteError(rel, 2, 1, "front matter must be a mapping of 'field: value' lines"))
    return RawArticle(rel, front, body, body_line, tuple(limits.scan_markdown(body, rel, body_line)), text_digest(body))


def text_digest(text: str) -> str:
    """A digest that names a text (bodies, page fingerprints)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def body_text(source: Path, raw: RawArticle) -> str:
    """An article's Markdown body: the one it holds, or the file's, read again and checked against its digest."""
    if raw.body is not None:
        return raw.body
    try:
        body = split_front_matter(read_text(source / raw.source, raw.source), raw.source)[1]
    except (OSError, yaml12.LocatedProblem):
        body = None
    if body is None or text_digest(body) != raw.digest:
        raise changed(raw.source)
    return body


def changed(rel: str) -> BuildFailed:
    """The problem of a file saved again after the build read it: its output would mix two versions."""
    return BuildFailed([SiteError(rel, 0, 0, "changed while the site was being built; build again")])


def read_yaml_file(path: Path, rel: str, limit: int | None = None) -> yaml12.YamlMap:
    """Read a YAML data file whose top level must be a mapping."""
    data = yaml12.load_file_text(read_text(path, rel, limit), rel)
    if not isinstance(data, yaml12.YamlMap):
        raise yaml12.LocatedProblem(SiteError(rel, 1, 1, "the top level must be a mapping of 'key: value' lines"))
    return data


def walk_files(folder: Path, root: Path, errors: list[SiteError]) -> list[Path]:
    """List the regular files under `folder` in a stable order, following symlinks only inside `root`.

    A symlink leading out of the source folder, a dangling or looping symlink, and anything that
    is not a regular file or folder (a FIFO would block the build forever) is reported instead.
    """
    root = root.resolve()
    files: list[Path] = []
    seen: set[Path] = set()

    def visit(directory: Path) -> None:
        real = directory.resolve()
        if real in seen:
            return
        seen.add(real)
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            path = Path(entry.path)
            if is_ignored(entry.name):
                continue
            if entry.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    errors.append(SiteError(rel(path, root), 1, 1, "symlink leads nowhere (its target is missing or loops); fix or delete it"))
                    continue
                if not target.is_relative_to(root):
                    errors.append(SiteError(rel(path, root), 1, 1, f"symlink points outside the source folder (to {target}); copy the file in instead"))
                    continue
                if entry.is_dir() and real.is_relative_to(target):
                    errors.append(SiteError(rel(path, root), 1, 1, "symlink points at a folder that contains it, which would loop; delete it"))
                    continue
            if entry.is_dir():
                visit(path)
            elif entry.is_file():
                files.append(path)
            else:
                errors.append(SiteError(rel(path, root), 1, 1, "not a regular file (a pipe, socket or device); delete it"))

    if folder.is_dir():
        if not folder.resolve().is_relative_to(root):
            errors.append(SiteError(rel(folder, root), 1, 1, f"symlink points outside the source folder (to {folder.resolve()}); copy the folder in instead"))
            return []
        visit(folder)
    return files


def theme_problems(source: Path) -> list[SiteError]:
    """Check the site's own `templates/` and `static/` for symlinks out of the source folder."""
    errors: list[SiteError] = []
    for name in ("templates", "static"):
        walk_files(source / name, source, errors)
    return errors


def article_files(source: Path) -> list[Path]:
    """List the Markdown articles under `content/articles/`, in a stable order, skipping symlinks
    out of the source (`read_sources` reports those, and lists articles in the same walk)."""
    return [p for p in walk_files(source / "content" / "articles", source, []) if p.suffix == ".md"]


def site_limit(site: yaml12.YamlMap | None) -> int:
    """The article size limit `site.yaml` sets, or the default (a bad value is schema's to report)."""
    value = site.get("max_article_bytes") if site is not None else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return MAX_ARTICLE_BYTES


def read_sources(source: Path, limit: int | None = None, reader=None,
                 data_read: Callable[[yaml12.YamlMap | None, yaml12.YamlMap | None], None] | None = None,
                 progress: Progress = NONE) -> Sources:
    """Read `site.yaml`, `mission.yaml` and every article, collecting every problem found.

    `limit` overrides `max_article_bytes` from `site.yaml`; a `reader` (cache.Articles) parses
    each distinct article file once across builds. `data_read` is called with the two YAML
    files before any article is read. `progress` counts the articles read.
    """
    errors: list[SiteError] = []
    content = source / "content"
    if not content.is_dir():
        return Sources(None, None, (), (SiteError(rel(content, source), 0, 0, "no content/ folder here; pass --source DIR pointing at the site"),))
    listed = walk_files(content, source, errors)
    found = set(listed)

    def load(name: str):
        path = content / name
        if path not in found:
            if not path.exists() and not path.is_symlink():
                errors.append(SiteError(rel(path, source), 0, 0, f"missing {name}"))
            return None
        try:
            return read_yaml_file(path, rel(path, source), MAX_YAML_BYTES)
        except yaml12.LocatedProblem as exc:
            errors.append(exc.error)
        except OSError as exc:
            errors.append(SiteError(rel(path, source), 1, 1, f"cannot read: {exc.strerror or exc}"))
        return None

    site, mission = load("site.yaml"), load("mission.yaml")
    if data_read:
        data_read(site, mission)
    limit = limit or site_limit(site)
    folder = content / "articles"
    depth = len(folder.parts)
    in_articles = [p for p in listed if p.parts[:depth] == folder.parts]  # walk_files builds each path on `content`
    for path in in_articles:
        if path.suffix != ".md" and path.suffix.lower() not in ARTICLE_MEDIA:
            with path.open("rb") as handle:
                if _binary(handle.read(8192)):
                    errors.append(SiteError(rel(path, source), 1, 1, "binary file in content/articles/, which holds only "
                                                                      "Markdown and the images articles show; move it to static/"))
    articles = []
    markdown = [p for p in in_articles if p.suffix == ".md"]
    progress.phase("reading", len(markdown))
    for path in markdown:
        try:
            name = rel(path, source)
            articles.append(reader.read(path, name, limit, read_article) if reader else read_article(path, name, limit))
        except yaml12.LocatedProblem as exc:
            errors.append(exc.error)
        except OSError as exc:
            errors.append(SiteError(rel(path, source), 1, 1, f"cannot read: {exc.strerror or exc}"))
        progress.advance()
    return Sources(site, mission, tuple(articles), tuple(errors))


def rel(path: Path, root: Path) -> str:
    """Name a source file relative to the source folder, as messages show it."""
    parts, depth = path.parts, len(root.parts)
    if len(parts) > depth and parts[:depth] == root.parts and os.sep == "/":  # the common case, without building a new path
        return "/".join(parts[depth:])
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        try:
            return path.relative_to(root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()
