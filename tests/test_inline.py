"""The inline pass that skips patterns a text cannot match gives the HTML stock Python-Markdown gives."""

from __future__ import annotations

import importlib.util
import random
import re
from pathlib import Path

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
