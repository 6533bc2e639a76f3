"""One build from start to end: read everything, check it, convert, render, write."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import time
from pathlib import Path
from typing import Iterator

from .output import assets as assets_mod
from .rebuild import cache, delta, deps, preview
from .source import content, schema
from .output import images, search, write
from .markdown import markup, mentions
from .render import render
from .errors import BuildFailed, SiteError
from .rebuild.incremental import Memo
from .model import BuildReport, Settings, Site

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


def load_site(settings: Settings, memo: Memo | None = None, store: cache.Store | None = None,
              hashes: cache.Hashes | None = None) -> Site:
    """Read and validate the sources and convert every article; raise BuildFailed on any problem.

    Content problems are reported together with template syntax errors, so one run shows all.
    With a `store` (the build cache on disk), unchanged articles are neither parsed nor converted
    again, and the rest are converted in worker processes (`settings.jobs`); a `memo` keeps what
    it read and converted in memory for the next build of a session.
    """
    problems = content.theme_problems(settings.source)
    converter = cache.Converter(store, settings.source, settings.jobs) if store else None
    if memo:  # given a store, a session's first build reads and converts through the cache on disk
        memo.disk = cache.Articles(store, hashes) if store else None
        memo.converter = None
        reader, data_read = memo, None
    elif converter:  # a single build converts each article as it is read, while it reads the next
        reader = cache.Articles(store, hashes, bodies=False, then=converter.submit)
        data_read = lambda site, mission: _start_early(converter, site, mission, settings)  # noqa: E731
    else:
        reader, data_read = None, None
    try:
        try:
            sources = content.read_sources(settings.source, settings.max_article_bytes, memo=reader, data_read=data_read)
            parsed = memo.disk if memo else reader
            if parsed:
                parsed.finish()
            checked = schema.check(sources, settings)
        except BuildFailed as exc:
            problems += exc.errors
        if problems:
            raise BuildFailed(problems + render.template_problems(theme_dirs(settings.source, "templates")))
    except BaseException:
        if converter:
            converter.close()  # stop converting early for a build that cannot go on
        raise
    allow_html = checked.config.unsafe_html
    crew = mentions.crew_data(checked.crew, checked.config.base_path)
    convert = (lambda raw: memo.convert(raw.body, allow_html, crew)) if memo else (lambda raw: markup.convert(raw.body, allow_html, crew))
    if converter:
        converter.prepare((meta.raw for meta in checked.articles), allow_html, crew)
        if memo:
            memo.converter = converter
        else:
            convert = lambda raw: converter.result(raw, allow_html, crew)  # noqa: E731
    elif memo:
        memo.prepare((meta.raw.body for meta in checked.articles), allow_html, crew, settings.jobs)
    converted = {}
    errors = []
    for meta in checked.articles:
        try:
            converted[meta.raw.source] = convert(meta.raw)
        except RecursionError:
            body = content.body_text(settings.source, meta.raw)
            first = meta.raw.body_line + len(body) - len(body.lstrip("\n"))
            errors.append(SiteError(meta.raw.source, first, 1, "Markdown nested too deeply to convert "
                                    "(emphasis, links or lists inside each other hundreds of times); flatten it"))
    if errors:
        raise BuildFailed(errors)
    linked = frozenset(ref.target for body in converted.values() for ref in body.refs if ref.kind == "article")
    converted = mentions.resolve_site(checked, converted, lambda raw: content.body_text(settings.source, raw))
    return dataclasses.replace(schema.assemble(checked, converted), linked=linked)


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


def build(settings: Settings, memo: Memo | None = None) -> BuildReport:
    """Build the site into the output folder; on any problem the previous output stays as it was.

    With a `memo` from the previous build, pages whose inputs did not change are carried over
    instead of rendered (watch and serve); the output is the same as without one.
    """
    started = time.perf_counter()
    write.check_output_folder(settings.output, settings.source)
    if memo:
        memo.abandon()
    rebuild = None
    # the cache on disk, beside the output: every single build uses it, a session its first build
    store = cache.Store.beside(settings.output) if not memo or memo.built is None else None
    if not memo:
        folders = [settings.source / "content", *theme_dirs(settings.source, "templates"), *theme_dirs(settings.source, "static")]
        with write.BuildLock.held(settings.output), _collector_paused(True):
            rebuild = cache.Rebuild(store, settings, folders)
            try:
                if rebuild.unchanged():
                    pages, files = rebuild.counts
                    return BuildReport(pages, files, 0, 0, time.perf_counter() - started)
                quick = delta.attempt(settings, store, rebuild, theme_dirs(settings.source, "templates"), started)
                if quick is not None:
                    return quick
            finally:
                rebuild.settle()
    try:
        return _build(settings, memo, store, rebuild, started)
    except BaseException:
        if store:
            store.discard()  # a failed build leaves no cache entry behind
        raise


def _build(settings: Settings, memo: Memo | None, store: cache.Store | None, rebuild: cache.Rebuild | None,
           started: float) -> BuildReport:
    """Everything of `build` after the no-change check: read, render and write."""
    with _collector_paused(memo is None):
        site = load_site(settings, memo, store, rebuild.hashes if rebuild else None)
        static = assets_mod.collect(theme_dirs(settings.source, "static"))
        library = images.collect(settings.source, static, site.articles)
        env = render.environment(theme_dirs(settings.source, "templates"), site, static, library)
        pages = render.plan(site)
    spare = None if memo else rebuild.spare  # a single build stages in the output before last, kept in the cache
    with write.Transaction(settings.output, reuse=memo is not None, spare=spare) as tx:
        errors: list[SiteError] = []
        for asset in static.values():
            try:
                tx.copy(asset.output, asset.source)
            except ValueError as exc:
                errors.append(SiteError(f"static/{asset.name}", 0, 0, f"{exc}; rename the file"))
        images.publish(tx, library, settings.output)

        def emit(page, text: str) -> None:
            try:
                tx.write(page.path, text.encode("utf-8"))
            except ValueError as exc:
                errors.append(SiteError(page.path, 0, 0, str(exc)))

        reads: dict[str, frozenset[render.Read]] = {}
        if memo:  # a session runs other threads (watcher, server), which forked workers must not inherit
            todo, workers = memo.stale(env, static, library, pages, tx), 1
        else:
            unread = delta.unknown_reads(rebuild)  # rendered to learn what they read, once
            todo, workers = list(rebuild.stale(deps.Inputs(env, static, library=library), pages, tx, unread)), settings.jobs
        render.render_all(env, todo, emit, workers, reads)
        if errors:
            raise BuildFailed(errors)
        # the search index reads the finished pages, so it runs last, still inside the staging folder
        indexed = search.publish(tx, site, store if rebuild else None, memo.search if memo else None)
        gone = tx.removed()
        removed = len(gone)
        if memo:
            memo.classify(tx, gone)
    files = len(static) + library.file_count() + len(indexed)
    if memo:
        memo.commit(settings.output)
        if store:
            store.flush()
        memo.built = preview.remember(site, env, pages, mentions.crew_data(site.crew, site.config.base_path), memo.limit)
    else:
        rebuild.commit((len(pages), files), delta.save(store, rebuild, site, static, library, pages, reads))
    return BuildReport(len(pages), files, len(tx.changed), removed, time.perf_counter() - started)
