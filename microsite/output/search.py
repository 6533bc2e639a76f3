"""Full-text search with Pagefind, in shards: the finished pages are indexed at the end of each build.

Pagefind's indexer needs time and memory in proportion to the pages it reads (about 235 MB per
1,000 pages), so one index over a large site is slow to rebuild and big in memory. The indexed
pages (article bodies and crew profiles, marked `data-pagefind-body`) are therefore split into
shards of about `search_shard_pages` pages at most, by a stable hash of each page's output path: an
edit changes one shard, and adding pages disturbs one shard until the shard count doubles. The
first shard lives in `pagefind/` (whose `pagefind.js` the search page loads), the others in
`pagefind/shard-N/`, holding only their index data; the browser merges them (`mergeIndex`).

Each shard is indexed on its own by Pagefind's binary (from the `pagefind[bin]` wheel), one after
another, from the staging folder through a glob that names its pages, into a scratch folder inside
the staging folder, from which write.py moves the index files into place. A shard whose input (the
bytes of its pages, the language, the layout, the generator and Pagefind versions) is the same as in
the previous build, and whose files are still in the previous output as that build wrote them (same
inode, size and time), is not indexed again: its files are carried over unread. The record of what
each shard produced is kept in the build cache (`cache.Store`) for command-line builds, and in the
session's build state for watch and serve; a damaged record re-indexes all. A session's rebuild
that replaces a few pages in place indexes again only their shards, from a mirror of each
shard's pages (`Update`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping, NamedTuple

from ..rebuild import cache
from ..render import parallel
from . import write
from ..errors import BuildFailed, SiteError
from ..model import Site

FOLDER = "pagefind"
"""Where the index lives in the output; templates load `pagefind/pagefind.js` from here."""
SCRATCH = ".pagefind-bundle"
EXCLUDE = [".anchor", ".footnote-backref"]
"""Heading permalinks (`#`) and footnote back-links (`↩`) are not words to search or quote."""
TIMEOUT = 600
"""Seconds before a stalled indexer is reported instead of waited for."""
KIND = "search"
"""Build-cache kind of the record of what each shard produced."""


def indexed_pages(site: Site) -> list[str]:
    """Output paths of the pages the index covers: every article and crew member's page."""
    return [f"{a.url}index.html" for a in site.articles] + [f"{m.url}index.html" for m in site.crew]


def shard_count(pages: int, per_shard: int) -> int:
    """The smallest power of two that keeps shards at or under `per_shard` pages on average."""
    count = 1
    while pages > count * per_shard:
        count *= 2
    return count


def _bucket(path: str, count: int) -> int:
    return int.from_bytes(hashlib.blake2b(path.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big") % count


def layout(site: Site) -> Mapping[str, tuple[str, ...]]:
    """Each shard's folder in the output with its pages; the first non-empty one is `pagefind`."""
    return _layout(tuple(indexed_pages(site)), site.config.search_shard_pages)


@functools.lru_cache(maxsize=4)
def _layout(pages: tuple[str, ...], per_shard: int) -> Mapping[str, tuple[str, ...]]:
    """The layout of these pages (`layout`), worked out once for a session's builds that keep them."""
    count = shard_count(len(pages), per_shard)
    buckets: dict[int, list[str]] = {}
    for path in pages:
        buckets.setdefault(_bucket(path, count), []).append(path)
    numbers = sorted(buckets)
    shards = {FOLDER: tuple(sorted(buckets[numbers[0]])) if numbers else ()}
    for number in numbers[1:]:
        shards[f"{FOLDER}/shard-{number}"] = tuple(sorted(buckets[number]))
    return MappingProxyType(shards)


def merged_folders(site: Site) -> list[str]:
    """Folders of the shards the search page merges into the first (`pagefind/shard-N/`)."""
    return [f"{folder}/" for folder in layout(site) if folder != FOLDER]


def _versions() -> str:
    return ",".join(f"{name}={cache.version(name)}" for name in ("pagefind", "pagefind_bin"))


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=cache.DIGEST).digest()


Stamp = tuple[int, int, int]
"""Inode, size and modification time of a file: a file rewritten in any way has another stamp."""


def _stamp(path: Path | str) -> Stamp | None:
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else None


class Indexed(NamedTuple):
    """A page as the index read it: its file's stamp and the digest of its bytes."""

    stamp: Stamp | None
    digest: bytes


@dataclass
class Record:
    """What the last build indexed: each page's digest by its file's stamp (a page kept from the
    previous output is that same file, so it is not read again), and each shard's files by key."""

    pages: dict[str, Indexed] = field(default_factory=dict)
    shards: dict[bytes, dict[str, Stamp]] = field(default_factory=dict)


def _record_key(output: Path) -> bytes:
    return hashlib.blake2b(b"search\0" + str(output).encode("utf-8", "surrogateescape"), digest_size=cache.DIGEST).digest()


def recall(store: cache.Store, output: Path) -> Record:
    """The record a command-line build left in the cache; empty when unknown or damaged, so every shard is indexed."""
    found = store.get(KIND, _record_key(output))
    return found if isinstance(found, Record) else Record()


def remember(store: cache.Store, output: Path, record: Record) -> None:
    """Keep the record of the index in the cache for the next command-line build."""
    store.put(KIND, _record_key(output), record)


def _shard_key(folder: str, count: int, language: str, pages: list[tuple[str, bytes]]) -> bytes:
    """Digest everything Pagefind reads for one shard, and what decides how it reads it."""
    h = hashlib.blake2b(cache.generator_digest(), digest_size=cache.DIGEST)
    h.update(f"{_versions()}\0{language}\0{EXCLUDE}\0{count}\0{folder}\0".encode())
    for rel, digest in pages:
        h.update(rel.encode("utf-8", "surrogatepass") + b"\0" + digest)
    return h.digest()


def _is_data(rel: str) -> bool:
    """Files a merged shard is read through: the entry, metadata, index chunks and fragments
    (the primary shard's script and WebAssembly serve them all)."""
    return "/" in rel or rel == "pagefind-entry.json" or rel.endswith(".pf_meta")


def _intact(tx, files: dict[str, Stamp]) -> bool:
    """Tell whether the previous output still holds every file of a shard as that build wrote it."""
    output = str(tx.output)
    return all(_stamp(os.path.join(output, rel)) == stamp for rel, stamp in files.items())


def _run(todo: list[tuple[Path, str, Path]], language: str, at_once: int = 1) -> None:
    """Index each (folder, glob of its pages, bundle folder) with the indexing binary, `at_once`
    shards at a time, each run to its end: it exits only once every file of its bundle is written.
    (The Python API's service is stopped with SIGTERM right after it answers that the files are
    written, which on a busy machine leaves some of them empty.)"""
    with tempfile.TemporaryDirectory(prefix="microsite-pagefind-") as scratch:
        running: list[tuple[subprocess.Popen, Any]] = []
        try:
            for number, job in enumerate(todo):
                running.append(_launch(job, language, Path(scratch, str(number))))
                if len(running) >= at_once:
                    _finish(*running.pop(0))
            while running:
                _finish(*running.pop(0))
        finally:
            _stop(running)


def _launch(job: tuple[Path, str, Path], language: str, cwd: Path) -> tuple[subprocess.Popen, Any]:
    """Start indexing one shard; `cwd`, a new folder, holds the pagefind.json the run reads."""
    from pagefind.service import get_executable  # imported when needed: it brings in asyncio

    executable = get_executable()
    if executable is None:
        raise RuntimeError("the pagefind binary is not installed; install the pagefind[bin] package")
    site, pattern, bundle = job
    cwd.mkdir()
    config = {"site": str(site), "glob": pattern, "output_path": str(bundle), "silent": True,
              "force_language": language.split("-")[0].lower() or "en", "exclude_selectors": EXCLUDE}
    (cwd / "pagefind.json").write_text(json.dumps(config), encoding="utf-8")
    log = tempfile.TemporaryFile(dir=cwd)
    return subprocess.Popen([str(executable)], cwd=cwd, stdout=log, stderr=subprocess.STDOUT), log


def _stop(running: list[tuple[subprocess.Popen, Any]]) -> None:
    """Stop runs still going (another one failed, or the build stopped)."""
    for proc, log in running:
        proc.kill()
        proc.wait()
        log.close()


def _finish(proc: subprocess.Popen, log: Any) -> None:
    """Wait for one indexing run; raise with its output when it failed."""
    stalled = threading.Event()
    watchdog = threading.Timer(TIMEOUT, lambda: (stalled.set(), proc.kill()))
    watchdog.start()
    try:
        status = proc.wait()  # a plain wait returns the moment it ends (a timed wait polls)
    finally:
        watchdog.cancel()
    if stalled.is_set():
        log.close()
        raise RuntimeError(f"pagefind did not finish within {TIMEOUT} s")
    log.seek(0)
    output = log.read().decode("utf-8", "replace")
    log.close()
    if status != 0:
        raise RuntimeError(f"pagefind exited with status {status}: {output.strip()[-2000:]}")


def _wait(runs: list[tuple[subprocess.Popen, Any]]) -> None:
    """Wait for indexing runs in order; on a failure stop the others and report it as a build problem."""
    try:
        while runs:
            _finish(*runs.pop(0))
    except Exception as exc:
        _stop(runs)
        raise BuildFailed([SiteError(FOLDER, 0, 0, f"search index failed: {exc!r}")]) from exc


_PLAIN = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
"""Paths a glob names literally (slugs are made of these characters)."""


def _source(staging: Path, pages: list[str], mirror: Path) -> tuple[Path, str]:
    """Where Pagefind finds one shard's pages: the staging folder with a glob naming each page, or,
    when a path holds characters a glob would read as pattern, a mirror of hard links to them."""
    if pages and all(_PLAIN.fullmatch(rel) for rel in pages):
        return staging, "{" + ",".join(pages) + "}"
    return _mirror(mirror, staging, pages, {}), "**/*.html"


def _bundle_paths(folder: str, bundle: Path) -> dict[str, Path]:
    """Where the files of one shard's index are, by the output path they go to."""
    files = {}
    for path in sorted(bundle.rglob("*")):
        rel = path.relative_to(bundle).as_posix()
        if path.is_file() and (folder == FOLDER or _is_data(rel)):
            files[f"{folder}/{rel}"] = path
    return files


@dataclass(frozen=True)
class Shards:
    """Where the index of a site's pages lives: what a rebuild of a few pages needs (delta.py)."""

    layout: Mapping[str, tuple[str, ...]]
    count: int
    language: str

    @classmethod
    def of(cls, site: Site) -> "Shards":
        return cls(layout(site), shard_count(len(indexed_pages(site)), site.config.search_shard_pages), site.config.language)

    def folder(self, page: str) -> str | None:
        """The shard folder that indexes a page, or None for a page not indexed."""
        return next((folder for folder, pages in self.layout.items() if page in pages), None)


MIRRORS = "search-pages"
"""Build-cache folder of shard mirrors: each shard's pages linked at their output paths, as
Pagefind reads them. Kept from one rebuild to the next, since making thousands of folders can
be slow where the output's folders fill the file system's groups."""


def _mirror(mirror: Path, output: Path, members: list[str], pages: dict[str, bytes]) -> Path:
    """Bring a shard's mirror up to date: its pages, hard links to the output's files (copies
    where links cannot be made) or the new bytes, and nothing else."""
    os.makedirs(mirror, exist_ok=True)
    wanted = set(members)
    for rel, entry in list(write.files_under(mirror)):
        if rel not in wanted:
            os.unlink(entry.path)
    for rel in members:
        target = os.path.join(mirror, rel)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)
        try:
            _place(output, rel, target, pages)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            _place(output, rel, target, pages)
    return mirror


def _place(output: Path, rel: str, target: str, pages: dict[str, bytes]) -> None:
    """Put one page in a mirror; FileNotFoundError when its folder is missing there."""
    if rel in pages:
        with open(target, "xb") as f:
            f.write(pages[rel])
        return
    try:
        os.link(os.path.join(output, rel), target)
    except FileNotFoundError:
        raise
    except OSError:  # another file system, or no hard links there
        shutil.copyfile(os.path.join(output, rel), target)


class Update:
    """Bring the index of a finished output up to date after a session's rebuild changed some of
    its pages: the shards whose pages changed are indexed again from a mirror of their pages, the
    others are carried over.

    `pages` names the pages whose content changed, `renamed` those whose bytes changed only in the
    fingerprinted names of static files: Pagefind reads a page's text, never the stylesheets it
    links, so their shards keep their index files. LookupError when the record does not know a
    page or shard the update needs."""

    def __init__(self, output: Path, before: Shards, after: Shards, record: Record, pages: set[str],
                 renamed: set[str], mirrors: Path, scratch: Path):
        self.output, self.record = output, record
        self.changed = {}
        """The new digest of each page whose bytes changed."""
        for rel in pages | renamed:
            with open(output / rel, "rb") as f:
                self.changed[rel] = _digest(f.read())
        self._runs: list[tuple[subprocess.Popen, Any]] = []
        self._queued: list[tuple[tuple[Path, str, Path], Path]] = []
        """Indexing runs not started yet: as many run at once as there are cores."""
        self._language = after.language
        self._bundles: dict[str, tuple[Path, bytes]] = {}
        self._keys: dict[bytes, str] = {}
        """Shard key -> folder, for every shard of the new layout."""
        self._rekeyed: dict[bytes, bytes] = {}
        self.removes: list[str] = []
        try:
            old_keys = {folder: self._key(before, folder, {}) for folder in before.layout}
            for number, (folder, members) in enumerate(sorted(after.layout.items())):
                key = self._key(after, folder, self.changed)
                self._keys[key] = folder
                if key in record.shards:
                    continue
                old = old_keys.get(folder)
                if old in record.shards and before.layout.get(folder) == members and before.count == after.count \
                        and not any(rel in pages for rel in members):
                    self._rekeyed[key] = old
                    continue
                mirror = _mirror(mirrors / folder.replace("/", "-"), output, members, {})
                bundle = scratch / f"{number}-bundle"
                self._bundles[folder] = (bundle, key)
                self._queued.append(((mirror, "**/*.html", bundle), scratch / f"{number}-run"))
            self._start()
            kept = set(self._keys) | set(self._rekeyed.values())
            self.gone = {key: files for key, files in record.shards.items() if key not in kept}
        except BaseException:
            self.stop()
            raise

    def _key(self, shards: Shards, folder: str, changed: dict[str, bytes]) -> bytes:
        """The key of a shard, its pages' digests from `changed` or else from the record."""
        present = []
        for rel in shards.layout[folder]:
            if rel in changed:
                present.append((rel, changed[rel]))
            elif rel in self.record.pages:
                present.append((rel, self.record.pages[rel].digest))
            else:
                raise LookupError(f"no record of {rel}")
        return _shard_key(folder, shards.count, shards.language, present)

    def _start(self) -> None:
        while self._queued and len(self._runs) < parallel.cores():
            job, cwd = self._queued.pop(0)
            self._runs.append(_launch(job, self._language, cwd))

    def stop(self) -> None:
        self._queued = []
        _stop(self._runs)
        self._runs = []

    def finish(self) -> tuple[dict[str, Path], list[str]]:
        """Wait for the indexers; return the index files to put in place (output path -> the file
        in the scratch folder) and those to remove."""
        while self._runs:
            _wait([self._runs.pop(0)])
            self._start()
        writes: dict[str, Path] = {}
        self._made: dict[bytes, list[str]] = {}
        for folder, (bundle, key) in self._bundles.items():
            files = _bundle_paths(folder, bundle)
            writes.update(files)
            self._made[key] = sorted(files)
        old_files = {rel for files in self.gone.values() for rel in files}
        self.removes = sorted(old_files - set(writes) - {rel for key in self._rekeyed.values() for rel in self.record.shards[key]}
                              - {rel for key in self._keys if key in self.record.shards for rel in self.record.shards[key]})
        return writes, self.removes

    def commit(self, removed_pages: Iterable[str]) -> Record:
        """The record of the index once the pages and index files are in the output."""
        pages = {rel: known for rel, known in self.record.pages.items() if rel not in removed_pages}
        for rel, digest in self.changed.items():
            pages[rel] = Indexed(_stamp(self.output / rel), digest)
        shards: dict[bytes, dict[str, Stamp | None]] = {}
        for key in self._keys:
            if key in self._made:
                shards[key] = {rel: _stamp(self.output / rel) for rel in self._made[key]}
            elif key in self._rekeyed:
                shards[key] = self.record.shards[self._rekeyed[key]]
            else:
                shards[key] = self.record.shards[key]
        return Record(pages, shards)


def publish(tx, site: Site, previous: Record) -> tuple[list[str], Record]:
    """Index the site's finished pages in the staging folder of `tx` and add the index files to it.

    Shards unchanged since the build `previous` records are carried over; the rest are indexed,
    as many at once as there are cores. Returns the output paths of every index file, and the
    record of this index.
    """
    language = site.config.language
    if not indexed_pages(site):
        return [], Record()  # nothing to index: the search page then loads no index (Pagefind cannot make an empty one)
    shards = layout(site)
    count = shard_count(len(indexed_pages(site)), site.config.search_shard_pages)
    staging = tx.staging.resolve()
    scratch = staging / SCRATCH
    record = Record()
    todo: list[tuple[str, bytes, tuple[Path, str, Path]]] = []
    try:
        for number, (folder, pages) in enumerate(shards.items()):
            present = []
            for rel in pages:
                path = os.path.join(staging, rel)
                stamp = _stamp(path)
                if stamp is None:
                    continue
                known = previous.pages.get(rel)
                if known and known.stamp == stamp:
                    digest = known.digest
                else:
                    with open(path, "rb") as f:
                        digest = _digest(f.read())
                record.pages[rel] = Indexed(stamp, digest)
                present.append((rel, digest))
            key = _shard_key(folder, count, language, present)
            kept = previous.shards.get(key)
            if kept is not None and _intact(tx, kept):
                for rel in sorted(kept):
                    if not tx.keep(rel):
                        raise BuildFailed([SiteError(rel, 0, 0, "removed from the output during the build; build again")])
                record.shards[key] = kept
                continue
            bundle = scratch / f"{number}-bundle"
            source, pattern = _source(staging, [rel for rel, _ in present], scratch / f"{number}-pages")
            todo.append((folder, key, (source, pattern, bundle)))
        if todo:
            _run([job for _, _, job in todo], language, at_once=min(len(todo), parallel.cores()))
        for folder, key, (_, _, bundle) in todo:
            files: dict[str, Stamp | None] = {}
            for rel, path in _bundle_paths(folder, bundle).items():
                tx.place(rel, str(path))  # the scratch folder is inside the staging folder
                files[rel] = _stamp(os.path.join(staging, rel))
            record.shards[key] = files
    except BuildFailed:
        raise
    except Exception as exc:  # the binary reports its own problems as plain exceptions
        raise BuildFailed([SiteError(FOLDER, 0, 0, f"search index failed: {exc!r}")]) from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return sorted(rel for files in record.shards.values() for rel in files), record
