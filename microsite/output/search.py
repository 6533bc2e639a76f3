"""Full-text search with Pagefind, in shards: the finished pages are indexed at the end of each build.

Pagefind's indexer needs time and memory in proportion to the pages it reads (about 235 MB per
1,000 pages), so one index over a large site is slow to rebuild and big in memory. The indexed
pages (article bodies and crew profiles, marked `data-pagefind-body`) are therefore split into
shards of about `search_shard_pages` pages at most, by a stable hash of each page's output path: an
edit changes one shard, and adding pages disturbs one shard until the shard count doubles. The
first shard lives in `pagefind/` (whose `pagefind.js` the search page loads), the others in
`pagefind/shard-N/`, holding only their index data; the browser merges them (`mergeIndex`).

Each shard is indexed on its own by Pagefind's binary (from the `pagefind[bin]` wheel) run as a
service, which is handed the shard's pages in the order of their output paths (so the index is the
same on any file system) and hands back the index files, which the build writes. A shard whose input (the
bytes of its pages, the language, the layout, the generator and Pagefind versions) is the same as in
the previous build, and whose files are still in the previous output as that build wrote them (same
inode, size and time), is not indexed again: its files are carried over unread. The record of what
each shard produced is kept in the build cache (`cache.Store`) for command-line builds, and in the
session's build state for watch and serve; a damaged record re-indexes all. A rebuild that replaces
a few pages in place indexes again only their shards, from the pages in the output (`Update`).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import stat
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Iterator, Mapping, NamedTuple

from ..rebuild import cache
from ..render import parallel
from ..errors import BuildFailed, SiteError
from ..model import Site
from ..progress import NONE, Progress
from .write import Patch

FOLDER = "pagefind"
"""Where the index lives in the output; templates load `pagefind/pagefind.js` from here."""
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


def indexes(site: Site) -> list[tuple[str, str, list[str]]]:
    """(folder prefix, language, pages) of each index: one for the site, or one per language of a
    multilingual site (`ru/pagefind/`), so that each language is searched with its own stemming."""
    if not site.config.languages:
        return [("", site.config.language, indexed_pages(site))]
    found = []
    for lang in site.config.languages:
        view = site.views[lang.code]
        own = lang.code if lang.prefix else ""
        pages = [f"{a.url}index.html" for a in view.articles if a.lang == own] + [f"{lang.prefix}{m.url}index.html" for m in view.crew]
        found.append((lang.prefix, lang.code, pages))
    return found


def layout(site: Site) -> Mapping[str, tuple[str, ...]]:
    """Each shard's folder in the output with its pages; each index's first is `pagefind`."""
    if not site.config.languages:
        return _layout(tuple(indexed_pages(site)), site.config.search_shard_pages)
    shards: dict[str, tuple[str, ...]] = {}
    for prefix, _, pages in indexes(site):
        if pages or not prefix:
            shards.update((prefix + folder, members) for folder, members in _layout(tuple(pages), site.config.search_shard_pages).items())
    return MappingProxyType(shards)


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


def folder_language(site: Site) -> dict[str, tuple[str, int]]:
    """The language and shard count of each index by its folder prefix."""
    return {prefix: (language, shard_count(len(pages), site.config.search_shard_pages)) for prefix, language, pages in indexes(site)}


def _prefix(folder: str) -> str:
    return folder[:folder.index(FOLDER)]


def merged_folders(site: Site, prefix: str = "") -> tuple[str, ...]:
    """Folders of the shards the search page of a language merges into the first (`pagefind/shard-N/`),
    inside that language's folder."""
    return tuple(f"{folder[len(prefix):]}/" for folder in layout(site) if _prefix(folder) == prefix and folder != prefix + FOLDER)


def has_index(site: Site, prefix: str = "") -> bool:
    """Whether a language's search page has an index to load (Pagefind cannot make an empty one)."""
    return any(pages for p, _, pages in indexes(site) if p == prefix)


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
    """Under this version of the generator: another version's record may hold other shapes."""
    return cache.key("search", str(output).encode("utf-8", "surrogateescape"))


def recall(store: cache.Store, output: Path) -> Record:
    """The record a command-line build left in the cache; empty when unknown or damaged, so every shard is indexed."""
    found = store.get(KIND, _record_key(output))
    if isinstance(found, Record) and all(isinstance(known, Indexed) for known in found.pages.values()):
        return found
    return Record()


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


Page = tuple[str, "bytes | str"]
"""A page to index: its output path, and its bytes or the path of the file holding them."""


class _Service:
    """One run of Pagefind's indexing service (`pagefind --service`) over one shard's pages.

    The pages are sent in the order given, so the index is the same wherever the pages lie: the
    indexing binary run over a folder numbers pages in the order the file system lists them, which
    differs between file systems (tmpfs and ext4 do not agree). The service answers each request in
    turn; the index files come back in the last answer and are written by the build, never by the
    service. A writer thread feeds the requests while the caller reads the answers, so services of
    several shards index at the same time.
    """

    def __init__(self, pages: list[Page], language: str):
        from pagefind.service import get_executable  # imported when needed: it brings in asyncio

        executable = get_executable()
        if executable is None:
            raise RuntimeError("the pagefind binary is not installed; install the pagefind[bin] package")
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([str(executable), "--service"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log)
        self.pending = b""
        self.stalled = threading.Event()
        self.watchdog = threading.Timer(TIMEOUT, self._stall)
        self.watchdog.start()
        config = {"force_language": language.split("-")[0].lower() or "en", "exclude_selectors": EXCLUDE}
        self._send(0, {"type": "NewIndex", "config": config})
        self.proc.stdin.flush()
        index = self._answer(0)["index_id"]
        self.last = len(pages) + 1
        self.writer = threading.Thread(target=self._feed, args=(index, pages), daemon=True)
        self.writer.start()

    def _stall(self) -> None:
        self.stalled.set()
        self.proc.kill()

    def _send(self, number: int, payload: dict) -> None:
        message = json.dumps({"message_id": number, "payload": payload}).encode("utf-8", "surrogatepass")
        self.proc.stdin.write(base64.b64encode(message) + b",")

    def _feed(self, index: int, pages: list[Page]) -> None:
        """Send every page, then ask for the index files (in the writer thread)."""
        try:
            for number, (rel, page) in enumerate(pages, 1):
                if isinstance(page, str):
                    with open(page, "rb") as f:
                        page = f.read()
                self._send(number, {"type": "AddFile", "index_id": index, "file_path": rel, "url": None,
                                    "file_contents": page.decode("utf-8", "replace")})
            self._send(self.last, {"type": "GetFiles", "index_id": index})
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the service ended or was stopped: reading its answers tells why

    def _answer(self, number: int) -> dict:
        """Read the answer to request `number` (answers come in the order of the requests)."""
        while b"," not in self.pending:
            chunk = self.proc.stdout.read1(1 << 20)
            if not chunk:
                raise RuntimeError(self._failure())
            self.pending += chunk
        message, _, self.pending = self.pending.partition(b",")
        answer = json.loads(base64.b64decode(message))
        payload = answer.get("payload", {})
        if payload.get("type") == "Error" or answer.get("message_id") != number:
            raise RuntimeError(f"pagefind refused a request: {payload.get('message', answer)!r}")
        return payload

    def _failure(self) -> str:
        status = self.proc.wait()
        if self.stalled.is_set():
            return f"pagefind did not finish within {TIMEOUT} s"
        self.log.seek(0)
        return f"pagefind exited with status {status}: {self.log.read().decode('utf-8', 'replace').strip()[-2000:]}"

    def files(self) -> Iterator[tuple[str, bytes]]:
        """Wait for the index; return its files (path inside the bundle folder, bytes) by path,
        each decoded only when asked for, so a shard's index is never held twice."""
        try:
            for number in range(1, self.last):
                self._answer(number)
            found = self._answer(self.last)["files"]
            self.writer.join()
            self.proc.stdin.close()  # the service exits at the end of its input
            self.proc.wait()
        finally:
            self.stop()
        found.sort(key=lambda file: file["path"], reverse=True)
        return _decoded(found)

    def stop(self) -> None:
        """End the service, finished or not."""
        self.watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self.log.close()


def _decoded(found: list[dict]) -> Iterator[tuple[str, bytes]]:
    """Files of a service's answer, listed last first, decoded one at a time and let go."""
    while found:
        file = found.pop()
        yield file["path"], base64.b64decode(file["content"])


def _index(jobs: list[list[Page]], language: str, at_once: int = 1, progress: Progress = NONE,
           languages: list[str] | None = None) -> Iterator[Iterator[tuple[str, bytes]]]:
    """Index each job's pages, `at_once` shards at a time, in `language` or each job's of
    `languages`; yield each job's index files in job order, to be used up before the next (a
    site's whole index is never in memory at once). `progress` counts the shards indexed."""
    running: list[_Service] = []
    try:
        for pages, speaking in zip(jobs, languages or [language] * len(jobs)):
            running.append(_Service(pages, speaking))
            if len(running) >= at_once:
                files = running.pop(0).files()
                progress.advance()
                yield files
        while running:
            files = running.pop(0).files()
            progress.advance()
            yield files
    finally:
        for service in running:
            service.stop()


def _bundle(folder: str, files: Iterable[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
    """The files of one shard's index that the output needs, with their output paths."""
    return ((f"{folder}/{rel}", data) for rel, data in files if folder.endswith(FOLDER) or _is_data(rel))


@dataclass(frozen=True)
class Shards:
    """Where the index of a site's pages lives: what a rebuild of a few pages needs (delta.py)."""

    layout: Mapping[str, tuple[str, ...]]
    count: int
    language: str
    languages: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    """The language and shard count of each index by its folder prefix, in a multilingual site."""

    @classmethod
    def of(cls, site: Site) -> "Shards":
        return cls(layout(site), shard_count(len(indexed_pages(site)), site.config.search_shard_pages), site.config.language,
                   folder_language(site) if site.config.languages else {})

    def reading(self, folder: str) -> tuple[str, int]:
        """The language and shard count a shard folder is indexed with."""
        return self.languages.get(_prefix(folder), (self.language, self.count))

    def folder(self, page: str) -> str | None:
        """The shard folder that indexes a page, or None for a page not indexed."""
        return next((folder for folder, pages in self.layout.items() if page in pages), None)


class Update:
    """Bring the index of a finished output up to date after a rebuild changed some of its pages:
    the shards whose pages changed are indexed again from the pages in the output, the others are
    carried over. The indexers start at once and run while the caller goes on; `finish` waits.

    `pages` names the pages whose content changed, `renamed` those whose bytes changed only in the
    fingerprinted names of static files: Pagefind reads a page's text, never the stylesheets it
    links, so their shards keep their index files. LookupError when the record does not know a
    page or shard the update needs."""

    def __init__(self, output: Path, before: Shards, after: Shards, record: Record, pages: set[str], renamed: set[str]):
        self.output, self.record = output, record
        self.changed = {}
        """The new digest of each page whose bytes changed."""
        for rel in pages | renamed:
            with open(output / rel, "rb") as f:
                self.changed[rel] = _digest(f.read())
        self._queued: list[tuple[str, list[Page]]] = []
        """Shards not started yet: as many are indexed at once as there are cores."""
        self._running: list[tuple[str, _Service]] = []
        self._after = after
        self._bundles: dict[str, bytes] = {}
        """Folder -> key of each shard indexed again."""
        self._keys: dict[bytes, str] = {}
        """Shard key -> folder, for every shard of the new layout."""
        self._rekeyed: dict[bytes, bytes] = {}
        self.removes: list[str] = []
        try:
            old_keys = {folder: self._key(before, folder, {}) for folder in before.layout}
            for folder, members in sorted(after.layout.items()):
                key = self._key(after, folder, self.changed)
                self._keys[key] = folder
                if key in record.shards:
                    continue
                old = old_keys.get(folder)
                if old in record.shards and before.layout.get(folder) == members and before.reading(folder) == after.reading(folder) \
                        and not any(rel in pages for rel in members):
                    self._rekeyed[key] = old
                    continue
                self._bundles[folder] = key
                self._queued.append((folder, [(rel, os.path.join(output, rel)) for rel in members]))
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
        return _shard_key(folder, *reversed(shards.reading(folder)), present)

    def _start(self) -> None:
        while self._queued and len(self._running) < parallel.cores():
            folder, pages = self._queued.pop(0)
            self._running.append((folder, _Service(pages, self._after.reading(folder)[0])))

    def stop(self) -> None:
        self._queued = []
        for _, service in self._running:
            service.stop()
        self._running = []

    def finish(self, batch: Patch) -> tuple[list[str], list[str]]:
        """Wait for the indexers, staging each shard's index files in `batch` as soon as that
        shard is done (a rebuild that changed every page would otherwise hold the whole index),
        and the removal of those no shard makes any more; return the paths of both."""
        writes: list[str] = []
        self._made: dict[bytes, list[str]] = {}
        while self._running:
            folder, service = self._running.pop(0)
            try:
                files = dict(_bundle(folder, service.files()))
                self._start()
            except Exception as exc:
                self.stop()
                raise BuildFailed([SiteError(FOLDER, 0, 0, f"search index failed: {exc!r}")]) from exc
            for rel, data in files.items():
                batch.write(rel, data)
            writes += files
            self._made[self._bundles[folder]] = sorted(files)
            del files
        old_files = {rel for files in self.gone.values() for rel in files}
        self.removes = sorted(old_files - set(writes) - {rel for key in self._rekeyed.values() for rel in self.record.shards[key]}
                              - {rel for key in self._keys if key in self.record.shards for rel in self.record.shards[key]})
        for rel in self.removes:
            batch.remove(rel)
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


def publish(tx, site: Site, previous: Record, progress: Progress = NONE) -> tuple[list[str], Record]:
    """Index the site's finished pages in the staging folder of `tx` and add the index files to it.

    Shards unchanged since the build `previous` records are carried over; the rest are indexed,
    as many at once as there are cores, counted by `progress`. Returns the output paths of every
    index file, and the record of this index.
    """
    if not indexed_pages(site):
        return [], Record()  # nothing to index: the search page then loads no index (Pagefind cannot make an empty one)
    progress.phase("indexing")
    shards = layout(site)
    reading = Shards.of(site).reading
    staging = tx.staging.resolve()
    record = Record()
    todo: list[tuple[str, bytes, list[Page]]] = []
    try:
        for folder, pages in shards.items():
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
            language, count = reading(folder)
            key = _shard_key(folder, count, language, present)
            kept = previous.shards.get(key)
            if kept is not None and _intact(tx, kept):
                for rel in sorted(kept):
                    if not tx.keep(rel):
                        raise BuildFailed([SiteError(rel, 0, 0, "removed from the output during the build; build again")])
                record.shards[key] = kept
                continue
            todo.append((folder, key, [(rel, os.path.join(staging, rel)) for rel, _ in present]))
        progress.phase("indexing", len(todo))
        made = _index([pages for _, _, pages in todo], site.config.language, min(len(todo), parallel.cores()), progress,
                      [reading(folder)[0] for folder, _, _ in todo]) if todo else []
        for (folder, key, _), files in zip(todo, made):
            stamps: dict[str, Stamp | None] = {}
            for rel, data in _bundle(folder, files):
                tx.write(rel, data)
                stamps[rel] = _stamp(os.path.join(staging, rel))
            record.shards[key] = stamps
    except BuildFailed:
        raise
    except Exception as exc:  # the service reports its own problems as plain exceptions
        raise BuildFailed([SiteError(FOLDER, 0, 0, f"search index failed: {exc!r}")]) from exc
    return sorted(rel for files in record.shards.values() for rel in files), record
