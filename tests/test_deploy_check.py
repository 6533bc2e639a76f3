"""The deploy check serves a built site from a real nginx under a subpath and crawls it over HTTP."""

from __future__ import annotations

import pytest

from conftest import article, run_build

pytestmark = pytest.mark.nginx


def test_default_site_passes_behind_nginx_under_a_subpath(default_site):
    result = run_build(default_site.capsys, ["deploy-check", "--source", str(default_site.source), "--subpath", "/deep/challenge/"])
    summary = result.out.strip().splitlines()[-1]
    assert summary.startswith("deploy-check: nginx served ") and summary.endswith(" broken=0")
    assert "under /deep/challenge/" in summary
    assert int(summary.split("served ")[1].split(" ")[0]) >= 20


def test_broken_links_and_missing_fragments_fail_the_check(site):
    site.write("content/articles/links.md", article("Links", body="[gone](../missing/) and [no anchor](../landing/#nowhere)"))
    result = run_build(site.capsys, ["deploy-check", "--source", str(site.source), "--subpath", "/sub/"], expect=1)
    assert "deploy-check: /sub/articles/missing/: HTTP 404 (linked from /sub/articles/links/)" in result.out
    assert "deploy-check: /sub/articles/links/: link to /sub/articles/landing/#nowhere: no such id" in result.out
    assert result.out.strip().splitlines()[-1].endswith("broken=2")
