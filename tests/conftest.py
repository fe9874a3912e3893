"""Shared fixtures: real git repositories with a bare remote, the CLI, the network fence."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from relbot.cli import cli

PROJECT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("RELBOT_SHARED_DIR", PROJECT.parent / "shared"))
REAL_WORLD = SHARED / "real-world" / "yaook-k8s-v8.1.0"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: Any) -> None:
    """Every test gets a clean git identity and no CI or token variables of the host."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    for key in list(os.environ):
        if key.startswith(("CI_", "GITLAB_", "RELBOT_")) or key in ("CI", "EDITOR", "VISUAL"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"tests may not reach the network ({host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests reach nothing but loopback (the GitLab stand-in, git daemon)."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in ``cwd`` and return its stripped output."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


@dataclass
class Repo:
    """A work tree with a bare remote ``origin``, both real git repositories."""

    path: Path
    remote: Path

    def git(self, *args: str, check: bool = True) -> str:
        """Run git in the work tree."""
        return git(self.path, *args, check=check)

    def write(self, relpath: str, text: str) -> Path:
        """Write a file (creating directories)."""
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    def commit_all(self, message: str) -> str:
        """Commit everything; returns the commit id."""
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def push(self, *refs: str) -> None:
        """Push refs (default: the current branch) to origin."""
        self.git("push", "-q", "origin", *(refs or ("HEAD",)))

    def refs(self, where: Path | None = None) -> str:
        """All refs with their targets, of the work tree or of ``where``."""
        return git(where or self.path, "for-each-ref", "--format=%(refname) %(objectname)")

    def clone(self, dest: Path) -> Repo:
        """Another work tree of the same remote."""
        git(self.path.parent, "clone", "-q", str(self.remote), str(dest))
        return Repo(dest, self.remote)


def make_repo(base: Path, files: dict[str, str], *, branch: str = "main") -> Repo:
    """A repository holding ``files`` on ``branch``, pushed to a fresh bare remote."""
    remote = base / "remote.git"
    work = base / "work"
    git(base, "init", "-q", "--bare", "-b", branch, str(remote))
    git(base, "init", "-q", "-b", branch, str(work))
    repo = Repo(work, remote)
    for relpath, text in files.items():
        repo.write(relpath, text)
    repo.commit_all("Initial commit")
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "-u", "origin", branch)
    repo.git("remote", "set-head", "origin", branch)
    return repo


YAOOK_TOWNCRIER = (REAL_WORLD / "towncrier.toml") if REAL_WORLD.exists() else None


def yaook_like_files(version: str = "8.0.2") -> dict[str, str]:
    """A small repository shaped like Yaook/K8s (written here, not copied from it)."""
    from relbot.presets import YAOOK_K8S

    return {
        "relbot.toml": YAOOK_K8S.relbot_toml.replace('policies = ["kubernetes"]', "policies = []")
        .replace('forge = "gitlab"', 'forge = "none"'),
        "towncrier.toml": YAOOK_K8S.towncrier_toml,
        "version": version + "\n",
        "CHANGELOG.rst": "Releasenotes\n============\n\n.. towncrier release notes start\n",
        "docs/_releasenotes/.gitignore": "!.gitignore\n",
        "docs/_releasenotes/hotfix/.gitignore": "!.gitignore\n",
    }


@pytest.fixture
def yaook_repo(tmp_path: Path) -> Repo:
    """A Yaook/K8s-like repository at 8.0.2 with a bare remote and no fragments."""
    return make_repo(tmp_path, yaook_like_files())


@pytest.fixture
def real_world(tmp_path: Path) -> Iterator[Path]:
    """A writable copy of the real Yaook/K8s v8.1.0 data (skips where ../shared is absent)."""
    if not REAL_WORLD.is_dir():
        pytest.skip(f"real-world data not found at {REAL_WORLD} (../shared is absent)")
    target = tmp_path / "yaook-k8s"
    shutil.copytree(REAL_WORLD, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield target


@dataclass
class Run:
    """Result of one CLI run."""

    code: int
    out: str
    err: str


def run(args: list[str], cwd: Path | None = None, input: str | None = None) -> Run:
    """Run the relbot CLI in-process (with ``-C cwd`` when given)."""
    runner = CliRunner()
    full = list(args)
    if cwd is not None:
        full += ["-C", str(cwd)]
    result: Result = runner.invoke(cli, full, input=input, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)
pytest_plugins = ["tests.gitlab_fixtures"]  # the GitLab stand-in fixtures
