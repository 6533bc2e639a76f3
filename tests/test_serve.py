"""The dev server over real loopback HTTP: what it serves, what it refuses, and live reload."""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from microsite.rebuild import cache
from bs4 import BeautifulSoup
from hypothesis import given, settings as hsettings, strategies as st

from conftest import MISSION_YAML, ROOT, SITE_YAML, article, examples, from_a_terminal, text
from live import EventStream, Running, settle, wait_for
from microsite import cli
from microsite.live.serve import CLIENT, locate

SECRET = "TOP-SECRET-OUTSIDE-THE-OUTPUT"


@pytest.fixture
def served(site):
    (site.source / "secret.txt").write_text(SECRET, encoding="utf-8")
    (site.source.parent / "secret.txt").write_text(SECRET, encoding="utf-8")
    run = Running(site.source, serve=True)
    yield run
    run.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One served site for the tests that only read, so each case does not pay for a build."""
    source = tmp_path_factory.mktemp("shared") / "site"
    (source / "content/articles").mkdir(parents=True)
    (source / "content/site.yaml").write_text(SITE_YAML, encoding="utf-8")
    (source / "content/mission.yaml").write_text(MISSION_YAML, encoding="utf-8")
    (source / "content/articles/launch.md").write_text(article("The launch", "2021-10-05", "Up they go.", tags="[soyuz]"), encoding="utf-8")
    (source / "secret.txt").write_text(SECRET, encoding="utf-8")
    (source.parent / "secret.txt").write_text(SECRET, encoding="utf-8")
    run = Running(source, serve=True)
    yield run
    run.close()


def get(port: int, target: str, host: str | None = None, headers: dict[str, str] | None = None, method: str = "GET"):
    """Send a request with the target byte for byte as written (no client-side normalising or checks)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host if host is not None else f'127.0.0.1:{port}'}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        body = response.read()
        return response.status, dict(response.getheaders()), body


def soup(body: bytes) -> BeautifulSoup:
    return BeautifulSoup(body.decode("utf-8"), "html.parser")


TRAVERSAL = [
    "/../secret.txt", "/../../secret.txt", "/articles/../../secret.txt",
    "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/%2E%2E/%2E%2E/secret.txt", "/articles/%2e%2e/%2e%2e/secret.txt",
    "/%252e%252e/secret.txt", "/%252e%252e%252fsecret.txt",
    "/..%5csecret.txt", "/..%5c..%5csecret.txt", "/..\\secret.txt", "/%5c..%5csecret.txt",
    "/%c0%ae%c0%ae/secret.txt", "/..%00/secret.txt", "/index.html%00.txt", "/%00", "/\x00",
    "//secret.txt", "///../secret.txt", "/./../secret.txt", "/.%2e/secret.txt",
    "secret.txt", "../secret.txt", "http://127.0.0.1/../secret.txt", "*",
    "/etc/passwd", "//etc/passwd", "/C:/Windows/win.ini", "/c:%5cwindows%5cwin.ini",
    "/.microsite/../secret.txt", "/.microsite/events/../../secret.txt", "/.microsite-output", "/.microsite/secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSAL)
def test_traversal_battery_never_leaves_the_output_folder(shared, target):
    status, headers, body = get(shared.port, target)
    assert status in (400, 403, 404), (target, status)
    assert SECRET.encode() not in body
    assert b"root:" not in body


def test_symlinks_out_of_the_output_folder_are_refused(served):
    out = served.settings.output
    os.symlink(served.settings.source / "secret.txt", out / "leak.txt")
    os.symlink(served.settings.source, out / "leakdir")
    for target in ("/leak.txt", "/leakdir/secret.txt", "/leakdir/"):
        status, _, body = get(served.port, target)
        assert status in (403, 404), target
        assert SECRET.encode() not in body


@pytest.mark.parametrize("target", ["//evil.example/..%2f", "//evil.example/%2e%2e", "//evil.example/", "/\\evil.example/",
                                    "//evil.example/articles", "///evil.example/..", "//articles", "/articles"])
def test_no_redirect_ever_leaves_the_site(shared, target):
    status, headers, _ = get(shared.port, target)
    location = headers.get("Location", "")
    if 300 <= status < 400:
        assert location.startswith("/") and not location.startswith(("//", "/\\")), (target, location)
        assert "evil" not in location
    assert status != 500


def test_directories_redirect_to_their_slash_and_serve_index(shared):
    status, headers, _ = get(shared.port, "/articles/launch")
    assert status == 301 and headers["Location"] == "/articles/launch/"
    status, _, body = get(shared.port, "/articles/launch/")
    assert status == 200 and text(soup(body).find("h1")) == "The launch"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "attacker.example.org", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "", "[::1]@evil.example"])
def test_non_local_host_headers_are_refused(shared, host):
    status, _, body = get(shared.port, "/", host=host)
    assert status in (400, 403)
    assert b"<h1" not in body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}", "127.0.0.1"])
def test_local_host_headers_are_served(shared, host):
    status, _, _ = get(shared.port, "/", host=host.format(port=shared.port))
    assert status == 200


def test_a_request_without_host_is_refused(shared):
    with socket.create_connection(("127.0.0.1", shared.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = sock.recv(100)
    assert reply.split()[1] in (b"400", b"403")


def test_a_client_that_leaves_before_its_answer_prints_nothing(shared, capsys):
    """A browser that closes its connection mid-answer is no error of the site's: no traceback."""
    capsys.readouterr()
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", shared.port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        sock.sendall(b"GET / HTTP/1.0\r\nHost: evil.example\r\n\r\n")
        sock.close()
    status, _, _ = get(shared.port, "/")  # answered after them: the server still serves
    assert status == 200
    time.sleep(0.2)
    assert "Traceback" not in capsys.readouterr().err


def test_live_reload_from_a_foreign_origin_is_refused(shared):
    for headers in ({"Origin": "http://evil.example"}, {"Origin": f"http://evil.example:{shared.port}"},
                    {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": f"http://127.0.0.1:{shared.port + 1}"}):
        stream = EventStream(shared.port, "index.html", "/", headers=headers)
        wait_for(lambda: stream.status, what="a status")
        assert stream.status == 403, headers
        stream.close()
    own = EventStream(shared.port, "index.html", "/", headers={"Origin": f"http://127.0.0.1:{shared.port}"})
    wait_for(lambda: own.status, what="a status")
    assert own.status == 200
    own.close()


def test_the_reload_endpoint_cannot_read_files(served):
    stream = EventStream(served.port, "../../secret.txt", "/../../secret.txt")
    wait_for(lambda: served.server.hub.count() >= 1, what="the connection")
    path = served.settings.source / "content/articles/launch.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    wait_for(lambda: stream.names(), what="an event")
    stream.close()
    assert SECRET.encode() not in stream.raw
    assert set(stream.names()) <= {"ok", "reload", "css", "failed"}
    status, headers, body = get(served.port, CLIENT)
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and SECRET.encode() not in body


def test_the_reload_client_is_only_added_while_serving(shared):
    status, _, body = get(shared.port, "/articles/launch/")
    scripts = [s.get("src") for s in soup(body).find_all("script")]
    assert CLIENT in scripts
    on_disk = (shared.settings.output / "articles/launch/index.html").read_text(encoding="utf-8")
    assert ".microsite" not in on_disk
    for page in shared.settings.output.rglob("*.html"):
        assert CLIENT not in page.read_text(encoding="utf-8")


def test_not_found_gets_the_404_page_with_status_404(shared):
    status, _, body = get(shared.port, "/no/such/page/")
    assert status == 404 and soup(body).find("h1")


def test_head_has_no_body(shared):
    status, headers, body = get(shared.port, "/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_only_browsers_on_affected_pages_reload(served):
    build = served.session.builds
    on_launch = EventStream(served.port, "articles/launch/index.html", "/articles/launch/", build)
    on_mission = EventStream(served.port, "mission/index.html", "/mission/", build)
    wait_for(lambda: served.server.hub.count() == 2, what="two connections")
    path = served.settings.source / "content/articles/launch.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Up they go.", "Up and away."), encoding="utf-8")
    wait_for(lambda: "reload" in on_launch.names(), what="the reload")
    wait_for(lambda: "ok" in on_mission.names(), what="the mission page hearing the build")
    status, _, body = get(served.port, "/articles/launch/")
    assert "Up and away." in text(soup(body))
    settle(served.session)
    assert "reload" not in on_mission.names()
    on_launch.close()
    on_mission.close()


def test_a_stylesheet_change_swaps_the_css_without_reload(served):
    on_page = EventStream(served.port, "articles/launch/index.html", "/articles/launch/", served.session.builds)
    wait_for(lambda: served.server.hub.count() == 1, what="the connection")
    (served.settings.source / "static").mkdir()
    css = (ROOT / "microsite/theme/static/style.css").read_text(encoding="utf-8")
    (served.settings.source / "static/style.css").write_text(css + "\nh1 { letter-spacing: .01em }\n", encoding="utf-8")
    wait_for(lambda: "css" in on_page.names(), what="the stylesheet swap")
    (renames,) = on_page.data("css")
    (old, new), = renames.items()
    assert old.startswith("style.") and new.startswith("style.") and old != new
    assert get(served.port, f"/static/{new}")[0] == 200
    settle(served.session)
    assert "reload" not in on_page.names()
    on_page.close()


def test_a_broken_build_shows_the_error_and_recovers(served):
    stream = EventStream(served.port, "articles/launch/index.html", "/articles/launch/", served.session.builds)
    wait_for(lambda: served.server.hub.count() == 1, what="the connection")
    path = served.settings.source / "content/articles/launch.md"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("---\n", "", 1), encoding="utf-8")
    wait_for(lambda: stream.data("failed"), what="the error")
    (errors,) = stream.data("failed")
    assert any(re.match(r"content/articles/launch\.md:\d+:\d+: ", e) for e in errors)
    status, _, body = get(served.port, "/articles/launch/")
    assert status == 200 and text(soup(body).find("h1")) == "The launch", "the last good build is served"
    late = EventStream(served.port, "index.html", "/", served.session.builds)
    wait_for(lambda: late.data("failed"), what="the error for a page opened while broken")
    path.write_text(good.replace("Up they go.", "Repaired."), encoding="utf-8")
    wait_for(lambda: "reload" in stream.names(), what="the reload after the fix")
    assert stream.names().index("ok") > stream.names().index("failed")
    assert "Repaired." in text(soup(get(served.port, "/articles/launch/")[2]))
    stream.close()
    late.close()


def test_a_browser_on_a_missing_page_reloads_when_it_appears(served):
    stream = EventStream(served.port, "404.html", "/articles/brand-new/", served.session.builds)
    wait_for(lambda: served.server.hub.count() == 1, what="the connection")
    (served.settings.source / "content/articles/brand-new.md").write_text(article("Brand new", "2021-10-20"), encoding="utf-8")
    wait_for(lambda: "reload" in stream.names(), what="the reload")
    assert get(served.port, "/articles/brand-new/")[0] == 200
    stream.close()


def test_a_page_loaded_before_a_rebuild_reloads_when_it_connects_late(served):
    build = served.session.builds
    path = served.settings.source / "content/articles/launch.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Up they go.", "Changed before connecting."), encoding="utf-8")
    wait_for(lambda: served.session.builds > build and served.session.idle, what="the rebuild")
    stream = EventStream(served.port, "articles/launch/index.html", "/articles/launch/", build)
    wait_for(lambda: "reload" in stream.names(), what="the reload")
    stream.close()


@pytest.mark.slow
def test_requests_during_rebuilds_get_complete_pages(served):
    base = (ROOT / "microsite/theme/templates/base.html").read_text(encoding="utf-8")
    (served.settings.source / "templates").mkdir()
    stop = threading.Event()
    problems: list[str] = []

    def edit() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            marked = base.replace("<body>", f"<body data-v=\"{n}\">").replace("</body>", f"<!--v{n}--></body>")
            # saved atomically, so every build reads a whole template and any torn page is the server's fault
            (served.settings.source / "templates/base.html.tmp").write_text(marked, encoding="utf-8")
            os.replace(served.settings.source / "templates/base.html.tmp", served.settings.source / "templates/base.html")
            time.sleep(0.15)

    def fetch(i: int) -> None:
        target = ["/", "/articles/launch/", "/crew/", "/mission/", "/tags/soyuz/"][i % 5]
        status, _, body = get(served.port, target)
        page = body.decode("utf-8")
        if status != 200 or not page.rstrip().endswith("</html>"):
            problems.append(f"{target}: {status} incomplete: {page[-300:]!r}")
            return
        match = re.search(r'<body data-v="(\d+)">', page)
        if match and f"<!--v{match.group(1)}-->" not in page:
            problems.append(f"{target}: mixes two builds")

    editor = threading.Thread(target=edit)
    editor.start()
    try:
        deadline = time.monotonic() + 4
        with ThreadPoolExecutor(8) as pool:
            while time.monotonic() < deadline:
                list(pool.map(fetch, range(40)))
    finally:
        stop.set()
        editor.join()
    assert served.session.builds > 3
    assert problems == []


def test_two_hundred_concurrent_clients(served):
    barrier = threading.Barrier(200)
    expected = get(served.port, "/articles/launch/")[2]

    def one(i: int) -> tuple[int, bool]:
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
        barrier.wait()
        conn.request("GET", "/articles/launch/")
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, body == expected

    with ThreadPoolExecutor(200) as pool:
        results = list(pool.map(one, range(200)))
    assert results == [(200, True)] * 200


@pytest.mark.slow
def test_large_files_are_streamed(site, tmp_path):
    proc, url = start_cli(site, "--port", "0")
    try:
        wait_for(lambda: (site.output / "index.html").is_file(), what="the first build")
        big = site.output / "static" / "big.bin"
        size = 256 * 1024 * 1024
        with open(big, "wb") as handle:
            handle.truncate(size)
        before = peak_memory(proc.pid)
        port = int(url.rsplit(":", 1)[1].strip("/"))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", "/static/big.bin")
        response = conn.getresponse()
        assert response.status == 200 and int(response.getheader("Content-Length")) == size
        digest, total = hashlib.sha256(), 0
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            total += len(chunk)
        conn.close()
        assert total == size and digest.hexdigest() == hashlib.sha256(bytes(size)).hexdigest()
        assert peak_memory(proc.pid) - before < 64 * 1024 * 1024, "the file went through memory whole"
    finally:
        stop_cli(proc)


def peak_memory(pid: int) -> int:
    """Peak resident memory of a process in bytes (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def start_cli(site, *args: str) -> tuple[subprocess.Popen, str]:
    """Run `build.py serve` as a user would and return it with the URL it printed."""
    proc = subprocess.Popen([sys.executable, "build.py", "serve", "--source", str(site.source), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=from_a_terminal)
    line = proc.stdout.readline()
    match = re.search(r"http://[^ ]+", line)
    if not match:
        proc.kill()
        raise AssertionError(f"no URL in {line!r}; stderr: {proc.stderr.read()}")
    return proc, match.group(0)


def stop_cli(proc: subprocess.Popen) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return out, err


def test_serve_command_binds_loopback_picks_a_free_port_and_stops_cleanly(site):
    assert cli.parser().parse_args(["serve"]).host == "127.0.0.1"
    proc, url = start_cli(site, "--port", "0")
    try:
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
        port = int(url.rsplit(":", 1)[1].strip("/"))
        wait_for(lambda: (site.output / "index.html").is_file(), what="the first build")
        assert get(port, "/")[0] == 200
        stream = EventStream(port, "index.html", "/")
        wait_for(lambda: stream.status == 200, what="a live connection")
    finally:
        out, err = stop_cli(proc)
    stream.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped" in out
    assert [p.name for p in site.source.iterdir() if p.name.startswith(".output")] == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_port_in_use_is_a_clear_usage_error(site):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run([sys.executable, "build.py", "serve", "--source", str(site.source), "--port", str(port)],
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "in use" in result.stderr and "--port 0" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_listening_on_every_interface_warns(site):
    proc = subprocess.Popen([sys.executable, "build.py", "serve", "--source", str(site.source), "--host", "0.0.0.0", "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=from_a_terminal)
    try:
        warning = proc.stderr.readline()
    finally:
        stop_cli(proc)
    assert "warning" in warning and "0.0.0.0" in warning


# The resolver itself, for any path a client might send.
@pytest.fixture(scope="module")
def resolver_root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("locate")
    (base / "secret.txt").write_text(SECRET, encoding="utf-8")
    root = base / "out"
    (root / "articles" / "a").mkdir(parents=True)
    (root / "articles" / "a" / "index.html").write_text("<h1>a</h1>", encoding="utf-8")
    (root / "index.html").write_text("<h1>home</h1>", encoding="utf-8")
    (root / "static").mkdir()
    os.symlink(base / "secret.txt", root / "static" / "secret.txt")
    return root


@hsettings(max_examples=examples(300))
@given(parts=st.lists(st.sampled_from(["..", ".", "%2e%2e", "%2e", "%252e", "%5c", "\\", "%00", "", "a", "articles", "static",
                                       "secret.txt", "%2f", "//", "index.html", "evil.example", "%c0%ae"]), max_size=8))
def test_locate_never_resolves_outside_the_root(resolver_root, parts):
    kind, found = locate(resolver_root, "/" + "/".join(parts))
    if kind == "file":
        assert Path(found).resolve().is_relative_to(resolver_root.resolve())
        assert SECRET not in Path(found).read_text(encoding="utf-8")
    if kind == "redirect":
        assert str(found).startswith("/") and not str(found).startswith("//")


def test_stopping_leaves_no_threads_and_no_temp_folders(site):
    before = set(threading.enumerate())
    run = Running(site.source, serve=True)
    stream = EventStream(run.port, "index.html", "/", run.session.builds)
    wait_for(lambda: run.server.hub.count() == 1, what="a live connection")
    path = site.source / "content/articles/launch.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    wait_for(lambda: run.session.builds >= 2, what="a rebuild")
    run.close()
    wait_for(lambda: set(threading.enumerate()) <= before, timeout=10, what="every session thread to end")
    stream.close()
    # the build cache stays, as after a single build; staging and spare folders do not
    assert sorted(p.name for p in site.source.iterdir() if p.name.startswith(".")) == [cache.FOLDER]
    assert not (site.source / cache.FOLDER / "spare").exists()


def test_a_site_under_a_base_path_is_served_under_it(site):
    yaml = site.source / "content/site.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("https://example.org/", "https://example.org/sub/"), encoding="utf-8")
    run = Running(site.source, serve=True)
    try:
        status, _, body = get(run.port, "/sub/articles/launch/")
        assert status == 200 and soup(body).select_one("a[rel=next]")["href"].startswith("/sub/")
        status, headers, _ = get(run.port, "/")
        assert status == 301 and headers["Location"] == "/sub/"
        assert get(run.port, "/articles/launch/")[0] == 404
    finally:
        run.close()
