"""A refused `mr check --fix` push says why in its one line: git's verdict on the refused
ref, not porcelain's closing `Done` (which it said before; found by a mutant of relbot/mr.py,
issue 16). Real bare remote whose pre-receive hook refuses."""

from __future__ import annotations

import pytest

from relbot.git import GitRepo
from tests.conftest import Repo, git, run

FRAGMENTS = "docs/_releasenotes"


def _refusing(repo: Repo) -> None:
    hook = repo.remote / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\necho "this branch is frozen" >&2\nexit 1\n')
    hook.chmod(0o755)


@pytest.mark.reliability("Faults")
def test_a_refused_rename_push_names_the_ref_and_gits_verdict(yaook_repo: Repo) -> None:
    """The remote's hook refuses: the notice names the branch and why; the remote keeps the
    MR's head."""
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "feature")
    yaook_repo.write(f"{FRAGMENTS}/x.fix", "Fix.\n")
    yaook_repo.commit_all("Placeholder")
    yaook_repo.push("feature")
    before = git(yaook_repo.remote, "rev-parse", "feature")
    _refusing(yaook_repo)
    result = run(["mr", "check", "--no-comment", "--fix", "--iid", "1500", "--base", base],
                 yaook_repo.path)
    assert ("\n  the renamed fragments could not be pushed to feature: refs/heads/feature: "
            "[remote rejected] (pre-receive hook declined)\n") in result.out, result.out
    assert git(yaook_repo.remote, "rev-parse", "feature") == before


def test_a_refused_push_keeps_the_remotes_words_and_ends_with_the_verdict(
        yaook_repo: Repo) -> None:
    """PushResult.message of a refusal: the hook's words kept, no `To`/`Done` frame."""
    _refusing(yaook_repo)
    yaook_repo.write("more.txt", "more\n")
    yaook_repo.commit_all("More")
    result = GitRepo(yaook_repo.path).push_atomic(["HEAD:refs/heads/main"])
    assert not result.ok and result.rejected == ("refs/heads/main",)
    lines = result.message.splitlines()
    assert lines[-1] == "refs/heads/main: [remote rejected] (pre-receive hook declined)"
    assert any(line.startswith("remote: this branch is frozen") for line in lines), lines
    assert "Done" not in lines and not any(line.startswith("To ") for line in lines), lines
