"""Hotfixes, release side: the pre-merge hotfix commit, `cut --hotfix` tagging it as is, the
default-branch sync, and next-version agreeing with cut after a hotfix."""

from __future__ import annotations

from pathlib import Path

import pytest

from relbot.errors import RelbotError
from relbot.gitlab_standin import GitLabStandIn
from relbot.gitlab_standin.permissions import MAINTAINER
from relbot.project import Project
from relbot.release import NothingToRelease, write_hotfix_commit
from relbot.release_commit import prove_release_commit
from tests.conftest import Repo, git, make_repo, run, yaook_like_files
from tests.gitlab_fixtures import cast, relbot_toml
from tests.test_cut import FRAGMENTS, add_fragments

DATE = "2024-10-01"
PROJECT = "yaook/k8s-hotfix"


def cut(repo: Repo, *args: str) -> tuple[int, str, str]:
    result = run(["cut", "--yes", "--date", DATE, *args], repo.path)
    return result.code, result.out, result.err


def released_repo(tmp_path: Path, relbot: str | None = None) -> Repo:
    """v8.1.0 released on main, release/v8.1 pushed, pre-merge hotfixes."""
    files = yaook_like_files()
    files["relbot.toml"] = (relbot or files["relbot.toml"]) + 'hotfix_mode = "pre-merge"\n'
    repo = make_repo(tmp_path, files)
    add_fragments(repo, {"101.feature.shiny": "A shiny feature.\n"})
    assert cut(repo)[0] == 0
    repo.git("branch", "release/v8.1", "v8.1.0")
    repo.git("push", "-q", "origin", "release/v8.1")
    return repo


def hotfix_mr(repo: Repo, *, merge: str = "--no-ff") -> tuple[str, str]:
    """A hotfix MR whose branch gets the release commit (as `mr check --fix` would write
    it), merged into release/v8.1 and pushed; returns (release commit, merged head)."""
    repo.git("checkout", "-q", "-b", "hotfix/v8.1/urgent", "release/v8.1")
    repo.write(f"{FRAGMENTS}/hotfix/110.fix", "Urgent fix.\n")
    repo.write("roles/fixed.yaml", "fixed: true\n")
    head = repo.commit_all("The fix")
    project = Project(repo.path)
    commit = write_hotfix_commit(project, head, DATE, "release/v8.1")
    repo.git("update-ref", "refs/heads/hotfix/v8.1/urgent", commit, head)
    repo.git("reset", "-q", "--hard", commit)
    repo.git("checkout", "-q", "release/v8.1")
    repo.git("merge", "-q", merge, "-m", "Merge hotfix/v8.1/urgent", "hotfix/v8.1/urgent")
    repo.git("push", "-q", "origin", "release/v8.1")
    return commit, repo.git("rev-parse", "HEAD")


def test_hotfix_commit_is_content_proven(tmp_path: Path) -> None:
    """write_hotfix_commit: patch bump, section from the hotfix fragments, fragments gone;
    prove_release_commit accepts it as a hotfix release of release/v8.1."""
    repo = released_repo(tmp_path)
    commit, _ = hotfix_mr(repo)
    project = Project(repo.path)
    assert project.git is not None
    proven = prove_release_commit(project, project.git, commit)
    assert proven is not None
    assert (proven.spec.version, proven.spec.flow, proven.spec.branch) == (
        "8.1.1", "hotfix", "release/v8.1")
    assert git(repo.path, "show", f"{commit}:version") == "8.1.1"
    assert proven.removed == (f"{FRAGMENTS}/hotfix/110.fix",)
    assert "- Urgent fix." in git(repo.path, "show", f"{commit}:CHANGELOG.rst")


@pytest.mark.parametrize("merge", ["--no-ff", "--ff-only"])
def test_cut_hotfix_tags_the_merged_release_commit(tmp_path: Path, merge: str) -> None:
    """After the merge, cut --hotfix makes no second commit: it tags and pushes; rerun no-op;
    the sync branch for main carries the section and the version (forge none: commands)."""
    repo = released_repo(tmp_path)
    commit, head = hotfix_mr(repo, merge=merge)
    code, out, err = cut(repo, "--hotfix")
    assert code == 0, err
    assert repo.git("rev-parse", "HEAD") == head
    assert git(repo.remote, "rev-parse", "v8.1.1^{commit}") == head
    assert git(repo.remote, "rev-parse", "release/v8.1") == head
    if merge == "--ff-only":
        assert head == commit
    assert "merge hotfix/main/v8.1.1 into main by hand" in out
    synced = git(repo.remote, "rev-parse", "hotfix/main/v8.1.1")
    assert git(repo.remote, "rev-parse", f"{synced}^") == git(repo.remote, "rev-parse", "main")
    assert git(repo.remote, "show", f"{synced}:version") == "8.1.1"
    assert "- Urgent fix." in git(repo.remote, "show", f"{synced}:CHANGELOG.rst")
    again = cut(repo, "--hotfix")
    assert again[0] == 0 and "nothing to do" in again[1]
    assert git(repo.remote, "tag", "--list").split() == ["v8.1.0", "v8.1.1"]


def test_sync_merge_request_with_gitlab(tmp_path: Path, gitlab_standin: GitLabStandIn,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """With GitLab, the sync is an MR to main, opened once; the hotfix Release exists."""
    toml = relbot_toml(f'gitlab_url = "{gitlab_standin.url}"\ngitlab_project = "{PROJECT}"')
    # the release token: a Maintainer of the (private) project, as GitLab needs (docs/ci.md)
    monkeypatch.setenv("RELBOT_RELEASE_TOKEN", cast(gitlab_standin).release_token)
    files = yaook_like_files()
    files["relbot.toml"] = toml + '\nhotfix_mode = "pre-merge"\n'
    repo = make_repo(tmp_path, files)
    gitlab_standin.add_member(gitlab_standin.add_project(PROJECT, repository=repo.remote),
                              cast(gitlab_standin).release_bot, MAINTAINER)
    add_fragments(repo, {"101.feature.shiny": "A shiny feature.\n"})
    assert cut(repo)[0] == 0
    repo.git("branch", "release/v8.1", "v8.1.0")
    repo.git("push", "-q", "origin", "release/v8.1")
    hotfix_mr(repo)
    code, _, err = cut(repo, "--hotfix")
    assert code == 0, err
    project = gitlab_standin.state.project(PROJECT)
    mrs = [(m.source_branch, m.target_branch) for m in gitlab_standin.state.merge_requests.values()
           if m.project_id == project.id]
    assert mrs == [("hotfix/main/v8.1.1", "main")]
    (sync,) = [m for m in gitlab_standin.state.merge_requests.values()
               if m.project_id == project.id]
    assert (sync.title, sync.labels) == ("Sync hotfix v8.1.1 to main", ["Release"])
    assert sync.description == ("relbot released v8.1.1 on release/v8.1; this brings its "
                                "changelog section and version file to main.")
    assert cut(repo, "--hotfix")[0] == 0
    assert len([m for m in gitlab_standin.state.merge_requests.values()
                if m.project_id == project.id]) == 1
    tags = [r.tag_name for r in gitlab_standin.state.list_releases(project)]
    assert sorted(tags) == ["v8.1.0", "v8.1.1"]


def test_next_version_and_cut_agree_after_a_hotfix(tmp_path: Path) -> None:
    """release 0.1.0, hotfix 0.1.1 on release/v0.1, a fix on main: next-version and cut on
    main both give 0.1.2 (next-version printed 0.1.1, whose tag exists)."""
    repo = make_repo(tmp_path, yaook_like_files("0.0.9"))
    add_fragments(repo, {"1.feature": "First.\n"})
    assert cut(repo, "--version", "0.1.0")[0] == 0
    repo.git("checkout", "-q", "-b", "release/v0.1")
    repo.git("push", "-q", "-u", "origin", "release/v0.1")
    repo.write(f"{FRAGMENTS}/hotfix/2.fix", "Hot.\n")
    repo.commit_all("Hotfix fragment")
    repo.push()
    hotfix = run(["cut", "--yes", "--hotfix", "--no-push"], repo.path)
    assert hotfix.code == 0, hotfix.err
    repo.git("push", "-q", "--atomic", "origin", "release/v0.1", "v0.1.1")
    repo.git("checkout", "-q", "main")
    add_fragments(repo, {"3.fix": "On main.\n"})
    shown = run(["next-version"], repo.path)
    assert shown.code == 0 and shown.out.strip() == "0.1.2"
    dry = run(["cut", "--dry-run"], repo.path)
    assert dry.code == 0, dry.err
    assert "release v0.1.2 of k8s from main" in dry.out


@pytest.mark.reliability("Faults")
@pytest.mark.parametrize("point", ["refs/tags/v8.1.1", "push"])
def test_merged_hotfix_killed_then_rerun(tmp_path: Path, point: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL after the tag or the push of a merged pre-merge hotfix: the rerun, in CI's
    detached checkout, ends with one tag on the merge commit and one sync branch."""
    from tests.test_cut import kill_relbot_when, relbot_process
    from tests.test_faults_and_races import kill_relbot_after_push

    repo = released_repo(tmp_path)
    _, head = hotfix_mr(repo)
    repo.git("checkout", "-q", "--detach")
    monkeypatch.setenv("CI_COMMIT_BRANCH", "release/v8.1")
    hook = kill_relbot_after_push(repo) if point == "push" else kill_relbot_when(repo, point)
    assert relbot_process(repo, "--hotfix").returncode == -9
    hook.unlink()
    rerun = relbot_process(repo, "--hotfix")
    assert rerun.returncode == 0, rerun.stderr
    again = relbot_process(repo, "--hotfix")
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert git(repo.remote, "tag", "--list").split() == ["v8.1.0", "v8.1.1"]
    assert git(repo.remote, "rev-parse", "v8.1.1^{commit}") == head
    assert git(repo.remote, "rev-parse", "release/v8.1") == head
    assert git(repo.remote, "for-each-ref", "--format=%(refname)", "refs/heads/hotfix/main/"
               ) == "refs/heads/hotfix/main/v8.1.1"


def test_hotfix_commit_reads_the_fragments_of_the_commit_it_is_given(tmp_path: Path) -> None:
    """The hotfix release commit is made from the MR head's fragments, not from the work
    tree (a merged-results pipeline checks out GitLab's merge commit): a fragment only the
    work tree has is not released, and a head without hotfix fragments is refused so."""
    repo = released_repo(tmp_path)
    repo.git("checkout", "-q", "-b", "hotfix/v8.1/urgent", "release/v8.1")
    empty_head = repo.git("rev-parse", "HEAD")
    repo.write(f"{FRAGMENTS}/hotfix/110.fix", "Urgent fix.\n")
    head = repo.commit_all("The fix")
    repo.write(f"{FRAGMENTS}/hotfix/111.fix", "Only in the work tree.\n")
    project = Project(repo.path)
    commit = write_hotfix_commit(project, head, DATE, "release/v8.1")
    changelog = git(repo.path, "show", f"{commit}:CHANGELOG.rst")
    assert "- Urgent fix." in changelog and "Only in the work tree" not in changelog
    with pytest.raises(NothingToRelease, match=(
            f"there are no hotfix fragments in {FRAGMENTS}/hotfix: nothing to release.")):
        write_hotfix_commit(project, empty_head, DATE, "release/v8.1")


def test_hotfix_commit_refuses_a_version_file_that_is_no_version(tmp_path: Path) -> None:
    """A version file at the MR head that holds no version is refused in one sentence that
    names the file."""
    repo = released_repo(tmp_path)
    repo.git("checkout", "-q", "-b", "hotfix/v8.1/urgent", "release/v8.1")
    repo.write(f"{FRAGMENTS}/hotfix/110.fix", "Urgent fix.\n")
    repo.write("version", "eight point one\n")
    head = repo.commit_all("The fix, and a broken version file")
    with pytest.raises(RelbotError, match="version file version holds"):
        write_hotfix_commit(Project(repo.path), head, DATE, "release/v8.1")


def test_a_refused_sync_branch_says_the_hotfix_itself_is_released(tmp_path: Path) -> None:
    """The remote takes the hotfix's branch and tag but refuses the sync branch to the
    default branch: the release stands, and one sentence says why the sync failed and to
    run cut --hotfix again."""
    repo = released_repo(tmp_path)
    hotfix_mr(repo)
    hook = repo.remote / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\nwhile read old new ref; do case "$ref" in refs/heads/hotfix/*) '
                    "echo 'no hotfix branches here' >&2; exit 1;; esac; done\n")
    hook.chmod(0o755)
    code, _, err = cut(repo, "--hotfix")
    assert code == 1
    assert ("the remote refused the sync branch hotfix/main/v8.1.1 (refused by the remote: "
            "no hotfix branches here); v8.1.1 itself is released; run relbot cut --hotfix "
            "again.") in err
    assert git(repo.remote, "tag", "--list").split() == ["v8.1.0", "v8.1.1"]
