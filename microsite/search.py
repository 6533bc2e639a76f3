"""Full-text search with Pagefind: the finished pages are indexed at the end of each build.

Pagefind's Python API drives its indexing binary (shipped in the `pagefind[bin]` wheel). It reads
the staging folder, where the new site is complete but not yet live, and writes its bundle into a
scratch folder inside it; the files are then handed to write.py like every other output, so
unchanged index files keep their timestamps. (The API's in-memory `get_files` is avoided: its
pipe reader stalls on indexes over 2 MiB.) Only elements marked `data-pagefind-body` (article
bodies and crew profiles) are indexed.
"""

from __future__ import annotations

import asyncio
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pagefind.service import PagefindService

from .errors import BuildFailed, SiteError

FOLDER = "pagefind"
"""Where the index lives in the output; templates load `pagefind/pagefind.js` from here."""
SCRATCH = ".pagefind-bundle"
EXCLUDE = [".anchor", ".footnote-backref"]
"""Heading permalinks (`#`) and footnote back-links (`↩`) are not words to search or quote."""
TIMEOUT = 600
"""Seconds before a stalled indexer is reported instead of waited for."""


async def _index(site: Path, language: str, scratch: Path) -> None:
    async with PagefindService() as service:
        index = await service.create_index({"force_language": language.split("-")[0].lower() or "en",
                                            "exclude_selectors": EXCLUDE})
        await index.add_directory(str(site), glob="**/*.html")
        await index.write_files(output_path=str(scratch))


def _run(site: Path, language: str, scratch: Path) -> None:
    """Run the indexer, on a thread of its own when the caller already runs an event loop."""
    def job() -> None:
        asyncio.run(asyncio.wait_for(_index(site, language, scratch), TIMEOUT))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return job()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(job).result()


def index(site: Path, language: str = "en") -> list[tuple[str, bytes]]:
    """Index the HTML pages under `site`; return the index files as (output path, bytes)."""
    site = site.resolve()
    scratch = site / SCRATCH
    try:
        _run(site, language, scratch)
        return sorted((f"{FOLDER}/{p.relative_to(scratch).as_posix()}", p.read_bytes())
                      for p in scratch.rglob("*") if p.is_file())
    except Exception as exc:  # the binary reports its own problems as plain exceptions
        raise BuildFailed([SiteError(FOLDER, 0, 0, f"search index failed: {exc!r}")]) from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
