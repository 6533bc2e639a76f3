"""Python-Markdown's inline pass, with patterns that cannot match skipped: the same HTML, sooner.

Python-Markdown applies every inline pattern (about fifteen, and eighteen more for smart quotes)
to every run of text, one regular-expression search each, even when the text lacks the one
character the pattern starts with: a paragraph without a `[` is still searched for links five
times. That is most of the time it takes to convert an article. Here each pattern's regular
expression is read once to learn a set of characters of which every match holds at least one; a
text holding none of them skips that pattern exactly as a search that found nothing would.
Patterns whose expression gives no such set (one that may match empty text, say) are always
searched. The tests convert the same text with both passes and compare.
"""

from __future__ import annotations

import re
from typing import Callable

from markdown import Markdown, util
from markdown.treeprocessors import InlineProcessor

try:
    from re import _constants as _sre, _parser as _sre_parse  # Python 3.11 and later
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _sre  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

_WIDEST_RANGE = 128
"""A character class spanning more characters than this gives no usable set."""

Present = Callable[[str], bool]


def required(expression: re.Pattern) -> frozenset[str] | None:
    """Characters of which every match of `expression` holds at least one; None when no such set
    is known (case-insensitive expressions, ones that may match empty text, and the like)."""
    if expression.flags & re.IGNORECASE:
        return None
    try:
        parsed = _sre_parse.parse(expression.pattern, expression.flags)
    except Exception:  # noqa: BLE001 - an expression this reading cannot follow is searched as is
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None
    return _sequence(parsed)


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
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)):
        low, _, item = av
        return _sequence(item) if low >= 1 else None
    if op is getattr(_sre, "ATOMIC_GROUP", None):
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


_tests: dict[tuple[str, int], Present | None] = {}


def _presence(expression: re.Pattern) -> Present | None:
    """A quick test that text holds one of the characters every match needs, or None."""
    key = (expression.pattern, expression.flags)
    if key not in _tests:
        chars = required(expression)
        if chars is None:
            _tests[key] = None
        elif len(chars) == 1:
            char = next(iter(chars))
            _tests[key] = lambda text: char in text
        else:
            _tests[key] = re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]").search
    return _tests[key]


class SkippingInline(InlineProcessor):
    """Python-Markdown's InlineProcessor, skipping the patterns a text cannot match."""

    def run(self, tree, ancestors=None):
        self._patterns = [(pattern, _presence(pattern.getCompiledRegExp())) for pattern in self.inlinePatterns]
        return super().run(tree, ancestors)

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        """The stock loop (`__handleInline`), with the skip: a pattern not applied answers what
        one that found no match does (`data, False, 0`)."""
        if not isinstance(data, util.AtomicString):
            startIndex = 0
            patterns = self._patterns
            count = len(patterns)
            while patternIndex < count:
                pattern, present = patterns[patternIndex]
                if present is not None and not present(data):
                    startIndex = 0
                    patternIndex += 1
                    continue
                data, matched, startIndex = self._InlineProcessor__applyPattern(pattern, data, patternIndex, startIndex)
                if not matched:
                    patternIndex += 1
        return data


def install(md: Markdown) -> None:
    """Put the skipping pass in place of each stock inline pass of `md` (the main one and the one
    smart quotes run), keeping their patterns and priorities."""
    for item in list(md.treeprocessors._priority):
        processor = md.treeprocessors[item.name]
        if type(processor) is InlineProcessor:
            replacement = SkippingInline(md)
            replacement.inlinePatterns = processor.inlinePatterns
            md.treeprocessors.register(replacement, item.name, item.priority)
