"""A newcomer's first hour: ordinary situations get one sentence and the right exit code."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Repo, make_repo, run

RELBOT = [sys.executable, "-m", "relbot"]


def relbot(cwd: Path, *args: str, env: dict[str, str] | None = None,
           shell_tail: str = "") -> subprocess.CompletedProcess[str]:
    """relbot in its own process (a real stdout, real signals), optionally piped on."""
    full_env = {**os.environ, **(env or {})}
    if shell_tail:
        command = " ".join(f"'{a}'" for a in [*RELBOT, *args]) + " " + shell_tail
        return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=cwd,
                              capture_output=True, text=True, env=full_env, check=False)
    return subprocess.run([*RELBOT, *args], cwd=cwd, capture_output=True, text=True,
                          env=full_env, check=False)


def one_sentence(err: str) -> None:
    assert err.startswith("relbot: ") and err.count("\n") == 1, err
    assert "internal error" not in err and "please report it" not in err
    assert "Traceback" not in err


def test_fragment_new_without_a_terminal(yaook_repo: Repo) -> None:
    """No TEXT and no terminal: one sentence saying how to give the text, exit 2."""
    result = run(["fragment", "new", "fix"], yaook_repo.path)
    assert result.code == 2
    one_sentence(result.err)
    assert "no terminal to open an editor in" in result.err
    assert "relbot fragment new fix '" in result.err


def test_fragment_new_with_a_failing_editor(yaook_repo: Repo) -> None:
    """EDITOR=false on a real terminal: one sentence, nothing written, exit 2."""
    main, secondary = pty.openpty()
    proc = subprocess.run([*RELBOT, "fragment", "new", "fix"], cwd=yaook_repo.path,
                          stdin=secondary, stdout=secondary, stderr=subprocess.PIPE,
                          env={**os.environ, "EDITOR": "false"}, text=True, check=False,
                          timeout=60)
    os.close(secondary)
    os.close(main)
    assert proc.returncode == 2
    one_sentence(proc.stderr)
    assert "the editor did not work" in proc.stderr
    assert not list((yaook_repo.path / "docs/_releasenotes").glob("x.fix*"))


@pytest.mark.parametrize("args", [["demo"], ["cut", "--dry-run"], ["--help"]])
def test_output_closed_early_ends_quietly(yaook_repo: Repo, args: list[str]) -> None:
    """`relbot demo | head -1`: the first line, then silence (no BrokenPipeError)."""
    yaook_repo.write("docs/_releasenotes/5.feature.thing", "A thing.\n" * 2000)
    yaook_repo.commit_all("big")
    # a private TMPDIR: the demo's temporary directory is no other test's business
    result = relbot(yaook_repo.path, *args, shell_tail="| head -1",
                    env={"TMPDIR": str(yaook_repo.path.parent)})
    assert result.stdout.count("\n") == 1 and result.stdout.strip()
    assert result.stderr == ""


def test_demo_keep_on_an_existing_directory(tmp_path: Path) -> None:
    """`demo --keep DIR` where DIR exists: one sentence, exit 2, the directory untouched."""
    existing = tmp_path / "mine"
    existing.mkdir()
    (existing / "notes.txt").write_text("keep me\n")
    result = run(["demo", "--keep", str(existing)], tmp_path)
    assert result.code == 2
    one_sentence(result.err)
    assert "exists already" in result.err
    assert [p.name for p in existing.iterdir()] == ["notes.txt"]


def test_ctrl_c_at_the_confirmation_prompt(yaook_repo: Repo) -> None:
    """Ctrl-C (or Ctrl-D) at "Go ahead?" is "no": cancelled, nothing changed, exit 1."""
    yaook_repo.write("docs/_releasenotes/6.fix", "A fix.\n")
    yaook_repo.commit_all("fix")
    head = yaook_repo.git("rev-parse", "HEAD")
    main, secondary = pty.openpty()
    proc = subprocess.Popen([*RELBOT, "cut"], cwd=yaook_repo.path, stdin=secondary,
                            stdout=secondary, stderr=subprocess.PIPE, text=True)
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 60
    shown = b"merge_requests/6>`_)"  # the plan's notes end; then input() asks "Go ahead?"
    while shown not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1)
        if ready:
            seen += os.read(main, 4096)
    assert shown in seen, seen
    time.sleep(1)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C at a terminal sends
    _, err = proc.communicate(timeout=60)
    os.close(main)
    assert proc.returncode == 1
    assert "cancelled; nothing was changed." in err
    assert "internal error" not in err and "Traceback" not in err
    assert yaook_repo.git("rev-parse", "HEAD") == head
    assert yaook_repo.git("tag") == ""


@pytest.mark.parametrize("epoch", ["99999999999999999", "-99999999999999", "soon"])
def test_source_date_epoch_out_of_range(yaook_repo: Repo, epoch: str) -> None:
    """A SOURCE_DATE_EPOCH relbot cannot use: one sentence naming it, exit 2."""
    result = relbot(yaook_repo.path, "notes", env={"SOURCE_DATE_EPOCH": epoch})
    assert result.returncode == 2
    assert "SOURCE_DATE_EPOCH" in result.stderr and "Traceback" not in result.stderr
    assert "internal error" not in result.stderr


def test_subdirectory_finds_the_repository_root(yaook_repo: Repo) -> None:
    """From docs/_releasenotes, relbot works on the repository, as git does."""
    yaook_repo.write("docs/_releasenotes/7.feature", "A feature.\n")
    yaook_repo.commit_all("feature")
    result = relbot(yaook_repo.path / "docs" / "_releasenotes", "next-version")
    assert (result.returncode, result.stdout) == (0, "8.1.0\n"), result.stderr


def test_dash_c_before_the_command(yaook_repo: Repo, tmp_path: Path) -> None:
    """`relbot -C DIR next-version` as `git -C DIR`; a missing DIR is one sentence, exit 2."""
    yaook_repo.write("docs/_releasenotes/8.fix", "A fix.\n")
    yaook_repo.commit_all("fix")
    result = relbot(tmp_path, "-C", str(yaook_repo.path), "next-version")
    assert (result.returncode, result.stdout) == (0, "8.0.3\n"), result.stderr
    nested = relbot(tmp_path, "-C", str(yaook_repo.path), "next-version", "-C", "docs")
    assert (nested.returncode, nested.stdout) == (0, "8.0.3\n"), nested.stderr
    for args in (["-C", "/nonexistent", "next-version"], ["next-version", "-C", "/nonexistent"]):
        missing = relbot(tmp_path, *args)
        assert missing.returncode == 2
        assert "/nonexistent: the directory does not exist." in missing.stderr
        assert "Traceback" not in missing.stderr


def test_relbot_alone_prints_help(tmp_path: Path) -> None:
    """`relbot` with no command: the help, exit 0; it mentions shell completion."""
    result = relbot(tmp_path)
    assert result.returncode == 0
    assert "Commands:" in result.stdout and "_RELBOT_COMPLETE=bash_source" in result.stdout


def test_missing_git_identity_gets_a_hint(tmp_path: Path) -> None:
    """A cut without user.name/user.email says how to set them."""
    repo = make_repo(tmp_path, {"towncrier.toml": '[tool.towncrier]\ndirectory = "c"\n',
                                "relbot.toml": 'forge = "none"\n[[component]]\n'
                                               'version_file = "VERSION"\n',
                                "VERSION": "1.0.0\n", "c/1.feature": "A feature.\n"})
    env = {k: "" for k in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                           "GIT_COMMITTER_EMAIL")}
    env["EMAIL"] = ""
    clean = {k: v for k, v in os.environ.items() if k not in env}
    proc = subprocess.run([*RELBOT, "cut", "--yes", "--no-push"], cwd=repo.path,
                          capture_output=True, text=True, check=False,
                          env={**clean, "GIT_CONFIG_NOSYSTEM": "1",
                               "GIT_CONFIG_GLOBAL": str(tmp_path / "none")})
    assert proc.returncode == 1, proc.stderr
    assert "git config --global user.name" in proc.stderr
    assert "internal error" not in proc.stderr


def test_no_push_note_only_with_a_remote(tmp_path: Path) -> None:
    """Without a remote there is nothing to push later: no "not pushed (--no-push)" line."""
    root = tmp_path / "solo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    (root / "towncrier.toml").write_text('[tool.towncrier]\ndirectory = "c"\n')
    (root / "relbot.toml").write_text('forge = "none"\n[[component]]\nversion_file = "V"\n')
    (root / "V").write_text("1.0.0\n")
    (root / "c").mkdir()
    (root / "c" / "1.feature").write_text("A feature.\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=root, check=True)
    result = run(["cut", "--yes", "--no-push", "--date", "2024-01-01"], root)
    assert result.code == 0, result.err
    assert "released v1.0.1" in result.out
    assert "not pushed" not in result.out


def test_guides_install_relbot_in_a_way_that_works() -> None:
    """relbot is not on PyPI: the guides install it from Git or a checkout, never by name."""
    from tests.conftest import PROJECT

    for guide in ("getting-started.md", "migration.md"):
        text = (PROJECT / "docs" / guide).read_text(encoding="utf-8")
        assert not re.search(r"pip install relbot(?![\w./-])", text), guide
        assert "pip install ./relbot" in text or "pip install \"git+https://" in text, guide
