"""The Markdown limits: the quick whole-text test never lets through what the line-by-line scan reports."""

from __future__ import annotations

import random

import pytest

from microsite.source import limits


def piece(rng: random.Random, kinds: list[int]) -> str:
    """One line close to a limit, or one that changes how the lines around it count."""
    kind = rng.choice(kinds)
    if kind == 0:
        return "".join(rng.choice(["[", "[", "\\[", "]", "[x] ", "a"]) for _ in range(rng.randint(20, 45)))
    if kind == 1:
        return " " * rng.randint(0, 3) + "".join(">" + rng.choice(["", " ", "\t"] * 20 + ["  "]) for _ in range(rng.randint(30, 40))) + "q"
    if kind == 2:
        unit = rng.choice([" ", "\t", "    ", "\t ", " \t"])
        return unit * rng.randint(30, 34) + " " * rng.randint(0, 4) + rng.choice(["- item", "text", ""])
    if kind == 3:
        return " " * rng.randint(0, 4) + rng.choice(["```", "````", "~~~", "```python", "``", "~~~~"])
    if kind == 4:
        return rng.choice(["", "", "  ", "\t", "\x0b", "\u2028"])
    if kind == 5:
        marks = "`*_<&ab " + "[" * rng.randint(0, 1)
        return "\n".join("".join(rng.choice(marks) for _ in range(rng.randint(200, 900))) for _ in range(rng.randint(1, 8)))
    if kind == 6:
        return rng.choice(["# Heading", "###### h", "===", "---", "- item", "1. item", "| a | b |", "#nope"])
    if kind == 7:
        return "[" * rng.randint(10, 34)
    if kind == 8:
        return "\n".join(rng.choice(["## H", "", "x", "---"]) for _ in range(rng.randint(200, 600)))
    return rng.choice(["Plain text with a [link](https://example.org) and *stress*.", "    indented code [[[", "text"])


def body(seed: int) -> str:
    rng = random.Random(seed)
    kinds = rng.sample(range(12), rng.randint(1, 5))
    return "\n".join(piece(rng, kinds) for _ in range(rng.randint(1, 40)))


@pytest.mark.parametrize("seed", range(600))
def test_quick_test_agrees_with_the_scan(seed):
    text = body(seed)
    assert limits.scan_markdown(text, "a.md", 5) == limits._scan_markdown(text, "a.md", 5)


def test_the_generated_bodies_reach_every_limit():
    """The agreement above means something only if both sides of each limit were met."""
    messages = " ".join(error.message for seed in range(600) for error in limits._scan_markdown(body(seed), "a.md", 1))
    for limit in ("headings", "blockquotes", "indented", "'['", "inline marks"):
        assert limit in messages
    passed = sum(not limits._scan_markdown(body(seed), "a.md", 1) and not limits._within_limits(body(seed)) for seed in range(600))
    assert passed < 600, "some bodies within the limits take the full scan, so both paths are compared"


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
