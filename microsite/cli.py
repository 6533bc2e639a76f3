"""The command line: parse arguments, call the engine, map problems to exit statuses."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__, engine
from .errors import BuildFailed, UsageError
from .model import Settings

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    p = argparse.ArgumentParser(
        prog="microsite",
        description="Build a static microsite from Markdown articles and a crew/mission YAML file.",
    )
    p.add_argument("--version", action="version", version=f"microsite {__version__}")
    p.add_argument("--source", type=Path, default=Path("."), metavar="DIR",
                   help="folder holding content/ (and optional templates/, static/ overrides); default: here")
    p.add_argument("--output", type=Path, default=None, metavar="DIR", help="where the site is written; default: SOURCE/output")
    p.add_argument("--base-url", default=None, metavar="URL", help="override base_url from content/site.yaml")
    p.add_argument("--drafts", action="store_true", help="also publish articles marked draft: true")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    return p


def settings_from(args: argparse.Namespace) -> Settings:
    """Turn parsed arguments into build settings."""
    source = args.source.resolve()
    output = (args.output if args.output is not None else source / "output").absolute()
    return Settings(source=source, output=output, base_url=args.base_url, drafts=args.drafts)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = parser().parse_args(argv)
    try:
        settings = settings_from(args)
        if not settings.source.is_dir():
            raise UsageError(f"source folder {settings.source} does not exist")
        report = engine.build(settings)
    except UsageError as exc:
        print(f"microsite: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BuildFailed as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        count = len(exc.errors)
        print(f"microsite: build failed with {count} problem{'s' if count != 1 else ''}; output left as it was", file=sys.stderr)
        return EXIT_CONTENT
    except KeyboardInterrupt:
        print("microsite: interrupted; output left as it was", file=sys.stderr)
        return 130
    if not args.quiet:
        print(f"microsite: {report.summary()} -> {settings.output}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
