"""Build one generated corpus with microsite, Pelican, Hugo and bare Python-Markdown; print one table.

    python bench/run.py [--articles N ...] [--peers pelican,hugo,floor]

For each size: a cold build, a rebuild with nothing changed, a rebuild after one article was
edited, and one after a template was edited; wall time, and the peak memory and CPU time of the
whole process tree (bench/measure.py). Pelican and Hugo come from the bench-only environment bench/.venv
(`make bench` installs it). Every figure in a table is measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import corpus
import pages

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
PEERS_PYTHON = BENCH / ".venv" / "bin" / "python"
SCENARIOS = ("cold", "nochange", "edit", "template")
LABELS = {"cold": "cold build", "nochange": "no change", "edit": "one article edited", "template": "one template edited"}
EDIT_LINE = "\nEdited once more for the benchmark: one sentence added at the end.\n"


@dataclass
class Figures:
    """What one tool did at one size."""

    name: str
    seconds: dict[str, float] = field(default_factory=dict)
    peak_mib: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds (user and system, every process of the build) per scenario."""


def measure(command: list[str], cwd: Path) -> tuple[float, float, float]:
    """Run a command under bench/measure.py; return (seconds, peak MiB, CPU seconds); fail loudly if it failed."""
    out = subprocess.run([PYTHON, str(BENCH / "measure.py"), "--", *command], cwd=cwd, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    if result["status"] != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed with status {result['status']}:\n{result['stderr']}")
    return result["seconds"], result["peak_mib"], result["cpu_seconds"]


def middle_article(folder: Path, suffix: str = ".md") -> Path:
    """The article edited in the one-edit scenario: the middle one, neither newest nor oldest."""
    files = sorted(folder.glob(f"*{suffix}"))
    return files[len(files) // 2]


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def run_scenarios(fig: Figures, build: list[str], cwd: Path, clean, edit_article, edit_template) -> Figures:
    """Cold, no-change, one-article and one-template builds of one tool."""
    clean()
    for scenario, prepare in (("cold", None), ("nochange", None), ("edit", edit_article), ("template", edit_template)):
        if prepare:
            prepare()
        seconds, peak, cpu = measure(build, cwd)
        fig.seconds[scenario] = seconds
        fig.cpu[scenario] = cpu
        fig.peak_mib = max(fig.peak_mib, peak)
        print(f"bench:   {fig.name:<10} {LABELS[scenario]:<20} {seconds:8.2f} s  {cpu:8.2f} s CPU  {peak:7.0f} MiB", file=sys.stderr, flush=True)
    return fig


def bench_microsite(work: Path, n: int) -> Figures:
    site = work / "microsite"
    corpus.generate(site, n)
    templates = site / "templates"
    templates.mkdir(exist_ok=True)
    shutil.copyfile(ROOT / "microsite/theme/templates" / "article.html", templates / "article.html")
    output = site / "output"

    def clean() -> None:
        shutil.rmtree(output, ignore_errors=True)
        shutil.rmtree(site / ".microsite-cache", ignore_errors=True)

    build = [PYTHON, str(ROOT / "build.py"), "build", "--source", str(site), "--output", str(output), "-q"]
    return run_scenarios(Figures("microsite"), build, ROOT, clean,
                         lambda: append(middle_article(site / "content" / "articles"), EDIT_LINE),
                         lambda: append(templates / "article.html", "{# edited for the benchmark #}\n"))


def bench_floor(work: Path, n: int) -> Figures:
    site = work / "floor"
    corpus.generate(site, n)
    out = site / "html"
    shutil.rmtree(out, ignore_errors=True)
    seconds, peak, cpu = measure([PYTHON, str(BENCH / "floor.py"), str(site), str(out), "--processes", "2"], ROOT)
    print(f"bench:   {'floor':<10} {'cold build':<20} {seconds:8.2f} s  {cpu:8.2f} s CPU  {peak:7.0f} MiB", file=sys.stderr, flush=True)
    return Figures("floor", {"cold": seconds}, peak, {"cold": cpu})


def _front(text: str) -> tuple[dict, str]:
    """Split a corpus article into its (flat, known-shape) front matter and body."""
    _, front, body = text.split("---\n", 2)
    fields: dict = {}
    for line in front.splitlines():
        key, _, value = line.partition(": ")
        if value.startswith("[") and value.endswith("]"):
            fields[key] = [v.strip() for v in value[1:-1].split(",") if v.strip()]
        else:
            fields[key] = value
    return fields, body


def crew_names(site: Path) -> dict[str, str]:
    names, current = {}, None
    for line in (site / "content" / "mission.yaml").read_text(encoding="utf-8").splitlines():
        if line.startswith("  - id: "):
            current = line.split(": ", 1)[1]
        elif line.startswith("    name: ") and current:
            names[current] = line.split(": ", 1)[1]
    return names


PELICAN_CONF = """\
AUTHOR = "Benchmark desk"
SITENAME = "Benchmark Orbit"
SITEURL = "https://example.org"
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
ARTICLE_PATHS = ["articles"]
STATIC_PATHS = ["static"]
ARTICLE_URL = "articles/{slug}/"
ARTICLE_SAVE_AS = "articles/{slug}/index.html"
FEED_MAX_ITEMS = 20
DEFAULT_PAGINATION = False
# The same Markdown features microsite converts with.
MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.codehilite": {"css_class": "highlight", "guess_lang": False},
        "markdown.extensions.extra": {},
        "markdown.extensions.toc": {"permalink": "#", "toc_depth": "2-3"},
        "markdown.extensions.smarty": {},
        "markdown.extensions.sane_lists": {},
    },
    "output_format": "html5",
}
# Pelican's best case for rebuilds: parsed articles cached, so edits re-read only what changed.
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CONTENT_CACHING_LAYER = "reader"
CACHE_PATH = "cache"
THEME_TEMPLATES_OVERRIDES = ["overrides"]
"""


def peer_site(work: Path, n: int, name: str, static: str, front: Callable[[str, dict, dict[str, str]], str]) -> tuple[Path, Path]:
    """The corpus converted for a peer: a fresh folder `work/name` with the static files at `static`
    and each article as `front(slug, fields, crew names)` followed by its unchanged Markdown body.
    Returns the site folder and its articles folder."""
    source = work / "source"
    if source not in _generated:  # the same corpus serves every peer of one size
        corpus.generate(source, n)
        _generated.add(source)
    site = work / name
    shutil.rmtree(site, ignore_errors=True)
    articles = site / "content" / "articles"
    articles.mkdir(parents=True)
    shutil.copytree(source / "static", site / static)
    names = crew_names(source)
    for path in sorted((source / "content" / "articles").glob("*.md")):
        fields, body = _front(path.read_text(encoding="utf-8"))
        (articles / path.name).write_text(front(path.stem, fields, names) + body, encoding="utf-8")
    return site, articles


_generated: set[Path] = set()


def _pelican_front(slug: str, fields: dict, names: dict[str, str]) -> str:
    head = [f"Title: {fields['title']}", f"Date: {fields['date'].replace('T', ' ').rstrip('Z')}",
            f"Slug: {slug}", f"Summary: {fields['summary']}", f"Tags: {', '.join(fields['tags'])}"]
    if "updated" in fields:
        head.append(f"Modified: {fields['updated'].replace('T', ' ').rstrip('Z')}")
    if fields.get("crew"):
        head.append(f"Authors: {', '.join(names[c] for c in fields['crew'])}")
    return "\n".join(head) + "\n"


def bench_pelican(work: Path, n: int) -> Figures:
    site, articles = peer_site(work, n, "pelican", "content/static", _pelican_front)
    (site / "pelicanconf.py").write_text(PELICAN_CONF, encoding="utf-8")
    theme = subprocess.run([str(PEERS_PYTHON), "-c", "import pelican, os; print(os.path.dirname(pelican.__file__))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    (site / "overrides").mkdir()
    shutil.copyfile(Path(theme) / "themes" / "notmyidea" / "templates" / "article.html", site / "overrides" / "article.html")

    def clean() -> None:
        shutil.rmtree(site / "output", ignore_errors=True)
        shutil.rmtree(site / "cache", ignore_errors=True)

    build = [str(PEERS_PYTHON), "-m", "pelican", "content", "-s", "pelicanconf.py", "-o", "output", "-q"]
    return run_scenarios(Figures("Pelican"), build, site, clean,
                         lambda: append(middle_article(articles), EDIT_LINE),
                         lambda: append(site / "overrides" / "article.html", "{# edited for the benchmark #}\n"))


HUGO_CONF = """\
baseURL = "https://example.org/"
languageCode = "en"
title = "Benchmark Orbit"
[taxonomies]
  tag = "tags"
  crew = "crew"
[markup.goldmark.renderer]
  unsafe = true
[markup.tableOfContents]
  startLevel = 2
  endLevel = 3
[services.rss]
  limit = 20
"""

HUGO_LAYOUTS = {
    "_default/baseof.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }} · {{ site.Title }}</title>
<meta name="description" content="{{ with .Params.summary }}{{ . }}{{ else }}{{ site.Title }}{{ end }}"></head>
<body><header><a href="{{ "" | relURL }}">{{ site.Title }}</a>
<nav><a href="{{ "articles/" | relURL }}">Articles</a> <a href="{{ "crew/" | relURL }}">Crew</a> <a href="{{ "tags/" | relURL }}">Topics</a></nav></header>
<main>{{ block "main" . }}{{ end }}</main></body></html>
""",
    "_default/single.html": """{{ define "main" }}<article><h1>{{ .Title }}</h1>
{{ with .Params.summary }}<p class="lede">{{ . }}</p>{{ end }}
<p class="meta"><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2 January 2006" }}</time> · {{ .ReadingTime }} min read</p>
{{ with .Params.crew }}<p>With {{ range . }}<a href="{{ printf "crew/%s/" (urlize .) | relURL }}">{{ . }}</a> {{ end }}</p>{{ end }}
<ul class="tags">{{ range .Params.tags }}<li><a href="{{ printf "tags/%s/" (urlize .) | relURL }}">{{ . }}</a></li>{{ end }}</ul>
<nav class="toc">{{ .TableOfContents }}</nav>
<div class="prose">{{ .Content }}</div></article>
<nav class="pager">{{ with .PrevInSection }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }} {{ with .NextInSection }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}</nav>
{{ end }}
""",
    "_default/list.html": """{{ define "main" }}<h1>{{ .Title }}</h1>
<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <time>{{ .Date.Format "2 January 2006" }}</time>{{ with .Params.summary }}<p>{{ . }}</p>{{ end }}</li>{{ end }}</ul>
{{ end }}
""",
    "index.html": """{{ define "main" }}<h1>{{ site.Title }}</h1>
<ul>{{ range first 10 (where site.RegularPages "Section" "articles") }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ with .Params.summary }}<p>{{ . }}</p>{{ end }}</li>{{ end }}</ul>
{{ end }}
""",
}


def _hugo_front(slug: str, fields: dict, names: dict[str, str]) -> str:
    head = ["---", f"title: {json.dumps(fields['title'])}", f"date: {fields['date']}", f"slug: {slug}",
            f"summary: {json.dumps(fields['summary'])}", f"tags: {json.dumps(fields['tags'])}"]
    if "updated" in fields:
        head.append(f"lastmod: {fields['updated']}")
    if fields.get("crew"):
        head.append(f"crew: {json.dumps(fields['crew'])}")
    return "\n".join(head) + "\n---\n"


def bench_hugo(work: Path, n: int) -> Figures:
    site, articles = peer_site(work, n, "hugo", "static/static", _hugo_front)
    (site / "hugo.toml").write_text(HUGO_CONF, encoding="utf-8")
    for name, text in HUGO_LAYOUTS.items():
        (site / "layouts" / name).parent.mkdir(parents=True, exist_ok=True)
        (site / "layouts" / name).write_text(text, encoding="utf-8")

    def clean() -> None:
        shutil.rmtree(site / "public", ignore_errors=True)
        shutil.rmtree(site / "resources", ignore_errors=True)

    build = [str(BENCH / ".venv" / "bin" / "hugo"), "--quiet", "--source", str(site), "--destination", str(site / "public")]
    return run_scenarios(Figures("Hugo"), build, site, clean,
                         lambda: append(middle_article(articles), EDIT_LINE),
                         lambda: append(site / "layouts" / "_default" / "single.html", "{{/* edited for the benchmark */}}\n"))


def table(n: int, figures: list[Figures]) -> str:
    """One Markdown table: each tool's figures, then microsite's ratio to each peer (below 1: faster)."""
    def cell(value: float | None, unit: str = " s") -> str:
        return "–" if value is None else f"{value:,.2f}{unit}"

    head = ["", *[LABELS[s] for s in SCENARIOS], "peak memory", "ms per article (cold)"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for fig in figures:
        rows.append("| " + " | ".join([fig.name, *[cell(fig.seconds.get(s)) for s in SCENARIOS],
                                        f"{fig.peak_mib:,.0f} MiB", f"{1000 * fig.seconds['cold'] / n:,.1f}"]) + " |")
    ours = figures[0]
    for peer in figures[1:]:
        ratios = []
        for s in SCENARIOS:
            # A peer without a rebuild of its own (the floor) is compared with its cold build.
            theirs = peer.seconds.get(s, peer.seconds["cold"]) if peer.name == "floor" else peer.seconds.get(s)
            ratios.append("–" if theirs is None else f"{ours.seconds[s] / theirs:.3f}×")
        rows.append("| " + " | ".join([f"microsite ÷ {peer.name}", *ratios, f"{ours.peak_mib / peer.peak_mib:.2f}×",
                                        f"{ours.seconds['cold'] / peer.seconds['cold']:.3f}×"]) + " |")
    rows.append("| CPU seconds (all processes) | " + " | ".join([""] * (len(head) - 1)) + " |")
    for fig in figures:
        rows.append("| " + " | ".join([fig.name, *[cell(fig.cpu.get(s)) for s in SCENARIOS], "", ""]) + " |")
    return "\n".join(rows)


def largest_page(output: Path) -> str:
    """One line naming the heaviest page microsite built, by bytes and by DOM elements."""
    by_bytes, by_elements = pages.largest(output)
    line = f"\nlargest page: {by_bytes.bytes:,} bytes ({by_bytes.elements:,} DOM elements), {by_bytes.path}"
    if by_elements.path != by_bytes.path:
        line += f"; most DOM elements: {by_elements.elements:,} ({by_elements.bytes:,} bytes), {by_elements.path}"
    return line


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}, load {load:.1f} at start"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, nargs="+", default=[1000], metavar="N", help="corpus sizes (default 1000)")
    p.add_argument("--peers", default="floor,pelican,hugo", help="comma-separated subset of floor,pelican,hugo")
    p.add_argument("--work", type=Path, default=BENCH / "work", help="scratch folder (default bench/work)")
    args = p.parse_args(argv)
    peers = [name for name in args.peers.split(",") if name]
    runners = {"floor": bench_floor, "pelican": bench_pelican, "hugo": bench_hugo}
    unknown = set(peers) - set(runners)
    if unknown:
        p.error(f"unknown peers: {', '.join(sorted(unknown))}")
    if {"pelican", "hugo"} & set(peers) and not PEERS_PYTHON.exists():
        p.error("bench/.venv is missing: run `make bench`, which installs Pelican and Hugo there")
    print(f"bench: {machine()}", flush=True)
    cold: dict[int, dict[str, float]] = {}
    for n in args.articles:
        work = args.work / str(n)
        work.mkdir(parents=True, exist_ok=True)
        print(f"bench: {n:,} articles", file=sys.stderr, flush=True)
        figures = [bench_microsite(work, n)] + [runners[name](work, n) for name in peers]
        print(f"\n{n:,} articles, {SCENARIOS.__len__()} builds per tool, measured in this run:\n")
        print(table(n, figures), flush=True)
        print(largest_page(work / "microsite" / "output"), flush=True)
        cold[n] = {f.name: f.seconds["cold"] for f in figures}
        (args.work / f"results-{n}.json").write_text(json.dumps({f.name: {"seconds": f.seconds, "peak_mib": f.peak_mib, "cpu": f.cpu} for f in figures}, indent=1))
    sizes = sorted(cold)
    saved = ""
    if len(sizes) == 1:  # pair with the other size from an earlier run, and say so
        for other in sorted(args.work.glob("results-*.json")):
            n = int(other.stem.split("-")[1])
            if n not in cold:
                cold[n] = {name: fig["seconds"]["cold"] for name, fig in json.loads(other.read_text()).items()}
                saved = f" ({n:,} from an earlier run, {other})"
        sizes = sorted(cold)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"\nscaling, cold build time at {large:,} ÷ at {small:,} articles (linear: {large / small:g}){saved}:")
        for name in cold[large]:
            if name in cold[small]:
                print(f"  {name:<10} {cold[large][name] / cold[small][name]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
