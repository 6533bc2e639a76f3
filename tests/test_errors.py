"""Bad input, case by case: the exact `path:line:column` message, exit status 1, and the earlier
output untouched with nothing written beside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from PIL import Image

from conftest import MISSION_YAML, SITE_YAML, article, run_build


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of a folder with its bytes and modification time."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def listing(folder: Path) -> set[str]:
    """Every path under a folder, files and folders."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def write_bytes(site, rel: str, data: bytes) -> None:
    path = site.source / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def front(*lines: str, body: str = "Text.") -> str:
    return "\n".join(["---", *lines, "---", "", body, ""])


def mission_with(old: str, new: str) -> str:
    assert old in MISSION_YAML
    return MISSION_YAML.replace(old, new, 1)


BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x, x]"] +
                 [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(7)]) + "\n"

# id, files to write ({path: text or bytes}), extra arguments, expected exit, expected message start
CASES = [
    ("malformed-front-matter", {"content/articles/bad.md": front("title: [unclosed", "date: 2021-10-17")}, [], 1,
     "content/articles/bad.md:3:5: malformed YAML: did not find expected ',' or ']' (while parsing a flow sequence that starts on line 2, column 8)"),
    ("malformed-mission", {"content/mission.yaml": mission_with("  name: Test mission", "  name: Test: mission")}, [], 1,
     "content/mission.yaml:2:13: malformed YAML: mapping values are not allowed in this context"),
    ("tab-indented-site-yaml", {"content/site.yaml": SITE_YAML + "\tlanguage: ru\n"}, [], 1,
     "content/site.yaml:6:1: malformed YAML"),
    ("front-matter-not-closed", {"content/articles/bad.md": "---\ntitle: Open\ndate: 2021-10-17\n\nText.\n"}, [], 1,
     "content/articles/bad.md:1:1: front matter opened here is not closed: add a line '---' after the last field"),
    ("no-front-matter", {"content/articles/bad.md": "# Just a heading\n\nText.\n"}, [], 1,
     "content/articles/bad.md:1:1: missing front matter"),
    ("front-matter-not-mapping", {"content/articles/bad.md": front("- a list", "- not fields")}, [], 1,
     "content/articles/bad.md:2:1: front matter must be a mapping"),
    ("missing-title", {"content/articles/bad.md": front("date: 2021-10-17")}, [], 1,
     "content/articles/bad.md:2:1: missing required field 'title' (text)"),
    ("missing-date", {"content/articles/bad.md": front("title: No date")}, [], 1,
     "content/articles/bad.md:2:1: missing required field 'date'"),
    ("title-mistyped", {"content/articles/bad.md": front("title: [a, b]", "date: 2021-10-17")}, [], 1,
     "content/articles/bad.md:2:1: 'title' must be text, not a list"),
    ("date-not-a-date", {"content/articles/bad.md": front("title: T", "date: yesterday")}, [], 1,
     "content/articles/bad.md:3:1: 'date' is not a date: 'yesterday'; write 2021-10-17 or 2021-10-17T04:35:00Z"),
    ("impossible-date", {"content/articles/bad.md": front("title: T", "date: 2021-02-30")}, [], 1,
     "content/articles/bad.md:3:7: impossible date '2021-02-30': day is out of range for month"),
    ("impossible-time", {"content/articles/bad.md": front("title: T", "date: 2021-02-03T25:00:00Z")}, [], 1,
     "content/articles/bad.md:3:7: impossible date or time '2021-02-03T25:00:00Z'"),
    ("date-without-offset", {"content/articles/bad.md": front("title: T", "date: 2021-10-17T09:00:00")}, [], 1,
     "content/articles/bad.md:3:1: 'date' has no UTC offset; add one, e.g. 2021-10-17T09:00:00Z"),
    ("unknown-crew-id", {"content/articles/bad.md": front("title: T", "date: 2021-10-17", "crew: [shipenko, peresil]")}, [], 1,
     "content/articles/bad.md:4:18: unknown crew id 'peresil'; did you mean 'peresild'?"),
    ("duplicate-crew-id", {"content/mission.yaml": mission_with("  - id: novitsky", "  - id: shipenko")}, [], 1,
     "content/mission.yaml:27:5: duplicate crew id 'shipenko' (first used on line 22)"),
    ("bad-crew-id", {"content/mission.yaml": mission_with("  - id: novitsky", "  - id: Oleg Novitsky")}, [], 1,
     "content/mission.yaml:27:5: crew id 'Oleg Novitsky' must use only a-z, 0-9 and hyphens, e.g. 'oleg-novitsky'"),
    ("duplicate-slug", {"content/articles/again.md": front("title: Again", "date: 2021-10-17", "slug: launch")}, [], 1,
     "content/articles/launch.md:2:1: slug 'launch' is already used by content/articles/again.md:4:1; set a different 'slug:'"),
    ("slug-differs-in-case", {"content/articles/Landing.md": front("title: Shouting", "date: 2021-10-17")}, [], 1,
     "content/articles/landing.md:2:1: slug 'landing' is already used by content/articles/Landing.md:2:1; set a different 'slug:'"),
    ("reserved-slug", {"content/articles/bad.md": front("title: T", "date: 2021-10-17", "slug: CON")}, [], 1,
     "content/articles/bad.md:4:1: slug 'con' is a reserved file name on Windows hosts"),
    ("template-syntax-error", {"templates/404.html": '{% extends "base.html" %}\n{% block main %}\n{% if %}\n{% endblock %}\n'}, [], 1,
     "templates/404.html:3: template syntax error: Expected an expression"),
    ("template-undefined-variable", {"templates/404.html": '{% extends "base.html" %}\n{% block main %}\n<p>{{ nothing.here }}</p>\n{% endblock %}\n'}, [], 1,
     "templates/404.html:3: 'nothing' is undefined; check the spelling, or test it with 'is defined' (while rendering 404.html)"),
    ("template-undefined-in-base", {"templates/base.html": "<!doctype html>\n<title>{{ site.title }}</title>\n{{ site.tagline }}\n"}, [], 1,
     "templates/base.html:3: 'microsite.model.SiteConfig object' has no attribute 'tagline'"),
    ("template-missing", {"templates/404.html": '{% extends "layout.html" %}\n'}, [], 1,
     "templates/404.html:1: template 'layout.html' not found; add templates/layout.html or fix the name (while rendering 404.html)"),
    ("template-include-missing", {"templates/404.html": '{% extends "base.html" %}\n{% block main %}\n{% include "part.html" %}\n{% endblock %}\n'}, [], 1,
     "templates/404.html:3: template 'part.html' not found"),
    ("not-utf8", {"content/articles/bad.md": b"---\ntitle: Caf\xe9 society\ndate: 2021-10-17\n---\n\nText.\n"}, [], 1,
     "content/articles/bad.md:2:11: not valid UTF-8 (byte 0xe9); save the file as UTF-8"),
    ("empty-file", {"content/articles/bad.md": ""}, [], 1,
     "content/articles/bad.md:1:1: file is empty"),
    ("blank-file", {"content/articles/bad.md": "\n \n"}, [], 1,
     "content/articles/bad.md:1:1: file is empty"),
    ("empty-mission", {"content/mission.yaml": ""}, [], 1,
     "content/mission.yaml:1:1: file is empty"),
    ("duplicate-key", {"content/articles/bad.md": front("title: One", "date: 2021-10-17", "title: Two")}, [], 1,
     "content/articles/bad.md:4:1: duplicate key 'title' (first defined on line 2); keep only one"),
    ("duplicate-key-mission", {"content/mission.yaml": mission_with("  name: Test mission\n", "  name: Test mission\n  name: Again\n")}, [], 1,
     "content/mission.yaml:3:3: duplicate key 'name' (first defined on line 2)"),
    ("unknown-site-key", {"content/site.yaml": SITE_YAML + "titel: Typo\n"}, [], 1,
     "content/site.yaml:6:1: unknown key 'titel' in site.yaml; did you mean 'title'?"),
    ("mistyped-site-key", {"content/site.yaml": SITE_YAML + "unsafe_html: maybe\n"}, [], 1,
     "content/site.yaml:6:1: 'unsafe_html' must be true or false, not str 'maybe'"),
    ("yaml11-boolean-is-text", {"content/site.yaml": SITE_YAML + "unsafe_html: no\n"}, [], 1,
     "content/site.yaml:6:1: 'unsafe_html' must be true or false, not str 'no'"),
    ("bad-base-url", {"content/site.yaml": SITE_YAML.replace("https://example.org/", "example.org")}, [], 1,
     "content/site.yaml:3:1: base_url must be an absolute http(s) URL"),
    ("unknown-mission-key", {"content/mission.yaml": MISSION_YAML + "flim:\n  title: Typo\n"}, [], 1,
     "content/mission.yaml:33:1: unknown key 'flim' in mission.yaml; did you mean 'film'?"),
    ("misspelt-crew-key", {"content/mission.yaml": mission_with("    role: Director", "    roel: Director")}, [], 1,
     "content/mission.yaml:25:5: unknown key 'roel' in a crew member; did you mean 'role'?"),
    ("misspelt-event-key", {"content/mission.yaml": mission_with("      detail: Back on the ground.", "      detial: Back on the ground.")}, [], 1,
     "content/mission.yaml:11:7: unknown key 'detial' in an event; did you mean 'detail'?"),
    ("mistyped-crew-name", {"content/mission.yaml": mission_with("    name: Klim Shipenko", "    name: [Klim, Shipenko]")}, [], 1,
     "content/mission.yaml:23:5: 'name' must be text, not a list"),
    ("over-size-limit", {"content/site.yaml": SITE_YAML + "max_article_bytes: 1000\n",
                         "content/articles/bad.md": front("title: Long", "date: 2021-10-17", body="word " * 400)}, [], 1,
     "content/articles/bad.md:1:1: file is 2,039 bytes, over the 1,000-byte limit"),
    ("over-size-limit-flag", {"content/articles/bad.md": front("title: Long", "date: 2021-10-17", body="word " * 400)},
     ["--max-article-bytes", "2000"], 1,
     "content/articles/bad.md:1:1: file is 2,039 bytes, over the 2,000-byte limit"),
    ("bad-size-limit", {"content/site.yaml": SITE_YAML + "max_article_bytes: -5\n"}, [], 1,
     "content/site.yaml:6:1: 'max_article_bytes' must be more than 0, not -5"),
    ("binary-markdown", {"content/articles/bad.md": b"---\ntitle: x\n\x00\x01\x02\xff" * 10}, [], 1,
     "content/articles/bad.md:1:1: binary file, not text; images and videos belong in static/"),
    ("binary-beside-articles", {"content/articles/clip.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4}, [], 1,
     "content/articles/clip.mp4:1:1: binary file in content/articles/, which holds only Markdown and the images articles show; move it to static/"),
    ("javascript-url-front-matter", {"content/articles/bad.md": front("title: T", "date: 2021-10-17", "link: javascript:alert(1)")}, [], 1,
     "content/articles/bad.md:4:1: 'link' holds a javascript: URL, which would run in readers' browsers"),
    ("javascript-url-obfuscated", {"content/articles/bad.md": front("title: T", "date: 2021-10-17", "image: ' JaVaScRiPt:alert(1)'")}, [], 1,
     "content/articles/bad.md:4:1: 'image' holds a javascript: URL"),
    ("data-url-mission", {"content/mission.yaml": mission_with("    bio: Director and camera.\n",
                                                               "    bio: Director and camera.\n    website: data:text/html,<script>alert(1)</script>\n")}, [], 1,
     "content/mission.yaml:27:5: 'website' holds a data: URL"),
    ("alias-bomb", {"content/mission.yaml": MISSION_YAML + "extra:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines())}, [], 1,
     "content/mission.yaml:34:28: document expands to more than 200000 values (aliases nested too deeply?)"),
    ("alias-bomb-front-matter", {"content/articles/bad.md": "---\ntitle: T\ndate: 2021-10-17\n" + BOMB + "---\n\nText.\n"}, [], 1,
     "content/articles/bad.md:4:35: document expands to more than 200000 values (aliases nested too deeply?)"),
    ("nested-brackets", {"content/articles/bad.md": front("title: T", "date: 2021-10-17", body="Intro.\n\n" + "[x " * 5000)}, [], 1,
     "content/articles/bad.md:8:97: more than 32 '[' open at once in one paragraph"),
    ("nested-quotes", {"content/articles/bad.md": front("title: T", "date: 2021-10-17", body="> " * 5000 + "deep")}, [], 1,
     "content/articles/bad.md:6:1: blockquotes nested more than 32 deep"),
    ("nested-lists", {"content/articles/bad.md": front("title: T", "date: 2021-10-17", body="".join("    " * i + "- x\n" for i in range(1000)))}, [], 1,
     "content/articles/bad.md:39:1: indented more than 128 columns"),
    ("nested-emphasis", {"content/articles/bad.md": front("title: T", "date: 2021-10-17", body="*a " * 3000 + "x" + " a*" * 3000)}, [], 1,
     "content/articles/bad.md:6:1: paragraph with more than 2000 inline marks"),
    ("many-inline-elements", {"content/articles/bad.md": front("title: T", "date: 2021-10-17", body="Intro.\n\nStart\n" + "`a` " * 20000)}, [], 1,
     "content/articles/bad.md:8:1: paragraph with more than 2000 inline marks"),
    ("too-many-headings", {"content/articles/bad.md": front("title: T", "date: 2021-10-17", body="\n\n".join("## Part" for _ in range(1200)))}, [], 1,
     "content/articles/bad.md:2006:1: more than 1000 headings in one article; split it into several"),
    ("tag-without-letters", {"content/articles/bad.md": front("title: T", "date: 2021-10-17", "tags: [soyuz, '!!!']")}, [], 1,
     "content/articles/bad.md:4:15: tag '!!!' has no letters or digits to make a URL from"),
    ("static-name-unsafe", {"static/aux.txt": "reserved on Windows\n"}, [], 1,
     "static/aux.txt: unsafe output path 'static/aux.txt'; rename the file"),
]


@pytest.mark.parametrize("files, args, status, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_reported_and_loses_nothing(built_site, files, args, status, message):
    site = built_site
    before, around = snapshot(site.output), listing(site.source.parent)
    for rel, data in files.items():
        if isinstance(data, bytes):
            write_bytes(site, rel, data)
        else:
            site.write(rel, data)
    result = site.build(*args, expect=status)
    lines = result.err.splitlines()
    assert any(line.startswith(message) for line in lines), result.err
    assert lines[-1].startswith("microsite: build failed with ")
    assert "Traceback" not in result.err
    assert snapshot(site.output) == before
    written = {f"site/{rel}" for rel in files} | {f"site/{p}" for rel in files for p in _parents(rel)}
    after = listing(site.source.parent)
    assert after - around <= written and around <= after


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]



def aliased(*aliases: str, title: str = "Moved") -> str:
    return article(title, aliases=f"[{', '.join(aliases)}]")


# id, files to write, the one problem reported (the fixture's site: landing.md, launch.md, the-film.md;
# crew peresild, shipenko, novitsky; tags landing, soyuz, film)
CLASHES = [
    ("alias-crew-list", {"content/articles/moved.md": aliased("/crew/")},
     "content/articles/moved.md:4:11: alias /crew/ wants the output path 'crew/index.html', "
     "as does the crew list (content/mission.yaml, templates/crew_list.html)"),
    ("alias-crew-member", {"content/articles/moved.md": aliased("/crew/shipenko/")},
     "content/articles/moved.md:4:11: alias /crew/shipenko/ wants the output path 'crew/shipenko/index.html', "
     "as does the page of crew member 'shipenko' (content/mission.yaml:22:5, templates/crew.html)"),
    ("alias-tag", {"content/articles/moved.md": aliased("/tags/soyuz/")},
     "content/articles/moved.md:4:11: alias /tags/soyuz/ wants the output path 'tags/soyuz/index.html', "
     "as does the page of tag 'soyuz' (content/articles/landing.md:4, templates/tag.html)"),
    ("alias-home", {"content/articles/moved.md": aliased("/index.html")},
     "content/articles/moved.md:4:11: alias /index.html wants the output path 'index.html', as does the home page (templates/home.html)"),
    ("alias-404", {"content/articles/moved.md": aliased("/404.html")},
     "content/articles/moved.md:4:11: alias /404.html wants the output path '404.html', as does the 404 page (templates/404.html)"),
    ("alias-article-in-other-case", {"content/articles/moved.md": aliased("/articles/Launch/")},
     "content/articles/moved.md:4:11: alias /articles/Launch/ wants the output path 'articles/Launch/index.html', "
     "as does the article's page (content/articles/launch.md:2, templates/article.html), spelt 'articles/launch/index.html'"),
    ("alias-article-index", {"content/articles/moved.md": aliased("/articles/launch/index.html")},
     "content/articles/moved.md:4:11: alias /articles/launch/index.html wants the output path 'articles/launch/index.html', "
     "as does the article's page (content/articles/launch.md:2, templates/article.html)"),
    ("alias-live-article", {"content/articles/moved.md": aliased("launch")},
     "content/articles/moved.md:4:11: alias /articles/launch/ is the live URL of content/articles/launch.md:2:1; remove it from aliases"),
    ("alias-alias", {"content/articles/moved.md": aliased("/old/"), "content/articles/other.md": aliased("first", "/old/", title="Other")},
     "content/articles/other.md:4:18: alias /old/ is already an alias of content/articles/moved.md:4:11"),
    ("alias-alias-in-other-case", {"content/articles/moved.md": aliased("/old/"), "content/articles/other.md": aliased("/OLD/", title="Other")},
     "content/articles/moved.md:4:11: alias /old/ wants the output path 'old/index.html', "
     "as does alias /OLD/ (content/articles/other.md:4:11), spelt 'OLD/index.html'"),
    ("aliases-and-a-page", {"content/articles/moved.md": aliased("/crew/"), "content/articles/other.md": aliased("/Crew/", title="Other")},
     "content/articles/moved.md:4:11: alias /crew/ wants the output path 'crew/index.html', as do the crew list "
     "(content/mission.yaml, templates/crew_list.html) and alias /Crew/ (content/articles/other.md:4:11), spelt 'Crew/index.html'"),
    ("alias-over-a-file", {"content/articles/moved.md": aliased("/feed.xml")},
     "content/articles/moved.md:4:11: alias /feed.xml/ wants the output path 'feed.xml/index.html', "
     "which needs a folder where the feed (templates/feed.xml) wants the file 'feed.xml'"),
    ("alias-in-the-search-index", {"content/articles/moved.md": aliased("/pagefind/pagefind.js")},
     "content/articles/moved.md:4:11: alias /pagefind/pagefind.js/ wants the output path 'pagefind/pagefind.js/index.html', "
     "in the folder 'pagefind/' that the search index fills"),
    ("alias-static-file", {"static/notes.html": "<p>Notes</p>\n", "content/articles/moved.md": aliased("/static/notes.html")},
     "content/articles/moved.md:4:11: alias /static/notes.html wants the output path 'static/notes.html', "
     "as does a static file (static/notes.html)"),
    ("slug", {"content/articles/moved.md": article("Moved", slug="launch")},
     ("content/articles/launch.md:2:1: slug 'launch' is also used by content/articles/moved.md:4:1; set a different 'slug:' in one of them",
      "content/articles/moved.md:4:1: slug 'launch' is already used by content/articles/launch.md:2:1; set a different 'slug:'")),
]


@pytest.mark.parametrize("command", ["build", "check"])
@pytest.mark.parametrize("files, message", [c[1:] for c in CLASHES], ids=[c[0] for c in CLASHES])
def test_a_clash_of_output_paths_names_every_source_at_its_line(site, command, files, message, request):
    if command == "build":
        site = request.getfixturevalue("built_site")  # the last good build, which the failing one must leave
    before = snapshot(site.output) if command == "build" else listing(site.source.parent)
    for rel, text in files.items():
        site.write(rel, text)
    result = run_build(site.capsys, [command, "--source", str(site.source)], expect=1)
    assert result.err.splitlines()[:-1] == ([message] if isinstance(message, str) else list(message))
    assert (snapshot(site.output) if command == "build" else listing(site.source.parent) - {f"site/{rel}" for rel in files}
            - {"site/static"}) == before


def test_an_image_copy_and_a_static_file_of_its_name_clash(site):
    (site.source / "static").mkdir()
    Image.new("RGB", (600, 300), "navy").save(site.source / "static/poster.png")
    site.build()
    before = snapshot(site.output)
    copy = next((site.output / "static").glob("poster-480w.*.webp"))
    (site.source / "static" / copy.name).write_bytes(copy.read_bytes())
    result = site.build(expect=1)
    assert result.err.splitlines()[:-1] == [
        f"static/poster.png: a 480 px wide WEBP copy of an image wants the output path 'static/{copy.name}', "
        f"as does a static file (static/{copy.name})"]
    assert snapshot(site.output) == before

def test_every_problem_of_a_build_is_reported_together(site):
    site.write("content/articles/a.md", front("title: A"))
    site.write("content/articles/b.md", front("title: B", "date: 2021-13-01"))
    site.write("content/articles/c.md", front("title: C", "date: 2021-10-17", "crew: [nobody]"))
    site.write("content/site.yaml", SITE_YAML + "colour: blue\n")
    site.write("templates/tag.html", '{% extends "base.html" %}\n{% block main %}{% for x in %}{% endblock %}\n')
    result = site.build(expect=1)
    assert result.err.splitlines() == [
        "content/articles/a.md:2:1: missing required field 'date' (e.g. date: 2021-10-17 or 2021-10-17T04:35:00Z)",
        "content/articles/b.md:3:7: impossible date '2021-13-01': month must be in 1..12",
        "content/articles/c.md:4:8: unknown crew id 'nobody'; crew ids are listed in content/mission.yaml",
        "content/site.yaml:6:1: unknown key 'colour' in site.yaml",
        "templates/tag.html:2: template syntax error: Expected an expression, got 'end of statement block'",
        "microsite: build failed with 5 problems; output left as it was",
    ]


def test_a_template_mistake_shared_by_every_page_is_reported_once(site):
    macros = (Path(__file__).parent.parent / "microsite/theme/templates/_macros.html").read_text()
    line = macros[:macros.index("{{ article.title }}")].count("\n") + 1
    site.write("templates/_macros.html", macros.replace("{{ article.title }}", "{{ article.headline }}", 1))
    result = site.build(expect=1)
    problems = result.err.splitlines()[:-1]
    assert len(problems) == 1, result.err
    assert problems[0].startswith(f"templates/_macros.html:{line}: 'microsite.model.Article object' has no attribute 'headline'")
    assert "other pages)" in problems[0]


@pytest.mark.parametrize("make, message", [
    (lambda s: os.symlink("/etc/passwd", s.source / "content/articles/passwd.md"),
     "content/articles/passwd.md:1:1: symlink points outside the source folder (to /etc/passwd); copy the file in instead"),
    (lambda s: os.symlink("/etc", s.source / "content/articles/etc"),
     "content/articles/etc:1:1: symlink points outside the source folder (to /etc)"),
    (lambda s: (s.source / "static").mkdir() or os.symlink("/etc/hostname", s.source / "static/host.txt"),
     "static/host.txt:1:1: symlink points outside the source folder"),
    (lambda s: (s.source / "templates").mkdir() or os.symlink("/etc/hostname", s.source / "templates/404.html"),
     "templates/404.html:1:1: symlink points outside the source folder"),
    (lambda s: os.symlink("..", s.source / "content/articles/loop"),
     "content/articles/loop:1:1: symlink points at a folder that contains it, which would loop; delete it"),
    (lambda s: os.symlink("missing.md", s.source / "content/articles/dangling.md"),
     "content/articles/dangling.md:1:1: symlink leads nowhere"),
    (lambda s: os.mkfifo(s.source / "content/articles/pipe.md"),
     "content/articles/pipe.md:1:1: not a regular file (a pipe, socket or device); delete it"),
    (lambda s: os.symlink(s.source.parent / "elsewhere", s.source / "static") if (s.source.parent / "elsewhere").mkdir() is None else None,
     "static:1:1: symlink points outside the source folder"),
], ids=["file-out", "folder-out", "static-out", "template-out", "loop", "dangling", "fifo", "static-folder-out"])
def test_links_out_of_the_source_are_refused(built_site, make, message):
    site = built_site
    before, around = snapshot(site.output), listing(site.source.parent)
    make(site)
    result = site.build(expect=1)
    assert any(line.startswith(message) for line in result.err.splitlines()), result.err
    assert snapshot(site.output) == before
    assert {p for p in listing(site.source.parent) - around if not p.startswith(("site/content", "site/static", "site/templates", "elsewhere"))} == set()


def test_symlinks_inside_the_source_are_followed(site):
    (site.source / "shared").mkdir()
    (site.source / "shared/extra.md").write_text(article("Shared", body="From elsewhere in the source."))
    os.symlink("../../shared/extra.md", site.source / "content/articles/extra.md")
    site.build()
    assert (site.output / "articles/extra/index.html").is_file()


def test_accepted_oddities_bom_crlf_and_yaml12_types(site):
    site.write("content/mission.yaml", MISSION_YAML.replace("  name: Test mission", "  name: Test mission\n  country: NO\n  code: 0012"))
    data = article("Windows file", body="Line one.\n\nLine two.").replace("\n", "\r\n").encode("utf-8")
    write_bytes(site, "content/articles/windows.md", b"\xef\xbb\xbf" + data)
    site.write("templates/404.html", '{% extends "base.html" %}{% block main %}<p id="c">{{ mission.country }}</p>'
                                     '<p id="n">{{ mission.code + 1 }}</p>{% endblock %}')
    site.build()
    page = site.page("404.html")
    assert page.find(id="c").get_text() == "NO"
    assert page.find(id="n").get_text() == "13"
    assert site.page("articles/windows/index.html").find("h1").get_text() == "Windows file"


@pytest.mark.parametrize("name, message", [
    ("huge.md", "content/articles/huge.md:1:1: file is 209,715,200 bytes, over the 5,242,880-byte limit"),
    ("huge.mp4", "content/articles/huge.mp4:1:1: binary file in content/articles/"),
])
def test_a_huge_file_is_reported_without_being_read(site, name, message):
    with open(site.source / "content/articles" / name, "wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: takes no disk space, reads as zeros
    result = site.build(expect=1)
    assert any(line.startswith(message) for line in result.err.splitlines()), result.err


@pytest.mark.slow
def test_a_200_mb_file_elsewhere_in_content_is_not_read(site):
    with open(site.source / "content/video.mp4", "wb") as handle:
        handle.truncate(200 * 1024 * 1024)
    site.build()
