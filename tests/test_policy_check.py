"""`relbot policy check`: declared versions against windows, and changes since a base revision."""

from __future__ import annotations

from pathlib import Path

import pytest

from relbot.errors import UsageError
from relbot.findings import Finding, errors
from relbot.policy.check import announced, check_policies
from relbot.project import Project
from tests.conftest import Repo, git, make_repo, run

TOWNCRIER = """\
[tool.towncrier]
directory = "changes"

[[tool.towncrier.type]]
directory = "BREAKING"
name = "Breaking changes"
showcontent = true

[[tool.towncrier.type]]
directory = "feature"
name = "Features"
showcontent = true

[[tool.towncrier.type]]
directory = "removal"
name = "Removals"
showcontent = true
"""

K8S_CONFIG = """\
[[component]]
name = "k8s"
policies = ["kubernetes"]

[[component.probes]]
policy = "kubernetes"
file = "config.toml"
key = "kubernetes.version"

[[component.probes]]
policy = "kubernetes"
file = "defaults.yaml"
key = "supported_k8s_versions"
required = false
"""

OPERATOR_CONFIG = """\
[[component]]
name = "operator"
policies = ["openstack", "ovn"]
probes = [
    { policy = "openstack", file = "deploy/*.yaml", key = "spec.targetRelease" },
    { policy = "ovn", file = "versions.toml", key = "ovn.version", required = false },
]
"""


# A window of its own (the shipped one follows Tarook's current minors), so that these
# tests of the check's mechanics do not change whenever the shipped window moves on.
TEST_WINDOW = """\
kind = "support-window"
title = "Kubernetes"
max_minor_step = 1

[[window]]
versions = ">=1.25,<1.34"
status = "supported"

[[window]]
versions = "==1.24.*"
status = "deprecated"

[[window]]
versions = "==1.22.*"
status = "dropped"
end_of_life = 2022-10-28

[[window]]
versions = ">=1.19,<1.22"
status = "dropped"

[[window]]
versions = "==1.23.*"
status = "dropped"
"""


def k8s_files(version: str, supported: list[str] | None = None, *,
              own_window: bool = True) -> dict[str, str]:
    files = {
        "towncrier.toml": TOWNCRIER,
        "relbot.toml": K8S_CONFIG,
        "config.toml": f'# the cluster\n[kubernetes]\nversion = "{version}"\n',
        "changes/.gitignore": "!.gitignore\n",
    }
    if own_window:
        files["policies/kubernetes.toml"] = TEST_WINDOW
    if supported is not None:
        files["defaults.yaml"] = "supported_k8s_versions:\n" + "".join(
            f"  - {v}\n" for v in supported)
    return files


def write_all(root: Path, files: dict[str, str]) -> None:
    for relpath, text in files.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    if (root / ".git").exists():
        git(root, "add", "-A")  # only tracked fragments are pending


def check(root: Path, base: str | None = None) -> list[Finding]:
    project = Project(root)
    return check_policies(project, base, project.fragments().fragments)


def brief(findings: list[Finding]) -> list[tuple[str, int | None, str, str]]:
    """The findings, without the warnings of optional probes that found nothing (their own
    tests look at those)."""
    return [(f.path, f.line, f.rule, f.severity) for f in findings
            if (f.rule, f.severity) != ("probe-found-nothing", "warning")]


def test_window_membership(tmp_path: Path) -> None:
    """1.25.16 is supported, 1.24.x deprecated (a warning), 1.22 dropped (an error)."""
    write_all(tmp_path, k8s_files("1.25.16", ["1.25.2", "1.24.3", "1.22.1"]))
    findings = check(tmp_path)
    assert brief(findings) == [
        ("defaults.yaml", 3, "policy-deprecated", "warning"),
        ("defaults.yaml", 4, "policy-dropped", "error"),
    ]
    assert findings[1].message == ("Kubernetes 1.22.1 (supported_k8s_versions[2]) is dropped "
                                   "by policies/kubernetes.toml, end of life "
                                   "2022-10-28; move to a supported version")


def test_dropped_single_setting_is_an_error_with_its_line(tmp_path: Path) -> None:
    """A dropped kubernetes.version fails with the file and line of the value."""
    write_all(tmp_path, k8s_files("1.22.11"))
    assert brief(check(tmp_path)) == [("config.toml", 3, "policy-dropped", "error")]


@pytest.mark.parametrize(("version", "rule"), [
    ("1.40.0", "policy-unknown-version"),
    ("1.18.20", "policy-unknown-version"),
    ("latest", "policy-not-a-version"),
])
def test_versions_outside_the_window_fail(tmp_path: Path, version: str, rule: str) -> None:
    """A version the window does not know, or no version at all, is an error."""
    write_all(tmp_path, k8s_files(version))
    assert brief(check(tmp_path)) == [("config.toml", 3, rule, "error")]


def test_no_policies_nothing_to_check(tmp_path: Path) -> None:
    """A component without policies passes without reading anything."""
    write_all(tmp_path, {"towncrier.toml": TOWNCRIER,
                         "relbot.toml": '[[component]]\nname = "x"\n'})
    assert check(tmp_path) == []


def k8s_repo(tmp_path: Path, version: str, supported: list[str] | None = None) -> Repo:
    return make_repo(tmp_path, k8s_files(version, supported))


def test_base_allowed_bump_passes(tmp_path: Path) -> None:
    """1.27.3 -> 1.28.1 since the base is one minor: no error."""
    repo = k8s_repo(tmp_path, "1.27.3")
    base = repo.git("rev-parse", "HEAD")
    write_all(repo.path, {"config.toml": '# the cluster\n[kubernetes]\nversion = "1.28.1"\n'})
    repo.commit_all("bump")
    assert errors(check(repo.path, base)) == []


def test_base_skipped_minor_fails(tmp_path: Path) -> None:
    """1.27 -> 1.29 since the base is refused: one minor per upgrade, as kubeadm enforces."""
    repo = k8s_repo(tmp_path, "1.27.3")
    write_all(repo.path, {"config.toml": '# the cluster\n[kubernetes]\nversion = "1.29.0"\n'})
    findings = check(repo.path, "main")
    assert brief(findings) == [("config.toml", 3, "policy-upgrade-step", "error")]
    assert findings[0].message == ("kubernetes.version changes since main: 1.27.3 -> 1.29.0 "
                                   "skips 1.28; one Kubernetes upgrade may advance at most 1 "
                                   "minor version")


def test_base_downgrade_fails(tmp_path: Path) -> None:
    """Going back a minor since the base is refused."""
    repo = k8s_repo(tmp_path, "1.28.3")
    write_all(repo.path, {"config.toml": '# the cluster\n[kubernetes]\nversion = "1.27.9"\n'})
    [finding] = errors(check(repo.path, "main"))
    assert finding.rule == "policy-upgrade-step"
    assert "1.28.3 -> 1.27.9 is a downgrade" in finding.message


def drop_127(tmp_path: Path) -> Repo:
    repo = k8s_repo(tmp_path, "1.28.3", ["1.27", "1.28", "1.29"])
    write_all(repo.path, {"defaults.yaml": "supported_k8s_versions:\n  - 1.28\n  - 1.29\n"})
    repo.commit_all("drop 1.27")
    return repo


def test_dropping_a_version_without_fragment_fails(tmp_path: Path) -> None:
    """A version that leaves the declared list needs an announcing fragment."""
    repo = drop_127(tmp_path)
    findings = check(repo.path, "origin/main")
    assert brief(findings) == [("defaults.yaml", 2, "policy-drop-unannounced", "error")]
    assert "Kubernetes 1.27 left supported_k8s_versions since origin/main" in \
        findings[0].message


@pytest.mark.parametrize(("name", "text", "passes"), [
    ("17.removal", "Support for Kubernetes v1.27 has been removed.", True),
    ("+.BREAKING.md", "Kubernetes 1.27.x is no longer supported.", True),
    ("17.feature", "Support for Kubernetes v1.27 has been removed.", False),
    ("17.removal", "Support for Kubernetes v1.26 has been removed.", False),
    ("17.removal", "Support for Kubernetes v1.270 has been removed.", False),
])
def test_dropping_needs_a_removal_or_breaking_fragment_naming_it(
        tmp_path: Path, name: str, text: str, passes: bool) -> None:
    """Only a removal or BREAKING fragment that names the version announces the drop."""
    repo = drop_127(tmp_path)
    write_all(repo.path, {f"changes/{name}": text + "\n"})
    result = run(["policy", "check", "--base", "origin/main"], cwd=repo.path)
    if passes:
        assert (result.code, result.out) == (0, "")
        assert result.err == "policies of k8s ok (checked Kubernetes 1.28.3, 1.28, 1.29).\n"
    else:
        assert result.code == 1
        assert result.out.startswith("defaults.yaml:2: Kubernetes 1.27 left "
                                     "supported_k8s_versions since origin/main")
        assert result.out.rstrip().endswith("[policy-drop-unannounced]")
        assert result.err == "relbot: 1 policy problem(s) in k8s.\n"


OWN_WINDOW = """\
kind = "support-window"
title = "Kubernetes"
max_minor_step = 1

[[window]]
versions = "==1.25.*"
status = "supported"

[[window]]
versions = "==1.24.*"
status = "{status}"
"""


def test_dropping_a_window_entry_needs_a_fragment(tmp_path: Path) -> None:
    """Moving 1.24 from deprecated to dropped in the repository's window must be announced."""
    files = k8s_files("1.25.3")
    files["policies/kubernetes.toml"] = OWN_WINDOW.format(status="deprecated")
    repo = make_repo(tmp_path, files)
    write_all(repo.path, {"policies/kubernetes.toml": OWN_WINDOW.format(status="dropped")})
    repo.commit_all("drop 1.24")
    findings = errors(check(repo.path, "main~1"))
    assert brief(findings) == [("policies/kubernetes.toml", 10, "policy-drop-unannounced",
                                "error")]
    assert findings[0].message == (
        "Kubernetes 1.24 is dropped from the support window since main~1 (it was "
        "deprecated); announce it in a removal or BREAKING fragment that names 1.24")
    write_all(repo.path, {"changes/+.BREAKING": "Drop support for Kubernetes 1.24.\n"})
    assert brief(check(repo.path, "main~1")) == []


def test_own_window_replacing_the_shipped_one_is_compared_to_it(tmp_path: Path) -> None:
    """Adding policies/kubernetes.toml that removes 1.36 is a drop against the shipped window."""
    repo = make_repo(tmp_path, k8s_files("1.35.3", own_window=False))
    only_135 = ('kind = "support-window"\ntitle = "Kubernetes"\n\n[[window]]\n'
                'versions = "==1.35.*"\nstatus = "supported"\n')
    write_all(repo.path, {"policies/kubernetes.toml": only_135})
    findings = check(repo.path, "main")
    assert ("policies/kubernetes.toml", None, "policy-drop-unannounced", "error") in \
        brief(findings)
    assert any("Kubernetes 1.36 is removed from the support window" in f.message
               for f in findings)


def test_unknown_base_is_a_usage_error(tmp_path: Path) -> None:
    """A --base that is no commit is exit 2 with one sentence."""
    repo = k8s_repo(tmp_path, "1.28.3")
    with pytest.raises(UsageError, match=r"--base 'nope' is not a commit of this repository\."):
        check(repo.path, "nope")
    result = run(["policy", "check", "--base", "nope"], cwd=repo.path)
    assert result.code == 2
    assert "Traceback" not in result.err


def operator_repo(tmp_path: Path, release: str, ovn: str | None = "24.03.2") -> Repo:
    files = {
        "towncrier.toml": TOWNCRIER,
        "relbot.toml": OPERATOR_CONFIG,
        "deploy/nova.yaml": f"kind: NovaDeployment\nspec:\n  targetRelease: {release}\n",
    }
    if ovn is not None:
        files["versions.toml"] = f'[ovn]\nversion = "{ovn}"\n'
    return make_repo(tmp_path, files)


def test_openstack_release_change_must_be_one_allowed_upgrade(tmp_path: Path) -> None:
    """targetRelease zed -> 2024.1 fails and names the path; zed -> antelope passes."""
    repo = operator_repo(tmp_path, "zed")
    write_all(repo.path, {"deploy/nova.yaml":
                          "kind: NovaDeployment\nspec:\n  targetRelease: '2024.1'\n"})
    [finding] = errors(check(repo.path, "main"))
    assert (finding.path, finding.line, finding.rule) == ("deploy/nova.yaml", 3,
                                                          "policy-upgrade-path")
    assert finding.message == ("spec.targetRelease changes since main: zed -> 2024.1 is not "
                               "one allowed OpenStack upgrade; upgrade along zed -> 2023.1 -> "
                               "2024.1, one step per release")
    write_all(repo.path, {"deploy/nova.yaml":
                          "kind: NovaDeployment\nspec:\n  targetRelease: antelope\n"})
    assert brief(check(repo.path, "main")) == []


def test_unknown_openstack_release_suggests(tmp_path: Path) -> None:
    """A misspelt targetRelease is an error with the closest release name."""
    repo = operator_repo(tmp_path, "zedd")
    [finding] = errors(check(repo.path))
    assert finding.rule == "policy-unknown-release"
    assert finding.message.endswith("(did you mean 'zed'?)")


@pytest.mark.parametrize(("release", "ovn", "fits"), [
    ("2024.2", "22.03.1", False),
    ("2024.2", "24.03.2", True),
    ("dalmatian", "24.03.0", True),
    ("zed", "21.06.1", True),
    ("zed", "20.12.0", False),
    ("queens", "20.03.0", True),
])
def test_ovn_must_fit_the_declared_openstack_release(tmp_path: Path, release: str, ovn: str,
                                                     fits: bool) -> None:
    """The declared OVN version must lie in the range the declared OpenStack release needs."""
    repo = operator_repo(tmp_path, release, ovn)
    findings = errors(check(repo.path))
    if fits:
        assert findings == []
    else:
        [finding] = findings
        assert (finding.path, finding.line, finding.rule) == ("versions.toml", 2,
                                                              "policy-compatibility")
        assert f"OVN {ovn} (ovn.version) does not fit OpenStack" in finding.message
        assert "deploy/nova.yaml:3" in finding.message


def test_cli_check_prints_findings_and_exits_1(tmp_path: Path) -> None:
    """Errors are printed with file, line and rule, and the command exits 1."""
    write_all(tmp_path, k8s_files("1.22.11", ["1.24.1"]))
    result = run(["policy", "check"], cwd=tmp_path)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("config.toml:3: Kubernetes 1.22.11 (kubernetes.version) is "
                               "dropped")
    assert lines[0].endswith("[policy-dropped]")
    assert lines[1].startswith("defaults.yaml:2: warning: Kubernetes 1.24.1")
    assert result.err == "relbot: 1 policy problem(s) in k8s.\n"


def test_cli_check_with_warnings_only_passes(tmp_path: Path) -> None:
    """A deprecated version is printed as a warning and the check passes."""
    write_all(tmp_path, k8s_files("1.24.17"))
    result = run(["policy", "check"], cwd=tmp_path)
    assert result.code == 0
    assert "warning:" in result.out
    assert result.err == "policies of k8s ok (checked Kubernetes 1.24.17).\n"


def test_yaook_k8s_preset_keeps_appended_keys_in_the_component(tmp_path: Path) -> None:
    """A key appended to the preset's relbot.toml belongs to the component, not to a probe."""
    from relbot.config import load_config

    assert run(["init", "--preset", "yaook-k8s"], cwd=tmp_path).code == 0
    with (tmp_path / "relbot.toml").open("a", encoding="utf-8") as handle:
        handle.write("create_release_branch = true\n")
    component = load_config(tmp_path).component(None)
    assert component.create_release_branch is True
    assert [p["file"] for p in component.probes] == [
        "nix/yk8s/kubernetes/default.nix", "nix/yk8s/kubernetes/default.nix",
        "k8s-base/roles/k8s-config/defaults/main.yaml",
        "k8s-core/ansible/roles/config/k8s-config/defaults/main.yaml",
        "templates/config.template.toml"]


def test_announced_matches_whole_versions_and_names() -> None:
    """1.24 matches v1.24 and 1.24.x but not 1.240 or 11.24; zed matches Zed, not amazed."""
    from relbot.fragments import Fragment

    def fragment(text: str, kind: str = "removal") -> Fragment:
        return Fragment("x", "", "1", kind, 0, text)

    assert announced(["1.24"], [fragment("Drop v1.24.")])
    assert announced(["1.24"], [fragment("1.24.x is gone")])
    assert not announced(["1.24"], [fragment("1.240 is gone")])
    assert not announced(["1.24"], [fragment("11.24 is gone")])
    assert announced(["zed"], [fragment("Zed is no longer deployed", "BREAKING")])
    assert not announced(["zed"], [fragment("amazed")])
    assert not announced(["zed"], [fragment("zed removed", "docs")])
