"""A wheel of the checkout, installed (not editable) into a fresh virtual environment, works from a
folder that has nothing to do with the checkout: the bundled theme travels inside the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, broken_links

pytestmark = pytest.mark.slow

LINKCHECK = [folder / "shared/tools/linkcheck.py" for folder in (ROOT.parent, ROOT.parent.parent)]
"""The shared link checker, beside the main checkout or beside the folder of worktrees."""


@dataclass
class Installed:
    venv: Path
    home: Path
    """An empty folder outside the checkout, where the commands run."""
    env: dict[str, str]

    def run(self, *args: str, cwd: Path | None = None, expect: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run([str(self.venv / "bin" / args[0]), *args[1:]], cwd=cwd or self.home, env=self.env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == expect, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """Build a wheel of the checkout and install it, with its dependencies, into a new venv."""
    root = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"

    def call(*args: str) -> None:
        done = subprocess.run(list(args), cwd=root, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"

    source = root / "checkout"  # built from a copy: setuptools leaves build/ and *.egg-info in the tree it builds
    shutil.copytree(ROOT / "microsite", source / "microsite", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    call(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(root / "wheels"), str(source))
    wheels = sorted((root / "wheels").glob("microsite-*.whl"))
    assert len(wheels) == 1
    call(sys.executable, "-m", "venv", str(root / "venv"))
    call(str(root / "venv/bin/python"), "-m", "pip", "install", "--quiet", str(wheels[0]))
    home = root / "elsewhere"
    home.mkdir()
    return Installed(root / "venv", home, env)


def test_the_installed_package_is_not_the_checkout(installed):
    where = installed.run("python", "-c", "import microsite, pathlib; print(pathlib.Path(microsite.__file__).resolve())").stdout
    package = Path(where.strip()).parent
    assert package.is_relative_to(installed.venv) and not package.is_relative_to(ROOT)
    assert (package / "theme/templates/base.html").is_file() and (package / "theme/static/style.css").is_file()


def test_a_new_site_builds_and_checks_from_any_folder(installed):
    from microsite import __version__

    assert installed.run("microsite", "--version").stdout.strip() == f"microsite {__version__}"
    installed.run("microsite", "new", "site", "mysite")
    site = installed.home / "mysite"
    built = installed.run("microsite", "build", cwd=site)
    assert "built " in built.stdout and "-> " in built.stdout
    installed.run("microsite", "check", "--strict", cwd=site)
    output = site / "output"
    for page in ("index.html", "articles/welcome/index.html", "crew/alex-rivera/index.html", "mission/index.html",
                 "search/index.html", "404.html"):
        assert (output / page).is_file(), page
    assert any((output / "static").glob("style.*.css")), "the bundled stylesheet is published"
    assert (output / "pagefind").is_dir(), "the search index is built"
    assert broken_links(output) == []
    assert not (ROOT / "mysite").exists() and not (installed.home / "content").exists()


def test_new_article_and_new_crew_work_installed(installed):
    site = installed.home / "grown"
    installed.run("microsite", "new", "site", str(site))
    installed.run("microsite", "new", "article", "Second day", cwd=site)
    installed.run("microsite", "new", "crew", "Sam Lee", cwd=site)
    installed.run("microsite", "build", "--drafts", cwd=site)
    assert (site / "output/articles/second-day/index.html").is_file()
    assert (site / "output/crew/sam-lee/index.html").is_file()


def test_the_shared_link_checker_finds_nothing_broken(installed):
    tool = next((path for path in LINKCHECK if path.is_file()), None)
    if tool is None:
        pytest.skip(f"the shared link checker is not here ({', '.join(str(p) for p in LINKCHECK)})")
    site = installed.home / "checked"
    installed.run("microsite", "new", "site", str(site))
    installed.run("microsite", "build", "--source", str(site))
    done = subprocess.run([sys.executable, str(tool), str(site / "output")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1].endswith("broken=0")
