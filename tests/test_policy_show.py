"""`relbot policy show` and the "Supported versions" block for release notes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relbot.errors import PolicyError
from relbot.policy.show import supported_versions_section
from relbot.project import Project
from tests.conftest import run

TOWNCRIER = '[tool.towncrier]\ndirectory = "changes"\nunderlines = ["-", "~", "^"]\n'


def component(tmp_path: Path, policies: str = '["kubernetes", "openstack", "ovn"]') -> Path:
    (tmp_path / "towncrier.toml").write_text(TOWNCRIER, encoding="utf-8")
    (tmp_path / "relbot.toml").write_text(
        f'[[component]]\nname = "operator"\npolicies = {policies}\n', encoding="utf-8")
    return tmp_path


def test_markdown_matrix(tmp_path: Path) -> None:
    """The Markdown matrix has a table per policy with status and upgrade columns."""
    result = run(["policy", "show", "kubernetes", "openstack", "--format", "md"], cwd=tmp_path)
    assert result.code == 0
    out = result.out
    assert out.startswith("## Kubernetes\n")
    assert "| Versions | Status | Released | Maintenance | End of life | Note |" in out
    assert "| 1.25 | supported | 2022-08-23 | 2023-08-27 | 2023-10-28 | last patch 1.25.16 |" \
        in out
    assert "| 1.24 | deprecated |" in out
    assert "One upgrade may advance at most 1 minor version." in out
    assert "## OpenStack\n" in out
    assert "| 2023.1 | antelope | slurp | 2023-03-22 | unmaintained | 2023.2, 2024.1 |" in out
    assert "- yoga -> 2023.1: before 2023.1 only adjacent upgrades were supported" in out


def test_rst_matrix(tmp_path: Path) -> None:
    """The reStructuredText matrix uses sections and list-tables, empty cells as a dash."""
    result = run(["policy", "show", "ovn", "openstack", "--format", "rst"], cwd=tmp_path)
    assert result.code == 0
    out = result.out
    assert out.startswith("OVN\n---\n")
    assert ".. list-table::\n   :header-rows: 1\n\n   * - Release\n     - Also called\n" in out
    assert "   * - 24.03\n     - \N{EN DASH}\n     - lts\n" in out
    assert "OVN versions per OpenStack release\n~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n" in out
    assert "   * - 2024.2\n     - >=24.03\n" in out


def test_json_matrix(tmp_path: Path) -> None:
    """JSON holds every policy with its rows, allowed upgrades and compatibility ranges."""
    result = run(["policy", "show", "kubernetes", "openstack", "ovn", "--format", "json"],
                 cwd=tmp_path)
    assert result.code == 0
    data = json.loads(result.out)
    by_name = {p["name"]: p for p in data["policies"]}
    assert by_name["kubernetes"]["kind"] == "support-window"
    assert {"versions": "==1.24.*", "label": "1.24", "status": "deprecated",
            "released": "2022-05-03", "maintenance": "2023-05-28",
            "end_of_life": "2023-07-28", "note": "last patch 1.24.17"} in \
        by_name["kubernetes"]["window"]
    zed = next(r for r in by_name["openstack"]["releases"] if r["name"] == "zed")
    assert zed["upgrades_to"] == ["2023.1"]
    assert by_name["ovn"]["compatibility"]["openstack"]["2025.1"] == ">=24.03"
    assert by_name["ovn"]["compatibility"]["openstack"]["2023.1"] == ">=21.06.0"


def test_show_defaults_to_the_component_policies(tmp_path: Path) -> None:
    """Without subjects, the component's policies are shown, in their configured order."""
    component(tmp_path, '["ovn", "kubernetes"]')
    result = run(["policy", "show"], cwd=tmp_path)
    assert result.code == 0
    assert [line for line in result.out.splitlines() if line.startswith("## ")] == [
        "## OVN", "## Kubernetes"]


def test_show_without_policies_says_so(tmp_path: Path) -> None:
    """A component without policies is told how to name one: exit 2, one sentence."""
    component(tmp_path, "[]")
    result = run(["policy", "show"], cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith("relbot: component 'operator' has no policies")


def test_supported_versions_section_md(tmp_path: Path) -> None:
    """The release-notes block in Markdown lists what is supported now, per policy."""
    project = Project(component(tmp_path))
    text = supported_versions_section(project, "md")
    assert text.startswith("### Supported versions\n\n")
    lines = text.splitlines()
    assert lines[2] == ("- Kubernetes: 1.33, 1.32, 1.31, 1.30, 1.29, 1.28, 1.27, 1.26, 1.25 "
                        "(deprecated: 1.24)")
    assert lines[3] == ("- OpenStack: yoga, zed, 2023.1 (SLURP), 2024.1 (SLURP), "
                        "2025.1 (SLURP), 2025.2, 2026.1 (SLURP)")
    assert lines[4] == "- OVN: 24.03 (LTS), 25.09, 26.03 (LTS)"


def test_supported_versions_section_rst_uses_the_section_underline(tmp_path: Path) -> None:
    """In RST the heading takes towncrier's section underline (Yaook/K8s: ~)."""
    project = Project(component(tmp_path, '["kubernetes"]'))
    assert supported_versions_section(project, "rst") == (
        "Supported versions\n~~~~~~~~~~~~~~~~~~\n\n"
        "- Kubernetes: 1.33, 1.32, 1.31, 1.30, 1.29, 1.28, 1.27, 1.26, 1.25 "
        "(deprecated: 1.24)\n")


def test_supported_versions_section_is_empty_without_policies(tmp_path: Path) -> None:
    """Without policies there is nothing to append."""
    assert supported_versions_section(Project(component(tmp_path, "[]")), "md") == ""


def test_supported_versions_section_reports_malformed_policies(tmp_path: Path) -> None:
    """A malformed policy of the component is a PolicyError, not a silent empty block."""
    component(tmp_path, '["policies/bad.toml"]')
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "bad.toml").write_text('kind = "upgrade-graph"\n',
                                                    encoding="utf-8")
    with pytest.raises(PolicyError, match=r"policies/bad\.toml: the top-level key 'release'"):
        supported_versions_section(Project(tmp_path), "md")
