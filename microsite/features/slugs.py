"""Readable, stable Latin slugs from text in any script, with Russian names spelled as English does.

A generic transliteration (Unidecode) turns `Юлия Пересильд` into `iuliia-peresil-d`; readers know
her as Yulia Peresild. Cyrillic is therefore spelled here by a fixed table close to the BGN/PCGN
system as English-language news uses it, with the usual word-final simplifications (`-ия` -> `-ia`,
`-ий`/`-ый` -> `-y`); everything else goes through python-slugify. The table is data, so a slug never
changes between builds or library versions.
"""

from __future__ import annotations

import functools
import re

from slugify import slugify

MAX_LENGTH = 80

CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    # Ukrainian and Belarusian letters
    "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
}
"""One Cyrillic letter (lowercase) to Latin."""

WORD_ENDINGS = (("ия", "ia"), ("ий", "y"), ("ый", "y"), ("ья", "ia"))
"""Word-final pairs spelled the way English texts spell them: Юлия -> Yulia, Новицкий -> Novitsky."""

_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff]+")


def _word(match: re.Match[str]) -> str:
    word = match.group(0)
    lower = word.lower()
    tail = ""
    for ending, latin in WORD_ENDINGS:
        if lower.endswith(ending) and len(lower) > len(ending):
            lower, tail = lower[: -len(ending)], latin
            break
    latin = "".join(CYRILLIC.get(ch, ch) for ch in lower) + tail
    return latin.capitalize() if word[:1].isupper() else latin


def transliterate(text: str) -> str:
    """Spell Cyrillic words in Latin letters, keeping capitals and leaving other text as it is."""
    return _CYRILLIC_WORD.sub(_word, text)


@functools.lru_cache(maxsize=65536)
def make_slug(text: str) -> str:
    """Turn a title, tag, name or file name into a lowercase ASCII slug, whatever its script."""
    return slugify(transliterate(text), max_length=MAX_LENGTH, word_boundary=True)
