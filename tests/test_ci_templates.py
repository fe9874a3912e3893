"""relbot's pipeline and its CI/CD components: valid for GitLab's schema *and* for GitLab 17.0.

The newest schema accepts keys an older GitLab rejects (``spec:description``,
18.10), so the header is also held to :data:`tests.ci_components.SPEC_KEYS`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ci_components import InputError, documents, include, render, too_new
from tests.conftest import PROJECT

TEMPLATES = PROJECT / "templates"
COMPONENTS = sorted(TEMPLATES.glob("*.yml"))
MR_CHECK = TEMPLATES / "mr-check.yml"
RELEASE = TEMPLATES / "release.yml"


def validate(document: object, tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with GitLab's CI schema (as vendored by check-jsonschema)."""
    target = tmp_path / f"{name}.json"
    target.write_text(json.dumps(document))
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.gitlab-ci", str(target)], capture_output=True, text=True,
                          check=False)


@pytest.mark.parametrize("path", COMPONENTS, ids=[p.name for p in COMPONENTS])
def test_header_is_what_gitlab_17_0_accepts(path: Path) -> None:
    """Every spec key of the header exists in GitLab 17.0 (no spec:description, 18.10)."""
    header, _ = documents(path)
    assert too_new(header) == []


def test_a_newer_spec_key_fails() -> None:
    """The check has teeth: relbot 0.1's spec:description, and a key nobody listed, fail."""
    header, _ = documents(MR_CHECK)
    header["spec"]["description"] = "relbot mr check"
    problems = too_new(header)
    assert len(problems) == 1 and problems[0].startswith("spec:description needs GitLab 18.10")
    header["spec"]["inputs"]["stage"]["hint"] = "x"
    assert any(p.startswith("inputs.hint: not in SPEC_KEYS") for p in too_new(header))


def test_components_are_described_in_the_readme_and_docs() -> None:
    """The description GitLab 17.0 cannot take in the header lives in README and docs/ci.md."""
    readme = (PROJECT / "README.md").read_text("utf-8")
    ci = (PROJECT / "docs" / "ci.md").read_text("utf-8")
    for path in COMPONENTS:
        name = path.stem
        assert f"`{name}`" in readme, f"README.md does not describe the {name} component"
        assert f"/{name}@" in ci, f"docs/ci.md shows no include of {name}"


@pytest.mark.parametrize("path", [PROJECT / ".gitlab-ci.yml", *COMPONENTS],
                         ids=[".gitlab-ci.yml", *(p.name for p in COMPONENTS)])
def test_validates_against_gitlab_ci_schema(path: Path, tmp_path: Path) -> None:
    """The pipeline, and every component rendered with its defaults, is valid GitLab CI."""
    if path.parent == TEMPLATES:
        document: object = render(path)
    else:
        document = yaml.safe_load(path.read_text())
    result = validate(document, tmp_path, path.stem)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_misspelt_key_fails(tmp_path: Path) -> None:
    """The validation has teeth: a misspelt job key is rejected."""
    jobs = render(MR_CHECK)
    job = jobs["relbot-mr-check"]
    job["scritp"] = job.pop("script")
    result = validate(jobs, tmp_path, "misspelt")
    assert result.returncode != 0


def test_component_inputs_are_all_used_and_documented() -> None:
    """Each declared input has a description and is used by the jobs (none forgotten)."""
    for path in COMPONENTS:
        header, text = documents(path)
        for name, spec in header["spec"]["inputs"].items():
            assert spec.get("description"), f"{path.name}: input {name} is undocumented"
            assert f"$[[ inputs.{name} ]]" in text, f"{path.name}: input {name} is unused"


def test_inputs_are_checked_as_gitlab_checks_them() -> None:
    """Unknown inputs, values outside options, a token variable that is no name: refused."""
    with pytest.raises(InputError, match="unknown input arguments: token"):
        render(MR_CHECK, {"token": "RELBOT_MR_TOKEN"})
    with pytest.raises(InputError, match="not in the list of allowed options"):
        render(RELEASE, {"flow": "soak"})
    with pytest.raises(InputError, match="does not match required RegEx"):
        render(MR_CHECK, {"token_variable": "X; curl evil"})
    with pytest.raises(InputError, match="not a boolean"):
        render(MR_CHECK, {"fix": "yes"})


def test_the_mr_check_runs_in_mr_pipelines_with_its_own_token() -> None:
    """MR pipelines only; the token comes from RELBOT_MR_TOKEN (or the named variable) and
    never appears on a command line; --fix where configured."""
    job = render(MR_CHECK)["relbot-mr-check"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    script = "\n".join(job["script"])
    assert "printenv 'RELBOT_MR_TOKEN'" in script
    assert job["variables"]["RELBOT_FIX"] == "false"
    fixing = render(MR_CHECK, {"fix": True, "token_variable": "BOT_TOKEN",
                               "job_name": "fix-fragments"})["fix-fragments"]
    assert fixing["variables"]["RELBOT_FIX"] == "true" and "--fix" in "\n".join(
        fixing["script"])
    assert "printenv 'BOT_TOKEN'" in "\n".join(fixing["script"])


def test_release_component_included_twice_gives_two_jobs() -> None:
    """Main releases and hotfixes: two includes, two jobs, each on its own branches."""
    jobs = include((RELEASE, {}),
                   (RELEASE, {"job_name": "relbot-hotfix", "default_branch": False,
                              "branches": r"/^release\/v\d+\.\d+$/",
                              "extra_args": "--hotfix"}))
    visible = {name for name in jobs if not name.startswith(".")}
    assert {"relbot-release", "relbot-hotfix"} <= visible
    main, hotfix = jobs["relbot-release"], jobs["relbot-hotfix"]
    assert main["extends"] != hotfix["extends"]
    assert jobs[hotfix["extends"]]["variables"]["RELBOT_CUT_ARGS"] == "--hotfix"
    assert jobs[main["extends"]]["variables"]["RELBOT_CUT_ARGS"] == ""
    assert jobs[hotfix["extends"]]["variables"]["RELBOT_ON_DEFAULT_BRANCH"] == "false"
    assert any(r"=~ /^release\/v\d+\.\d+$/" in rule.get("if", "") for rule in hotfix["rules"])
    for job in (main, hotfix):
        assert {"if": "$CI_COMMIT_TAG", "when": "never"} in job["rules"]
        assert all("CI_COMMIT_REF_PROTECTED" in rule["if"] for rule in job["rules"]
                   if rule.get("when") == "manual")


def test_the_same_job_name_twice_merges_into_one_job() -> None:
    """Why job_name exists: two includes with the default name give one job, not two."""
    jobs = include((RELEASE, {}), (RELEASE, {"extra_args": "--hotfix"}))
    assert sorted(n for n in jobs if not n.startswith(".")) == [
        "relbot-release", "relbot-release-finish", "relbot-release-prepare"]


def test_the_prepare_flow_has_a_manual_and_a_delayed_job() -> None:
    """flow: prepare: cut --prepare by hand on the default branch, cut --finish after the
    soak on release-prepare/*."""
    jobs = render(RELEASE, {"flow": "prepare", "soak": "3 days", "job_name": "tarook"})
    base = jobs[".tarook-base"]
    assert base["variables"]["RELBOT_FLOW"] == "prepare"
    prepare, finish = jobs["tarook-prepare"], jobs["tarook-finish"]
    assert "relbot cut --prepare --yes" in "\n".join(prepare["script"])
    assert "relbot cut --finish --yes" in "\n".join(finish["script"])
    assert prepare["rules"][0] == {"if": '$RELBOT_FLOW != "prepare"', "when": "never"}
    assert any(r.get("when") == "manual" and "$CI_DEFAULT_BRANCH" in r["if"]
               for r in prepare["rules"])
    (delayed,) = [r for r in finish["rules"] if r.get("when") == "delayed"]
    assert delayed["start_in"] == "3 days" and "release-prepare" in delayed["if"]
    assert jobs["tarook"]["rules"][0] == {"if": '$RELBOT_FLOW != "direct"', "when": "never"}
    assert render(RELEASE)[".relbot-release-base"]["variables"]["RELBOT_FLOW"] == "direct"
    assert render(RELEASE, {"flow": "prepare"})[
        "relbot-release-finish"]["rules"][-1]["start_in"] == "1 week"


def test_the_release_token_is_never_in_a_url_or_a_file() -> None:
    """The job hands the token to relbot through the environment only: relbot's push sends
    it as a header (tests/test_release_push_auth.py); the job sets no header, no
    `git config --global` and no credentials in the remote URL."""
    base = render(RELEASE)[".relbot-release-base"]
    script = "\n".join(base["before_script"])
    assert "printenv 'RELBOT_RELEASE_TOKEN'" in script
    assert "GIT_CONFIG" not in script and "extraHeader" not in script
    assert "@${CI_SERVER" not in script.replace("relbot@${CI_SERVER_HOST}", "")


def test_relbots_own_pipeline_publishes_to_the_catalog() -> None:
    """Plain semver tags, a tag-pipeline job with the release keyword (glab image), and no
    second release from relbot's own cut."""
    import tomllib

    pipeline = yaml.safe_load((PROJECT / ".gitlab-ci.yml").read_text())
    job = pipeline["catalog-release"]
    assert job["image"].startswith("registry.gitlab.com/gitlab-org/cli")
    assert job["release"]["tag_name"] == "$CI_COMMIT_TAG"
    assert job["release"]["description"] == "$CI_COMMIT_TAG_MESSAGE"
    assert job["rules"] == [{"if": r"$CI_COMMIT_TAG =~ /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/"}]
    relbot = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["relbot"]
    (component,) = relbot["component"]
    assert component["tag_format"] == "{version}"
    assert component["forge_release"] is False
