"""A rebuild after edits to article bodies alone, without reading, checking or planning the site again.

The most common edit, a sentence fixed or added, changes one article's body and nothing else any
page is made from, except what pages read of that body: its own page, and the feed while the
article is among the latest. A command-line build leaves a `State` in the build cache: the site's
records and every page's context, with records named by reference so that one can be swapped, and
for each page the articles whose body fields (render.BODY_FIELDS) it read while it was rendered.

When the next build finds that only the contents of published articles' files changed (no file
added, removed or moved, no template, static file, setting or data file touched), that each
edited file's front matter, mentions, images and headings others may link to are as before, and that
the output is exactly as the last build left it, it converts those bodies, renders the pages that
read them, indexes again the search shards that hold them and replaces those files of the output.
Anything else, a problem in the file included, takes the full build, which reports problems with
their lines. Either way the output is byte-identical to a clean build's.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import pickle
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable

from ..markdown import bodies, markup, mentions
from . import cache
from ..source import content, schema, yaml12
from ..source.content import RawArticle
from ..render import render
from ..output import search, write
from ..errors import BuildFailed
from ..model import Article, BuildReport, CrewMember, Page, Settings, Site

KIND = "delta"
"""Build-cache kind of the State, one per output folder."""
MAX_EDITS = 16
"""More edited files than this go to the full build, which converts them in parallel."""
MAX_PAGES = 64
"""More pages to render again than this go to the full build, which renders them in parallel."""


class Fallback(Exception):
    """The edit needs the full build."""


class _Pickler(pickle.Pickler):
    """Pickles records by reference: articles by source, crew members by id, bodies kept in the
    cache by key, so a stored page holds no copy of them and an edited article is swapped in one place."""

    dispatch_table = cache.DISPATCH

    def __init__(self, file: io.BytesIO, top: Any = None, by_reference: bool = True):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.top = top
        self.by_reference = by_reference

    def persistent_id(self, obj: Any) -> Any:
        if not self.by_reference:
            return None
        kind = type(obj)
        if kind is Article and obj is not self.top:
            return ("a", obj.source)
        if kind is CrewMember:
            return ("c", obj.id)
        if kind is bodies.Html and not obj.held:
            return ("h", obj.digest, obj.images)
        return None


def _dump(value: Any, top: Any = None, by_reference: bool = True) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, top, by_reference).dump(value)
    return buffer.getvalue()


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, resolve: Callable[[tuple], Any]):
        super().__init__(io.BytesIO(data))
        self.persistent_load = resolve  # type: ignore[method-assign]


@dataclass(frozen=True)
class State:
    """What a command-line build leaves for a rebuild after body edits: this head, and each
    article's and page's record in `buckets` entries, so a rebuild reads the few it needs."""

    token: str
    """Names this state; the build record (cache.Rebuild) and every bucket name the state they go with."""
    site: bytes
    """The Site without its articles (templates read its config, crew, events, tags, data)."""
    own: dict[str, str]
    """Each published article's page, by the article's source path."""
    shards: search.Shards
    assets: bytes
    """The static files and images the pages were rendered with (assets and images.Library)."""
    buckets: int
    """How many entries the records are spread over: more for a larger site, up to BUCKETS."""


BUCKETS = 32
PER_BUCKET = 256
"""Pages a bucket holds before the records are spread over one more (a small site writes one file)."""


def _bucket(name: str, buckets: int) -> int:
    return zlib.crc32(name.encode("utf-8", "surrogatepass")) % buckets


def _bucket_key(rebuild: cache.Rebuild, kind: str, number: int) -> bytes:
    return cache.key(rebuild.key, kind, str(number))


def save(store: cache.Store, rebuild: cache.Rebuild, site: Site, static: Any, library: Any, pages: list[Page],
         rendered: dict[str, render.Fields]) -> dict[str, Any]:
    """Keep the State of a finished full build; return what its record says of it: the state's
    token, no edited articles yet, and which pages read which articles' body fields (this build's
    reads, or the last build's for pages carried over; unknown when neither)."""
    token = os.urandom(8).hex()
    own = {source: page.path for source, page in render.article_pages(pages).items()}
    count = max(1, min(BUCKETS, len(pages) // PER_BUCKET))
    store.put(KIND, rebuild.key, State(
        token=token,
        site=_dump(dataclasses.replace(site, articles=()), by_reference=False),
        own=own,
        shards=search.Shards.of(site),
        assets=pickle.dumps((static, library), protocol=pickle.HIGHEST_PROTOCOL),
        buckets=count,
    ))
    for kind, records, name, dump in (
            ("articles", site.articles, lambda a: a.source, lambda a: _dump(a, top=a)),
            ("pages", pages, lambda page: page.path, _dump)):
        buckets: list[list[Any]] = [[] for _ in range(count)]
        for record in records:
            buckets[_bucket(name(record), count)].append(record)
        for number, bucket in enumerate(buckets):  # written one at a time: never all of them in memory
            if not bucket:
                continue  # a name that falls here is not in the state, as when the entry is another build's
            store.put(KIND, _bucket_key(rebuild, kind, number), (token, {name(r): dump(r) for r in bucket}), now=True)
    before = _Reads(rebuild.delta)
    after = _Reads({})
    for page in pages:
        after.set(page.path, render.bodies_read(rendered[page.path]) if page.path in rendered else before.of(page.path), own, again=False)
    return {"token": token, "edited": {}, **after.record()}


def unknown_reads(rebuild: cache.Rebuild) -> Callable[[str], bool]:
    """Tell which pages the full build must render even when unchanged, to learn which articles'
    bodies they read: every page when the record does not say, as after an upgrade."""
    reads = _Reads(rebuild.delta)
    return (lambda path: path in reads.unknown) if reads.known else (lambda path: True)


class _Reads:
    """Which pages read which articles' body fields, as the record keeps it: by article, leaving
    out each article page's own article (that page is always rendered again), and the pages whose
    reads are unknown (carried over from a build that did not record them)."""

    def __init__(self, record: dict[str, Any]):
        self.readers: dict[str, set[str]] = {source: set(paths) for source, paths in record.get("readers", {}).items()}
        self.unknown: set[str] = set(record.get("unknown", ()))
        self.known = record.get("readers") is not None
        self._by_page: dict[str, set[str]] | None = None

    def of(self, path: str) -> frozenset[str] | None:
        """What a page read, as far as the record tells (its own article aside)."""
        if not self.known or path in self.unknown:
            return None
        if self._by_page is None:
            self._by_page = {}
            for source, paths in self.readers.items():
                for page in paths:
                    self._by_page.setdefault(page, set()).add(source)
        return frozenset(self._by_page.get(path, ()))

    def set(self, path: str, reads: frozenset[str] | None, own: dict[str, str], again: bool = True) -> None:
        """Note what a page read; `again` when the page may have been noted before."""
        if again:
            for paths in self.readers.values():
                paths.discard(path)
            self.unknown.discard(path)
        if reads is None:
            self.unknown.add(path)
            return
        for source in reads:
            if own.get(source) != path:
                self.readers.setdefault(source, set()).add(path)

    def pages_reading(self, source: str) -> set[str]:
        return self.readers.get(source, set()) | self.unknown

    def record(self) -> dict[str, Any]:
        return {"readers": {source: sorted(paths) for source, paths in self.readers.items() if paths},
                "unknown": sorted(self.unknown)}


class _Records:
    """The last build's records, read from a State's buckets as they are asked for, with edited
    articles swapped in."""

    def __init__(self, store: cache.Store, rebuild: cache.Rebuild, state: State, edited: dict[str, bytes]):
        self.store, self.rebuild, self.state = store, rebuild, state
        self.site: Site = _Unpickler(state.site, self._resolve).load()
        self._crew = {m.id: m for m in self.site.crew}
        self._articles: dict[str, Article] = {}
        self._edited = edited
        self._buckets: dict[tuple[str, int], dict[str, bytes]] = {}

    def _stored(self, kind: str, name: str) -> bytes:
        number = _bucket(name, self.state.buckets)
        bucket = self._buckets.get((kind, number))
        if bucket is None:
            found = self.store.get(KIND, _bucket_key(self.rebuild, kind, number))
            if not (isinstance(found, tuple) and len(found) == 2 and found[0] == self.state.token):
                raise Fallback(f"no record of the {kind} of the last build")
            bucket = self._buckets[(kind, number)] = found[1]
        if name not in bucket:
            raise Fallback(f"no record of {name}")
        return bucket[name]

    def article(self, source: str) -> Article:
        found = self._articles.get(source)
        if found is None:
            data = self._edited.get(source) or self._stored("articles", source)
            found = self._articles[source] = _Unpickler(data, self._resolve).load()
        return found

    def swap(self, article: Article) -> None:
        self._articles[article.source] = article

    def page(self, path: str) -> Page:
        return _Unpickler(self._stored("pages", path), self._resolve).load()

    def _resolve(self, pid: tuple) -> Any:
        kind = pid[0]
        if kind == "a":
            return self.article(pid[1])
        if kind == "c":
            return self._crew[pid[1]]
        if kind == "h":
            return bodies.Html(digest=pid[1], images=pid[2], fetch=functools.partial(_fetch, self.store, pid[1]))
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")


def _fetch(store: cache.Store, digest: str) -> str:
    found = store.get("bodies", bytes.fromhex(digest))
    if not isinstance(found, markup.Converted):
        raise Fallback("a body is missing from the cache")
    return str(found.html)


def attempt(settings: Settings, store: cache.Store, rebuild: cache.Rebuild, template_dirs: list[Path],
            started: float) -> BuildReport | None:
    """Rebuild after body edits when that is all that changed (see the module); return the
    BuildReport, or None when the full build must run. Call with the build lock held."""
    edited = rebuild.edited()
    token = rebuild.delta.get("token")
    if not edited or len(edited) > MAX_EDITS or token is None or not rebuild.on_schedule():
        return None
    rels = [Path(os.path.relpath(path, settings.source)).as_posix() for path in edited]
    state = store.get(KIND, rebuild.key)
    if not isinstance(state, State) or state.token != token or any(rel not in state.own for rel in rels):
        return None
    try:
        return _apply(settings, store, rebuild, state, rels, template_dirs, started)
    except (Fallback, BuildFailed, LookupError, OSError):
        store.discard()
        return None


def rebodied(path: Path, rel: str, limit: int | None, old: Article, site: Site, crew: Any) -> tuple[Article, RawArticle] | None:
    """Read an article file again; when only its body changed since `old` (its front matter,
    mentions and images as before, no `[[...]]` reference or file link to resolve against the whole site, no
    problem, and its headings as before when any article links to headings), return its new record,
    whose body, headings and length are new, and what was read."""
    try:
        raw = content.read_article(path, rel, limit)
    except (yaml12.LocatedProblem, OSError, ValueError):
        return None
    problems = schema.Problems(rel)
    meta = schema.check_article(raw, {m.id for m in site.crew}, problems, {e.id for e in site.events})
    if raw.over_limits or meta is None or problems.errors:
        return None
    try:
        body = markup.convert(raw.body, site.config.unsafe_html, crew)
    except RecursionError:
        return None
    if body.refs:
        return None
    lines = MappingProxyType({key: raw.front.where(key)[0] for key in raw.front})
    new = Article(source=rel, body=body.html, toc=body.toc, words=body.words, mentions=body.mentions,
                  field_lines=lines, **meta.fields)
    if dataclasses.replace(new, body=old.body, toc=old.toc, words=old.words) != old or body.html.images != old.body.images:
        return None  # other pages show what changed, or the images the site publishes change
    if new.toc != old.toc and site.linked:
        return None  # an article links to headings, maybe these: resolved against the whole site
    return new, raw


def _article(settings: Settings, records: _Records, rel: str, limit: int, how: cache.Conversion, store: cache.Store) -> Article:
    """The edited article's new record; Fallback when more than its body changed, or it has a problem."""
    old = records.article(rel)
    found = rebodied(settings.source / rel, rel, limit, old, records.site, how.crew)
    if found is None:
        raise Fallback(rel)
    new, raw = found
    body_key = how.body_key(raw.digest)
    html = bodies.Html(str(new.body), digest=body_key.hex(), images=new.body.images)
    store.put("bodies", body_key, markup.Converted(html, new.toc, new.words, new.mentions))
    return dataclasses.replace(new, body=html)


def _apply(settings: Settings, store: cache.Store, rebuild: cache.Rebuild, state: State, rels: list[str],
           template_dirs: list[Path], started: float) -> Any:
    edits: dict[str, bytes] = rebuild.delta.get("edited", {})
    reads = _Reads(rebuild.delta)
    records = _Records(store, rebuild, state, edits)
    site = records.site
    try:
        limit = settings.max_article_bytes or content.site_limit(
            content.read_yaml_file(settings.source / "content" / "site.yaml", "content/site.yaml"))
    except (yaml12.LocatedProblem, OSError):
        raise Fallback("content/site.yaml") from None
    crew = mentions.crew_data(site.crew, site.config.base_path)
    how = cache.Conversion.of(site.config.unsafe_html, crew)
    new = {rel: _article(settings, records, rel, limit, how, store) for rel in rels}
    for article in new.values():
        records.swap(article)
    paths = {state.own[rel] for rel in new}.union(*(reads.pages_reading(rel) for rel in new))
    if len(paths) > MAX_PAGES:
        raise Fallback("too many pages")
    pages = [records.page(path) for path in sorted(paths)]
    static, library = pickle.loads(state.assets)
    env = render.environment(template_dirs, site, static, library)
    texts: dict[str, bytes] = {}
    rendered: dict[str, render.Fields] = {}
    render.render_all(env, pages, lambda page, text: texts.__setitem__(page.path, text.encode("utf-8")), 1, rendered)

    output = settings.output.absolute()
    if not rebuild.output_intact():  # walked meanwhile by another process
        raise Fallback("the output changed since the last build")
    record = search.recall(store, output)
    written = write.patch(output, texts, [])
    # the pages are in place: index again the shards that hold the changed ones
    update = search.Update(output, state.shards, state.shards, record, {rel for rel in written if state.shards.folder(rel)}, set())
    try:
        with write.Patch(output) as batch:
            writes, removes = update.finish(batch)
            written += batch.commit()
    finally:
        update.stop()
    search.remember(store, output, update.commit(()))
    files = dict(rebuild.previous_files)
    for rel in written:
        st = os.lstat(output / rel)
        files[rel] = cache.Stamp(st.st_size, st.st_mtime_ns)
    for rel in removes:
        files.pop(rel, None)
    fingerprints = {path: known for path, known in rebuild.previous.items() if path not in paths}
    pages_count, files_count = rebuild.counts
    counts = (pages_count, files_count + len(set(writes) - set(rebuild.previous_files)) - len(removes))
    edits = {**edits, **{rel: _dump(article, top=article) for rel, article in new.items()}}
    for path, read in rendered.items():
        reads.set(path, render.bodies_read(read), state.own)
    rebuild.save(fingerprints, files, counts, {"token": state.token, "edited": edits, **reads.record()}, rebuild.schedule)
    return BuildReport(counts[0], counts[1], len(written), len(removes), time.perf_counter() - started, len(new),
                       *rebuild.schedule)


