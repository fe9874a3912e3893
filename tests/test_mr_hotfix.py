"""`mr check` on a pre-merge hotfix MR: the version it previews before and after `--fix`,
what `--fix` says when it renames and adds the release commit in one push, the sentences
for a fork, a refused push, and the release commit found from its trailers in one `git
rev-list`, however long the MR (issue 16: mutants of relbot/mr.py). Real bare remote and the
GitLab stand-in; relbot runs in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from relbot.gitlab_standin import GitLabStandIn
from tests.conftest import git, run
from tests.gitlab_fixtures import FRAGMENTS
from tests.test_git_processes import git_logger
from tests.test_premerge_hotfix import BRANCH, HotfixMr, hotfix_mr


@pytest.fixture
def hot(tmp_path: Path, gitlab_standin: GitLabStandIn,
        monkeypatch: pytest.MonkeyPatch) -> HotfixMr:
    """A hotfix MR into release/v8.1 (v8.1.0 released), its pipeline's variables set."""
    mr = hotfix_mr(tmp_path, gitlab_standin, monkeypatch)
    mr.pipeline(monkeypatch)
    return mr


def _placeholder(hot: HotfixMr) -> None:
    hot.repo.write(f"{FRAGMENTS}/hotfix/x.fix.more", "One more fix.\n")
    hot.head = hot.repo.commit_all("A placeholder fragment too")
    hot.repo.git("push", "-q", "origin", BRANCH)


def _refuse_pushes(hot: HotfixMr) -> None:
    hook = hot.repo.remote / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\necho "frozen" >&2\nexit 1\n')
    hook.chmod(0o755)


def test_the_check_previews_the_hotfix_version_before_fix(hot: HotfixMr) -> None:
    """Without a release commit yet, the version is the patch bump of the version file at
    the MR's head: what `--fix` will write."""
    result = run(["mr", "check", "--no-comment"], hot.repo.path)
    assert result.code == 0, result.out + result.err
    assert "    this hotfix will release 8.1.1\n" in result.out, result.out
    assert hot.remote_head() == hot.head


def test_fix_renames_and_adds_the_release_commit_in_one_push(hot: HotfixMr) -> None:
    """A hotfix MR with a placeholder: one push carries both, and one line says both."""
    _placeholder(hot)
    result = run(["mr", "check", "--no-comment", "--fix"], hot.repo.path)
    assert result.code == 0, result.out + result.err
    iid = hot.mr.iid
    assert (f"  renamed 1 fragment(s); k8s: added the release commit of hotfix 8.1.1; "
            f"pushed to {BRANCH}\n") in result.out, result.out
    pushed = hot.remote_head()
    assert git(hot.repo.remote, "rev-parse", f"{pushed}^^") == hot.head
    assert f"{FRAGMENTS}/hotfix/{iid}.fix.1.more" not in git(
        hot.repo.remote, "ls-tree", "-r", "--name-only", pushed)  # released: fragments gone
    assert git(hot.repo.remote, "show", f"{pushed}:version") == "8.1.1"


def test_a_fork_hotfix_mr_gets_the_whole_sentence(hot: HotfixMr,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork: the hotfix-only sentence in full; with a placeholder too, the rename one."""
    monkeypatch.setenv("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "99999")
    result = run(["mr", "check", "--no-comment", "--fix"], hot.repo.path)
    assert ("  --fix does not push to forks: a pre-merge hotfix needs its MR from a branch of "
            "the project itself, where relbot can add the release commit.\n") in result.out, \
        result.out
    _placeholder(hot)
    result = run(["mr", "check", "--no-comment", "--fix"], hot.repo.path)
    assert (f"  --fix does not push to forks: rename the fragments to {hot.mr.iid}.* in your "
            "branch.\n") in result.out, result.out
    assert hot.remote_head() == hot.head


@pytest.mark.reliability("Faults")
def test_a_refused_hotfix_push_lists_the_fixes_it_could_not_push(hot: HotfixMr) -> None:
    """The remote refuses: the line names every fix that stayed local, and the branch."""
    _placeholder(hot)
    _refuse_pushes(hot)
    result = run(["mr", "check", "--no-comment", "--fix"], hot.repo.path)
    assert (f"  the fixes (renamed 1 fragment(s); k8s: added the release commit of hotfix "
            f"8.1.1) could not be pushed to {BRANCH}: ") in result.out, result.out
    assert hot.remote_head() == hot.head


def test_the_release_commit_is_found_with_a_constant_number_of_git_processes(
        hot: HotfixMr, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only commits with relbot's trailer are looked at: an MR of 30 commits costs the
    check as many git processes as one of 3."""
    counts = {}
    for total, start in ((3, 0), (30, 3)):
        for n in range(start, total):
            hot.repo.write(f"roles/step-{n}.yaml", f"step: {n}\n")
            hot.repo.commit_all(f"Step {n}")
        env, log = git_logger(tmp_path / f"log-{total}")
        monkeypatch.setenv("PATH", env["PATH"])
        result = run(["mr", "check", "--no-comment"], hot.repo.path)
        assert result.code == 0, result.out + result.err
        assert "this hotfix will release 8.1.1" in result.out
        counts[total] = log.read_text().splitlines()
    assert len(counts[30]) == len(counts[3]), (counts[3], counts[30])


def test_a_merged_results_hotfix_previews_what_fix_writes_on_the_mrs_head(
        hot: HotfixMr, monkeypatch: pytest.MonkeyPatch) -> None:
    """The release branch moved on to 8.1.1 meanwhile; the job's merge commit holds that,
    the MR's head still 8.1.0: the preview is what --fix will write on the MR's head."""
    hot.repo.git("checkout", "-q", "release/v8.1")
    hot.repo.write("version", "8.1.1\n")
    hot.repo.commit_all("Another hotfix, released meanwhile")
    hot.repo.git("push", "-q", "origin", "release/v8.1")
    hot.repo.git("checkout", "-q", "--detach", "release/v8.1")
    hot.repo.git("merge", "-q", "--no-ff", "-m", "merged result", hot.head)
    hot.pipeline(monkeypatch, event_type="merged_result")
    result = run(["mr", "check", "--no-comment"], hot.repo.path)
    assert "    this hotfix will release 8.1.1\n" in result.out, result.out + result.err


def test_an_mr_to_the_default_branch_is_no_hotfix_even_in_pre_merge_mode(
        hot: HotfixMr, monkeypatch: pytest.MonkeyPatch) -> None:
    """`hotfix_mode = "pre-merge"` concerns hotfix MRs only: an MR into main previews no
    hotfix and --fix adds no release commit."""
    monkeypatch.setenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
    result = run(["mr", "check", "--no-comment", "--fix"], hot.repo.path)
    assert "hotfix will release" not in result.out, result.out
    assert "release commit" not in result.out, result.out
    assert hot.remote_head() == hot.head
