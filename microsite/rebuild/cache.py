"""The persistent build cache beside the output: parsed articles, converted Markdown, written pages.

A build from the command line keeps, in `.microsite-cache/` beside the output folder:
- each article's parsed front matter, by the hash of its bytes, so an unchanged file is not parsed;
- each converted body, by the hash of its text (and the settings and crew data conversion uses),
  so Markdown is converted once per version of a text, a template edit converts nothing, and a
  cold build converts in worker processes; and the outline of each body (what pages other than
  its own read of it), so a build fetches a body only for the pages that print it;
- a digest of everything the build reads, with the size and time of every page it wrote: when the
  digest is the same, no page is rendered and no file rewritten.

Every entry carries a checksum: a damaged one is deleted and rebuilt, never used. Keys include a
digest of the generator's code and library versions. Deleting the folder is always safe.
"""

from __future__ import annotations

import contextlib
import copyreg
import dataclasses
import datetime as dt
import functools
import hashlib
import io
import os
import pickle
import re
import shutil
import signal
import stat
import sys
import threading
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from ..markdown import bodies, markup
from ..source import content
from ..render import parallel
from ..output import write
from ..model import Page, Settings, Toc
from ..progress import NONE, Progress

FOLDER = ".microsite-cache"
"""Name of the cache folder, created beside the output folder."""
MAGIC = b"mscache2"
DIGEST = 16
LIBRARIES = ("markdown", "pygments", "jinja2", "markupsafe", "pyyaml", "python-slugify", "pillow", "pagefind", "pagefind-bin", "tzdata")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


@functools.lru_cache(maxsize=1)
def installed() -> dict[str, str]:
    """Version of each distribution installed on the import path, by normalised name, read from
    the names of their metadata folders (`name-version.dist-info`): what importlib.metadata
    finds, without the cost of importing it on every build."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                project, _, rest = name.rpartition(".")[0].partition("-")
                found.setdefault(_normal(project), rest.partition("-")[0] or "?")
    return found


def version(name: str) -> str:
    """The installed version of a distribution, or "?"."""
    return installed().get(_normal(name), "?")


PACKAGE = Path(__file__).resolve().parent.parent
"""The generator's own package: every module in it can change what a build makes."""


def generator_files() -> list[Path]:
    """Every Python module of the generator, in every subpackage, in a fixed order."""
    return sorted(PACKAGE.rglob("*.py"))


@functools.lru_cache(maxsize=1)
def generator_digest() -> bytes:
    """Digest the generator's code and the versions of the libraries that shape its output."""
    h = hashlib.blake2b(digest_size=DIGEST)
    for path in generator_files():
        h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for name in LIBRARIES:
        h.update(f"{name}={version(name)}\0".encode())
    return h.digest()


def key(*parts: bytes | str) -> bytes:
    """The cache key of an entry named by `parts`, under this version of the generator."""
    h = hashlib.blake2b(generator_digest(), digest_size=DIGEST)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(b"%d:" % len(data) + data)
    return h.digest()


def _read_only(mapping: dict) -> MappingProxyType:
    return MappingProxyType(mapping)


DISPATCH = copyreg.dispatch_table.copy()
DISPATCH[MappingProxyType] = lambda proxy: (_read_only, (dict(proxy),))
"""How entries pickle read-only mappings (front-matter extras): as the dicts they wrap."""


PACKED = ("bodies",)
"""Kinds whose entries are appended to pack files, many to a file, instead of one file each: on
many file systems creating a file costs more than writing its bytes, and a cold build makes one
converted body per article."""
PACK_MERGE = 8 << 20
"""Packs smaller than this, or less than half of whose bytes are still used, are merged by `prune`."""


def _frame(value: Any) -> bytes:
    """A checksummed pickle: what an entry holds on disk."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = DISPATCH
    pickler.dump(value)
    payload = buffer.getvalue()
    return MAGIC + hashlib.blake2b(payload, digest_size=DIGEST).digest() + payload


_DAMAGED = object()


def _unframe(data: bytes) -> Any:
    """The value of a checksummed pickle, or _DAMAGED when it is truncated, damaged or written by
    code whose classes have changed since."""
    payload = data[len(MAGIC) + DIGEST:]
    if data[:len(MAGIC)] == MAGIC and data[len(MAGIC):len(MAGIC) + DIGEST] == hashlib.blake2b(payload, digest_size=DIGEST).digest():
        try:
            return pickle.loads(payload)
        except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, IndexError, KeyError, TypeError, ValueError):
            pass
    return _DAMAGED


def _pack_name() -> str:
    """A name no other pack has had: packs are never written again once named."""
    return f"{time.time_ns():x}-{os.getpid()}-{os.urandom(4).hex()}.pack"


class Place(NamedTuple):
    """Where an entry lies: in which pack file, from which byte, how many bytes."""

    pack: str
    offset: int
    length: int


class _Packs:
    """The entries of one kind, appended to pack files in `root` and found through the `directory`
    entry there (key -> Place). A build appends to a pack of its own in its
    staging folder, which `flush` moves beside the others."""

    def __init__(self, store: "Store", kind: str):
        self.store = store
        self.kind = kind
        self.root = os.path.join(store.folder, kind)
        self._directory: dict[bytes, Place] | None = None
        self._own: Any = None
        self._own_path = os.path.join(store._staging, f"{kind}.pack")
        self._added: dict[bytes, tuple[int, int]] = {}
        self._dropped: set[bytes] = set()
        self._readers: dict[str, Any] = {}

    def _load_directory(self) -> dict[bytes, Place]:
        try:
            with open(os.path.join(self.root, "directory"), "rb") as f:
                found = _unframe(f.read())
        except OSError:
            return {}
        return found if isinstance(found, dict) else {}

    def directory(self) -> dict[bytes, Place]:
        if self._directory is None:
            self._directory = self._load_directory()
        return self._directory

    def append(self, key: bytes, data: bytes) -> bool:
        try:
            if self._own is None:
                os.makedirs(self.store._staging, exist_ok=True)
                self._own = open(self._own_path, "ab+")
            offset = self._own.seek(0, os.SEEK_END)
            self._own.write(data)
            self._own.flush()  # nothing buffered for a forked worker to write a second time
        except OSError:
            return False
        self._added[key] = (offset, len(data))
        return True

    def read(self, key: bytes) -> bytes | None:
        if key in self._added:
            offset, length = self._added[key]
            return os.pread(self._own.fileno(), length, offset)
        place = self.directory().get(key)
        return None if place is None else self._read_at(*place)

    def _read_at(self, name: str, offset: int, length: int) -> bytes | None:
        try:
            reader = self._readers.get(name)
            if reader is None:
                reader = self._readers[name] = open(os.path.join(self.root, name), "rb")
            return os.pread(reader.fileno(), length, offset)
        except OSError:
            return None

    def drop(self, key: bytes) -> None:
        """Forget a damaged entry, so the next build does not find it either."""
        self._added.pop(key, None)
        if key in self.directory():
            self._dropped.add(key)
            del self._directory[key]

    def flush(self) -> None:
        """Move this build's pack beside the others and record where its entries are."""
        if not self._added and not self._dropped:
            self.close()
            return
        directory = self._load_directory()  # as on disk now: another build may have flushed meanwhile
        for key in self._dropped:
            directory.pop(key, None)
        try:
            if self._added:
                self._own.close()
                self._own = None
                name = _pack_name()
                os.makedirs(self.root, exist_ok=True)
                os.replace(self._own_path, os.path.join(self.root, name))
                directory.update((key, Place(name, offset, length)) for key, (offset, length) in self._added.items())
            self.store._write(os.path.join(self.root, "directory"), _frame(directory))
        except OSError:
            pass  # the entries are lost: the next build converts those bodies again
        self._directory = directory
        self._added = {}
        self._dropped = set()
        self.close()

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers = {}
        if self._own is not None:
            self._own.close()
            self._own = None
            self._added = {}

    def prune(self, keep: set[bytes]) -> None:
        """Keep only the entries in `keep`; delete packs nothing points into, and merge into one the
        small packs and those mostly unused, so neither files nor dead bytes pile up."""
        known = self._load_directory()
        directory = {key: place for key, place in known.items() if key in keep}
        live: dict[str, int] = {}
        for place in directory.values():
            live[place.pack] = live.get(place.pack, 0) + place.length
        sizes = {}
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.root):
                if entry.name.endswith(".pack"):
                    sizes[entry.name] = entry.stat().st_size
                elif entry.is_dir(follow_symlinks=False):  # entries of a version that kept a file per body
                    shutil.rmtree(entry.path, ignore_errors=True)
        merge = {name for name, size in sizes.items() if name in live and (size < PACK_MERGE or 2 * live[name] < size)}
        merging = len(merge) > 1 or any(live[name] < sizes[name] for name in merge)
        if not merging and len(directory) == len(known) and set(sizes) <= set(live):
            return  # nothing to drop
        try:
            if merging:
                name = _pack_name()
                temp = os.path.join(self.root, f".{name}")
                with open(temp, "wb") as out:
                    for key, place in sorted(directory.items(), key=lambda item: item[1]):
                        if place.pack in merge:
                            data = self._read_at(*place)
                            if data is None or len(data) != place.length:
                                del directory[key]
                                continue
                            directory[key] = Place(name, out.tell(), place.length)
                            out.write(data)
                os.replace(temp, os.path.join(self.root, name))
            self.store._write(os.path.join(self.root, "directory"), _frame(directory))
        except OSError:
            return
        self._directory = directory
        self.close()
        used = {place.pack for place in directory.values()}
        for name in sizes:
            if name not in used:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.root, name))


class _Recent:
    """Entries of the kinds whose key names their value (SHARED), kept in memory for the whole
    process up to MOST bytes, newest last: a process that builds one site into several folders
    (a check, then a build; a test suite) draws each card once, whichever cache it asks."""

    MOST = 8 << 20

    def __init__(self) -> None:
        self.entries: dict[tuple[str, bytes], bytes] = {}
        self.size = 0

    def get(self, kind: str, key: bytes) -> bytes | None:
        return self.entries.get((kind, key))

    def add(self, kind: str, key: bytes, value: Any) -> None:
        if not isinstance(value, bytes) or len(value) > self.MOST or (kind, key) in self.entries:
            return
        self.entries[(kind, key)] = value
        self.size += len(value)
        while self.size > self.MOST:
            oldest = next(iter(self.entries))
            self.size -= len(self.entries.pop(oldest))


SHARED = ("cards",)
"""Kinds whose entries are bytes named by a digest of everything that makes them."""
_RECENT = _Recent()


class Store:
    """A folder of checksummed pickles; a missing or damaged entry reads as absent."""

    def __init__(self, folder: Path, shared: bool = True):
        self.folder = folder
        self.shared = shared
        """Whether entries of the SHARED kinds go through the process's memory of recent ones
        (_RECENT): a session, which builds one site into one folder, has no use for it."""
        self.used: dict[str, set[bytes]] = {}
        """Keys this build read or wrote, by kind: what `prune` keeps."""
        self.pending: dict[tuple[str, bytes], Any] = {}
        """Entries to write once the build has succeeded: a failed build leaves the disk as it was."""
        self.staged: dict[tuple[str, bytes], str] = {}
        """Entries written already, into a folder of this build's own, to be moved into place (`flush`)."""
        self._staging = os.path.join(folder, f"staging-{os.getpid()}-{os.urandom(4).hex()}")
        self._tagged = False
        self.packs = {kind: _Packs(self, kind) for kind in PACKED}

    @classmethod
    def beside(cls, output: Path, shared: bool = True) -> "Store":
        """The cache belonging to an output folder: a sibling, never inside what is published."""
        return cls(output.absolute().parent / FOLDER, shared)

    def _path(self, kind: str, key: bytes) -> str:
        name = key.hex()
        return os.path.join(self.folder, kind, name[:2], name)

    def get(self, kind: str, key: bytes) -> Any | None:
        """Return the value stored under `key`, or None when absent, truncated or damaged."""
        self.used.setdefault(kind, set()).add(key)
        if (kind, key) in self.pending:
            return self.pending[(kind, key)]
        packs = self.packs.get(kind)
        if packs is not None:
            data = packs.read(key)
            if data is None:
                return None
            value = _unframe(data)
            if value is _DAMAGED:
                packs.drop(key)
                return None
            return value
        staged = self.staged.get((kind, key))
        path = staged or self._path(kind, key)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return self._recent(kind, key)
        value = _unframe(data)
        if value is not _DAMAGED:
            return value
        if staged is None:
            try:
                os.unlink(path)
            except OSError:
                pass
        return self._recent(kind, key)

    def _recent(self, kind: str, key: bytes) -> Any | None:
        """An entry this cache lacks that this process made for another: stored here too."""
        value = _RECENT.get(kind, key) if self.shared and kind in SHARED else None
        if value is not None:
            self.put(kind, key, value)
        return value

    def keep(self, kind: str, key: bytes) -> None:
        """Mark an entry as used without reading it, so `prune` leaves it."""
        self.used.setdefault(kind, set()).add(key)

    def put(self, kind: str, key: bytes, value: Any, now: bool = False) -> None:
        """Store a value when the build succeeds (`flush`); with `now`, write it at once into the
        staging folder instead of holding it in memory until then."""
        self.used.setdefault(kind, set()).add(key)
        if self.shared and kind in SHARED:
            _RECENT.add(kind, key, value)
        if not now:
            self.pending[(kind, key)] = value
            return
        self.pending.pop((kind, key), None)
        if kind in self.packs:
            self.packs[kind].append(key, _frame(value))
            return
        path = os.path.join(self._staging, kind + "-" + key.hex())
        if self._save(path, value):
            self.staged[(kind, key)] = path

    def flush(self) -> None:
        """Write the entries of a successful build."""
        for (kind, key), value in self.pending.items():
            if kind in self.packs:
                self.packs[kind].append(key, _frame(value))
            else:
                self._save(self._path(kind, key), value)
        for packs in self.packs.values():
            packs.flush()
        for (kind, key), staged in self.staged.items():
            path = self._path(kind, key)
            try:
                try:
                    os.replace(staged, path)
                except FileNotFoundError:  # the first entry of its folder
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    os.replace(staged, path)
            except OSError:
                pass
        self.pending = {}
        self.discard()
        for entry in os.scandir(self.folder):  # left by a build that was killed
            pid = entry.name.split("-")[1] if entry.name.startswith("staging-") else ""
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(entry.path, ignore_errors=True)

    def discard(self) -> None:
        """Forget the entries of a build that failed: nothing of it reaches the cache."""
        self.pending = {}
        self.staged = {}
        for packs in self.packs.values():
            packs.close()
        shutil.rmtree(self._staging, ignore_errors=True)

    def _save(self, path: str, value: Any) -> bool:
        """Write a checksummed entry atomically: readers see the old entry or the new one, never half of one."""
        return self._write(path, _frame(value))

    def _write(self, path: str, data: bytes) -> bool:
        try:
            folder, name = os.path.split(path)
            temp = os.path.join(folder, f".{name}.{os.getpid()}")
            try:
                f = open(temp, "wb")
            except FileNotFoundError:  # the first entry of its folder
                os.makedirs(folder, exist_ok=True)
                f = open(temp, "wb")
            with f:
                f.write(data)
            os.replace(temp, path)
            if not self._tagged and not (self.folder / "CACHEDIR.TAG").exists():
                (self.folder / "CACHEDIR.TAG").write_text(
                    "Signature: 8a477f597d28d172789f06886806bc55\n# microsite build cache; deleting it is safe.\n", encoding="utf-8")
                # git ignores the folder by itself, so `git add -A` in a site never commits the cache
                (self.folder / ".gitignore").write_text("# made by microsite\n*\n", encoding="utf-8")
            self._tagged = True
            return True
        except OSError:
            return False  # a cache that cannot be written only makes the next build slower

    def prune(self, kind: str, keep: Iterable[bytes]) -> None:
        """Delete entries of one kind not in `keep`, so the cache does not grow with every edit."""
        if kind in self.packs:
            self.packs[kind].prune(set(keep))
            return
        wanted = {key.hex() for key in keep}
        root = self.folder / kind
        if not root.is_dir():
            return
        for shard in os.scandir(root):
            if shard.is_dir():
                for entry in os.scandir(shard.path):
                    if entry.name not in wanted:
                        try:
                            os.unlink(entry.path)
                        except FileNotFoundError:
                            pass  # another build pruned it first


@dataclasses.dataclass(frozen=True)
class Outline:
    """All of a converted body but its HTML: what pages that do not print the body read of it."""

    toc: Toc
    words: int
    mentions: tuple[str, ...]
    refs: tuple
    images: tuple[str, ...]

    @classmethod
    def of(cls, converted: markup.Converted) -> "Outline":
        return cls(converted.toc, converted.words, converted.mentions, converted.refs, converted.html.images)


@dataclasses.dataclass(frozen=True)
class Conversion:
    """What a body converts with besides its text: whether raw HTML is allowed, and the crew
    whose names become links, with a digest of that crew for cache keys."""

    allow_html: bool
    crew: Any
    crew_key: bytes

    @classmethod
    def of(cls, allow_html: bool, crew: Any) -> "Conversion":
        return cls(allow_html, crew, hashlib.blake2b(pickle.dumps(crew, protocol=4), digest_size=DIGEST).digest())

    def body_key(self, digest: str) -> bytes:
        """The cache key of the converted body whose Markdown text has this digest."""
        return key("body", str(self.allow_html), self.crew_key, digest)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


BUCKETS = 32


class Index:
    """A large map from content keys to values, kept as BUCKETS entries by key: a build reads a
    few files instead of one per item, and an edit rewrites the bucket it touched, not the rest."""

    def __init__(self, store: Store, kind: str, name: bytes):
        self.store = store
        self.kind = kind
        self.keys = [key(name, str(number)) for number in range(BUCKETS)]
        self.old: list[dict | None] = [None] * BUCKETS
        self.new: list[dict] = [{} for _ in range(BUCKETS)]
        """What this build used, by bucket: what `save` stores."""

    def get(self, key: bytes) -> Any:
        number = key[0] % BUCKETS
        if self.old[number] is None:
            found = self.store.get(self.kind, self.keys[number])
            self.old[number] = found if isinstance(found, dict) else {}
        return self.old[number].get(key)

    def add(self, key: bytes, value: Any) -> None:
        self.new[key[0] % BUCKETS][key] = value

    def save(self, now: bool = False) -> None:
        """Store the buckets whose keys changed (a key names its value, so the same keys hold the
        same values), then let go of them."""
        for number, bucket in enumerate(self.new):
            if self.old[number] is not None and self.old[number].keys() == bucket.keys():
                self.store.keep(self.kind, self.keys[number])
            elif self.old[number] is None and not bucket:
                continue  # neither read nor filled: an entry left on disk is unused, and pruned
            else:
                self.store.put(self.kind, self.keys[number], bucket, now=now)
        self.old = [None] * BUCKETS
        self.new = [{} for _ in range(BUCKETS)]


class Articles:
    """Parses each article file once per version of its bytes (the `reader` of `content.read_sources`).

    Parsed articles are kept without their text in an Index: a build of thousands of unchanged
    articles reads a few files for them, not one each. Articles are handed out with only their
    body's digest; the Converter's workers read the text themselves.
    """

    def __init__(self, store: Store, hashes: "Hashes | None" = None, then: Callable[[content.RawArticle], None] | None = None):
        self.store = store
        self.then = then
        """Called with each article read (Converter.submit starts converting it)."""
        self.hashes = hashes or Hashes({})
        self.index = Index(store, "articles", b"parsed articles")

    def read(self, path: Path, rel: str, limit: int, reader: Callable[[Path, str, int], Any]) -> Any:
        digest, signature = self.hashes.of(str(path))
        entry = key("article", rel, str(limit), digest)
        raw = self.index.get(entry)
        if not isinstance(raw, content.RawArticle):
            raw = reader(path, rel, limit).without_body()
            if _signature(path) != signature:  # saved again meanwhile: not known to be that version
                return raw
        self.index.add(entry, raw)
        if self.then:
            self.then(raw)
        return raw

    def finish(self) -> None:
        """Once every article is read: stage what changed for the cache (written if the build
        succeeds), holding none of it in memory for the rest of the build."""
        self.index.save(now=True)


class Converter:
    """Converts article bodies as `markup.convert` does: each distinct text once, kept on disk, and
    the ones not kept yet converted together in worker processes (`prepare`).

    What it hands out holds no HTML, only where to fetch it (bodies.Html): the build fetches a body
    for the pages that print it. The outline of every body (headings, length, mentions, images)
    is kept in an Index, so an unchanged article costs no read of its body at all.
    """

    def __init__(self, store: Store, source: Path, workers: int = 0):
        self.store = store
        self.source = source
        """The source folder, where a body whose entry is lost is read again."""
        self.workers = workers
        self.done: dict[tuple[str, bool], markup.Converted | None] = {}
        self.outlines = Index(store, "outlines", b"outlines")
        self._stream: parallel.Stream | None = None
        self._early: Conversion | None = None
        self._queued: list[tuple[tuple, tuple]] = []
        """Articles to convert early, held until there are enough to be worth starting workers."""
        self._submitted: set[str] = set()
        self._drafts = False

    def start(self, allow_html: bool, crew: Any, drafts: bool) -> None:
        """Convert articles as they are read (`submit`), before the site is checked: the workers
        convert while this process reads and parses the rest. `prepare` then finds them done."""
        self._early = Conversion.of(allow_html, crew)
        self._drafts = drafts

    def submit(self, raw: content.RawArticle) -> None:
        """Start converting an article just read, unless its body is known or it is a draft."""
        if self._early is None or raw.digest in self._submitted or (raw.front.get("draft") is True and not self._drafts):
            return
        body_key = self._early.body_key(raw.digest)
        if self.outlines.get(body_key) is not None:
            return
        self._submitted.add(raw.digest)
        place = raw.place()
        self._queued.append(((body_key, place, self._early), (str(self.source), place, self._early.allow_html, self._early.crew)))
        workers = self.workers or parallel.cores()
        if self._stream is None and workers > 1 and len(self._queued) >= parallel.MIN_PER_WORKER * workers:
            self._stream = parallel.Stream(parallel.convert_file, self._take, workers)
        if self._stream is not None:
            for tag, job in self._queued:
                self._stream.put(tag, job)
            self._queued = []

    def _take(self, tag: tuple[bytes, content.RawArticle, Conversion], result: Any) -> None:
        """Keep what a worker made of one article (parallel.convert_file)."""
        body_key, raw, how = tag
        if result == parallel.CHANGED:
            raise content.changed(raw.source)
        if result is None:  # nested too deeply: `result` raises RecursionError for it
            self.done[(raw.digest, how.allow_html)] = None
        else:
            self.store.put("bodies", body_key, result, now=True)
            self._hand_out(body_key, raw, how, Outline.of(result))

    def close(self) -> None:
        """Stop converting early (the build failed before `prepare`)."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def prepare(self, articles: Iterable[content.RawArticle], allow_html: bool, crew: Any, progress: Progress = NONE) -> None:
        """Fetch or convert every article body before the build asks for them one by one,
        advancing `progress` for each body known and each one converted as it arrives."""
        how = Conversion.of(allow_html, crew)
        self._queued = []  # too few to start workers for early: converted below with the rest
        if self._stream is not None:
            stream, self._stream = self._stream, None
            progress.advance(len(self.done))  # converted early, while the articles were read
            stream.finish(progress)
            if (how.allow_html, how.crew_key) != (self._early.allow_html, self._early.crew_key):  # converted for other settings
                self.done = {}
        missing: list[tuple[bytes, content.RawArticle, Conversion]] = []
        count = 0
        for raw in articles:
            count += 1
            if (raw.digest, allow_html) in self.done:
                continue
            body_key = how.body_key(raw.digest)
            outline = self.outlines.get(body_key)
            if not isinstance(outline, Outline):
                outline = None
                found = self.store.get("bodies", body_key)
                if isinstance(found, markup.Converted):
                    outline = Outline.of(found)
            else:
                self.store.keep("bodies", body_key)
            if outline is None:
                missing.append((body_key, raw.place(), how))
            else:
                self._hand_out(body_key, raw, how, outline)
        progress.phase("converting", count, count - len(missing))
        # workers get each file's place and digest, and read the text themselves
        jobs = [(str(self.source), place, allow_html, crew) for _, place, _ in missing]
        for tag, result in zip(missing, parallel.run(jobs, self.workers, parallel.convert_file)):
            self._take(tag, result)
            progress.advance()
        self.outlines.save()  # for the next build, written on success

    def _hand_out(self, body_key: bytes, raw: content.RawArticle, how: Conversion, outline: Outline) -> None:
        """Answer for an article's body with its outline and where its HTML is: no text is kept."""
        self.outlines.add(body_key, outline)
        self.done[(raw.digest, how.allow_html)] = _kept(self.store, self.source, body_key, raw, how, outline)

    def result(self, raw: content.RawArticle, allow_html: bool = True, crew: Any = markup.NO_CREW) -> markup.Converted:
        """The converted body of an article; RecursionError when it is nested too deeply to convert."""
        if (raw.digest, allow_html) not in self.done:
            return markup.convert(content.body_text(self.source, raw), allow_html, crew)
        converted = self.done[(raw.digest, allow_html)]
        if converted is None:
            raise RecursionError("nested too deeply to convert")
        return converted


def _kept(store: Store, source: Path, body_key: bytes, raw: content.RawArticle, how: Conversion, outline: Outline) -> markup.Converted:
    """A converted body whose HTML is in the cache: its outline, and a way to fetch the HTML."""
    html = bodies.Html(digest=body_key.hex(), images=outline.images,
                       fetch=functools.partial(_fetch, store, source, body_key, raw.place().without_body(), how))
    return markup.Converted(html, outline.toc, outline.words, outline.mentions, outline.refs)


def _fetch(store: Store, source: Path, body_key: bytes, place: content.RawArticle, how: Conversion) -> str:
    """A body's HTML from the cache; when its entry is gone or damaged, the article is read and converted again."""
    found = store.get("bodies", body_key)
    if not isinstance(found, markup.Converted):
        found = markup.convert(content.body_text(source, place), how.allow_html, how.crew)
        store.put("bodies", body_key, found)
    return str(found.html)


def convert_all(store: Store, source: Path, raws: Iterable[content.RawArticle], how: Conversion,
                workers: int = 0) -> dict[str, markup.Converted | None]:
    """Convert these articles' bodies (in worker processes when there are many), keep their HTML
    in the cache, and answer by body digest with each outline and a way to fetch its HTML; None
    for a body nested too deeply to convert."""
    done: dict[str, markup.Converted | None] = {}
    missing: list[tuple[bytes, content.RawArticle]] = []
    for raw in raws:
        body_key = how.body_key(raw.digest)
        found = store.get("bodies", body_key)
        if isinstance(found, markup.Converted):
            done[raw.digest] = _kept(store, source, body_key, raw, how, Outline.of(found))
        elif raw.digest not in done:
            done[raw.digest] = None
            missing.append((body_key, raw.place()))
    jobs = [(str(source), place, how.allow_html, how.crew) for _, place in missing]
    for (body_key, raw), result in zip(missing, parallel.run(jobs, workers, parallel.convert_file)):
        if result == parallel.CHANGED:
            raise content.changed(raw.source)
        if result is not None:
            store.put("bodies", body_key, result, now=True)
            done[raw.digest] = _kept(store, source, body_key, raw, how, Outline.of(result))
    return done


RACY_NS = 2_000_000_000
"""A file changed this close to when it was hashed may change again without its time changing."""


class Signature(NamedTuple):
    """What tells a file changed without reading it: its size, times, inode and mode."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    mode: int


def _signature(path: Path | str, st: os.stat_result | None = None) -> Signature | None:
    """The signature of a file (from `st` when already known); None when it cannot be read."""
    if st is None:
        try:
            st = os.stat(path)
        except OSError:
            return None
    return Signature(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)


class Hashed(NamedTuple):
    """A file's digest, with its signature then and when it was read."""

    signature: Signature | None
    digest: bytes
    hashed_at: int


class Hashes:
    """Content digests of source files, reusing the last build's for files whose size, times and
    inode are the same, as git does: a file is read only when it changed. A file whose times were
    within RACY_NS of being hashed is always read again."""

    def __init__(self, previous: dict[str, Hashed]):
        self.previous = previous
        self.current: dict[str, Hashed] = {}

    def of(self, path: str, found: os.stat_result | None = None) -> tuple[bytes, Signature | None]:
        """Return (digest, signature) of a file (`found`: its stat, when known); digest of b"" with
        signature None when unreadable."""
        if path in self.current:  # read already by this build
            return self.current[path].digest, self.current[path].signature
        signature = _signature(path, found)
        old = self.previous.get(path)
        if old is not None and signature is not None and old.signature == signature \
                and max(signature.mtime_ns, signature.ctime_ns) < old.hashed_at - RACY_NS:
            self.current[path] = old
            return old.digest, signature
        hashed_at = time.time_ns()
        try:
            with open(path, "rb") as f:
                digest = hashlib.blake2b(f.read(), digest_size=DIGEST).digest()
        except OSError:
            return b"unreadable", None
        self.current[path] = Hashed(signature, digest, hashed_at)
        return digest, signature


def _digest_tree(h: "hashlib._Hash", folder: Path, hashes: Hashes, shape: "hashlib._Hash") -> None:
    """Feed every file under a folder (following links, once each) into a digest; `shape` gets
    the same without the files' contents: which files and folders there are, and where links point."""
    seen: set[str] = set()
    start = len(str(folder)) + 1
    for where, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(where)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in dirs:  # folders too, and where links point: a link loop or escape is an error to report
            path = os.path.join(where, name)
            part = b"dir:" + path[start:].encode("utf-8", "surrogateescape") + b"\0"
            if os.path.islink(path):
                part += b"link:" + os.fsencode(os.readlink(path)) + b"\0"
            h.update(part)
            shape.update(part)
        for name in sorted(names):
            path = os.path.join(where, name)
            part = path[start:].encode("utf-8", "surrogateescape") + b"\0"
            try:
                found = os.lstat(path)
                if stat.S_ISLNK(found.st_mode):
                    part += b"link:" + os.fsencode(os.readlink(path)) + b"\0"
                    found = os.stat(path)
            except OSError:
                found = None
            h.update(part)
            shape.update(part)
            if found is None:
                h.update(b"unreadable")
                shape.update(b"unreadable")
            elif not stat.S_ISREG(found.st_mode):  # a pipe or device is never read
                h.update(b"special")
                shape.update(b"special")
            else:
                h.update(hashes.of(path, found)[0])


def inputs_digest(settings: Settings, folders: Iterable[Path], hashes: Hashes | None = None) -> tuple[bytes, bytes]:
    """Digest everything a build reads: the settings and every file of its folders; and their shape
    (the same without file contents), which tells edits of files from files added, removed or moved."""
    hashes = hashes or Hashes({})
    h = hashlib.blake2b(generator_digest(), digest_size=DIGEST)
    h.update(repr((settings.base_url, settings.drafts, settings.max_article_bytes, settings.future)).encode())
    shape = h.copy()
    for folder in folders:
        part = b"folder:" + str(folder).encode("utf-8", "surrogateescape") + b"\0"
        h.update(part)
        shape.update(part)
        if folder.is_dir():
            _digest_tree(h, folder, hashes, shape)
    return h.digest(), shape.digest()


class Rebuild:
    """What a command-line build carries over from the last build into the same output folder.

    It remembers each page's fingerprint (deps.Inputs: templates, context and globals it reads)
    and the size and time of every file the build left in the output. When nothing the build
    reads changed and the output is exactly as that build left it, the build is skipped whole
    (`unchanged`); otherwise only pages whose fingerprint changed are rendered, and the others'
    files are kept, unless their size or time differs from what that build wrote (a file changed
    by anything else is rendered again).
    """

    def __init__(self, store: Store, settings: Settings, folders: Iterable[Path]):
        self.store = store
        self.output = settings.output.absolute()
        self.key = hashlib.blake2b(str(self.output).encode(), digest_size=DIGEST).digest()
        self.spare = store.folder / "spare" / self.key.hex()
        """The output before last, where the next build is staged (write.Transaction `spare`)."""
        found = store.get("pages", self.key)
        previous = found if isinstance(found, BuildRecord) else BuildRecord()
        self.previous: dict[str, Written] = previous.pages
        self.previous_files: dict[str, Stamp] = previous.files
        self.previous_inputs = previous.inputs
        self.previous_shape = previous.shape
        self.counts: tuple[int, int] = previous.counts
        """Pages and other files of the last build, for the summary of a skipped one."""
        self.delta: dict[str, Any] = previous.delta
        """What the last build left for a rebuild after body edits (delta.py)."""
        self.schedule: tuple[int, dt.datetime | None] = previous.schedule
        """How many articles the last build held back as dated after it, and when the first is due."""
        self.hashes = Hashes(previous.hashes)
        self._intact: bool | None = None
        self._child: int | None = None
        self._walker = self._walk_meanwhile()
        self.inputs, self.shape = inputs_digest(settings, folders, self.hashes)
        self.prints: dict[str, str] = {}
        self.rendered: list[str] = []

    def output_intact(self) -> bool:
        """Tell whether the output is still exactly as the last build left it."""
        if self._intact is None:
            self._intact = self._walker() if self._walker else self._as_recorded()
            self._walker = None
        return self._intact

    def _as_recorded(self) -> bool:
        return bool(self.previous_files) and _stamps(self.output) == self.previous_files

    def _walk_meanwhile(self) -> Callable[[], bool] | None:
        """Start comparing the output with the record in a forked process, which walks the output
        on another core while this one digests the sources; return what waits for its answer.
        None in a process running other threads (a session) or without fork: the walk then
        happens when it is asked for."""
        if not self.previous_files or threading.active_count() > 1 or not hasattr(os, "fork"):
            return None
        read, written = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child answers one byte and leaves without unwinding the parent's state
            status = 1
            try:
                os.close(read)
                os.write(written, b"1" if self._as_recorded() else b"0")
                status = 0
            finally:
                os._exit(status)
        os.close(written)
        self._child = pid

        def answer() -> bool:
            with os.fdopen(read, "rb") as f:
                data = f.read()
            os.waitpid(pid, 0)
            self._child = None
            return data == b"1"

        return answer

    def settle(self) -> None:
        """Stop the walk when its answer is no longer wanted (the full build runs)."""
        if self._child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._child, signal.SIGKILL)
            self.output_intact()

    def on_schedule(self) -> bool:
        """Tell whether no article the last build held back has come due since: the same sources
        then make the same site."""
        due = self.schedule[1]
        return due is None or dt.datetime.now(dt.timezone.utc) < due

    def unchanged(self) -> bool:
        """Tell whether the last build read the same inputs, no scheduled article has come due, and
        its output is still exactly as it left it."""
        return self.inputs == self.previous_inputs and self.on_schedule() and self.output_intact()

    def edited(self) -> list[str] | None:
        """The files whose contents alone changed since the last build (absolute paths, sorted);
        None when files or folders were added, removed or moved, or the settings or generator changed."""
        if self.shape != self.previous_shape or self.previous_inputs is None:
            return None
        return sorted(path for path, hashed in self.hashes.current.items()
                      if path not in self.hashes.previous or self.hashes.previous[path].digest != hashed.digest)

    def stale(self, inputs: Any, pages: Iterable[Page], tx, render: Callable[[str], bool] = lambda path: False) -> Iterator[Page]:
        """Yield the pages to render, and those `render` asks for; keep the others' files through `tx.keep`."""
        for page in pages:
            fingerprint = inputs.fingerprint(page)
            old = self.previous.get(page.path)
            if fingerprint is not None:
                self.prints[page.path] = fingerprint
                if old is not None and old.fingerprint == fingerprint and _stamp(self.output / page.path) == old.stamp \
                        and not render(page.path) and tx.keep(page.path):
                    continue
            self.rendered.append(page.path)
            yield page

    def commit(self, counts: tuple[int, int], delta: dict[str, Any], schedule: tuple[int, dt.datetime | None] = (0, None)) -> None:
        """Once the output is committed: remember what it holds, drop cache entries this build did not use."""
        files = _stamps(self.output)
        pages = {rel: Written(fingerprint, files[rel]) for rel, fingerprint in self.prints.items() if rel in files}
        self.save(pages, files, counts, delta, schedule)
        for kind in ("articles", "bodies", "outlines", "cards"):
            if kind in self.store.used:
                self.store.prune(kind, self.store.used[kind])

    def save(self, pages: dict[str, Written], files: dict[str, Stamp], counts: tuple[int, int], delta: dict[str, Any],
             schedule: tuple[int, dt.datetime | None]) -> None:
        """Record what the output holds now, with everything the next build compares against."""
        self.store.put("pages", self.key, BuildRecord(self.inputs, self.shape, pages, files, counts, self.hashes.current,
                                                      delta, schedule))
        self.store.flush()


class Stamp(NamedTuple):
    """Size and modification time of a file of the output (-1 and the mode for what is not a file)."""

    size: int
    mtime_ns: int


class Written(NamedTuple):
    """A page as the last build left it: its fingerprint (deps.Inputs) and its file's stamp."""

    fingerprint: str
    stamp: Stamp


@dataclasses.dataclass(frozen=True)
class BuildRecord:
    """What a command-line build leaves for the next one into the same output folder."""

    inputs: bytes | None = None
    """Digest of everything the build read (inputs_digest)."""
    shape: bytes | None = None
    """The same without file contents: which files and folders there were."""
    pages: dict[str, Written] = dataclasses.field(default_factory=dict)
    files: dict[str, Stamp] = dataclasses.field(default_factory=dict)
    """Every file of the output as that build left it."""
    counts: tuple[int, int] = (0, 0)
    """Pages and other files, for the summary of a build skipped whole."""
    hashes: dict[str, Hashed] = dataclasses.field(default_factory=dict)
    delta: dict[str, Any] = dataclasses.field(default_factory=dict)
    """What the body-edit rebuild reads (delta.py)."""
    schedule: tuple[int, dt.datetime | None] = (0, None)
    """How many articles the build held back as dated after it, and when the first is due."""


def _stamp(path: Path) -> Stamp | None:
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return None
    return Stamp(st.st_size, st.st_mtime_ns)


def _stamps(folder: Path) -> dict[str, Stamp]:
    """Size and modification time of every file under a folder, by relative path (links not followed)."""
    found: dict[str, Stamp] = {}
    for rel, entry in write.files_under(folder):
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        found[rel] = Stamp(st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else Stamp(-1, st.st_mode)
    return found
