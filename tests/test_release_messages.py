"""What a maintainer reads from `relbot cut`: the plan's first line for each kind of release,
and, when the remote refuses the push, why, what was undone and what to do next."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo, git, run
from tests.test_cut import add_fragments

faults = pytest.mark.reliability("Faults")


@pytest.fixture
def repo(yaook_repo: Repo) -> Repo:
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    return yaook_repo


def _hook(repo: Repo, script: str) -> None:
    hook = repo.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\n" + script)
    hook.chmod(0o755)


def test_the_plan_names_the_kind_of_release(repo: Repo) -> None:
    result = run(["cut", "--dry-run", "--date", "2024-10-01"], repo.path)
    assert result.code == 0, result.err
    assert "release v8.1.0 of k8s from main:\n  1. [todo] " in result.out
    result = run(["cut", "--dry-run", "--pre", "rc", "--date", "2024-10-01"], repo.path)
    assert result.code == 0, result.err
    assert "pre-release v8.1.0-rc.1 of k8s from main:\n" in result.out


def test_a_prepared_release_is_named_so(repo: Repo) -> None:
    repo.write("relbot.toml", (repo.path / "relbot.toml").read_text()
               + 'release_flow = "prepare"\n')
    repo.commit_all("prepare flow")
    repo.push()
    result = run(["cut", "--prepare", "--dry-run", "--date", "2024-10-01"], repo.path)
    assert result.code == 0, result.err
    assert "prepared release v8.1.0 of k8s from " in result.out


@faults
def test_a_hook_refusal_is_quoted_and_everything_is_undone(repo: Repo) -> None:
    before = repo.git("rev-parse", "HEAD")
    _hook(repo, "echo 'releases need a signed tag' >&2\nexit 1\n")
    result = run(["cut", "--yes", "--date", "2024-10-01"], repo.path)
    assert result.code == 1
    assert ("the remote refused the push (refused by the remote: releases need a signed "
            "tag); nothing was released and your branch is back where it was; fix what the "
            "remote objects to and run relbot cut again") in result.err
    assert repo.git("rev-parse", "HEAD") == before
    assert repo.git("tag", "--list") == ""
    assert repo.git("branch", "--list", "release/*") == ""
    assert git(repo.remote, "tag", "--list") == ""
    assert (repo.path / "docs/_releasenotes/101.feature.shiny").exists()


@faults
def test_a_tag_released_meanwhile_says_someone_released_first(repo: Repo) -> None:
    """The tag appears on the remote while the push runs (a hook makes it, as a parallel
    release would): the sentence says so and tells to pull."""
    # outside the push's quarantine, where git lets a hook change refs
    _hook(repo, "env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY "
          "-u GIT_ALTERNATE_OBJECT_DIRECTORIES git tag v8.1.0 HEAD\n"
          "echo 'remote busy' >&2\nexit 1\n")
    result = run(["cut", "--yes", "--date", "2024-10-01"], repo.path)
    assert result.code == 1
    assert ("the remote refused the push (the remote already has tag v8.1.0: someone "
            "released first); nothing was released and your branch is back where it was; "
            "pull (git pull --rebase) and run relbot cut again") in result.err


@faults
def test_a_refusal_without_a_hook_message_gives_gits_last_line(repo: Repo, tmp_path: Path) -> None:
    _hook(repo, "exit 1\n")
    result = run(["cut", "--yes", "--date", "2024-10-01"], repo.path)
    assert result.code == 1
    assert "the remote refused the push (" in result.err
    assert "refused by the remote:" not in result.err
    assert "pre-receive hook declined" in result.err
