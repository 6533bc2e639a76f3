"""Code everyone can read: syntax-highlighted code meets WCAG AA contrast (4.5:1) in the light and
the dark colour scheme, and a code block that scrolls sideways can be reached from the keyboard.

The stylesheet is read as a browser cascades it: the rules outside any media query make the light
scheme; in the dark one, rules inside `@media (prefers-color-scheme: dark)` override them property
by property. Every colour a code token can take is checked against every background it can sit
on: the code block's, a highlighted line's (`.hll`), or the token's own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT, article

STYLE = ROOT / "microsite/theme/static/style.css"
AA = 4.5
DARK = "(prefers-color-scheme: dark)"


def rules(css: str) -> list[tuple[str | None, str, dict[str, str]]]:
    """(media condition or None, selector, declarations) for each rule, in order."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    found: list[tuple[str | None, str, dict[str, str]]] = []

    def parse(text: str, media: str | None) -> None:
        at = 0
        while True:
            opening = text.find("{", at)
            if opening < 0:
                return
            prelude = text[at:opening].strip()
            depth, end = 1, opening + 1
            while depth:
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            body = text[opening + 1:end - 1]
            if prelude.startswith("@media"):
                parse(body, prelude.removeprefix("@media").strip())
            elif not prelude.startswith("@"):
                declarations = {}
                for part in body.split(";"):
                    name, colon, value = part.partition(":")
                    if colon:
                        declarations[name.strip().lower()] = value.strip()
                for selector in prelude.split(","):
                    found.append((media, " ".join(selector.split()), declarations))
            at = end

    parse(css, None)
    return found


class Scheme:
    """The computed declarations of the selectors a scheme's cascade gives them."""

    def __init__(self, all_rules, dark: bool):
        self.props: dict[str, dict[str, str]] = {}
        for media, selector, declarations in all_rules:
            if media is None or (dark and media == DARK):
                self.props.setdefault(selector, {}).update(declarations)
        self.variables = self.props.get(":root", {})

    def value(self, selector: str, *names: str) -> str | None:
        for name in names:
            found = self.props.get(selector, {}).get(name)
            if found:
                return self.resolve(found)
        return None

    def resolve(self, value: str) -> str:
        value = value.replace("!important", "").strip()
        match = re.fullmatch(r"var\((--[\w-]+)\)", value)
        return self.resolve(self.variables[match.group(1)]) if match else value


def rgb(colour: str) -> tuple[float, float, float]:
    match = re.search(r"#([0-9a-fA-F]{3,6})\b", colour)
    assert match, f"not a hex colour: {colour!r}"
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return tuple(int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4))


def luminance(colour: str) -> float:
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula_matches_wcag():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#40a070", "#ffffff") == pytest.approx(3.24, abs=0.01)


def code_colours(scheme: Scheme) -> list[tuple[str, str, list[str]]]:
    """(selector, text colour, backgrounds it is drawn on) for every coloured code token."""
    block = [scheme.value(".prose pre", "background-color", "background"), scheme.value(".highlight", "background-color", "background")]
    block = [b for b in block if b and b not in ("none", "transparent")]
    assert block, "no code block background"
    marked = scheme.value(".highlight .hll", "background-color", "background")
    found = []
    for selector in scheme.props:
        if not (selector == ".highlight" or selector.startswith(".highlight .") or "linenos" in selector):
            continue
        colour = scheme.value(selector, "color")
        if colour is None:
            continue
        own = scheme.value(selector, "background-color", "background")
        if own and own != "transparent":
            backgrounds = [own]
        else:
            backgrounds = block + ([marked] if marked and "linenos" not in selector else [])
        found.append((selector, colour, backgrounds))
    return found


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_every_code_colour_meets_wcag_aa(dark):
    scheme = Scheme(rules(STYLE.read_text(encoding="utf-8")), dark)
    checked = code_colours(scheme)
    assert len(checked) > 60, "the highlighting rules were not found"
    failing = [f"{selector} {colour} on {background}: {contrast(colour, background):.2f}"
               for selector, colour, backgrounds in checked for background in backgrounds
               if contrast(colour, background) < AA]
    assert not failing, "\n".join(failing)


def test_the_dark_scheme_overrides_what_the_light_one_sets():
    css = rules(STYLE.read_text(encoding="utf-8"))
    light, dark = Scheme(css, False), Scheme(css, True)
    assert light.value(".prose pre", "background") != dark.value(".prose pre", "background")
    assert light.value(".highlight .k", "color") != dark.value(".highlight .k", "color")


def test_code_blocks_can_be_scrolled_from_the_keyboard(site):
    long_line = "print(" + ", ".join(f"'value {n}'" for n in range(40)) + ")"
    site.write("content/articles/code.md", article("Code", body=f"```python\n{long_line}\n```\n\n    indented = True\n"))
    site.build()
    blocks = site.page("articles/code/index.html").select(".prose .highlight > pre")
    assert len(blocks) == 2
    for pre in blocks:
        assert pre.get("tabindex") == "0", "a block that scrolls sideways must take the keyboard focus"
