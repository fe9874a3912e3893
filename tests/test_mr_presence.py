"""`mr check`: which files the MR changed (from git, renames as delete and add), whether it
needs a fragment (the default branch CI names, fragment-free paths), what the missing
fragment's finding says, the hotfix directory's lint, the verdict line, and the sentences for
commits the clone lacks (issue 16: mutants of relbot/mr.py). Real repositories; in-process.
"""

from __future__ import annotations

import pytest

from relbot.errors import UsageError
from relbot.git import GitRepo
from relbot.mr import changed_files
from tests.conftest import Repo, run

FRAGMENTS = "docs/_releasenotes"


@pytest.fixture
def feature(yaook_repo: Repo) -> tuple[Repo, str]:
    """Branch `feature` off main; returns the repository and the MR's base."""
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "feature")
    return yaook_repo, base


def _check(repo: Repo, base: str) -> tuple[int, str]:
    result = run(["mr", "check", "--no-comment", "--iid", "70", "--base", base], repo.path)
    assert "Traceback" not in result.err, result.err
    return result.code, result.out


def test_the_missing_fragment_finding_names_both_directories(
        feature: tuple[Repo, str]) -> None:
    """Where a fragment may go: the fragments directory or the hotfix one; and the verdict."""
    repo, base = feature
    repo.write("roles/thing.yaml", "thing: 1\n")
    repo.commit_all("No fragment")
    code, out = _check(repo, base)
    assert code == 1, out
    assert ("           this MR adds no news fragment: add one in docs/_releasenotes or "
            "docs/_releasenotes/hotfix (`relbot fragment new --mr 70 TYPE 'text'`) or set the "
            "label 'no-changelog' [fragment-missing]\n") in out, out
    assert out.endswith("  verdict: problems found\n"), out


def test_a_passing_check_ends_with_its_verdict(feature: tuple[Repo, str]) -> None:
    repo, base = feature
    repo.write(f"{FRAGMENTS}/70.fix", "Fix.\n")
    repo.commit_all("Fix")
    code, out = _check(repo, base)
    assert code == 0, out
    assert out.endswith("  verdict: all checks passed\n"), out


def test_a_bad_fragment_in_the_hotfix_directory_is_linted(feature: tuple[Repo, str]) -> None:
    """The hotfix directory's fragments are linted like the others."""
    repo, base = feature
    repo.write(f"{FRAGMENTS}/70.fix", "Fix.\n")
    repo.write(f"{FRAGMENTS}/hotfix/70.feture", "Typo in the type.\n")
    repo.commit_all("A typo in the hotfix directory")
    code, out = _check(repo, base)
    assert code == 1, out
    assert "[FAIL] fragment lint:" in out, out
    assert f"           {FRAGMENTS}/hotfix/70.feture: " in out, out


def test_a_renamed_file_is_a_deletion_and_an_addition(feature: tuple[Repo, str]) -> None:
    """The MR renames a file and adds its fragment: git's rename detection does not shift
    the (status, path) pairs, the fragment is the MR's."""
    repo, base = feature
    repo.git("mv", "CHANGELOG.rst", "OLD.rst")
    repo.write("CHANGELOG.rst", (repo.path / "OLD.rst").read_text())
    repo.write(f"{FRAGMENTS}/70.feature", "Thing.\n")
    repo.commit_all("Rename")
    git = GitRepo(repo.path)
    assert sorted(changed_files(git, base)) == [
        ("A", "OLD.rst"), ("A", f"{FRAGMENTS}/70.feature")]
    repo.git("rm", "-q", "CHANGELOG.rst")
    repo.git("mv", "OLD.rst", "README.old")
    repo.commit_all("Rename again")
    assert sorted(changed_files(git, base)) == [
        ("A", "README.old"), ("A", f"{FRAGMENTS}/70.feature"), ("D", "CHANGELOG.rst")]
    _code, out = _check(repo, base)
    assert "[ok  ] fragment present: docs/_releasenotes/70.feature\n" in out, out


def test_two_fragment_free_files_need_no_fragment(yaook_repo: Repo) -> None:
    """Every changed path is fragment-free: no fragment needed (each path is judged, not
    git's status letters)."""
    config = (yaook_repo.path / "relbot.toml").read_text()
    yaook_repo.write("relbot.toml", 'fragment_free_paths = [".gitlab-ci.yml", "ci/*"]\n'
                     + config)
    base = yaook_repo.commit_all("Fragment-free paths")
    yaook_repo.git("checkout", "-q", "-b", "ci")
    yaook_repo.write(".gitlab-ci.yml", "stages: [test]\n")
    yaook_repo.write("ci/job.sh", "true\n")
    yaook_repo.commit_all("CI")
    code, out = _check(yaook_repo, base)
    assert code == 0, out
    assert "[ok  ] fragment present: not needed: only fragment-free paths changed\n" in out, out


def test_the_default_branch_is_the_one_gitlab_ci_names(feature: tuple[Repo, str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """CI_DEFAULT_BRANCH names the default branch even where the remote's HEAD says
    otherwise: an MR into it needs a fragment."""
    repo, base = feature
    repo.write("roles/thing.yaml", "thing: 1\n")
    repo.commit_all("No fragment")
    monkeypatch.setenv("CI_DEFAULT_BRANCH", "develop")
    monkeypatch.setenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "develop")
    code, out = _check(repo, base)
    assert code == 1, out
    assert "[FAIL] fragment present: missing" in out, out
    monkeypatch.setenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
    code, out = _check(repo, base)
    assert code == 0, out
    assert "not needed: the MR targets main, neither the default branch nor a release " \
        "branch" in out, out


def test_a_head_the_clone_lacks_is_one_sentence(feature: tuple[Repo, str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A merged-results job whose CI_MERGE_REQUEST_SOURCE_BRANCH_SHA is not fetched."""
    repo, base = feature
    repo.write(f"{FRAGMENTS}/70.fix", "Fix.\n")
    repo.commit_all("Fix")
    missing = "1234567890ab" + "c" * 28
    for key, value in {"CI_MERGE_REQUEST_IID": "70", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
                       "CI_MERGE_REQUEST_EVENT_TYPE": "merged_result",
                       "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": missing}.items():
        monkeypatch.setenv(key, value)
    result = run(["mr", "check", "--no-comment"], repo.path)
    assert result.code == 2, result.out + result.err
    assert result.err == ("relbot: the MR's head (CI_MERGE_REQUEST_SOURCE_BRANCH_SHA) "
                          "1234567890ab is not in this clone (a shallow clone?); set GIT_DEPTH: "
                          "0 for the job or fetch it.\n"), result.err


def test_changed_files_of_a_base_the_clone_lacks_is_one_sentence(
        feature: tuple[Repo, str]) -> None:
    repo, _ = feature
    with pytest.raises(UsageError) as refused:
        changed_files(GitRepo(repo.path), "0" * 40)
    assert str(refused.value) == ("the MR's base commit 000000000000 is not in this clone (a "
                                  "shallow clone?); set GIT_DEPTH: 0 for the job or fetch it.")


def test_a_preview_that_cannot_be_made_says_why(feature: tuple[Repo, str]) -> None:
    """The version file holds no version: the checks run, the notes preview says why it is
    missing (a courtesy, not a check)."""
    from relbot.ci_env import CiEnv
    from relbot.mr_command import run_mr_check

    repo, base = feature
    repo.write("version", "banana\n")
    repo.write(f"{FRAGMENTS}/70.fix", "Fix.\n")
    repo.commit_all("A broken version file")
    report, _ = run_mr_check(repo.path, None, fix=False, junit=None, comment=False, iid=70,
                             base=base, ci=CiEnv())
    (component,) = report.components
    assert component.notes_md is not None, report.describe()
    assert component.notes_md.startswith("(no preview: "), component.notes_md
    assert "banana" in component.notes_md, component.notes_md
    assert component.next_version is None
