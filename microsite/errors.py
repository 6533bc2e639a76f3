"""Errors that point at the spot: every problem carries the file, line and column it comes from."""

from __future__ import annotations

from dataclasses import dataclass


def located(path: str, line: int = 0, column: int = 0) -> str:
    """Name a place in a file as messages show it: `path`, `path:line` or `path:line:column`."""
    if not line:
        return path
    return f"{path}:{line}:{column}" if column else f"{path}:{line}"


@dataclass(frozen=True, order=True)
class SiteError:
    """One problem in the site's input, reported as `path:line:column: message`."""

    path: str
    line: int = 0
    column: int = 0
    message: str = ""

    def __str__(self) -> str:
        return f"{located(self.path, self.line, self.column)}: {self.message}"


class BuildFailed(Exception):
    """A build stopped on input problems; carries all of them, sorted by place."""

    def __init__(self, errors: list[SiteError]):
        self.errors = sorted(set(errors))
        super().__init__("\n".join(str(e) for e in self.errors))


class UsageError(Exception):
    """The command line asked for something impossible (exit status 2)."""

