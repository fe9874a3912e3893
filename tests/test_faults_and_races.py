"""Faults, races and secrets around `relbot cut`: whole releases or none, nothing leaked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, git, make_repo, yaook_like_files
from tests.test_cut import (
    add_fragments,
    assert_one_winner,
    kill_relbot_when,
    race,
    remote_refs,
)

faults = pytest.mark.reliability("Faults")


def relbot(repo: Repo, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "relbot", *args], cwd=repo.path,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def repo(yaook_repo: Repo) -> Repo:
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n", "102.fix": "Fix.\n"})
    return yaook_repo


def kill_relbot_after_push(repo: Repo) -> Path:
    """A post-receive hook on the remote that SIGKILLs relbot once the refs have moved."""
    hook = repo.remote / "hooks" / "post-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "pid=$PPID\n"  # receive-pack
        "for _ in 1 2 3 4; do\n"
        '  pid=$(ps -o ppid= -p "$pid" | tr -d " ")\n'
        '  if ps -o args= -p "$pid" | grep -q "relbot"; then kill -9 "$pid"; exit 0; fi\n'
        "done\n")
    hook.chmod(0o755)
    return hook


def assert_one_whole_release(repo: Repo, base: str) -> None:
    assert repo.git("rev-list", "--count", f"{base}..HEAD") == "1"
    assert repo.git("tag", "--list") == "v8.1.0"
    assert git(repo.remote, "tag", "--list") == "v8.1.0"
    assert git(repo.remote, "rev-parse", "main") == repo.git("rev-parse", "HEAD")
    assert git(repo.remote, "rev-parse", "v8.1.0^{commit}") == repo.git("rev-parse", "HEAD")
    assert repo.git("status", "--porcelain") == ""


@faults
@pytest.mark.parametrize("point", ["refs/heads/main", "refs/tags/v8.1.0", "push"],
                         ids=["after-commit", "after-tag", "after-push"])
def test_killed_at_each_step(repo: Repo, point: str) -> None:
    """Killed after any step, the remote holds all of the release or none; a rerun finishes."""
    hook = kill_relbot_after_push(repo) if point == "push" else kill_relbot_when(repo, point)
    base = repo.git("rev-parse", "HEAD")
    before = remote_refs(repo)
    killed = relbot(repo, "cut", "--yes")
    assert killed.returncode == -9, killed.stderr
    after = remote_refs(repo)
    if point == "push":
        assert "refs/tags/v8.1.0" in after  # the remote took all of it ...
        assert git(repo.remote, "rev-parse", "main") == repo.git("rev-parse", "HEAD")
    else:
        assert after == before  # ... or none of it
    hook.unlink()
    rerun = relbot(repo, "cut", "--yes")
    assert rerun.returncode == 0, rerun.stderr
    assert_one_whole_release(repo, base)


@faults
@pytest.mark.parametrize("problem", ["unreachable", "refusing-hook"])
def test_remote_failures_leave_nothing_half_done(repo: Repo, problem: str) -> None:
    """An unreachable or refusing remote: one sentence, remote untouched, repository as before."""
    base = repo.git("rev-parse", "HEAD")
    before = remote_refs(repo)
    if problem == "unreachable":
        real = repo.git("remote", "get-url", "origin")
        repo.git("remote", "set-url", "origin", str(repo.path.parent / "gone.git"))
    else:
        hook = repo.remote / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'tags are protected' >&2\nexit 1\n")
        hook.chmod(0o755)
    result = relbot(repo, "cut", "--yes")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert remote_refs(repo) == before
    assert repo.git("rev-parse", "HEAD") == base and repo.git("tag", "--list") == ""
    if problem == "unreachable":
        repo.git("remote", "set-url", "origin", real)
    else:
        hook.unlink()
    assert relbot(repo, "cut", "--yes").returncode == 0
    assert_one_whole_release(repo, base)


@pytest.mark.reliability("Races")
def test_twenty_races(tmp_path: Path) -> None:
    """Twenty times, two cuts from two clones at once: exactly one release each time."""
    for round_ in range(20):
        base_dir = tmp_path / f"round{round_}"
        base_dir.mkdir()
        first = make_repo(base_dir, yaook_like_files())
        add_fragments(first, {"1.feature": "Feature.\n"})
        second = first.clone(base_dir / "second")
        assert_one_winner(race(first, second), first.remote)


secrets = pytest.mark.reliability("Secrets")


@secrets
def test_credentials_in_a_remote_url_never_printed(repo: Repo) -> None:
    """A password in the remote URL appears in no output, error or JSON, even with --debug."""
    repo.git("remote", "set-url", "origin", "http://relbot:hunter2-s3cret@127.0.0.1:9/k8s.git")
    texts = []
    for args in (["cut", "--yes"], ["cut", "--yes", "--debug"], ["cut", "--dry-run", "--json"],
                 ["cut", "--yes", "--json"]):
        result = relbot(repo, *args)
        assert result.returncode != 0
        texts.append(result.stdout + result.stderr)
    joined = "\n".join(texts)
    assert "hunter2-s3cret" not in joined
    # the failing remote is still named, without its credentials
    assert all("unable to access 'http://127.0.0.1:9/k8s.git/'" in text for text in texts)


@secrets
def test_token_in_environment_never_printed(repo: Repo) -> None:
    """The GitLab token from the environment is masked even where git would echo it."""
    token = "glpat-NEVER-PRINT-ME-123"
    repo.git("remote", "set-url", "origin", f"http://oauth2:{token}@127.0.0.1:9/k8s.git")
    result = relbot(repo, "cut", "--yes", "--debug", env={"RELBOT_GITLAB_TOKEN": token})
    assert result.returncode != 0
    assert token not in result.stdout + result.stderr
    data = relbot(repo, "cut", "--dry-run", "--json", env={"RELBOT_GITLAB_TOKEN": token})
    assert data.returncode != 0
    assert token not in data.stdout + data.stderr


@secrets
@pytest.mark.parametrize("variable", ["RELBOT_GITLAB_TOKEN", "CI_JOB_TOKEN"])
def test_token_that_git_echoes_is_masked_by_relbot(repo: Repo, variable: str) -> None:
    """git redacts credentials, not a token elsewhere in a URL: relbot's own masking hides it."""
    token = "glpat-ECHOED-BY-GIT-456"
    repo.git("remote", "set-url", "origin", f"http://127.0.0.1:9/{token}/k8s.git")
    for args in (["cut", "--yes", "--debug"], ["cut", "--dry-run", "--json"]):
        result = relbot(repo, *args, env={variable: token})
        assert result.returncode == 1, result.stdout + result.stderr
        assert token not in result.stdout + result.stderr
        assert "unable to access 'http://127.0.0.1:9/*****/k8s.git/'" in result.stderr
