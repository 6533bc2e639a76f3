"""Property-based tests: front-matter splitting, slugs, output paths and outlines hold for any input."""

from __future__ import annotations

import pickle
import re
import tempfile
from urllib.parse import unquote
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import examples
from microsite.model import Toc, TocEntry
from microsite.output import write
from microsite.source import yaml12
from microsite.source.content import split_front_matter
from microsite.source.schema import make_slug

NO_DEADLINE = settings(deadline=None)
"""Properties, not timings: a busy machine must not fail a test."""

FENCES = {"---", "..."}
line = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=40)
front_line = line.filter(lambda s: s.rstrip() not in FENCES)


@NO_DEADLINE
@given(st.lists(front_line, max_size=8), st.lists(line, max_size=8))
def test_front_matter_splits_back_into_its_parts(front, body):
    front_text = "".join(f"{l}\n" for l in front)
    body_text = "\n".join(body)
    got_front, got_body, body_line = split_front_matter(f"---\n{front_text}---\n{body_text}", "a.md")
    assert got_front == front_text
    assert got_body == body_text
    assert body_line == len(front) + 3, "the body starts on the line after the closing ---"


@NO_DEADLINE
@given(st.text(max_size=200))
def test_front_matter_split_either_succeeds_or_names_line_one(text):
    try:
        front, body, body_line = split_front_matter(text, "a.md")
    except yaml12.LocatedProblem as exc:
        assert (exc.error.path, exc.error.line, exc.error.column) == ("a.md", 1, 1)
    else:
        lines = text.split("\n")
        assert lines[0].rstrip() == "---"
        assert lines[body_line - 2].rstrip() in FENCES
        assert f"{front}" == "".join(l + "\n" for l in lines[1:body_line - 2])


SLUG = re.compile(r"([a-z0-9]+(-[a-z0-9]+)*)?")


@NO_DEADLINE
@given(st.text(max_size=300))
def test_slugs_are_short_lowercase_ascii_and_stable(text):
    slug = make_slug(text)
    assert SLUG.fullmatch(slug), slug
    assert len(slug) <= 80
    assert make_slug(slug) == slug
    if slug and slug not in write.RESERVED_NAMES:
        assert write.safe_relative(f"articles/{slug}/index.html") == PurePosixPath("articles", slug, "index.html")


path_chars = st.sampled_from(list("ab./\\%2eE:\x00\x1f ~") + ["..", "%2e", "%252e", "%2f", "con", "NUL", "aux.txt"])
hostile_path = st.lists(path_chars, min_size=1, max_size=12).map("".join)


@NO_DEADLINE
@given(st.one_of(hostile_path, st.text(max_size=60)))
def test_accepted_output_paths_stay_inside_the_folder(rel):
    root = Path("/srv/output")
    try:
        path = write.safe_relative(rel)
    except ValueError:
        return
    assert not path.is_absolute()
    joined = Path("/srv/output", *path.parts)
    assert joined.resolve(strict=False).is_relative_to(root)
    for part in rel.split("/"):
        assert part not in ("", ".", "..")
        assert "\\" not in part and "\x00" not in part
        assert unquote(unquote(part)) not in (".", ".."), "no encoded parent step, for servers that decode twice"


@settings(max_examples=examples(60))
@given(st.lists(st.one_of(hostile_path, st.text(max_size=30)), min_size=1, max_size=6))
def test_a_transaction_writes_only_inside_its_output(names):
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "outside").mkdir()
        output = base / "out"
        with write.Transaction(output) as tx:
            for name in names:
                try:
                    tx.write(name, b"x")
                except ValueError:
                    pass
        inside = {p for p in base.rglob("*") if p.is_relative_to(output)}
        assert {p for p in base.rglob("*")} - inside == {base / "outside"}
        for path in inside:
            assert path.resolve().is_relative_to(output.resolve())


heading = st.builds(TocEntry, st.integers(1, 6), st.text(max_size=30), st.text(max_size=60))


@NO_DEADLINE
@given(st.lists(heading, max_size=12), st.lists(heading, max_size=12))
def test_an_outline_gives_back_its_headings_whatever_they_hold(entries, others):
    toc = Toc(entries)
    assert list(toc) == entries
    assert len(toc) == len(entries)
    assert [toc[i] for i in range(-len(entries), len(entries))] == entries + entries
    again = pickle.loads(pickle.dumps(toc))
    assert again == toc and hash(again) == hash(toc) and list(again) == entries
    assert (Toc(others) == toc) == (others == entries), "equal exactly when the headings are"
