"""What each page is made from, so a rebuild can tell which pages an edit touches.

A page's output is a pure function of its template files, its context and the template globals it
names (render.py renders nothing else). `Inputs` digests the templates and globals each template
pulls in (a template's part, the same for every page made with it) and, for a command-line build,
every page's whole context (a fingerprint).

A session keeps the pages of its last build and, for each, what rendering read of the records in
its context (render.Reads). A page need not be rendered again when its template's part is the same,
its context has the same shape (the same records, by key, in the same places, and the same plain
values), and no field it read of those records changed (`stale`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping, NamedTuple

import jinja2
from jinja2 import meta

from ..render.render import ANY, Fields, record_key
from ..source.content import text_digest as _hash
from ..model import Article, CrewMember, Page

ALWAYS = ("site",)
"""Globals every page depends on whether it names them or not: filters and `url` read the site config."""


_PLAIN = frozenset({str, int, float, bool, type(None)})


class Digests:
    """Content digests of values, memoised per object for one build (records are frozen)."""

    def __init__(self) -> None:
        self._records: dict[int, tuple[Any, str]] = {}

    def of(self, value: Any) -> str:
        """Digest a context value: mappings and sequences by their items, records by their repr
        (an article's body shows there as its digest, bodies.Html)."""
        known = self._records.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        kind = type(value)
        if kind in _PLAIN:
            return _hash(f"{kind.__qualname__}:{value!r}")
        if hasattr(kind, "__dataclass_fields__"):
            digest = _hash(f"{kind.__qualname__}:{value!r}")
            self._records[id(value)] = (value, digest)
            return digest
        if isinstance(value, Mapping):
            return _hash("{" + ",".join(f"{k!r}:{self.of(v)}" for k, v in value.items()) + "}")
        if isinstance(value, (list, tuple)):
            return _hash(type(value).__name__ + "[" + ",".join(self.of(v) for v in value) + "]")
        return _hash(f"{type(value).__qualname__}:{value!r}")


class Analysis(NamedTuple):
    """What one template file is, for fingerprints: its source digest, the templates it pulls in
    (None when one is named by a computed expression) and the global names it reads."""

    digest: str
    pulled: frozenset[str] | None
    reads: frozenset[str]


_ANALYSED: dict = {}
"""Analyses by (name, source text), for every build of the process: an analysis depends on nothing
else, so a process that builds again (a session, a test run, a script) parses each template text once."""
_MOST_ANALYSED = 4096


class Templates:
    """Each template's source digest, the templates it pulls in and the global names it reads."""

    def __init__(self, env: jinja2.Environment):
        self.env = env
        if len(_ANALYSED) > _MOST_ANALYSED:
            _ANALYSED.clear()
        self._known = _ANALYSED
        self._bare = jinja2.Environment(extensions=list(env.extensions))
        """Parses for analysis: meta leaves out names the environment defines, and we want them all."""
        self._bare.filters.update(env.filters)
        self._bare.tests.update(env.tests)
        self._own: dict[str, Analysis] = {}
        self._closure: dict[str, tuple[frozenset[str], frozenset[str]] | None] = {}

    def _analyse(self, name: str) -> Analysis:
        if name not in self._own:
            source, _, _ = self.env.loader.get_source(self.env, name)
            key = (name, source)
            if key not in self._known:
                ast = self._bare.parse(source, name)
                refs = list(meta.find_referenced_templates(ast))
                pulled = None if None in refs else frozenset(refs)
                self._known[key] = Analysis(_hash(source), pulled, frozenset(meta.find_undeclared_variables(ast)))
            self._own[name] = self._known[key]
        return self._own[name]

    def closure(self, name: str) -> tuple[frozenset[str], frozenset[str]] | None:
        """Templates `name` extends, includes or imports (itself too) and the names they read.

        None when a template picks another by a computed name, or a template is missing or broken:
        such a page is always rendered, and rendering reports the problem.
        """
        if name in self._closure:
            return self._closure[name]
        seen: set[str] = set()
        names: set[str] = set()
        todo = [name]
        result: tuple[frozenset[str], frozenset[str]] | None
        try:
            while todo:
                current = todo.pop()
                if current in seen:
                    continue
                seen.add(current)
                analysis = self._analyse(current)
                if analysis.pulled is None:
                    raise LookupError(current)
                names |= analysis.reads
                todo.extend(analysis.pulled)
            result = (frozenset(seen), frozenset(names))
        except (jinja2.TemplateError, LookupError):
            result = None
        self._closure[name] = result
        return result

    def digest(self, name: str) -> str:
        return self._analyse(name).digest


class Inputs:
    """Fingerprints of every page of one build, from its templates, context and global names."""

    def __init__(self, env: jinja2.Environment, assets: Mapping[str, Any], library: Any = None, recorded: bool = False):
        self.templates = Templates(env)
        self.digests = Digests()
        self.globals = {name: value for name, value in env.globals.items() if not callable(value)}
        self._global_digest: dict[str, str] = {}
        pictures = sorted(library.pictures.items()) if library is not None else []
        names = [] if recorded else sorted((name, asset.output) for name, asset in assets.items())
        self._assets = _hash(repr(names) + repr(pictures))
        """Static names and image copies (named by content, with their sizes): what page helpers write
        into pages. When rendering is `recorded` (render.Reads), the static names a page reads are its
        reads' (render.Reads.asset), and only image copies are part of every page's template part;
        so are the fields it reads of the records in a global (`crew`), whose part is their keys."""
        self._recorded = recorded
        self._filters = _hash(repr(sorted(env.filters)))
        self._shared: dict[str, str | None] = {}
        """By template: the digest of its template files and the globals they name, the same for every page made with it."""

    def _of_global(self, name: str) -> str:
        if name not in self._global_digest:
            self._global_digest[name] = self.digests.of(self.globals[name])
        return self._global_digest[name]

    def _in_part(self, name: str) -> str:
        """What a global adds to a template's part: its digest, or only its records' keys when the
        fields pages read of them are recorded."""
        keys = _record_keys(self.globals[name]) if self._recorded else None
        return self._of_global(name) if keys is None else _hash("records:" + "\n".join(keys))

    def part(self, template: str) -> str | None:
        """Digest what every page made with `template` reads besides its context: its template
        files, the globals they name, the filters, the image copies; None when it cannot be known."""
        return self._template_part(template)

    def _template_part(self, template: str) -> str | None:
        if template not in self._shared:
            closure = self.templates.closure(template)
            if closure is None:
                self._shared[template] = None
            else:
                templates, names = closure
                parts = [template, self._assets, self._filters]
                parts += [f"t:{t}:{self.templates.digest(t)}" for t in sorted(templates)]
                used = (set(names) | set(ALWAYS)) & self.globals.keys()
                parts += [f"g:{g}:{self._in_part(g)}" for g in sorted(used)]
                self._shared[template] = _hash("\n".join(parts))
        return self._shared[template]

    def fingerprint(self, page: Page) -> str | None:
        """Digest all a page is made from; None when it cannot be known, so the page is rendered."""
        shared = self._template_part(page.template)
        if shared is None:
            return None
        return _hash(f"{page.path}\n{shared}\nc:{self.digests.of(page.context)}")


def _record_keys(value: Any) -> list[str] | None:
    """The keys of a list of records, in order; None for any other value."""
    if type(value) not in (list, tuple) or not value:
        return None
    keys = [record_key(item) for item in value]
    return None if None in keys else keys


def same_shape(old: Any, new: Any) -> bool:
    """Tell whether two page contexts hold the same records (articles by source, crew members by
    id) in the same places and the same plain values; what differs inside a record is for the
    page's reads to tell (`stale`)."""
    if old is new:
        return True
    kind = type(old)
    if kind is not type(new):
        return False
    if kind is Article:
        return old.source == new.source
    if kind is CrewMember:
        return old.id == new.id
    if kind in (list, tuple):
        return len(old) == len(new) and all(map(same_shape, old, new))
    if isinstance(old, Mapping):
        return old.keys() == new.keys() and all(same_shape(old[key], new[key]) for key in old)
    if dataclasses.is_dataclass(old):
        return all(same_shape(getattr(old, f.name), getattr(new, f.name)) for f in dataclasses.fields(old))
    return old == new


def _names(kind: type) -> tuple[str, ...]:
    """Every name a template can read of a record: its fields and its properties."""
    properties = [name for name in dir(kind) if isinstance(getattr(kind, name, None), property)]
    return tuple(f.name for f in dataclasses.fields(kind)) + tuple(properties)


_READABLE = {Article: _names(Article), CrewMember: _names(CrewMember)}


def changed_fields(old: Any, new: Any) -> set[str]:
    """The names a template can read that differ between two versions of a record."""
    if old is new:
        return set()
    return {name for name in _READABLE[type(old)] if getattr(old, name) != getattr(new, name)}


def changed_records(old: Iterable[Any], new: Iterable[Any]) -> dict[str, set[str]]:
    """Changed fields by record key (render.record_key) between two builds' records of one kind;
    a record added or removed counts as wholly changed."""
    before = {record_key(r): r for r in old}
    after = {record_key(r): r for r in new}
    changed: dict[str, set[str]] = {}
    for key in before.keys() | after.keys():
        if key not in before or key not in after:
            changed[key] = {ANY}
        elif before[key] is not after[key]:
            fields = changed_fields(before[key], after[key])
            if fields:
                changed[key] = fields
    return changed


KEEP, RENDER, RENAME = "keep", "render", "rename"
"""What a rebuild does with a page: keep its file, render it again, or only put the new names of
renamed static files into its bytes."""


class Stale:
    """Decides what a rebuild does with each page, from the changed fields by record key and the
    static files whose fingerprinted names alone changed (by key)."""

    def __init__(self, changed: Mapping[str, set[str]], renamed: Iterable[str]):
        renamed = set(renamed)
        self._render: dict[str, frozenset[str]] = {}
        self._rename: dict[str, frozenset[str]] = {}
        shared: dict[frozenset[str], frozenset[str]] = {}  # one set for the many records changed alike (all of them, in a full build)
        for key, fields in changed.items():
            names = set(fields) | {ANY}
            if ANY in fields:
                names |= _every_name(key)
            names = frozenset(names)
            (self._rename if key in renamed else self._render)[key] = shared.setdefault(names, names)

    def __call__(self, old: Page | None, new: Page, reads: Fields | None, parts_same: bool) -> str:
        """What to do with `new`, given the page at its path in the last build, what rendering read
        then (None: unknown) and whether its template's part is the same."""
        if old is None or reads is None or not parts_same or old.template != new.template:
            return RENDER
        if old is not new and old.context != new.context and not same_shape(old.context, new.context):
            return RENDER
        if _reads_any(reads, self._render):
            return RENDER
        return RENAME if _reads_any(reads, self._rename) else KEEP


def _reads_any(reads: Fields, fields: Mapping[str, frozenset[str]]) -> bool:
    """Tell whether a page read any of these fields, by record key."""
    read = reads.by_record
    for key, names in fields.items():
        got = read.get(key)
        if got is not None and not names.isdisjoint(got):
            return True
    return False


def _every_name(key: str) -> set[str]:
    """Every field a page can have read of the record with this key."""
    if key.startswith("asset:"):
        return {"output"}
    return set(_READABLE[CrewMember if key.startswith("crew:") else Article])


def repoint(value: Any, current: Mapping[str, Any]) -> Any:
    """A page context with each record replaced by the current one with its key (render.record_key),
    for a page rendered again from the last build's plan."""
    kind = type(value)
    if kind is Article or kind is CrewMember:
        return current.get(record_key(value), value)
    if kind is list:
        return [repoint(item, current) for item in value]
    if kind is tuple:
        return tuple(repoint(item, current) for item in value)
    if kind is dict:
        return {key: repoint(item, current) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: repoint(getattr(value, f.name), current) for f in dataclasses.fields(value)}
        if any(fields[name] is not getattr(value, name) for name in fields):
            return dataclasses.replace(value, **fields)
    return value
