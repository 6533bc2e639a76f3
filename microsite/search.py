"""Full-text search with Pagefind: the finished pages are indexed at the end of each build.

Pagefind's indexing binary (shipped in the `pagefind[bin]` wheel) runs once per build. It reads
the staging folder, where the new site is complete but not yet live, and writes its bundle into a
scratch folder inside it; the files are then handed to write.py like every other output, so
unchanged index files keep their timestamps. Only elements marked `data-pagefind-body` (article
bodies and crew profiles) are indexed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from pagefind.service import get_executable

from .errors import BuildFailed, SiteError

FOLDER = "pagefind"
"""Where the index lives in the output; templates load `pagefind/pagefind.js` from here."""
SCRATCH = ".pagefind-bundle"
EXCLUDE = [".anchor", ".footnote-backref"]
"""Heading permalinks (`#`) and footnote back-links (`↩`) are not words to search or quote."""
TIMEOUT = 600
"""Seconds before a stalled indexer is reported instead of waited for."""


def _run(site: Path, language: str, scratch: Path) -> None:
    """Run the indexing binary to its end: it exits only once every file of the bundle is written.

    (The Python API's service is stopped with SIGTERM right after it answers that the files are
    written, which on a busy machine leaves some of them empty.)"""
    executable = get_executable()
    if executable is None:
        raise RuntimeError("the pagefind binary is not installed; install the pagefind[bin] package")
    config = {"site": str(site), "output_path": str(scratch), "force_language": language.split("-")[0].lower() or "en",
              "exclude_selectors": EXCLUDE, "silent": True}
    with tempfile.TemporaryDirectory(prefix="microsite-pagefind-") as cwd:
        Path(cwd, "pagefind.json").write_text(json.dumps(config), encoding="utf-8")
        done = subprocess.run([str(executable)], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"pagefind exited with status {done.returncode}: {(done.stderr or done.stdout).strip()[-2000:]}")


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
