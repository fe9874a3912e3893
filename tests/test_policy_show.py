"""`relbot policy show` and the "Supported versions" block for release notes."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from relbot.errors import PolicyError
from relbot.policy.show import supported_versions_section
from relbot.project import Project
from tests.conftest import run

DAY = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock at 2026-12-01: upstream statuses are derived for that day."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(DAY.timestamp())))


TOWNCRIER = '[tool.towncrier]\ndirectory = "changes"\nunderlines = ["-", "~", "^"]\n'


def component(tmp_path: Path, policies: str = '["kubernetes", "openstack", "ovn"]') -> Path:
    (tmp_path / "towncrier.toml").write_text(TOWNCRIER, encoding="utf-8")
    (tmp_path / "relbot.toml").write_text(
        f'[[component]]\nname = "operator"\npolicies = {policies}\n', encoding="utf-8")
    return tmp_path


def test_markdown_matrix(tmp_path: Path) -> None:
    """The Markdown matrix: supported versions with upstream status and dates, upgrade paths."""
    result = run(["policy", "show", "kubernetes", "openstack", "--format", "md"], cwd=tmp_path)
    assert result.code == 0
    out = result.out
    assert out.startswith("## Kubernetes\n")
    assert ("| Versions | Status | Upstream | Released | End of standard support | End of life "
            "| Note |") in out
    assert "| 1.36 | supported | maintained | 2026-04-22 | 2027-04-28 | 2027-06-28 |  |" in out
    assert "| 1.34 | supported | ended | 2025-08-27 | 2026-08-27 | 2026-10-27 |  |" in out
    assert "Dropped: 1.32, 1.31, 1.30, >=1.19,<1.30." in out
    assert "One upgrade may advance at most 1 minor version." in out
    assert "Upgrade path through the supported versions: 1.33 -> 1.34 -> 1.35 -> 1.36." in out
    assert "## OpenStack\n" in out
    assert ("| 2025.1 | epoxy | slurp | 2025-04-02 | unmaintained | 2026-10-02 |  | "
            "2025.2, 2026.1 |") in out
    assert "| 2027.1 | indri | slurp | 2027-03-24 | not released yet |  |  |  |" in out
    assert "- yoga -> 2023.1: before 2023.1 only adjacent upgrades were supported" in out


def test_source_line_has_no_stray_backticks(tmp_path: Path) -> None:
    """15.19: the policy's source line is plain text in Markdown and RST alike."""
    for fmt in ("md", "rst"):
        out = run(["policy", "show", "kubernetes", "--format", fmt], cwd=tmp_path).out
        [line] = [x for x in out.splitlines() if x.startswith("Policy: ")]
        assert "`" not in line
        assert line.startswith("Policy: kubernetes.toml (shipped with relbot), a support "
                               "window; upstream status as of 2026-12-01, from upstream data "
                               "of 2026-08-21")


def test_ovn_statuses_come_from_the_dates(tmp_path: Path) -> None:
    """On 2026-12-01 OVN 24.03 is critical fixes only and 25.09 ended, from the dates alone."""
    result = run(["policy", "show", "ovn", "--format", "md"], cwd=tmp_path)
    assert "| 24.03 |  | lts | 2024-03-01 | critical fixes only | 2026-03-01 | 2027-03-01 |" \
        in result.out
    assert "| 25.09 |  |  | 2025-09-05 | ended |  | 2026-09-05 | 26.03 |" in result.out
    assert "| 26.03 |  | lts | 2026-03-20 | maintained | 2028-03-20 | 2029-03-20 |" in result.out
    # the shipped file stores no status word, only dates
    text = (Path(__file__).parent.parent / "policies" / "ovn.toml").read_text(encoding="utf-8")
    assert "status" not in text.split("\n[lifecycle]\n", 1)[1]


def test_rst_matrix(tmp_path: Path) -> None:
    """The reStructuredText matrix uses sections and list-tables, empty cells as a dash."""
    result = run(["policy", "show", "ovn", "openstack", "--format", "rst"], cwd=tmp_path)
    assert result.code == 0
    out = result.out
    assert out.startswith("OVN\n---\n")
    assert ".. list-table::\n   :header-rows: 1\n\n   * - Release\n     - Also called\n" in out
    assert ("   * - 24.03\n     - \N{EN DASH}\n     - lts\n     - 2024-03-01\n"
            "     - critical fixes only\n") in out
    assert "OVN versions per OpenStack release\n~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n" in out
    assert "   * - 2024.2\n     - >=24.03\n" in out


def test_json_matrix(tmp_path: Path) -> None:
    """JSON holds every policy with its rows, allowed upgrades and compatibility ranges."""
    result = run(["policy", "show", "kubernetes", "openstack", "ovn", "--format", "json"],
                 cwd=tmp_path)
    assert result.code == 0
    data = json.loads(result.out)
    assert data["date"] == "2026-12-01"
    by_name = {p["name"]: p for p in data["policies"]}
    assert by_name["kubernetes"]["kind"] == "support-window"
    assert by_name["kubernetes"]["data_as_of"] == "2026-08-21"
    assert {"versions": "==1.33.*", "label": "1.33", "status": "supported",
            "upstream": "ended", "released": "2025-04-23", "maintenance": "2026-04-28",
            "end_of_life": "2026-06-28", "note": ""} in by_name["kubernetes"]["window"]
    zed = next(r for r in by_name["openstack"]["releases"] if r["name"] == "zed")
    assert zed["upgrades_to"] == ["2023.1"]
    assert zed["upstream"] == "unmaintained"
    assert by_name["ovn"]["compatibility"]["openstack"]["2025.1"] == ">=24.03"
    assert by_name["ovn"]["compatibility"]["openstack"]["2023.1"] == ">=21.06.0"
    assert len(by_name["ovn"]["fallback"]["steps"]) == 6


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
    assert lines[2] == "- Kubernetes: 1.36, 1.35, 1.34, 1.33"
    assert lines[3] == ("- OpenStack: yoga, zed, 2023.1 (SLURP), 2024.1 (SLURP), "
                        "2025.1 (SLURP), 2025.2, 2026.1 (SLURP), 2026.2")
    assert lines[4] == "- OVN: 24.03 (LTS), 26.03 (LTS)"


def test_supported_versions_section_rst_uses_the_section_underline(tmp_path: Path) -> None:
    """In RST the heading takes towncrier's section underline (Yaook/K8s: ~)."""
    project = Project(component(tmp_path, '["kubernetes"]'))
    assert supported_versions_section(project, "rst") == (
        "Supported versions\n~~~~~~~~~~~~~~~~~~\n\n"
        "- Kubernetes: 1.36, 1.35, 1.34, 1.33\n")


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
