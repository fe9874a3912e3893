"""`relbot cut` on real git repositories with a real bare remote: whole, resumable, refusing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REAL_WORLD, Repo, git, make_repo, run, yaook_like_files
from tests.test_realworld import mr_order_free

FRAGMENTS = "docs/_releasenotes"


def add_fragments(repo: Repo, names: dict[str, str], message: str = "Add fragments") -> str:
    for name, text in names.items():
        repo.write(f"{FRAGMENTS}/{name}", text)
    commit = repo.commit_all(message)
    repo.push()
    return commit


@pytest.fixture
def repo(yaook_repo: Repo) -> Repo:
    """The Yaook-like repository with a feature and a fix pending."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n",
                               "102.fix": "A fix.\n"})
    return yaook_repo


def cut(repo: Repo, *args: str) -> tuple[int, str, str]:
    result = run(["cut", "--yes", "--date", "2024-10-01", *args], repo.path)
    return result.code, result.out, result.err


def remote_refs(repo: Repo) -> str:
    return git(repo.remote, "for-each-ref", "--format=%(refname) %(objectname)")


def test_normal_cut(repo: Repo) -> None:
    """A cut commits changelog and version, tags with the notes, and pushes both at once."""
    code, out, err = cut(repo)
    assert code == 0, err
    assert "released v8.1.0" in out
    assert (repo.path / "version").read_text() == "8.1.0\n"
    assert not list((repo.path / FRAGMENTS).glob("10*"))
    changelog = (repo.path / "CHANGELOG.rst").read_text()
    assert "v8.1.0 (2024-10-01)\n-------------------" in changelog
    assert "- A shiny feature. (`!101 <https://gitlab.com/yaook/k8s/-/merge_requests/101>`_)" \
        in changelog
    head = repo.git("rev-parse", "HEAD")
    assert repo.git("log", "-1", "--format=%s") == "Release v8.1.0"
    assert git(repo.remote, "rev-parse", "refs/heads/main") == head
    assert git(repo.remote, "rev-parse", "v8.1.0^{commit}") == head
    assert git(repo.remote, "cat-file", "-t", "refs/tags/v8.1.0") == "tag"
    assert "- A fix." in git(repo.remote, "tag", "-l", "--format=%(contents)", "v8.1.0")
    assert repo.git("status", "--porcelain") == ""


def test_json_output(repo: Repo) -> None:
    """--json prints one object: version, tag, commit, notes, steps done."""
    code, out, _ = cut(repo, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["version"] == "8.1.0" and data["tag"] == "v8.1.0"
    assert data["commit"] == repo.git("rev-parse", "HEAD")
    assert data["steps_done"] == ["commit", "tag", "push"]
    assert "A shiny feature." in data["notes"]
    assert data["release_notes"].lstrip().startswith("### New Features")


def snapshot(repo: Repo) -> tuple[str, str, bytes, str]:
    index = (repo.path / ".git" / "index").read_bytes()
    return repo.refs(), repo.git("status", "--porcelain"), index, remote_refs(repo)


def test_dry_run_changes_nothing(repo: Repo) -> None:
    """--dry-run prints plan, version and notes; refs, status and index stay byte-identical."""
    before = snapshot(repo)
    code, out, _ = cut(repo, "--dry-run")
    assert code == 0
    assert "release v8.1.0 of k8s from main" in out
    assert "[todo] atomic push of branch and tag" in out
    assert "- A shiny feature." in out
    assert snapshot(repo) == before


def test_prerelease_series_then_final(repo: Repo) -> None:
    """rc.1, then rc.2 on a new commit, then the final release consumes the same fragments."""
    code, _, err = cut(repo, "--pre", "rc")
    assert code == 0, err
    assert git(repo.remote, "rev-parse", "v8.1.0-rc.1^{commit}") == repo.git("rev-parse",
                                                                             "HEAD")
    assert (repo.path / "version").read_text() == "8.0.2\n"
    assert (repo.path / FRAGMENTS / "102.fix").exists()
    again = cut(repo, "--pre", "rc")
    assert again[0] == 1 and "already released as v8.1.0-rc.1" in again[2]
    add_fragments(repo, {"103.fix": "Another fix.\n"})
    assert cut(repo, "--pre", "rc")[0] == 0
    assert repo.git("tag", "--list", "v8.1.0*").split() == ["v8.1.0-rc.1", "v8.1.0-rc.2"]
    code, out, err = cut(repo)
    assert code == 0, err
    assert "released v8.1.0" in out
    changelog = (repo.path / "CHANGELOG.rst").read_text()
    assert "- Another fix." in changelog and "- A shiny feature." in changelog
    assert "rc" not in changelog


def test_hotfix_on_release_branch(repo: Repo) -> None:
    """A hotfix cut on release/v8.1 takes the hotfix fragments and bumps patch."""
    assert cut(repo)[0] == 0
    repo.git("checkout", "-q", "-b", "release/v8.1", "v8.1.0")
    repo.write(f"{FRAGMENTS}/hotfix/110.fix", "Urgent fix.\n")
    repo.commit_all("Hotfix fragment")
    repo.git("push", "-q", "-u", "origin", "release/v8.1")
    refused = cut(repo)
    assert refused[0] == 1 and "default branch 'main'" in refused[2]
    code, out, err = cut(repo, "--hotfix")
    assert code == 0, err
    assert "released v8.1.1" in out
    assert git(repo.remote, "rev-parse", "refs/heads/release/v8.1") == repo.git("rev-parse",
                                                                               "HEAD")
    assert not (repo.path / FRAGMENTS / "hotfix" / "110.fix").exists()
    assert "- Urgent fix." in (repo.path / "CHANGELOG.rst").read_text()
    again = cut(repo, "--hotfix")
    assert again[0] == 0 and "v8.1.1 is already released completely" in again[1], again
    repo.git("checkout", "-q", "main")
    on_main = cut(repo, "--hotfix", "--dry-run")
    assert on_main[0] == 1 and "a hotfix is cut on a release branch" in on_main[2]


def test_release_branch_created_on_first_minor(repo: Repo) -> None:
    """With create_release_branch, the first X.Y.0 also creates and pushes release/vX.Y."""
    config = (repo.path / "relbot.toml").read_text() + "create_release_branch = true\n"
    repo.write("relbot.toml", config)
    repo.commit_all("Create release branches")
    repo.push()
    assert cut(repo)[0] == 0
    assert git(repo.remote, "rev-parse", "refs/heads/release/v8.1") == repo.git("rev-parse",
                                                                               "HEAD")


@pytest.mark.reliability("Faults")
def test_push_rejected_because_someone_pushed_first(repo: Repo, tmp_path: Path) -> None:
    """Someone pushes between planning and the push: the remote refuses, stays untouched, the
    local repository is as before, and pull + rerun works."""
    other = repo.clone(tmp_path / "other")
    other.write("README", "someone else's work\n")
    other.commit_all("Someone else's commit")
    head = repo.git("rev-parse", "HEAD")
    # the moment relbot moves main locally (after planning), the other maintainer pushes
    hook = repo.path / ".git" / "hooks" / "reference-transaction"
    hook.write_text(
        "#!/bin/sh\n"
        '[ "$1" = committed ] || exit 0\n'
        'grep -q " refs/heads/main$" || exit 0\n'
        f'[ -e "{tmp_path}/pushed" ] && exit 0\n'
        f'touch "{tmp_path}/pushed"\n'
        f'env -u GIT_DIR -u GIT_INDEX_FILE git -C "{other.path}" push -q origin main\n')
    hook.chmod(0o755)
    code, _, err = cut(repo)
    hook.unlink()
    assert code == 1
    assert "someone pushed to main first" in err, err
    assert "nothing was released and your branch is back where it was" in err
    assert git(repo.remote, "rev-parse", "main") == other.git("rev-parse", "HEAD")
    assert git(repo.remote, "tag", "--list") == ""
    assert repo.git("rev-parse", "HEAD") == head
    assert repo.git("tag", "--list") == ""
    assert (repo.path / FRAGMENTS / "101.feature.shiny").exists()
    assert repo.git("status", "--porcelain") == ""
    repo.git("pull", "-q", "--rebase")
    code, _, err = cut(repo)
    assert code == 0, err
    assert git(repo.remote, "log", "--format=%s", "-2", "main").splitlines() == [
        "Release v8.1.0", "Someone else's commit"]


@pytest.mark.reliability("Faults")
def test_push_is_atomic_when_only_the_tag_is_refused(repo: Repo) -> None:
    """A remote that refuses only tags (an update hook, run once per ref): the branch must
    not move there either; without --atomic it would."""
    hook = repo.remote / "hooks" / "update"
    hook.write_text('#!/bin/sh\ncase "$1" in refs/tags/*) echo "no tags here" >&2; '
                    "exit 1;; esac\nexit 0\n")
    hook.chmod(0o755)
    before = remote_refs(repo)
    code, _, err = cut(repo)
    assert code == 1
    assert remote_refs(repo) == before
    assert "nothing was released" in err


def install_hook(remote: Path, script: str) -> Path:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\n" + script)
    hook.chmod(0o755)
    return hook


@pytest.mark.reliability("Faults")
def test_push_refused_by_hook_then_rerun_after_fix(repo: Repo) -> None:
    """A pre-receive hook's refusal moves nothing; once it is fixed, the rerun finishes."""
    hook = install_hook(repo.remote, 'echo "releases are frozen today" >&2\nexit 1\n')
    remote_before = remote_refs(repo)
    head = repo.git("rev-parse", "HEAD")
    code, _, err = cut(repo)
    assert code == 1
    assert "releases are frozen today" in err
    assert "nothing was released and your branch is back where it was" in err
    assert remote_refs(repo) == remote_before
    assert repo.git("rev-parse", "HEAD") == head and repo.git("tag", "--list") == ""
    hook.unlink()
    code, _, err = cut(repo)
    assert code == 0, err
    assert git(repo.remote, "rev-parse", "v8.1.0^{commit}") == repo.git("rev-parse", "HEAD")
    assert repo.git("rev-list", "--count", f"{head}..HEAD") == "1"


def relbot_process(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "relbot", "cut", "--yes", "--date",
                           "2024-10-01", *args], cwd=repo.path, capture_output=True, text=True,
                          check=False, env={**os.environ})


def kill_relbot_when(repo: Repo, ref: str) -> Path:
    """A reference-transaction hook that SIGKILLs relbot the moment ``ref`` is committed."""
    hook = repo.path / ".git" / "hooks" / "reference-transaction"
    hook.write_text(
        "#!/bin/sh\n"
        '[ "$1" = committed ] || exit 0\n'
        f'if grep -q " {ref}$"; then\n'
        '  git_pid=$PPID\n'
        '  relbot_pid=$(ps -o ppid= -p "$git_pid" | tr -d " ")\n'
        '  kill -9 "$relbot_pid"\n'
        "fi\n")
    hook.chmod(0o755)
    return hook


@pytest.mark.reliability("Faults")
@pytest.mark.parametrize("ref", ["refs/heads/main", "refs/tags/v8.1.0"],
                         ids=["after-commit", "after-tag"])
def test_killed_process_is_finished_by_rerun(repo: Repo, ref: str) -> None:
    """relbot killed right after the commit or the tag: the rerun finishes, one commit, one tag."""
    hook = kill_relbot_when(repo, ref)
    remote_before = remote_refs(repo)
    base = repo.git("rev-parse", "HEAD")
    killed = relbot_process(repo)
    assert killed.returncode == -9
    assert remote_refs(repo) == remote_before
    hook.unlink()
    rerun = relbot_process(repo)
    assert rerun.returncode == 0, rerun.stderr
    assert "released v8.1.0" in rerun.stdout
    assert repo.git("rev-list", "--count", f"{base}..HEAD") == "1"
    assert repo.git("tag", "--list") == "v8.1.0"
    assert git(repo.remote, "rev-parse", "v8.1.0^{commit}") == repo.git("rev-parse", "HEAD")
    assert repo.git("status", "--porcelain") == ""
    assert (repo.path / "version").read_text() == "8.1.0\n"
    assert "- A fix." in repo.git("tag", "-l", "--format=%(contents)", "v8.1.0")
    third = relbot_process(repo)
    assert third.returncode == 0 and "nothing to do" in third.stdout
    assert repo.git("rev-list", "--count", f"{base}..HEAD") == "1"


def test_no_push_then_rerun_pushes(repo: Repo) -> None:
    """--no-push stops after the tag; a later plain cut pushes that same release."""
    remote_before = remote_refs(repo)
    assert cut(repo, "--no-push")[0] == 0
    assert remote_refs(repo) == remote_before
    commit = repo.git("rev-parse", "HEAD")
    code, _, err = cut(repo)
    assert code == 0, err
    assert git(repo.remote, "rev-parse", "refs/heads/main") == commit
    assert git(repo.remote, "rev-parse", "v8.1.0^{commit}") == commit


def race(first: Repo, second: Repo) -> list[tuple[int, str, str]]:
    """Start `relbot cut --yes` in both clones at once (two maintainers); their results."""
    procs = [subprocess.Popen([sys.executable, "-m", "relbot", "cut", "--yes"],
                              cwd=r.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "GIT_COMMITTER_NAME": who,
                                              "GIT_AUTHOR_NAME": who})
             for r, who in ((first, "Maintainer A"), (second, "Maintainer B"))]
    return [(p.wait(), *p.communicate()) for p in procs]


def assert_one_winner(results: list[tuple[int, str, str]], remote: Path) -> None:
    """Exactly one release reached the remote; the loser said why, in one sentence."""
    assert sorted(code for code, _, _ in results) == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert "someone" in loser and "Traceback" not in loser
    assert len(loser.strip().splitlines()) == 1
    assert git(remote, "tag", "--list") == "v8.1.0"
    assert git(remote, "log", "--format=%s", "-1", "main") == "Release v8.1.0"
    assert git(remote, "rev-list", "--count", "main") == "3"


@pytest.mark.reliability("Races")
def test_two_cuts_racing(repo: Repo, tmp_path: Path) -> None:
    """Two cuts from two clones at once: exactly one release; the loser exits 1 and says why."""
    second = repo.clone(tmp_path / "second")
    assert_one_winner(race(repo, second), repo.remote)


@pytest.mark.parametrize(
    ("prepare", "args", "code", "message"),
    [
        (lambda r: r.write("version", "9.9.9\n"), [], 1, "the work tree is not clean (version)"),
        (lambda r: (r.git("commit", "-q", "--allow-empty", "-m", "x"), r.push(),
                    r.git("reset", "-q", "--hard", "HEAD^")), [], 1,
         "'main' is behind origin/main"),
        (lambda r: (r.git("rm", "-q", f"{FRAGMENTS}/101.feature.shiny", f"{FRAGMENTS}/102.fix"),
                    r.commit_all("drop")), [], 1,
         "there are no pending fragments in docs/_releasenotes: nothing to release."),
        (lambda r: (r.write(f"{FRAGMENTS}/103.feture", "x"), r.commit_all("typo")), [], 1,
         "fragments do not pass lint: docs/_releasenotes/103.feture: type 'feture' is not "
         "declared"),
        (lambda r: (r.git("tag", "v8.1.0", "HEAD^")), [], 1,
         "tag v8.1.0 already exists (on commit"),
        (lambda r: None, ["--version", "8.0.1"], 2,
         "version 8.0.1 does not come after the current version 8.0.2"),
        (lambda r: r.git("checkout", "-q", "-b", "feature-x"), [], 1,
         "releases are cut on the default branch 'main', not on 'feature-x'"),
        (lambda r: (r.write(f"{FRAGMENTS}/x.fix.later", "y"), r.commit_all("placeholder")), [],
         1, "docs/_releasenotes/x.fix.later still has the placeholder number 'x'"),
    ],
)
def test_refusals(repo: Repo, prepare: object, args: list[str], code: int,
                  message: str) -> None:
    """Each precondition refuses with one sentence and changes nothing, locally or remotely."""
    prepare(repo)  # type: ignore[operator]
    before = (repo.refs(), remote_refs(repo))
    result = run(["cut", "--yes", *args], repo.path)
    assert result.code == code
    assert message in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1
    assert (repo.refs(), remote_refs(repo)) == before


def test_without_yes_and_without_terminal(repo: Repo) -> None:
    """Without --yes and no terminal to ask on, cut refuses instead of guessing."""
    result = run(["cut"], repo.path)
    assert result.code == 2 and "pass --yes" in result.err


def test_gitlab_ci_detached_head(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """In GitLab CI (detached HEAD, CI_COMMIT_BRANCH set) the branch is attached and pushed."""
    repo.git("checkout", "-q", "--detach")
    monkeypatch.setenv("CI_COMMIT_BRANCH", "main")
    code, _, err = cut(repo)
    assert code == 0, err
    assert repo.git("symbolic-ref", "--short", "HEAD") == "main"
    assert git(repo.remote, "log", "-1", "--format=%s", "main") == "Release v8.1.0"


@pytest.mark.realworld
def test_real_world_cut(real_world: Path) -> None:
    """The real Yaook/K8s v8.1.0 cut: version, tag, fragments gone, the released changelog."""
    assert run(["init", "--preset", "yaook-k8s"], real_world).code == 0
    # the stored v8.1.0 data holds no Kubernetes declaration for the policy to check
    config = real_world / "relbot.toml"
    config.write_text(config.read_text().replace('policies = ["kubernetes"]', "policies = []"))
    git(real_world, "init", "-q", "-b", "main")
    git(real_world, "add", "-A")
    git(real_world, "commit", "-q", "-m", "State before v8.1.0")
    result = run(["cut", "--yes", "--no-push", "--date", "2024-10-01"], real_world)
    assert result.code == 0, result.err
    assert (real_world / "version").read_text() == "8.1.0\n"
    assert git(real_world, "tag", "--list") == "v8.1.0"
    left = [p.name for p in (real_world / "docs" / "_releasenotes").iterdir()]
    assert sorted(left) == [".gitignore", "hotfix"]
    before = (REAL_WORLD / "CHANGELOG.rst").read_text(encoding="utf-8")
    section = (REAL_WORLD / "expected-section.rst").read_text(encoding="utf-8")
    marker = ".. towncrier release notes start\n"
    released = before.replace(marker, marker + section, 1)
    produced = (real_world / "CHANGELOG.rst").read_text(encoding="utf-8")
    assert sorted(produced.splitlines()) == sorted(released.splitlines())
    assert mr_order_free(produced) == mr_order_free(released)
    assert git(real_world, "status", "--porcelain") == ""


def test_repo_fixture_is_shaped_like_yaook(tmp_path: Path) -> None:
    """The test repository uses the yaook-k8s preset's own configuration files."""
    repo = make_repo(tmp_path, yaook_like_files("1.0.0"))
    assert (repo.path / "relbot.toml").read_text().startswith("# relbot configuration for "
                                                               "Yaook/K8s")
