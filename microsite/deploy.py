"""`microsite deploy s3://BUCKET[/PREFIX]`: publish a built site to S3 or S3-compatible storage.

Each object carries the SHA-256 of its bytes in its metadata (`x-amz-meta-sha256`; an ETag is an
MD5 only for single-part uploads without KMS), so a deploy uploads exactly the files whose bytes
differ, and copies in place those whose Content-Type or Cache-Control rule changed. Uploads go in
stages that keep the live site whole while it changes: static files, images and the search
index's data first, then the pages that use them, then what announces pages (feed, sitemap, the
index's entry file); deletions come last. A deploy stopped half-way is completed by the next one,
which finds the objects already uploaded unchanged. Only keys under `PREFIX/` are listed, so
nothing outside the prefix is ever touched.

The planning is pure (`plan` over `Local` and `Remote` records); `run` does the talking, with
boto3 (imported only here, so builds never load it) and its usual credentials.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import hashlib
import json
import mimetypes
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable, TextIO

from .errors import BuildFailed, UsageError
from .model import DeployConfig
from .output import hosts, write
from .source import content, schema, yaml12

MANIFEST = ".microsite-deploy.json"
"""Object under the prefix recording each object's digest and headers with its ETag and time, so
a deploy need not read every object's metadata: only those written since (or never recorded)."""
MANIFEST_SLACK = 64
"""The manifest is written again once it misses this many objects: reading fewer costs less than
an extra upload on every small deploy."""
META = "sha256"
"""User metadata key holding the SHA-256 of an object's bytes (sent as `x-amz-meta-sha256`)."""
SKIPPED = {write.MARKER, hosts.REDIRECTS, hosts.HEADERS}
"""Files of the output that S3 does not read: the generator's marker, and the Netlify and Cloudflare Pages rules."""
TYPES = {
    ".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".mjs": "text/javascript",
    ".json": "application/json", ".xml": "application/xml", ".txt": "text/plain", ".ics": "text/calendar",
    ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
    ".gif": "image/gif", ".avif": "image/avif", ".ico": "image/vnd.microsoft.icon", ".wasm": "application/wasm",
    ".woff": "font/woff", ".woff2": "font/woff2", ".pdf": "application/pdf", ".mp4": "video/mp4", ".webm": "video/webm",
}
"""Content types by suffix, fixed here rather than taken from the machine's MIME table, so every machine uploads the same."""
NAMED = {"feed.xml": "application/atom+xml"}
TEXT = {"application/json", "application/xml", "application/atom+xml", "image/svg+xml", "application/javascript"}
"""Types besides text/* whose bytes are UTF-8 text, sent with `charset=utf-8`."""
_BUILT_IN = mimetypes.MimeTypes()
"""Python's own table for other suffixes, without the machine's /etc/mime.types."""
FIRST, PAGES, LAST = 0, 1, 2
STAGES = {FIRST: "static files, images and search data", PAGES: "pages", LAST: "feed, sitemap and search entry"}


@dataclass(frozen=True)
class Local:
    """One file of the built site, as it should be stored."""

    rel: str
    """Path inside the output folder, e.g. `articles/landing/index.html`."""
    path: str
    size: int
    digest: str
    """SHA-256 of its bytes, hexadecimal."""
    content_type: str
    cache_control: str


@dataclass(frozen=True)
class Remote:
    """One stored object under the prefix; digest and headers are None until read (or when missing)."""

    key: str
    size: int
    etag: str = ""
    modified: str = ""
    """When it was last written, as the listing says (ISO 8601)."""
    digest: str | None = None
    content_type: str | None = None
    cache_control: str | None = None


@dataclass(frozen=True)
class Step:
    """One change to the bucket: `upload` a file, `copy` an object onto itself with new headers, or `delete` it."""

    action: str
    key: str
    local: Local | None = None
    why: str = ""
    """`new`, `changed` (bytes) or `headers` (Content-Type or Cache-Control)."""


@dataclass(frozen=True)
class Plan:
    """Everything a deploy changes, in order: `stages` of uploads and copies, then `deletes`."""

    stages: tuple[tuple[Step, ...], ...]
    deletes: tuple[Step, ...]
    unchanged: int

    @property
    def transfers(self) -> list[Step]:
        return [step for stage in self.stages for step in stage]

    @property
    def bytes(self) -> int:
        return sum(step.local.size for step in self.transfers if step.action == "upload")

    def empty(self) -> bool:
        return not self.transfers and not self.deletes


def content_type(rel: str) -> str:
    """The Content-Type of an output file, with `charset=utf-8` for text."""
    suffix = PurePosixPath(rel).suffix.lower()
    kind = NAMED.get(rel) or TYPES.get(suffix) or _BUILT_IN.guess_type(rel, strict=True)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind in TEXT else kind


def stage(rel: str) -> int:
    """When a file goes up: what pages use before the pages, what lists pages after them."""
    name = rel.rsplit("/", 1)[-1]
    if rel in ("feed.xml", "sitemap.xml") or name == "pagefind-entry.json":
        return LAST
    if PurePosixPath(name).suffix in (".html", ".ics", ".txt"):
        return PAGES
    return FIRST


def key_of(prefix: str, rel: str) -> str:
    return f"{prefix}/{rel}" if prefix else rel


def listing_prefix(prefix: str) -> str:
    """What to list: the prefix as a folder, so `site-old/` is never taken for part of `site/`."""
    return f"{prefix}/" if prefix else ""


def remembered(manifest: bytes, manifest_modified: str, listed: dict[str, Remote]) -> dict[str, Remote]:
    """The objects whose digest and headers the manifest knows and that no one wrote since: same
    ETag, size and time as it recorded, and written before the manifest itself (times may be
    whole seconds, so an object written in the manifest's second is read again)."""
    try:
        entries = json.loads(manifest)["objects"]
        written = dt.datetime.fromisoformat(manifest_modified)
        known = {}
        for key, (etag, size, modified, digest, kind, cache) in entries.items():
            found = listed.get(key)
            if found and (found.etag, found.size, found.modified) == (etag, size, modified) \
                    and dt.datetime.fromisoformat(modified) < written:
                known[key] = dataclasses.replace(found, digest=digest, content_type=kind, cache_control=cache)
        return known
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}  # damaged or of another format: every object is read instead


def manifest(relisted: dict[str, Remote], facts: dict[str, Remote]) -> bytes:
    """The manifest after a deploy: each object listed afterwards whose digest and headers are
    known and whose ETag is the one they were known with (so nothing else wrote it meanwhile)."""
    objects = {key: [found.etag, found.size, found.modified, facts[key].digest, facts[key].content_type, facts[key].cache_control]
               for key, found in sorted(relisted.items()) if key in facts and facts[key].etag == found.etag}
    return json.dumps({"format": 1, "objects": objects}, separators=(",", ":")).encode()


def needs_reading(local: Local, remote: Remote) -> bool:
    """Tell whether an object's metadata must be read to compare it: not when the sizes already differ."""
    return remote.size == local.size


def plan(local: Iterable[Local], remote: dict[str, Remote], prefix: str) -> Plan:
    """Compare the built files with the stored objects: upload what is new or differs in bytes,
    copy what differs only in headers, delete objects no file stands for."""
    stages: dict[int, list[Step]] = {FIRST: [], PAGES: [], LAST: []}
    unchanged = 0
    wanted = set()
    for file in sorted(local, key=lambda f: f.rel):
        key = key_of(prefix, file.rel)
        wanted.add(key)
        found = remote.get(key)
        if found is None:
            step = Step("upload", key, file, "new")
        elif found.size != file.size or found.digest != file.digest:
            step = Step("upload", key, file, "changed")
        elif found.content_type != file.content_type or found.cache_control != file.cache_control:
            step = Step("copy", key, file, "headers")
        else:
            unchanged += 1
            continue
        stages[stage(file.rel)].append(step)
    deletes = tuple(Step("delete", key) for key in sorted(remote) if key not in wanted)
    return Plan(tuple(tuple(stages[number]) for number in sorted(stages)), deletes, unchanged)


def describe(plan_: Plan, target: str) -> list[str]:
    """The plan as lines for `--dry-run`."""
    lines = []
    for number, steps in enumerate(plan_.stages):
        for step in steps:
            what = f"{human(step.local.size)}" if step.action == "upload" else step.local.cache_control
            lines.append(f"{step.action:<6} {step.key}  ({step.why}, {what}; {STAGES[number]})")
    lines += [f"delete {step.key}" for step in plan_.deletes]
    uploads = sum(1 for step in plan_.transfers if step.action == "upload")
    copies = len(plan_.transfers) - uploads
    lines.append(f"microsite: dry run for {target}: would upload {uploads} ({human(plan_.bytes)}), "
                 f"copy {copies} with new headers, delete {len(plan_.deletes)}, leave {plan_.unchanged} unchanged; "
                 "nothing was changed")
    return lines


def human(size: int) -> str:
    """A byte count for people: 812 B, 4.1 kB, 12.0 MB."""
    if size < 1000:
        return f"{size} B"
    value = size / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def scan(output: Path) -> list[Local]:
    """Every file of the built site that is published, with its digest and headers."""
    found = []
    for rel, entry in write.files_under(output):
        if rel in SKIPPED or not entry.is_file(follow_symlinks=False):
            continue
        found.append((rel, entry.path, entry.stat(follow_symlinks=False).st_size))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:  # hashing releases the GIL
        digests = list(pool.map(file_digest, [path for _, path, _ in found]))
    return [Local(rel, path, size, digest, content_type(rel), hosts.cache_control(rel))
            for (rel, path, size), digest in zip(found, digests)]


def file_digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def settings(source: Path, target: str | None, endpoint_url: str | None, region: str | None, profile: str | None,
             max_deletes: int | None, uploads: int | None) -> DeployConfig:
    """The deploy's settings: each option given, else `AWS_ENDPOINT_URL` for the endpoint, else
    `deploy:` in `content/site.yaml`, else the default. BuildFailed on a problem in site.yaml."""
    config = DeployConfig()
    path = source / "content" / "site.yaml"
    if path.is_file():
        rel = "content/site.yaml"
        try:
            raw = content.read_yaml_file(path, rel)
        except yaml12.LocatedProblem as exc:
            raise BuildFailed([exc.error]) from None
        problems = schema.Problems(rel)
        config = schema.check_deploy(raw, problems)
        if problems.errors:
            raise BuildFailed(problems.errors)
    return DeployConfig(
        target=target or config.target,
        endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or config.endpoint_url,
        region=region or config.region,
        profile=profile or config.profile,
        max_deletes=config.max_deletes if max_deletes is None else max_deletes,
        uploads=uploads or config.uploads,
    )


class Progress:
    """A one-line bar on a terminal, redrawn at most ten times a second; silent elsewhere."""

    def __init__(self, total: int, stream: TextIO, shown: bool):
        self.total, self.stream, self.shown = total, stream, shown and total > 0
        self.done = self.bytes = 0
        self.drawn = 0.0

    def advance(self, size: int) -> None:
        self.done += 1
        self.bytes += size
        now = time.monotonic()
        if self.shown and (now - self.drawn > 0.1 or self.done == self.total):
            self.drawn = now
            filled = 30 * self.done // self.total
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} objects, {human(self.bytes)}")
            self.stream.flush()

    def close(self) -> None:
        if self.shown and self.done:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class Outcome:
    """What a deploy did, for the summary line."""

    uploaded: int = 0
    copied: int = 0
    deleted: int = 0
    bytes: int = 0
    failures: list[str] = field(default_factory=list)
    written: dict[str, Remote] = field(default_factory=dict)
    """What each object uploaded or copied now holds, for the manifest."""


def connect(config: DeployConfig):
    """An S3 client with boto3's usual credentials (environment, profile, instance role)."""
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=config.profile, region_name=config.region)
    return session.client("s3", endpoint_url=config.endpoint_url, config=Config(
        max_pool_connections=max(config.uploads, 4), retries={"max_attempts": 3, "mode": "standard"},
        # plain payloads and MD5-free requests suit every S3-compatible storage, not only AWS
        request_checksum_calculation="when_required", response_checksum_validation="when_required"))


def _reason(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', '?')}: {error.get('Message') or response.get('ResponseMetadata', {}).get('HTTPStatusCode', '')}"
    return str(exc) or type(exc).__name__


def _etag(value: str | None) -> str:
    return (value or "").strip('"')


def list_remote(client, bucket: str, prefix: str) -> dict[str, Remote]:
    """Every object under the prefix, with its size, ETag and time."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=listing_prefix(prefix)):
        for item in page.get("Contents", ()):
            found[item["Key"]] = Remote(item["Key"], item["Size"], _etag(item.get("ETag")), item["LastModified"].isoformat())
    return found


def read_remote(client, bucket: str, remote: Remote) -> Remote:
    """An object with its digest and headers, from its metadata."""
    head = client.head_object(Bucket=bucket, Key=remote.key)
    metadata = {key.lower(): value for key, value in head.get("Metadata", {}).items()}
    return dataclasses.replace(remote, digest=metadata.get(META), content_type=head.get("ContentType"),
                               cache_control=head.get("CacheControl"))


def read_manifest(client, bucket: str, key: str, listed: dict[str, Remote]) -> dict[str, Remote]:
    """What the manifest under the prefix knows of the listed objects (nothing, when there is none)."""
    stored = listed.get(key)
    if stored is None:
        return {}
    return remembered(client.get_object(Bucket=bucket, Key=key)["Body"].read(), stored.modified, listed)


def transfer(client, bucket: str, step: Step) -> tuple[int, Remote]:
    """Carry out one upload or copy; return the bytes sent and what the object now holds."""
    local = step.local
    headers = {"ContentType": local.content_type, "CacheControl": local.cache_control, "Metadata": {META: local.digest}}
    if step.action == "copy":
        answer = client.copy_object(Bucket=bucket, Key=step.key, CopySource={"Bucket": bucket, "Key": step.key},
                                    MetadataDirective="REPLACE", **headers)
        etag, sent = answer.get("CopyObjectResult", {}).get("ETag"), 0
    else:
        with open(local.path, "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != local.digest:
            raise RuntimeError(f"{local.rel} changed while deploying; build again, then deploy")
        etag, sent = client.put_object(Bucket=bucket, Key=step.key, Body=data, **headers).get("ETag"), len(data)
    return sent, Remote(step.key, local.size, _etag(etag), "", local.digest, local.content_type, local.cache_control)


def delete(client, bucket: str, keys: list[str]) -> list[str]:
    """Delete objects, a thousand a request; return the failures as `key: reason`."""
    failures = []
    for start in range(0, len(keys), 1000):
        batch = keys[start:start + 1000]
        try:
            answer = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
        except Exception as exc:  # noqa: BLE001 - boto3 raises many kinds; each is reported with its key
            failures += [f"{key}: {_reason(exc)}" for key in batch]
            continue
        failures += [f"{error.get('Key')}: {error.get('Code')}: {error.get('Message', '')}" for error in answer.get("Errors", ())]
    return failures


def run(source: Path, output: Path, target: str | None = None, endpoint_url: str | None = None, region: str | None = None,
        profile: str | None = None, dry_run: bool = False, max_deletes: int | None = None, uploads: int | None = None,
        quiet: bool = False, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Deploy the built site in `output`; return the exit status (0 done, 1 a transfer failed or
    site.yaml has a problem, 2 a usage problem, such as too many deletions)."""
    started = time.perf_counter()
    out, err = out or sys.stdout, err or sys.stderr
    try:
        config = settings(source, target, endpoint_url, region, profile, max_deletes, uploads)
    except BuildFailed as exc:
        for error in exc.errors:
            print(error, file=err)
        print(f"microsite: deploy stopped by {len(exc.errors)} problem{'s' if len(exc.errors) != 1 else ''}; nothing was changed", file=err)
        return 1
    if not config.target:
        raise UsageError("no target: give s3://BUCKET[/PREFIX], or set deploy: target: in content/site.yaml")
    try:
        bucket, prefix = schema.s3_target(config.target)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    where = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    if not (output / write.MARKER).is_file():
        raise UsageError(f"{output} holds no site built by microsite; build it first, or deploy with --build")
    client = connect(config)
    record = key_of(prefix, MANIFEST)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as reader:
        scanning = reader.submit(scan, output)  # hashing while the storage lists
        try:
            listed = list_remote(client, bucket, prefix)
            known = read_manifest(client, bucket, record, listed)
        except Exception as exc:  # noqa: BLE001 - credentials, network, a missing bucket: all end the deploy here
            print(f"microsite: cannot read {where}: {_reason(exc)}; nothing was changed", file=err)
            return 1
        finally:
            local = scanning.result()
    try:
        listed.pop(record, None)
        by_key = {key_of(prefix, file.rel): file for file in local}
        to_read = [remote for key, remote in listed.items()
                   if key in by_key and key not in known and needs_reading(by_key[key], remote)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=config.uploads) as pool:
            for remote in pool.map(lambda r: read_remote(client, bucket, r), to_read):
                known[remote.key] = remote
        listed.update(known)
    except Exception as exc:  # noqa: BLE001 - credentials, network, a missing bucket: all end the deploy here
        print(f"microsite: cannot read {where}: {_reason(exc)}; nothing was changed", file=err)
        return 1
    steps = plan(local, listed, prefix)
    if len(steps.deletes) > config.max_deletes:
        raise UsageError(f"refusing to delete {len(steps.deletes)} objects under {where}, more than --max-deletes "
                         f"{config.max_deletes}; nothing was changed (check the output folder and the prefix, or raise --max-deletes)")
    if dry_run:
        for line in describe(steps, where):
            print(line, file=out)
        return 0
    done = carry_out(client, bucket, steps, config.uploads, Progress(len(steps.transfers) + len(steps.deletes), err, err.isatty() and not quiet))
    if not done.failures and len(to_read) + len(done.written) >= MANIFEST_SLACK:
        try:  # what was read or written now, so the next deploy need not read it
            relisted = list_remote(client, bucket, prefix)
            relisted.pop(record, None)
            client.put_object(Bucket=bucket, Key=record, Body=manifest(relisted, {**known, **done.written}),
                              ContentType="application/json", CacheControl="no-store")
        except Exception as exc:  # noqa: BLE001 - the site is deployed; the next deploy reads the objects instead
            done.failures.append(f"upload {record}: {_reason(exc)}")
    seconds = time.perf_counter() - started
    for failure in sorted(done.failures):
        print(f"microsite: failed: {failure}", file=err)
    if done.failures:
        print(f"microsite: deploy to {where} incomplete ({len(done.failures)} failed, {done.uploaded} uploaded); "
              "deploy again to finish it", file=err)
        return 1
    if not quiet:
        if steps.empty():
            print(f"microsite: {where} is up to date: nothing uploaded, {steps.unchanged} unchanged, 0 deleted, "
                  f"0 B in {seconds:.2f} s", file=out)
        else:
            copied = f" ({done.copied} with new headers only)" if done.copied else ""
            print(f"microsite: deployed to {where}: {done.uploaded + done.copied} uploaded{copied}, {steps.unchanged} unchanged, "
                  f"{done.deleted} deleted, {human(done.bytes)} in {seconds:.2f} s", file=out)
    return 0


def carry_out(client, bucket: str, steps: Plan, uploads: int, progress: Progress) -> Outcome:
    """Run the plan stage by stage, each stage's transfers in parallel; stop before the next stage
    (and before any deletion) once a transfer failed."""
    done = Outcome()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=uploads)
    try:
        for stage_steps in steps.stages:
            futures = {pool.submit(transfer, client, bucket, step): step for step in stage_steps}
            for future in concurrent.futures.as_completed(futures):
                step = futures[future]
                try:
                    sent, done.written[step.key] = future.result()
                except Exception as exc:  # noqa: BLE001 - reported with the object it belongs to
                    done.failures.append(f"{step.action} {step.key}: {_reason(exc)}")
                    continue
                done.bytes += sent
                if step.action == "copy":
                    done.copied += 1
                else:
                    done.uploaded += 1
                progress.advance(sent)
            if done.failures:
                return done
        if steps.deletes:
            keys = [step.key for step in steps.deletes]
            failed = delete(client, bucket, keys)
            done.failures += [f"delete {failure}" for failure in failed]
            done.deleted = len(keys) - len(failed)
            for _ in range(done.deleted):
                progress.advance(0)
        return done
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()
