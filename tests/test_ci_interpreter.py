"""relbot's CI/CD components run for real in gitlab-ci-local (12.9), against the GitLab
stand-in on 127.0.0.1 and a local bare remote.

Each job installs relbot (a wheel of this work tree) with pip into its own
virtual environment and has its own HOME. Marked ``ci_interpreter``; CI runs
them (``.ci/run`` installs gitlab-ci-local); without node they skip, saying why.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relbot.gitlab_standin import GitLabStandIn
from tests import ci_interpreter
from tests.ci_interpreter import JobRun, fresh_venv, install_command, prepare, run_job
from tests.gitlab_fixtures import FRAGMENTS, CutRepo, MrRepo, cast, fragment, mr_repo

pytestmark = pytest.mark.ci_interpreter

MR_PIPELINE = "$CI_SERVER_FQDN/$CI_PROJECT_PATH/mr-check@$CI_COMMIT_SHA"
RELEASE_PIPELINE = "$CI_SERVER_FQDN/$CI_PROJECT_PATH/release@$CI_COMMIT_SHA"


@pytest.fixture(scope="session")
def relbot_wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """gitlab-ci-local is there (else skip with the reason) and relbot is built as a wheel."""
    reason = ci_interpreter.missing()
    if reason is not None:
        pytest.skip(reason)
    yield ci_interpreter.build_wheel(tmp_path_factory.mktemp("wheel"))


def job(repo: Path, name: str, variables: dict[str, str], tmp_path: Path,
        secrets: dict[str, str]) -> JobRun:
    """One job with its own HOME and virtual environment."""
    run = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}"
    return run_job(repo, name, variables, home=run / "home",
                   venv=fresh_venv(run / "venv"), secrets=secrets)


def repo_dir(tmp_path: Path) -> Path:
    (tmp_path / "repo").mkdir()
    return tmp_path / "repo"


def mr_variables(checked: MrRepo, **overrides: str) -> dict[str, str]:
    """The MR pipeline's variables, without the token (that goes in the environment)."""
    env = checked.standin.ci_environment(checked.mr, **overrides)
    env["CI_MERGE_REQUEST_DIFF_BASE_SHA"] = checked.base
    return env


def mr_pipeline(wheel: Path, **inputs: Any) -> dict[str, Any]:
    return {"include": [{"component": MR_PIPELINE,
                         "inputs": {"install": install_command(wheel), **inputs}}]}


def test_mr_pipeline_comments_and_resolves(relbot_wheel: Path, tmp_path: Path,
                                           gitlab_standin: GitLabStandIn,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A detached MR pipeline: the component's job installs relbot, checks the MR, writes
    the JUnit report and keeps one resolved thread; the token is in no output."""
    checked = mr_repo(repo_dir(tmp_path), gitlab_standin, monkeypatch)
    checked.commit(fragment())
    prepare(checked.repo.path, mr_pipeline(relbot_wheel))
    token = cast(gitlab_standin).bot_token
    result = job(checked.repo.path, "relbot-mr-check", mr_variables(checked), tmp_path,
                 {"RELBOT_MR_TOKEN": token})
    assert result.passed, result.output
    assert "comment: created note" in result.output
    assert token not in result.output
    (thread,) = checked.relbot_threads()
    assert thread.resolved
    assert (checked.repo.path / "relbot-junit.xml").is_file()


def test_mr_pipeline_with_a_renamed_token_variable(relbot_wheel: Path, tmp_path: Path,
                                                   gitlab_standin: GitLabStandIn,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """token_variable names the CI/CD variable; the job maps it to RELBOT_MR_TOKEN; a
    failing MR fails the job and keeps the thread open."""
    checked = mr_repo(repo_dir(tmp_path), gitlab_standin, monkeypatch)
    prepare(checked.repo.path, mr_pipeline(relbot_wheel, token_variable="YAOOK_BOT_TOKEN",
                                           job_name="changelog"))
    result = job(checked.repo.path, "changelog", mr_variables(checked), tmp_path,
                 {"YAOOK_BOT_TOKEN": cast(gitlab_standin).bot_token})
    assert not result.passed
    assert "comment: created note" in result.output
    (thread,) = checked.relbot_threads()
    assert not thread.resolved


def merged_result(checked: MrRepo) -> str:
    """Make HEAD GitLab's temporary merge commit: the MR merged into a target branch that
    meanwhile gained another MR's fragment; returns the MR's own head."""
    repo = checked.repo
    head = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "main")
    repo.write(f"{FRAGMENTS}/7.feature.other-mr", "Another MR's feature.\n")
    repo.commit_all("Merge branch 'other' into 'main'")
    repo.git("checkout", "-q", "--detach")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge commit for a merged results pipeline",
             head)
    return head


def test_merged_results_pipeline_checks_only_the_mrs_fragments(
        relbot_wheel: Path, tmp_path: Path, gitlab_standin: GitLabStandIn,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """merged_result: the job runs on the merge commit; the other MR's fragment on the target
    branch is not this MR's, so the check passes."""
    checked = mr_repo(repo_dir(tmp_path), gitlab_standin, monkeypatch)
    checked.commit(fragment())
    prepare(checked.repo.path, mr_pipeline(relbot_wheel))
    head = merged_result(checked)
    variables = mr_variables(checked, event_type="merged_result")
    variables["CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"] = head
    result = job(checked.repo.path, "relbot-mr-check", variables, tmp_path,
                 {"RELBOT_MR_TOKEN": cast(gitlab_standin).bot_token})
    assert result.passed, result.output
    assert "wrong-number" not in result.output


def release_variables(standin: GitLabStandIn, project_path: str) -> dict[str, str]:
    """A pipeline of the protected default branch, started by hand."""
    project = standin.state.project(project_path)
    return {
        "CI_PIPELINE_SOURCE": "web",
        "CI_COMMIT_BRANCH": "main",
        "CI_COMMIT_REF_NAME": "main",
        "CI_COMMIT_REF_PROTECTED": "true",
        "CI_DEFAULT_BRANCH": "main",
        "CI_SERVER_URL": standin.url,
        "GITLAB_CI": "true",
        "CI_PROJECT_ID": str(project.id),
    }


def test_protected_branch_release_job(relbot_wheel: Path, tmp_path: Path,
                                      release_repo: CutRepo) -> None:
    """The manual release job on the protected default branch: one commit, one tag, one
    GitLab Release, through the component as GitLab renders it; no token in the log."""
    repo = release_repo.repo
    prepare(repo.path, {"stages": ["test", "release"], "include": [{
        "component": RELEASE_PIPELINE, "inputs": {
        "install": install_command(relbot_wheel), "component": "k8s"}}]})
    repo.git("push", "-q", "origin", "main")
    token = cast(release_repo.standin).release_token
    result = job(repo.path, "relbot-release",
                 release_variables(release_repo.standin, release_repo.project_path),
                 tmp_path, {"RELBOT_RELEASE_TOKEN": token})
    assert result.passed, result.output
    assert token not in result.output
    assert release_repo.releases() == ["v8.1.0"]
    assert "refs/tags/v8.1.0" in release_repo.history()[2]
    assert release_repo.standin.requests.count("POST", "/releases$") == 1


def list_jobs(repo: Path, variables: dict[str, str], tmp_path: Path) -> list[dict[str, Any]]:
    """gitlab-ci-local's view of the pipeline: the jobs these variables create."""
    args = [str(ci_interpreter.GITLAB_CI_LOCAL), "--list-json",
            "--home", str(tmp_path / "home")]
    for name, value in variables.items():
        args += ["--variable", f"{name}={value}"]
    proc = subprocess.run(args, cwd=repo, capture_output=True, text=True, check=False,
                          timeout=120,
                          env={"PATH": "/usr/local/bin:/usr/bin:/bin",
                               "HOME": str(tmp_path / "home"),
                               "GCL_IGNORE_PREDEFINED_VARS": ",".join(variables)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout[proc.stdout.index("\n[") + 1:] if not proc.stdout.startswith("[") \
        else proc.stdout
    jobs: list[dict[str, Any]] = json.loads(text)
    return [j for j in jobs if j.get("when") != "never"]


def test_release_component_twice_and_the_prepare_flow(relbot_wheel: Path, tmp_path: Path,
                                                      gitlab_standin: GitLabStandIn,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """With GitLab's include semantics: two includes give a main and a hotfix job on their
    own branches; flow prepare gives a manual prepare job and a delayed finishing job."""
    checked = mr_repo(repo_dir(tmp_path), gitlab_standin, monkeypatch)
    prepare(checked.repo.path, {"stages": ["test", "release"], "include": [
        {"component": RELEASE_PIPELINE, "inputs": {"install": "true"}},
        {"component": RELEASE_PIPELINE, "inputs": {
            "install": "true", "job_name": "relbot-hotfix", "default_branch": False,
            "branches": r"/^release\/v\d+\.\d+$/", "extra_args": "--hotfix"}},
        {"component": RELEASE_PIPELINE, "inputs": {
            "install": "true", "job_name": "tarook", "flow": "prepare", "soak": "2 days"}},
    ]})

    def on(branch: str) -> dict[str, str]:
        jobs = list_jobs(checked.repo.path, {
            "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": branch,
            "CI_COMMIT_REF_PROTECTED": "true", "CI_DEFAULT_BRANCH": "main"}, tmp_path)
        return {j["name"]: j["when"] for j in jobs}

    assert on("main") == {"relbot-release": "manual", "tarook-prepare": "manual"}
    assert on("release/v8.1") == {"relbot-hotfix": "manual"}
    assert on("release-prepare/v8.1.0") == {"tarook-finish": "delayed"}
    assert on("feature/x") == {}
