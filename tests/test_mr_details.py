"""Details of `relbot mr check` that the flows pass over: what `changed_files` reports, which
files steer relbot, the exact names and sentences of the presence and number checks.

Each test here pins one answer a mutation review found unpinned (docs/mutation.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from relbot.config import load_config
from relbot.errors import UsageError
from relbot.git import GitRepo
from relbot.mr import Check, ComponentReport, MergeRequest, changed_files, check_mr, steering_files
from relbot.project import Project
from tests.conftest import Repo, make_repo, yaook_like_files

FRAGMENTS = "docs/_releasenotes"


def _check(repo: Repo, mr: MergeRequest, name: str) -> Check:
    config = load_config(repo.path)
    report = check_mr(config, [Project(repo.path, None, config)], mr, GitRepo(repo.path),
                      preview=False)
    return next(c for c in report.components[0].checks if c.name == name)


@pytest.fixture
def branch(yaook_repo: Repo) -> tuple[Repo, str]:
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "feature")
    return yaook_repo, base


# -- changed_files ------------------------------------------------------------------------

def test_a_rename_is_a_deletion_and_an_addition(branch: tuple[Repo, str]) -> None:
    """A renamed fragment is a new file in its new place (``--no-renames``): each path once,
    with its own status, however many files change."""
    repo, base = branch
    repo.write(f"{FRAGMENTS}/1.fix", "A fix.\n")
    repo.write("roles/a.yaml", "a: 1\n")
    repo.commit_all("Two files")
    base = repo.git("rev-parse", "HEAD")
    repo.git("mv", f"{FRAGMENTS}/1.fix", f"{FRAGMENTS}/2.fix")
    repo.write("roles/a.yaml", "a: 2\n")
    repo.write("roles/b.yaml", "b: 1\n")
    repo.commit_all("Rename and edit")
    assert sorted(changed_files(GitRepo(repo.path), base)) == [
        ("A", f"{FRAGMENTS}/2.fix"), ("A", "roles/b.yaml"), ("D", f"{FRAGMENTS}/1.fix"),
        ("M", "roles/a.yaml")]


def test_a_base_or_head_that_is_not_here_is_named(branch: tuple[Repo, str]) -> None:
    repo, base = branch
    git = GitRepo(repo.path)
    missing = "0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(UsageError) as raised:
        changed_files(git, missing)
    assert str(raised.value) == ("the MR's base commit 0123456789ab is not in this clone (a "
                                 "shallow clone?); set GIT_DEPTH: 0 for the job or fetch it.")
    with pytest.raises(UsageError) as raised:
        changed_files(git, base, missing)
    assert str(raised.value).startswith(
        "the MR's head (CI_MERGE_REQUEST_SOURCE_BRANCH_SHA) 0123456789ab is not in this clone")


# -- the files that steer relbot -------------------------------------------------------------

def test_steering_files_name_the_template_and_policy_paths_per_component(
        tmp_path: Path) -> None:
    """A template beside a towncrier config in a sub-directory lies in that directory; a
    policy given as a path is that path; each belongs to its component."""
    files = yaook_like_files()
    toml = files.pop("towncrier.toml").replace(
        "[tool.towncrier]", '[tool.towncrier]\ntemplate = "notes.md.j2"', 1)
    files["docs/towncrier.toml"] = toml
    files["docs/notes.md.j2"] = "{{ versiondata.version }}\n"
    files["policies/own.toml"] = ""
    files["relbot.toml"] = files["relbot.toml"].replace(
        'towncrier_config = "towncrier.toml"', 'towncrier_config = "docs/towncrier.toml"'
    ).replace("policies = []", 'policies = ["policies/own.toml", "ovn"]')
    assert 'towncrier_config = "docs/towncrier.toml"' in files["relbot.toml"]
    repo = make_repo(tmp_path, files)
    config = load_config(repo.path)
    found = steering_files(config, [Project(repo.path, None, config)])
    assert found == {"relbot.toml": None, "docs/towncrier.toml": "k8s",
                     "docs/notes.md.j2": "k8s", "policies/own.toml": "k8s",
                     "policies/ovn.toml": "k8s"}


# -- presence and numbers --------------------------------------------------------------------

def test_each_exemption_is_the_fragment_present_check_saying_why(
        branch: tuple[Repo, str]) -> None:
    repo, base = branch
    repo.write("roles/a.yaml", "a: 1\n")
    repo.commit_all("No fragment")
    check = _check(repo, MergeRequest(5, base, labels=("no-changelog",)), "fragment present")
    assert (check.summary, check.ok) == ("not needed: label 'no-changelog'", True)
    check = _check(repo, MergeRequest(5, base, target_branch="experiments",
                                      default_branch="main"), "fragment present")
    assert check.summary == ("not needed: the MR targets experiments, neither the default "
                             "branch nor a release branch")
    repo.write("CHANGELOG.rst", "Edited by hand.\n")
    repo.commit_all("Changelog")
    check = _check(repo, MergeRequest(5, base), "fragment present")
    assert check.summary == "not needed: the MR changes CHANGELOG.rst itself"


def test_every_fragment_with_another_number_is_reported(branch: tuple[Repo, str]) -> None:
    """An orphan first does not end the look at the MR's fragments."""
    repo, base = branch
    for name in ("+orphan.fix", "7.fix", "8.feature"):
        repo.write(f"{FRAGMENTS}/{name}", f"Text of {name}.\n")
    repo.commit_all("Fragments")
    check = _check(repo, MergeRequest(5, base), "MR number")
    assert [(f.path, f.rule, f.message, f.severity) for f in check.findings] == [
        (f"{FRAGMENTS}/7.fix", "wrong-number", "the fragment names MR 7, but this is MR 5",
         "error"),
        (f"{FRAGMENTS}/8.feature", "wrong-number", "the fragment names MR 8, but this is MR 5",
         "error")]


def test_a_hotfix_mr_may_keep_the_original_mrs_number(branch: tuple[Repo, str]) -> None:
    repo, base = branch
    repo.write(f"{FRAGMENTS}/hotfix/7.fix", "A kept fix.\n")
    repo.commit_all("Hotfix fragment")
    check = _check(repo, MergeRequest(5, base, target_branch="release/v8.0"), "MR number")
    assert [(f.rule, f.message, f.severity) for f in check.findings] == [
        ("wrong-number", "the fragment names MR 7, not this hotfix MR 5 (fine for a fragment "
         "kept from the original MR)", "warning")]


# -- the merge request of the pipeline --------------------------------------------------------

_CI = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "7",
       "CI_MERGE_REQUEST_DIFF_BASE_SHA": "0123456789abcdef0123456789abcdef01234567"}


@pytest.mark.parametrize(("change", "sentence"), [
    ({"CI_MERGE_REQUEST_IID": ""},
     "relbot mr check needs a merge request: run it in a GitLab merge-request pipeline "
     "(CI_MERGE_REQUEST_IID) or pass --iid and --base."),
    ({"CI_MERGE_REQUEST_IID": "abc"}, "CI_MERGE_REQUEST_IID 'abc' is not a number."),
    ({"CI_MERGE_REQUEST_IID": "1234567890123"},
     "CI_MERGE_REQUEST_IID '1234567890123' is not a number."),
    ({"CI_MERGE_REQUEST_IID": "12345678901234567890123"},
     "CI_MERGE_REQUEST_IID '12345678901234567890' is not a number."),
    ({"CI_MERGE_REQUEST_DIFF_BASE_SHA": ""},
     "relbot mr check needs the MR's base commit: CI_MERGE_REQUEST_DIFF_BASE_SHA is not set "
     "(or pass --base)."),
])
def test_a_pipeline_without_a_usable_merge_request_is_one_sentence(
        change: dict[str, str], sentence: str) -> None:
    """A missing or absurd MR number (at most 12 digits, quoted up to 20 characters) and a
    missing base commit are each refused in their own sentence."""
    with pytest.raises(UsageError) as raised:
        MergeRequest.from_environment({**_CI, **change})
    assert str(raised.value) == sentence


def test_the_pipelines_merge_request_is_read_whole() -> None:
    """Twelve digits are a number; a merged-results pipeline is remembered as one (the fix
    then has no branch to push to) and checks the MR's own head, its second parent."""
    mr = MergeRequest.from_environment({**_CI, "CI_MERGE_REQUEST_IID": "123456789012",
                                        "CI_MERGE_REQUEST_EVENT_TYPE": "merged_result"})
    assert (mr.iid, mr.merged_result, mr.head) == (123456789012, True, "HEAD^2")
    plain = MergeRequest.from_environment(_CI)
    assert (plain.iid, plain.merged_result, plain.head) == (7, False, "HEAD")


# -- a commit the clone lacks ----------------------------------------------------------------

def test_a_base_only_the_remote_has_is_fetched_without_its_tags(
        branch: tuple[Repo, str]) -> None:
    """A base commit that only GitLab's ref holds (a shallow or single-branch clone) is
    fetched by its id from origin, and nothing else comes with it: no tag, even where the
    clone's configuration asks for all tags."""
    repo, _ = branch
    remote = repo.path.parent / "remote.git"
    repo.write("roles/c.yaml", "c: 1\n")
    only_there = repo.commit_all("Only on the remote")
    repo.git("push", "-q", "origin", f"{only_there}:refs/merge-requests/1/head")
    repo.git("tag", "-a", "-m", "a tag", "v99.0.0", only_there)
    repo.git("push", "-q", "origin", "v99.0.0")
    clone = repo.path.parent / "clone"
    import subprocess

    subprocess.run(["git", "clone", "-q", "--no-local", "--no-tags", "--single-branch",
                    str(remote), str(clone)], check=True)
    git = GitRepo(clone)
    git.run("config", "remote.origin.tagOpt", "--tags")  # a clone set to fetch every tag
    assert not git.has_object(only_there)
    from relbot.mr import require_commit

    require_commit(git, only_there, "base commit")
    assert git.has_object(only_there)
    assert git.run("tag", "--list") == ""


# -- the notes preview ---------------------------------------------------------------------

def _report(repo: Repo, base: str, preview_entries: int | None = None) -> ComponentReport:
    """The check with its defaults, but for ``preview_entries``."""
    config = load_config(repo.path)
    mr = MergeRequest(iid=7, base=base)
    if preview_entries is None:
        report = check_mr(config, [Project(repo.path, None, config)], mr, GitRepo(repo.path))
    else:
        report = check_mr(config, [Project(repo.path, None, config)], mr, GitRepo(repo.path),
                          preview_entries=preview_entries)
    return report.components[0]


def test_the_preview_is_rendered_by_default_and_counts_what_it_leaves_out(
        branch: tuple[Repo, str]) -> None:
    """Without a word about it the check renders the preview (the demo relies on it); with
    ``preview_entries`` it renders the leading groups and counts the entries after them."""
    repo, base = branch
    repo.write(f"{FRAGMENTS}/7.feature.md", "A feature.\n")
    repo.write(f"{FRAGMENTS}/7.fix.md", "A fix.\n")
    repo.write(f"{FRAGMENTS}/7.fix.1.md", "Another fix.\n")
    repo.commit_all("MR 7")
    full = _report(repo, base)
    assert full.notes_md is not None
    assert "A feature." in full.notes_md
    assert "Another fix." in full.notes_md
    assert full.notes_left == 0
    head = _report(repo, base, preview_entries=1)
    assert head.notes_md is not None
    assert "A feature." in head.notes_md
    assert "A fix." not in head.notes_md
    assert head.notes_left == 2


def test_no_preview_leaves_nothing_counted(branch: tuple[Repo, str]) -> None:
    """An MR without fragments, and a preview that fails, count no entries left out."""
    repo, base = branch
    repo.write("roles/c.yaml", "c: 1\n")
    repo.commit_all("No fragment")
    quiet = _report(repo, base, preview_entries=1)
    assert (quiet.notes_md, quiet.notes_left) == (None, 0)
    repo.write(f"{FRAGMENTS}/7.fix.md", "A fix.\n")
    repo.write(f"{FRAGMENTS}/7.fix.1.md", "Another fix.\n")
    repo.write("version", "not a version\n")
    repo.commit_all("MR 7, and a broken version file")
    failed = _report(repo, base, preview_entries=1)
    assert failed.notes_md is not None
    assert failed.notes_md.startswith("(no preview: ")
    assert failed.notes_left == 0
