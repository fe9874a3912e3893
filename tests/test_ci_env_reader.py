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
