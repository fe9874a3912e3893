"""The pre-merge hotfix flow end to end (issue 13.2): `mr check --fix` on a hotfix MR writes
and pushes the release commit to the MR's branch, the bot comment names the version, and after
the merge `cut --hotfix` tags that very commit; every rerun is a no-op. On a real bare remote
and the GitLab stand-in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from relbot.gitlab_standin import GitLabStandIn, MergeRequest
from relbot.gitlab_standin.permissions import DEVELOPER, MAINTAINER
from relbot.project import Project
from relbot.release_commit import prove_release_commit
from tests.conftest import Repo, git, make_repo, run, yaook_like_files
from tests.gitlab_fixtures import DATE, FRAGMENTS, cast, relbot_toml
from tests.test_cut import add_fragments

PROJECT = "yaook/k8s-premerge"
BRANCH = "hotfix/v8.1/urgent"


@dataclass
class HotfixMr:
    """A hotfix MR (``BRANCH`` into ``release/v8.1``) in the stand-in, branch pushed."""

    repo: Repo
    standin: GitLabStandIn
    mr: MergeRequest
    base: str
    head: str

    def pipeline(self, monkeypatch: pytest.MonkeyPatch, event_type: str = "detached") -> None:
        env = self.standin.ci_environment(self.mr, token=cast(self.standin).bot_token,
                                          event_type=event_type)
        env["CI_MERGE_REQUEST_DIFF_BASE_SHA"] = self.base
        for key, value in env.items():
            monkeypatch.setenv(key, value)

    def remote_head(self) -> str:
        return git(self.repo.remote, "rev-parse", f"refs/heads/{BRANCH}")


def hotfix_mr(tmp_path: Path, standin: GitLabStandIn,
              monkeypatch: pytest.MonkeyPatch) -> HotfixMr:
    """v8.1.0 released on main with release/v8.1; the MR adds a hotfix fragment and a fix."""
    files = yaook_like_files()
    files["relbot.toml"] = relbot_toml(f'gitlab_url = "{standin.url}"\n'
                                       f'gitlab_project = "{PROJECT}"') + \
        '\nhotfix_mode = "pre-merge"\n'
    repo = make_repo(tmp_path, files)
    scenario = cast(standin)
    project = standin.add_project(PROJECT, repository=repo.remote)
    standin.add_member(project, scenario.release_bot, MAINTAINER)
    standin.add_member(project, scenario.bot, DEVELOPER)
    monkeypatch.setenv("RELBOT_RELEASE_TOKEN", scenario.release_token)
    add_fragments(repo, {"101.feature.shiny": "A shiny feature.\n"})
    assert run(["cut", "--yes", "--date", DATE], repo.path).code == 0
    repo.git("branch", "release/v8.1", "v8.1.0")
    repo.git("push", "-q", "origin", "release/v8.1")
    base = repo.git("rev-parse", "release/v8.1")
    repo.git("checkout", "-q", "-b", BRANCH, "release/v8.1")
    mr = standin.add_merge_request(project, author=scenario.maintainer, title="Urgent fix",
                                   source_branch=BRANCH, target_branch="release/v8.1",
                                   base_sha=base)
    repo.write(f"{FRAGMENTS}/hotfix/{mr.iid}.fix", "Urgent fix.\n")
    repo.write("roles/fixed.yaml", "fixed: true\n")
    head = repo.commit_all("The fix")
    repo.git("push", "-q", "origin", BRANCH)
    mr.sha = head
    return HotfixMr(repo, standin, mr, base, head)


def test_premerge_hotfix_from_mr_check_to_tag(tmp_path: Path, gitlab_standin: GitLabStandIn,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """mr check --fix pushes the proven release commit of 8.1.1 onto the hotfix branch and
    the comment names 8.1.1; its rerun pushes nothing; after the merge cut --hotfix tags the
    merge of that commit without a commit of its own; its rerun does nothing."""
    hot = hotfix_mr(tmp_path, gitlab_standin, monkeypatch)
    hot.pipeline(monkeypatch)
    first = run(["mr", "check", "--fix"], hot.repo.path)
    assert first.code == 0, first.out + first.err
    pushed = hot.remote_head()
    assert git(hot.repo.remote, "rev-parse", f"{pushed}^") == hot.head
    project = Project(hot.repo.path)
    assert project.git is not None
    hot.repo.git("fetch", "-q", "origin")
    proven = prove_release_commit(project, project.git, pushed)
    assert proven is not None
    assert (proven.spec.version, proven.spec.flow, proven.spec.branch) == (
        "8.1.1", "hotfix", "release/v8.1")
    assert f"added the release commit of hotfix 8.1.1; pushed to {BRANCH}" in first.out
    threads = [d for d in gitlab_standin.discussions(hot.mr)
               if d.notes[0].author_id == cast(gitlab_standin).bot.id]
    assert len(threads) == 1
    assert "**This hotfix will release** `8.1.1`" in threads[0].notes[0].body

    # the next pipeline runs on the pushed head: --fix finds the proven commit, pushes nothing
    hot.repo.git("reset", "-q", "--hard", pushed)
    again = run(["mr", "check", "--fix"], hot.repo.path)
    assert again.code == 0, again.out + again.err
    assert hot.remote_head() == pushed
    assert f"already holds the release commit of 8.1.1 ({pushed[:12]})" in again.out
    assert "this hotfix will release 8.1.1" in again.out

    hot.repo.git("checkout", "-q", "release/v8.1")
    hot.repo.git("merge", "-q", "--no-ff", "-m", f"Merge {BRANCH}", pushed)
    hot.repo.git("push", "-q", "origin", "release/v8.1")
    merged = hot.repo.git("rev-parse", "HEAD")
    cut = run(["cut", "--hotfix", "--yes", "--date", DATE], hot.repo.path)
    assert cut.code == 0, cut.out + cut.err
    assert git(hot.repo.remote, "rev-parse", "release/v8.1") == merged
    assert git(hot.repo.remote, "rev-parse", "v8.1.1^{commit}") == merged
    assert git(hot.repo.remote, "rev-parse", f"{merged}^2") == pushed
    assert git(hot.repo.remote, "tag", "--list").split() == ["v8.1.0", "v8.1.1"]
    rerun = run(["cut", "--hotfix", "--yes", "--date", DATE], hot.repo.path)
    assert rerun.code == 0 and "nothing to do" in rerun.out
    assert git(hot.repo.remote, "rev-parse", "release/v8.1") == merged


def test_merged_results_pipeline_builds_on_the_source_sha(
        tmp_path: Path, gitlab_standin: GitLabStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a merged-results pipeline the job's HEAD is GitLab's merge commit: the release
    commit is made on CI_MERGE_REQUEST_SOURCE_BRANCH_SHA, never on the merge commit."""
    hot = hotfix_mr(tmp_path, gitlab_standin, monkeypatch)
    hot.repo.git("checkout", "-q", "--detach", "release/v8.1")
    hot.repo.git("merge", "-q", "--no-ff", "-m", "merged result", hot.head)
    merge_commit = hot.repo.git("rev-parse", "HEAD")
    hot.pipeline(monkeypatch, event_type="merged_result")
    result = run(["mr", "check", "--fix", "--no-comment"], hot.repo.path)
    assert result.code == 0, result.out + result.err
    pushed = hot.remote_head()
    assert git(hot.repo.remote, "rev-list", "--parents", "-n", "1", pushed).split()[1:] == [
        hot.head]
    assert merge_commit != hot.head
    assert git(hot.repo.remote, "show", f"{pushed}:version") == "8.1.1"


def test_no_release_commit_for_a_fork(tmp_path: Path, gitlab_standin: GitLabStandIn,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A hotfix MR from a fork gets one sentence, never a push."""
    hot = hotfix_mr(tmp_path, gitlab_standin, monkeypatch)
    hot.pipeline(monkeypatch)
    monkeypatch.setenv("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "99999")
    result = run(["mr", "check", "--fix", "--no-comment"], hot.repo.path)
    assert result.code == 0, result.out + result.err
    assert "--fix does not push to forks: a pre-merge hotfix needs its MR" in result.out
    assert hot.remote_head() == hot.head
