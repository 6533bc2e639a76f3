"""Write a deterministic benchmark site: realistic articles, crew and events, same bytes for the same seed.

    python bench/corpus.py DEST --articles N [--seed S]

DEST receives `content/site.yaml`, `content/mission.yaml`, `content/articles/*.md` (about 960 words
each, with headings, lists, links, tables, code, images and footnotes; 1-3 tags; 0-3 crew) and the
images the articles show, under `static/images/`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sys
from pathlib import Path

WORDS = """
orbit station module crew capsule launch docking hatch thruster attitude engine burn descent
landing steppe recovery cosmonaut astronaut director actress camera lighting footage scene film
studio editor producer premiere cinema audience schedule rehearsal training centrifuge simulator
spacesuit helmet oxygen pressure valve panel switch console checklist procedure timeline window
rendezvous approach antenna radar signal telemetry ground control flight plan mission commander
engineer surgeon patient operation lung heart injury debris spacewalk airlock tether handrail
sunrise sunset horizon earth night lights cloud ocean desert mountain river city coast weather
rocket booster fairing stage separation ignition countdown pad gantry tower fuel kerosene
propellant tank pump nozzle vibration noise silence weightless float drift spin tumble record
interview reporter question answer statement report source archive document letter memo
budget contract partner agency company channel network broadcast stream episode season cut
""".split()

CONNECTIVES = "and but while because although so then after before when as since until though".split()
TAGS = [f"{a}-{b}" if b else a for a, b in [
    ("launch", ""), ("docking", ""), ("landing", ""), ("soyuz", ""), ("iss", ""), ("film", ""),
    ("premiere", ""), ("crew", ""), ("training", ""), ("science", ""), ("history", ""), ("engineering", ""),
    ("recovery", ""), ("spacewalk", ""), ("medicine", ""), ("camera", ""), ("orbit", ""), ("roscosmos", ""),
    ("nasa", ""), ("baikonur", ""), ("budget", ""), ("press", ""), ("interview", ""), ("timeline", ""),
    ("space", "station"), ("flight", "control"), ("ground", "crew"), ("mission", "design"), ("night", "sky"),
    ("weather", "report"), ("box", "office"), ("long", "read"), ("photo", "essay"), ("data", "desk"),
    ("archive", ""), ("opinion", ""), ("analysis", ""), ("explainer", ""), ("live", "blog"), ("obituary", ""),
]]
LANGUAGES = [
    ("python", "def burn(duration, thrust):\n    \"\"\"Return the change in velocity.\"\"\"\n    mass = 7080.0\n    return thrust * duration / mass\n\nfor second in range(3):\n    print(second, burn(second, 2950.0))"),
    ("javascript", "const events = await fetch('/mission/events.json').then(r => r.json());\nfor (const e of events) {\n  console.log(`${e.time} ${e.title}`);\n}"),
    ("bash", "#!/bin/sh\nset -eu\nrsync -a --delete output/ host:/srv/site/\necho \"published $(date -u)\""),
    ("yaml", "mission:\n  name: Soyuz MS-19\n  crew: [shkaplerov, peresild, shipenko]\n  launch: 2021-10-05T08:55:02Z"),
]
FIRST_NAMES = "Anna Boris Chen Dmitri Elena Farid Galina Hana Ivan Julia Kenji Lara Marek Nadia Oleg Priya".split()
LAST_NAMES = "Antonova Belov Chen Dubova Egorov Fedorova Gusev Hayashi Ivanova Jensen Kuznetsov Lebedeva Morozov Novak".split()
ROLES = ["Commander", "Flight engineer", "Spaceflight participant", "Director", "Camera operator", "Surgeon", "Backup commander", "Producer"]

IMAGE = """<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" viewBox="0 0 640 360">
<rect width="640" height="360" fill="#0b1d33"/>
<circle cx="{cx}" cy="{cy}" r="{r}" fill="#f2c14e"/>
<text x="24" y="336" fill="#e8eef5" font-family="sans-serif" font-size="20">Figure {n}</text>
</svg>
"""
IMAGES = 24


def sentence(rng: random.Random, low: int = 8, high: int = 22) -> str:
    """One plain sentence of vocabulary words."""
    count = rng.randint(low, high)
    words = [rng.choice(WORDS) for _ in range(count)]
    if count > 10:
        words.insert(rng.randint(4, count - 4), rng.choice(CONNECTIVES))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random, sentences: int, footnotes: list[str]) -> str:
    """A paragraph with inline emphasis, code, links and sometimes a footnote reference."""
    parts = []
    for _ in range(sentences):
        s = sentence(rng)
        roll = rng.random()
        words = s.split(" ")
        if roll < 0.15 and len(words) > 4:
            i = rng.randrange(1, len(words) - 1)
            words[i] = f"**{words[i]}**"
        elif roll < 0.30 and len(words) > 4:
            i = rng.randrange(1, len(words) - 1)
            words[i] = f"*{words[i]}*"
        elif roll < 0.40 and len(words) > 4:
            i = rng.randrange(1, len(words) - 1)
            words[i] = f"`{words[i]}_{rng.randint(1, 99)}`"
        elif roll < 0.55 and len(words) > 5:
            i = rng.randrange(1, len(words) - 2)
            words[i] = f"[{words[i]} {words[i + 1]}](https://example.org/archive/{rng.randint(1000, 9999)}/{words[i]}/)"
            del words[i + 1]
        s = " ".join(words)
        if rng.random() < 0.08:
            label = f"n{len(footnotes) + 1}"
            footnotes.append(f"[^{label}]: {sentence(rng, 6, 14)} See [the archive](https://example.org/sources/{rng.randint(100, 999)}).")
            s = s[:-1] + f"[^{label}]."
        parts.append(s)
    return " ".join(parts)


def title_words(rng: random.Random, count: int) -> list[str]:
    return [rng.choice(WORDS) for _ in range(count)]


def article(rng: random.Random, index: int, start: dt.datetime, crew_ids: list[str]) -> tuple[str, str]:
    """Return (file name, text) of one article of about 960 words."""
    words = title_words(rng, rng.randint(4, 8))
    title = " ".join(words).capitalize()
    slug = f"{index:05d}-" + "-".join(words[:4])
    when = start + dt.timedelta(hours=index * 7, minutes=rng.randint(0, 59))
    tags = rng.sample(TAGS, rng.randint(1, 3))
    crew = rng.sample(crew_ids, rng.randint(0, 3))
    footnotes: list[str] = []
    lines = [
        "---",
        f"title: {title}",
        f"date: {when:%Y-%m-%dT%H:%M:00Z}",
        f"summary: {sentence(rng, 12, 24)}",
        f"tags: [{', '.join(tags)}]",
    ]
    if crew:
        lines.append(f"crew: [{', '.join(crew)}]")
    if rng.random() < 0.3:
        lines.append(f"updated: {when + dt.timedelta(days=rng.randint(1, 30)):%Y-%m-%dT%H:%M:00Z}")
    lines += ["---", ""]
    lines += [paragraph(rng, 5, footnotes), ""]
    for section in range(4):
        lines += [f"## {' '.join(title_words(rng, rng.randint(2, 5))).capitalize()}", ""]
        lines += [paragraph(rng, rng.randint(4, 5), footnotes), ""]
        kind = (index + section) % 4
        if kind == 0:
            lines += [f"- {sentence(rng, 4, 10)}" for _ in range(rng.randint(3, 5))] + [""]
        elif kind == 1:
            lines += [f"{n}. {sentence(rng, 4, 10)}" for n in range(1, rng.randint(3, 5) + 1)] + [""]
        elif kind == 2:
            lines += ["| Event | UTC | Notes |", "|---|---|---|"]
            for _ in range(rng.randint(3, 5)):
                lines.append(f"| {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} | {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} | {sentence(rng, 3, 7)} |")
            lines.append("")
        else:
            language, code = LANGUAGES[(index // 4 + section) % len(LANGUAGES)]
            lines += [f"```{language}", code, "```", ""]
        if section == 1:
            n = rng.randrange(IMAGES)
            lines += [f"![Figure {n}: {' '.join(title_words(rng, 4))}](/static/images/figure-{n:02d}.svg)", ""]
        lines += [f"### {' '.join(title_words(rng, rng.randint(2, 4))).capitalize()}", ""]
        lines += [paragraph(rng, rng.randint(4, 6), footnotes), ""]
        if section == 2:
            lines += [f"> {sentence(rng, 10, 18)}", ""]
    if not footnotes:
        footnotes.append(f"[^n1]: {sentence(rng, 6, 14)}")
        lines[-2] = lines[-2][:-1] + "[^n1]."
    lines += footnotes
    return f"{slug}.md", "\n".join(lines) + "\n"


def mission(rng: random.Random, start: dt.datetime) -> tuple[str, list[str]]:
    """Return mission.yaml's text and the crew ids it defines."""
    ids = []
    out = ["mission:", "  name: Benchmark orbital film mission", "  spacecraft: [Soyuz MS-19, Soyuz MS-18]",
           "  summary: A generated mission whose articles exercise every part of the generator.", "  facts:"]
    for n in range(6):
        out += [f"    - label: {' '.join(title_words(rng, 2)).capitalize()}", f"      value: {sentence(rng, 4, 9)}"]
    out.append("  events:")
    for n in range(40):
        when = start + dt.timedelta(days=n * 3, hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        out += [f"    - id: event-{n:02d}", f"      time: {when:%Y-%m-%dT%H:%M:00Z}",
                f"      place: {' '.join(title_words(rng, 3)).capitalize()}",
                f"      title: {' '.join(title_words(rng, 4)).capitalize()}",
                f"      detail: {sentence(rng, 12, 24)}"]
    out.append("crew:")
    for n in range(12):
        first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[(n * 5) % len(LAST_NAMES)]
        member_id = f"{first}-{last}".lower()
        ids.append(member_id)
        out += [f"  - id: {member_id}", f"    name: {first} {last}", f"    role: {ROLES[n % len(ROLES)]}",
                f"    born: {1960 + n}-0{1 + n % 9}-1{n % 10}", f"    bio: {sentence(rng, 8, 14)}",
                f"    about: {' '.join(sentence(rng) for _ in range(4))}"]
    out += ["film:", "  title: The Benchmark", "  summary: A film that exists only to give the pages something to say."]
    return "\n".join(out) + "\n", ids


SITE = """title: Benchmark Orbit
description: A generated site of many articles for measuring build speed.
base_url: https://example.org/
language: en
author: Benchmark desk
"""


def generate(dest: Path, articles: int, seed: int = 1) -> None:
    """Write the whole site source into `dest`, replacing generated folders that are already there."""
    rng = random.Random(seed)
    start = dt.datetime(2010, 1, 1, tzinfo=dt.timezone.utc)
    folder = dest / "content" / "articles"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (dest / "content" / "site.yaml").write_text(SITE, encoding="utf-8")
    text, crew_ids = mission(rng, start)
    (dest / "content" / "mission.yaml").write_text(text, encoding="utf-8")
    images = dest / "static" / "images"
    images.mkdir(parents=True, exist_ok=True)
    for n in range(IMAGES):
        (images / f"figure-{n:02d}.svg").write_text(IMAGE.format(cx=100 + n * 20, cy=80 + n * 8, r=30 + n, n=n), encoding="utf-8")
    for index in range(articles):
        name, body = article(rng, index, start, crew_ids)
        (folder / name).write_text(body, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write a deterministic benchmark site source folder.")
    p.add_argument("dest", type=Path, help="folder to write content/ and static/ into")
    p.add_argument("--articles", type=int, default=1000, help="how many articles (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same bytes")
    args = p.parse_args(argv)
    if args.articles < 0:
        p.error("--articles must be 0 or more")
    generate(args.dest, args.articles, args.seed)
    print(f"corpus: {args.articles} articles in {args.dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
