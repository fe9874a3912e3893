"""Releases that must not happen, or must not go wrong (issue 15.1, 15.2, 15.5, 15.6, 15.8)."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import pytest

from relbot.branches import (
    default_branch,
    is_prepare_branch,
    prepare_branch,
    ref_name_problem,
    release_branch,
    release_branch_line,
    validate_formats,
)
from relbot.config import Config, load_config
from relbot.errors import ConfigError, ReleaseRefused
from relbot.git import GitRepo
from tests.conftest import Repo, git, make_repo, run, yaook_like_files
from tests.test_cut import (
    FRAGMENTS,
    add_fragments,
    cut,
    kill_relbot_when,
    relbot_process,
    remote_refs,
)


@pytest.fixture
def repo(yaook_repo: Repo) -> Repo:
    """The Yaook-like repository with a feature and a fix pending."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n",
                               "102.fix": "A fix.\n"})
    return yaook_repo


def unborn_head_remote(tmp_path: Path) -> Repo:
    """`git init --bare` points HEAD at master; only main was pushed (issue 15.1)."""
    remote = tmp_path / "remote.git"
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(remote, "symbolic-ref", "HEAD", "refs/heads/master")
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    repo = Repo(work, remote)
    for path, text in yaook_like_files().items():
        repo.write(path, text)
    repo.write(f"{FRAGMENTS}/1.feature", "Feature.\n")
    repo.commit_all("Initial commit")
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "-u", "origin", "main")
    return repo


def test_remote_head_naming_a_missing_branch_is_no_default(tmp_path: Path) -> None:
    """On a topic branch with such a remote nothing is released; relbot says how to fix it."""
    repo = unborn_head_remote(tmp_path)
    repo.git("checkout", "-q", "-b", "topic")
    before = (repo.refs(), remote_refs(repo))
    result = run(["cut", "--yes"], repo.path)
    assert result.code == 1
    assert "set default_branch" in result.err and "cannot tell the default branch" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert (repo.refs(), remote_refs(repo)) == before


def test_default_branch_from_the_configuration(tmp_path: Path) -> None:
    """default_branch = "main" decides where the remote's HEAD cannot: main releases, topic
    is refused."""
    repo = unborn_head_remote(tmp_path)
    config = repo.path / "relbot.toml"
    config.write_text('default_branch = "main"\n' + config.read_text())
    repo.commit_all("Say the default branch")
    repo.push()
    repo.git("checkout", "-q", "-b", "topic")
    refused = run(["cut", "--yes"], repo.path)
    assert refused.code == 1 and "default branch 'main', not on 'topic'" in refused.err
    repo.git("checkout", "-q", "main")
    result = run(["cut", "--yes"], repo.path)
    assert result.code == 0, result.err
    assert git(repo.remote, "tag", "--list") == "v8.1.0"
    assert git(repo.remote, "rev-parse", "refs/heads/topic", check=False) == "refs/heads/topic"


def test_release_branch_without_hotfix_is_refused(repo: Repo) -> None:
    """On release/v8.0 a plain cut would release main's next minor from it: refused."""
    repo.git("checkout", "-q", "-b", "release/v8.0")
    repo.git("push", "-q", "origin", "release/v8.0")
    result = run(["cut", "--yes", "--dry-run"], repo.path)
    assert result.code == 1
    assert "default branch 'main', not on 'release/v8.0'" in result.err


def test_release_branch_without_a_remote_is_refused(tmp_path: Path) -> None:
    """Without a remote the checked-out branch counts, unless it is a release branch."""
    work = tmp_path / "solo"
    git(tmp_path, "init", "-q", "-b", "release/v8.0", str(work))
    repo = Repo(work, tmp_path / "none.git")
    for path, text in yaook_like_files().items():
        repo.write(path, text)
    repo.write(f"{FRAGMENTS}/1.feature", "Feature.\n")
    repo.commit_all("Initial commit")
    result = run(["cut", "--yes", "--no-push"], repo.path)
    assert result.code == 1 and "is a release or prepare branch" in result.err
    assert repo.git("tag", "--list") == ""


def test_prerelease_version_is_a_prerelease(repo: Repo) -> None:
    """--version 8.1.0-rc.1 without --pre tags only: no changelog, fragments kept; the final
    8.1.0 is still possible afterwards."""
    head = repo.git("rev-parse", "HEAD")
    code, _, err = cut(repo, "--version", "8.1.0-rc.1")
    assert code == 0, err
    assert repo.git("rev-parse", "HEAD") == head
    assert git(repo.remote, "rev-parse", "v8.1.0-rc.1^{commit}") == head
    assert (repo.path / "version").read_text() == "8.0.2\n"
    assert (repo.path / FRAGMENTS / "102.fix").exists()
    assert "8.1.0-rc.1" not in (repo.path / "CHANGELOG.rst").read_text()
    code, _, err = cut(repo)
    assert code == 0, err
    assert (repo.path / "version").read_text() == "8.1.0\n"


def with_release_branches(repo: Repo) -> None:
    config = (repo.path / "relbot.toml").read_text() + "create_release_branch = true\n"
    repo.write("relbot.toml", config)
    repo.commit_all("Create release branches")
    repo.push()


def test_release_branch_pushed_after_no_push(repo: Repo) -> None:
    """create_release_branch with --no-push, then a plain cut: the branch reaches the remote."""
    with_release_branches(repo)
    assert cut(repo, "--no-push")[0] == 0
    code, _, err = cut(repo)
    assert code == 0, err
    head = repo.git("rev-parse", "HEAD")
    assert git(repo.remote, "rev-parse", "refs/heads/release/v8.1") == head


@pytest.mark.reliability("Faults")
def test_release_branch_pushed_after_a_crash(repo: Repo) -> None:
    """Killed right after the commit: the rerun creates and pushes the release branch too."""
    with_release_branches(repo)
    hook = kill_relbot_when(repo, "refs/heads/main")
    assert relbot_process(repo).returncode == -9
    hook.unlink()
    assert relbot_process(repo).returncode == 0
    head = repo.git("rev-parse", "HEAD")
    assert git(repo.remote, "rev-parse", "refs/heads/release/v8.1") == head
    assert git(repo.remote, "rev-parse", "v8.1.0^{commit}") == head


def tag_only_repo(tmp_path: Path) -> Repo:
    """No version_file: the version comes from tags; v1.4.0 exists deep in the history."""
    files = yaook_like_files()
    files["relbot.toml"] = files["relbot.toml"].replace('version_file = "version"\n', "")
    del files["version"]
    repo = make_repo(tmp_path, files)
    repo.git("tag", "-a", "-m", "Release v1.4.0", "v1.4.0")
    repo.git("push", "-q", "origin", "v1.4.0")
    for number in range(3):
        repo.write(f"file{number}", "x\n")
        repo.commit_all(f"Work {number}")
    add_fragments(repo, {"1.fix": "A fix.\n"})
    return repo


def test_shallow_clone_without_version_file_is_refused(tmp_path: Path) -> None:
    """A shallow clone cannot see the tags that give the version: refuse, never go back."""
    repo = tag_only_repo(tmp_path)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-tags", f"file://{repo.remote}",
        str(shallow))
    result = run(["cut", "--yes"], shallow)
    assert result.code == 1
    assert "this clone is shallow" in result.err and "GIT_DEPTH: 0" in result.err
    assert git(repo.remote, "tag", "--list") == "v1.4.0"
    full = run(["cut", "--yes"], repo.path)
    assert full.code == 0, full.err
    assert git(repo.remote, "tag", "--list").split() == ["v1.4.0", "v1.4.1"]


def test_unfinished_merge_is_refused(repo: Repo) -> None:
    """MERGE_HEAD present: refuse before anything, and leave the merge as it is."""
    repo.git("checkout", "-q", "-b", "side")
    repo.write("README", "side\n")
    repo.commit_all("Side")
    repo.git("checkout", "-q", "main")
    repo.write("README", "main\n")
    repo.commit_all("Main")
    repo.git("merge", "-q", "side", check=False)
    assert (repo.path / ".git" / "MERGE_HEAD").exists()
    before = repo.refs()
    result = run(["cut", "--yes", "--dry-run"], repo.path)
    assert result.code == 1 and "a merge is in progress" in result.err
    assert repo.refs() == before and (repo.path / ".git" / "MERGE_HEAD").exists()


def test_a_locked_branch_gives_one_sentence(repo: Repo) -> None:
    """Another cut in the same clone holds main's lock: one sentence, not git's raw text."""
    lock = repo.path / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    code, _, err = cut(repo)
    lock.unlink()
    assert code == 1
    assert "cannot lock ref" not in err and "at the same time" in err
    assert ("another git command or relbot cut is changing this clone at the same time (a "
            "ref or the index is locked); let it finish, then run relbot cut again to finish "
            "v8.1.0.") in err
    assert len(err.strip().splitlines()) == 1
    assert repo.git("tag", "--list") == ""
    assert git(repo.remote, "tag", "--list") == ""
    assert cut(repo)[0] == 0


@pytest.mark.parametrize(("key", "value", "message"), [
    ("tag_format", "v {version}", "gives the ref name 'v 1.2.3', which git refuses"),
    ("release_branch_format", "rel..{major}", "gives the ref name 'rel..1', which git refuses"),
    ("prepare_branch_format", "prep/{version}.lock", "which git refuses"),
])
def test_invalid_ref_formats_are_configuration_errors(repo: Repo, key: str, value: str,
                                                      message: str) -> None:
    """Formats that give invalid ref names fail at configuration load, before any commit."""
    config = repo.path / "relbot.toml"
    text = config.read_text()
    lines = [line for line in text.splitlines() if not line.startswith(f"{key} =")]
    config.write_text("\n".join(lines) + f'\n{key} = "{value}"\n')
    repo.commit_all("Bad format")
    before = repo.refs()
    result = run(["cut", "--yes"], repo.path)
    assert result.code == 2
    assert message in result.err
    assert repo.refs() == before


def test_colliding_tag_formats_are_a_configuration_error(repo: Repo) -> None:
    """Two components whose tags collide: a configuration error naming both."""
    config = repo.path / "relbot.toml"
    text = config.read_text()
    second = text[text.index("[[component]]"):].replace('name = "k8s"', 'name = "other"')
    config.write_text(text + "\n" + second)
    result = run(["cut", "--yes", "--component", "k8s"], repo.path)
    assert result.code == 2
    assert "components 'k8s' and 'other' have tag formats whose tags collide" in result.err


@pytest.mark.parametrize(("name", "ok"), [
    ("v1.2.3", True), ("release/v1.2", True), ("v 1.2.3", False), ("rel..1", False),
    ("a.lock", False), ("x/.hidden", False), ("end.", False), ("a@{b", False), ("@", False),
    ("-dash", False), ("a//b", False), ("tilde~1", False), ("q?", False),
])
def test_ref_name_rules(name: str, ok: bool) -> None:
    """git check-ref-format's rules for branch and tag names (and git agrees, except for the
    two names git allows below refs/ but refuses as branch names: '@' and '-dash')."""
    assert (ref_name_problem(name) is None) is ok
    if name not in ("@", "-dash"):
        agrees = subprocess.run(["git", "check-ref-format", f"refs/heads/{name}"],
                                check=False).returncode == 0
        assert agrees is ok


def test_release_branch_line_reads_major_and_minor(yaook_repo: Repo) -> None:
    """The line of a release branch is the numbers in it, not a default (mutation run)."""
    component = dataclasses.replace(load_config(yaook_repo.path).components[0],
                                    release_branch_format="release/v{major}.{minor}")
    assert release_branch_line(component, "release/v8.13") == (8, 13)
    assert release_branch_line(component, "release/v8.x") is None
    minor_first = dataclasses.replace(component, release_branch_format="r{minor}-{major}")
    assert release_branch_line(minor_first, "r4-7") == (7, 4)


@pytest.mark.parametrize(("branch", "ok"), [
    ("prepare/1.2.3/notes", True), ("prepare/x/notes", True), ("prepare//notes", False),
    ("prepare/1.2.3", False), ("other/1.2.3/notes", False), ("main", False),
    ("a-rather-long-branch-name/that/is/no/prepare/branch", False),
])
def test_is_prepare_branch_needs_head_tail_and_a_version_between(yaook_repo: Repo, branch: str,
                                                                 ok: bool) -> None:
    """A prepare branch starts with the format's head, ends with its tail, and holds something
    in between (mutation run)."""
    component = dataclasses.replace(load_config(yaook_repo.path).components[0],
                                    prepare_branch_format="prepare/{version}/notes")
    assert is_prepare_branch(component, branch) is ok


def test_default_branch_is_what_the_remote_head_names_now(yaook_repo: Repo) -> None:
    """The remote's HEAD moved to another branch after the clone: relbot asks the remote, not
    the locally recorded origin/HEAD (mutation run)."""
    yaook_repo.git("push", "-q", "origin", "main:refs/heads/trunk")
    git(yaook_repo.remote, "symbolic-ref", "HEAD", "refs/heads/trunk")
    config = dataclasses.replace(load_config(yaook_repo.path), default_branch=None)
    repo = GitRepo(yaook_repo.path)
    assert repo.remote_default_branch() == "main"
    assert default_branch(config, config.components[0], repo, True, "main") == "trunk"


def test_default_branch_of_an_unreachable_remote_is_the_recorded_one(yaook_repo: Repo) -> None:
    """The remote cannot be asked: the clone's record of its HEAD stands, and the push will say
    that the remote is gone (mutation run)."""
    yaook_repo.git("remote", "set-url", "origin", str(yaook_repo.path.parent / "gone.git"))
    config = dataclasses.replace(load_config(yaook_repo.path), default_branch=None)
    repo = GitRepo(yaook_repo.path)
    assert default_branch(config, config.components[0], repo, True, "main") == "main"


@pytest.mark.parametrize(("name", "problem"), [
    ("", "it is empty or '@'"), ("@", "it is empty or '@'"),
    ("v 1", "it contains a space, a control character or one of ~ ^ : ? * [ \\"),
    ("a..b", "it contains '..', '@{' or '//'"), ("a@{b", "it contains '..', '@{' or '//'"),
    ("a//b", "it contains '..', '@{' or '//'"),
    ("/a", "it starts with '/' or '-', or ends with '/' or '.'"),
    ("-a", "it starts with '/' or '-', or ends with '/' or '.'"),
    ("a/", "it starts with '/' or '-', or ends with '/' or '.'"),
    ("a.", "it starts with '/' or '-', or ends with '/' or '.'"),
    ("a/.b", "a part of it starts with '.' or ends with '.lock'"),
    ("a.lock/b", "a part of it starts with '.' or ends with '.lock'"),
    ("a/b.c", None),
])
def test_ref_name_problem_says_which_rule(name: str, problem: str | None) -> None:
    """The reason is the one of the rule broken; it ends up in the configuration error."""
    assert ref_name_problem(name) == problem


def _component_with(repo: Repo, **formats: Any) -> Config:
    config = load_config(repo.path)
    return dataclasses.replace(config, components=(
        dataclasses.replace(config.components[0], **formats),))


def test_validate_formats_messages(yaook_repo: Repo) -> None:
    """Each refusal names the file, the component, the key and what is wrong (mutation run)."""
    where = load_config(yaook_repo.path).source_name
    cases = [
        ({"tag_format": "v{patch}"}, f"{where}: component 'k8s': tag_format 'v{{patch}}' may "
         "only use {version}, {major} and {minor}."),
        ({"release_branch_format": "r{0}"}, f"{where}: component 'k8s': release_branch_format "
         "'r{0}' may only use {version}, {major} and {minor}."),
        ({"prepare_branch_format": "p/{version}."}, f"{where}: component 'k8s': "
         "prepare_branch_format 'p/{version}.' gives the ref name 'p/1.2.3.', which git "
         "refuses: it starts with '/' or '-', or ends with '/' or '.'."),
        ({"prepare_branch_format": "prepare/{major}"}, f"{where}: component 'k8s': "
         "prepare_branch_format must contain {version}."),
    ]
    for formats, message in cases:
        with pytest.raises(ConfigError) as raised:
            validate_formats(_component_with(yaook_repo, **formats))
        assert str(raised.value) == message
    validate_formats(load_config(yaook_repo.path))


def test_colliding_tags_message(yaook_repo: Repo) -> None:
    """Two components with the same tag format: the message names both, in order."""
    config = load_config(yaook_repo.path)
    first = config.components[0]
    one = dataclasses.replace(first, name="a", tag_format="v{version}")
    two = dataclasses.replace(first, name="b", tag_format="v{version}")
    where = config.source_name
    for pair in ((one, two), (two, one)):
        with pytest.raises(ConfigError) as raised:
            validate_formats(dataclasses.replace(config, components=pair))
        a, b = pair[0].name, pair[1].name
        assert str(raised.value) == (
            f"{where}: components {a!r} and {b!r} have tag formats whose tags collide "
            "('v1.2.3' is a tag of both); give each its own tag_format.")
    apart = dataclasses.replace(first, name="c", tag_format="c-v{version}")
    validate_formats(dataclasses.replace(config, components=(first, apart)))


def test_default_branch_refusals_say_how_to_fix_them(tmp_path: Path, yaook_repo: Repo) -> None:
    """The two refusals of default_branch, word for word (mutation run)."""
    (tmp_path / "unborn").mkdir()
    repo = unborn_head_remote(tmp_path / "unborn")
    config = dataclasses.replace(load_config(repo.path), default_branch=None)
    with pytest.raises(ReleaseRefused) as raised:
        default_branch(config, config.components[0], GitRepo(repo.path), True, "main")
    assert str(raised.value) == (
        "relbot cannot tell the default branch: the remote's HEAD names no branch that exists "
        "there; set default_branch = \"main\" (your default branch) in "
        f"{config.source_name}, or fix the remote's HEAD.")
    local = dataclasses.replace(load_config(yaook_repo.path), default_branch=None)
    component = local.components[0]
    for branch in (release_branch(component, 8, 1), prepare_branch(component, "8.1.0")):
        with pytest.raises(ReleaseRefused) as raised:
            default_branch(local, component, GitRepo(yaook_repo.path), False, branch)
        assert str(raised.value) == (
            f"{branch!r} is a release or prepare branch, not the default branch; set "
            f"default_branch in {local.source_name} or check out the default branch.")
    assert default_branch(local, component, GitRepo(yaook_repo.path), False, "topic") == "topic"
    named = dataclasses.replace(local, default_branch="trunk")
    assert default_branch(named, component, GitRepo(yaook_repo.path), False, "topic") == "trunk"


@pytest.mark.parametrize(("args", "code", "sentence"), [
    (["--pre", "rc", "--hotfix"], 2,
     "--pre and --hotfix do not go together; a hotfix is a final patch release."),
    (["--prepare", "--finish"], 2,
     "--prepare and --finish are two runs: prepare first, finish after the soak."),
    (["--prepare", "--pre", "rc"], 2, "--prepare and --finish do not go with --pre or --hotfix."),
    (["--finish", "--hotfix"], 2, "--prepare and --finish do not go with --pre or --hotfix."),
    (["--prepare"], 2, "component 'k8s' releases directly (release_flow = \"direct\"); "
                       "--prepare and --finish need release_flow = \"prepare\"."),
    (["--version", "8.1.0-rc.1", "--pre", "rc"], 2,
     "--version names a pre-release already; leave out --pre."),
], ids=["pre-hotfix", "prepare-finish", "prepare-pre", "finish-hotfix", "prepare-direct",
        "version-pre"])
def test_options_that_do_not_go_together(repo: Repo, args: list[str], code: int,
                                         sentence: str) -> None:
    """Each contradictory combination of cut's options is one sentence, before any change."""
    before = repo.refs()
    result = run(["cut", "--yes", *args], repo.path)
    assert result.code == code, result.out + result.err
    assert result.err == f"relbot: {sentence}\n"
    assert repo.refs() == before


@pytest.mark.parametrize(("state", "sentence"), [
    ("CHERRY_PICK_HEAD", "a cherry-pick is in progress; finish it (git commit) or abort it "
                         "first, then cut."),
    ("REVERT_HEAD", "a revert is in progress; finish it (git commit) or abort it first, then "
                    "cut."),
    ("rebase-merge", "a rebase is in progress; finish it (git rebase --continue) or abort it "
                     "first, then cut."),
    ("rebase-apply", "a rebase is in progress; finish it (git rebase --continue) or abort it "
                     "first, then cut."),
])
def test_an_operation_in_progress_is_finished_first(repo: Repo, state: str,
                                                    sentence: str) -> None:
    """A cherry-pick, revert or rebase half done: the cut says which, and what to do."""
    gitdir = repo.path / ".git"
    if state.endswith("_HEAD"):
        (gitdir / state).write_text(repo.git("rev-parse", "HEAD") + "\n")
    else:
        (gitdir / state).mkdir()
    result = run(["cut", "--yes"], repo.path)
    assert result.code == 1
    assert result.err == f"relbot: {sentence}\n"


def test_a_detached_head_outside_ci_is_refused(repo: Repo) -> None:
    """Outside CI nothing says which branch a detached HEAD releases: check one out."""
    repo.git("checkout", "-q", "--detach", "HEAD")
    result = run(["cut", "--yes"], repo.path)
    assert result.code == 1
    assert result.err == "relbot: HEAD is detached; check out the branch to release from.\n"


def test_a_repository_without_commits_is_refused(tmp_path: Path) -> None:
    """A fresh `git init` with relbot's files not yet committed: nothing to release from."""
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    for path, text in yaook_like_files().items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    result = run(["cut", "--yes"], work)
    assert result.code == 1
    assert result.err == "relbot: the repository has no commits yet.\n"


def test_a_final_version_with_pre_names_its_first_candidate(repo: Repo) -> None:
    """--version of a final version with --pre asks for that version's next candidate."""
    result = run(["cut", "--dry-run", "--version", "9.0.0", "--pre", "rc", "--date",
                  "2024-10-01"], repo.path)
    assert result.code == 0, result.err
    assert result.out.startswith("pre-release v9.0.0-rc.1 of k8s from main:")


def test_a_dirty_work_tree_names_three_files_and_says_there_are_more(repo: Repo) -> None:
    """More than three changed files: the refusal names the first three and an ellipsis."""
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        repo.write(name, "not committed\n")
    result = run(["cut", "--yes"], repo.path)
    assert result.code == 1
    assert result.err == ("relbot: the work tree is not clean (a.txt, b.txt, c.txt …); "
                          "commit or stash first.\n")
    (repo.path / "d.txt").unlink()
    result = run(["cut", "--yes"], repo.path)
    assert result.err == ("relbot: the work tree is not clean (a.txt, b.txt, c.txt); commit "
                          "or stash first.\n")


def test_a_shallow_clone_with_a_version_file_may_release(repo: Repo, tmp_path: Path) -> None:
    """With a version file the tags are not needed: a shallow CI clone plans the release."""
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-tags", f"file://{repo.remote}",
        str(shallow))
    result = run(["cut", "--dry-run", "--date", "2024-10-01"], shallow)
    assert result.code == 0, result.err
    assert result.out.startswith("release v8.1.0 of k8s from main:")


def test_the_branch_refusals_are_whole_sentences(repo: Repo) -> None:
    """A release off the default branch, and a hotfix off a release branch, each say where
    it belongs in one sentence."""
    repo.git("checkout", "-q", "-b", "feature/x")
    result = run(["cut", "--yes"], repo.path)
    assert result.code == 1
    assert result.err == ("relbot: releases are cut on the default branch 'main', not on "
                          "'feature/x' (hotfixes: --hotfix on a release branch).\n")
    result = run(["cut", "--yes", "--hotfix"], repo.path)
    assert result.code == 1
    assert result.err == ("relbot: a hotfix is cut on a release branch (release/vX.Y), not on "
                          "'feature/x'.\n")
