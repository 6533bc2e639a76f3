"""The build state of a session: what the last build read and made, kept for the next one.

Its memory layer holds the records (parsed articles, checked metadata, converted bodies' outlines,
the Site), the static files and images, every page with what rendering read of it, and the
search record. Its disk layer is the build cache beside the output (cache.Store): converted
bodies stay there, in pack files, and a page fetches the HTML it prints; the parse and outline
indexes there let a full read skip unchanged files. A rebuild (engine.rebuild) starts from the
changed paths and this state, and leaves a new one only when it succeeds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..output import search
from ..output.write import MARKER
from ..features import related
from ..render.render import Fields, Fragments
from ..model import Page, Site
from . import cache

CONTENT, ASSETS = "content", "assets"
"""Why a page's file changed: its own content, or only the fingerprinted static names in it."""


@dataclass
class Outcome:
    """What the last successful build rendered and rewrote, for the terminal line and live reload."""

    rendered: int = 0
    rewritten: dict[str, str] = field(default_factory=dict)
    """Output path -> CONTENT or ASSETS, for every file whose bytes changed."""
    removed: list[str] = field(default_factory=list)
    stylesheets: dict[str, str] = field(default_factory=dict)
    """Old stylesheet output path -> new one, for stylesheets whose fingerprint changed."""


@dataclass
class Records:
    """The records of one successful build, as the next rebuild updates them."""

    site_yaml: Any
    mission_yaml: Any
    raws: dict[str, Any]
    """Each article file's parsed front matter and body digest (content.RawArticle, without its
    text), by source path, in the order the sources are walked."""
    checked: Any
    """The validated site before conversion (schema.Checked)."""
    converted: dict[str, Any]
    """Each published article's converted body (markup.Converted; its HTML stays in the cache)."""
    conversion: cache.Conversion
    site: Site
    limit: int
    """The article size limit the sources were read with."""
    made: dict[str, Any]
    """What each article of the Site was made from (schema.Assembled), by source."""


class State:
    """What the last successful build of a session read and made, with the cache on disk under it."""

    def __init__(self) -> None:
        self.store: cache.Store | None = None
        """The disk layer: converted bodies, parsed articles and outlines, cards."""
        self.hashes = cache.Hashes({})
        self.records: Records | None = None
        self.static: dict[str, Any] = {}
        self.library: Any = None
        self.pages: dict[str, Page] = {}
        """Every page of the last build, by output path, in plan order."""
        self.reads: dict[str, Fields] = {}
        """What rendering read of each page's records (render.Reads), by output path."""
        self.fragments = Fragments()
        """What cached macros printed (render.Fragments), for the next builds' pages."""
        self.interned: dict[Any, Any] = {}
        """Each distinct read once, shared by the pages' reads of every build (render.Reads)."""
        self.parts: dict[str, str | None] = {}
        """Each template's part (deps.Inputs.part) in the last build."""
        self.search = search.Record()
        self.similar = related.Related()
        self.output_id: tuple[int, ...] | None = None
        self.unsettled: set[str] | None = set()
        """Paths changed since the last successful build, by builds that failed (None: not known):
        the next build starts from them too."""
        self.files = 0
        """Static files, image copies and index files of the last build, for its summary."""
        self.last = Outcome()

    @property
    def site(self) -> Site | None:
        return self.records.site if self.records else None

    def open_store(self, output: Path) -> cache.Store:
        """The cache beside the output, opened once for the whole session (which keeps no
        process-wide copies of cards: its own cache has them)."""
        if self.store is None:
            self.store = cache.Store.beside(output, shared=False)
        return self.store

    def output_is_ours(self, output: Path) -> bool:
        """Tell whether the output folder is the one the last build of this session left."""
        return self.output_id is not None and self.output_id == identity(output)


def identity(folder: Path) -> tuple[int, ...] | None:
    """Identify the output as a build left it, so a build by another process is noticed: the
    folder swapped in, and its marker, which every build writes anew (a mount point's folder stays)."""
    try:
        st = os.stat(folder)
        marker = os.lstat(folder / MARKER)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, marker.st_ino, marker.st_mtime_ns)
