"""templates/policy-update.yml: the scheduled `relbot policy update --check`, GitLab 17.0 form."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.conftest import PROJECT

COMPONENT = PROJECT / "templates" / "policy-update.yml"
# GitLab 17.0 knows these keys of spec:inputs ("CI/CD inputs"); spec:description came later.
INPUT_KEYS = {"default", "description", "options", "regex", "type"}


def test_header_is_gitlab_17_0_compatible() -> None:
    """The header holds only spec:inputs, each with keys GitLab 17.0 accepts."""
    header, jobs = yaml.safe_load_all(COMPONENT.read_text(encoding="utf-8"))
    assert set(header) == {"spec"}
    assert set(header["spec"]) == {"inputs"}
    for name, spec in header["spec"]["inputs"].items():
        assert set(spec) <= INPUT_KEYS, name
        assert spec.get("description"), name
    assert header["spec"]["inputs"]["open_mr"] == {
        "type": "boolean", "default": False,
        "description": header["spec"]["inputs"]["open_mr"]["description"]}
    assert isinstance(jobs, dict)


def test_job_runs_the_check_on_schedules_and_can_open_an_mr() -> None:
    """Scheduled pipelines only; `policy update --check`; with open_mr a push that opens an MR."""
    _, jobs = yaml.safe_load_all(COMPONENT.read_text(encoding="utf-8"))
    job = jobs["relbot-policy-update"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    script = "\n".join(job["script"])
    assert "relbot policy update --check $RELBOT_POLICY_SUBJECTS" in script
    assert "-o merge_request.create" in script
    assert 'if [ "$RELBOT_OPEN_MR" != "true" ]; then exit 1; fi' in script


def test_script_exit_codes(tmp_path: Path) -> None:
    """The script's decision logic, run by sh with a stand-in relbot: current -> 0, behind
    without open_mr -> 1, an error -> 2 (never an MR)."""
    _, jobs = yaml.safe_load_all(COMPONENT.read_text(encoding="utf-8"))
    script = "\n".join(jobs["relbot-policy-update"]["script"])
    head = script[:script.index("relbot policy update $RELBOT_POLICY_SUBJECTS")]
    fake = tmp_path / "relbot"
    for code, open_mr, expected in ((0, "false", 0), (1, "false", 1), (2, "true", 2)):
        fake.write_text(f"#!/bin/sh\nexit {code}\n", encoding="utf-8")
        fake.chmod(0o755)
        result = subprocess.run(["sh", "-c", head + "\nexit 0\n"], check=False,
                                env={"PATH": f"{tmp_path}:/usr/bin:/bin",
                                     "RELBOT_OPEN_MR": open_mr,
                                     "RELBOT_POLICY_SUBJECTS": ""})
        assert result.returncode == expected, (code, open_mr)
