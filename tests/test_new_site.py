"""`microsite new site DIR`: a folder that builds, passes `check --strict` and publishes with GitHub
Pages as it is, and that never replaces anything already there."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import broken_links, parse, run_build, text

OFFICIAL_ACTIONS = ["actions/checkout", "actions/setup-python", "actions/configure-pages", "actions/upload-pages-artifact",
                    "actions/deploy-pages"]


def new_site(capsys, folder: Path, expect: int = 0):
    return run_build(capsys, ["new", "site", str(folder)], expect)


def test_a_new_site_builds_and_passes_the_strict_check_unedited(tmp_path, capsys):
    folder = tmp_path / "field-notes"
    result = new_site(capsys, folder)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == [".github/workflows/pages.yml", ".gitignore", "content/articles/welcome.md", "content/mission.yaml",
                     "content/site.yaml"]
    assert all(name in result.out for name in files)
    run_build(capsys, ["check", "--strict", "--source", str(folder)])
    run_build(capsys, ["--source", str(folder)])
    output = folder / "output"
    assert broken_links(output) == []
    home = parse(output / "index.html")
    assert text(home.find("title")).startswith("Field Notes")
    page = parse(output / "articles/welcome/index.html")
    prose = page.select_one(".prose")
    assert [a["href"] for a in prose.select("a.mention")] == ["/crew/alex-rivera/"]
    assert "/articles/welcome/#publishing" in [a["href"] for a in prose.select("a")]
    assert (output / "crew/alex-rivera/index.html").is_file()
    assert [text(h) for h in parse(output / "mission/index.html").select("li.event .event-title")] == ["Kick-off"]


def test_the_mission_skeleton_is_commented_with_one_person_and_one_event(tmp_path, capsys):
    new_site(capsys, tmp_path / "site")
    raw = (tmp_path / "site/content/mission.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(raw)
    assert len(data["crew"]) == 1 and len(data["mission"]["events"]) == 1
    commented = [line for line in raw.splitlines() if "#" in line]
    assert len(commented) >= 10 and any("required" in line for line in commented)
    assert "Challenge" not in raw and "Soyuz" not in raw


def test_git_ignores_what_a_build_makes(tmp_path, capsys):
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    folder = tmp_path / "site"
    new_site(capsys, folder)
    run_build(capsys, ["--source", str(folder)])
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run([git, "init", "-q"], cwd=folder, env=env, check=True)
    status = subprocess.run([git, "status", "--porcelain", "--untracked-files=all"], cwd=folder, env=env, check=True,
                            capture_output=True, text=True).stdout
    assert sorted(line[3:] for line in status.splitlines()) == [
        ".github/workflows/pages.yml", ".gitignore", "content/articles/welcome.md", "content/mission.yaml", "content/site.yaml"]


def _workflow(folder: Path) -> dict:
    return yaml.load((folder / ".github/workflows/pages.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


def test_the_workflow_publishes_with_the_official_pages_actions(tmp_path, capsys):
    new_site(capsys, tmp_path / "site")
    flow = _workflow(tmp_path / "site")
    assert flow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    steps = [step for job in flow["jobs"].values() for step in job["steps"]]
    used = [step["uses"].split("@")[0] for step in steps if "uses" in step]
    assert used == OFFICIAL_ACTIONS
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "output"
    assert flow["jobs"]["deploy"]["needs"] == "build"
    assert flow["jobs"]["deploy"]["environment"]["name"] == "github-pages"
    assert any(step.get("run", "").startswith("pip install ") for step in steps)


def test_the_workflow_commands_build_for_a_project_page_subpath(tmp_path, capsys):
    """Run the workflow's own commands after installation, with the URL configure-pages gives a
    project page, and check what GitHub Pages would serve."""
    folder = tmp_path / "site"
    new_site(capsys, folder)
    steps = [step for job in _workflow(folder)["jobs"].values() for step in job["steps"]]
    commands = [step["run"] for step in steps if "run" in step and not step["run"].startswith("pip ")]
    assert [shlex.split(c)[:2] for c in commands] == [["microsite", "check"], ["microsite", "build"]]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in commands:
        command = command.replace("${{ steps.pages.outputs.base_url }}", "https://octo.github.io/site")
        done = subprocess.run(["bash", "-ec", command], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    assert broken_links(folder / "output", "/site/") == []
    canonical = parse(folder / "output/articles/welcome/index.html").find("link", rel="canonical")["href"]
    assert canonical == "https://octo.github.io/site/articles/welcome/"


def test_an_empty_folder_or_one_holding_only_git_is_used(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    new_site(capsys, tmp_path / "empty")
    (tmp_path / "repo/.git").mkdir(parents=True)
    (tmp_path / "repo/.git/HEAD").write_text("ref: refs/heads/main\n")
    new_site(capsys, tmp_path / "repo")
    assert (tmp_path / "repo/content/site.yaml").is_file() and (tmp_path / "repo/.git/HEAD").is_file()


@pytest.mark.parametrize("present", ["notes.txt", ".env", "content/site.yaml"])
def test_a_folder_that_holds_anything_is_refused_and_left_alone(tmp_path, capsys, present):
    folder = tmp_path / "site"
    (folder / present).parent.mkdir(parents=True, exist_ok=True)
    (folder / present).write_text("mine\n")
    before = sorted(folder.rglob("*"))
    result = new_site(capsys, folder, expect=2)
    first = present.split("/")[0]
    assert result.err == (f"microsite: error: {folder} is not empty (it holds {first}); "
                          f"choose a new or empty folder for the site\n")
    assert sorted(folder.rglob("*")) == before and (folder / present).read_text() == "mine\n"


def test_a_file_in_place_of_the_folder_is_refused(tmp_path, capsys):
    (tmp_path / "site").write_text("mine\n")
    result = new_site(capsys, tmp_path / "site", expect=2)
    assert "is a file; choose a new or empty folder" in result.err
    assert (tmp_path / "site").read_text() == "mine\n"
