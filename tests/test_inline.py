"""The inline pass that skips patterns a text cannot match gives the HTML stock Python-Markdown gives."""

from __future__ import annotations

import importlib.util
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as etree
from pathlib import Path

import markdown
import pytest
import regex
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown import inlinepatterns
from markdown.treeprocessors import InlineProcessor

from conftest import ROOT, examples

from microsite.markdown import inline, markup

spec = importlib.util.spec_from_file_location("corpus", ROOT / "bench" / "corpus.py")
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)


STOCK = {allow: markup.configured(allow, quick=False) for allow in (True, False)}
QUICK = {allow: markup.configured(allow) for allow in (True, False)}


def both(text: str, allow_html: bool = True) -> tuple[str, str]:
    """The HTML of stock Python-Markdown and of the quick converter, both configured as microsite does."""
    results = []
    for md, mentions in (STOCK[allow_html], QUICK[allow_html]):
        md.reset()
        mentions.begin(markup.NO_CREW)
        try:
            results.append(md.convert(text))
        except RecursionError:
            results.append("RecursionError")
    return results[0], results[1]


def test_the_converter_uses_the_skipping_pass_for_inline_text_and_smart_quotes():
    md, _ = markup._converter(True)
    assert isinstance(md.treeprocessors["inline"], inline.SkippingInline)
    assert isinstance(md.treeprocessors["smarty"], inline.SkippingInline)
    assert not any(type(p) is InlineProcessor for p in md.treeprocessors)
    assert md.treeprocessors["smarty"].inlinePatterns is not md.inlinePatterns


@pytest.mark.slow
def test_generated_articles_convert_to_the_same_html(tmp_path: Path):
    rng = random.Random(7)
    start = corpus.dt.datetime(2021, 1, 1)
    texts = [corpus.article(rng, index, start, ["a", "b", "c"])[1] for index in range(60)]
    for allow_html in (True, False):
        for text in texts:
            stock, skipping = both(text, allow_html)
            assert skipping == stock


def test_the_shipped_articles_convert_to_the_same_html():
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "content" / "articles").glob("*.md"))]
    assert texts
    for text in texts:
        for allow_html in (True, False):
            stock, skipping = both(text, allow_html)
            assert skipping == stock


PIECES = [*"*_[]()!<>&\\`'\"-. \n#|:^~{}0é", "  \n", "\n\n", "[^1]", "[^1]: note", "&amp;", "&#123;", "<b>", "</b>",
          "http://x.y", "<http://a.b/c>", "<a@b.c>", "...", "---", "--", "[x](http://y)", "![i](p.png)",
          "[x]: http://z", "`code`", "**", "__", "    ", "- ", "1. ", "> ", "```\n", "[[crew:a]]", "'90s", "word", "\x02", "\x03"]


@settings(max_examples=examples(400))
@given(st.lists(st.sampled_from(PIECES), max_size=60), st.booleans())
def test_any_mix_of_markup_characters_converts_to_the_same_html(pieces, allow_html):
    stock, skipping = both("".join(pieces), allow_html)
    assert skipping == stock


@settings(max_examples=examples(200))
@given(st.text(max_size=200))
def test_any_text_converts_to_the_same_html(text):
    stock, skipping = both(text)
    assert skipping == stock


@pytest.mark.parametrize(("expression", "chars"), [
    (r"\[", {"["}),
    (r"(?<!\!)\[", {"["}),
    (r"\*|_", {"*", "_"}),
    (r"  \n", {"\n"}),
    (r"(a|b)c", {"c"}),
    (r"[xyz]+q?", {"x", "y", "z"}),
    (r"(?:ab|cd)", {"a", "c"}),
    (r"(a)\1", {"a"}),
])
def test_a_set_every_match_holds_one_of(expression, chars):
    assert inline.required(re.compile(expression)) == chars
    for text in ("[", "*", "_", "  \n", "ac", "bc", "xq", "ab", "cd", "aa"):
        if re.search(expression, text):
            assert chars & set(text), (expression, text)


@pytest.mark.parametrize("expression", [r"a?", r"x*", r"(?i)k", r"[^a]", r"\w+", r"(?=a)", r".", r"a|b?", r"[\x00-\uffff]"])
def test_no_set_where_a_match_may_hold_none(expression):
    assert inline.required(re.compile(expression)) is None


def test_no_set_for_an_expression_that_ignores_case():
    assert inline.required(re.compile("k", re.IGNORECASE)) is None


class Marking(inlinepatterns.InlineProcessor):
    """Wraps what `expression` finds in <mark>, whatever object the expression is."""

    def __init__(self, expression, md):
        super().__init__(r"(?!)", md)
        self.compiled_re = expression

    def handleMatch(self, m, data):
        element = etree.Element("mark")
        element.text = m.group(0)
        return element, m.start(0), m.end(0)


class Recording:
    """A stand-in for a compiled expression, as Python-Markdown's own tests use one: it offers
    `finditer` alone and notes where each search starts."""

    def __init__(self, expression: re.Pattern, starts: list[int]):
        self.expression, self.starts = expression, starts

    def finditer(self, data, start=0):
        self.starts.append(start)
        return self.expression.finditer(data, start)


class RecordingMarks(Marking):
    """Hands out a new Recording on each call, as the stand-in in Python-Markdown's tests does."""

    def __init__(self, expression: str, md):
        super().__init__(re.compile(expression), md)
        self.starts: list[int] = []

    def getCompiledRegExp(self):
        return Recording(self.compiled_re, self.starts)


TEXTS = ["A cat, a cot, a cut and a dog sat on a [mat](http://x.y).", "*cats* and `cat` and __cast__", "no such animal",
         "Cat? CAT! c-a-t", "xx xxx x", "ca\nt and tac"]


def with_pattern(make, text: str) -> list[tuple[str, object]]:
    """Convert `text` with stock Python-Markdown and with the quick converter, each given one more
    inline pattern made by `make(md)` ahead of the others; return (HTML, pattern) of each."""
    results = []
    for quick in (False, True):
        md, mentions = markup.configured(True, quick=quick)
        pattern = make(md)
        md.inlinePatterns.register(pattern, "marking", 1000)
        mentions.begin(markup.NO_CREW)
        results.append((md.convert(text), pattern))
    return results


@pytest.mark.parametrize("text", TEXTS)
def test_an_expression_that_is_not_a_re_pattern_is_searched_as_stock_does(text):
    (stock, stock_pattern), (quick, quick_pattern) = with_pattern(lambda md: RecordingMarks(r"ca?t|x", md), text)
    assert quick == stock
    assert quick_pattern.starts == stock_pattern.starts


@pytest.mark.parametrize("text", TEXTS)
def test_a_regex_module_pattern_is_searched_as_stock_does(text):
    fuzzy = regex.compile(r"(?:cat){e<=1}")
    (stock, _), (quick, _) = with_pattern(lambda md: Marking(fuzzy, md), text)
    assert quick == stock


def test_a_regex_module_pattern_finds_what_it_matches_without_the_characters_re_would_read_in_it():
    (stock, _), (quick, _) = with_pattern(lambda md: Marking(regex.compile(r"(?:cat){e<=1}"), md), "A cot.")
    marks = BeautifulSoup(quick, "html.parser").find_all("mark")
    assert [mark.get_text() for mark in marks] == ["cot"]
    assert quick == stock


def test_repeated_matches_resume_after_the_previous_match():
    """Python-Markdown's own `testInlineProcessorAdvancesSearchIndex`, run on the quick converter."""
    md, mentions = markup.configured(True)

    class Recorded(RecordingMarks):
        def handleMatch(self, m, data):
            return m.group(0), m.start(0), m.end(0)

    pattern = Recorded(r"x", md)
    md.inlinePatterns.register(pattern, "record-search-index", 1000)
    mentions.begin(markup.NO_CREW)
    assert md.convert("xxxx") == "<p>xxxx</p>"
    assert pattern.starts[0] == 0
    assert pattern.starts[1] > pattern.starts[0]


FALLBACK = """
import re, sys, warnings
import markdown
warnings.simplefilter("always")
markdown.Markdown(extensions={extensions})  # their modules are loaded, with what they make with `re` at import
{remove}
from microsite.markdown import markup
kinds = set()
for text in sys.stdin.read().split("\\0"):
    for allow_html in (True, False):
        md, mentions = markup.configured(allow_html)
        kinds |= {{type(md.treeprocessors[name]).__name__ for name in ("inline", "smarty")}}
        mentions.begin(markup.NO_CREW)
        sys.stdout.write(md.convert(text) + "\\0")
sys.stdout.write(",".join(sorted(kinds)))
"""


@pytest.mark.parametrize("remove, missing", [
    ("del re._parser", "re._parser.parse"),
    ("del re._constants.ATOMIC_GROUP", "re._constants.ATOMIC_GROUP"),
], ids=["parser", "opcode"])
def test_without_the_private_names_it_relies_on_the_stock_pass_runs_with_one_warning(remove, missing):
    texts = TEXTS + [p.read_text(encoding="utf-8") for p in sorted((ROOT / "content" / "articles").glob("*.md"))]
    result = subprocess.run([sys.executable, "-c", FALLBACK.format(remove=remove, extensions=markup.EXTENSIONS)], input="\0".join(texts),
                            capture_output=True, text=True, cwd=ROOT, check=True)
    *html, kinds = result.stdout.split("\0")
    assert kinds == "InlineProcessor"
    assert html == [both(text, allow_html)[0] for text in texts for allow_html in (True, False)]
    assert result.stderr.count("RuntimeWarning") == 1, result.stderr
    assert f"microsite: {missing} not found" in result.stderr
