"""One build from start to end: read everything, check it, convert, render, write."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from .output import assets as assets_mod
from .rebuild import cache, changes, delta, deps
from .rebuild.state import ASSETS, CONTENT, Outcome, Records, State, identity
from .features import i18n
from .source import content, schema, yaml12
from .output import cards, claims, hosts, images, search, write
from .markdown import markup, mentions
from .render import render
from .errors import BuildFailed, SiteError
from .model import BuildReport, Page, Settings, Site
from .progress import NONE, Progress

BUNDLED = Path(__file__).resolve().parent / "theme"
"""The bundled theme, shipped inside the package: its `templates/` and `static/` are the defaults a site overrides file by file."""


def theme_dirs(source: Path, name: str) -> list[Path]:
    """Folders to look in for templates or static files: the site's own first, then the bundled ones."""
    dirs = [source / name, BUNDLED / name]
    unique: list[Path] = []
    for folder in dirs:
        if folder.is_dir() and folder.resolve() not in [d.resolve() for d in unique]:
            unique.append(folder)
    return unique


def load(settings: Settings, store: cache.Store | None = None, hashes: cache.Hashes | None = None,
         warnings: list[SiteError] | None = None, progress: Progress = NONE, now: dt.datetime | None = None) -> Records:
    """Read and validate the sources and convert every article; raise BuildFailed on any problem.

    Content problems are reported together with template syntax errors, so one run shows all.
    With a `store` (the build cache on disk), unchanged articles are neither parsed nor converted
    again, and the rest are converted in worker processes (`settings.jobs`), each as soon as it
    is read; converted bodies then stay on disk, and pages fetch the HTML they print. A
    `warnings` list (`check`) receives the problems that `check` reports as warnings rather than
    errors. `progress` hears of the articles read and converted. Articles dated after `now` (by
    default, the time of the call) are held back unless `settings.future`.
    """
    problems = content.theme_problems(settings.source)
    converter = cache.Converter(store, settings.source, settings.jobs) if store else None
    if converter:  # each article goes to the workers as it is read, while this process reads the next
        reader = cache.Articles(store, hashes, then=converter.submit)
        data_read = lambda site, mission: _start_early(converter, site, mission, settings)  # noqa: E731
    else:
        reader, data_read = None, None
    try:
        try:
            sources = content.read_sources(settings.source, settings.max_article_bytes, reader=reader, data_read=data_read,
                                           progress=progress)
            if reader:
                reader.finish()
            checked = schema.check(sources, settings, now)
        except BuildFailed as exc:
            problems += exc.errors
        if problems:
            raise BuildFailed(problems + render.template_problems(theme_dirs(settings.source, "templates")))
    except BaseException:
        if converter:
            converter.close()  # stop converting early for a build that cannot go on
        raise
    how = cache.Conversion.of(checked.config.unsafe_html, mentions.crew_data(checked.crew, checked.config.base_path))
    progress.phase("converting", len(checked.articles))
    if converter:
        converter.prepare((meta.raw for meta in checked.articles), how.allow_html, how.crew, progress)
        convert = lambda raw: converter.result(raw, how.allow_html, how.crew)  # noqa: E731
    else:
        def convert(raw: content.RawArticle) -> markup.Converted:
            try:
                return markup.convert(raw.body, how.allow_html, how.crew)
            finally:
                progress.advance()
    converted = _converted(settings, checked, convert)
    limit = settings.max_article_bytes or content.site_limit(sources.site)
    raws = {raw.source: raw if raw.body is None else raw.without_body() for raw in sources.articles}
    return _records(settings, sources.site, sources.mission, raws, checked, converted, how, limit, None, warnings)


def load_site(settings: Settings, store: cache.Store | None = None, hashes: cache.Hashes | None = None,
              warnings: list[SiteError] | None = None, progress: Progress = NONE, now: dt.datetime | None = None) -> Site:
    """Read, validate and convert the whole site (`load`), and return its Site."""
    return load(settings, store, hashes, warnings, progress, now).site


def _converted(settings: Settings, checked: schema.Checked, convert: Callable[[content.RawArticle], markup.Converted],
               known: Mapping[str, markup.Converted] | None = None) -> dict[str, markup.Converted]:
    """Each published article's converted body, by source (`known`: those converted already);
    BuildFailed naming each body nested too deeply to convert."""
    converted = {}
    errors = []
    for meta in checked.articles:
        found = known.get(meta.raw.source) if known else None
        if found is not None:
            converted[meta.raw.source] = found
            continue
        try:
            converted[meta.raw.source] = convert(meta.raw)
        except RecursionError:
            body = content.body_text(settings.source, meta.raw)
            first = meta.raw.body_line + len(body) - len(body.lstrip("\n"))
            errors.append(SiteError(meta.raw.source, first, 1, "Markdown nested too deeply to convert "
                                    "(emphasis, links or lists inside each other hundreds of times); flatten it"))
    if errors:
        raise BuildFailed(errors)
    return converted


def _records(settings: Settings, site_yaml: Any, mission_yaml: Any, raws: dict[str, content.RawArticle],
             checked: schema.Checked, converted: dict[str, markup.Converted], how: cache.Conversion, limit: int,
             previous: Records | None, warnings: list[SiteError] | None = None) -> Records:
    """Resolve `[[article:...]]` references and links to article files and join everything into
    the Site; articles made from the same records as in `previous` are the same objects again."""
    linked = frozenset(ref.target for body in converted.values() for ref in body.refs if ref.kind in ("article", "file"))
    resolved = converted
    if any(body.refs for body in converted.values()):
        resolved = mentions.resolve_site(checked, converted, lambda raw: content.body_text(settings.source, raw), warnings)
    site = dataclasses.replace(schema.assemble(checked, resolved, previous.made if previous else None), linked=linked)
    site = _with_strings(site, interface_strings(settings.source, site.config))
    metas = {meta.raw.source: meta for meta in checked.articles}
    made = {a.source: schema.Assembled(metas[a.source], resolved[a.source], a) for a in site.articles}
    return Records(site_yaml, mission_yaml, raws, checked, converted, how, site, limit, made)


def _with_strings(site: Site, strings: i18n.Strings) -> Site:
    """The site, and each of its languages, with the interface strings: part of the config, so
    that every page's fingerprint covers them."""
    views = {code: dataclasses.replace(view, config=dataclasses.replace(view.config, strings=strings)) for code, view in site.views.items()}
    return dataclasses.replace(site, config=dataclasses.replace(site.config, strings=strings), views=views)


def interface_strings(source: Path, config) -> i18n.Strings:
    """Read each language's interface strings: the site's `i18n/<code>.yaml`, else the theme's."""
    try:
        return i18n.load_strings(theme_dirs(source, "i18n"), [lang.code for lang in config.languages] or ["en"],
                                 content.read_yaml_file)
    except yaml12.LocatedProblem as exc:
        raise BuildFailed([exc.error]) from None


def _start_early(converter: cache.Converter, site_yaml, mission_yaml, settings: Settings) -> None:
    """Start converting before the articles are checked, when site.yaml and mission.yaml are
    valid: how bodies convert depends only on them. Otherwise conversion waits for the full check,
    which reports their problems."""
    if site_yaml is None or mission_yaml is None:
        return
    site_problems, mission_problems = schema.Problems("content/site.yaml"), schema.Problems("content/mission.yaml")
    config = schema.check_config(site_yaml, site_problems.path, settings, site_problems)
    crew, _ = schema.check_mission(mission_yaml, mission_problems)
    if config is not None and not site_problems.errors and not mission_problems.errors:
        converter.start(config.unsafe_html, mentions.crew_data(crew, config.base_path), settings.drafts)


@contextlib.contextmanager
def _collector_paused(pause: bool) -> Iterator[None]:
    """Keep Python's cycle collector from walking the site's records over and over while they are
    made (a second and more at 10,000 articles): records are not cyclic garbage, and whatever is
    is collected once the collector runs again. A session (watch, serve) keeps the collector on."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def build(settings: Settings, progress: Progress = NONE) -> BuildReport:
    """Build the site into the output folder; on any problem the previous output stays as it was.

    A build from the command line keeps its cache beside the output (rebuild/cache.py): when
    nothing it reads changed, no scheduled article came due and the output is as it left it, it
    ends at once; after edits to article bodies alone it renders only the pages that read them
    (rebuild/delta.py). `progress` hears of each phase of a full build and its steps.
    """
    started = time.perf_counter()
    write.check_output_folder(settings.output, settings.source)
    store = cache.Store.beside(settings.output)
    folders = [settings.source / "content", *theme_dirs(settings.source, "templates"), *theme_dirs(settings.source, "static"),
               *theme_dirs(settings.source, "i18n")]
    with write.BuildLock.held(settings.output), _collector_paused(True):
        rebuild = cache.Rebuild(store, settings, folders)
        try:
            if rebuild.unchanged():
                pages, files = rebuild.counts
                return BuildReport(pages, files, 0, 0, time.perf_counter() - started, 0, *rebuild.schedule)
            quick = delta.attempt(settings, store, rebuild, theme_dirs(settings.source, "templates"), started)
            if quick is not None:
                return quick
        finally:
            rebuild.settle()
    try:
        return _build(settings, store, rebuild, started, progress)
    except BaseException:
        store.discard()  # a failed build leaves no cache entry behind
        raise


def _build(settings: Settings, store: cache.Store, rebuild: cache.Rebuild, started: float,
           progress: Progress) -> BuildReport:
    """Everything of `build` after the no-change check: read, render and write."""
    with _collector_paused(True):
        site = load_site(settings, store, rebuild.hashes, progress=progress)
        static = assets_mod.collect(theme_dirs(settings.source, "static"))
        library = images.collect(settings.source, static, site)
        env = render.environment(theme_dirs(settings.source, "templates"), site, static, library)
        pages = render.plan(site)
        _refuse_clashes(pages, static, library, site)
    with write.Transaction(settings.output, spare=rebuild.spare) as tx:  # staged in the output before last, kept in the cache
        progress.phase("copying static files and images", len(static) + library.file_count())
        errors = _publish_static(tx, static, progress)
        images.publish(tx, library, settings.output, progress)
        cards.publish(tx, library.cards, store, settings.jobs, progress)
        reads: dict[str, render.Fields] = {}
        unread = delta.unknown_reads(rebuild)  # rendered to learn what they read, once
        todo = list(rebuild.stale(deps.Inputs(env, static, library=library), pages, tx, unread))
        render.render_all(env, todo, _emitter(tx, errors), settings.jobs, reads, progress)
        if errors:
            raise BuildFailed(errors)
        extra = hosts.publish(tx, site, pages, static, library)
        # the search index reads the finished pages, so it runs last, still inside the staging folder
        previous = search.recall(store, tx.output)
        indexed, record = search.publish(tx, site, previous, progress)
        if record != previous:
            search.remember(store, tx.output, record)
        removed = len(tx.removed())
        progress.phase("writing")
    files = len(static) + library.file_count() + extra + len(indexed)
    rebuild.commit((len(pages), files), delta.save(store, rebuild, site, static, library, pages, reads), schedule(site))
    return BuildReport(len(pages), files, len(tx.changed), removed, time.perf_counter() - started, 0, *schedule(site))


def schedule(site: Site) -> tuple[int, dt.datetime | None]:
    """How many articles the site holds back, and when the first of them is due."""
    return len(site.scheduled), site.scheduled[0][1] if site.scheduled else None


def _refuse_clashes(pages: Iterable[Page], static: Mapping[str, Any], library: images.Library, site: Site) -> None:
    """Raise BuildFailed naming every source of each output path claimed twice (claims.py)."""
    clashing = claims.clashes(claims.of_build(pages, static, library, site))
    if clashing:
        raise BuildFailed(clashing)


def _publish_static(tx: write.Transaction, static: Mapping[str, Any], progress: Progress = NONE) -> list[SiteError]:
    """Copy every static file into the build; the problems of those that cannot be published."""
    errors = []
    for asset in static.values():
        try:
            tx.copy(asset.output, asset.source)
        except ValueError as exc:
            errors.append(SiteError(f"static/{asset.name}", 0, 0, f"{exc}; rename the file"))
        progress.advance()
    return errors


def _emitter(tx: write.Transaction, errors: list[SiteError]) -> Callable[[Page, str], None]:
    """Write each rendered page into the build, noting a path that cannot be published."""
    def emit(page: Page, text: str) -> None:
        try:
            tx.write(page.path, text.encode("utf-8"))
        except ValueError as exc:
            errors.append(SiteError(page.path, 0, 0, str(exc)))
    return emit


def rebuild(settings: Settings, state: State, changed: Iterable[str] | None = None, early: bool = False,
            written: Callable[[list[str]], None] = lambda paths: None) -> BuildReport | None:
    """Bring the output up to date with the sources, starting from what changed (a session's build).

    `state` is what the last build of the session read and made; `changed` names the paths
    changed since (None: unknown, so everything is read again). The records the changed files
    feed are made again, and each page is rendered again only when what it was made from changed
    (deps.stale): its template's part, the shape of its context, or a field it read of a record.
    After a few edits the pages are replaced in place; otherwise the output is staged whole and
    swapped in. With `early`, only an edit of one article's body is done, and None is returned
    for anything else, which then waits for the next build. `written` is told the pages replaced
    in place as soon as they are, before the search index follows. A failed build leaves the state
    and the output as they were.
    """
    started = time.perf_counter()
    write.check_output_folder(settings.output, settings.source)
    store = state.open_store(settings.output)
    if changed is not None and state.unsettled is not None:
        changed = state.unsettled | set(changed)
    else:
        changed = None
    kinds = None if changed is None else changes.classify(changed, BUNDLED)
    whole = state.records is None or kinds is None or any(c.kind in changes.FULL for c in kinds) \
        or not state.output_is_ours(settings.output) or _came_due(state.site)
    if early and (whole or not _front_as_before(settings, state, kinds)):
        return None
    try:
        records = None if whole else _update(settings, state, kinds)
        if records is None:
            if early:
                return None
            whole = True
            records = load(settings, store, state.hashes)
        done = _rebuild(settings, state, records, kinds, whole, early, started, written)
    except BaseException:
        store.discard()  # the cache entries of a failed build never reach the disk
        state.fragments.clear()  # nor its macros' output: the next build compares its records with the last good one's
        state.hashes = cache.Hashes(state.hashes.previous)  # nor its digests: the files may change before the next
        if not early:
            state.unsettled = None if changed is None else set(changed)
        raise
    if done is not None:
        state.unsettled = set()
    return done


def _front_as_before(settings: Settings, state: State, kinds: list[changes.Change]) -> bool:
    """Tell whether the change may be an edit of one article's body alone: one article file,
    there before and after, with the front matter it had. Reading that one file is all it takes,
    so an early build gives up at once on an edit that the full rebuild, soon after, must do."""
    if len(kinds) != 1 or kinds[0].kind is not changes.Kind.ARTICLE:
        return False
    rel = kinds[0].path
    before = state.records.raws.get(rel)
    if before is None:
        return False
    try:
        after = content.read_article(settings.source / rel, rel, state.records.limit)
    except (yaml12.LocatedProblem, OSError):
        return False
    return after.front == before.front and after.body_line == before.body_line


def _came_due(site: Site | None) -> bool:
    """Tell whether an article the last build held back as dated after it is due now: the
    sources then make another site, read whole."""
    return bool(site and site.scheduled) and dt.datetime.now(dt.timezone.utc) >= site.scheduled[0][1]


def _update(settings: Settings, state: State, kinds: list[changes.Change]) -> Records | None:
    """The records after the changes of these kinds, made from the last build's and the changed
    files alone; None when they need a full read (a folder moved, a link, new conversion settings)."""
    old = state.records
    site_yaml, mission_yaml = old.site_yaml, old.mission_yaml
    errors: list[SiteError] = []
    if any(c.kind in (changes.Kind.TEMPLATE, changes.Kind.STATIC, changes.Kind.STYLESHEET) for c in kinds):
        errors += content.theme_problems(settings.source)
    if any(c.kind is changes.Kind.MISSION for c in kinds):
        mission_yaml = None
        path = settings.source / "content" / "mission.yaml"
        try:
            mission_yaml = content.read_yaml_file(path, "content/mission.yaml", content.MAX_YAML_BYTES)
        except yaml12.LocatedProblem as exc:
            errors.append(exc.error)
        except OSError as exc:
            return None if not path.exists() else _raise_unreadable(path, exc)
    raws = dict(old.raws)  # in walk order: a folder's entries by name, each folder's files where it sorts
    for change in kinds:
        if change.kind is not changes.Kind.ARTICLE:
            continue
        path = settings.source / change.path
        if path.is_symlink() or any(p.is_symlink() for p in path.parents if p != settings.source and settings.source in p.parents):
            return None  # where links lead is for the full walk to check
        if not path.exists():
            raws.pop(change.path, None)
            continue
        if not path.is_file():
            return None
        try:
            raws[change.path] = content.read_article(path, change.path, old.limit).without_body()
        except yaml12.LocatedProblem as exc:
            raws.pop(change.path, None)
            errors.append(exc.error)
        except OSError as exc:
            raws.pop(change.path, None)
            errors.append(SiteError(change.path, 1, 1, f"cannot read: {exc.strerror or exc}"))
    if raws.keys() == old.raws.keys():  # the same files, in the order they were walked
        ordered = raws
    else:
        ordered = {rel: raws[rel] for rel in sorted(raws, key=lambda rel: rel.split("/"))}
    sources = content.Sources(site_yaml, mission_yaml, tuple(ordered.values()), tuple(errors))
    ids = lambda checked: ({m.id for m in checked.crew}, {e.id for e in checked.events})  # noqa: E731
    known = {meta.raw.source: meta for meta in (*old.checked.articles, *old.checked.scheduled)}
    try:
        checked = schema.check(sources, settings, known=known)
        if ids(checked) != ids(old.checked):
            checked = schema.check(sources, settings)  # articles name crew and events by id
    except BuildFailed as exc:
        raise BuildFailed(exc.errors + render.template_problems(theme_dirs(settings.source, "templates"))) from None
    how = cache.Conversion.of(checked.config.unsafe_html, mentions.crew_data(checked.crew, checked.config.base_path))
    if how.allow_html != old.conversion.allow_html:
        return None  # every body converts anew
    same = {source: body for source, body in old.converted.items()
            if source in ordered and ordered[source].digest == old.raws[source].digest}
    if how.crew_key != old.conversion.crew_key:
        for source in _mentioning(settings, old, how, same):
            del same[source]
    todo = [meta.raw for meta in checked.articles if meta.raw.source not in same]
    done = cache.convert_all(state.store, settings.source, todo, how, settings.jobs)

    def convert(raw: content.RawArticle) -> markup.Converted:
        if done[raw.digest] is None:
            raise RecursionError("nested too deeply to convert")
        return done[raw.digest]

    converted = _converted(settings, checked, convert, same)
    return _records(settings, site_yaml, mission_yaml, ordered, checked, converted, how, old.limit, old)


def _mentioning(settings: Settings, old: Records, how: cache.Conversion, bodies: Mapping[str, markup.Converted]) -> set[str]:
    """Of these bodies, converted as before, those that convert otherwise now that the crew
    changed: those that mention a member whose data changed, and, when names changed, those whose
    text holds a new name. Every other body converts exactly as before."""
    before = {person.id: person for person in old.conversion.crew.people}
    after = {person.id: person for person in how.crew.people}
    moved = {pid for pid in before.keys() | after.keys() if before.get(pid) != after.get(pid)}
    named = [after[pid] for pid in moved if pid in after and (pid not in before or before[pid].names != after[pid].names)]
    words = [[word.encode() for word in name.split()] for person in named for name in person.names]
    again = set()
    for source, body in bodies.items():
        if moved.intersection(body.mentions):
            again.add(source)
        elif words:  # a file holding every word of a new name may mention it; the others cannot
            data = (settings.source / source).read_bytes()
            if any(all(word in data for word in name) for name in words):
                again.add(source)
    return again


def _raise_unreadable(path: Path, exc: OSError) -> None:
    rel = "content/" + path.name
    raise BuildFailed([SiteError(rel, 1, 1, f"cannot read: {exc.strerror or exc}")])


def _rebuild(settings: Settings, state: State, records: Records, kinds: list[changes.Change] | None, whole: bool,
             early: bool, started: float, written: Callable[[list[str]], None]) -> BuildReport | None:
    """Everything of `rebuild` once the records are made: decide, render and write."""
    site = records.site
    old_site = state.site
    static = assets_mod.collect(theme_dirs(settings.source, "static"))
    library = state.library
    if whole or library is None or _pictures_named(old_site, site) or any(c.kind is changes.Kind.IMAGE for c in kinds):
        library = images.collect(settings.source, static, site)
    else:
        library = _with_cards(library, site, static)
    changed = deps.changed_records(old_site.articles if old_site else (), site.articles)
    changed.update(deps.changed_records(old_site.crew if old_site else (), site.crew))
    for code, view in site.views.items():  # a language's crew are records of their own (render.record_key)
        old_view = old_site.views.get(code) if old_site else None
        if view.crew is not site.crew:
            changed.update(deps.changed_records(old_view.crew if old_view else (), view.crew))
    renamed: dict[str, tuple[str, str]] = {}
    for name in static.keys() | state.static.keys():
        before, after = state.static.get(name), static.get(name)
        if before is None or after is None or before.output != after.output:
            changed[f"asset:{name}"] = {render.ANY} if before is None or after is None else {"output"}
            if before is not None and after is not None and _PLAIN.fullmatch(before.output) and _PLAIN.fullmatch(after.output):
                renamed[f"asset:{name}"] = (before.output, after.output)
    if early and not _one_body(changed, records):
        return None
    env = render.environment(theme_dirs(settings.source, "templates"), site, static, library, state.fragments)
    env.interned = state.interned
    inputs = deps.Inputs(env, static, library, recorded=True)
    state.fragments.begin(inputs.part, None if whole else changed)
    stands = _plan_stands(state, kinds, changed, site)  # every context is as planned last time, but for the changed records
    pages = list(state.pages.values()) if stands else render.plan(site, state.similar)
    parts = {template: inputs.part(template) for template in {page.template for page in pages}}
    stale = deps.Stale(changed, renamed)
    todo: list[Page] = []
    rename: list[Page] = []
    for page in pages:
        part = parts[page.template]
        decision = stale(state.pages.get(page.path), page, state.reads.get(page.path),
                         part is not None and state.parts.get(page.template) == part)
        if decision == deps.RENDER:
            todo.append(page)
        elif decision == deps.RENAME:
            rename.append(page)
    if stands and todo:
        current = {render.record_key(r): r for r in (*site.articles, *site.crew, *(m for v in site.views.values() for m in v.crew))}
        again = {page.path: dataclasses.replace(page, context=deps.repoint(page.context, current)) for page in todo}
        todo = list(again.values())
        pages = [again.get(page.path, page) for page in pages]
    planned = {page.path: page for page in pages}
    if not (planned.keys() == state.pages.keys() and _same_files(state, static, library)):  # else the last build's claims, which did not clash
        _refuse_clashes(pages, static, library, site)
    gone = [path for path in state.pages if path not in planned]
    names = {before: after for before, after in renamed.values()}
    fresh = whole or not state.output_is_ours(settings.output)
    staged = fresh or len(todo) > max(MAX_IN_PLACE, len(pages) // 5) or any(c.kind is changes.Kind.IMAGE for c in kinds) \
        or (library is not state.library and _copies(library) != _copies(state.library))
    reads: dict[str, render.Fields] = {}
    if staged:
        outcome, record = _write_whole(settings, state, site, static, library, env, pages, todo, rename, names, reads, fresh)
        written(list(outcome.rewritten))
    else:
        outcome = _write_in_place(settings, state, site, pages, static, library, env, todo, rename, names, gone, kinds, reads)
        written(list(outcome.rewritten))
    if not fresh:  # the pages are in place: index again the shards whose pages changed
        record = _index(settings, state, site, outcome, gone)
    files = len(static) + library.file_count() + len(hosts.FILES) + sum(len(files) for files in record.shards.values())
    outcome.rendered = len(todo)
    outcome.stylesheets = {before: after for before, after in names.items() if before.endswith(".css")}
    state.records = records
    state.static, state.library = static, library
    state.reads = {path: reads.get(path, state.reads.get(path)) for path in planned}
    state.pages, state.parts = planned, parts
    state.search = record
    state.output_id = identity(settings.output)
    state.hashes = cache.Hashes(state.hashes.current or state.hashes.previous)
    state.files = files
    state.last = outcome
    state.store.flush()
    return BuildReport(len(pages), files, len(outcome.rewritten), len(outcome.removed), time.perf_counter() - started,
                       1 if early else 0, *schedule(site))


MAX_IN_PLACE = 64
"""A rebuild that renders more pages than this, and more than a fifth of the site, stages the
whole output and swaps it in, so that readers see the site before or after it; a smaller one
replaces each file in place, which is quicker than staging thousands of unchanged files."""
_PLAIN = re.compile(r"[A-Za-z0-9._/-]+")
"""Static paths that appear in pages as written (url() quotes nothing in them, HTML escapes nothing)."""


def _same_files(state: State, static: Mapping[str, Any], library: images.Library) -> bool:
    """Tell whether the static files and image copies claim the output paths they claimed last time."""
    return state.library is not None and library.pictures is state.library.pictures \
        and library.originals is state.library.originals \
        and {a.output for a in static.values()} == {a.output for a in state.static.values()}


def _pictures_named(old: Site | None, new: Site) -> bool:
    """Tell whether the images the articles name may differ (the library must be made again)."""
    if old is None:
        return True
    before = {a.source: a for a in old.articles}
    for article in new.articles:
        was = before.pop(article.source, None)
        if was is article:
            continue
        if was is None or (was.image, was.body.images) != (article.image, article.body.images):
            if article.image or article.body.images or (was is not None and (was.image or was.body.images)):
                return True
    return any(a.image or a.body.images for a in before.values())


def _with_cards(library: images.Library, site: Site, static: Mapping[str, Any]) -> images.Library:
    """The last build's images with the cards this site needs: the same library when every card
    is as before, else a copy holding the new deck (titles, dates, roles or colours changed)."""
    deck = images.deck(site, static, library)
    if {card.page: card.output for card in deck} == {card.page: card.output for card in library.cards}:
        return library
    fresh = images.Library()
    fresh.pictures, fresh.originals, fresh.cards = library.pictures, library.originals, deck
    return fresh


def _copies(library: images.Library) -> set[str]:
    """The image files a library adds to the output besides its cards, which a rebuild in place
    can bring up to date itself (cards.patch)."""
    return library.outputs() - {card.output for card in library.cards}


def _plan_stands(state: State, kinds: list[changes.Change] | None, changed: Mapping[str, set[str]], site: Site) -> bool:
    """Tell whether the last build's plan holds: only templates, static files, articles' fields
    that planning does not read (render.PLAN_FIELDS) or crew members' fields it does not read changed."""
    if kinds is None or not state.pages or any(c.kind not in _PLAN_KEEPS for c in kinds):
        return False
    if any(c.kind is changes.Kind.MISSION for c in kinds) and not _crew_alone(state.site, site):
        return False
    return all(key.startswith(("asset:", "crew:")) or not (fields & render.PLAN_FIELDS or render.ANY in fields)
               for key, fields in changed.items())


def _crew_alone(old: Site, new: Site) -> bool:
    """Tell whether mission.yaml changed nothing planning reads: the same events and mission, the
    same crew members in the same places, each with the same URL. (A site in several languages
    plans each language's mission data into its pages.)"""
    def crew(site: Site) -> list[tuple]:
        return [(member.id, member.url, member.place) for member in site.crew]
    return not old.config.languages and not new.config.languages and old.events == new.events \
        and old.data.get("mission") == new.data.get("mission") and crew(old) == crew(new)


_PLAN_KEEPS = frozenset({changes.Kind.ARTICLE, changes.Kind.MISSION, changes.Kind.TEMPLATE, changes.Kind.STATIC,
                         changes.Kind.STYLESHEET})


def _one_body(changed: Mapping[str, set[str]], records: Records) -> bool:
    """Tell whether the changes are an edit of one article's body alone, without references."""
    if len(changed) != 1:
        return False
    (key, fields), = changed.items()
    body = records.converted.get(key)
    return body is not None and not body.refs and render.ANY not in fields and fields <= render.BODY_FIELDS


def _renamed(data: bytes, names: Mapping[str, str]) -> bytes:
    """A page's bytes with the new fingerprinted names of renamed static files put in."""
    for before, after in names.items():
        data = data.replace(before.encode(), after.encode())
    return data


def _write_whole(settings: Settings, state: State, site: Site, static: dict, library: images.Library, env: render.Environment,
                 pages: list[Page], todo: list[Page], rename: list[Page], names: Mapping[str, str],
                 reads: dict[str, render.Fields], fresh: bool) -> tuple[Outcome, search.Record]:
    """Stage the whole output in the session's spare folder, keeping the files of pages that need
    nothing, and swap it in. The index is made there too when the output is `fresh` (the state
    cannot vouch for it); otherwise its files are kept, for `_index` to bring up to date."""
    output = settings.output.absolute()
    again = {page.path for page in todo}
    record = state.search
    with write.Transaction(settings.output, reuse=True) as tx:
        errors = _publish_static(tx, static)
        images.publish(tx, library, settings.output)
        cards.publish(tx, library.cards, state.store)
        renamed: set[str] = set()
        for page in rename:
            try:
                data = (output / page.path).read_bytes()
            except OSError:
                todo.append(page)
                continue
            tx.write(page.path, _renamed(data, names))
            renamed.add(page.path)
        for page in pages:
            if page.path not in again and page.path not in renamed and not tx.keep(page.path):
                todo.append(page)
        render.render_all(env, todo, _emitter(tx, errors), 1, reads)
        if errors:
            raise BuildFailed(errors)
        hosts.publish(tx, site, pages, static, library)
        if fresh:
            _, record = search.publish(tx, site, state.search)
        else:
            for rel in sorted({rel for files in record.shards.values() for rel in files}):
                if not tx.keep(rel):
                    raise BuildFailed([SiteError(rel, 0, 0, "removed from the output during the build; build again")])
        removed = tx.removed()
        outcome = Outcome(rewritten={rel: ASSETS if rel in renamed else CONTENT for rel in tx.changed}, removed=removed)
    return outcome, record


def _write_in_place(settings: Settings, state: State, site: Site, pages: list[Page], static: dict, library: images.Library,
                    env: render.Environment, todo: list[Page], rename: list[Page], names: Mapping[str, str], gone: list[str],
                    kinds: list[changes.Change], reads: dict[str, render.Fields]) -> Outcome:
    """Replace the few files that change in the finished output, each atomically (write.patch); in
    pages that only name renamed static files, put the new names in place. The host files
    (`_redirects`, `_headers`) are written again when what they list changed."""
    output = settings.output.absolute()
    removes = list(gone)
    if any(c.kind in (changes.Kind.STATIC, changes.Kind.STYLESHEET) for c in kinds):
        published = {asset.output for asset in static.values()}
        removes += [asset.output for asset in state.static.values() if asset.output not in published]
    renamed: set[str] = set()
    with write.BuildLock.held(output):
        with write.Patch(output) as batch:
            if any(c.kind in (changes.Kind.STATIC, changes.Kind.STYLESHEET) for c in kinds):
                for asset in static.values():
                    batch.write(asset.output, asset.source.read_bytes())
            if library.cards is not state.library.cards:
                removes += cards.patch(batch, state.library.cards, library.cards, state.store)
            render.render_all(env, todo, lambda page, text: batch.write(page.path, text.encode("utf-8")), 1, reads)
            for rel, data in hosts.host_files(site, pages, static, library).items():
                batch.write(rel, data)
            for rel in removes:
                batch.remove(rel)
            written = batch.commit()
        if names:  # the new static files are in place: put their names into the pages
            swap = {before.encode(): after.encode() for before, after in names.items()}
            for page in rename:
                if write.rename_in_place(output, page.path, swap) is not None:
                    renamed.add(page.path)
    return Outcome(rewritten={rel: ASSETS if rel in renamed else CONTENT for rel in [*written, *sorted(renamed)]},
                   removed=sorted(removes))


def _index(settings: Settings, state: State, site: Site, outcome: Outcome, gone: list[str]) -> search.Record:
    """Index again, in place, the search shards whose pages this build changed (search.Update)."""
    output = settings.output.absolute()
    after = search.Shards.of(site)
    members = {rel for pages in after.layout.values() for rel in pages}
    changed = {rel for rel, kind in outcome.rewritten.items() if rel in members and kind == CONTENT}
    renamed = {rel for rel, kind in outcome.rewritten.items() if rel in members and kind == ASSETS}
    update = search.Update(output, search.Shards.of(state.site), after, state.search, changed, renamed)
    try:
        with write.BuildLock.held(output), write.Patch(output) as batch:
            _, removes = update.finish(batch)
            written = batch.commit()
    finally:
        update.stop()
    outcome.rewritten.update((rel, CONTENT) for rel in written)
    outcome.removed = sorted(set(outcome.removed) | set(removes))
    return update.commit(gone)
