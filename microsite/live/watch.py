"""Watch mode: file-system events become one debounced rebuild request; one loop does the building.

The watchdog callback only records which paths changed. `Session.run` waits until a burst of
events has settled (a `git checkout` or an editor's rename dance is one rebuild), builds, and tells
its listeners (the dev server). Events that arrive during a build make exactly one more build.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, TextIO

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .. import engine
from ..output import write
from ..source.content import is_ignored
from ..errors import BuildFailed, SiteError, UsageError
from ..rebuild.state import State
from ..model import Settings

QUIET = 0.1
"""Seconds without a new event before a burst counts as finished."""

WATCHED = ("content", "templates", "static", "i18n")
RELEVANT = {"created", "deleted", "modified", "moved", "closed"}
"""Event kinds that can change a file; `opened` and `closed_no_write` come from the build's own reads."""


class Changes:
    """Paths changed since the last build, shared between the observer thread and the build loop."""

    def __init__(self) -> None:
        self._paths: set[str] = set()
        self._saved: list[str] = []
        """Paths whose writer has finished (closed after writing, or renamed into place), not yet handed to `early`."""
        self._last = 0.0
        self._cond = threading.Condition()

    def add(self, path: str, saved: bool = False) -> None:
        with self._cond:
            self._paths.add(path)
            if saved:
                self._saved.append(path)
            self._last = time.monotonic()
            self._cond.notify_all()

    def take(self, stop: threading.Event, quiet: float = QUIET,
             early: Callable[[list[str], set[str]], None] | None = None) -> list[str]:
        """Block until something changed and then `quiet` seconds passed without change; [] on stop.

        While waiting, `early` is called (on this thread, without the lock) with the paths saved
        since its last call and every path changed so far, so a finished save can be acted on
        before the burst settles.
        """
        with self._cond:
            while not self._paths and not stop.is_set():
                self._cond.wait(0.25)
            while not stop.is_set():
                if early is not None and self._saved:
                    saved, self._saved = self._saved, []
                    changed = set(self._paths)
                    self._cond.release()
                    try:
                        early(saved, changed)
                    finally:
                        self._cond.acquire()
                    continue
                left = self._last + quiet - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            if stop.is_set():
                return []
            taken, self._paths, self._saved = sorted(self._paths), set(), []
            return taken

    def pending(self) -> bool:
        with self._cond:
            return bool(self._paths)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


class _Handler(FileSystemEventHandler):
    """Forward relevant events under one watched folder to `Changes`, as source-relative names."""

    def __init__(self, watcher: "Watcher", root: Path, recursive: bool):
        self.watcher, self.root, self.recursive = watcher, root, recursive

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in RELEVANT or (event.is_directory and event.event_type in ("modified", "closed")):
            return
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        for raw in filter(None, paths):
            name = self.watcher.relevant(self.root, Path(raw if isinstance(raw, str) else raw.decode()), self.recursive)
            if name:
                saved = event.event_type == "closed" or (event.event_type == "moved" and raw != event.src_path)
                self.watcher.changes.add(name, saved)
                if not self.recursive and event.is_directory:
                    folder = Path(raw if isinstance(raw, str) else raw.decode())
                    if event.event_type == "deleted" or (event.event_type == "moved" and raw == event.src_path):
                        self.watcher.unfollow(folder)
                    else:
                        self.watcher.follow(folder)


class Watcher:
    """A watchdog observer on the source's content/, templates/ and static/ (and the bundled theme)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.changes = Changes()
        self.observer = Observer()
        self._watched: dict[Path, object] = {}
        self._lock = threading.Lock()
        self._ignored = [settings.output.absolute()]

    def folders(self) -> list[Path]:
        """The folders whose files feed the site."""
        found = [self.settings.source / name for name in WATCHED]
        found += [folder for name in WATCHED[1:] for folder in engine.theme_dirs(self.settings.source, name)]
        return [f for f in found if f.is_dir()]

    def start(self) -> "Watcher":
        self.observer.schedule(_Handler(self, self.settings.source, False), str(self.settings.source), recursive=False)
        for folder in self.folders():
            self.follow(folder)
        self.observer.start()
        return self

    def follow(self, folder: Path) -> None:
        """Watch one more folder recursively (e.g. a templates/ created while serving)."""
        with self._lock:
            resolved = folder.resolve()
            if resolved in self._watched or not folder.is_dir():
                return
            self._watched[resolved] = self.observer.schedule(_Handler(self, folder, True), str(folder), recursive=True)

    def unfollow(self, folder: Path) -> None:
        """Drop the watch of a folder that was deleted or moved away, so a new one can be followed."""
        with self._lock:
            watch = self._watched.pop(folder.resolve(), None)
        if watch is not None:
            try:
                self.observer.unschedule(watch)
            except KeyError:
                pass

    def stop(self) -> None:
        self.observer.stop()
        if self.observer.is_alive():
            self.observer.join()

    def relevant(self, root: Path, path: Path, recursive: bool) -> str | None:
        """Name a changed path as messages do, or None for temp files, the output and unrelated files."""
        path = Path(path).absolute()
        for ignored in self._ignored:
            if path == ignored or path.is_relative_to(ignored):
                return None
        try:
            parts = path.relative_to(root).parts
        except ValueError:
            return None
        if not parts or any(is_ignored(p) for p in parts):
            return None
        if not recursive and parts[0] not in WATCHED:
            return None
        try:
            return path.relative_to(self.settings.source).as_posix()
        except ValueError:
            return path.as_posix()


@dataclass
class Result:
    """One build of a session, for the terminal line and the dev server."""

    changes: list[str]
    seconds: float
    errors: list[SiteError] = field(default_factory=list)
    rewritten: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    stylesheets: dict[str, str] = field(default_factory=dict)
    rendered: int = 0
    number: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def line(self) -> str:
        """One terminal line: what changed, what was rewritten, how long it took."""
        what = _names(self.changes, 3) + " changed" if self.changes else "first build"
        ms = f"{self.seconds * 1000:.0f} ms"
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        if not self.ok:
            count = len(self.errors)
            return (f"{stamp} {what}: build failed with {count} problem{'s' if count != 1 else ''} in {ms}; "
                    f"still serving the last good build")
        files = sorted(self.rewritten) + [f"-{r}" for r in self.removed]
        if not files:
            return f"{stamp} {what}: nothing to rewrite ({self.rendered} rendered) in {ms}"
        return f"{stamp} {what}: rewrote {len(files)} file{'s' if len(files) != 1 else ''} ({_names(files, 4)}) in {ms}"


def _names(items: list[str], most: int) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


class Session:
    """Build once, then rebuild after each settled burst of changes, telling every listener."""

    def __init__(self, settings: Settings, out: TextIO | None = None, quiet: float = QUIET):
        self.settings = settings
        self.state = State()
        """What the last successful build read and made; each rebuild starts from it and the changed paths."""
        self.out = out if out is not None else sys.stdout
        self.quiet = quiet
        self.listeners: list[Callable[[Result], None]] = []
        self.last: Result | None = None
        self.builds = 0
        self.building = False
        self.stop = threading.Event()
        self.watcher = Watcher(settings)
        self.early_pages: dict[str, str] = {}
        """Pages `early` rewrote since the last build: that build's result names them as rewritten too."""

    def build(self, changes: list[str] | None) -> Result:
        """Run one build from the changed paths (None: the first build, or changes not known);
        a content problem becomes part of the result, never an exception."""
        started = time.perf_counter()
        self.building = True
        try:
            engine.rebuild(self.settings, self.state, changes)
        except BuildFailed as exc:
            result = Result(changes or [], time.perf_counter() - started, errors=list(exc.errors))
        except (UsageError, OSError) as exc:
            problem = SiteError(str(self.settings.output), 0, 0, str(exc))
            result = Result(changes or [], time.perf_counter() - started, errors=[problem])
        else:
            last = self.state.last
            result = Result(changes or [], time.perf_counter() - started, rewritten={**self.early_pages, **last.rewritten},
                            removed=list(last.removed), stylesheets=dict(last.stylesheets), rendered=last.rendered)
        finally:
            self.building = False
            self.early_pages = {}
        self.builds += 1
        result.number = self.builds
        self.last = result
        print(result.line(), file=self.out, flush=True)
        for error in result.errors:
            print(f"  {error}", file=self.out, flush=True)
        for listener in self.listeners:
            listener(result)
        _settle_memory()
        return result

    @property
    def idle(self) -> bool:
        """True when no build runs and no change waits for one."""
        return not self.building and not self.watcher.changes.pending()

    def start(self) -> Result:
        """Start watching, then build once (events during that build lead to one more)."""
        self.watcher.start()
        return self.build(None)

    def run(self) -> None:
        """Rebuild on every settled burst of changes until `stop` is set."""
        while not self.stop.is_set():
            changes = self.watcher.changes.take(self.stop, self.quiet, self.early)
            if changes:
                self.build(changes)

    def early(self, saved: list[str], changed: set[str]) -> None:
        """When one article alone was saved and only its body changed, rebuild at once, before the
        burst of events settles; the build that follows then finds nothing left to do."""
        if self.state.site is None or not self.last or not self.last.ok or len(changed) != 1 or saved[-1] not in changed:
            return
        rel = saved[-1]
        if not rel.endswith(".md"):
            return
        started = time.perf_counter()
        own = next((page.path for page in self.state.pages.values()
                    if page.template == "article.html" and getattr(page.context.get("article"), "source", None) == rel), None)

        def written(paths: list[str]) -> None:
            pages = [path for path in paths if path.endswith(".html")]
            if own in pages:
                more = len(pages) - 1
                others = f" and {more} more page{'s' if more != 1 else ''}" if more else ""
                print(f"{dt.datetime.now():%H:%M:%S} {rel} saved: page {own} updated{others} in "
                      f"{(time.perf_counter() - started) * 1000:.0f} ms, before the rebuild", file=self.out, flush=True)

        try:
            done = engine.rebuild(self.settings, self.state, [rel], early=True, written=written)
        except (BuildFailed, OSError, ValueError, UsageError):
            return  # the rebuild will report whatever is wrong
        if done is not None:
            self.early_pages.update(self.state.last.rewritten)

    def close(self) -> None:
        """Stop the loop and the observer thread."""
        self.stop.set()
        self.watcher.changes.wake()
        self.watcher.stop()
        write.discard_spare(self.settings.output)


def _settle_memory() -> None:
    """Collect what a build left as garbage now, between builds, and keep the collector off what
    is left, the state the next build starts from: frozen objects are not traversed, so neither
    this collection nor any during the next build walks the records of a large site again. (The
    records hold no reference cycles: those of them a later build replaces are freed as they go.)"""
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def signals_stop(session: "Session") -> Iterator[None]:
    """Let Ctrl-C and `kill` stop a session cleanly.

    A signal sets `session.stop`, which the idle loop checks four times a second. Only a running
    build is interrupted with KeyboardInterrupt: raised at an arbitrary point of an idle session it
    can land in a weak reference's callback or a finalizer, where the interpreter ignores it, and the
    session would go on serving."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        session.stop.set()
        if session.building:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(settings: Settings, out: TextIO | None = None) -> int:
    """Build, then rebuild on every change until Ctrl-C."""
    out = out if out is not None else sys.stdout
    write.check_output_folder(settings.output, settings.source)
    session = Session(settings, out)
    with signals_stop(session):
        try:
            print(f"microsite: watching {settings.source} for changes to content/, templates/ and static/ (Ctrl-C to stop)",
                  file=out, flush=True)
            session.start()
            session.run()
        except KeyboardInterrupt:
            pass
        finally:
            session.close()
    print("microsite: stopped", file=out, flush=True)
    return 0
