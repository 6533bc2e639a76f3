"""What a host needs besides the files: how long each may be cached, and the aliases as real redirects.

Every build writes `_redirects` and `_headers` at the root of the output, the two files Netlify and
Cloudflare Pages read (neither serves them). `_redirects` turns each alias into a 301; the
alias's redirect page stays, for hosts without the file. `_headers` gives fingerprinted files a
year and `immutable`; everything else keeps both hosts' default, `public, max-age=0,
must-revalidate`. No rule may say otherwise, since both hosts join the values of every rule that
matches a path. `microsite deploy` applies the same rules (`cache_control`) to S3 objects.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Iterable
from urllib.parse import quote

from ..features.redirects import Redirect, redirects
from .assets import FINGERPRINTED
from .images import COPY_NAME

IMMUTABLE = "public, max-age=31536000, immutable"
"""Fingerprinted files: a new version has a new name, so a copy may be kept for a year unasked."""
REVALIDATE = "public, max-age=0, must-revalidate"
"""Pages, feeds, the sitemap and every other file whose name stays when its bytes change."""
REDIRECTS, HEADERS = "_redirects", "_headers"
FILES = (REDIRECTS, HEADERS)
MAX_REDIRECTS = 2000
"""Cloudflare Pages reads at most 2,000 static redirects (and 100 dynamic ones, which are not used)."""
MAX_REDIRECT_LINE = 1000
MAX_RULES = 100
"""Cloudflare Pages reads at most 100 header rules."""
MAX_HEADER_LINE = 2000


def fingerprinted(rel: str) -> bool:
    """Tell whether an output path names a file whose name changes with its bytes: stylesheets and
    scripts under `static/` (assets.py fingerprints them all) and image copies (images.py)."""
    return (rel.startswith("static/") and PurePosixPath(rel).suffix in FINGERPRINTED) or COPY_NAME.search(rel) is not None


def cache_control(rel: str) -> str:
    """The Cache-Control a host should send with one output file."""
    return IMMUTABLE if fingerprinted(rel) else REVALIDATE


def _url(base_path: str, rel: str) -> str:
    return quote(base_path + rel, safe="/*")


def redirects_file(redirects: Iterable[Redirect], base_path: str) -> bytes:
    """`_redirects`: one permanent redirect per alias, within Cloudflare's limits (a longer line or
    a redirect past the 2,000th is left to its redirect page)."""
    lines = ["# Aliases of articles, as permanent redirects (Netlify, Cloudflare Pages); made by microsite"]
    count = 0
    for redirect in sorted(redirects, key=lambda r: r.path):
        line = f"{_url(base_path, redirect.path)} {_url(base_path, redirect.target)} 301"
        if len(line) <= MAX_REDIRECT_LINE and count < MAX_REDIRECTS:
            lines.append(line)
            count += 1
    return ("\n".join(lines) + "\n").encode("utf-8")


def immutable_patterns(files: Iterable[str]) -> list[str]:
    """Patterns (one `*` each) that together name the fingerprinted files among `files` and no
    other: for each such file the widest of `folder/*.ext` (from its first folder down),
    `folder/stem-*` and its own path that matches no other file. Patterns never start at the
    root, so files added under other folders later (the search index) cannot fall under them.
    Past MAX_RULES, the patterns naming the fewest files, deepest first, are left out (those files
    revalidate)."""
    files = sorted(set(files))
    fixed = [rel for rel in files if fingerprinted(rel)]
    others = [rel for rel in files if not fingerprinted(rel)]
    verdicts: dict[str, bool] = {}

    def clear(pattern: str) -> bool:
        if pattern not in verdicts:
            head, _, tail = pattern.partition("*")
            verdicts[pattern] = not any(rel.startswith(head) and rel.endswith(tail) and len(rel) >= len(pattern) - 1
                                        for rel in others)
        return verdicts[pattern]

    covers: dict[str, int] = {}
    for rel in fixed:
        parts = rel.split("/")
        name = parts[-1]
        candidates = [f"{'/'.join(parts[:depth])}/*{PurePosixPath(name).suffix}" for depth in range(1, len(parts))]
        if "-" in name and len(parts) > 1:
            candidates.append(f"{'/'.join(parts[:-1])}/{name.rsplit('-', 1)[0]}-*")
        chosen = next((pattern for pattern in candidates if clear(pattern)), rel)
        covers[chosen] = covers.get(chosen, 0) + 1
    kept = sorted(covers, key=lambda pattern: (-covers[pattern], pattern.count("/"), pattern))[:MAX_RULES]
    return sorted(kept)


def headers_file(files: Iterable[str], base_path: str) -> bytes:
    """`_headers`: a year and `immutable` for the fingerprinted files among `files`."""
    lines = ["# Fingerprinted files may be cached for a year (Netlify, Cloudflare Pages); made by microsite.",
             f"# Every other file keeps the hosts' default, Cache-Control: {REVALIDATE}"]
    for pattern in immutable_patterns(files):
        path = _url(base_path, pattern)
        if len(path) <= MAX_HEADER_LINE:
            lines += ["", path, f"  Cache-Control: {IMMUTABLE}"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def host_files(site, pages, static, library) -> dict[str, bytes]:
    """`_redirects` and `_headers` by output path, from a build's planned pages, static files and
    images (the search index, added later, holds no fingerprinted file)."""
    files = (*(page.path for page in pages), *(asset.output for asset in static.values()), *sorted(library.outputs()))
    return {REDIRECTS: redirects_file((replace(r, path=a.prefix + r.path) for a, r in redirects(site.articles)), site.config.base_path),
            HEADERS: _headers_of(files, site.config.base_path)}


@functools.lru_cache(maxsize=2)
def _headers_of(files: tuple[str, ...], base_path: str) -> bytes:
    """`headers_file` of the same files as the last build's, made once: a session's rebuild seldom
    adds or removes a fingerprinted file, and a large site's patterns take a scan of every path."""
    return headers_file(files, base_path)


def publish(tx, site, pages, static, library) -> int:
    """Add `_redirects` and `_headers` to a build (`host_files`); return how many files."""
    made = host_files(site, pages, static, library)
    for rel, data in made.items():
        tx.write(rel, data)
    return len(made)
