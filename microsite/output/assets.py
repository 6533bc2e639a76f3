"""Static files: gathered from the bundled theme and the site, stylesheets and scripts fingerprinted."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..source.content import is_ignored

FINGERPRINTED = {".css", ".js", ".mjs"}


@dataclass(frozen=True)
class Asset:
    """One static file: the name templates ask for, and where it lands in the output."""

    name: str
    """Path relative to `static/`, e.g. `style.css`."""
    output: str
    """Path relative to the output folder, e.g. `static/style.3f2a1b9c.css`."""
    source: Path


def fingerprint(name: str, data: bytes) -> str:
    """Put a short content hash into a file name, so hosts may cache it forever."""
    stem, dot, suffix = name.rpartition(".")
    digest = hashlib.sha256(data).hexdigest()[:10]
    return f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"


def collect(folders: list[Path]) -> dict[str, Asset]:
    """Map each static file name to its asset; earlier folders override later ones file by file."""
    found: dict[str, Path] = {}
    for folder in reversed(folders):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            parts = path.relative_to(folder).parts
            if path.is_file() and not any(is_ignored(p) for p in parts):
                found["/".join(parts)] = path
    assets = {}
    for name, path in sorted(found.items()):
        output = name
        if path.suffix in FINGERPRINTED:
            output = fingerprint(name, path.read_bytes())
        assets[name] = Asset(name, f"static/{output}", path)
    return assets
