"""Which source wants each file of the output, and every clash between them, named by its sources.

Two files may not take one output path, compared without case as many hosts compare them, nor may
one file sit where another needs a folder (`feed.xml` and an alias `/feed.xml/`). Pages, static
files, image copies and the search index's folder are checked together before anything is
written, so a clash names what wants each path, at its line, instead of the path alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

from ..errors import SiteError
from ..model import Origin, Page, Site
from .assets import Asset
from .images import Library
from .search import FOLDER, indexed_pages


@dataclass(frozen=True)
class Claim:
    """One output path and what wants it; a path ending in `/` claims a whole folder."""

    path: str
    origin: Origin


def of_build(pages: Iterable[Page], static: Mapping[str, Asset], library: Library, site: Site) -> Iterator[Claim]:
    """Every output path a build will write, with its source: static files, image copies, pages,
    and the search index's folder."""
    for asset in static.values():
        yield Claim(asset.output, Origin("a static file", f"static/{asset.name}"))
    for picture in library.originals:
        yield Claim(picture.output, Origin("an image", picture.name))
    for picture in library.pictures.values():
        for variant in picture.variants:
            yield Claim(variant.output, Origin(f"a {variant.width} px wide {variant.format.upper()} copy of an image", picture.name))
    for page in pages:
        yield Claim(page.path, page.made_from())
    if indexed_pages(site):
        yield Claim(f"{FOLDER}/", Origin("the search index"))


def clashes(claims: Iterable[Claim]) -> list[SiteError]:
    """Report each output path more than one claim wants, and each file where another claim needs
    a folder, each at the place of one claimant (`_anchor`) naming the others."""
    by_path: dict[str, list[Claim]] = {}
    for claim in claims:
        by_path.setdefault(claim.path.lower(), []).append(claim)
    errors = [_same_path(group) for group in by_path.values() if len(group) > 1]
    folders: set[str] = set()
    for key in by_path:
        folder = key.rstrip("/").rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    if any(folder in by_path or f"{folder}/" in by_path for folder in folders):
        for key, group in by_path.items():
            parts = key.rstrip("/").split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                holder = by_path.get(folder) or by_path.get(f"{folder}/")
                if holder:
                    errors.append(_inside(group[0], holder[0]))
                    break
    return errors


def _anchor(claims: list[Claim]) -> Claim:
    """The claim a message is placed at: the one whose place is known most closely (line and
    column, then line), the last of those."""
    return max(reversed(claims), key=lambda c: (bool(c.origin.column), bool(c.origin.line)))


def _error(anchor: Claim, message: str) -> SiteError:
    origin = anchor.origin
    if origin.path:
        template = f" (templates/{origin.template})" if origin.template else ""
        return SiteError(origin.path, origin.line, origin.column, f"{origin.what}{template} {message}")
    return SiteError(f"templates/{origin.template}" if origin.template else anchor.path, 0, 0, f"{origin.what} {message}")


def _named(claim: Claim, path: str) -> str:
    """A claim as the other side of a message names it: what, from where, and its own spelling of
    the path when that differs from `path` in case."""
    where = claim.origin.where()
    spelt = f", spelt {claim.path!r}" if claim.path != path else ""
    return f"{claim.origin.what}{f' ({where})' if where else ''}{spelt}"


def _same_path(group: list[Claim]) -> SiteError:
    anchor = _anchor(group)
    others = [_named(claim, anchor.path) for claim in group if claim is not anchor]
    listed = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
    return _error(anchor, f"wants the output path {anchor.path!r}, as {'does' if len(others) == 1 else 'do'} {listed}")


def _inside(claim: Claim, holder: Claim) -> SiteError:
    """`claim` needs a folder where `holder` wants a file, or inside a folder `holder` fills alone."""
    anchor = _anchor([holder, claim])
    if holder.path.endswith("/"):
        if anchor is holder:
            return _error(holder, f"fills the folder {holder.path!r}, where {_named(claim, claim.path)} wants {claim.path!r}")
        return _error(claim, f"wants the output path {claim.path!r}, in the folder {holder.path!r} that {_named(holder, holder.path)} fills")
    if anchor is holder:
        return _error(holder, f"wants the output path {holder.path!r}, where {_named(claim, claim.path)} needs a folder for {claim.path!r}")
    return _error(claim, f"wants the output path {claim.path!r}, which needs a folder where {_named(holder, holder.path)} wants the file {holder.path!r}")
