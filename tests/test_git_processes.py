"""How relbot drives git: a constant number of processes, stale stat data, non-ASCII paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.test_cut import add_fragments, kill_relbot_when

FRAGMENTS = "docs/_releasenotes"
DATE = "2024-10-01"


def relbot(repo: Repo, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "relbot", *args], cwd=repo.path,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})


def git_logger(directory: Path) -> tuple[dict[str, str], Path]:
    """A ``git`` first on PATH that logs each call's arguments, then runs the real git."""
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True,
                          check=True).stdout.strip()
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True)
    log = directory / "git-calls.log"
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$1 $2" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, log


def test_cut_runs_a_constant_number_of_git_processes(tmp_path: Path, yaook_repo: Repo) -> None:
    """One cut starts as many git processes at 1,000 fragments as at 10."""
    counts = {}
    for count in (10, 1000):
        repo = yaook_repo.clone(tmp_path / f"clone-{count}")
        repo.git("checkout", "-q", "-B", "main", "origin/main")
        repo.git("remote", "set-head", "origin", "main")
        names = {f"{n}.fix": f"Fix number {n}.\n" for n in range(1, count + 1)}
        add_fragments(repo, names)
        env, log = git_logger(tmp_path / f"log-{count}")
        done = relbot(repo, "cut", "--yes", "--no-push", "--date", DATE, env=env)
        assert done.returncode == 0, done.stderr
        assert list((repo.path / FRAGMENTS).glob("*.fix")) == []
        assert repo.git("status", "--porcelain") == ""
        counts[count] = log.read_text().splitlines()
    assert len(counts[1000]) == len(counts[10]), (counts[10], counts[1000])
    # 22 since the plan asks the remote once and resolves revisions through the batch
    # (35 before): 11 questions while planning, 11 to commit, move the branch and tag.
    assert len(counts[10]) <= 22, counts[10]
    assert sum(call.startswith("ls-remote") for call in counts[10]) == 1, counts[10]
    assert counts[10].count("cat-file --batch") == 1, counts[10]
    assert not [call for call in counts[10] if call.startswith(("rev-parse --verify",
                                                                "cat-file -e"))], counts[10]


def test_pushing_cut_asks_the_remote_once_before_pushing(tmp_path: Path,
                                                         yaook_repo: Repo) -> None:
    """Branch, remote HEAD, tag, then the push step's refs: one ls-remote answers them all."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    yaook_repo.git("remote", "set-head", "origin", "main")
    env, log = git_logger(tmp_path / "log")
    done = relbot(yaook_repo, "cut", "--yes", "--date", DATE, env=env)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert [call.split()[0] for call in calls].count("ls-remote") == 1, calls
    assert [call.split()[0] for call in calls].count("push") == 1, calls
    assert yaook_repo.git("ls-remote", "origin", "refs/tags/v8.1.0") != ""
    assert yaook_repo.git("ls-remote", "origin", "refs/heads/main").split()[0] == \
        yaook_repo.git("rev-parse", "HEAD")


def test_cut_without_a_forge_renders_the_notes_once(yaook_repo: Repo,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """forge = "none": no forge release, so its Markdown text is never rendered."""
    import relbot.notes
    from tests.conftest import run

    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    renders = []
    real = relbot.notes._sandboxed_render

    def counting(*args: object, **kwargs: object) -> str:
        renders.append(args[1])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(relbot.notes, "_sandboxed_render", counting)
    done = run(["cut", "--yes", "--no-push", "--date", DATE], yaook_repo.path)
    assert done.code == 0, done.err
    assert len(renders) == 1, renders
    assert "A shiny feature." in yaook_repo.git("tag", "-l", "--format=%(contents)", "v8.1.0")


@pytest.mark.reliability("Faults")
def test_resumed_cut_runs_a_constant_number_of_git_processes(tmp_path: Path,
                                                             yaook_repo: Repo) -> None:
    """A rerun after a crash reads the removed fragments' texts in one batch, not one each."""
    counts = {}
    for count in (10, 300):
        repo = yaook_repo.clone(tmp_path / f"clone-{count}")
        repo.git("checkout", "-q", "-B", "main", "origin/main")
        repo.git("remote", "set-head", "origin", "main")
        add_fragments(repo, {f"{n}.fix": f"Fix number {n}.\n" for n in range(1, count + 1)})
        hook = kill_relbot_when(repo, "refs/heads/main")
        killed = relbot(repo, "cut", "--yes", "--no-push", "--date", DATE)
        assert killed.returncode == -9, killed.stderr
        hook.unlink()
        env, log = git_logger(tmp_path / f"log-{count}")
        done = relbot(repo, "cut", "--yes", "--no-push", "--date", DATE, env=env)
        assert done.returncode == 0, done.stderr
        message = repo.git("tag", "--list", "--format=%(contents)", "v8.0.3")
        assert f"Fix number {count}." in message
        counts[count] = log.read_text().splitlines()
    assert len(counts[300]) == len(counts[10]), (counts[10], counts[300])
    assert counts[10].count("cat-file --batch") == 1


@pytest.mark.reliability("Faults")
def test_cut_after_touching_the_version_file(yaook_repo: Repo) -> None:
    """Stale stat data in the index (an editor save, a cache restore) never breaks a cut."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    base = yaook_repo.git("rev-parse", "HEAD")
    version = yaook_repo.path / "version"
    stat = version.stat()
    os.utime(version, (stat.st_atime + 100, stat.st_mtime + 100))
    done = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert done.returncode == 0, done.stderr
    assert yaook_repo.git("rev-parse", "HEAD^") == base
    assert version.read_text() == "8.1.0\n"
    assert yaook_repo.git("status", "--porcelain") == ""
    assert not (yaook_repo.path / FRAGMENTS / "101.feature.shiny").exists()


@pytest.mark.reliability("Faults")
def test_rerun_after_a_crash_and_a_touched_file(yaook_repo: Repo) -> None:
    """Killed after the branch moved, then a file touched: the rerun still finishes it."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    base = yaook_repo.git("rev-parse", "HEAD")
    hook = kill_relbot_when(yaook_repo, "refs/heads/main")
    killed = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert killed.returncode == -9, killed.stderr
    hook.unlink()
    for name in ("version", "CHANGELOG.rst"):
        path = yaook_repo.path / name
        stat = path.stat()
        os.utime(path, (stat.st_atime + 100, stat.st_mtime + 100))
    rerun = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert rerun.returncode == 0, rerun.stderr
    assert yaook_repo.git("rev-parse", "HEAD^") == base
    assert (yaook_repo.path / "version").read_text() == "8.1.0\n"
    assert yaook_repo.git("status", "--porcelain") == ""
    assert yaook_repo.git("tag", "--list") == "v8.1.0"


@pytest.mark.reliability("Faults")
def test_resumed_release_keeps_non_ascii_fragment_names(yaook_repo: Repo) -> None:
    """Killed after the commit, the rerun's tag message holds every entry, café included."""
    add_fragments(yaook_repo, {"2.feature.café": "Café support.\n",
                               "3.fix.plain": "A plain fix.\n"})
    hook = kill_relbot_when(yaook_repo, "refs/heads/main")
    killed = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert killed.returncode == -9, killed.stderr
    hook.unlink()
    preview = relbot(yaook_repo, "cut", "--dry-run", "--json", "--date", DATE)
    assert preview.returncode == 0, preview.stderr
    plan = json.loads(preview.stdout)
    assert plan["resumed"] is True
    assert "Café support." in plan["notes"]  # the tag message's notes
    assert "Café support." in plan["release_notes"]  # the forge release's text
    assert f"{FRAGMENTS}/2.feature.café" in plan["fragments"]
    rerun = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert rerun.returncode == 0, rerun.stderr
    message = yaook_repo.git("tag", "--list", "--format=%(contents)", "v8.1.0")
    assert "Café support." in message
    assert "A plain fix." in message


def test_next_version_from_tags_without_gitpython(yaook_repo: Repo) -> None:
    """Without version_file, next-version reads the tags without importing gitpython."""
    config = yaook_repo.path / "relbot.toml"
    config.write_text(config.read_text().replace('version_file = "version"\n', ""))
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    yaook_repo.git("tag", "-a", "-m", "Release v8.0.2", "v8.0.2", "HEAD~1")
    yaook_repo.git("tag", "-a", "-m", "Release v9.0.0-rc.1", "v9.0.0-rc.1")
    code = ("import sys\nfrom relbot.cli import main\nsys.argv=['relbot', 'next-version']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', [m for m in ('git', 'towncrier._builder', 'jinja2', 'gitlab')"
            " if m in sys.modules], file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=yaook_repo.path,
                          capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "8.1.0", done.stderr
    assert "HEAVY []" in done.stderr, done.stderr


def test_next_version_reads_fragment_names_not_contents(yaook_repo: Repo) -> None:
    """next-version needs only the types: a fragment's bytes are lint's business."""
    (yaook_repo.path / FRAGMENTS / "102.fix.latin1").write_bytes(b"Caf\xe9 fix.\n")
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    done = relbot(yaook_repo, "next-version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "8.1.0\n"
    lint = relbot(yaook_repo, "fragment", "lint")
    assert lint.returncode == 1
    assert "not UTF-8" in lint.stdout


def test_policy_check_at_a_base_runs_a_constant_number_of_git_processes(
        tmp_path: Path) -> None:
    """policy check --base reads the probed files of the base in one batch, not one each."""
    from bench.generate import generate_probed
    from bench.run import supported_kubernetes

    relbot_argv = [sys.executable, "-m", "relbot"]
    old, new = supported_kubernetes(relbot_argv, dict(os.environ), tmp_path)
    counts = {}
    for files in (3, 60):
        where = generate_probed(tmp_path / f"probed-{files}", files, old, new)
        env, log = git_logger(tmp_path / f"log-{files}")
        done = subprocess.run([*relbot_argv, "policy", "check", "--base", "HEAD~1"],
                              cwd=where, capture_output=True, text=True, check=False,
                              env={**os.environ, **env})
        assert done.returncode == 0, done.stderr
        counts[files] = log.read_text().splitlines()
    assert len(counts[60]) == len(counts[3]), (counts[3], counts[60])


def test_batch_questions_see_refs_moved_meanwhile_and_names_with_spaces(
        yaook_repo: Repo) -> None:
    """rev() asks the long-lived batch: a ref another process moved reads anew, and a
    missing path with spaces is "missing", not a broken answer."""
    from relbot.git import GitRepo

    add_fragments(yaook_repo, {"101.fix": "A fix.\n"})
    git = GitRepo(yaook_repo.path)
    head = git.rev("HEAD")
    assert head == yaook_repo.git("rev-parse", "HEAD")
    assert git.rev("refs/heads/elsewhere") is None
    yaook_repo.git("branch", "elsewhere", "HEAD~1")
    assert git.rev("refs/heads/elsewhere") == yaook_repo.git("rev-parse", "HEAD~1")
    yaook_repo.git("pack-refs", "--all")
    yaook_repo.git("update-ref", "refs/heads/elsewhere", "HEAD")
    assert git.rev("refs/heads/elsewhere") == head
    assert git.file_at("HEAD", "no file.txt") is None  # "HEAD:no file.txt missing"
    assert git.file_at("HEAD", "version") == b"8.0.2\n"
    assert git.has_object(head or "")
    git.close()


def test_mr_check_runs_a_constant_number_of_git_processes(tmp_path: Path,
                                                          yaook_repo: Repo) -> None:
    """mr check on a base with 10 and with 300 fragments starts the same git processes:
    one cat-file --batch for the trusted configuration and the revisions, no listing of
    the base's whole tree, and (without a version file) the tags listed once and one
    ancestry question, though the preview asks for the current version twice."""
    config = yaook_repo.path / "relbot.toml"
    config.write_text(config.read_text().replace('version_file = "version"\n', ""))
    yaook_repo.commit_all("Versions from tags")
    yaook_repo.git("tag", "-a", "-m", "Release v8.0.2", "v8.0.2")
    yaook_repo.push("HEAD", "v8.0.2")
    counts = {}
    for count in (10, 300):
        repo = yaook_repo.clone(tmp_path / f"clone-{count}")
        repo.git("checkout", "-q", "-B", "main", "origin/main")
        add_fragments(repo, {f"{n}.fix": f"Fix number {n}.\n" for n in range(1, count + 1)})
        base = repo.git("rev-parse", "HEAD")
        repo.git("checkout", "-q", "-b", f"mr-{count}")
        add_fragments(repo, {"999.fix": "The MR's own fix.\n"})
        env, log = git_logger(tmp_path / f"log-{count}")
        done = relbot(repo, "mr", "check", "--no-comment", "--iid", "999", "--base", base,
                      env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "if merged now: 8.0.2 -> 8.0.3" in done.stdout, done.stdout
        counts[count] = log.read_text().splitlines()
    assert sorted(counts[300]) == sorted(counts[10]), (counts[10], counts[300])
    calls = [call.split()[0] for call in counts[10]]
    assert calls.count("cat-file") == 1 and "ls-tree" not in calls, counts[10]
    assert calls.count("for-each-ref") == 1 and calls.count("merge-base") == 1, counts[10]


def test_next_version_of_a_patch_release_lists_the_tags_once(yaook_repo: Repo,
                                                              tmp_path: Path) -> None:
    """From tags, a patch bump (which looks past hotfix tags) lists the tags once."""
    config = yaook_repo.path / "relbot.toml"
    config.write_text(config.read_text().replace('version_file = "version"\n', ""))
    yaook_repo.git("tag", "-a", "-m", "Release v8.0.2", "v8.0.2")
    add_fragments(yaook_repo, {"101.fix": "A fix.\n"})
    env, log = git_logger(tmp_path / "log")
    done = relbot(yaook_repo, "next-version", env=env)
    assert done.stdout == "8.0.3\n", done.stderr
    calls = [call.split()[0] for call in log.read_text().splitlines()]
    assert calls.count("for-each-ref") == 1, calls
