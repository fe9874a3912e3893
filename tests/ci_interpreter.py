"""Run one job of a pipeline in gitlab-ci-local, GitLab's own semantics for include, inputs,
rules and variables, with the shell executor, in a fresh HOME and virtual environment.

``run_job(repo, "relbot-mr-check", variables)`` is all a test needs: the job's
output and exit code come back. gitlab-ci-local is pinned in
``.ci/npm/package-lock.json``; ``.ci/run`` installs it (``npm ci``) and rsync.
Where node or the installed package is missing, :func:`missing` says why and
the tests skip with that reason.

The repository under test gets relbot's ``templates/`` (so that
``component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/<name>@$CI_COMMIT_SHA`` resolves
locally, as it does for relbot's own pipeline) and a ``.gitlab-ci.yml``. Each
job run installs relbot from a wheel of this work tree into its own virtual
environment (``pip install``), whose dependencies come from the test
environment through a ``.pth`` file, so no run touches the machine's Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.conftest import PROJECT

GITLAB_CI_LOCAL = PROJECT / ".ci" / "npm" / "node_modules" / ".bin" / "gitlab-ci-local"
TEMPLATES = PROJECT / "templates"
JOB_TIMEOUT = 300  # seconds for one job, install included
LOCAL_ONLY = frozenset({"CI_PROJECT_PATH", "CI_SERVER_FQDN", "CI_SERVER_HOST"})


def missing() -> str | None:
    """Why gitlab-ci-local cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (gitlab-ci-local needs Node 18+; .ci/run installs it)"
    if not GITLAB_CI_LOCAL.exists():
        return ("gitlab-ci-local is not installed: run `npm ci` in .ci/npm (.ci/run does)")
    if shutil.which("rsync") is None:
        return "rsync is not installed (gitlab-ci-local needs it; .ci/run installs it)"
    return None


@dataclass(frozen=True)
class JobRun:
    """What one job did: gitlab-ci-local's exit code and the job's output."""

    code: int
    output: str

    @property
    def passed(self) -> bool:
        """gitlab-ci-local's own verdict on the job."""
        return self.code == 0 and " PASS " in self.output


def build_wheel(directory: Path) -> Path:
    """A wheel of this work tree (built once per test session)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(directory), str(PROJECT)], check=True, capture_output=True)
    (wheel,) = directory.glob("relbot-*.whl")
    return wheel


def fresh_venv(path: Path) -> Path:
    """A new virtual environment whose imports fall back to the test environment's
    packages (relbot's dependencies), so that installing relbot needs no network."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(path)], check=True, capture_output=True)
    if not (path / "bin" / "pip").exists():
        raise RuntimeError(f"{path} has no pip: the job would install into another Python")
    purelib = Path(subprocess.run(
        [str(path / "bin" / "python"), "-c",
         "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    (purelib / "relbot-test-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    return path


def install_command(wheel: Path) -> str:
    """The component's ``install`` input: pip install of this work tree's wheel, by the
    job's own virtual environment (never a pip found elsewhere on PATH)."""
    return ('"$VIRTUAL_ENV/bin/python" -m pip install --quiet --no-deps --no-index '
            f"--force-reinstall {wheel}")


def prepare(repo: Path, pipeline: Mapping[str, object]) -> None:
    """Give ``repo`` relbot's templates and ``pipeline`` as .gitlab-ci.yml, committed, and
    keep gitlab-ci-local's state directory out of git's sight."""
    shutil.copytree(TEMPLATES, repo / "templates", dirs_exist_ok=True)
    (repo / ".gitlab-ci.yml").write_text(yaml.safe_dump(dict(pipeline), sort_keys=False))
    exclude = repo / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with exclude.open("a") as handle:
        handle.write("\n/.gitlab-ci-local/\n/relbot-junit.xml\n")
    subprocess.run(["git", "-C", str(repo), "add", "templates", ".gitlab-ci.yml"],
                   check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "CI: relbot's components"],
                   check=True)


def run_job(repo: Path, job: str, variables: Mapping[str, str], *, home: Path, venv: Path,
            secrets: Mapping[str, str] | None = None, timeout: float = JOB_TIMEOUT,
            ) -> JobRun:
    """Run ``job`` of ``repo``'s pipeline as GitLab would on a shell runner.

    ``variables`` are pipeline variables (``--variable``: predefined ones such as
    ``CI_PIPELINE_SOURCE`` override gitlab-ci-local's guesses); ``secrets`` reach
    the job through the environment only, never a command line. ``HOME`` is
    ``home`` and ``venv/bin`` leads ``PATH``, so ``pip install`` and
    ``git config --global`` stay inside the test.
    """
    reason = missing()
    if reason is not None:
        raise RuntimeError(reason)
    home.mkdir(parents=True, exist_ok=True)
    # gitlab-ci-local resolves `$CI_SERVER_FQDN/$CI_PROJECT_PATH/<component>` locally only
    # for the project it derives from the remote: the path stays its own
    variables = {k: v for k, v in variables.items() if k not in LOCAL_ONLY}
    args = [str(GITLAB_CI_LOCAL), "--force-shell-executor",
            "--home", str(home), "--no-color", "--max-job-name-padding", "0"]
    for name, value in variables.items():
        args += ["--variable", f"{name}={value}"]
    keep = {key: os.environ[key] for key in ("LANG", "LC_ALL", "TMPDIR", "PIP_CONFIG_FILE")
            if key in os.environ}
    env = {
        **keep,
        **{key: value for key, value in os.environ.items() if key.startswith("GIT_")},
        "HOME": str(home),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "VIRTUAL_ENV": str(venv),
        "GCL_IGNORE_PREDEFINED_VARS": ",".join(variables),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **(secrets or {}),
    }
    env.pop("GIT_CONFIG_GLOBAL", None)  # the job's own HOME/.gitconfig
    proc = subprocess.run([*args, job], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    return JobRun(proc.returncode, proc.stdout + proc.stderr)
