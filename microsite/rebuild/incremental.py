"""What one build hands the next so a rebuild redoes only what an edit touched.

A Memo lives as long as a `watch` or `serve` session. It keeps parsed articles (by file bytes),
converted Markdown (by text) and each page's fingerprint (deps.Inputs) from the last successful
build. The engine still reads, checks and plans the whole site every time, so additions, renames
and deletions fall out of the plan; only rendering is skipped, for pages whose fingerprint is the
same as last time, and their files are carried over by hard link. The output equals a clean build.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NamedTuple

import jinja2
import jinja2.bccache

from ..markdown import markup
from ..render import parallel
from ..output import search
from .deps import Inputs
from ..model import Page
from ..output.write import Transaction

CONTENT, ASSETS = "content", "assets"
"""Why a page's file changed: its own content, or only the fingerprinted stylesheet names in it."""


@dataclass
class Outcome:
    """What the last successful build rendered and rewrote, for the terminal line and live reload."""

    rendered: int = 0
    rewritten: dict[str, str] = field(default_factory=dict)
    """Output path -> CONTENT or ASSETS, for every file whose bytes changed."""
    removed: list[str] = field(default_factory=list)
    stylesheets: dict[str, str] = field(default_factory=dict)
    """Old stylesheet output path -> new one, for stylesheets whose fingerprint changed."""


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept in memory across builds; Jinja checks each against its source.

    Jinja folds filters on constants at compile time (`"feed"|urn` becomes text), and filters read
    the site's data, so compiled code is only reused while that data (`scope`) is the same.
    """

    def __init__(self) -> None:
        self._store: dict[tuple[str, str], bytes] = {}
        self.scope = ""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self._store.get((self.scope, bucket.key))
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if len(self._store) > 512:
            self._store.clear()
        self._store[(self.scope, bucket.key)] = bucket.bytecode_to_string()


class _Parsed(NamedTuple):
    """An article file as a session last parsed it: the digest of its bytes, the size limit it was read with."""

    digest: str
    limit: int
    raw: Any


class Memo:
    """Caches shared by successive builds of one source folder into one output folder."""

    def __init__(self) -> None:
        self._raw: dict[str, _Parsed] = {}
        self._html: dict[tuple[str, bool, markup.Crew], markup.Converted] = {}
        self._html_used: set[tuple[str, bool, markup.Crew]] = set()
        self._prints: dict[str, str] = {}
        self._assets: dict[str, str] = {}
        self._output_id: tuple[int, int] | None = None
        self._pending: tuple[dict[str, str], dict[str, str]] | None = None
        self.last = Outcome()
        self.compiled = CompiledTemplates()
        self._analyses: dict = {}
        self.limit = 0
        """The article size limit the last build read with."""
        self.disk: Any = None
        """For the first build only, the build cache on disk (cache.Articles) and a converter that
        spreads conversion over the cores (cache.Converter): a session starts as fast as a build."""
        self.converter: Any = None
        self.built: Any = None
        """What the last successful build rendered with (preview.Built), for early article pages."""
        self.search = search.Memory()
        """Which search shards the last build indexed, so unchanged ones are carried over."""

    def read(self, path: Path, rel: str, limit: int, reader: Callable[[Path, str, int], Any]) -> Any:
        """Parse a source file once per distinct content; an unchanged file costs one read and a hash."""
        self.limit = limit
        digest = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        known = self._raw.get(rel)
        if known is not None and (known.digest, known.limit) == (digest, limit):
            return known.raw
        raw = self.disk.read(path, rel, limit, reader) if self.disk else reader(path, rel, limit)
        self._raw[rel] = _Parsed(digest, limit, raw)
        return raw

    def prepare(self, texts: Iterable[str], allow_html: bool, crew: markup.Crew, workers: int = 0) -> None:
        """Convert the texts not converted yet in worker processes when there are many (a crew
        member renamed changes every body that mentions anyone), before `convert` asks one by one."""
        missing = [text for text in dict.fromkeys(texts) if (text, allow_html, crew) not in self._html]
        for text, result in zip(missing, parallel.run([(text, allow_html, crew) for text in missing], workers)):
            if result is not None:  # too deeply nested: `convert` raises it again for the report
                self._html[(text, allow_html, crew)] = result

    def convert(self, text: str, allow_html: bool, crew: markup.Crew = markup.NO_CREW) -> markup.Converted:
        """Convert Markdown once per distinct text (and crew, whose names become links)."""
        key = (text, allow_html, crew)
        if key not in self._html:
            self._html[key] = (self.converter or markup.convert)(text, allow_html, crew)
        self._html_used.add(key)
        return self._html[key]

    def stale(self, env: jinja2.Environment, assets: Mapping[str, Any], library: Any, pages: list[Page], tx: Transaction) -> list[Page]:
        """Carry over every page whose inputs are unchanged since the last build; return the rest."""
        if len(self._analyses) > 256:
            self._analyses.clear()
        inputs = Inputs(env, assets, self._analyses, library)
        self.compiled.scope = inputs.scope()
        env.bytecode_cache = self.compiled
        prints = {page.path: inputs.fingerprint(page) for page in pages}
        same_output = self._output_id is not None and self._output_id == _identity(tx.output)
        todo = []
        for page in pages:
            print_ = prints[page.path]
            if same_output and print_ is not None and self._prints.get(page.path) == print_ and tx.keep(page.path):
                continue
            todo.append(page)
        new_assets = {name: asset.output for name, asset in assets.items()}
        self._pending = ({p: f for p, f in prints.items() if f is not None}, new_assets)
        self.last = Outcome(rendered=len(todo))
        self.last.stylesheets = {old: new_assets[name] for name, old in self._assets.items()
                                 if name.endswith(".css") and name in new_assets and new_assets[name] != old}
        return todo

    def classify(self, tx: Transaction, removed: list[str]) -> None:
        """Before the swap, tell pages that changed only in stylesheet names from real changes."""
        outcome = self.last
        for rel in tx.changed:
            kind = CONTENT
            old_file = tx.output / rel
            if outcome.stylesheets and rel.endswith(".html") and old_file.is_file():
                old = old_file.read_text(encoding="utf-8", errors="surrogateescape")
                for before, after in outcome.stylesheets.items():
                    old = old.replace(before, after)
                new = (tx.staging / rel).read_text(encoding="utf-8", errors="surrogateescape")
                if old == new:
                    kind = ASSETS
            outcome.rewritten[rel] = kind
        outcome.removed = removed

    def commit(self, output: Path) -> None:
        """Adopt the fingerprints of the build that was just swapped in."""
        if self._pending is None:
            return
        self._prints, self._assets = self._pending
        self._pending = None
        self._html = {key: self._html[key] for key in self._html_used if key in self._html}
        self._html_used = set()
        self._output_id = _identity(output)
        self.disk = self.converter = None

    def abandon(self) -> None:
        """Forget what a build that failed had staged; the previous output and memo stay valid."""
        self._pending = None
        self._html_used = set()


def _identity(folder: Path) -> tuple[int, int] | None:
    """Identify the output folder as swapped in, so a build by another process is noticed."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
