"""Helpers for tests of watch and serve: a running session in a thread, polling, an event-stream reader."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from pathlib import Path
from typing import Callable

from microsite.model import Settings
from microsite.live.serve import DevServer, base_path
from microsite.live.watch import Session


def wait_for(check: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    """Poll until `check()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def settle(session: Session, quiet: float = 0.8) -> int:
    """Wait until no build has started for `quiet` seconds; return the number of builds."""
    count = session.builds
    while True:
        time.sleep(quiet)
        if session.builds == count and session.idle:
            return count
        count = session.builds


class Running:
    """A watch session (and optionally a dev server) running on a real source folder."""

    def __init__(self, source: Path, serve: bool = False, quiet: float | None = None, **options):
        self.settings = Settings(source=source, output=source / "output", **options)
        self.out = io.StringIO()
        self.session = Session(self.settings, self.out) if quiet is None else Session(self.settings, self.out, quiet)
        self.server: DevServer | None = None
        self.http: threading.Thread | None = None
        if serve:
            self.server = DevServer(self.settings.output, "127.0.0.1", 0, base_path(self.settings))
            self.session.listeners.append(self.server.hub.publish)
            self.http = self.server.start()
        self.session.start()
        self.loop = threading.Thread(target=self.session.run, name="test-session", daemon=True)
        self.loop.start()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.session.close()
        self.loop.join(10)
        if self.server is not None:
            self.server.stop(self.http)


class EventStream:
    """A live-reload connection read on a thread, as a browser's EventSource would."""

    def __init__(self, port: int, file: str, path: str, build: int = 0, headers: dict[str, str] | None = None):
        self.events: list[tuple[str, str]] = []
        self.status = 0
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(f"GET /.microsite/events?file={file}&path={path}&build={build} HTTP/1.1\r\n"
                          f"Host: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n{extra}\r\n".encode())
        self.raw = b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.raw += chunk
                buffer += chunk
                if not self.status and b"\r\n\r\n" in buffer:
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    self.status = int(head.split()[1])
                while self.status and b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    name, data = "message", ""
                    for line in block.decode().split("\n"):
                        if line.startswith("event: "):
                            name = line[7:]
                        elif line.startswith("data: "):
                            data = line[6:]
                    if not block.startswith((b":", b"retry")):
                        self.events.append((name, data))
        except OSError:
            pass

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def data(self, name: str) -> list:
        return [json.loads(data) for n, data in self.events if n == name]

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
