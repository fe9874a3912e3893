"""Drift and staleness, on every check, with the clock frozen (issue 14, "Done when").

Also the policy parts of the reliability items: probe patterns run with a time limit,
deeply nested policy files are one sentence, a broken policy at the base is an error.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from relbot.findings import Finding
from relbot.policy.check import check_policies
from relbot.project import Project
from tests.conftest import make_repo, run

DAY = datetime.date(2026, 12, 1)
config_group = pytest.mark.reliability("Hostile configuration and policies")

TOWNCRIER = '[tool.towncrier]\ndirectory = "changes"\n'


def k8s_tree(root: Path, policy: str | None = None, version: str = "1.35.5") -> Path:
    files = {
        "towncrier.toml": TOWNCRIER,
        "relbot.toml": ('[[component]]\nname = "k8s"\npolicies = ["kubernetes"]\n'
                        'probes = [{ policy = "kubernetes", file = "k8s.toml", '
                        'key = "kubernetes.version" }]\n'),
        "k8s.toml": f'[kubernetes]\nversion = "{version}"\n',
    }
    if policy is not None:
        files["policies/kubernetes.toml"] = policy
    for relpath, text in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text, encoding="utf-8")
    return root


def findings(root: Path, day: datetime.date = DAY) -> list[Finding]:
    return check_policies(Project(root), clock=lambda: day)


def rules(found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.rule, f.severity) for f in found]


def policy(data_as_of: str, severity: str = "", newest: str = "1.36") -> str:
    return f"""\
kind = "support-window"
title = "Kubernetes"

[checks]
max_data_age = 120
{severity}
[[window]]
versions = "=={newest}.*"
status = "supported"

[[window]]
versions = "==1.35.*"
status = "supported"

[lifecycle]
data_as_of = {data_as_of}

[[lifecycle.release]]
name = "1.37"
released = 2026-08-26
maintenance = 2027-08-28
end_of_life = 2027-10-28

[[lifecycle.release]]
name = "1.36"
released = 2026-04-22
maintenance = 2027-04-28
end_of_life = 2027-06-28

[[lifecycle.release]]
name = "1.35"
released = 2025-12-17
maintenance = 2026-12-28
end_of_life = 2027-02-28
"""


def test_stale_data_warns_and_the_check_passes(tmp_path: Path) -> None:
    """data_as_of older than max_data_age is a warning (exit 0) that says how old."""
    root = k8s_tree(tmp_path, policy("2026-07-01", newest="1.37"))
    [stale] = [f for f in findings(root) if f.rule == "policy-stale-data"]
    assert stale.severity == "warning"
    assert stale.message == ("the Kubernetes lifecycle data of policies/kubernetes.toml is "
                             "from 2026-07-01, 153 days old (more than max_data_age = 120); "
                             "run `relbot policy update kubernetes`")
    result = run(["policy", "check"], cwd=root)
    assert result.code == 0
    assert "warning: the Kubernetes lifecycle data" in result.out
    # within max_data_age: nothing to say
    assert "policy-stale-data" not in [f.rule for f in findings(root, datetime.date(2026, 8, 1))]


def test_stale_data_fails_where_the_severity_says_so(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """[checks.severity] policy-stale-data = "fail" makes staleness block (exit 1)."""
    root = k8s_tree(tmp_path, policy("2026-07-01", '[checks.severity]\n'
                                                   'policy-stale-data = "fail"\n', "1.37"))
    assert ("policy-stale-data", "error") in rules(findings(root))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime.datetime(
        2026, 12, 1, tzinfo=datetime.UTC).timestamp())))
    result = run(["policy", "check"], cwd=root)
    assert result.code == 1
    assert "[policy-stale-data]" in result.out


def test_the_clock_comes_from_source_date_epoch(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's "today" honours SOURCE_DATE_EPOCH: the same file is fresh in August."""
    root = k8s_tree(tmp_path, policy("2026-07-01", '[checks.severity]\n'
                                                   'policy-stale-data = "fail"\n', "1.37"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime.datetime(
        2026, 8, 1, tzinfo=datetime.UTC).timestamp())))
    assert run(["policy", "check"], cwd=root).code == 0


def test_window_supporting_an_upstream_ended_minor_warns_naming_it(tmp_path: Path) -> None:
    """The shipped window still supports 1.33 and 1.34, which upstream ended: two warnings."""
    root = k8s_tree(tmp_path)
    ended = [f for f in findings(root) if f.rule == "policy-upstream-ended"]
    assert [(f.severity, f.line) for f in ended] == [("warning", 69), ("warning", 73)]
    assert ended[0].message == ("the window still has Kubernetes 1.34 as supported, but "
                                "upstream ended it on 2026-10-27; plan its removal (announced "
                                "in a removal fragment)")
    assert "Kubernetes 1.33 as supported, but upstream ended it on 2026-06-28" in \
        ended[1].message
    # on 2026-06-01 both were still maintained upstream
    assert not [f for f in findings(root, datetime.date(2026, 6, 1))
                if f.rule == "policy-upstream-ended"]


def test_an_upstream_minor_the_window_does_not_mention_warns(tmp_path: Path) -> None:
    """1.37 came out 2026-08-26; after unmentioned_after (90) days, a window ending at 1.36
    is told so."""
    root = k8s_tree(tmp_path, policy("2026-11-20"))
    [unmentioned] = [f for f in findings(root) if f.rule == "policy-upstream-unmentioned"]
    assert unmentioned.severity == "warning"
    assert unmentioned.message.startswith("upstream released Kubernetes 1.37 on 2026-08-26 "
                                          "(97 days ago), and the window does not mention it")
    assert "policy-upstream-unmentioned" not in [
        f.rule for f in findings(root, datetime.date(2026, 10, 1))]


def test_shipped_policies_are_fresh_on_2026_12_01_and_stale_later(tmp_path: Path) -> None:
    """The shipped data (2026-08-21) is 102 days old on 2026-12-01: no staleness warning; on
    2027-01-01 it is stale, and the warning is the honest answer."""
    root = k8s_tree(tmp_path)
    assert "policy-stale-data" not in [f.rule for f in findings(root)]
    [stale] = [f for f in findings(root, datetime.date(2027, 1, 1))
               if f.rule == "policy-stale-data"]
    assert "from 2026-08-21, 133 days old" in stale.message


def test_tarooks_current_minors_pass_and_1_30_fails(tmp_path: Path) -> None:
    """A tree declaring 1.35.5 passes the shipped window; one declaring 1.30 fails on it."""
    assert [f for f in findings(k8s_tree(tmp_path)) if f.severity == "error"] == []
    (tmp_path / "k8s.toml").write_text('[kubernetes]\nversion = "1.30.14"\n', encoding="utf-8")
    [error] = [f for f in findings(tmp_path) if f.severity == "error"]
    assert (error.rule, error.line) == ("policy-dropped", 2)
    assert error.message.startswith("Kubernetes 1.30.14 (kubernetes.version) is dropped")


def test_a_policy_without_probes_says_it_checked_nothing(tmp_path: Path) -> None:
    """15.19: no probe and no declared version is never a silent "ok"."""
    root = k8s_tree(tmp_path)
    (root / "relbot.toml").write_text('[[component]]\nname = "op"\npolicies = ["openstack"]\n',
                                      encoding="utf-8")
    result = run(["policy", "check"], cwd=root)
    assert result.code == 0
    assert "warning: the OpenStack policy has no probes, so nothing in the repository was " \
        "checked against it" in result.out
    assert result.err == ("policies of op ok, but nothing was checked: no probe found a "
                          "declared version.\n")


def test_yaook_operator_preset_claims_no_policy_gating(tmp_path: Path) -> None:
    """13.5: the preset gates nothing, and `policy check` says that nothing was checked."""
    assert run(["init", "--preset", "yaook-operator"], cwd=tmp_path).code == 0
    text = (tmp_path / "relbot.toml").read_text(encoding="utf-8")
    assert "policies = []" in text
    assert "No policy gates Yaook/Operator's releases" in text
    result = run(["policy", "check"], cwd=tmp_path)
    assert (result.code, result.out) == (0, "")
    assert result.err == "component operator has no policies: nothing was checked.\n"


def test_mr_check_shows_the_warnings(tmp_path: Path) -> None:
    """The warnings reach `mr check` as findings with severity warning (report and comment)."""
    repo = make_repo(tmp_path, {
        "towncrier.toml": TOWNCRIER + '[[tool.towncrier.type]]\ndirectory = "fix"\n'
                                      'name = "Fixes"\nshowcontent = true\n',
        "relbot.toml": ('forge = "none"\n[[component]]\nname = "k8s"\n'
                        'policies = ["kubernetes"]\nprobes = [{ policy = "kubernetes", '
                        'file = "k8s.toml", key = "kubernetes.version" }]\n'),
        "k8s.toml": '[kubernetes]\nversion = "1.35.5"\n',
        "changes/.gitignore": "!.gitignore\n"})
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("changes/3.fix", "A fix.\n")
    repo.commit_all("fix")
    result = run(["mr", "check", "--iid", "3", "--base", base, "--no-comment"], repo.path)
    assert result.code == 0, result.out
    assert "warning: the window still has Kubernetes 1.34 as supported" in result.out


@config_group
def test_a_backtracking_probe_pattern_is_stopped(tmp_path: Path) -> None:
    """A probe pattern with catastrophic backtracking stops after the time limit: exit 2."""
    root = k8s_tree(tmp_path)
    (root / "relbot.toml").write_text(
        '[[component]]\nname = "k8s"\npolicies = ["kubernetes"]\n'
        "probes = [{ policy = \"kubernetes\", file = \"k8s.txt\", "
        "pattern = '(?P<version>(.*a){30})x' }]\n", encoding="utf-8")
    (root / "k8s.txt").write_text("a" * 200 + "\n", encoding="utf-8")
    result = run(["policy", "check"], cwd=root)
    assert result.code == 2
    assert result.err == ("relbot: relbot.toml: component 'k8s': probes[0].pattern took longer "
                          "than 1 s on k8s.txt and was stopped; simplify the regular "
                          "expression (it backtracks too much).\n")


@config_group
def test_a_deeply_nested_policy_file_is_one_sentence(tmp_path: Path) -> None:
    """A policy file nested thousands of levels deep is exit 2 and one sentence."""
    root = k8s_tree(tmp_path, 'kind = "support-window"\nx = ' + "[" * 5000 + "]" * 5000 + "\n")
    result = run(["policy", "check"], cwd=root)
    assert result.code == 2
    assert result.err == ("relbot: policies/kubernetes.toml is nested too deeply to be a "
                          "policy file.\n")


@config_group
def test_a_deeply_nested_probed_file_is_a_finding(tmp_path: Path) -> None:
    """A probed TOML file nested too deeply is reported, not a crash."""
    root = k8s_tree(tmp_path)
    (root / "k8s.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    found = findings(root)
    assert ("probe-unreadable", "error") in rules(found)
    assert any("nested too deeply" in f.message for f in found)


@config_group
def test_a_broken_policy_at_the_base_is_an_error_not_no_policy(tmp_path: Path) -> None:
    """_policy_at: a policy file at --base that does not load is exit 2, naming the base;
    it is never taken as "no policy", which would skip the drop check."""
    own = policy("2026-11-20", newest="1.37")
    repo = make_repo(tmp_path, {
        "towncrier.toml": TOWNCRIER,
        "relbot.toml": ('[[component]]\nname = "k8s"\npolicies = ["kubernetes"]\n'
                        'probes = [{ policy = "kubernetes", file = "k8s.toml", '
                        'key = "kubernetes.version" }]\n'),
        "k8s.toml": '[kubernetes]\nversion = "1.36.1"\n',
        "policies/kubernetes.toml": own.replace('status = "supported"', 'status = "supportd"', 1),
    })
    repo.write("policies/kubernetes.toml", own)
    repo.commit_all("fix the policy")
    result = run(["policy", "check", "--base", "main~1"], cwd=repo.path)
    assert result.code == 2
    assert result.err.startswith("relbot: the policy as it was at main~1 cannot be read, so "
                                 "the drops since then cannot be checked: "
                                 "policies/kubernetes.toml at main~1: window[0].status is "
                                 "'supportd'")


def test_cut_shows_the_policy_warnings(tmp_path: Path) -> None:
    """`relbot cut` prints the policies' warnings before it releases."""
    from tests.conftest import yaook_like_files

    files = yaook_like_files()
    files["relbot.toml"] = files["relbot.toml"].replace("policies = []",
                                                        'policies = ["kubernetes"]')
    files["templates/config.template.toml"] = '[kubernetes]\nversion = "1.35.5"\n'
    files["docs/_releasenotes/1.feature"] = "A feature.\n"
    repo = make_repo(tmp_path, files)
    result = run(["cut", "--yes", "--no-push", "--date", "2026-12-01"], repo.path)
    assert result.code == 0, result.err
    assert "warning: the window still has Kubernetes 1.34 as supported" in result.out
    assert [line for line in result.out.splitlines() if line.count("warning:") > 1] == []
