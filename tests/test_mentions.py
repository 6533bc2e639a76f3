"""Crew mentions and [[...]] references: linked once, in the right places, checked at build time."""

from __future__ import annotations

import re

import feedparser
import yaml

from conftest import MISSION_YAML, article, article_folders, broken_links, parse, text

ALIASED = MISSION_YAML.replace("    role: Commander\n", "    aliases: [Oleg Novitskiy]\n    role: Commander\n")

TRICKY = """
## Yulia Peresild in orbit

Inline code `Yulia Peresild` stays code, and a [page about Yulia Peresild](https://example.org/) keeps its link.

Yulia Peresild's first scene came early. Later, Yulia
Peresild was filmed again.

```text
Klim Shipenko inside a fenced block
```

Клим Шипенко directed. Novitsky alone is no name, but Oleg Novitskiy flew them home.
"""


def _mentions(prose):
    return [(text(a), a["href"]) for a in prose.select("a.mention")]


def test_tricky_mentions_are_linked_once_and_only_in_running_text(site):
    site.write("content/mission.yaml", ALIASED)
    site.write("content/articles/tricky.md", article("Tricky", body=TRICKY))
    site.build()
    prose = site.page("articles/tricky/index.html").select_one(".prose")
    assert _mentions(prose) == [("Yulia Peresild", "/crew/peresild/"), ("Клим Шипенко", "/crew/shipenko/"),
                                ("Oleg Novitskiy", "/crew/novitsky/")]
    assert not prose.find("h2").find("a", class_="mention")
    assert text(prose.find("code")) == "Yulia Peresild"
    assert "Klim Shipenko" in prose.find("pre").get_text()
    external = prose.find("a", href="https://example.org/")
    assert text(external) == "page about Yulia Peresild" and not external.find("a")
    first = prose.select_one("a.mention")
    assert str(first.parent.next_sibling).startswith("\u2019s first scene")


def test_mention_cards_describe_the_link(site):
    site.write("content/articles/tricky.md", article("Tricky", body="Yulia Peresild arrives."))
    site.build()
    page = site.page("articles/tricky/index.html")
    link = page.select_one(".prose a.mention")
    card = page.find(id=link["aria-describedby"])
    assert card["role"] == "tooltip" and card.has_attr("hidden")
    assert text(card) == "Actress Lead actress."
    assert link["data-native"] == "Юлия Пересильд"
    assert len({t["id"] for t in page.find_all(id=True)}) == len(page.find_all(id=True)), "ids are unique"


def test_crew_pages_list_articles_that_only_mention_them(site):
    site.write("content/articles/mention.md", article("Aside", body="Oleg Novitsky flew the ship."))
    site.build()
    listed = [a["href"] for a in site.page("crew/novitsky/index.html").select(".card-title a")]
    assert "/articles/mention/" in listed and "/articles/landing/" in listed
    assert "/articles/mention/" not in [a["href"] for a in site.page("crew/shipenko/index.html").select(".card-title a")]


def test_explicit_references_link_by_id(site):
    body = """
    Directed by [[crew:shipenko]], see [[article:launch]], the [[article:the-film#release|release]]
    and [[article:the-film#release]]. `[[crew:nobody]]` in code is no reference.
    """
    site.write("content/articles/refs.md", article("Refs", body=body))
    site.build()
    prose = site.page("articles/refs/index.html").select_one(".prose")
    links = [(text(a), a["href"]) for a in prose.select("a.mention, a.ref")]
    assert links == [("Klim Shipenko", "/crew/shipenko/"), ("The launch", "/articles/launch/"),
                     ("release", "/articles/the-film/#release"), ("Release", "/articles/the-film/#release")]
    assert "[[crew:nobody]]" in text(prose.find("code"))
    assert broken_links(site.output) == []


def test_broken_references_fail_with_their_place(site):
    lines = ["---", "title: Broken refs", "date: 2021-10-10", "---", "",
             "Fine: [[crew:peresild]].",
             "",
             "A crew id that is not there: [[crew:nobody]] and",
             "  [[article:missing-article]] then [[article:launch#no-such-heading]].",
             "",
             "```",
             "[[crew:nobody]] in a fence is no reference",
             "```",
             ""]
    site.write("content/articles/refs.md", "\n".join(lines))
    result = site.build(expect=1)
    errors = [line for line in result.err.splitlines() if line.startswith("content/")]
    assert errors == [
        "content/articles/refs.md:8:30: unknown crew id 'nobody' in [[crew:nobody]] (crew ids: novitsky, peresild, shipenko)",
        "content/articles/refs.md:9:3: no article with slug 'missing-article' for [[article:missing-article]]",
        "content/articles/refs.md:9:36: article 'launch' has no heading #no-such-heading (headings: none)",
    ]
    assert not (site.output / "articles/refs").exists()


def test_reference_text_is_escaped_once(site):
    site.write("content/articles/qa.md", article("Q & A <live>", body="## Tom & Jerry\n\nText."))
    site.write("content/articles/refs.md", article("Refs", body="[[article:qa]] and [[article:qa#tom-jerry]]."))
    site.build()
    links = site.page("articles/refs/index.html").select(".prose a.ref")
    assert [a.get_text() for a in links] == ["Q & A <live>", "Tom & Jerry"]


def test_references_follow_article_aliases(site):
    site.write("content/articles/launch.md", article("The launch", "2021-10-05", "Up they go.", aliases="[lift-off]"))
    site.write("content/articles/refs.md", article("Refs", body="See [[article:lift-off]]."))
    site.build()
    link = site.page("articles/refs/index.html").select_one(".prose a.ref")
    assert link["href"] == "/articles/launch/"


def test_mentions_under_a_subpath_and_in_the_feed(site):
    site.write("content/articles/tricky.md", article("Tricky", "2024-01-01", body="Yulia Peresild arrives."))
    site.build("--base-url", "https://example.org/challenge/")
    assert site.page("articles/tricky/index.html").select_one(".prose a.mention")["href"] == "/challenge/crew/peresild/"
    assert broken_links(site.output, "/challenge/") == []
    feed = feedparser.parse(str(site.output / "feed.xml"))
    content = feed.entries[0].content[0].value
    assert "Yulia Peresild" in content and "mention-card" not in content and "Lead actress" not in content


def _names(member) -> set[str]:
    names = {member["name"], *(member.get("aliases") or [])}
    if member.get("name_native"):
        names.add(member["name_native"])
        words = member["name_native"].split()
        if len(words) == 3:
            names.add(f"{words[0]} {words[2]}")
    return names


def test_default_site_links_every_crew_name_where_it_should(built_default_site):
    crew = yaml.safe_load((built_default_site.source / "content/mission.yaml").read_text(encoding="utf-8"))["crew"]
    sources = article_folders(built_default_site.source / "content/articles")
    assert sources
    for source, folder in sources:
        page = built_default_site.output / folder / "index.html"
        prose = parse(page).select_one(".prose")
        linked = [a["data-crew"] for a in prose.select("a.mention")]
        assert len(linked) == len(set(linked)), f"{page}: someone is linked twice"
        for a in prose.select("a.mention"):
            assert not a.find_parent(["h1", "h2", "h3", "h4", "h5", "h6", "code", "pre", "a"]), page
        for heading in prose.find_all(["h2", "h3", "code", "pre"]):
            assert not heading.select("a.mention"), page
        for card in prose.select(".mention-card"):
            card.decompose()
        running = " ".join(text(el) for el in prose.find_all(["p", "li", "td", "blockquote"])
                           if not el.find_parent(["pre", "code"]))
        for member in crew:
            named = any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", running) for n in _names(member))
            assert named == (member["id"] in linked), f"{page}: {member['id']} named={named} linked={member['id'] in linked}"
        assert linked, page
