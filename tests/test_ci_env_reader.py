"""relbot.ci_env is the one reader of GitLab CI's variables: the command layer builds a CiEnv
and passes it (or its mapping) down; the core and the forge read none themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from relbot.ci_env import CiEnv
from relbot.config import load_config
from relbot.errors import ConfigError
from relbot.forge.gitlab import gitlab_forge_for_release
from relbot.project import Project
from relbot.release import CutOptions, plan_release
from tests.conftest import Repo
from tests.test_cut import add_fragments

PACKAGE = Path(__file__).resolve().parent.parent / "relbot"
COMMAND_LAYER = {"ci_env.py", "cli.py", "mr_command.py", "cut_command.py"}


def _os_environ(node: ast.AST) -> bool:
    """``os.environ`` or ``os.getenv``."""
    return (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
            and isinstance(node.value, ast.Name) and node.value.id == "os")


def _ci_name(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and \
        node.value.startswith("CI_")


def test_only_the_command_layer_reads_ci_variables() -> None:
    """No module below the command layer reads a CI_ variable from os.environ itself."""
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in COMMAND_LAYER or "gitlab_standin" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and _ci_name(node.args[0]):
                func = node.func
                if _os_environ(func) or (isinstance(func, ast.Attribute)
                                         and _os_environ(func.value)):
                    readers.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            elif isinstance(node, ast.Subscript) and _os_environ(node.value) \
                    and _ci_name(node.slice):
                readers.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert readers == []


def test_detached_release_takes_its_branch_from_the_ci_value(
        yaook_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """A detached job's branch comes from the CiEnv the command layer passed, not os.environ."""
    monkeypatch.delenv("CI_COMMIT_BRANCH", raising=False)
    add_fragments(yaook_repo, {"1.fix": "A fix.\n"})
    yaook_repo.git("checkout", "-q", "--detach")
    project = Project(yaook_repo.path)
    ci = CiEnv.from_environ({"CI_COMMIT_BRANCH": "main"})
    from relbot.forge import NoForge

    plan = plan_release(project, CutOptions(date="2024-10-01", ci_branch=ci.commit_branch),
                        NoForge())
    assert plan.branch == "main"


def test_release_forge_takes_its_project_from_the_ci_value(yaook_repo: Repo) -> None:
    """The release forge's project falls back to the CiEnv's CI_PROJECT_ID, not os.environ."""
    text = (yaook_repo.path / "relbot.toml").read_text().replace(
        'forge = "none"', 'forge = "gitlab"\ngitlab_url = "https://gitlab.example"')
    yaook_repo.write("relbot.toml", text)
    config = load_config(yaook_repo.path)
    component = config.component(None)
    forge = gitlab_forge_for_release(config, component, CiEnv.from_environ(
        {"CI_PROJECT_ID": "4711", "CI_JOB_TOKEN": "job-token-value"}))
    assert forge.project_ref == "4711"
    with pytest.raises(ConfigError, match="needs the project"):
        gitlab_forge_for_release(config, component, CiEnv.from_environ({}))


_VARIABLES = {
    "CI_SERVER_URL": "server_url", "CI_PROJECT_ID": "project_id",
    "CI_PROJECT_URL": "project_url", "CI_DEFAULT_BRANCH": "default_branch",
    "CI_COMMIT_BRANCH": "commit_branch", "CI_COMMIT_SHA": "commit_sha",
    "CI_MERGE_REQUEST_IID": "mr_iid", "CI_MERGE_REQUEST_PROJECT_ID": "mr_project_id",
    "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "mr_source_project_id",
    "CI_MERGE_REQUEST_SOURCE_PROJECT_URL": "mr_source_project_url",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "mr_source_branch",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": "mr_source_branch_sha",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "mr_target_branch",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA": "mr_diff_base_sha",
    "CI_MERGE_REQUEST_EVENT_TYPE": "mr_event_type", "CI_MERGE_REQUEST_TITLE": "mr_title",
}


def test_each_predefined_variable_lands_in_its_own_field() -> None:
    """GitLab's predefined variables ("Predefined CI/CD variables reference"), each read
    under its exact name into one field; an empty one is as good as unset."""
    env = {name: f"value of {name}" for name in _VARIABLES}
    ci = CiEnv.from_environ(env)
    assert {field: getattr(ci, field) for field in _VARIABLES.values()} == {
        field: f"value of {name}" for name, field in _VARIABLES.items()}
    empty = CiEnv.from_environ(dict.fromkeys(_VARIABLES, ""))
    assert all(getattr(empty, field) is None for field in _VARIABLES.values())
    lower = CiEnv.from_environ({name.lower(): "x" for name in _VARIABLES})
    assert all(getattr(lower, field) is None for field in _VARIABLES.values())
    assert ci.environ == env


@pytest.mark.parametrize(("env", "in_ci"), [
    ({}, False), ({"GITLAB_CI": "true"}, True), ({"CI": "true"}, True),
    ({"GITLAB_CI": "true", "CI": "true"}, True), ({"GITLAB_CI": "TRUE", "CI": "1"}, False),
    ({"gitlab_ci": "true", "ci": "true"}, False), ({"GITLAB_CI": "false", "CI": "no"}, False),
])
def test_in_ci_is_what_gitlab_sets(env: dict[str, str], in_ci: bool) -> None:
    assert CiEnv.from_environ(env).in_ci is in_ci


def test_labels_are_the_comma_separated_list_gitlab_sets() -> None:
    ci = CiEnv.from_environ({"CI_MERGE_REQUEST_LABELS": "no-changelog, needs review,,"})
    assert ci.mr_labels == ("no-changelog", "needs review")
    assert CiEnv.from_environ({"ci_merge_request_labels": "a"}).mr_labels == ()
    assert CiEnv.from_environ({}).mr_labels == ()
