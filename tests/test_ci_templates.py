"""relbot's pipeline and its CI/CD components validate against GitLab's own CI schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT

CI_FILES = [PROJECT / ".gitlab-ci.yml", *sorted((PROJECT / "templates").glob("*.yml"))]


def validate(document: object, tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with GitLab's CI schema (as vendored by check-jsonschema)."""
    target = tmp_path / f"{name}.json"
    target.write_text(__import__("json").dumps(document))
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.gitlab-ci", str(target)], capture_output=True, text=True,
                          check=False)


def documents(path: Path) -> list[object]:
    """A component file is two YAML documents: the spec header and the jobs."""
    return list(yaml.safe_load_all(path.read_text()))


@pytest.mark.parametrize("path", CI_FILES, ids=[p.name for p in CI_FILES])
def test_validates_against_gitlab_ci_schema(path: Path, tmp_path: Path) -> None:
    """Every document of every CI file is valid GitLab CI."""
    docs = documents(path)
    if path.parent.name == "templates":
        header = docs[0]
        assert len(docs) == 2 and isinstance(header, dict) and set(header) == {"spec"}
    for index, document in enumerate(docs):
        result = validate(document, tmp_path, f"{path.stem}-{index}")
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_misspelt_key_fails(tmp_path: Path) -> None:
    """The validation has teeth: a misspelt job key is rejected."""
    jobs = documents(PROJECT / "templates" / "mr-check.yml")[1]
    assert isinstance(jobs, dict)
    job = jobs["relbot-mr-check"]
    job["scritp"] = job.pop("script")
    result = validate(jobs, tmp_path, "misspelt")
    assert result.returncode != 0


def test_component_inputs_are_all_used_and_documented() -> None:
    """Each declared input has a description and is used by the jobs (none forgotten)."""
    for path in (PROJECT / "templates").glob("*.yml"):
        header, _ = documents(path)
        text = path.read_text().split("\n---\n", 1)[1]
        assert isinstance(header, dict)
        for name, spec in header["spec"]["inputs"].items():
            assert spec.get("description"), f"{path.name}: input {name} is undocumented"
            assert f"$[[ inputs.{name} ]]" in text, f"{path.name}: input {name} is unused"


def test_jobs_run_where_they_should() -> None:
    """The MR job runs only in MR pipelines; the release job only on protected branches."""
    mr_jobs = documents(PROJECT / "templates" / "mr-check.yml")[1]
    release_jobs = documents(PROJECT / "templates" / "release.yml")[1]
    assert isinstance(mr_jobs, dict) and isinstance(release_jobs, dict)
    assert mr_jobs["relbot-mr-check"]["rules"] == [
        {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    release = release_jobs["relbot-release"]
    assert release["resource_group"] == "relbot-release"
    assert any("CI_COMMIT_REF_PROTECTED" in rule.get("if", "") and rule.get("when") == "manual"
               for rule in release["rules"])
