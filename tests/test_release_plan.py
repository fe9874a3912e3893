"""Details of the release plan that whole-flow tests pass over: which hotfix syncs to the
default branch (only the newest line's, judged by the tags here and on the remote), when
the sync is already done, and what a clone locked by another git command is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo, git
from tests.test_hotfix_flow import cut, hotfix_mr, released_repo

races = pytest.mark.reliability("Races")


def _newer_release_elsewhere(repo: Repo, tmp_path: Path) -> None:
    """v8.2.0 tagged (annotated) on main by someone else, pushed; this clone lacks the tag."""
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo.remote), str(other))
    git(other, "tag", "-a", "-m", "v8.2.0", "v8.2.0", "origin/main")
    git(other, "push", "-q", "origin", "v8.2.0")


def test_a_hotfix_of_an_older_line_is_not_synced(tmp_path: Path) -> None:
    """A newer line exists on the remote only: main has moved on, no sync branch for it."""
    repo = released_repo(tmp_path)
    _newer_release_elsewhere(repo, tmp_path)
    assert repo.git("tag", "--list", "v8.2.0") == ""
    hotfix_mr(repo)
    code, out, err = cut(repo, "--hotfix")
    assert code == 0, err
    assert git(repo.remote, "rev-parse", "v8.1.1^{commit}") == repo.git("rev-parse", "HEAD")
    assert git(repo.remote, "branch", "--list", "hotfix/*") == ""
    assert "hotfix/main" not in out


def test_a_newer_line_tagged_only_here_also_counts(tmp_path: Path) -> None:
    repo = released_repo(tmp_path)
    repo.git("tag", "v9.0.0", "main")  # not pushed
    hotfix_mr(repo)
    code, _out, err = cut(repo, "--hotfix")
    assert code == 0, err
    assert git(repo.remote, "branch", "--list", "hotfix/*") == ""


def test_the_sync_is_done_when_main_has_the_section(tmp_path: Path) -> None:
    """Someone already brought v8.1.1's section to main: no sync branch is pushed."""
    repo = released_repo(tmp_path)
    commit, _ = hotfix_mr(repo)
    repo.git("checkout", "-q", "main")
    section = git(repo.path, "show", f"{commit}:CHANGELOG.rst")
    repo.write("CHANGELOG.rst", section)
    repo.commit_all("Bring v8.1.1's notes to main by hand")
    repo.push()
    repo.git("checkout", "-q", "release/v8.1")
    code, _out, err = cut(repo, "--hotfix")
    assert code == 0, err
    assert git(repo.remote, "branch", "--list", "hotfix/*") == ""


def test_the_sync_branch_is_fetched_when_main_is_not_here(tmp_path: Path) -> None:
    """main moved on the remote since this clone fetched: its tip is fetched, then judged."""
    repo = released_repo(tmp_path)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo.remote), str(other))
    (other / "roles").mkdir()
    (other / "roles" / "new.yaml").write_text("new: true\n")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "main moves on")
    git(other, "push", "-q", "origin", "main")
    hotfix_mr(repo)
    code, _out, err = cut(repo, "--hotfix")
    assert code == 0, err
    synced = git(repo.remote, "rev-parse", "hotfix/main/v8.1.1")
    assert git(repo.remote, "rev-parse", f"{synced}^") == git(repo.remote, "rev-parse", "main")


@races
@pytest.mark.parametrize("lock", ["refs/heads/main.lock", "index.lock"])
def test_a_clone_locked_by_another_git_command_is_told_so(tmp_path: Path, lock: str) -> None:
    from tests.test_cut import add_fragments

    repo = released_repo(tmp_path)
    repo.git("checkout", "-q", "main")
    add_fragments(repo, {"120.fix": "Another fix.\n"})
    (repo.path / ".git" / lock).write_text("")
    code, _out, err = cut(repo, "--no-push")
    assert code == 1
    assert ("another git command or relbot cut is changing this clone at the same time (a "
            "ref or the index is locked); let it finish, then run relbot cut again to finish "
            "v8.1.1.") in err
    (repo.path / ".git" / lock).unlink()
    code, _out, err = cut(repo, "--no-push")
    assert code == 0, err
    assert repo.git("tag", "--list", "v8.1.1") == "v8.1.1"
