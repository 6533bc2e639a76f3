"""The command line: parse arguments, call the engine, map problems to exit statuses.

`microsite [build] [options]` builds; other commands register themselves in COMMANDS.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Callable

from . import __version__, check, deploycheck, engine, scaffold
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
    return Settings(source=source, output=output, base_url=args.base_url, drafts=args.drafts,
                    max_article_bytes=getattr(args, "max_article_bytes", None), jobs=jobs)


def report_failure(exc: BuildFailed) -> None:
    """Print every problem of a failed build, then one summary line."""
    for error in exc.errors:
        print(error, file=sys.stderr)
    count = len(exc.errors)
    print(f"microsite: build failed with {count} problem{'s' if count != 1 else ''}; output left as it was", file=sys.stderr)


def cmd_build(args: argparse.Namespace) -> int:
    """Build the site once."""
    settings = settings_from(args)
    report = engine.build(settings)
    if not args.quiet:
        print(f"microsite: {report.summary()} -> {settings.output}")
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
    "check": ("run every check of a build plus links and anchors, writing nothing", check.add_options, check.cmd_check),
    "serve": ("build, serve the site on http://127.0.0.1:8000/ and reload the browser on every change", add_serve_options, cmd_serve),
    "watch": ("build, then rebuild on every change to content/, templates/ or static/", add_site_options, cmd_watch),
    "deploy-check": ("build for a subpath, serve it with nginx on loopback and check every link through it",
                     deploycheck.add_options, deploycheck.run),
    "deploy": ("publish the built site to S3 or S3-compatible storage: deploy s3://BUCKET[/PREFIX]",
               add_deploy_options, cmd_deploy),
    "new": ("create a draft article or append a crew member: new article \"Title\" | new crew \"Name\"", scaffold.add_options, scaffold.run),
}
"""name -> (help, add its options, run it)."""


def parser() -> argparse.ArgumentParser:
    """Describe the command line."""
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
