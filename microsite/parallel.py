"""Markdown conversion spread over worker processes.

Conversion is pure and nearly all of a cold build's work, so it is the part worth spreading over
the cores. Work is handed out in a bounded window, so results never pile up in the parent.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Iterator

from . import markup

MIN_PER_WORKER = 8
"""Below this many bodies per worker, starting processes costs more than it saves."""


def convert(job: tuple[str, bool, Any]) -> markup.Converted | None:
    """Convert one body; None when it is nested too deeply to convert (the caller reports it)."""
    text, allow_html, crew = job
    try:
        return markup.convert(text, allow_html, crew)
    except RecursionError:
        return None


def _convert_chunk(jobs: list[tuple[str, bool, Any]]) -> list[markup.Converted | None]:
    return [convert(job) for job in jobs]


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
        ctx.set_forkserver_preload(["microsite.parallel"])
        return ctx
    return multiprocessing.get_context("spawn")


def run(jobs: list[tuple[str, bool, Any]], workers: int = 0) -> Iterator[markup.Converted | None]:
    """Convert bodies, yielding results in order; `workers` 0 uses every core, 1 (or a small batch)
    stays in this process."""
    workers = min(workers or cores(), len(jobs) // MIN_PER_WORKER)
    if workers <= 1:
        yield from map(convert, jobs)
        return
    size = max(1, min(32, len(jobs) // (workers * 16)))
    chunks = (jobs[i:i + size] for i in range(0, len(jobs), size))
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
        window: deque = deque()
        for chunk in chunks:
            window.append(pool.submit(_convert_chunk, chunk))
            if len(window) >= workers * 3:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()
