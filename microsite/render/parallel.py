"""Markdown conversion spread over worker processes.

Conversion is pure and nearly all of a cold build's work, so it is the part worth spreading over
the cores. Work is handed out in a bounded window, so results never pile up in the parent.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

from ..source import content
from ..markdown import markup
from ..errors import BuildFailed
from ..progress import NONE, Progress

MIN_PER_WORKER = 8
"""Below this many bodies per worker, starting processes costs more than it saves."""


def convert(job: tuple[str, bool, Any]) -> markup.Converted | None:
    """Convert one body; None when it is nested too deeply to convert (the caller reports it)."""
    text, allow_html, crew = job
    try:
        return markup.convert(text, allow_html, crew)
    except RecursionError:
        return None


CHANGED = "changed"
"""What `convert_file` answers for a file that no longer holds the body it was read with."""


def convert_file(job: tuple[str, Any, bool, Any]) -> markup.Converted | str | None:
    """Read an article's body again from its file and convert it, so the text never passes through
    the parent; CHANGED when the file was saved since the parent read it."""
    root, raw, allow_html, crew = job
    try:
        text = content.body_text(Path(root), raw)
    except BuildFailed:
        return CHANGED
    return convert((text, allow_html, crew))


def _convert_chunk(task: Callable[[Any], Any], jobs: list[Any]) -> list[Any]:
    return [task(job) for job in jobs]


def cores() -> int:
    """Count the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _context() -> multiprocessing.context.BaseContext:
    """Start workers from a clean server process: safe even when the caller runs threads (watch mode)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["microsite.render.parallel"])
        return ctx
    return multiprocessing.get_context("spawn")


def run(jobs: list[Any], workers: int = 0, task: Callable[[Any], Any] = convert) -> Iterator[Any]:
    """Convert bodies (`task` of each job), yielding results in order; `workers` 0 uses every core,
    1 (or a small batch) stays in this process."""
    workers = min(workers or cores(), len(jobs) // MIN_PER_WORKER)
    if workers <= 1:
        yield from map(task, jobs)
        return
    size = max(1, min(32, len(jobs) // (workers * 16)))
    chunks = (jobs[i:i + size] for i in range(0, len(jobs), size))
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
        window: deque = deque()
        for chunk in chunks:
            window.append(pool.submit(_convert_chunk, task, chunk))
            if len(window) >= workers * 3:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()


class Stream:
    """Jobs handed in one at a time while the caller goes on with other work (reading the next
    article), run in worker processes in chunks; each result goes to `consume` in order, as the
    caller hands in more (`put`) or at the end (`finish`). At most a few chunks per worker are
    outstanding, so neither jobs nor results pile up in the parent."""

    CHUNK = 16

    def __init__(self, task: Callable[[Any], Any], consume: Callable[[Any, Any], None], workers: int):
        self.task = task
        self.consume = consume
        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context())
        self.chunk: list[tuple[Any, Any]] = []
        self.window: deque = deque()

    def put(self, tag: Any, job: Any) -> None:
        """Queue one job; `tag` is handed to `consume` with its result."""
        self.chunk.append((tag, job))
        if len(self.chunk) >= self.CHUNK:
            self._send()
            self._collect(self.workers * 4)

    def _send(self) -> None:
        if self.chunk:
            tags = [tag for tag, _ in self.chunk]
            self.window.append((tags, self.pool.submit(_convert_chunk, self.task, [job for _, job in self.chunk])))
            self.chunk = []

    def _collect(self, outstanding: int, progress: Progress = NONE) -> None:
        """Hand over the finished chunks at the front, and wait while more than `outstanding` are out."""
        while self.window and (len(self.window) > outstanding or self.window[0][1].done()):
            tags, future = self.window.popleft()
            for tag, result in zip(tags, future.result()):
                self.consume(tag, result)
                progress.advance()

    def finish(self, progress: Progress = NONE) -> None:
        """Run what is queued, hand over every result (advancing `progress` for each one handed
        over now), and stop the workers."""
        try:
            self._send()
            self._collect(0, progress)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the workers, dropping work not done yet (a build that failed meanwhile)."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.window.clear()


MIN_FORKED = 64
"""Below this many items per forked worker, forking costs more than it saves."""
_forked_task: Callable[[int], Any] | None = None


def _forked_worker() -> None:
    """A forked worker leaves Ctrl-C to its parent, and ends at once when the parent stops it
    (it would otherwise inherit the parent's handlers, which unwind a build)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_forked(indices: list[int]) -> list[Any]:
    return [_forked_task(index) for index in indices]


def forked(task: Callable[[int], Any], count: int, workers: int = 0) -> Iterator[Any]:
    """Yield `task(i)` for i in range(count), in order, spread over forked worker processes.

    Forked workers start with everything this process holds (the site, the templates), so only
    indices go to them and results come back. Only for a process that runs no other threads.
    """
    global _forked_task
    workers = min(workers or cores(), count // MIN_FORKED)
    if workers <= 1 or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(task, range(count))
        return
    size = max(1, min(64, count // (workers * 8)))
    chunks = (list(range(start, min(start + size, count))) for start in range(0, count, size))
    _forked_task = task
    try:
        with multiprocessing.get_context("fork").Pool(workers, initializer=_forked_worker) as pool:
            window: deque = deque()  # a bounded window: results never pile up here
            for chunk in chunks:
                window.append(pool.apply_async(_run_forked, (chunk,)))
                if len(window) >= workers * 3:
                    yield from window.popleft().get()
            while window:
                yield from window.popleft().get()
    finally:
        _forked_task = None
