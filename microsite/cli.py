"""The command line: parse arguments, call the engine, map problems to exit statuses.

`microsite [build] [options]` builds. This module owns every command's arguments; each command's
work is a plain function in the module that owns it, imported when the command runs, so a command
pays only for what it uses (`deploy` never loads the Markdown and template engines).
"""

from __future__ import annotations

import argparse
import functools
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Callable

from . import __version__, progress
from .errors import BuildFailed, UsageError
from .model import Settings

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2


def add_site_options(p: argparse.ArgumentParser) -> None:
    """Options every command that reads a site shares."""
    p.add_argument("--source", type=Path, default=Path("."), metavar="DIR",
                   help="folder holding content/ (and optional templates/, static/ overrides); default: here")
    p.add_argument("--output", type=Path, default=None, metavar="DIR", help="where the site is written; default: SOURCE/output")
    p.add_argument("--base-url", default=None, metavar="URL", help="override base_url from content/site.yaml")
    p.add_argument("--drafts", action="store_true", help="also publish articles marked draft: true")
    p.add_argument("--future", action="store_true",
                   help="also publish articles dated in the future (by default each waits for the first build after its date)")
    p.add_argument("--max-article-bytes", type=_positive, default=None, metavar="N",
                   help="report articles larger than N bytes instead of parsing them (default: site.yaml max_article_bytes, or 5 MB)")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                   help="worker processes converting Markdown; default: one per core, 1: all in this process")


def _positive(text: str) -> int:
    """Parse a whole number above zero for the command line."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not above 0")
    return value


def settings_from(args: argparse.Namespace) -> Settings:
    """Turn parsed arguments into build settings."""
    source = args.source.resolve()
    if not source.is_dir():
        raise UsageError(f"source folder {source} does not exist")
    output = (args.output if args.output is not None else source / "output").absolute()
    jobs = getattr(args, "jobs", 0)
    if jobs < 0:
        raise UsageError("--jobs must be 0 (one per core) or more")
    return Settings(source=source, output=output, base_url=args.base_url, drafts=args.drafts, future=args.future,
                    max_article_bytes=getattr(args, "max_article_bytes", None), jobs=jobs)


def report_failure(exc: BuildFailed) -> None:
    """Print every problem of a failed build, then one summary line."""
    for error in exc.errors:
        print(error, file=sys.stderr)
    count = len(exc.errors)
    print(f"microsite: build failed with {count} problem{'s' if count != 1 else ''}; output left as it was", file=sys.stderr)


def cmd_build(args: argparse.Namespace) -> int:
    """Build the site once, showing its progress on a terminal when it takes a while."""
    from . import engine

    settings = settings_from(args)
    shown = progress.Line(sys.stderr) if not args.quiet and sys.stderr.isatty() else progress.NONE
    try:
        report = engine.build(settings, progress=shown)
    finally:
        shown.close()
    if not args.quiet:
        print(f"microsite: {report.summary()} -> {settings.output}")
    return EXIT_OK


def add_new_options(p: argparse.ArgumentParser) -> None:
    """Arguments of `new site`, `new article` and `new crew`; each kind's `run` takes the place of the command's."""
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    site = kinds.add_parser("site", help="start a site in a new or empty folder", description="start a site in a new or empty "
                            "folder: content/ with a sample article, .gitignore, and a GitHub Pages workflow")
    site.add_argument("folder", type=Path, metavar="DIR", help="the folder to create; it may exist if it is empty")
    site.set_defaults(run=cmd_new_site)
    for kind, help_text, argument, run in (("article", "create a draft article dated today", "TITLE", cmd_new_article),
                                           ("crew", "append a crew member to content/mission.yaml", "NAME", cmd_new_crew)):
        command = kinds.add_parser(kind, help=help_text, description=help_text)
        command.add_argument("title", metavar=argument, help=f"the {'article' if kind == 'article' else 'crew member'}'s "
                                                          f"{argument.lower()}, in any script")
        command.add_argument("--source", type=Path, default=Path("."), metavar="DIR", help="folder holding content/; default: here")
        command.set_defaults(run=run)
        if kind == "article":
            command.add_argument("--lang", metavar="CODE", help="write a translation into this language of the site (with --of)")
            command.add_argument("--of", metavar="SLUG", help="the article to translate: its file name without .md, or its slug")


def cmd_new_site(args: argparse.Namespace) -> int:
    """Create a site and say how to go on."""
    from . import scaffold

    written = scaffold.new_site(args.folder)
    folder = args.folder.absolute()
    print(f"microsite: created a site in {folder}: " + ", ".join(p.relative_to(folder).as_posix() for p in written))
    print(f"next: cd {shlex.quote(str(args.folder))} && microsite serve   (then edit content/, and push to GitHub to publish with Pages)")
    return EXIT_OK


def _site_source(args: argparse.Namespace) -> Path:
    source = args.source.resolve()
    if not (source / "content").is_dir():
        raise UsageError(f"no content/ folder in {source}; pass --source DIR pointing at the site")
    return source


def cmd_new_article(args: argparse.Namespace) -> int:
    """Create a draft article and say where it went."""
    from . import scaffold

    if bool(args.lang) != bool(args.of):
        raise UsageError("a translation needs both --lang CODE and --of SLUG")
    if args.lang:
        path = scaffold.new_translation(_site_source(args), args.title, args.lang, args.of)
    else:
        path = scaffold.new_article(_site_source(args), args.title)
    print(f"microsite: wrote {path} (draft: true; build with --drafts to preview)")
    return EXIT_OK


def cmd_new_crew(args: argparse.Namespace) -> int:
    """Append a crew member and say where."""
    from . import scaffold

    path, member_id = scaffold.new_crew(_site_source(args), args.title)
    print(f"microsite: added crew member {member_id!r} to {path}; fill in role and bio")
    return EXIT_OK


def add_serve_options(p: argparse.ArgumentParser) -> None:
    """Options of `serve`: the site's, plus where to listen."""
    add_site_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on; default 127.0.0.1 (this machine only)")
    p.add_argument("--port", type=port_number, default=8000, help="port to listen on; 0 picks a free one; default 8000")


def port_number(text: str) -> int:
    """A TCP port, 0 for any free one."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return int(text)


def add_check_options(p: argparse.ArgumentParser) -> None:
    """Options of `check`: those of a build, plus --strict."""
    add_site_options(p)
    p.add_argument("--strict", action="store_true", help="treat warnings (alt text, broken links) as errors")


def cmd_check(args: argparse.Namespace) -> int:
    """Run every check of a build plus links and anchors, writing nothing."""
    from . import check

    return check.run(settings_from(args), strict=args.strict, quiet=args.quiet)


def add_deploy_check_options(p: argparse.ArgumentParser) -> None:
    """Options of `deploy-check`."""
    p.add_argument("--source", type=Path, default=Path("."), metavar="DIR", help="folder holding content/; default: here")
    p.add_argument("--subpath", default="/microsite-check/", metavar="PATH", help="where nginx serves the site; default: /microsite-check/")


def cmd_deploy_check(args: argparse.Namespace) -> int:
    """Build for a subpath, serve it with nginx and crawl it."""
    from . import deploycheck

    return deploycheck.run(args.source, args.subpath)


def cmd_watch(args: argparse.Namespace) -> int:
    """Build, then rebuild on every change."""
    from .live import watch

    return watch.run(settings_from(args))


def cmd_serve(args: argparse.Namespace) -> int:
    """Build, serve on loopback, rebuild on every change and reload the browser."""
    from .live import serve

    return serve.run(settings_from(args), args.host, args.port)


def _count(text: str) -> int:
    """Parse a whole number of zero or more for the command line."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return int(text)


def add_deploy_options(p: argparse.ArgumentParser) -> None:
    """Options of `deploy`: the site's (for --build and the folder to publish), and the storage's."""
    add_site_options(p)
    p.add_argument("target", nargs="?", default=None, metavar="s3://BUCKET[/PREFIX]",
                   help="where to publish; default: deploy: target: in content/site.yaml")
    p.add_argument("--endpoint-url", default=None, metavar="URL",
                   help="S3-compatible storage to use instead of AWS (also AWS_ENDPOINT_URL, or deploy: endpoint_url:)")
    p.add_argument("--region", default=None, help="the bucket's region (default: boto3's, e.g. AWS_REGION)")
    p.add_argument("--profile", default=None, help="AWS profile to take credentials from (default: boto3's, e.g. AWS_PROFILE)")
    p.add_argument("--dry-run", action="store_true", help="print what would be uploaded and deleted, change nothing")
    p.add_argument("--max-deletes", type=_count, default=None, metavar="N",
                   help="refuse (exit 2, changing nothing) to delete more than N objects; default 256")
    p.add_argument("--uploads", type=_positive, default=None, metavar="N", help="transfers at the same time; default 8")
    p.add_argument("--build", action="store_true", help="build the site first (default: publish the output folder as it is)")


def cmd_deploy(args: argparse.Namespace) -> int:
    """Publish the built site to S3 or S3-compatible storage, uploading only what changed."""
    from . import deploy

    settings = settings_from(args)
    if args.build:
        cmd_build(args)
    return deploy.run(settings.source, settings.output, args.target, args.endpoint_url, args.region, args.profile,
                      args.dry_run, args.max_deletes, args.uploads, args.quiet)


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "build": ("build the site into the output folder (the default command)", add_site_options, cmd_build),
    "check": ("run every check of a build plus links and anchors, writing nothing", add_check_options, cmd_check),
    "serve": ("build, serve the site on http://127.0.0.1:8000/ and reload the browser on every change", add_serve_options, cmd_serve),
    "watch": ("build, then rebuild on every change to content/, templates/ or static/", add_site_options, cmd_watch),
    "deploy-check": ("build for a subpath, serve it with nginx on loopback and check every link through it",
                     add_deploy_check_options, cmd_deploy_check),
    "deploy": ("publish the built site to S3 or S3-compatible storage: deploy s3://BUCKET[/PREFIX]",
               add_deploy_options, cmd_deploy),
    "new": ("start a site, or add to one: new site DIR | new article \"Title\" [--lang ru --of slug] | new crew \"Name\"", add_new_options, cmd_new_site),
}
"""name -> (help, add its options, run it)."""


@functools.cache
def parser() -> argparse.ArgumentParser:
    """Describe the command line; made once a process, as parsing leaves it as it was."""
    p = argparse.ArgumentParser(
        prog="microsite",
        description="Build a static microsite from Markdown articles and a crew/mission YAML file.",
    )
    p.add_argument("--version", action="version", version=f"microsite {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_options, run) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        add_options(command)
        command.set_defaults(run=run)
    return p


def _terminated(signum, frame) -> None:
    """Treat `kill` (SIGTERM) like Ctrl-C, so a build stopped either way cleans up after itself."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "build")
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"microsite: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BuildFailed as exc:
        report_failure(exc)
        return EXIT_CONTENT
    except KeyboardInterrupt:
        print("microsite: interrupted; output left as it was", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"microsite: error: {exc}; output left as it was", file=sys.stderr)
        return EXIT_CONTENT


if __name__ == "__main__":
    sys.exit(main())
