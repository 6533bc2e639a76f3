"""Responsive images: each raster image gets smaller copies and WebP twins, so no image outgrows its slot.

Images come from `static/` (published under `static/`) or lie beside an article and are named by
its `image:` field or a Markdown image (published in the article's own folder). Copies carry a
hash of the source bytes and of the recipe in their names: a rebuild reuses the previous build's
copy instead of encoding again, and hosts may cache them forever.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Mapping
from urllib.parse import unquote, urlsplit

import PIL
from markupsafe import Markup, escape

from . import cards
from .assets import Asset
from ..markdown.bodies import IMG_TAG, attributes
from ..errors import BuildFailed, SiteError
from ..features import i18n
from ..model import Article, Site
from ..progress import NONE, Progress
from .write import Transaction

RASTER = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".webp": "webp"}
MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
WIDTHS = (480, 800, 1200, 1600)
"""Widths of the smaller copies: a phone column, a tablet column, a 2x desktop column, a wide slot."""
SHARE_IMAGES = ("share.png", "share.jpg", "share.jpeg", "share.webp")
"""The site-wide link-preview picture in `static/`: other sites show it at their own size, so it gets no copies."""
MAX_WIDTH = 2000
"""Wider originals are published as they are but left out of srcset; browsers get the copies."""
DEFAULT_SIZES = "(min-width: 46rem) 42rem, calc(100vw - 2.5rem)"
"""The article column: 42rem wide on larger screens, the viewport less its margins on phones."""
RECIPE = f"q82-webp80-lanczos-pillow{PIL.__version__}"
"""Part of every copy's fingerprint: changing how copies are made changes their names."""
COPY_NAME = re.compile(r"-[0-9]+w\.[0-9a-f]{10}\.(?:jpg|png|webp)$")
"""How the name of every copy ends (`photo-800w.3f2a1b9c0d.webp`, made in `_plan`): hosts may cache these forever."""


@dataclass(frozen=True)
class Variant:
    """One published copy of an image at one width and in one format."""

    output: str
    """Path relative to the output folder."""
    width: int
    height: int
    format: str
    """Pillow format name: jpeg, png or webp."""


@dataclass(frozen=True)
class Picture:
    """A raster image, its natural size, and every copy made from it."""

    source: Path
    output: str
    """Where the untouched original is published, relative to the output folder."""
    width: int
    height: int
    format: str
    variants: tuple[Variant, ...]
    name: str = field(default="", repr=False, compare=False)
    """The image as messages name it, relative to the source folder: `static/logo.png`, `content/articles/trip/map.png`."""

    def candidates(self, fmt: str) -> list[Variant]:
        """Copies in one format, narrowest first, for a srcset; an image without copies offers itself."""
        if not self.variants:
            return [Variant(self.output, self.width, self.height, self.format)] if fmt == self.format else []
        return [v for v in self.variants if v.format == fmt]

    def fallback(self) -> Variant:
        """The copy for `src` and link previews: the widest copy in the original format."""
        return self.candidates(self.format)[-1]


def _plan(source: Path, output: str, name: str, copies: bool = True) -> Picture:
    """Read an image's size and decide which copies to make, without encoding anything."""
    data = source.read_bytes()
    fmt = RASTER[source.suffix.lower()]
    try:
        from PIL import Image, ImageOps  # imported when an image is read: a rebuild often reads none

        with Image.open(io.BytesIO(data)) as image:
            width, height = ImageOps.exif_transpose(image).size if _rotated(image) else image.size
    except (OSError, SyntaxError, ValueError, PIL.Image.DecompressionBombError) as exc:
        detail = "" if isinstance(exc, PIL.UnidentifiedImageError) else f" ({exc})"
        raise BuildFailed([SiteError(source.as_posix(), 0, 0, f"not a readable {fmt.upper()} image{detail}")]) from None
    digest = hashlib.sha256(data + RECIPE.encode()).hexdigest()[:10]
    stem = output.rsplit(".", 1)[0]
    widths = [w for w in WIDTHS if w < width] if copies else []
    if copies and width <= MAX_WIDTH:
        widths.append(width)
    variants = []
    for w in widths:
        h = max(1, round(height * w / width))
        formats = [fmt] if fmt == "webp" else [fmt, "webp"]
        for f in formats:
            ext = "jpg" if f == "jpeg" else f
            variants.append(Variant(f"{stem}-{w}w.{digest}.{ext}", w, h, f))
    return Picture(source, output, width, height, fmt, tuple(variants), name)


def _rotated(image: "PIL.Image.Image") -> bool:
    return image.getexif().get(0x0112, 1) not in (1, None)


def encode(picture: Picture, variant: Variant) -> bytes:
    """Make one copy: oriented upright, resized with Lanczos, metadata dropped but colour profile kept."""
    from PIL import Image, ImageOps

    with Image.open(picture.source) as opened:
        image = ImageOps.exif_transpose(opened)
        icc = opened.info.get("icc_profile")
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if has_alpha else "RGB")  # palette and 16-bit images resize badly or not at all
        if image.size != (variant.width, variant.height):
            image = image.resize((variant.width, variant.height), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        options: dict = {"icc_profile": icc} if icc else {}
        if variant.format == "jpeg":
            image.convert("RGB").save(out, "JPEG", quality=82, optimize=True, progressive=True, **options)
        elif variant.format == "webp":
            image.convert("RGBA" if has_alpha else "RGB").save(out, "WEBP", quality=80, method=4, **options)
        else:
            image.save(out, "PNG", optimize=True, **options)
        return out.getvalue()


class Library:
    """Every raster image the site publishes, found by static name or by an article's reference,
    and the link-preview cards it draws."""

    def __init__(self) -> None:
        self.pictures: dict[str, Picture] = {}
        self.originals: list[Picture] = []
        """Images beside articles, whose untouched files the build must copy itself."""
        self.cards = cards.Deck()

    def file_count(self) -> int:
        """How many files the images add to the output: copies, originals found beside articles, cards."""
        return len(self.originals) + sum(len(p.variants) for p in self.pictures.values()) + len(self.cards)

    def outputs(self) -> set[str]:
        """Every path the images add to the output, for link checks that write nothing."""
        return {p.output for p in self.originals} | {v.output for p in self.pictures.values() for v in p.variants} \
            | {card.output for card in self.cards}

    def static(self, name: str) -> Picture | None:
        """The image `static/<name>`, if it is a raster image."""
        return self.pictures.get(f"static:{name}")

    def for_article(self, article: Article, ref: str) -> Picture | None:
        """The image an article names: beside the article first, then under `static/`."""
        path = _local_path(ref)
        if path is None:
            return None
        return self.pictures.get(f"{article.source}:{path}") or self.static(path.removeprefix("static/"))


def _local_path(ref: str) -> str | None:
    """A relative or site-rooted reference as a clean path, or None for URLs and `..` escapes."""
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    path = PurePosixPath(unquote(parts.path).lstrip("/"))
    if any(p in ("", ".", "..") for p in path.parts):
        return None
    return path.as_posix()


def collect(source: Path, static: Mapping[str, Asset], site: Site) -> Library:
    """Find the raster images in `static/` and those beside articles that the articles name, and
    plan a link-preview card for each page that has no image of its own (cards.plan)."""
    library = Library()
    articles = site.articles
    errors: list[SiteError] = []
    for name, asset in sorted(static.items()):
        if asset.source.suffix.lower() in RASTER:
            try:
                library.pictures[f"static:{name}"] = _plan(asset.source, asset.output, f"static/{name}", copies=name not in SHARE_IMAGES)
            except BuildFailed as exc:
                errors += [SiteError(f"static/{name}", 0, 0, e.message) for e in exc.errors]
    for article in articles:
        folder = (source / article.source).parent
        refs = ([article.image] if article.image else []) + list(article.body.images)
        unreadable: set[str] = set()
        for ref in refs:
            path = _local_path(ref)
            if path is None or PurePosixPath(path).suffix.lower() not in RASTER:
                continue
            file = folder / path
            key = f"{article.source}:{path}"
            if key in library.pictures or not file.is_file() or not file.resolve().is_relative_to((source / "content").resolve()):
                continue
            where = (PurePosixPath(article.source).parent / path).as_posix()
            try:
                picture = _plan(file, f"{article.url}{path}", where)
            except BuildFailed as exc:
                errors += [SiteError(where, 0, 0, f"{e.message} (named by {article.source})") for e in exc.errors]
                unreadable.add(ref)
                continue
            library.pictures[key] = picture
            library.originals.append(picture)
        if article.image and article.image not in unreadable and library.for_article(article, article.image) is None \
                and _local_path(article.image) is not None:
            if article.image.removeprefix("static/") not in static:
                errors.append(SiteError(article.source, article.field_lines.get("image", 0), 1,
                                        f"image {article.image!r} not found beside the article or under static/"))
    if errors:
        raise BuildFailed(errors)
    library.cards = deck(site, static, library)
    return library


def deck(site: Site, static: Mapping[str, Asset], library: Library) -> cards.Deck:
    """The link-preview cards of a site whose images are in `library`, in each of its languages."""
    has_image = lambda article: bool(article.image) and library.for_article(article, article.image) is not None  # noqa: E731
    planned = cards.plan(site, static, has_image)
    return i18n.language_cards(site, planned, has_image) if site.config.languages else planned


def publish(tx: Transaction, library: Library, output: Path, progress: Progress = NONE) -> None:
    """Add every image copy to the build, reusing the previous build's file when its fingerprinted
    name is there; `progress` advances for each file added."""
    for picture in library.originals:
        tx.copy(picture.output, picture.source)
        progress.advance()
    for picture in library.pictures.values():
        for variant in picture.variants:
            previous = output / variant.output
            if previous.is_file() and not previous.is_symlink():
                tx.copy(variant.output, previous)
            else:
                tx.write(variant.output, encode(picture, variant))
            progress.advance()


def picture_html(picture: Picture, alt: str, url: Callable[[str], str], sizes: str = DEFAULT_SIZES,
                 css_class: str = "", extra: Mapping[str, str] | None = None, lead: bool = False) -> Markup:
    """A <picture> with a WebP source and the original format as fallback, sized, loaded lazily.

    A `lead` image sits at the top of its page, where lazy loading would only delay the largest
    paint: it is fetched at once, with high priority.
    """
    def srcset(fmt: str) -> str:
        return ", ".join(f"{url(v.output)} {v.width}w" for v in picture.candidates(fmt))

    fallback = picture.fallback()
    attrs = {"src": url(fallback.output), "srcset": srcset(picture.format), "sizes": sizes, "width": str(fallback.width),
             "height": str(fallback.height), "alt": alt}
    attrs.update({"fetchpriority": "high"} if lead else {"loading": "lazy", "decoding": "async"})
    if css_class:
        attrs["class"] = css_class
    for key, value in (extra or {}).items():
        attrs.setdefault(key, value)
    img = "<img " + " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items()) + ">"
    webp = "" if not picture.candidates("webp") or picture.format == "webp" else \
        f'<source type="image/webp" srcset="{escape(srcset("webp"))}" sizes="{escape(sizes)}">'
    return Markup(f"<picture>{webp}{img}</picture>")


def rewrite_body(body: str, article: Article, library: Library, url: Callable[[str], str], responsive: bool = True) -> str:
    """Turn each <img> of an article body that names a known image into a responsive, sized <picture>.

    With `responsive` false (feeds), the image keeps a single absolute-path `src` with its size.
    """
    def replace(match: re.Match) -> str:
        attrs = attributes(match.group(0))
        picture = library.for_article(article, attrs.get("src", ""))
        if picture is None:
            return match.group(0)
        alt = attrs.pop("alt", "")
        if not responsive:
            fallback = picture.fallback()
            return (f'<img src="{escape(url(fallback.output))}" width="{fallback.width}" height="{fallback.height}" '
                    f'alt="{escape(alt)}">')
        extra = {k: v for k, v in attrs.items() if k in ("title", "class", "id")}
        return picture_html(picture, alt, url, extra=extra)

    return IMG_TAG.sub(replace, body)


def share_image(library: Library, article: Article | None, card: cards.Card | None = None) -> Variant | cards.Card | None:
    """The picture a link preview shows: the article's own image, else the page's card, else the
    site-wide one, if any."""
    picture = library.for_article(article, article.image) if article is not None and article.image else None
    if picture is None and card is not None:
        return card
    for name in SHARE_IMAGES:
        picture = picture or library.static(name)
    return picture.fallback() if picture else None
