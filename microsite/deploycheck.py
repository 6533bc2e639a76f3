"""Deploy check: build the site for a subpath, serve it from a real nginx on loopback, crawl every link.

A static host differs from opening files: it maps `/sub/crew/` to `crew/index.html`, answers
unknown paths with the 404 page, and sends content types by extension. This check goes through
exactly that, so a site that passes works when `output/` is uploaded under that path.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from xml.etree import ElementTree

from . import engine
from .errors import UsageError
from .model import Settings

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    charset utf-8;
    charset_types text/css text/xml application/atom+xml application/xml text/plain;
    gzip on;
    gzip_types text/css text/xml application/atom+xml application/xml text/plain image/svg+xml;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        absolute_redirect off;
        location {subpath} {{
            alias {site}/;
            index index.html;
            error_page 404 {subpath}404.html;
            location ~ "\\.[0-9a-f]{{10}}\\.(css|js|jpg|png|webp)$" {{ expires max; }}
            location ~ "/feed\\.xml$" {{ types {{ }} default_type application/atom+xml; }}
        }}
        location = /robots.txt {{ alias {site}/robots.txt; }}
    }}
}}
"""
"""The server block a host needs for a site under a subpath: alias, index, the 404 page, long cache for fingerprints."""

MIME_TYPES = Path("/etc/nginx/mime.types")


@dataclass
class Crawl:
    """What the crawl found: pages fetched, links followed, and every problem."""

    pages: int = 0
    links: int = 0
    problems: list[str] = field(default_factory=list)


class _Links(HTMLParser):
    """Collect link targets (href, src, srcset) and element ids of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        for name in ("href", "src"):
            if values.get(name):
                self.links.append(values[name] or "")
        for candidate in (values.get("srcset") or "").split(","):
            if candidate.strip():
                self.links.append(candidate.split()[0])


def free_port() -> int:
    """Ask the kernel for an unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_nginx() -> str:
    """Locate the nginx binary, which `make deploy-check` installs from Debian when missing."""
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise UsageError("nginx is not installed; run `make deploy-check` (it installs it) or apt-get install nginx-light")


class Nginx:
    """An nginx process serving one folder under one subpath on a loopback port, for a `with` block."""

    def __init__(self, site: Path, subpath: str, workdir: Path):
        self.site, self.subpath, self.workdir = site.resolve(), subpath, workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Nginx":
        conf = self.workdir / "nginx.conf"
        mime = MIME_TYPES if MIME_TYPES.is_file() else self.workdir / "mime.types"
        if not MIME_TYPES.is_file():
            mime.write_text("types { text/html html; text/css css; image/svg+xml svg; image/png png; image/jpeg jpg; image/webp webp; text/plain txt; }\n")
        conf.write_text(NGINX_CONF.format(tmp=self.workdir, port=self.port, subpath=self.subpath, site=self.site, mime_types=mime))
        self.process = subprocess.Popen([find_nginx(), "-c", str(conf), "-p", str(self.workdir)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise UsageError(f"nginx did not start: {self.process.stderr.read().decode(errors='replace').strip()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise UsageError("nginx did not start listening within 10 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def fetch(origin: str, path: str) -> tuple[int, str, bytes]:
    """GET one path from the server: status, content type, body."""
    parts = urlsplit(origin)
    import http.client  # imported when a check runs: every other command starts faster

    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


EXPECTED_TYPES = {".css": "text/css", ".xml": "/xml", ".svg": "image/svg+xml", ".webp": "image/webp",
                  ".png": "image/png", ".jpg": "image/jpeg", ".txt": "text/plain"}


def crawl(origin: str, subpath: str) -> Crawl:
    """Fetch the home page and everything reachable from it, the feed and the sitemap; report what fails."""
    result = Crawl()
    pending = [(p, "") for p in ("/robots.txt", f"{subpath}sitemap.xml", f"{subpath}feed.xml", subpath)]
    seen: set[str] = set()
    ids: dict[str, set[str]] = {}
    fragments: list[tuple[str, str, str]] = []
    while pending:
        path, referrer = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        status, ctype, body = fetch(origin, path)
        if status != 200:
            result.problems.append(f"{path}: HTTP {status}" + (f" (linked from {referrer})" if referrer else ""))
            continue
        suffix = Path(urlsplit(path).path).suffix
        expected = "application/atom+xml" if path.endswith("/feed.xml") else EXPECTED_TYPES.get(suffix)
        if expected and expected not in ctype:
            result.problems.append(f"{path}: served as {ctype!r}")
        targets: list[str] = []
        if "text/html" in ctype:
            result.pages += 1
            parser = _Links()
            parser.feed(body.decode("utf-8"))
            ids[path] = parser.ids
            targets = parser.links
        elif path.endswith(("feed.xml", "sitemap.xml")):
            tree = ElementTree.fromstring(body)
            targets = [el.get("href") or "" for el in tree.iter("{http://www.w3.org/2005/Atom}link")]
            targets += [el.text or "" for el in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
        for target in targets:
            absolute = urljoin(origin + path, target)
            parts = urlsplit(absolute)
            if f"{parts.scheme}://{parts.netloc}" != origin:
                continue
            result.links += 1
            if not parts.path.startswith(subpath) and parts.path != "/robots.txt":
                result.problems.append(f"{path}: link {target!r} leaves the subpath {subpath}")
                continue
            if parts.fragment:
                fragments.append((path, parts.path, unquote(parts.fragment)))
            pending.append((parts.path, path))
    for page, target, fragment in fragments:
        if target in ids and fragment not in ids[target]:
            result.problems.append(f"{page}: link to {target}#{fragment}: no such id")
    status, _, body = fetch(origin, f"{subpath}no-such-page/")
    if status != 404 or b"<h1" not in body:
        result.problems.append(f"{subpath}no-such-page/: expected the site's 404 page with status 404, got {status}")
    return result


def run(source: Path, subpath: str) -> int:
    """Build into a temporary folder for the subpath, serve it with nginx, crawl, print one summary line."""
    source = source.resolve()
    if not source.is_dir():
        raise UsageError(f"source folder {source} does not exist")
    subpath = "/" + subpath.strip("/") + "/" if subpath.strip("/") else "/"
    with tempfile.TemporaryDirectory(prefix="microsite-deploy-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx workers drop root privileges and must still read the site
        server = Nginx(work / "site", subpath, work)
        engine.build(Settings(source=source, output=work / "site", base_url=f"{server.origin}{subpath}"))
        with server:
            found = crawl(server.origin, subpath)
    for problem in found.problems:
        print(f"deploy-check: {problem}")
    print(f"deploy-check: nginx served {found.pages} pages under {subpath}; links={found.links} broken={len(found.problems)}")
    return 1 if found.problems else 0
