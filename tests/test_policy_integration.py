"""Policies gate `relbot cut` and `relbot mr check`, and can add a section to the notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo, make_repo, run, yaook_like_files

TEMPLATE = "templates/config.template.toml"


def k8s_repo(base: Path, version: str, *, extra: str = "") -> Repo:
    """A Yaook/K8s-like repository gated by the Kubernetes policy, declaring ``version``."""
    files = yaook_like_files()
    files["relbot.toml"] = files["relbot.toml"].replace(
        "policies = []", 'policies = ["kubernetes"]') + extra
    files[TEMPLATE] = f'[kubernetes]\n# the version new clusters get\nversion = "{version}"\n'
    files["docs/_releasenotes/1.feature"] = "A feature.\n"
    return make_repo(base, files)


def test_cut_refuses_a_dropped_kubernetes_version(tmp_path: Path) -> None:
    """A declared Kubernetes 1.22 (dropped by the window) stops the cut before any change."""
    repo = k8s_repo(tmp_path, "1.22.17")
    before = repo.refs()
    result = run(["cut", "--yes"], repo.path)
    assert result.code == 1
    assert result.err.startswith("relbot: the policy check fails: "
                                 "templates/config.template.toml:3:")
    assert "1.22.17" in result.err
    assert repo.refs() == before


def test_cut_passes_a_supported_version(tmp_path: Path) -> None:
    """A supported version lets the cut through."""
    repo = k8s_repo(tmp_path, "1.35.5")
    result = run(["cut", "--yes", "--date", "2024-10-01"], repo.path)
    assert result.code == 0, result.err


@pytest.mark.parametrize(("new", "code"), [("1.36.2", 1), ("1.35.9", 0)])
def test_mr_check_holds_upgrades_to_one_minor(tmp_path: Path, new: str, code: int) -> None:
    """An MR moving Kubernetes 1.34 to 1.36 skips a minor and fails; to 1.35 it passes."""
    repo = k8s_repo(tmp_path, "1.34.11")
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "bump")
    repo.write(TEMPLATE, f'[kubernetes]\n# the version new clusters get\nversion = "{new}"\n')
    repo.write("docs/_releasenotes/7.change", "Kubernetes bumped.\n")
    repo.commit_all("Bump Kubernetes")
    result = run(["mr", "check", "--iid", "7", "--base", base, "--no-comment"], repo.path)
    assert result.code == code, result.out
    if code:
        assert "[FAIL] policies: kubernetes" in result.out
        assert "templates/config.template.toml:3" in result.out


def test_supported_versions_section_in_the_notes(tmp_path: Path) -> None:
    """With notes_supported_versions, changelog, tag and forge notes list the supported versions."""
    repo = k8s_repo(tmp_path, "1.35.5", extra="notes_supported_versions = true\n")
    result = run(["cut", "--yes", "--json", "--date", "2024-10-01"], repo.path)
    assert result.code == 0, result.err
    changelog = (repo.path / "CHANGELOG.rst").read_text()
    assert "1.36" in changelog.split("v8.1.0 (2024-10-01)", 1)[1]
    tag = repo.git("tag", "-l", "--format=%(contents)", "v8.1.0")
    assert "1.36" in tag and "A feature." in tag
    import json

    assert "1.36" in json.loads(result.out)["release_notes"]


def test_cut_names_the_first_policy_finding_and_counts_the_rest(tmp_path: Path) -> None:
    """Several dropped versions: the refusal quotes the first finding, says how many more
    there are, and where they are all listed."""
    repo = k8s_repo(tmp_path, "1.22.17")
    repo.write("k8s-base/roles/k8s-config/defaults/main.yaml",
               'supported_k8s_versions:\n  - "1.21.14"\n')
    repo.commit_all("Old Ansible defaults")
    result = run(["cut", "--yes"], repo.path)
    assert result.code == 1
    assert result.err.startswith("relbot: the policy check fails: ")
    assert result.err.rstrip("\n").endswith(
        " and 1 more; `relbot policy check` lists them all.")


def test_cut_with_one_policy_finding_counts_no_more(tmp_path: Path) -> None:
    """One finding: the refusal quotes it alone."""
    repo = k8s_repo(tmp_path, "1.22.17")
    result = run(["cut", "--yes"], repo.path)
    assert result.code == 1
    assert " more;" not in result.err
    assert result.err.rstrip("\n").endswith("; `relbot policy check` lists them all.")
