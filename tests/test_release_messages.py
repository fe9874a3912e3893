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
    assert ("the remote refused the push (refs/tags/v8.1.0: [remote rejected] (pre-receive "
            "hook declined)); nothing was released") in result.err


def _hotfix_pending(base: Path) -> Repo:
    """v8.1.0 released, and a hotfix fragment pushed on release/v8.1 (checked out)."""
    from tests.test_hotfix_flow import released_repo

    base.mkdir()
    hot = released_repo(base)
    hot.git("checkout", "-q", "release/v8.1")
    hot.write("docs/_releasenotes/hotfix/110.fix", "Urgent fix.\n")
    hot.commit_all("The fix")
    hot.git("push", "-q", "origin", "release/v8.1")
    return hot


def test_a_hotfix_plan_and_a_finish_plan_name_their_kind(tmp_path: Path) -> None:
    """The plan's first line says "hotfix" for a hotfix from its release branch, and
    "release" for a finish, named after the release branch it lands on."""
    from tests.test_prepare_flow import prepare_repo

    (tmp_path / "staged").mkdir()
    hot = _hotfix_pending(tmp_path / "hot")
    result = run(["cut", "--hotfix", "--dry-run", "--date", "2024-10-01"], hot.path)
    assert result.code == 0, result.err
    assert result.out.startswith("hotfix v8.1.1 of k8s from release/v8.1:\n  1. [todo] ")
    assert ("  4. [todo] the hotfix's changelog section and version file, offered to the "
            "default branch: hotfix/main/v8.1.1 into main\n") in result.out

    staged = prepare_repo(tmp_path / "staged")
    assert run(["cut", "--prepare", "--yes", "--date", "2024-10-01"], staged.path).code == 0
    staged.git("checkout", "-q", "release-prepare/v8.1.0")
    result = run(["cut", "--finish", "--dry-run", "--date", "2024-10-01"], staged.path)
    assert result.code == 0, result.err
    assert result.out.startswith("release v8.1.0 of k8s from release/v8.1 (resuming an "
                                 "unfinished release):\n  1. [todo] ")


def test_a_hotfix_on_the_wrong_release_branch_says_where_it_belongs(tmp_path: Path) -> None:
    """A version file that asks for another line than the checked-out release branch is
    refused in one sentence that names both branches and what to check."""
    from tests.test_hotfix_flow import released_repo

    repo = released_repo(tmp_path)
    repo.git("checkout", "-q", "-b", "release/v8.0", "release/v8.1")
    repo.write("docs/_releasenotes/hotfix/110.fix", "Urgent fix.\n")
    repo.commit_all("A fix on the wrong line")
    repo.git("push", "-q", "origin", "release/v8.0")
    result = run(["cut", "--hotfix", "--yes", "--date", "2024-10-01"], repo.path)
    assert result.code == 1
    assert ("hotfix 8.1.1 belongs on 'release/v8.1', but 'release/v8.0' is checked out; "
            "check the version file on this branch.") in result.err


def test_a_missing_identity_is_gits_reason_with_the_fix(repo: Repo,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a git identity the release stops at its commit with git's reason and the
    two commands that set one, not as a clone locked by another git."""
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key)
    repo.git("config", "user.useConfigOnly", "true")
    result = run(["cut", "--yes", "--date", "2024-10-01"], repo.path)
    assert result.code == 1
    assert "git does not know who you are; set `git config --global user.name" in result.err
    assert "changing this clone at the same time" not in result.err
    assert git(repo.remote, "tag", "--list") == ""


def test_a_resumed_plan_marks_what_is_done(repo: Repo) -> None:
    """After a cut that stopped before its push, the plan says it resumes and marks the
    commit and the tag done and the push still to do."""
    assert run(["cut", "--yes", "--no-push", "--date", "2024-10-01"], repo.path).code == 0
    result = run(["cut", "--dry-run", "--date", "2024-10-01"], repo.path)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "release v8.1.0 of k8s from main (resuming an unfinished release):"
    assert [line.split("]")[0] for line in lines[1:4]] == ["  1. [done", "  2. [done",
                                                          "  3. [todo"]


@faults
def test_a_refused_push_takes_back_the_release_branch_it_made(
        tmp_path: Path) -> None:
    """A first release of a new minor with create_release_branch makes release/vX.Y; when
    the remote refuses the push, that branch goes with the commit and the tag."""
    from tests.conftest import make_repo, yaook_like_files

    files = yaook_like_files()
    files["relbot.toml"] += "create_release_branch = true\n"
    repo = make_repo(tmp_path, files)
    add_fragments(repo, {"101.feature.shiny": "A shiny feature.\n"})
    before = repo.git("rev-parse", "HEAD")
    _hook(repo, "echo 'closed for the holidays' >&2\nexit 1\n")
    result = run(["cut", "--yes", "--date", "2024-10-01"], repo.path)
    assert result.code == 1
    assert "nothing was released and your branch is back where it was" in result.err
    assert repo.git("branch", "--list", "release/*") == ""
    assert repo.git("tag", "--list") == ""
    assert repo.git("rev-parse", "HEAD") == before


@faults
def test_a_hook_refusal_ending_in_a_blank_line_still_quotes_the_reason(repo: Repo) -> None:
    """The hook's last line with words is its reason, whatever blank lines follow it."""
    _hook(repo, "echo 'tags need a ticket' >&2\necho >&2\nexit 1\n")
    result = run(["cut", "--yes", "--date", "2024-10-01"], repo.path)
    assert result.code == 1
    assert "(refused by the remote: tags need a ticket)" in result.err


@faults
def test_a_refused_pre_release_push_says_the_branch_is_as_before(repo: Repo) -> None:
    """A pre-release makes no commit: when its tag's push is refused, the tag goes and the
    message says the branch is where it was."""
    before = repo.git("rev-parse", "HEAD")
    _hook(repo, "echo 'no release candidates today' >&2\nexit 1\n")
    result = run(["cut", "--yes", "--pre", "rc", "--date", "2024-10-01"], repo.path)
    assert result.code == 1
    assert ("the remote refused the push (refused by the remote: no release candidates "
            "today); nothing was released and your branch is back where it was") in result.err
    assert repo.git("tag", "--list") == ""
    assert repo.git("rev-parse", "HEAD") == before


def test_a_pre_release_plan_asks_the_remote_once(repo: Repo, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Numbering rc.N reads the remote's release tags from the plan's one ls-remote, not
    from a second one."""
    from tests.test_git_processes import git_logger

    repo.git("push", "-q", "origin", "HEAD:refs/heads/main")
    repo.git("tag", "-a", "-m", "rc", "v8.1.0-rc.1")
    repo.git("push", "-q", "origin", "v8.1.0-rc.1")
    repo.git("tag", "-d", "v8.1.0-rc.1")  # only the remote has it
    env, log = git_logger(tmp_path / "log")
    monkeypatch.setenv("PATH", env["PATH"])
    result = run(["cut", "--pre", "rc", "--dry-run", "--date", "2024-10-01"], repo.path)
    assert result.code == 0, result.err
    assert result.out.startswith("pre-release v8.1.0-rc.2 of k8s from main:")
    calls = log.read_text().splitlines()
    assert sum(call.startswith("ls-remote") for call in calls) == 1, calls


def test_a_new_release_branch_is_planned_with_one_look_at_the_remote(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether 8.1 is the newest line (and so gets release/v8.1) is read from the plan's
    one ls-remote."""
    from tests.conftest import make_repo, yaook_like_files
    from tests.test_git_processes import git_logger

    files = yaook_like_files()
    files["relbot.toml"] += "create_release_branch = true\n"
    (tmp_path / "repo").mkdir()
    repo = make_repo(tmp_path / "repo", files)
    add_fragments(repo, {"101.feature.shiny": "A shiny feature.\n"})
    env, log = git_logger(tmp_path / "log")
    monkeypatch.setenv("PATH", env["PATH"])
    result = run(["cut", "--dry-run", "--date", "2024-10-01"], repo.path)
    assert result.code == 0, result.err
    assert "release branch at the release commit: release/v8.1" in result.out
    assert "atomic push of branch and tag: main, release/v8.1, v8.1.0 to origin" in result.out
    calls = log.read_text().splitlines()
    assert sum(call.startswith("ls-remote") for call in calls) == 1, calls


def test_a_hotfix_plan_looks_at_the_remote_once(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether the hotfix's line is the newest (and so synced to the default branch) is
    read from the plan's one ls-remote."""
    from tests.test_git_processes import git_logger

    hot = _hotfix_pending(tmp_path / "repo")
    env, log = git_logger(tmp_path / "log")
    monkeypatch.setenv("PATH", env["PATH"])
    result = run(["cut", "--hotfix", "--dry-run", "--date", "2024-10-01"], hot.path)
    assert result.code == 0, result.err
    assert "offered to the default branch: hotfix/main/v8.1.1 into main" in result.out
    calls = log.read_text().splitlines()
    assert sum(call.startswith("ls-remote") for call in calls) == 1, calls


def test_a_tag_only_the_remote_has_stops_the_plan(repo: Repo) -> None:
    """Someone released v8.1.0 from another clone: the plan refuses before any change and
    says to pull, then check the version file."""
    repo.git("tag", "-a", "-m", "elsewhere", "v8.1.0")
    repo.git("push", "-q", "origin", "v8.1.0")
    repo.git("tag", "-d", "v8.1.0")
    before = repo.git("rev-parse", "HEAD")
    result = run(["cut", "--yes", "--date", "2024-10-01"], repo.path)
    assert result.code == 1
    assert ("tag v8.1.0 already exists on the remote: someone released it first; pull, then "
            "check the version file.") in result.err
    assert repo.git("rev-parse", "HEAD") == before


def test_a_release_candidate_gets_no_release_branch(tmp_path: Path) -> None:
    """create_release_branch makes release/vX.Y for the final X.Y.0, not for its rc."""
    from tests.conftest import make_repo, yaook_like_files

    files = yaook_like_files()
    files["relbot.toml"] += "create_release_branch = true\n"
    repo = make_repo(tmp_path, files)
    add_fragments(repo, {"101.feature.shiny": "A shiny feature.\n"})
    result = run(["cut", "--pre", "rc", "--dry-run", "--date", "2024-10-01"], repo.path)
    assert result.code == 0, result.err
    assert result.out.startswith("pre-release v8.1.0-rc.1 of k8s from main:")
    assert "release branch" not in result.out
    named = run(["cut", "--version", "8.1.0-rc.1", "--dry-run", "--date", "2024-10-01"],
                repo.path)
    assert named.code == 0, named.err
    assert named.out.startswith("pre-release v8.1.0-rc.1 of k8s from main:")
    assert "release branch" not in named.out


def test_after_a_release_only_the_same_ask_is_told_it_is_done(repo: Repo) -> None:
    """Right after v8.1.0 is released, the same cut says it is done; a cut that asks for
    something else (a release candidate, another version) is planned as a new release, and
    finds nothing to release."""
    assert run(["cut", "--yes", "--date", "2024-10-01"], repo.path).code == 0
    same = run(["cut", "--yes", "--date", "2024-10-01"], repo.path)
    assert same.code == 0, same.err
    assert "v8.1.0 is already released completely; nothing to do." in same.out
    named = run(["cut", "--yes", "--version", "v8.1.0", "--date", "2024-10-01"], repo.path)
    assert named.code == 0, named.err
    assert "v8.1.0 is already released completely; nothing to do." in named.out
    for other in (["--pre", "rc"], ["--version", "9.0.0"]):
        result = run(["cut", "--yes", "--date", "2024-10-01", *other], repo.path)
        assert result.code == 1, (other, result.out)
        assert "there are no pending fragments in docs/_releasenotes" in result.err, other


def test_the_json_of_a_plan_and_of_a_run(repo: Repo) -> None:
    """cut --json gives every key of the plan, and a run adds what it did: the commit, the
    steps done, each step marked done."""
    import json

    add_fragments(repo, {"102.fix": "A fix.\n"})
    plan = json.loads(run(["cut", "--dry-run", "--json", "--date", "2024-10-01"],
                          repo.path).out)
    notes, release_notes = plan.pop("notes"), plan.pop("release_notes")
    assert notes.startswith("v8.1.0 (2024-10-01)\n-------------------\n\nNew Features\n")
    assert release_notes.startswith("\n### New Features\n\n- A shiny feature. ([!101](")
    steps = [{"step": "commit", "done": False, "detail": "Release v8.1.0"},
             {"step": "tag", "done": False, "detail": "v8.1.0"},
             {"step": "push", "done": False, "detail": "main, v8.1.0 to origin"}]
    fragments = ["docs/_releasenotes/101.feature.shiny", "docs/_releasenotes/102.fix"]
    assert plan == {"component": "k8s", "version": "8.1.0", "tag": "v8.1.0", "branch": "main",
                    "flow": "direct", "prerelease": False, "hotfix": False, "resumed": False,
                    "dry_run": True, "commit": None, "release_url": None,
                    "fragments": fragments, "steps": steps, "steps_done": [], "messages": []}

    done = json.loads(run(["cut", "--yes", "--no-push", "--json", "--date", "2024-10-01"],
                          repo.path).out)
    assert done.pop("notes") == notes
    assert done.pop("release_notes") == release_notes
    assert done == {**plan, "dry_run": False, "commit": repo.git("rev-parse", "HEAD"),
                    "steps": [{**step, "done": True} for step in steps[:2]],
                    "steps_done": ["commit", "tag"]}


def test_an_unpushed_release_candidate_is_resumed_not_renumbered(repo: Repo) -> None:
    """rc.1 tagged but not pushed: the next cut --pre resumes rc.1 (its tag done, its push
    to do) and pushes it, rather than making rc.2."""
    assert run(["cut", "--pre", "rc", "--yes", "--no-push", "--date", "2024-10-01"],
               repo.path).code == 0
    plan = run(["cut", "--pre", "rc", "--dry-run", "--date", "2024-10-01"], repo.path)
    assert plan.code == 0, plan.err
    lines = plan.out.splitlines()
    assert lines[0] == ("pre-release v8.1.0-rc.1 of k8s from main (resuming an unfinished "
                        "release):")
    assert lines[1].startswith("  1. [done] annotated tag holding the notes: v8.1.0-rc.1")
    assert lines[2].startswith("  2. [todo] atomic push")
    result = run(["cut", "--pre", "rc", "--yes", "--date", "2024-10-01"], repo.path)
    assert result.code == 0, result.err
    assert git(repo.remote, "tag", "--list") == "v8.1.0-rc.1"


def test_a_local_tag_moved_off_the_release_commit_is_refused(repo: Repo) -> None:
    """A rerun finds the release's tag on another commit: it moves nothing and says which
    commits, and to delete or move the tag by hand."""
    assert run(["cut", "--yes", "--no-push", "--date", "2024-10-01"], repo.path).code == 0
    release = repo.git("rev-parse", "HEAD")
    parent = repo.git("rev-parse", "HEAD~1")
    repo.git("tag", "-f", "-a", "-m", "moved", "v8.1.0", parent)
    result = run(["cut", "--yes", "--date", "2024-10-01"], repo.path)
    assert result.code == 1
    assert (f"tag v8.1.0 exists but points at {parent[:12]}, not at the release commit "
            f"{release[:12]}; delete or move it by hand.") in result.err
    assert git(repo.remote, "tag", "--list") == ""


def test_the_tag_message_is_a_subject_line_then_the_notes(repo: Repo) -> None:
    """A release's tag says the commit message's subject, a pre-release's "Pre-release
    <tag>", each followed by a blank line and the notes."""
    assert run(["cut", "--pre", "rc", "--yes", "--no-push", "--date", "2024-10-01"],
               repo.path).code == 0
    rc = repo.git("tag", "-l", "--format=%(contents)", "v8.1.0-rc.1")
    assert rc.startswith("Pre-release v8.1.0-rc.1\n\nv8.1.0-rc.1 (2024-10-01)\n")
    repo.write("relbot.toml", (repo.path / "relbot.toml").read_text()
               + 'commit_message = "Release {component} {tag} ({version})"\n')
    repo.commit_all("Name the component in release commits")
    assert run(["cut", "--yes", "--no-push", "--date", "2024-10-01"], repo.path).code == 0
    final = repo.git("tag", "-l", "--format=%(contents)", "v8.1.0")
    assert final.startswith("Release k8s v8.1.0 (8.1.0)\n\nv8.1.0 (2024-10-01)\n")
    assert final.rstrip("\n").endswith("- A shiny feature. (`!101 "
                                       "<https://gitlab.com/yaook/k8s/-/merge_requests/101>`_)")
