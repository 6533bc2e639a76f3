"""The Markdown limits: the quick whole-text test never lets through what the line-by-line scan reports."""

from __future__ import annotations

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from conftest import examples
from microsite.source import limits


def runs(pieces: list[str], most: int, longest: int = 8) -> st.SearchStrategy[list[str]]:
    """Up to `longest` runs of one piece repeated up to `most` times: long texts from few choices."""
    return st.lists(st.tuples(st.sampled_from(pieces), st.integers(1, most)), min_size=1, max_size=longest).map(
        lambda found: [piece for piece, times in found for _ in range(times)])


PIECES = [
    # brackets, escaped or not, around the depth limit
    st.lists(st.sampled_from(["[", "[", "\\[", "]", "[x] ", "a"]), min_size=20, max_size=45).map("".join),
    # blockquote markers around the depth limit, with and without space between them
    st.tuples(st.integers(0, 3), st.lists(st.sampled_from(["", " ", "\t"] * 20 + ["  "]), min_size=30, max_size=40)).map(
        lambda found: " " * found[0] + "".join(">" + gap for gap in found[1]) + "q"),
    # indentation around the nesting limit, in spaces, tabs or both
    st.tuples(st.sampled_from([" ", "\t", "    ", "\t ", " \t"]), st.integers(30, 34), st.integers(0, 4),
              st.sampled_from(["- item", "text", ""])).map(lambda found: found[0] * found[1] + " " * found[2] + found[3]),
    # code fences, which the counts skip
    st.tuples(st.integers(0, 4), st.sampled_from(["```", "````", "~~~", "```python", "``", "~~~~"])).map(lambda found: " " * found[0] + found[1]),
    # lines that end a paragraph, or look as though they might
    st.sampled_from(["", "", "  ", "\t", "\x0b", "\u2028"]),
    # lines thick with inline marks, enough together to pass the limit
    st.sampled_from(["`*_<&ab ", "`*_<&ab ["]).flatmap(lambda marks: st.lists(runs(list(marks), 600), min_size=1, max_size=8)).map(
        lambda lines: "\n".join("".join(line) for line in lines)),
    st.sampled_from(["# Heading", "###### h", "===", "---", "- item", "1. item", "| a | b |", "#nope"]),
    st.integers(10, 34).map(lambda count: "[" * count),
    # many short lines: headings past their limit
    runs(["## H", "", "x", "---"], 300).map("\n".join),
    st.sampled_from(["Plain text with a [link](https://example.org) and *stress*.", "    indented code [[[", "text"]),
]


@st.composite
def bodies(draw) -> str:
    """A body of lines close to one limit or another, or that change how the lines around them count."""
    kinds = draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=5, unique_by=id))
    return "\n".join(draw(st.lists(st.one_of(kinds), min_size=1, max_size=40)))


@settings(max_examples=examples(600))
@given(bodies())
def test_quick_test_agrees_with_the_scan(text):
    assert limits.scan_markdown(text, "a.md", 5) == limits._scan_markdown(text, "a.md", 5)


FIRST_FOUND = settings(max_examples=2000, phases=[Phase.generate], database=None)
"""Look for one body of a kind; the first will do, unshrunk."""


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@pytest.mark.parametrize("limit", ["headings", "blockquotes", "indented", "'['", "inline marks"])
def test_the_generated_bodies_reach_every_limit(limit):
    """The agreement above means something only if both sides of each limit were met."""
    find(bodies(), lambda text: any(limit in error.message for error in limits._scan_markdown(text, "a.md", 1)),
         settings=FIRST_FOUND)


def test_some_generated_bodies_within_the_limits_take_the_full_scan():
    """So both paths are compared, not only the quick one."""
    find(bodies(), lambda text: not limits._scan_markdown(text, "a.md", 1) and not limits._within_limits(text),
         settings=FIRST_FOUND)


@pytest.mark.parametrize("text", [
    "[" * 20 + "\n```\n```\n" + "[" * 20,
    "[" * 20 + "\n```\n```\n\n" + "[" * 40,
    "\t" * 33 + "x",
    "\t" * 32 + " x",
    " " * 129 + "x",
    " " * 128 + "x",
    ">" * 33,
    "   " + "> " * 33,
    "\n\n".join(["# h"] * 1000),
    "\n".join(["# h"] * 1001),
    "\n".join(["*" * 500] * 4) + "*",
    "```\n" + "[" * 20 + "\n\n" + "[" * 20 + "\n```\n" + "[" * 20,
    "[" * 20 + "\n```\n\n```\n" + "[" * 20,
    "[" * 20 + "\n~~~~\n~~~\n\n~~~~~\n" + "[" * 20,
    "[" * 20 + "\n   ```\n\n      ```` closes\n" + "[" * 13,
    "```\n" + "[" * 40,
    "[" * 20 + "\n```",
])
def test_quick_test_agrees_with_the_scan_at_each_limit(text):
    assert limits.scan_markdown(text, "a.md", 1) == limits._scan_markdown(text, "a.md", 1)
