"""`microsite check`: the validations of a build plus links and anchors, writing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import article, run_build


def listing(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*")}


def check(site, *args, expect):
    return run_build(site.capsys, ["check", "--source", str(site.source), *args], expect)


WARNED = article("Warned", "2021-10-20", image="favicon.svg", body="""
See [the launch](/articles/launch/), [nowhere](/articles/nowhere/) and [no anchor](/mission/#liftoff).
A [good anchor](/mission/#landing), a [relative one](../launch/) and [outside](https://example.com/x).

![](/static/favicon.svg)
""")


def test_clean_site_passes_and_writes_nothing(site, tmp_path):
    before = listing(tmp_path)
    result = check(site, "--strict", expect=0)
    assert result.out.strip() == "microsite: check passed with 0 warnings; nothing written"
    assert listing(tmp_path) == before
    assert not site.output.exists()


def test_shipped_site_passes_strict_check(default_site):
    check(default_site, "--strict", expect=0)


def test_warnings_point_at_the_source(site):
    site.write("content/articles/warned.md", WARNED)
    result = check(site, expect=0)
    assert result.err.splitlines() == [
        "content/articles/warned.md:4:1: warning: 'image' has no 'image_alt'; describe the picture for readers who cannot see it",
        "content/articles/warned.md:7:48: warning: broken internal link '/articles/nowhere/': no page articles/nowhere/index.html",
        "content/articles/warned.md:7:84: warning: broken anchor '/mission/#liftoff': mission/index.html has no id 'liftoff'",
        "content/articles/warned.md:10:5: warning: image '/static/favicon.svg' has no alt text; write it as ![what it shows](/static/favicon.svg)",
    ]
    assert result.out.strip() == "microsite: check passed with 4 warnings; nothing written"


def test_strict_turns_warnings_into_errors(site, tmp_path):
    site.build()
    site.write("content/articles/warned.md", WARNED)
    before = listing(tmp_path)
    result = check(site, "--strict", expect=1)
    assert result.err.splitlines()[-1] == "microsite: check failed with 4 warnings (--strict); nothing written"
    assert listing(tmp_path) == before


def test_scheduled_articles_are_listed_and_checked_with_future(site):
    """An article dated in the future is no mistake: check names it with when it is due, even
    with --strict; --future checks it as the build that publishes it will."""
    site.write("content/articles/later.md", WARNED.replace("date: 2021-10-20", "date: 2999-01-01T06:30:00+03:00"))
    result = check(site, "--strict", expect=0)
    assert result.err == ""
    assert result.out.splitlines() == [
        "content/articles/later.md:3:1: scheduled for 2999-01-01 03:30 UTC: held back until the first build after then "
        "(--future publishes it now)",
        "microsite: check passed with 0 warnings; 1 scheduled article held back; nothing written"]
    result = check(site, "--future", expect=0)
    assert len(result.err.splitlines()) == 4 and all(line.startswith("content/articles/later.md:") for line in result.err.splitlines())
    assert result.out.strip() == "microsite: check passed with 4 warnings; nothing written"


def test_broken_links_made_by_templates_name_the_template(site):
    site.write("templates/404.html", '{% extends "base.html" %}{% block main %}<a href="{{ url(\'crew/nobody/\') }}">x</a>{% endblock %}')
    result = check(site, expect=0)
    assert result.err.splitlines() == [
        "templates/404.html: warning: broken internal link '/crew/nobody/': no page crew/nobody/index.html (on 404.html)"]


@pytest.mark.parametrize("files, message", [
    ({"content/articles/bad.md": "---\ntitle: Broken\n---\n"}, "content/articles/bad.md:2:1: missing required field 'date'"),
    ({"templates/tags.html": "{% extends 'base.html' %}{% block main %}{{ missing }}{% endblock %}"},
     "templates/tags.html:1: 'missing' is undefined"),
    ({"static/com1.txt": "x"}, "static/com1.txt: unsafe output path 'static/com1.txt'"),
])
def test_errors_fail_the_check(site, tmp_path, files, message):
    for rel, text in files.items():
        site.write(rel, text)
    before = listing(tmp_path)
    result = check(site, expect=1)
    assert any(line.startswith(message) for line in result.err.splitlines()), result.err
    assert result.err.splitlines()[-1].startswith("microsite: check failed with 1 problem")
    assert listing(tmp_path) == before


def test_check_refuses_an_output_folder_a_build_would_refuse(site):
    result = check(site, "--output", str(site.source / "content"), expect=2)
    assert "refusing to use" in result.err


def test_srcset_candidates_are_followed(site):
    site.write("templates/404.html", '{% extends "base.html" %}{% block main %}'
                                     '<img alt="x" src="{{ asset(\'favicon.svg\') }}" srcset="{{ asset(\'favicon.svg\') }} 1x, /static/big.png 2x">'
                                     '{% endblock %}')
    result = check(site, expect=0)
    assert result.err.splitlines() == [
        "templates/404.html: warning: broken internal link '/static/big.png': no page static/big.png (on 404.html)"]


def test_a_missing_lead_image_is_an_error_at_its_line(site):
    site.write("content/articles/warned.md", WARNED.replace("image: favicon.svg", "image: lead.jpg"))
    result = check(site, expect=1)
    assert "content/articles/warned.md:4:1: image 'lead.jpg' not found beside the article or under static/" in result.err


def test_two_spellings_of_one_tag_are_pointed_out_where_the_other_is_written(site):
    """`Crew life` and `crew-life` make one page, named by the newest article's spelling."""
    site.write("content/articles/newer.md", article("Newer", "2021-10-20", tags="[Crew life, soyuz]"))
    site.write("content/articles/older.md", article("Older", "2021-10-01", tags="[crew-life]"))
    result = check(site, expect=0)
    assert result.err.splitlines() == [
        "content/articles/older.md:4:1: warning: tag 'crew-life' shares the page tags/crew-life/ with 'Crew life' "
        "(content/articles/newer.md), which names it; spell them alike",
    ]
    check(site, "--strict", expect=1)
