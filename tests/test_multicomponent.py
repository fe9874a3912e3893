"""A monorepo with three components: MR check across components, `cut --all`, crash and rerun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, git, make_repo, run
from tests.test_cut import kill_relbot_when

TOWNCRIER = """[tool.towncrier]
directory = "{directory}"
filename = "{changelog}"
title_format = "## {{version}} ({{project_date}})"
issue_format = "!{{issue}}"
[[tool.towncrier.type]]
directory = "feature"
name = "Features"
showcontent = true
[[tool.towncrier.type]]
directory = "fix"
name = "Fixes"
showcontent = true
"""

RELBOT = """forge = "none"
{components}
"""

COMPONENT = """[[component]]
name = "{name}"
towncrier_config = "{prefix}towncrier.toml"
version_file = "{prefix}version"
tag_format = "{tag}v{{version}}"
bump = {{ feature = "minor" }}
"""

LAYOUT = (("k8s", "", ""), ("operator", "operator/", "operator/"),
          ("baremetal", "baremetal/", "baremetal/"))


def monorepo_files() -> dict[str, str]:
    files = {"relbot.toml": RELBOT.format(components="\n".join(
        COMPONENT.format(name=name, prefix=prefix, tag=tag) for name, prefix, tag in LAYOUT))}
    for _, prefix, _ in LAYOUT:
        files[f"{prefix}towncrier.toml"] = TOWNCRIER.format(directory="changes",
                                                            changelog="CHANGELOG.md")
        files[f"{prefix}version"] = "1.0.0\n"
        files[f"{prefix}changes/.gitignore"] = "!.gitignore\n"
    return files


@pytest.fixture
def monorepo(tmp_path: Path) -> Repo:
    """Three components, each with its own fragments, version file and tag format."""
    return make_repo(tmp_path, monorepo_files())


def test_mr_check_covers_every_component(monorepo: Repo) -> None:
    """One MR check reports each component; a component the MR does not touch needs nothing."""
    base = monorepo.git("rev-parse", "HEAD")
    monorepo.git("checkout", "-q", "-b", "mr")
    monorepo.write("changes/5.feature", "k8s feature.\n")
    monorepo.write("operator/changes/5.fix", "operator fix.\n")
    monorepo.commit_all("MR 5")
    result = run(["mr", "check", "--iid", "5", "--base", base, "--no-comment"], monorepo.path)
    assert "  k8s:" in result.out and "  operator:" in result.out
    assert "  baremetal:" in result.out
    assert "if merged now: 1.0.0 -> 1.1.0" in result.out
    assert "if merged now: 1.0.0 -> 1.0.1" in result.out
    # baremetal has no fragment in this MR: its own check says so
    assert result.code == 1 and "this MR adds no news fragment" in result.out
    only = run(["mr", "check", "--iid", "5", "--base", base, "--no-comment", "--component",
                "operator"], monorepo.path)
    assert only.code == 0, only.out


def add_all_fragments(repo: Repo) -> None:
    repo.write("changes/1.feature", "k8s feature.\n")
    repo.write("operator/changes/2.fix", "operator fix.\n")
    repo.write("baremetal/changes/3.feature", "baremetal feature.\n")
    repo.commit_all("Fragments for everyone")
    repo.push()


def test_cut_all_releases_each_component(monorepo: Repo) -> None:
    """cut --all makes one release commit and tag per component with fragments, and pushes."""
    add_all_fragments(monorepo)
    monorepo.git("rm", "-q", "baremetal/changes/3.feature")
    monorepo.commit_all("Nothing for baremetal after all")
    monorepo.push()
    result = run(["cut", "--all", "--yes", "--json", "--date", "2024-10-01"], monorepo.path)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert [c.get("tag") or c["skipped"][:12] for c in data["components"]] == [
        "v1.1.0", "operator/v1.0.1", "there are no"]
    assert git(monorepo.remote, "tag", "--list").split() == ["operator/v1.0.1", "v1.1.0"]
    assert (monorepo.path / "operator" / "version").read_text() == "1.0.1\n"
    assert "## 1.0.1 (2024-10-01)" in (monorepo.path / "operator" / "CHANGELOG.md").read_text()
    assert (monorepo.path / "baremetal" / "version").read_text() == "1.0.0\n"


@pytest.mark.reliability("Faults")
@pytest.mark.parametrize("ref", ["refs/tags/operator/v1.0.1", "refs/heads/main"],
                         ids=["after-operator-tag", "after-first-commit"])
def test_crash_between_components_is_finished_by_rerun(monorepo: Repo, ref: str) -> None:
    """Killed in the middle of cut --all: the rerun finishes, one commit and tag per component."""
    add_all_fragments(monorepo)
    hook = kill_relbot_when(monorepo, ref)
    base = monorepo.git("rev-parse", "HEAD")
    command = [sys.executable, "-m", "relbot", "cut", "--all", "--yes"]
    killed = subprocess.run(command, cwd=monorepo.path, capture_output=True, text=True,
                            check=False, env=dict(os.environ))
    assert killed.returncode == -9
    hook.unlink()
    rerun = subprocess.run(command, cwd=monorepo.path, capture_output=True, text=True,
                           check=False, env=dict(os.environ))
    assert rerun.returncode == 0, rerun.stderr
    assert monorepo.git("rev-list", "--count", f"{base}..HEAD") == "3"
    assert sorted(git(monorepo.remote, "tag", "--list").split()) == [
        "baremetal/v1.1.0", "operator/v1.0.1", "v1.1.0"]
    assert git(monorepo.remote, "rev-parse", "main") == monorepo.git("rev-parse", "HEAD")
    again = run(["cut", "--all", "--yes"], monorepo.path)
    assert again.code == 0
    assert monorepo.git("rev-list", "--count", f"{base}..HEAD") == "3"


def test_all_and_component_exclude_each_other(monorepo: Repo) -> None:
    """--all with --component or --version is a usage error."""
    result = run(["cut", "--all", "--component", "k8s", "--yes"], monorepo.path)
    assert result.code == 2 and "does not go with --component" in result.err


def test_cut_all_goes_past_a_component_with_nothing_to_release(monorepo: Repo) -> None:
    """A component without fragments early in the list is skipped, not the end of the run:
    the later ones are released, each step reported under its component's name."""
    monorepo.write("operator/changes/2.fix", "operator fix.\n")
    monorepo.write("baremetal/changes/3.feature", "baremetal feature.\n")
    monorepo.commit_all("Fragments, none for k8s")
    monorepo.push()
    result = run(["cut", "--all", "--yes", "--date", "2024-10-01"], monorepo.path)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert any(line.startswith("k8s: skipped: ") for line in lines)
    assert "operator: done: annotated tag holding the notes (operator/v1.0.1)" in lines
    assert "baremetal: released baremetal/v1.1.0" in lines
    assert sorted(git(monorepo.remote, "tag", "--list").split()) == [
        "baremetal/v1.1.0", "operator/v1.0.1"]


def test_cut_all_rerun_reports_every_component(monorepo: Repo) -> None:
    """After cut --all released k8s alone, the rerun says k8s is released completely and
    still reports the two components after it."""
    monorepo.write("changes/1.feature", "k8s feature.\n")
    monorepo.commit_all("A k8s fragment")
    monorepo.push()
    assert run(["cut", "--all", "--yes", "--date", "2024-10-01"], monorepo.path).code == 0
    result = run(["cut", "--all", "--yes", "--json", "--date", "2024-10-01"], monorepo.path)
    assert result.code == 0, result.err
    data = json.loads(result.out)["components"]
    assert [c["component"] for c in data] == ["k8s", "operator", "baremetal"]
    assert data[0]["skipped"] == "v1.1.0 is already released completely"


def test_cut_all_dry_run_shows_each_plan(monorepo: Repo) -> None:
    """cut --all --dry-run --json holds the plan of every component that has fragments."""
    add_all_fragments(monorepo)
    result = run(["cut", "--all", "--dry-run", "--json", "--date", "2024-10-01"], monorepo.path)
    assert result.code == 0, result.err
    data = json.loads(result.out)["components"]
    assert [c["tag"] for c in data] == ["v1.1.0", "operator/v1.0.1", "baremetal/v1.1.0"]
    assert all(c["dry_run"] is True for c in data)
    assert git(monorepo.remote, "tag", "--list") == ""
