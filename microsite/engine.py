"""One build from start to end: read everything, check it, convert, render, write."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .output import assets as assets_mod
from .rebuild import cache, delta, deps, preview
from .features import i18n
from .source import content, schema, yaml12
from .output import cards, claims, hosts, images, search, write
from .markdown import markup, mentions
from .render import render
from .errors import BuildFailed, SiteError
from .rebuild.incremental import Memo
from .model import Settings, Site
from .progress import NONE, Progress

BUNDLED = Path(__file__).resolve().parent / "theme"
"""The bundled theme, shipped inside the package: its `templates/` and `static/` are the defaults a site overrides file by file."""


@dataclass(frozen=True)
class Report:
    """What a finished build did, for the summary line."""

    pages: int
    assets: int
    changed: int
    removed: int
    seconds: float
    edited: int = 0
    """Articles whose body alone changed, when the build rendered only the pages that read them (delta.py)."""
    scheduled: int = 0
    """Articles held back because they are dated after the build."""
    due: dt.datetime | None = None
    """When the first of them is due: the first build after then publishes it."""

    def summary(self) -> str:
        how = f", from {self.edited} edited article bod{'ies' if self.edited != 1 else 'y'}" if self.edited else ""
        held = ""
        if self.scheduled and self.due:
            held = (f"; {self.scheduled} scheduled article{'s' if self.scheduled != 1 else ''} held back, "
                    f"the next due {self.due:%Y-%m-%d %H:%M} UTC")
        return (f"built {self.pages} pages and {self.assets} static files in {self.seconds:.2f} s{how} "
                f"({self.changed} written, {self.pages + self.assets - self.changed} unchanged, {self.removed} removed){held}")


def theme_dirs(source: Path, name: str) -> list[Path]:
    """Folders to look in for templates or static files: the site's own first, then the bundled ones."""
    dirs = [source / name, BUNDLED / name]
    unique: list[Path] = []
    for folder in dirs:
        if folder.is_dir() and folder.resolve() not in [d.resolve() for d in unique]:
            unique.append(folder)
    return unique


def load_site(settings: Settings, memo: Memo | None = None, store: cache.Store | None = None,
              hashes: cache.Hashes | None = None, warnings: list[SiteError] | None = None,
              progress: Progress = NONE, now: dt.datetime | None = None) -> Site:
    """Read and validate the sources and convert every article; raise BuildFailed on any problem.

    Content problems are reported together with template syntax errors, so one run shows all.
    With a `store` (the build cache on disk), unchanged articles are neither parsed nor converted
    again, and the rest are converted in worker processes (`settings.jobs`); a `memo` keeps what
    it read and converted in memory for the next build of a session. A `warnings` list (`check`)
    receives the problems that `check` reports as warnings rather than errors. `progress` hears of
    the articles read and converted. Articles dated after `now` (by default, the time of the call)
    are held back unless `settings.future`.
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
            sources = content.read_sources(settings.source, settings.max_article_bytes, memo=reader, data_read=data_read,
                                           progress=progress)
            parsed = memo.disk if memo else reader
            if parsed:
                parsed.finish()
            checked = schema.check(sources, settings, now)
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
    progress.phase("converting", len(checked.articles))
    if converter:
        converter.prepare((meta.raw for meta in checked.articles), allow_html, crew, progress)
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
        if not converter:  # the converter counted its bodies as they came
            progress.advance()
    if errors:
        raise BuildFailed(errors)
    linked = frozenset(ref.target for body in converted.values() for ref in body.refs if ref.kind in ("article", "file"))
    converted = mentions.resolve_site(checked, converted, lambda raw: content.body_text(settings.source, raw), warnings)
    site = dataclasses.replace(schema.assemble(checked, converted), linked=linked)
    strings = interface_strings(settings.source, site.config)
    views = {code: dataclasses.replace(view, config=dataclasses.replace(view.config, strings=strings)) for code, view in site.views.items()}
    return dataclasses.replace(site, config=dataclasses.replace(site.config, strings=strings), views=views)


def interface_strings(source: Path, config) -> i18n.Strings:
    """Read each language's interface strings, the site's `i18n/<code>.yaml` over the theme's."""
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


def build(settings: Settings, memo: Memo | None = None, progress: Progress = NONE) -> Report:
    """Build the site into the output folder; on any problem the previous output stays as it was.

    With a `memo` from the previous build, pages whose inputs did not change are carried over
    instead of rendered (watch and serve); the output is the same as without one. `progress`
    hears of each phase of a full build and its steps.
    """
    started = time.perf_counter()
    write.check_output_folder(settings.output, settings.source)
    if memo:
        memo.abandon()
    rebuild = None
    # the cache on disk, beside the output: every single build uses it, a session its first build
    store = cache.Store.beside(settings.output) if not memo or memo.built is None else None
    if not memo:
        folders = [settings.source / "content", *theme_dirs(settings.source, "templates"), *theme_dirs(settings.source, "static"),
                   *theme_dirs(settings.source, "i18n")]
        with write.BuildLock.held(settings.output), _collector_paused(True):
            rebuild = cache.Rebuild(store, settings, folders)
            try:
                if rebuild.unchanged():
                    pages, files = rebuild.counts
                    return Report(pages, files, 0, 0, time.perf_counter() - started, 0, *rebuild.schedule)
                quick = delta.attempt(settings, store, rebuild, theme_dirs(settings.source, "templates"), started)
                if quick is not None:
                    return quick
            finally:
                rebuild.settle()
    try:
        return _build(settings, memo, store, rebuild, started, progress)
    except BaseException:
        if store:
            store.discard()  # a failed build leaves no cache entry behind
        raise


def _build(settings: Settings, memo: Memo | None, store: cache.Store | None, rebuild: cache.Rebuild | None,
           started: float, progress: Progress) -> Report:
    """Everything of `build` after the no-change check: read, render and write."""
    with _collector_paused(memo is None):
        site = load_site(settings, memo, store, rebuild.hashes if rebuild else None, progress=progress)
        static = assets_mod.collect(theme_dirs(settings.source, "static"))
        library = images.collect(settings.source, static, site)
        env = render.environment(theme_dirs(settings.source, "templates"), site, static, library)
        pages = render.plan(site)
        clashing = claims.clashes(claims.of_build(pages, static, library, site))
        if clashing:
            raise BuildFailed(clashing)
    spare = None if memo else rebuild.spare  # a single build stages in the output before last, kept in the cache
    with write.Transaction(settings.output, reuse=memo is not None, spare=spare) as tx:
        errors: list[SiteError] = []
        progress.phase("copying static files and images", len(static) + library.file_count())
        for asset in static.values():
            try:
                tx.copy(asset.output, asset.source)
            except ValueError as exc:
                errors.append(SiteError(f"static/{asset.name}", 0, 0, f"{exc}; rename the file"))
            progress.advance()
        images.publish(tx, library, settings.output, progress)
        cards.publish(tx, library.cards, store, 1 if memo else settings.jobs, progress)

        def emit(page, text: str) -> None:
            try:
                tx.write(page.path, text.encode("utf-8"))
            except ValueError as exc:
                errors.append(SiteError(page.path, 0, 0, str(exc)))

        reads: dict[str, frozenset[str]] = {}
        if memo:  # a session runs other threads (watcher, server), which forked workers must not inherit
            todo, workers = memo.stale(env, static, library, pages, tx), 1
        else:
            unread = delta.unknown_reads(rebuild)  # rendered to learn what they read, once
            todo, workers = list(rebuild.stale(deps.Inputs(env, static, library=library), pages, tx, unread)), settings.jobs
        render.render_all(env, todo, emit, workers, reads, progress)
        if errors:
            raise BuildFailed(errors)
        extra = hosts.publish(tx, site, pages, static, library)
        # the search index reads the finished pages, so it runs last, still inside the staging folder
        indexed = search.publish(tx, site, store if rebuild else None, memo.search if memo else None, progress)
        gone = tx.removed()
        removed = len(gone)
        if memo:
            memo.classify(tx, gone)
        progress.phase("writing")
    files = len(static) + library.file_count() + extra + len(indexed)
    if memo:
        memo.commit(settings.output)
        if store:
            store.flush()
        memo.built = preview.remember(site, env, pages, mentions.crew_data(site.crew, site.config.base_path), memo.limit)
    else:
        rebuild.commit((len(pages), files), delta.save(store, rebuild, site, static, library, pages, reads), schedule(site))
    return Report(len(pages), files, len(tx.changed), removed, time.perf_counter() - started, 0, *schedule(site))


def schedule(site: Site) -> tuple[int, dt.datetime | None]:
    """How many articles the site holds back, and when the first of them is due."""
    return len(site.scheduled), site.scheduled[0][1] if site.scheduled else None
