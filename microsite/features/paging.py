"""Lists split into pages, so that no page grows with the site.

Page 1 of a list stays at the list's own URL (`tags/soyuz/`); page 2 and on live below it at
`page/2/`, `page/3/`. A page knows its neighbours (for `rel="prev"`/`"next"` links) and which page
numbers to offer: the first, the last and those near the current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, TypeVar

T = TypeVar("T")
NEAR = 2
"""Page numbers offered on either side of the current one."""


@dataclass(frozen=True)
class Pager:
    """Where one page of a list stands among the list's pages."""

    base: str
    """Site path of the list, the URL of its first page, e.g. `tags/soyuz/` (`""` for the home page)."""
    number: int
    """This page's number, from 1."""
    count: int
    """How many pages the list has (at least 1)."""

    def url(self, number: int) -> str:
        """Site path of one page of the list."""
        return self.base if number == 1 else f"{self.base}page/{number}/"

    @property
    def here(self) -> str:
        return self.url(self.number)

    @property
    def previous(self) -> str | None:
        """Site path of the page before this one (newer articles), or None on the first."""
        return self.url(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        """Site path of the page after this one (older articles), or None on the last."""
        return self.url(self.number + 1) if self.number < self.count else None

    @property
    def near(self) -> tuple[int | None, ...]:
        """Page numbers to link: the first, the last and those within NEAR of this one, in order,
        with None where numbers are left out (a gap of one number shows the number instead)."""
        shown = sorted({1, self.count, *range(max(1, self.number - NEAR), min(self.count, self.number + NEAR) + 1)})
        out: list[int | None] = []
        for number in shown:
            if out and number - out[-1] == 2:
                out.append(number - 1)
            elif out and number - out[-1] > 2:
                out.append(None)
            out.append(number)
        return tuple(out)


def split(items: Sequence[T], per_page: int) -> list[Sequence[T]]:
    """Cut a list into pages of at most `per_page` items; an empty list is one empty page."""
    return [items[start:start + per_page] for start in range(0, len(items), per_page)] or [items[:0]]


def pages(base: str, items: Sequence[T], per_page: int) -> list[tuple[Pager, Sequence[T]]]:
    """Each page of a list with its pager and its items."""
    chunks = split(items, per_page)
    return [(Pager(base, number, len(chunks)), chunk) for number, chunk in enumerate(chunks, 1)]
