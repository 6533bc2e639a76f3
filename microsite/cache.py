"""The persistent build cache beside the output: parsed articles, converted Markdown, written pages.

A build from the command line keeps, in `.microsite-cache/` beside the output folder:
- each article's parsed front matter, by the hash of its bytes, so an unchanged file is not parsed;
- each converted body, by the hash of its text (and the settings and crew data conversion uses),
  so Markdown is converted once per version of a text, a template edit converts nothing, and a
  cold build converts in worker processes;
- a digest of everything the build reads, with the size and time of every page it wrote: when the
  digest is the same, no page is rendered and no file rewritten.

Every entry carries a checksum: a damaged one is deleted and rebuilt, never used. Keys include a
digest of the generator's code and library versions. Deleting the folder is always safe.
"""

from __future__ import annotations

import copyreg
import functools
import hashlib
import importlib.metadata
import io
import os
import pickle
import stat
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator

from . import content, markup, parallel, write
from .model import Page, Settings

FOLDER = ".microsite-cache"
"""Name of the cache folder, created beside the output folder."""
MAGIC = b"mscache2"
DIGEST = 16
LIBRARIES = ("markdown", "pygments", "jinja2", "markupsafe", "pyyaml", "python-slugify", "pillow", "pagefind", "pagefind-bin", "tzdata")


@functools.lru_cache(maxsize=1)
def generator_digest() -> bytes:
    """Digest the generator's code and the versions of the libraries that shape its output."""
    h = hashlib.blake2b(digest_size=DIGEST)
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for name in LIBRARIES:
        try:
            h.update(f"{name}={importlib.metadata.version(name)}\0".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{name}=?\0".encode())
    return h.digest()


def _key(*parts: bytes | str) -> bytes:
    h = hashlib.blake2b(generator_digest(), digest_size=DIGEST)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(b"%d:" % len(data) + data)
    return h.digest()


def _read_only(mapping: dict) -> MappingProxyType:
    return MappingProxyType(mapping)


_DISPATCH = copyreg.dispatch_table.copy()
_DISPATCH[MappingProxyType] = lambda proxy: (_read_only, (dict(proxy),))
"""Read-only mappings (front-matter extras) are stored as the dicts they wrap."""


class Store:
    """A folder of checksummed pickles; a missing or damaged entry reads as absent."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.used: dict[str, set[bytes]] = {}
        """Keys this build read or wrote, by kind: what `prune` keeps."""
        self.pending: dict[tuple[str, bytes], Any] = {}
        """Entries to write once the build has succeeded: a failed build leaves the disk as it was."""
        self._tagged = False

    @classmethod
    def beside(cls, output: Path) -> "Store":
        """The cache belonging to an output folder: a sibling, never inside what is published."""
        return cls(output.absolute().parent / FOLDER)

    def _path(self, kind: str, key: bytes) -> str:
        name = key.hex()
        return os.path.join(self.folder, kind, name[:2], name)

    def get(self, kind: str, key: bytes) -> Any | None:
        """Return the value stored under `key`, or None when absent, truncated or damaged."""
        self.used.setdefault(kind, set()).add(key)
        if (kind, key) in self.pending:
            return self.pending[(kind, key)]
        path = self._path(kind, key)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        payload = data[len(MAGIC) + DIGEST:]
        if data[:len(MAGIC)] == MAGIC and data[len(MAGIC):len(MAGIC) + DIGEST] == hashlib.blake2b(payload, digest_size=DIGEST).digest():
            try:
                return pickle.loads(payload)
            except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, IndexError, KeyError, TypeError, ValueError):
                pass  # intact, but written by code whose classes have changed since: rebuild it
        try:
            os.unlink(path)
        except OSError:
            pass
        return None

    def put(self, kind: str, key: bytes, value: Any) -> None:
        """Store a value when the build succeeds (`flush`)."""
        self.used.setdefault(kind, set()).add(key)
        self.pending[(kind, key)] = value

    def flush(self) -> None:
        """Write the entries of a successful build."""
        for (kind, key), value in self.pending.items():
            self._write(kind, key, value)
        self.pending = {}

    def _write(self, kind: str, key: bytes, value: Any) -> None:
        """Store a value atomically: readers see the old entry or the new one, never half of one."""
        path = self._path(kind, key)
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = _DISPATCH
        pickler.dump(value)
        payload = buffer.getvalue()
        data = MAGIC + hashlib.blake2b(payload, digest_size=DIGEST).digest() + payload
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if not self._tagged and not (self.folder / "CACHEDIR.TAG").exists():
                (self.folder / "CACHEDIR.TAG").write_text(
                    "Signature: 8a477f597d28d172789f06886806bc55\n# microsite build cache; deleting it is safe.\n", encoding="utf-8")
            folder, name = os.path.split(path)
            temp = os.path.join(folder, f".{name}.{os.getpid()}")
            with open(temp, "wb") as f:
                f.write(data)
            os.replace(temp, path)
            self._tagged = True
        except OSError:
            pass  # a cache that cannot be written only makes the next build slower

    def prune(self, kind: str, keep: Iterable[bytes]) -> None:
        """Delete entries of one kind not in `keep`, so the cache does not grow with every edit."""
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


class Articles:
    """Parses each article file once per version of its bytes (what `content.read_sources` asks of a memo)."""

    def __init__(self, store: Store, hashes: "Hashes | None" = None):
        self.store = store
        self.hashes = hashes or Hashes({})

    def read(self, path: Path, rel: str, limit: int, reader: Callable[[Path, str, int], Any]) -> Any:
        digest, signature = self.hashes.of(str(path))
        key = _key("article", rel, str(limit), digest)
        raw = self.store.get("articles", key)
        if isinstance(raw, content.RawArticle):
            return raw
        raw = reader(path, rel, limit)
        if _signature(path) == signature:  # not saved again meanwhile
            self.store.put("articles", key, raw)
        return raw


class Converter:
    """Converts article bodies as `markup.convert` does: each distinct text once, kept on disk, and
    the ones not kept yet converted together in worker processes (`prepare`)."""

    def __init__(self, store: Store, workers: int = 0):
        self.store = store
        self.workers = workers
        self.done: dict[tuple[str, bool], markup.Converted | None] = {}

    def prepare(self, texts: Iterable[str], allow_html: bool, crew: Any) -> None:
        """Fetch or convert every text before the build asks for them one by one."""
        crew_key = hashlib.blake2b(pickle.dumps(crew, protocol=4), digest_size=DIGEST).digest()
        missing: list[tuple[bytes, str]] = []
        for text in dict.fromkeys(texts):
            key = _key("body", str(allow_html), crew_key, text)
            found = self.store.get("bodies", key)
            if isinstance(found, markup.Converted):
                self.done[(text, allow_html)] = found
            else:
                missing.append((key, text))
        jobs = [(text, allow_html, crew) for _, text in missing]
        for (key, text), result in zip(missing, parallel.run(jobs, self.workers)):
            self.done[(text, allow_html)] = result
            if result is not None:
                self.store.put("bodies", key, result)

    def __call__(self, text: str, allow_html: bool = True, crew: Any = markup.NO_CREW) -> markup.Converted:
        if (text, allow_html) not in self.done:
            return markup.convert(text, allow_html, crew)
        converted = self.done[(text, allow_html)]
        if converted is None:
            raise RecursionError("nested too deeply to convert")
        return converted


RACY_NS = 2_000_000_000
"""A file changed this close to when it was hashed may change again without its time changing."""


def _signature(path: Path | str) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)


class Hashes:
    """Content digests of source files, reusing the last build's for files whose size, times and
    inode are the same, as git does: a file is read only when it changed. A file whose times were
    within RACY_NS of being hashed is always read again."""

    def __init__(self, previous: dict[str, tuple]):
        self.previous = previous
        self.current: dict[str, tuple] = {}

    def of(self, path: str) -> tuple[bytes, tuple[int, ...] | None]:
        """Return (digest, signature) of a file; digest of b"" with signature None when unreadable."""
        if path in self.current:  # read already by this build
            return self.current[path][1], self.current[path][0]
        signature = _signature(path)
        old = self.previous.get(path)
        if old is not None and signature is not None and old[0] == signature \
                and max(signature[1], signature[2]) < old[2] - RACY_NS:
            self.current[path] = old
            return old[1], signature
        hashed_at = time.time_ns()
        try:
            with open(path, "rb") as f:
                digest = hashlib.blake2b(f.read(), digest_size=DIGEST).digest()
        except OSError:
            return b"unreadable", None
        self.current[path] = (signature, digest, hashed_at)
        return digest, signature


def _digest_tree(h: "hashlib._Hash", folder: Path, hashes: Hashes) -> None:
    """Feed every file under a folder (following links, once each) into a digest."""
    seen: set[str] = set()
    for where, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(where)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in dirs:  # folders too, and where links point: a link loop or escape is an error to report
            path = os.path.join(where, name)
            h.update(b"dir:" + os.path.relpath(path, folder).encode("utf-8", "surrogateescape") + b"\0")
            if os.path.islink(path):
                h.update(b"link:" + os.fsencode(os.readlink(path)) + b"\0")
        for name in sorted(names):
            path = os.path.join(where, name)
            h.update(os.path.relpath(path, folder).encode("utf-8", "surrogateescape") + b"\0")
            if os.path.islink(path):
                h.update(b"link:" + os.fsencode(os.readlink(path)) + b"\0")
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):  # a pipe or device is never read
                    h.update(b"special")
                    continue
            except OSError:
                h.update(b"unreadable")
                continue
            h.update(hashes.of(path)[0])


def inputs_digest(settings: Settings, folders: Iterable[Path], hashes: Hashes | None = None) -> bytes:
    """Digest everything a build reads: the settings and every file of its folders."""
    hashes = hashes or Hashes({})
    h = hashlib.blake2b(generator_digest(), digest_size=DIGEST)
    h.update(repr((settings.base_url, settings.drafts, settings.max_article_bytes)).encode())
    for folder in folders:
        h.update(b"folder:" + str(folder).encode("utf-8", "surrogateescape") + b"\0")
        if folder.is_dir():
            _digest_tree(h, folder, hashes)
    return h.digest()


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
        previous = store.get("pages", self.key)
        valid = isinstance(previous, dict) and previous.get("version") == 3
        self.previous: dict[str, tuple[str, int, int]] = previous["pages"] if valid else {}
        self.previous_files: dict[str, tuple[int, int]] = previous["files"] if valid else {}
        self.previous_inputs = previous["inputs"] if valid else None
        self.counts: tuple[int, int] = previous["counts"] if valid else (0, 0)
        """Pages and other files of the last build, for the summary of a skipped one."""
        self.hashes = Hashes(previous["hashes"] if valid else {})
        self.inputs = inputs_digest(settings, folders, self.hashes)
        self.prints: dict[str, str] = {}
        self.rendered: list[str] = []

    def unchanged(self) -> bool:
        """Tell whether the last build read the same inputs and its output is still exactly as it left it."""
        if self.inputs != self.previous_inputs or not self.previous_files:
            return False
        return _stamps(self.output) == self.previous_files

    def stale(self, inputs: Any, pages: Iterable[Page], tx) -> Iterator[Page]:
        """Yield the pages to render; keep the others' files through `tx.keep`."""
        for page in pages:
            fingerprint = inputs.fingerprint(page)
            old = self.previous.get(page.path)
            if fingerprint is not None:
                self.prints[page.path] = fingerprint
                if old is not None and old[0] == fingerprint and _stamp(self.output / page.path) == old[1:] and tx.keep(page.path):
                    continue
            self.rendered.append(page.path)
            yield page

    def commit(self, counts: tuple[int, int]) -> None:
        """Once the output is committed: remember what it holds, drop cache entries this build did not use."""
        files = _stamps(self.output)
        pages = {rel: (fingerprint, *files[rel]) for rel, fingerprint in self.prints.items() if rel in files}
        self.store.put("pages", self.key, {"version": 3, "inputs": self.inputs, "pages": pages,
                                           "files": files, "counts": counts, "hashes": self.hashes.current})
        self.store.flush()
        for kind in ("articles", "bodies"):
            if kind in self.store.used:
                self.store.prune(kind, self.store.used[kind])


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return None
    return (st.st_size, st.st_mtime_ns)


def _stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under a folder, by relative path (links not followed)."""
    found: dict[str, tuple[int, int]] = {}
    for rel, entry in write.files_under(folder):
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        found[rel] = (st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else (-1, st.st_mode)
    return found
