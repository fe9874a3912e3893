"""`mr check --fix`: which fragments it renames and to what, the commit it makes, where it
pushes with which token, and the sentence it says when it cannot (issue 16: mutants of
relbot/mr.py). Real repositories with a bare remote; relbot runs in-process.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from relbot.config import load_config
from relbot.git import GitRepo
from relbot.mr import MergeRequest, check_mr, fix_fragments
from relbot.project import Project
from tests.conftest import Repo, git, make_repo, run, yaook_like_files
from tests.test_release_push_auth import Recorder, gitlab_host, url

__all__ = ["gitlab_host"]  # the fixture, used by name

FRAGMENTS = "docs/_releasenotes"
TOKEN = "glpat-mr-fix-push-5678"


@pytest.fixture
def feature(yaook_repo: Repo) -> tuple[Repo, str]:
    """Branch `feature` off main, pushed; returns the repository and the MR's base."""
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "feature")
    yaook_repo.write("roles/thing.yaml", "thing: 1\n")
    return yaook_repo, base


def _fix(repo: Repo, base: str, iid: int = 1500) -> tuple[int, str]:
    result = run(["mr", "check", "--no-comment", "--fix", "--iid", str(iid), "--base", base],
                 repo.path)
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    return result.code, result.out + result.err


def _names(repo: Repo) -> list[str]:
    return sorted(p.name for p in (repo.path / FRAGMENTS).iterdir() if p.is_file())



def _merged_result_of_mine(repo: Repo, monkeypatch: pytest.MonkeyPatch, base: str,
                           source: str) -> None:
    """A merged-results pipeline of MR !21 from ``mine`` into main: checked out detached."""
    repo.git("checkout", "-q", "--detach", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "merge result", source)
    for key, value in {"CI_MERGE_REQUEST_IID": "21", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
                       "CI_MERGE_REQUEST_EVENT_TYPE": "merged_result",
                       "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": source,
                       "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "mine",
                       "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}.items():
        monkeypatch.setenv(key, value)

def test_the_rename_commit_says_what_it_did_and_who_did_it(feature: tuple[Repo, str]) -> None:
    """Subject and body of the commit --fix pushes."""
    repo, base = feature
    repo.write(f"{FRAGMENTS}/x.fix", "Fix.\n")
    repo.commit_all("Placeholder")
    repo.push("feature")
    code, out = _fix(repo, base)
    assert code == 0, out
    assert git(repo.remote, "log", "-1", "--format=%B", "feature") == (
        "Give the news fragments of !1500 their MR number\n\n"
        "Renamed by relbot mr check --fix.")


@pytest.mark.parametrize(("added", "expected"), [
    (["x.fix"], ["1500.fix"]),
    (["x.feature.2.md"], ["1500.feature.2.md"]),
    (["x.fix.3"], ["1500.fix.3"]),
    (["1500.fix", "x.fix"], ["1500.fix", "1500.fix.1"]),
    (["1500.fix.md", "draft.fix.md"], ["1500.fix.1.md", "1500.fix.md"]),
], ids=["type-last", "counter-and-suffix", "counter", "taken-by-the-mr", "taken-with-suffix"])
def test_fix_gives_each_placeholder_the_mr_number_and_a_free_counter(
        feature: tuple[Repo, str], added: list[str], expected: list[str]) -> None:
    """The type may be the last part; a counter and what follows it are kept; a counter the
    MR's own numbered fragment already holds is not given twice."""
    repo, base = feature
    for name in added:
        repo.write(f"{FRAGMENTS}/{name}", f"Text of {name}.\n")
    repo.commit_all("Fragments")
    repo.push("feature")
    code, out = _fix(repo, base)
    assert code == 0, out
    assert _names(repo) == sorted([".gitignore", *expected])
    assert git(repo.remote, "ls-tree", "--name-only", "feature", f"{FRAGMENTS}/").split() == [
        f"{FRAGMENTS}/{name}" for name in sorted([".gitignore", *expected, "hotfix"])]


def test_fix_fragments_returns_the_commit_it_pushed(feature: tuple[Repo, str]) -> None:
    """`FixResult.head` is the id of the new commit (what the check then reports on)."""
    repo, base = feature
    repo.write(f"{FRAGMENTS}/x.fix", "Fix.\n")
    repo.commit_all("Placeholder")
    repo.push("feature")
    config = load_config(repo.path)
    project = Project(repo.path, "k8s", config)
    mr = MergeRequest(1500, base, source_branch="feature")
    fixed = fix_fragments([project], mr, GitRepo(repo.path))
    pushed = git(repo.remote, "rev-parse", "feature")
    assert fixed.head == pushed == repo.git("rev-parse", "HEAD")
    assert fixed.renamed == ((f"{FRAGMENTS}/x.fix", f"{FRAGMENTS}/1500.fix"),)
    report = check_mr(config, [project], mr, GitRepo(repo.path), fixed=fixed)
    assert report.renamed == fixed.renamed and report.head == pushed
    assert report.ok, report.describe()


def test_fix_without_a_source_branch_says_which_variable_it_needs(
        feature: tuple[Repo, str]) -> None:
    """A detached checkout outside CI: no branch to push to, one sentence, no commit."""
    repo, base = feature
    repo.write(f"{FRAGMENTS}/x.fix", "Fix.\n")
    head = repo.commit_all("Placeholder")
    repo.git("checkout", "-q", "--detach")
    _code, out = _fix(repo, base)
    assert ("  --fix needs the MR's source branch (CI_MERGE_REQUEST_SOURCE_BRANCH_NAME).\n"
            in out), out
    assert repo.git("rev-parse", "HEAD") == head


def test_fix_in_merged_results_renames_only_the_mrs_own_placeholders(
        yaook_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The target branch gained another MR's placeholder fragment meanwhile: the job's
    merge commit holds it, the MR does not; --fix renames only the MR's own."""
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "mine")
    yaook_repo.write(f"{FRAGMENTS}/x.feature.mine", "Mine.\n")
    source = yaook_repo.commit_all("Mine")
    yaook_repo.push("mine")
    yaook_repo.git("checkout", "-q", "main")
    yaook_repo.write(f"{FRAGMENTS}/x.fix.theirs", "Theirs, merged without --fix.\n")
    yaook_repo.commit_all("Another MR")
    _merged_result_of_mine(yaook_repo, monkeypatch, base, source)
    result = run(["mr", "check", "--no-comment", "--fix"], yaook_repo.path)
    assert "Traceback" not in result.err, result.err
    assert "renamed 1 fragment(s) and pushed them to mine" in result.out, result.out + result.err
    assert git(yaook_repo.remote, "ls-tree", "--name-only", "mine", f"{FRAGMENTS}/").split() == [
        f"{FRAGMENTS}/.gitignore", f"{FRAGMENTS}/21.feature.mine", f"{FRAGMENTS}/hotfix"]


@pytest.mark.reliability("Secrets")
def test_fix_pushes_to_the_source_project_with_the_mr_token(
        feature: tuple[Repo, str], gitlab_host: Recorder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On the GitLab the job runs on, --fix pushes to CI_MERGE_REQUEST_SOURCE_PROJECT_URL
    with the MR token as git's HTTP header (the host here refuses, which is all we need)."""
    repo, base = feature
    repo.write(f"{FRAGMENTS}/x.fix", "Fix.\n")
    repo.commit_all("Placeholder")
    repo.push("feature")
    host = url(gitlab_host)
    for key, value in {"CI_SERVER_URL": host,
                       "CI_MERGE_REQUEST_SOURCE_PROJECT_URL": f"{host}/group/app",
                       "CI_MERGE_REQUEST_PROJECT_ID": "10",
                       "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "10",
                       "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature",
                       "RELBOT_MR_TOKEN": TOKEN}.items():
        monkeypatch.setenv(key, value)
    before = git(repo.remote, "rev-parse", "feature")
    result = run(["mr", "check", "--no-comment", "--fix", "--iid", "1500", "--base", base],
                 repo.path)
    assert TOKEN not in result.out + result.err
    assert gitlab_host.seen, result.out + result.err
    assert {path.split("?")[0] for path, _ in gitlab_host.seen} == {"/group/app.git/info/refs"}
    assert {header for _, header in gitlab_host.seen} == {
        "Basic " + base64.b64encode(f"oauth2:{TOKEN}".encode()).decode()}
    assert git(repo.remote, "rev-parse", "feature") == before  # origin was not the target


@pytest.mark.reliability("Secrets")
def test_the_token_refusal_is_one_whole_sentence() -> None:
    """A source project on another host than CI_SERVER_URL: the exact sentence."""
    from relbot.errors import UsageError
    from relbot.forge.credentials import Token
    from relbot.mr import push_target

    mr = MergeRequest(5, "base", source_project_url="https://elsewhere.example/group/app")
    with pytest.raises(UsageError) as refused:
        push_target(mr, Token(TOKEN, "RELBOT_MR_TOKEN", "mr"), "https://gitlab.example")
    assert str(refused.value) == (
        "--fix sends the token only to the GitLab this job runs on, and "
        "CI_MERGE_REQUEST_SOURCE_PROJECT_URL lies elsewhere; nothing was pushed.")


@pytest.mark.reliability("Faults")
def test_a_refused_rename_push_names_the_renamed_fragments(feature: tuple[Repo, str]) -> None:
    """Not a hotfix MR: the line speaks of the renamed fragments and the branch; the remote
    keeps the MR's head."""
    repo, base = feature
    repo.write(f"{FRAGMENTS}/x.fix", "Fix.\n")
    repo.commit_all("Placeholder")
    repo.push("feature")
    before = git(repo.remote, "rev-parse", "feature")
    hook = repo.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    _code, out = _fix(repo, base)
    assert "\n  the renamed fragments could not be pushed to feature: " in out, out
    assert git(repo.remote, "rev-parse", "feature") == before


def test_mr_from_environment_reads_gitlab_ci_variables() -> None:
    """`MergeRequest.from_environment` is `from_ci` of a mapping of GitLab CI's variables;
    --iid and --base override theirs."""
    env = {"CI_MERGE_REQUEST_IID": "77", "CI_MERGE_REQUEST_DIFF_BASE_SHA": "abc123",
           "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "topic",
           "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}
    mr = MergeRequest.from_environment(env)
    assert (mr.iid, mr.base, mr.source_branch, mr.target_branch, mr.head) == (
        77, "abc123", "topic", "main", "HEAD")
    mr = MergeRequest.from_environment(env, iid=78, base="def456")
    assert (mr.iid, mr.base) == (78, "def456")


def test_fix_pushes_nothing_it_cannot_read(feature: tuple[Repo, str]) -> None:
    """Nothing to rename leaves the branch alone and makes no commit."""
    repo, base = feature
    repo.write(f"{FRAGMENTS}/1500.fix", "Fix.\n")
    head = repo.commit_all("Numbered already")
    repo.push("feature")
    code, out = _fix(repo, base)
    assert code == 0, out
    assert repo.git("rev-parse", "HEAD") == head == git(repo.remote, "rev-parse", "feature")


@pytest.mark.reliability("Hostile fragments")
def test_a_placeholder_named_like_an_option_is_renamed_not_obeyed(tmp_path: Path) -> None:
    """Fragments at the repository root (towncrier `directory = "."`): the MR's `-f.fix` is
    a path to `git mv`, never an option (`-f` would force an overwrite)."""
    files = yaook_like_files()
    files["towncrier.toml"] = files["towncrier.toml"].replace(
        'directory = "docs/_releasenotes/"', 'directory = "."')
    files["relbot.toml"] = files["relbot.toml"].replace(
        'hotfix_directory = "docs/_releasenotes/hotfix"\n', "")
    repo = make_repo(tmp_path, files)
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("-f.fix", "Fix.\n")
    repo.commit_all("A placeholder named like an option")
    repo.push("feature")
    _code, out = _fix(repo, base, iid=9)
    assert "renamed 1 fragment(s) and pushed them to feature" in out, out
    assert "9.fix" in git(repo.remote, "ls-tree", "--name-only", "feature").split()
    assert not (repo.path / "-f.fix").exists() and (repo.path / "9.fix").is_file()


@pytest.mark.reliability("Hostile fragments")
def test_fix_in_merged_results_reads_no_fragment_over_16_mib(
        yaook_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """--fix rewrites a fragment from the MR's commit (not the merge commit's work tree); a
    placeholder fragment one byte over 16 MiB is refused in one sentence, nothing pushed."""
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "mine")
    yaook_repo.write(f"{FRAGMENTS}/x.fix", "a" * (16 * 1024 * 1024) + "\n")
    source = yaook_repo.commit_all("A huge placeholder fragment")
    yaook_repo.push("mine")
    _merged_result_of_mine(yaook_repo, monkeypatch, base, source)
    result = run(["mr", "check", "--no-comment", "--fix"], yaook_repo.path)
    assert result.code == 2, result.out + result.err
    assert result.err == (f"relbot: {FRAGMENTS}/x.fix is 16777217 bytes, more than relbot "
                          "reads.\n"), result.err
    assert git(yaook_repo.remote, "rev-parse", "mine") == source
