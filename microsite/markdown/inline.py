"""Python-Markdown's inline pass, with patterns that cannot match skipped: the same HTML, sooner.
Also one Pygments formatter per set of options instead of one per code block.

Python-Markdown applies every inline pattern (about fifteen, and eighteen more for smart quotes)
to every run of text, one regular-expression search each, even when the text lacks the one
character the pattern starts with: a paragraph without a `[` is still searched for links five
times. That is most of the time it takes to convert an article. Here each pattern's regular
expression is read once to learn a set of characters of which every match holds at least one; a
text holding none of them skips that pattern exactly as a search that found nothing would.
Patterns whose expression gives no such set (one that may match empty text, say, or one that is
not a `re.Pattern` at all, such as the `regex` module's) are always searched. The tests convert
the same text with both passes and compare.

This is the one module that relies on private names of Python (`re._parser`, `re._constants`)
and of Python-Markdown (`InlineProcessor.__handleInline` and `__applyPattern`, `Registry._priority`).
Where one of them is missing, `install` leaves Python-Markdown's own pass in place and says so once.
"""

from __future__ import annotations

import functools
import re
import warnings
from bisect import bisect_left
from typing import Any

from markdown import Markdown, util
from markdown.treeprocessors import InlineProcessor

_WIDEST_RANGE = 128
"""A character class spanning more characters than this gives no usable set."""

_sre_parse = getattr(re, "_parser", None)
"""The parser `re` compiles with (private to `re`: `missing_internals` checks it is there)."""
_sre = getattr(re, "_constants", None)
_OPCODES = ("LITERAL", "IN", "RANGE", "SUBPATTERN", "BRANCH", "MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT", "ATOMIC_GROUP")
"""The opcodes of `re._constants` that `_element` and `_char_class` read."""
_STOCK_METHODS = ("_InlineProcessor__handleInline", "_InlineProcessor__applyPattern")
"""Python-Markdown's private loop over the patterns, which SkippingInline overrides and calls."""


@functools.cache
def missing_internals() -> tuple[str, ...]:
    """Name the private names the skipping pass relies on that this Python or Python-Markdown
    lacks; warn once, the first time any are missing, that the stock pass runs instead."""
    missing = [] if callable(getattr(_sre_parse, "parse", None)) else ["re._parser.parse"]
    missing += [f"re._constants.{name}" for name in _OPCODES if not hasattr(_sre, name)]
    missing += [f"markdown.treeprocessors.InlineProcessor.{name}" for name in _STOCK_METHODS
                if not callable(getattr(InlineProcessor, name, None))]
    if not isinstance(getattr(util.Registry(), "_priority", None), list):
        missing.append("markdown.util.Registry._priority")
    if missing:
        warnings.warn(f"microsite: {', '.join(missing)} not found in this Python or Python-Markdown; "
                      "Markdown is converted with Python-Markdown's own inline pass (the same HTML, slower)",
                      RuntimeWarning, stacklevel=2)
    return tuple(missing)


def required(expression: Any) -> frozenset[str] | None:
    """Characters of which every match of `expression` holds at least one; None when no such set
    is known (case-insensitive expressions, ones that may match empty text, expressions that are
    not a `re.Pattern`, and the like)."""
    if not isinstance(expression, re.Pattern) or missing_internals():
        return None
    return _required(expression)


@functools.lru_cache(maxsize=None)
def _required(expression: re.Pattern) -> frozenset[str] | None:
    if expression.flags & re.IGNORECASE:
        return None
    try:
        parsed = _sre_parse.parse(expression.pattern, expression.flags)
        return None if parsed.state.flags & re.IGNORECASE else _sequence(parsed)
    except Exception:  # noqa: BLE001 - an expression this reading cannot follow is searched as is
        return None


def _sequence(items) -> frozenset[str] | None:
    """Every element of a sequence must match, so any element's set will do: the one least likely
    to be in ordinary text (fewest characters, then fewest letters, digits and spaces)."""
    found = [chars for op, av in items if (chars := _element(op, av)) is not None]
    return min(found, key=lambda chars: (len(chars), sum(c.isalnum() or c == " " for c in chars)), default=None)


def _element(op, av) -> frozenset[str] | None:
    if op is _sre.LITERAL:
        return frozenset(chr(av))
    if op is _sre.IN:
        return _char_class(av)
    if op is _sre.SUBPATTERN:
        add_flags = av[1]
        return None if add_flags & re.IGNORECASE else _sequence(av[-1])
    if op is _sre.BRANCH:
        sets = [_sequence(branch) for branch in av[1]]
        if not sets or any(found is None for found in sets):
            return None
        return frozenset().union(*sets)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        low, _, item = av
        return _sequence(item) if low >= 1 else None
    if op is _sre.ATOMIC_GROUP:
        return _sequence(av)
    return None  # anchors, look-arounds, any character, back references: no set


def _char_class(items) -> frozenset[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is _sre.LITERAL:
            chars.add(chr(av))
        elif op is _sre.RANGE and av[1] - av[0] < _WIDEST_RANGE:
            chars.update(chr(code) for code in range(av[0], av[1] + 1))
        else:  # negated classes, categories (\s, \w) and wide ranges
            return None
    return frozenset(chars) or None


class SkippingInline(InlineProcessor):
    """Python-Markdown's InlineProcessor, skipping the patterns a text cannot match."""

    _expressions: tuple[re.Pattern, ...] | None = None

    def run(self, tree, ancestors=None):
        self._patterns = list(self.inlinePatterns)
        expressions = tuple(pattern.getCompiledRegExp() for pattern in self._patterns)
        if expressions != self._expressions:  # what the patterns need, worked out again only when they change
            self._expressions = expressions
            self._needs = [required(expression) for expression in expressions]
            self._chars = sorted(frozenset().union(*(needs for needs in self._needs if needs)))
            self._orders: dict[int, tuple[int, ...]] = {}
        return super().run(tree, ancestors)

    def _applicable(self, data: str) -> tuple[int, ...]:
        """The indexes of the patterns that may match `data`, in order."""
        mask = 0
        for bit, char in enumerate(self._chars):
            if char in data:
                mask |= 1 << bit
        order = self._orders.get(mask)
        if order is None:
            present = {char for bit, char in enumerate(self._chars) if mask >> bit & 1}
            order = self._orders[mask] = tuple(
                index for index, needs in enumerate(self._needs) if needs is None or not needs.isdisjoint(present))
        return order

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        """The stock loop (`__handleInline`), going from one pattern that may match to the next: a
        pattern passed over answers what one that found no match does (`data, False, 0`)."""
        if isinstance(data, util.AtomicString):
            return data
        startIndex = 0
        order = self._applicable(data)
        position = bisect_left(order, patternIndex)
        while position < len(order):
            index = order[position]
            if index != patternIndex:
                startIndex, patternIndex = 0, index
            data, matched, startIndex = self._InlineProcessor__applyPattern(self._patterns[index], data, index, startIndex)
            if matched:
                order = self._applicable(data)
                position = bisect_left(order, index)
            else:
                patternIndex = index + 1
                position += 1
        return data


_formatters: dict[str, Any] = {}


def reused_formatter(**options: Any) -> Any:
    """Pygments' HTML formatter for these options, made once: making one builds its whole style
    table, which costs more than highlighting a short block. (Given to codehilite as its
    `pygments_formatter`, which passes `lang_str` too; the HTML formatter ignores it.)"""
    key = repr(sorted(options.items()))
    formatter = _formatters.get(key)
    if formatter is None:
        from pygments.formatters import HtmlFormatter

        formatter = _formatters[key] = HtmlFormatter(**options)
    return formatter


def install(md: Markdown) -> None:
    """Put the skipping pass in place of each stock inline pass of `md` (the main one and the one
    smart quotes run), keeping their patterns and priorities; leave the stock passes where a
    private name the skipping pass relies on is missing."""
    if missing_internals():
        return
    for item in list(md.treeprocessors._priority):
        processor = md.treeprocessors[item.name]
        if type(processor) is InlineProcessor:
            replacement = SkippingInline(md)
            replacement.inlinePatterns = processor.inlinePatterns
            md.treeprocessors.register(replacement, item.name, item.priority)
