"""Link-preview cards: a 1200 x 630 PNG for each article, crew member and the home page.

A card shows the site's name beside the theme's mark, the page's title and a line under it (the
date, the role), in the masthead's colours as the site's stylesheet sets them. Text wraps, and
shrinks until it fits; what still does not fit ends in an ellipsis. Its name carries a digest of
its text and of the recipe (font, size, colours, this module's code, the library versions): an
unchanged card keeps its name, so a rebuild carries it over from the previous output or the build
cache instead of drawing it again, and hosts may cache it forever. Drawing is deterministic: the
same text and recipe give the same bytes on every machine with the same library versions.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import PIL

from ..errors import BuildFailed, SiteError
from ..progress import NONE, Progress
from ..model import Site
from ..render import parallel
from .assets import Asset
from .write import Patch, Transaction

WIDTH, HEIGHT = 1200, 630
"""The size link previews show large (Open Graph, X/Twitter summary_large_image): 1.91:1."""
MARGIN = 80
"""Nothing is drawn closer to an edge than this: previews crop and round corners."""
FONT = Path(__file__).resolve().parent.parent / "theme" / "fonts" / "DejaVuSans-Bold.subset.ttf"
"""DejaVu Sans Bold, cut down to Latin, Greek and Cyrillic (see theme/fonts/README.md)."""
STYLESHEET = "style.css"
COLOURS = {"background": "--night", "text": "--night-text", "accent": "--glow"}
"""The custom properties of the stylesheet's first `:root` rule that paint a card: the masthead's."""
KIND = "cards"
"""Build-cache kind of drawn cards (PNG bytes), by their digest."""

TITLE_SIZES = tuple(range(84, 39, -4))
"""Title sizes tried, largest first, until the title fits its box."""
LEADING = 1.18
MARK = 52
"""Diameter of the theme's mark beside the site name."""
SITE_SIZES = (38, 34, 30, 26)
LINE_SIZES = (32, 28, 24)

_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})\Z")
_BREAK = re.compile(r"[^\S\u00a0\u2007\u202f]+")
"""Where a line may break: any white space but the no-break spaces."""

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    """The colours of every card of a site."""

    background: RGB
    text: RGB
    accent: RGB

    @property
    def muted(self) -> RGB:
        """The line under the title: the text colour two thirds of the way from the background."""
        return _mix(self.background, self.text, 0.68)

    def inks(self) -> tuple[RGB, ...]:
        return (self.text, self.accent, self.muted)


def _mix(a: RGB, b: RGB, share: float) -> RGB:
    return tuple(round(x + (y - x) * share) for x, y in zip(a, b))  # type: ignore[return-value]


def _parse_colour(value: str) -> RGB | None:
    match = _HEX.match(value.strip())
    if match is None:
        return None
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def custom_properties(css: str) -> dict[str, str]:
    """The custom properties of a stylesheet's first `:root` rule, by name (the light scheme's)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    match = re.search(r"(?:^|[};\s]):root\s*\{([^}]*)\}", css)
    if match is None:
        return {}
    found = {}
    for declaration in match.group(1).split(";"):
        name, colon, value = declaration.partition(":")
        if colon and name.strip().startswith("--"):
            found[name.strip()] = value.strip()
    return found


def palette(stylesheet: Path | None) -> Palette:
    """The card colours a stylesheet sets with COLOURS' custom properties, each one it does not
    set as a hex colour taken from the bundled theme's stylesheet."""
    bundled = custom_properties((FONT.parent.parent / "static" / STYLESHEET).read_text(encoding="utf-8"))
    own = custom_properties(stylesheet.read_text(encoding="utf-8", errors="replace")) if stylesheet else {}
    chosen = {}
    for field, name in COLOURS.items():
        chosen[field] = _parse_colour(own.get(name, "")) or _parse_colour(bundled[name])
    return Palette(**chosen)


@dataclass(frozen=True)
class Recipe:
    """Everything but the text that decides a card's pixels."""

    palette: Palette
    font: str
    """Digest of the font file."""
    code: str
    """Digest of this module and the versions of the libraries that draw and encode."""

    @functools.cached_property
    def digest(self) -> str:
        return hashlib.blake2b(repr((WIDTH, HEIGHT, self.palette, self.font, self.code)).encode(), digest_size=16).hexdigest()


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    from PIL import features  # imported when a card is planned: PIL's modules cost a no-change build time

    versions = f"pillow={PIL.__version__};freetype={features.version('freetype2')};zlib={features.version('zlib')}"
    return hashlib.blake2b(Path(__file__).read_bytes() + versions.encode(), digest_size=16).hexdigest()


@functools.lru_cache(maxsize=1)
def _font_digest() -> str:
    return hashlib.blake2b(FONT.read_bytes(), digest_size=16).hexdigest()


def recipe(stylesheet: Path | None) -> Recipe:
    """The recipe of a site's cards, with the colours of its stylesheet."""
    return Recipe(palette(stylesheet), _font_digest(), _code_digest())


@dataclass(frozen=True)
class Card:
    """One page's card: what it says and where it is published."""

    page: str
    """The site path of the page it previews ("" for the home page)."""
    site: str
    title: str
    line: str
    digest: str
    """Of the text and the recipe: part of the name, and the key in the build cache."""
    output: str
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def alt(self) -> str:
        """What the card says, for `og:image:alt`."""
        return ", ".join(part for part in (f"{self.site}: {self.title}", self.line) if part)


class Deck:
    """The cards of one build, by the site path of the page each previews."""

    def __init__(self, recipe: Recipe | None = None, cards: Mapping[str, Card] | None = None):
        self.recipe = recipe
        self.cards = dict(cards or {})

    def of(self, page: str) -> Card | None:
        """The card of the page at a site path (`page_url`), or None when it has none."""
        return self.cards.get(page)

    def __len__(self) -> int:
        return len(self.cards)

    def __iter__(self) -> Iterator[Card]:
        return iter(self.cards.values())

    def __repr__(self) -> str:
        """Name the recipe, which a page's card depends on beyond the page's own records, so
        rebuilds can fingerprint it; the text comes from records the page's context holds."""
        return f"Deck({self.recipe.digest if self.recipe else ''})"


@functools.lru_cache(maxsize=1 << 16)
def make(page: str, site: str, title: str, line: str, recipe: Recipe) -> Card:
    """Plan one card: its digest and its published path under `cards/`, after its page's path.
    Remembered, as a session plans every card again on each rebuild and few of them change."""
    site, title, line = (" ".join(_BREAK.split(text.strip())) for text in (site, title, line))
    digest = hashlib.blake2b("\0".join((recipe.digest, site, title, line)).encode("utf-8", "surrogatepass"),
                             digest_size=16).hexdigest()
    stem = page.strip("/") or "home"
    return Card(page, site, title, line, digest, f"cards/{stem}.{digest[:10]}.png")


def plan(site: Site, static: Mapping[str, Asset], has_image: Callable[[Any], bool]) -> Deck:
    """A card for the home page, each crew member and each article without an image of its own
    (`has_image`), in the colours of the site's stylesheet."""
    sheet = static.get(STYLESHEET)
    how = recipe(sheet.source if sheet else None)
    name = site.config.title
    cards = [make("", name, site.config.description or name, "", how)]
    cards += [make(m.url, name, m.name, " · ".join(p for p in (m.name_native, m.role) if p), how) for m in site.crew]
    cards += [make(a.url, name, a.title, f"{a.date.day} {a.date:%B %Y}", how) for a in site.articles if not has_image(a)]
    return Deck(how, {card.page: card for card in cards})


@functools.lru_cache(maxsize=32)
def _font(size: int) -> "PIL.ImageFont.FreeTypeFont":
    from PIL import ImageFont

    # the basic layout, not raqm where installed: the same pixels on every machine
    return ImageFont.truetype(str(FONT), size, layout_engine=ImageFont.Layout.BASIC)


def _line_height(size: int) -> int:
    return round(size * LEADING)


def wrap(text: str, font: Any, width: int, split_words: bool = True) -> list[str] | None:
    """Break text into lines no wider than `width` between words; a word too long for a line of
    its own is split, or, without `split_words`, None is returned."""
    lines: list[str] = []
    current = ""
    for word in _BREAK.split(text):
        if not word:
            continue
        joined = f"{current} {word}" if current else word
        if font.getlength(joined) <= width:
            current = joined
            continue
        if current:
            lines.append(current)
        while font.getlength(word) > width:
            if not split_words:
                return None
            cut = _longest_fit(word, font, width)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def _longest_fit(text: str, font: Any, width: int) -> int:
    """How many leading characters of `text` fit in `width` (at least one)."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(text[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _ellipsis(line: str, font: Any, width: int) -> str:
    """A line cut short to end in an ellipsis within `width`."""
    while line and font.getlength(line.rstrip() + "…") > width:
        line = line[:-1]
    return line.rstrip() + "…"


def fit(text: str, sizes: tuple[int, ...], width: int, height: int) -> tuple[int, list[str]]:
    """The largest size at which text wrapped to `width` fits `height`, and its lines: without
    splitting a word where some size allows it. At the smallest size, as many lines as fit, the
    last ending in an ellipsis."""
    for split_words in (False, True):
        for size in sizes:
            lines = wrap(text, _font(size), width, split_words)
            if lines is not None and len(lines) * _line_height(size) <= height:
                return size, lines
    size = sizes[-1]
    font = _font(size)
    room = max(1, height // _line_height(size))
    lines = wrap(text, font, width) or []
    if len(lines) > room:
        lines = lines[:room - 1] + [_ellipsis(" ".join(lines[room - 1:room + 1]), font, width)]
    return size, lines


def draw(card: Card, recipe: Recipe) -> bytes:
    """Draw a card as PNG bytes."""
    from PIL import Image

    colours = recipe.palette
    # palette indices, not colours: text antialiased against one background takes only the
    # shades between it and its ink (`_shades`), and a third of the bytes of RGB to compress
    canvas = Image.new("L", (WIDTH, HEIGHT), 0)
    inner = WIDTH - 2 * MARGIN

    canvas.paste(_mark(colours), (MARGIN, MARGIN))
    beside = MARGIN + MARK + 24
    size, lines = fit(card.site, SITE_SIZES, WIDTH - MARGIN - beside, _line_height(SITE_SIZES[0]))
    for line in lines:  # one line at most
        _stamp(canvas, (beside, MARGIN + MARK // 2), line, size, ACCENT, "lm")

    bottom = HEIGHT - MARGIN
    if card.line:
        size, lines = fit(card.line, LINE_SIZES, inner, _line_height(LINE_SIZES[0]))
        for line in lines:  # one line at most
            _stamp(canvas, (MARGIN, bottom), line, size, MUTED, "ld")
        bottom -= _line_height(LINE_SIZES[0]) + 24
    top = MARGIN + MARK + 44
    size, lines = fit(card.title, TITLE_SIZES, inner, bottom - top)
    for number, line in enumerate(lines):
        _stamp(canvas, (MARGIN, top + number * _line_height(size)), line, size, TEXT, "la")
    canvas.putpalette(_shades(colours))
    out = io.BytesIO()
    canvas.save(out, "PNG", compress_level=3)  # a quarter of the time of the default level, for 15 % more bytes
    return out.getvalue()


LEVELS = 85
"""Shades from the background to each ink: with the background, 256 palette entries."""
TEXT, ACCENT, MUTED = range(3)
"""The inks, in the order of Palette.inks."""


_RAMPS = [[0] + [1 + ink * LEVELS + max(1, round(value * LEVELS / 255)) - 1 for value in range(1, 256)] for ink in range(3)]
"""By ink, each coverage value of antialiased text (0-255) to the palette index of its shade."""


def _stamp(canvas: "PIL.Image.Image", xy: tuple[int, int], text: str, size: int, ink: int, anchor: str) -> None:
    """Draw one line of text into an image of palette indices, in the shades of one ink."""
    from PIL import Image, ImageChops, ImageDraw

    font = _font(size)
    left, top, right, bottom = font.getbbox(text, anchor=anchor)
    if right <= left or bottom <= top:
        return
    cover = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(cover).text((-left, -top), text, font=font, fill=255, anchor=anchor)
    box = (xy[0] + left, xy[1] + top, xy[0] + right, xy[1] + bottom)
    # the larger index where the boxes of two lines overlap: the background is 0, so ink wins
    canvas.paste(ImageChops.lighter(canvas.crop(box), cover.point(_RAMPS[ink])), box[:2])


@functools.lru_cache(maxsize=4)
def _mark(colours: Palette) -> "PIL.Image.Image":
    """The theme's mark (favicon.svg, the masthead's brand mark) as palette indices: a night disc,
    a glowing ring and a bright core, drawn four times larger and scaled down for smooth edges."""
    from PIL import Image, ImageDraw

    scale = 4
    side = MARK * scale
    big = Image.new("RGB", (side, side), colours.background)
    pen = ImageDraw.Draw(big)
    ring = 3 * scale
    pen.ellipse((0, 0, side - 1, side - 1), fill=colours.accent)
    pen.ellipse((ring, ring, side - 1 - ring, side - 1 - ring), fill=colours.background)
    core = round(side * 0.22)
    pen.ellipse((side // 2 - core, side // 2 - core, side // 2 + core, side // 2 + core), fill=colours.text)
    small = big.resize((MARK, MARK), Image.Resampling.LANCZOS)
    holder = Image.new("P", (1, 1))
    holder.putpalette(_shades(colours))
    return Image.frombytes("L", small.size, small.quantize(palette=holder, dither=Image.Dither.NONE).tobytes())


@functools.lru_cache(maxsize=4)
def _shades(colours: Palette) -> list[int]:
    """A palette: the background, then even steps from it to each ink, ending at the ink."""
    entries = [colours.background]
    for ink in colours.inks():
        entries += [_mix(colours.background, ink, step / LEVELS) for step in range(1, LEVELS + 1)]
    return [channel for colour in entries for channel in colour]


def publish(tx: Transaction, deck: Deck, store: Any = None, workers: int = 1, progress: Progress = NONE) -> int:
    """Add every card to the build: the previous output's file of the same name, else the build
    cache's bytes, else drawn (in worker processes when there are many); return how many were drawn.

    `store` is the build cache (rebuild.cache.Store): it keeps every card of the build, so one
    lost from the output is not drawn again either; an entry found lost or damaged is made good.
    `progress` advances for each card added.
    """
    todo: list[Card] = []
    for card in deck:
        key = bytes.fromhex(card.digest)
        kept = _claim(tx, card, lambda: tx.keep(card.output))
        found = store.get(KIND, key) if store is not None else None
        if kept:
            if store is not None and not isinstance(found, bytes):  # lost or damaged: the output has it
                store.put(KIND, key, (tx.output / card.output).read_bytes(), now=True)
        elif isinstance(found, bytes):
            _claim(tx, card, lambda: tx.write(card.output, found))
        else:
            todo.append(card)
            continue
        progress.advance()
    drawn = parallel.forked(lambda index: draw(todo[index], deck.recipe), len(todo), workers)
    for data, card in zip(drawn, todo):  # the workers' generator first, so it runs to its end and stops them
        _claim(tx, card, lambda: tx.write(card.output, data))
        if store is not None:
            store.put(KIND, bytes.fromhex(card.digest), data, now=True)
        progress.advance()
    return len(todo)


def patch(batch: Patch, before: Deck, after: Deck, store: Any = None) -> list[str]:
    """Write a finished output's new cards into a write.Patch, from the build cache or drawn, and
    return the outputs of the cards no longer in the deck, for the patch to remove."""
    kept = {card.output for card in before}
    for card in after:
        if card.output in kept:
            continue
        key = bytes.fromhex(card.digest)
        data = store.get(KIND, key) if store is not None else None
        if not isinstance(data, bytes):
            data = draw(card, after.recipe)
            if store is not None:
                store.put(KIND, key, data, now=True)
        batch.write(card.output, data)
    return sorted(kept - {card.output for card in after})


def _claim(tx: Transaction, card: Card, add: Callable[[], Any]) -> Any:
    """Add a card's file, reporting a path the output cannot hold as a build problem."""
    try:
        return add()
    except ValueError as exc:
        raise BuildFailed([SiteError(card.output, 0, 0, f"{exc} (the card of /{card.page})")]) from None
