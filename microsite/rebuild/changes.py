"""What kind of input a changed path is, so a rebuild does the least work that kind needs.

A path is named as the watcher names it: relative to the source folder (`content/articles/x.md`),
or absolute for the bundled theme. Anything not recognised is OTHER, which rebuilds from a full
read of the sources.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

from ..source.content import ARTICLE_MEDIA
from ..output.assets import FINGERPRINTED
from ..output.images import RASTER


class Kind(enum.Enum):
    ARTICLE = "article"
    """A Markdown file under content/articles/: edited, added or removed."""
    MISSION = "mission"
    """content/mission.yaml: crew, events and the data templates read."""
    SITE = "site"
    """content/site.yaml: the settings every page and every conversion depends on."""
    TEMPLATE = "template"
    STYLESHEET = "stylesheet"
    """A static file published under a fingerprinted name (stylesheets, scripts)."""
    STATIC = "static"
    """Any other static file."""
    IMAGE = "image"
    """A raster image, in static/ or beside an article, or a folder of static files: the images
    are found again, and when their copies change the output is staged whole."""
    OTHER = "other"
    """A folder of content, or a file of no known kind: read everything again."""


FULL = frozenset({Kind.SITE, Kind.OTHER})
"""Kinds after which the sources are read whole again (what they change reaches every record)."""


@dataclass(frozen=True)
class Change:
    path: str
    """As the watcher names it: source-relative, or absolute for the bundled theme."""
    kind: Kind


def kind_of(path: str, theme: Path) -> Kind:
    """Tell what kind of input a changed path is; `theme` is the bundled theme's folder."""
    pure = PurePosixPath(path)
    if pure.is_absolute():
        try:
            pure = PurePosixPath(Path(path).relative_to(theme).as_posix())
        except ValueError:
            return Kind.OTHER
    parts = pure.parts
    suffix = pure.suffix.lower()
    if parts[:1] == ("templates",):
        return Kind.TEMPLATE  # templates are analysed afresh on every build, folders and all
    if parts[:1] == ("static",):
        if suffix in RASTER or not suffix:  # an image, or a folder that may hold some
            return Kind.IMAGE
        return Kind.STYLESHEET if pure.suffix in FINGERPRINTED else Kind.STATIC
    if parts == ("content", "site.yaml"):
        return Kind.SITE
    if parts == ("content", "mission.yaml"):
        return Kind.MISSION
    if parts[:2] == ("content", "articles") and len(parts) > 2:
        if suffix == ".md":
            return Kind.ARTICLE
        if suffix in ARTICLE_MEDIA:
            return Kind.IMAGE
    return Kind.OTHER


def classify(paths: Iterable[str], theme: Path) -> list[Change]:
    """Each changed path with its kind, in a stable order."""
    return [Change(path, kind_of(path, theme)) for path in sorted(set(paths))]
