"""The dev server: the output folder over HTTP on loopback, with live reload and an error overlay.

It serves the output folder and nothing else. Every request path is decoded once, and refused when
it holds `..`, `.`, a backslash or a NUL, or when it resolves (symlinks followed) outside the folder.
Requests whose Host is not local are refused (DNS rebinding), and so are live-reload connections
from another origin. The reload client is added to HTML as it is sent; files on disk never hold it.
Builds swap a complete folder in, or, into a mount point, rename each file over the old one, and
an open file keeps its bytes, so a request during a rebuild gets a whole file. Hidden names are
never served: not the marker, nor the staging folder a build into a mount point keeps in the output.
"""

from __future__ import annotations

import errno
import html
import ipaddress
import json
import mimetypes
import os
import queue
import shutil
import socket
import sys
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from ..source import content, yaml12
from ..output import write
from ..errors import UsageError
from ..rebuild.state import ASSETS, CONTENT
from ..model import Settings
from .watch import Result, Session, signals_stop

LIVE = "/.microsite/"
"""Prefix of the server's own URLs; no page or static file can live there (hidden names are never published)."""
EVENTS, CLIENT = LIVE + "events", LIVE + "live.js"
KEEPALIVE = 15.0
INJECT_LIMIT = 8 * 1024 * 1024
"""HTML files larger than this are streamed as they are, without the reload client."""
CHUNK = 256 * 1024

LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}

CLIENT_JS = r"""(function () {
  "use strict";
  var me = document.currentScript, box = null;
  var url = me.src.replace(/live\.js(\?.*)?$/, "events") + "?file=" + encodeURIComponent(me.dataset.file) +
            "&build=" + encodeURIComponent(me.dataset.build) + "&path=" + encodeURIComponent(location.pathname);
  function show(lines) {
    if (!box) {
      box = document.createElement("div");
      box.id = "microsite-error";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;margin:0;padding:2rem;" +
        "background:rgba(20,0,0,.93);color:#fff;font:14px/1.5 ui-monospace,monospace";
      document.body.appendChild(box);
    }
    box.textContent = "";
    var title = document.createElement("h2");
    title.textContent = "The build failed; this page shows the last good build.";
    box.appendChild(title);
    lines.forEach(function (line) {
      var pre = document.createElement("pre");
      pre.textContent = line;
      pre.style.whiteSpace = "pre-wrap";
      box.appendChild(pre);
    });
  }
  function clear() { if (box) { box.remove(); box = null; } }
  function swap(renames) {
    document.querySelectorAll('link[rel~="stylesheet"]').forEach(function (link) {
      var href = link.getAttribute("href");
      Object.keys(renames).forEach(function (old) {
        if (href.slice(-old.length) === old) {
          var next = link.cloneNode();
          next.setAttribute("href", href.slice(0, -old.length) + renames[old]);
          next.addEventListener("load", function () { link.remove(); });
          link.after(next);
        }
      });
    });
  }
  var events = new EventSource(url);
  events.addEventListener("reload", function () { events.close(); location.reload(); });
  events.addEventListener("css", function (e) { swap(JSON.parse(e.data)); });
  events.addEventListener("failed", function (e) { show(JSON.parse(e.data)); });
  events.addEventListener("ok", clear);
})();
"""


def locate(root: Path, target: str, prefix: str = "/") -> tuple[str, Path | str | None]:
    """Map a request target to ("file", path), ("redirect", location), ("missing"|"forbidden", None).

    The path is percent-decoded exactly once: `%252e` stays the literal name `%2e`, never `.`.
    """
    raw = target.split("?", 1)[0].split("#", 1)[0]
    if not raw.startswith("/"):
        return "forbidden", None
    decoded = unquote(raw, errors="replace")
    if "\0" in decoded or "\\" in decoded or "\ufffd" in decoded:
        return "forbidden", None
    segments = decoded.split("/")
    if any(part in (".", "..") for part in segments):
        return "forbidden", None
    if not decoded.startswith(prefix):
        return ("redirect", prefix) if decoded in ("", "/") else ("missing", None)
    parts = [p for p in decoded[len(prefix):].split("/") if p]
    if any(p.startswith(".") for p in parts):
        return "missing", None
    try:
        base = root.resolve(strict=True)
        found = base.joinpath(*parts).resolve()
    except (OSError, RuntimeError, ValueError):
        return "missing", None
    if not (found == base or found.is_relative_to(base)):
        return "forbidden", None
    if found.is_dir():
        if parts and not decoded.endswith("/"):
            return "redirect", prefix + "/".join(quote(p, safe="") for p in parts) + "/"
        found = found / "index.html"
    if found.is_file():
        return "file", found
    return "missing", None


def host_allowed(host: str | None, bound: str) -> bool:
    """Accept loopback names, IP literals and the host the server was told to bind; refuse other names."""
    if not host:
        return False
    name = urlsplit(f"//{host}").hostname
    if name is None:
        return False
    name = name.lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost") or name == bound.lower():
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() in LOOPBACK_NAMES


@dataclass(eq=False)
class Listener:
    """One open live-reload connection: the page file it shows and its message queue."""

    file: str
    path: str
    build: int
    messages: "queue.SimpleQueue[tuple[str, str] | None]" = field(default_factory=queue.SimpleQueue)


class Hub:
    """Live-reload connections and what each needs to hear after a build."""

    def __init__(self, root: Path, prefix: str = "/"):
        self.root, self.prefix = root, prefix
        self.listeners: set[Listener] = set()
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.errors: list[str] = []
        self.build = 0
        self.changed_at: dict[str, int] = {}

    def connect(self, listener: Listener) -> None:
        with self.lock:
            self.listeners.add(listener)
            if self.errors:
                listener.messages.put(("failed", json.dumps(self.errors)))
            elif self.changed_at.get(listener.file, 0) > listener.build or (listener.file == "" and self.build):
                listener.messages.put(("reload", ""))

    def disconnect(self, listener: Listener) -> None:
        with self.lock:
            self.listeners.discard(listener)

    def count(self) -> int:
        with self.lock:
            return len(self.listeners)

    def publish(self, result: Result) -> None:
        """Tell each connection what the build means for its page: reload, swap styles, overlay, or nothing."""
        with self.lock:
            self.build = result.number
            if not result.ok:
                self.errors = [str(e) for e in result.errors]
                for listener in self.listeners:
                    listener.messages.put(("failed", json.dumps(self.errors)))
                return
            self.errors = []
            for rel, kind in result.rewritten.items():
                if kind == CONTENT:
                    self.changed_at[rel] = result.number
            for rel in result.removed:
                self.changed_at[rel] = result.number
            renames = {old.removeprefix("static/"): new.removeprefix("static/") for old, new in result.stylesheets.items()}
            for listener in self.listeners:
                listener.messages.put(("ok", ""))
                kind = result.rewritten.get(listener.file)
                if kind == CONTENT or listener.file in result.removed or self._found_now(listener) or listener.file == "":
                    listener.messages.put(("reload", ""))
                elif kind == ASSETS and renames:
                    listener.messages.put(("css", json.dumps(renames)))

    def _found_now(self, listener: Listener) -> bool:
        """A browser on the not-found page reloads once its address has a page."""
        return listener.file == "404.html" and locate(self.root, listener.path, self.prefix)[0] == "file"

    def close(self) -> None:
        self.closed.set()
        with self.lock:
            for listener in self.listeners:
                listener.messages.put(None)


class Handler(BaseHTTPRequestHandler):
    """GET and HEAD for files of the output folder, the reload client and its event stream."""

    server: "DevServer"

    def version_string(self) -> str:
        return "microsite"

    def log_message(self, format: str, *args) -> None:
        """Keep the terminal for one line per rebuild."""

    def do_HEAD(self) -> None:
        self.do_GET(body=False)

    def do_GET(self, body: bool = True) -> None:
        if not host_allowed(self.headers.get("Host"), self.server.bound_host):
            return self.plain(HTTPStatus.FORBIDDEN, "Host not allowed: open the site through localhost or 127.0.0.1\n", body)
        path = self.path.split("?", 1)[0]
        if path == EVENTS:
            return self.events() if body else self.send_bytes(HTTPStatus.OK, b"", "text/event-stream", False)
        if path == CLIENT:
            return self.send_bytes(HTTPStatus.OK, CLIENT_JS.encode(), "text/javascript; charset=utf-8", body)
        if path.startswith(LIVE):
            return self.plain(HTTPStatus.NOT_FOUND, "Not found\n", body)
        kind, found = locate(self.server.root, self.path, self.server.prefix)
        if kind == "redirect":
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", str(found))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if kind == "forbidden":
            return self.plain(HTTPStatus.FORBIDDEN, "Forbidden\n", body)
        if kind == "missing":
            return self.not_found(body)
        assert isinstance(found, Path)
        self.send_file(HTTPStatus.OK, found, body)

    def plain(self, status: HTTPStatus, text: str, body: bool) -> None:
        self.send_bytes(status, text.encode(), "text/plain; charset=utf-8", body)

    def not_found(self, body: bool) -> None:
        page = (self.server.root / "404.html").resolve()
        if page.is_file():
            return self.send_file(HTTPStatus.NOT_FOUND, page, body)
        if self.server.hub.build == 0 or self.server.hub.errors:
            shell = "<!doctype html><title>No build yet</title><body><p>The site has not been built yet.</p></body>"
            return self.send_bytes(HTTPStatus.SERVICE_UNAVAILABLE, self.inject(shell.encode(), ""), "text/html; charset=utf-8", body)
        self.plain(HTTPStatus.NOT_FOUND, "Not found\n", body)

    def send_bytes(self, status: HTTPStatus, data: bytes, kind: str, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def send_file(self, status: HTTPStatus, path: Path, body: bool) -> None:
        """Send a file from one open descriptor: a build swapped in meanwhile cannot mix two versions."""
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/xml", "application/javascript", "image/svg+xml"):
            kind += "; charset=utf-8"
        try:
            handle = open(path, "rb")
        except OSError:
            return self.plain(HTTPStatus.NOT_FOUND, "Not found\n", body)
        with handle:
            size = os.fstat(handle.fileno()).st_size
            if path.suffix == ".html" and size <= INJECT_LIMIT:
                rel = path.relative_to(self.server.root.resolve()).as_posix() if path.is_relative_to(self.server.root.resolve()) else ""
                return self.send_bytes(status, self.inject(handle.read(), rel), kind, body)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(size))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if body:
                shutil.copyfileobj(handle, self.wfile, CHUNK)

    def inject(self, page: bytes, rel: str) -> bytes:
        """Add the reload client before </body>, naming the file and the build it comes from."""
        tag = (f'<script src="{CLIENT}" data-file="{html.escape(rel)}" data-build="{self.server.hub.build}"></script>\n').encode()
        at = page.lower().rfind(b"</body>")
        return page + tag if at < 0 else page[:at] + tag + page[at:]

    def origin_allowed(self) -> bool:
        """Refuse event streams opened by pages of another site (a browser names them in Origin)."""
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return False
        origin = self.headers.get("Origin")
        if origin is None:
            return True
        parts = urlsplit(origin)
        return (parts.scheme == "http" and host_allowed(parts.netloc, self.server.bound_host)
                and parts.port == self.server.server_port)

    def events(self) -> None:
        """Stream reload events to one page; the stream only ever carries messages, never file bytes."""
        if not self.origin_allowed():
            return self.plain(HTTPStatus.FORBIDDEN, "Cross-origin live reload refused\n", True)
        query = parse_qs(urlsplit(self.path).query)
        try:
            build = int(query.get("build", ["0"])[0])
        except ValueError:
            build = 0
        listener = Listener(query.get("file", [""])[0], query.get("path", ["/"])[0], build)
        hub = self.server.hub
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        hub.connect(listener)
        try:
            self.wfile.write(b"retry: 500\n\n")
            self.wfile.flush()
            while not hub.closed.is_set():
                try:
                    message = listener.messages.get(timeout=KEEPALIVE)
                except queue.Empty:
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                    continue
                if message is None:
                    break
                name, data = message
                self.wfile.write(f"event: {name}\ndata: {data}\n\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        finally:
            hub.disconnect(listener)


class DevServer(ThreadingHTTPServer):
    """A threaded HTTP server for one output folder."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 8000, prefix: str = "/"):
        self.root = root.absolute()
        self.bound_host = host
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.hub = Hub(self.root, self.prefix)
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            super().__init__((host, port), Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} on {host} is in use by another program; stop it, "
                                 f"pick another with --port, or pass --port 0 for a free one") from None
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES) or isinstance(exc, socket.gaierror):
                raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
            raise

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that leaves before its answer is sent is no error of the site's."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    def url(self) -> str:
        host = self.server_address[0]
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "[::1]"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server_port}{self.prefix}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="microsite-http", daemon=True)
        thread.start()
        return thread

    def stop(self, thread: threading.Thread | None = None) -> None:
        """Close live-reload streams, stop accepting, and release the port."""
        self.hub.close()
        self.shutdown()
        if thread is not None:
            thread.join()
        self.server_close()


def base_path(settings: Settings) -> str:
    """The path the site lives under (from --base-url or site.yaml), so its root-relative links work."""
    url = settings.base_url
    if url is None:
        try:
            url = content.read_yaml_file(settings.source / "content" / "site.yaml", "content/site.yaml").get("base_url")
        except (OSError, yaml12.LocatedProblem):
            url = None
    path = urlsplit(str(url or "/")).path or "/"
    return path if path.endswith("/") else path + "/"


def run(settings: Settings, host: str, port: int, out=None) -> int:
    """Serve the output folder, build it, and rebuild on every change until Ctrl-C."""
    out = out if out is not None else sys.stdout
    write.check_output_folder(settings.output, settings.source)
    server = DevServer(settings.output, host, port, base_path(settings))
    if not is_loopback(host):
        print(f"microsite: warning: listening on {host} makes this preview and its live reload reachable "
              f"from other machines; use the default 127.0.0.1 unless you mean it", file=sys.stderr, flush=True)
    session = Session(settings, out)
    session.listeners.append(server.hub.publish)
    thread = None
    with signals_stop(session):
        try:
            thread = server.start()
            print(f"microsite: serving {settings.output} at {server.url()} (Ctrl-C to stop)", file=out, flush=True)
            session.start()
            session.run()
        except KeyboardInterrupt:
            pass
        finally:
            session.close()
            server.stop(thread)
    print("microsite: stopped", file=out, flush=True)
    return 0
