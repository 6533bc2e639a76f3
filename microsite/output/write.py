"""The only writer: builds the new site in a staging folder beside the output, then swaps it in.

An output folder that no rename can replace (a mount point: a Docker or CI volume) is built in a
hidden staging folder inside it instead, and its files are then replaced one by one, each by a
rename, in an order that keeps every live page's links working (`Transaction`, `_rank`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import functools
import os
import re
import shutil
import stat
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator
from urllib.parse import unquote

from ..errors import UsageError

MARKER = ".microsite-output"
"""File the generator leaves in every output folder it made; without it a folder is never replaced."""

STAGING = ".microsite-staging"
"""Hidden folder inside the output where a build into a mount point, and a patch, stage their files:
on the output's file system, never published, removed when done and by the next build when killed."""
UNSWAPPABLE = frozenset({errno.EBUSY, errno.EXDEV, errno.EPERM})
"""Errors of renaming the output folder away that mean it cannot be swapped, only changed in place."""

PROTECTED = {".git", ".hg", ".svn", "content", "templates", "pyproject.toml", "build.py"}
RESERVED_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))})
"""Device names Windows will not use as file names, with any extension."""


def check_output_folder(output: Path, source: Path) -> None:
    """Refuse an output folder whose replacement would destroy something the generator did not make."""
    output, source = output.resolve(), source.resolve()
    if output == source or source.is_relative_to(output):
        raise UsageError(f"refusing to use {output} as output: it contains the source folder {source}")
    for inner in ("content", "templates", "static"):
        if output.is_relative_to(source / inner):
            raise UsageError(f"refusing to use {output} as output: it lies inside the source's {inner}/ folder")
    if output.exists() and not output.is_dir():
        raise UsageError(f"refusing to use {output} as output: it is a file, not a folder")
    if not output.is_dir():
        return
    found = sorted(p.name for p in output.iterdir() if p.name in PROTECTED)
    if found or (any(p.name != STAGING for p in output.iterdir()) and not (output / MARKER).is_file()):
        why = f"it holds {', '.join(found)}" if found else "it holds files this generator did not write"
        raise UsageError(f"refusing to replace {output}: {why}; choose an empty or new folder")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_relative(rel: str) -> PurePosixPath:
    """Check an output path: relative, no `..` (also percent-encoded), no NUL or other control
    character, no backslash or drive letter, no trailing dot or space, no reserved device name, so
    every file system and web server reads it as the same path inside the output folder."""
    return PurePosixPath(_checked(rel))


def _checked(rel: str) -> str:
    """`safe_relative` as a string, which is then already in its one normal form."""
    if not rel or rel.startswith("/") or ":" in rel:
        raise ValueError(f"unsafe output path {rel!r}")
    for part in rel.split("/"):
        plain = unquote(unquote(part)) if "%" in part else part
        if plain in ("", ".", "..") or "/" in plain or "\\" in plain or _CONTROL.search(plain) \
                or plain.endswith((" ", ".")) or plain.split(".")[0].strip().lower() in RESERVED_NAMES:
            raise ValueError(f"unsafe output path {rel!r}")
    return rel


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two folders with renameat2(RENAME_EXCHANGE) where the kernel offers it."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


@functools.cache
def _renameat2() -> Any:
    """The C library's renameat2, or None; found once (finding the library runs `ldconfig`)."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    return getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None)


def _mount_point(folder: Path) -> bool:
    """Tell whether a folder is a mount point, which no rename can move or replace: also a bind
    mount of a folder of the same file system, which `os.path.ismount` does not see."""
    try:
        if os.path.ismount(folder):
            return True
        with open("/proc/self/mountinfo", "rb") as f:
            table = f.read()
    except OSError:
        return False
    path = os.fsencode(os.path.realpath(folder))
    unescape = lambda m: bytes([int(m.group(1), 8)])  # noqa: E731
    for line in table.splitlines():
        fields = line.split(b" ")
        if len(fields) > 4 and re.sub(rb"\\([0-7]{3})", unescape, fields[4]) == path:
            return True
    return False


class BuildLock:
    """An exclusive lock beside the output folder, so two builds never write the same output.

    The lock is `flock` on `.NAME.lock`, released by the kernel when the process ends however it
    ends; the file is removed on release, and a lock file swapped away under a waiting build is
    noticed by comparing inodes.
    """

    def __init__(self, output: Path):
        self.output = output
        self.path = output.parent / f".{output.name}.lock"
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise UsageError naming the build that holds it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise UsageError(f"another build (process {holder}) is writing {self.output}; "
                                 f"wait for it to finish, then build again") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                self.fd = fd
                return
            os.close(fd)

    @classmethod
    @contextlib.contextmanager
    def held(cls, output: Path) -> Iterator[None]:
        """Hold the lock of an output folder for a block that only reads it."""
        output = output.absolute()
        lock = cls(output.resolve() if output.is_symlink() else output)
        if not lock.path.parent.is_dir():
            yield
            return
        lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def release(self) -> None:
        """Remove the lock file and drop the lock."""
        if self.fd is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            os.close(self.fd)
            self.fd = None


def _leftovers(output: Path) -> list[Path]:
    """Staging and previous folders that a killed build of this output left behind.

    A `.spare` folder is a watch or serve session's next staging folder; it is left alone while
    the session's process lives.
    """
    pattern = re.compile(rf"\.{re.escape(output.name)}\.(staging|previous)-([0-9]+)(\.spare)?$")
    found = []
    for path in output.parent.iterdir():
        match = pattern.match(path.name)
        if match and path.is_dir() and not path.is_symlink():
            if match.group(3) and _alive(int(match.group(2))):
                continue
            found.append(path)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(output: Path) -> None:
    """Undo what a build killed mid-way left: bring back an output moved aside, drop stale staging
    beside the output and inside it. An output replaced file by file and killed half-way holds
    whole files of both builds; the build that recovers it then replaces and removes the rest.

    Called with the lock held, so no living build owns these folders.
    """
    if not output.parent.is_dir():
        return
    for folder in _leftovers(output):
        if ".previous-" in folder.name and not output.exists() and (folder / MARKER).is_file():
            os.rename(folder, output)
        else:
            shutil.rmtree(folder)
    _clear(output / STAGING)


def _clear(path: Path) -> None:
    """Remove a staging folder, or whatever else took its name."""
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def spare_folder(output: Path) -> Path:
    """Where a reusing transaction keeps the output it swapped out, to build the next one in."""
    output = output.absolute()
    return output.parent / f".{output.name}.staging-{os.getpid()}.spare"


def discard_spare(output: Path) -> None:
    """Remove the kept folder when a session of rebuilds ends."""
    shutil.rmtree(spare_folder(output), ignore_errors=True)


def files_under(folder: Path) -> Iterator[tuple[str, os.DirEntry]]:
    """Every file under a folder (links included, not followed) with its relative path."""
    def walk(path: str, prefix: str) -> Iterator[tuple[str, os.DirEntry]]:
        try:
            entries = list(os.scandir(path))
        except OSError:
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from walk(entry.path, f"{prefix}{entry.name}/")
            else:
                yield prefix + entry.name, entry

    return walk(str(folder), "")


def _files(folder: Path) -> set[str]:
    return {rel for rel, _ in files_under(folder)}


def replace_file(output: Path, rel: str, data: bytes) -> bool:
    """Replace one file of the live output at once (watch mode's early page); False when it already
    held these bytes. Readers see the old file or the new one, never part of one; the output folder
    before last, kept to stage the next build in, does not share the new file."""
    output = output.absolute()
    with BuildLock.held(output):
        if not (output / MARKER).is_file():
            raise ValueError(f"output path {rel!r} is not in a finished output folder")
        return bool(patch(output, {rel: data}, ()))


class Patch:
    """Replace and remove a few files of a finished output in place, with the build lock held (a
    session's rebuild of a few pages, a command-line rebuild after body edits).

    Each new file is written beside its target as it comes (`write`), and on `commit` all are
    renamed over their targets in the order of `_rank`, then the removals are made: readers see
    each file whole, old or new, and a new page is in place before the pages that link to it. A
    build stopped half-way leaves whole files only, which the next build finds differing from its
    record and builds again. A file that already holds its bytes is left alone and keeps its time.
    Folders are made for new files, and those left empty by removals go."""

    def __init__(self, output: Path):
        self.output = output.absolute()
        self.staged: list[tuple[int, str, str, str]] = []
        """(rank, temporary file, target, output path) of each file to replace."""
        self.placed = 0
        self.made: list[str] = []
        """Folders made for new files, removed again if the patch fails."""
        self.removes: list[str] = []

    def __enter__(self) -> "Patch":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None:
            self.abort()

    def _target(self, rel: str) -> str:
        """The path of an output file, its folders made where missing and checked to be folders."""
        folder, _, name = _checked(rel).rpartition("/")
        parent = str(self.output)
        for part in folder.split("/") if folder else ():
            parent = os.path.join(parent, part)
            try:
                found = os.lstat(parent).st_mode
            except FileNotFoundError:
                os.mkdir(parent)
                self.made.append(parent)
                continue
            if not stat.S_ISDIR(found):
                raise ValueError(f"output path {rel!r} does not lie in a folder of the output")
        return os.path.join(parent, name)

    def write(self, rel: str, data: bytes) -> None:
        """Stage one file's new bytes."""
        target = self._target(rel)
        try:
            if os.lstat(target).st_size == len(data) and _read(target) == data:
                return
            new = False
        except FileNotFoundError:
            new = True
        folder, name = os.path.split(target)
        temp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
        with open(temp, "wb") as f:
            f.write(data)
        self.staged.append((_rank(rel, new), temp, target, rel))

    def place(self, rel: str, path: Path) -> None:
        """Stage a file made elsewhere on the same file system, moved into place on `commit`
        unless the output already holds its bytes (each file is read in turn, never all at once)."""
        target = self._target(rel)
        size = os.stat(path).st_size
        try:
            if os.lstat(target).st_size == size and _read(target) == _read(str(path)):
                return
            new = False
        except FileNotFoundError:
            new = True
        self.staged.append((_rank(rel, new), str(path), target, rel))

    def remove(self, rel: str) -> None:
        """Remove one file on `commit`."""
        self.removes.append(_checked(rel))

    def commit(self) -> list[str]:
        """Put every staged file in place and make the removals; return the paths whose bytes changed."""
        self.staged.sort()
        for _, temp, target, _ in self.staged:
            os.replace(temp, target)
            self.placed += 1
        emptied: set[str] = set()
        for rel in self.removes:
            try:
                os.unlink(os.path.join(self.output, rel))
            except FileNotFoundError:
                pass
            parts = rel.split("/")
            emptied.update("/".join(parts[:end]) for end in range(1, len(parts)))
        for folder in sorted(emptied, key=lambda f: f.count("/"), reverse=True):
            with contextlib.suppress(OSError):  # not empty: something else lives there
                os.rmdir(os.path.join(self.output, folder))
        return [rel for _, _, _, rel in self.staged]

    def abort(self) -> None:
        """Drop what is staged and not in place yet."""
        for _, temp, _, _ in self.staged[self.placed:]:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        for folder in reversed(self.made):
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def patch(output: Path, writes: dict[str, bytes | Path], removes: Iterable[str]) -> list[str]:
    """Replace and remove files of a finished output in place (`Patch`), each given as its bytes
    or as a file to move into place; return the paths whose bytes changed."""
    with Patch(output) as batch:
        for rel, data in sorted(writes.items()):
            if isinstance(data, Path):
                batch.place(rel, data)
            else:
                batch.write(rel, data)
        for rel in removes:
            batch.remove(rel)
        return batch.commit()


def rename_in_place(output: Path, rel: str, names: dict[bytes, bytes]) -> bytes | None:
    """Put new fingerprinted names of static files into a finished page, as they appear in its
    bytes (old -> new, each pair of the same length), writing only those bytes in place: a
    stylesheet edit touches every page, and rewriting thousands of files whole takes seconds.
    Returns the page's new bytes, or None when it names none of them."""
    path = os.path.join(output.absolute(), _checked(rel))
    fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"output path {rel!r} is not a file")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read()
        changed = data
        for old, new in names.items():
            if len(old) != len(new):
                raise ValueError("a name is put in place of one of the same length only")
            start = data.find(old)
            while start >= 0:
                os.pwrite(fd, new, start)
                start = data.find(old, start + len(old))
            changed = changed.replace(old, new)
        return changed if changed != data else None
    finally:
        os.close(fd)


def _rank(rel: str, new: bool) -> int:
    """When a file goes live in a replacement file by file: the marker first (the folder is the
    generator's from the start), then what pages load (assets, images, the search index's data
    before the files that name it), then pages new to the site before the pages that may link to
    them, and feeds, the calendar and the sitemap, which list pages, last."""
    name = rel.rpartition("/")[2]
    if rel == MARKER:
        return 0
    if name.endswith(".html"):
        return 4 if new else 5
    if name.endswith((".xml", ".ics", ".txt")):
        return 6
    if name.endswith(".pf_meta"):
        return 2
    if name == "pagefind-entry.json":
        return 3
    return 1


def _made_folder(folders: dict[str, str], folder: str) -> str:
    """The path of a folder under the root `folders[""]`, made where missing, with `folders`
    remembering those made and checked. A checked path has no `..`, so only a link could lead out
    of the root: each part is found to be a real folder (a file or link in its place is removed)
    before anything is written in it."""
    path = folders.get(folder)
    if path is None:
        parent, _, name = folder.rpartition("/")
        path = os.path.join(_made_folder(folders, parent), name)
        try:
            found = os.lstat(path)
            if not stat.S_ISDIR(found.st_mode):
                os.unlink(path)
                os.mkdir(path)
        except FileNotFoundError:
            os.mkdir(path)
        folders[folder] = path
    return path


def _remove_files(root: Path, rels: Iterable[str]) -> None:
    """Remove files under a folder, and the folders their removal left empty."""
    emptied: set[str] = set()
    for rel in rels:
        try:
            os.unlink(os.path.join(root, rel))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
            continue  # gone already, or a folder now stands where the file was
        parts = rel.split("/")
        emptied.update("/".join(parts[:end]) for end in range(1, len(parts)))
    for folder in sorted(emptied, key=lambda f: f.count("/"), reverse=True):
        try:
            os.rmdir(os.path.join(root, folder))
        except OSError:
            pass


def published(output: Path) -> Iterator[tuple[str, os.DirEntry]]:
    """The files of an output folder that make the site, as `files_under` lists them: not the
    marker, nor a staging folder a killed build left inside it."""
    for rel, entry in files_under(output):
        if rel != MARKER and not rel.startswith(STAGING + "/"):
            yield rel, entry


class Transaction:
    """Collects the files of one build; `commit` makes them the output, `abort` leaves the old one.

    With `reuse`, the output swapped out is kept (as `spare_folder`, or in the folder `spare`) and
    the next build is staged in it: unchanged files and folders stay, so a rebuild touches only
    what changed instead of creating and deleting a whole tree. The output is still swapped in whole.

    An output folder that is a mount point is built `in_place`: staged in `STAGING` inside it (on
    its file system, unchanged files linked from the live output), then changed in place, file by
    file (`_replace_files`). The same happens when swapping the output fails because it cannot be
    moved (`UNSWAPPABLE`).
    """

    def __init__(self, output: Path, reuse: bool = False, spare: Path | None = None):
        output = output.absolute()
        self.output = output.resolve() if output.is_symlink() else output
        self.in_place = self.output.is_dir() and _mount_point(self.output)
        self.spare = spare if spare is not None else spare_folder(self.output) if reuse else None
        if self.in_place:
            self.staging = self.output / STAGING
        else:
            self.staging = self.output.parent / f".{self.output.name}.staging-{os.getpid()}"
        self.paths: set[str] = set()
        self.files: dict[str, str] = {}
        self.changed: list[str] = []
        self._folders: dict[str, str] = {}
        """Folders of the staging folder made and checked so far, by relative path."""
        self._leftover: set[str] = set()
        """Files of a reused folder that this build has not claimed (yet)."""
        self.lock = BuildLock(self.output)

    def __enter__(self) -> "Transaction":
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()
        try:
            recover(self.output)
            shutil.rmtree(self.staging, ignore_errors=True)
            if self.in_place and self.spare is not None:  # an output swapped out before the folder was mounted
                shutil.rmtree(self.spare, ignore_errors=True)
                self.spare = None
            if self.spare is not None and self.spare.is_dir() and not self.spare.is_symlink():
                os.rename(self.spare, self.staging)
                self._leftover = _files(self.staging) - {MARKER}
            else:
                self.staging.mkdir()
            self._folders = {"": str(self.staging)}
        except BaseException:
            self.lock.release()
            raise
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            if kind is None:
                self.commit()
            else:
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self.lock.release()

    def _target(self, rel: str) -> str:
        rel = _checked(rel)
        key = rel.lower()
        if key in self.paths:
            raise ValueError(f"two pages want the same output path {rel!r}")
        self.paths.add(key)
        self.files[key] = rel
        folder, _, name = rel.rpartition("/")
        self._leftover.discard(rel)
        return os.path.join(self._folder(folder), name)

    def _folder(self, folder: str) -> str:
        """The staging path of a folder, made where missing (a reused folder's file or link in its
        place is removed)."""
        return _made_folder(self._folders, folder)

    def _vacate(self, target: str) -> None:
        """Clear a path of a reused folder for a new file (never writing into a shared inode)."""
        if self.spare is None:
            return
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        except (IsADirectoryError, PermissionError):
            shutil.rmtree(target)

    def _holds(self, target: str, old: os.stat_result) -> bool:
        """Tell whether a reused folder already has the previous build's file at this path."""
        if self.spare is None:
            return False
        try:
            return os.path.samestat(os.lstat(target), old)
        except OSError:
            return False

    def _keep_old(self, rel: str, target: str, same) -> bool:
        """Reuse the previous build's file when its bytes are unchanged, keeping its timestamp:
        linked, or copied where the file system has no hard links."""
        old = os.path.join(self.output, rel)
        try:
            found = os.lstat(old)
            if stat.S_ISREG(found.st_mode) and same(old, found):
                if not self._holds(target, found):
                    self._vacate(target)
                    try:
                        os.link(old, target)
                    except OSError:
                        shutil.copy2(old, target)
                return True
        except OSError:
            pass
        return False

    def write(self, rel: str, data: bytes) -> None:
        """Add one file with the given bytes."""
        target = self._target(rel)
        if not self._keep_old(rel, target, lambda old, st: st.st_size == len(data) and _read(old) == data):
            self._vacate(target)
            with open(target, "wb") as f:
                f.write(data)
            self.changed.append(rel)

    def place(self, rel: str, path: str) -> None:
        """Add one file made by this build in a scratch folder on the same file system, moving it
        into place: a file written elsewhere first is not written a second time."""
        target = self._target(rel)
        size = os.stat(path).st_size
        if self._keep_old(rel, target, lambda old, st: st.st_size == size and _read(old) == _read(path)):
            os.unlink(path)
            return
        self._vacate(target)
        os.replace(path, target)
        self.changed.append(rel)

    def keep(self, rel: str) -> bool:
        """Carry the previous build's file over unread; False when there is none to carry."""
        target = self._target(rel)
        if self._keep_old(rel, target, lambda old, st: True):
            return True
        key = _checked(rel).lower()
        self.paths.discard(key)
        self.files.pop(key, None)
        return False

    def copy(self, rel: str, source: Path) -> None:
        """Add one file copied from `source`."""
        target = self._target(rel)
        size = source.stat().st_size
        if not self._keep_old(rel, target, lambda old, st: st.st_size == size and _read(old) == source.read_bytes()):
            self._vacate(target)
            shutil.copyfile(source, target)
            self.changed.append(rel)

    def removed(self) -> list[str]:
        """List files of the previous output that the new one no longer has."""
        if not self.output.is_dir():
            return []
        return sorted({rel for rel, _ in published(self.output)} - set(self.files.values()))

    def _drop_leftovers(self) -> None:
        """Remove what a reused folder held that this build did not write, and folders left empty."""
        _remove_files(self.staging, self._leftover)
        self._leftover = set()

    def _retire(self, old: Path) -> None:
        """Dispose of the output that was swapped out, or keep it to build the next one in."""
        if self.spare is None:
            shutil.rmtree(old)
            return
        shutil.rmtree(self.spare, ignore_errors=True)
        try:
            self.spare.parent.mkdir(parents=True, exist_ok=True)
            os.rename(old, self.spare)
        except OSError:  # the spare's folder is on another file system, or not writable
            shutil.rmtree(old)

    def commit(self) -> None:
        """Swap the staging folder in as the output, atomically where the system allows; change an
        output that cannot be swapped in place."""
        self._drop_leftovers()
        self._vacate(self.staging / MARKER)
        (self.staging / MARKER).write_text("This folder is generated by microsite and replaced on every build.\n", encoding="utf-8")
        if self.in_place:
            self._replace_files(self.staging)
            return
        if self.output.exists():
            if _exchange(self.staging, self.output):
                self._retire(self.staging)
                return
            previous = self.output.parent / f".{self.output.name}.previous-{os.getpid()}"
            try:
                os.rename(self.output, previous)
            except OSError as exc:
                if exc.errno not in UNSWAPPABLE:
                    raise
                self._replace_files(self.staging)
                shutil.rmtree(self.staging)
                return
            os.rename(self.staging, self.output)
            self._retire(previous)
        else:
            os.rename(self.staging, self.output)

    def _replace_files(self, staged: Path) -> None:
        """Make a complete staged build the output by renaming each changed file over the live one,
        in the order of `_rank`, then removing the files the build no longer has.

        Each live file is at every moment whole, old or new, and a file a live page links to goes
        only after every page is new: stopped at any point, the output serves a working site, and
        the next build finishes the change. Files staged on another file system (beside an output
        that could not be swapped) are copied into `STAGING` first; unchanged ones stay untouched."""
        inner = self.output / STAGING
        copied = staged != inner
        try:
            if copied:
                _clear(inner)
                os.mkdir(inner)
            moves: list[tuple[int, str, str]] = []
            for rel in {*self.files.values(), MARKER}:
                source = os.path.join(staged, rel)
                target = os.path.join(self.output, rel)
                try:
                    live = os.lstat(target)
                except (FileNotFoundError, NotADirectoryError):
                    live = None
                if live is not None and stat.S_ISREG(live.st_mode) and rel != MARKER:
                    new = os.lstat(source)
                    if os.path.samestat(live, new) or (copied and live.st_size == new.st_size and _read(source) == _read(target)):
                        continue
                moves.append((_rank(rel, live is None), rel, source))
            folders = {"": str(self.output)}
            for number, (_, rel, source) in enumerate(sorted(moves)):
                if copied:
                    temp = os.path.join(inner, str(number))
                    shutil.copyfile(source, temp)
                    source = temp
                folder, _, name = rel.rpartition("/")
                target = os.path.join(_made_folder(folders, folder), name)
                try:
                    os.replace(source, target)
                except IsADirectoryError:  # the previous build had a folder where this file goes
                    shutil.rmtree(target)
                    os.replace(source, target)
            _remove_files(self.output, self.removed())
        finally:
            _clear(inner)
