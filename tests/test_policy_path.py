"""`relbot policy path`: shortest allowed upgrade paths, names as users mean them, and why not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from relbot.policy import graph, load
from relbot.policy.model import UpgradeGraph
from relbot.policy.upgrade import upgrade_path
from tests.conftest import PROJECT, run


def _graph(tmp_path: Path, name: str) -> UpgradeGraph:
    policy = load.load(name, tmp_path)
    assert isinstance(policy, UpgradeGraph)
    return policy


def test_cli_prints_zed_to_2024_1_through_the_slurp(tmp_path: Path) -> None:
    """`relbot policy path openstack zed 2024.1` prints exactly zed -> 2023.1 -> 2024.1."""
    result = run(["policy", "path", "openstack", "zed", "2024.1"], cwd=tmp_path)
    assert (result.code, result.out, result.err) == (0, "zed -> 2023.1 -> 2024.1\n", "")


@pytest.mark.parametrize(("start", "goal", "expected"), [
    ("zed", "antelope", "zed -> 2023.1"),
    ("Zed", "2023.1", "zed -> 2023.1"),
    ("antelope", "caracal", "2023.1 -> 2024.1"),
    ("2023.1", "Caracal", "2023.1 -> 2024.1"),
    ("bobcat", "epoxy", "2023.2 -> 2024.1 -> 2025.1"),
])
def test_release_names_and_numbers_mean_the_same(tmp_path: Path, start: str, goal: str,
                                                 expected: str) -> None:
    """Code names and 2023.1-style numbers, in any case, name the same releases."""
    assert upgrade_path(tmp_path, "openstack", start, goal).text() == expected


def test_a_slurp_may_skip_one_release(tmp_path: Path) -> None:
    """2023.1 upgrades straight to 2024.1, skipping 2023.2, and also to 2023.2."""
    policy = _graph(tmp_path, "openstack")
    assert graph.allowed_edges(policy)["2023.1"] == ["2023.2", "2024.1"]
    assert upgrade_path(tmp_path, "openstack", "2023.1", "2025.1").text() == \
        "2023.1 -> 2024.1 -> 2025.1"


def test_a_non_slurp_cannot_skip(tmp_path: Path) -> None:
    """2023.2 (not a SLURP) may only go to the next release; zed only to 2023.1."""
    policy = _graph(tmp_path, "openstack")
    edges = graph.allowed_edges(policy)
    assert edges["2023.2"] == ["2024.1"]
    assert edges["zed"] == ["2023.1"]
    assert edges["yoga"] == ["zed"]
    release = policy.release
    bobcat, dalmatian = release("2023.2"), release("2024.2")
    assert bobcat is not None and dalmatian is not None
    assert not graph.allows(policy, bobcat, dalmatian)
    assert upgrade_path(tmp_path, "openstack", "2023.2", "2024.2").text() == \
        "2023.2 -> 2024.1 -> 2024.2"


def test_longer_jumps_go_through_every_slurp(tmp_path: Path) -> None:
    """From queens to 2025.2 every release until 2023.1, then SLURP to SLURP."""
    steps = upgrade_path(tmp_path, "openstack", "queens", "2025.2").steps
    assert steps == ("queens", "rocky", "stein", "train", "ussuri", "victoria", "wallaby",
                     "xena", "yoga", "zed", "2023.1", "2024.1", "2025.1", "2025.2")


def test_downgrade_has_no_path(tmp_path: Path) -> None:
    """An older target is refused with exit 1 and a sentence saying upgrades go forward."""
    result = run(["policy", "path", "openstack", "2024.1", "zed"], cwd=tmp_path)
    assert result.code == 1
    assert result.out == ""
    assert result.err == ("relbot: there is no upgrade path from 2024.1 to zed: zed is older "
                          "than 2024.1, and OpenStack upgrades only go forward.\n")


BLOCKED = """\
kind = "upgrade-graph"
title = "Demo"

[[rule]]
from = "any"
to = "next"

[[edge]]
from = "b"
to = "c"
allowed = false
reason = "b's database migration to c loses data"
url = "https://example.invalid/bug/1"

[[release]]
name = "a"

[[release]]
name = "b"

[[release]]
name = "c"
"""


def test_blocked_edge_is_named_with_its_reason(tmp_path: Path) -> None:
    """With no path, the answer names the blocked edge in the way, its reason and link."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "demo.toml").write_text(BLOCKED, encoding="utf-8")
    result = run(["policy", "path", "demo", "a", "c"], cwd=tmp_path)
    assert result.code == 1
    assert result.err == ("relbot: there is no upgrade path from a to c: the upgrade b -> c "
                          "is blocked (edge[0]): b's database migration to c loses data "
                          "(https://example.invalid/bug/1).\n")


def test_blocked_edge_with_a_detour_is_avoided(tmp_path: Path) -> None:
    """A blocked edge removes only that upgrade; an explicitly allowed detour is taken."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "demo.toml").write_text(
        BLOCKED + '\n[[release]]\nname = "d"\n'
        '\n[[edge]]\nfrom = "b"\nto = "d"\nallowed = true\nreason = "tested"\n',
        encoding="utf-8")
    assert upgrade_path(tmp_path, "demo", "a", "d").text() == "a -> b -> d"
    assert not upgrade_path(tmp_path, "demo", "a", "c").found


def test_ovn_lts_rules(tmp_path: Path) -> None:
    """OVN: a non-LTS goes to the next LTS, an LTS to anything up to the next LTS."""
    assert upgrade_path(tmp_path, "ovn", "23.09", "24.09").text() == "23.09 -> 24.03 -> 24.09"
    assert upgrade_path(tmp_path, "ovn", "22.03", "24.03").text() == "22.03 -> 24.03"
    answer = upgrade_path(tmp_path, "ovn", "24.09", "25.03")
    assert not answer.found
    assert "from 24.09 the allowed upgrades reach only 26.03" in answer.reason
    assert "fail-safe upgrade procedure" in answer.reason


def test_ovn_patch_versions_find_their_release(tmp_path: Path) -> None:
    """An OVN patch version such as 22.03.2 means the release 22.03."""
    assert upgrade_path(tmp_path, "ovn", "22.03.2", "24.03.1").text() == "22.03 -> 24.03"


def test_kubernetes_one_minor_at_a_time(tmp_path: Path) -> None:
    """Kubernetes 1.27 -> 1.29 goes through 1.28: one minor per upgrade."""
    result = run(["policy", "path", "kubernetes", "1.27", "v1.29"], cwd=tmp_path)
    assert (result.code, result.out) == (0, "1.27 -> 1.28 -> 1.29\n")
    assert upgrade_path(tmp_path, "kubernetes", "1.27.3", "1.28.1").text() == "1.27.3 -> 1.28.1"


def test_json_answer(tmp_path: Path) -> None:
    """--json prints one object with the path and the number of upgrades."""
    result = run(["policy", "path", "openstack", "zed", "2024.1", "--json"], cwd=tmp_path)
    assert result.code == 0
    assert json.loads(result.out) == {"subject": "openstack", "from": "zed", "to": "2024.1",
                                      "path": ["zed", "2023.1", "2024.1"], "upgrades": 2,
                                      "reason": None, "notes": []}


def test_json_answer_without_path_exits_1(tmp_path: Path) -> None:
    """--json without a path still prints an object, with the reason, and exits 1."""
    result = run(["policy", "path", "ovn", "24.09", "25.03", "--json"], cwd=tmp_path)
    assert result.code == 1
    data = json.loads(result.out)
    assert data["path"] is None
    assert data["reason"].startswith("there is no upgrade path from 24.09 to 25.03")


@pytest.mark.parametrize(("args", "expected"), [
    (["openstack", "zedd", "2024.1"], "relbot: OpenStack has no release 'zedd' (did you mean "
                                      "'zed'?) in openstack.toml (shipped with relbot);"),
    (["opnstack", "zed", "2024.1"], "relbot: there is no policy 'opnstack' (did you mean "
                                    "'openstack'?); known: kubernetes, openstack, ovn."),
    (["kubernetes", "1.27", "1.50"], "relbot: Kubernetes 1.50 is not in the support window"),
    (["kubernetes", "1.27", "latest"], "relbot: 'latest' is not a Kubernetes version"),
])
def test_bad_input_exits_2_with_one_sentence(tmp_path: Path, args: list[str],
                                             expected: str) -> None:
    """Unknown subjects and releases are usage errors: exit 2, one line, a suggestion."""
    result = run(["policy", "path", *args], cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith(expected)
    assert result.err.count("\n") == 1
    assert "Traceback" not in result.err


def test_policy_path_imports_no_heavy_library(tmp_path: Path) -> None:
    """`relbot policy path` runs without importing towncrier, python-gitlab or gitpython."""
    code = (
        "import sys\n"
        "from relbot.cli import cli\n"
        "try:\n"
        "    cli(['policy', 'path', 'openstack', 'zed', '2024.1'], standalone_mode=False)\n"
        "finally:\n"
        "    heavy = sorted(m for m in sys.modules\n"
        "                   if m.split('.')[0] in ('towncrier', 'gitlab', 'git'))\n"
        "    print('heavy:', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, check=False, env={"PYTHONPATH": str(PROJECT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["zed -> 2023.1 -> 2024.1", "heavy: []"]


DONE_DAY = 1796083200  # 2026-12-01T00:00:00Z


def test_no_rolling_path_lists_the_fail_safe_steps(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`policy path ovn 24.09 25.09`: no rolling path; the fail-safe procedure's steps follow."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(DONE_DAY))
    result = run(["policy", "path", "ovn", "24.09", "25.09"], cwd=tmp_path)
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0].startswith("relbot: there is no upgrade path from 24.09 to 25.09")
    assert lines[1] == ("Fail-safe upgrade (https://docs.ovn.org/en/latest/intro/install/"
                        "ovn-upgrades.html#fail-safe-upgrade):")
    assert lines[2].startswith("1. Upgrade to the most recent point release")
    assert lines[3].startswith("2. Enable the version pinning feature")
    assert lines[5:] == ["4. Upgrade OVN Databases and ovn-northd", "5. Upgrade ovn-controller",
                         "6. Upgrade OVN Integration",
                         "The most recent point release of 24.09 upstream lists is 24.09.3."]


def test_openstack_slurp_jump_and_a_release_not_out_yet(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """2025.1 -> 2026.1 is one SLURP jump; a path to 2027.1 says it is not released yet."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(DONE_DAY))
    result = run(["policy", "path", "openstack", "2025.1", "2026.1"], cwd=tmp_path)
    assert (result.code, result.out, result.err) == (0, "2025.1 -> 2026.1\n", "")
    result = run(["policy", "path", "openstack", "2026.1", "2027.1"], cwd=tmp_path)
    assert (result.code, result.out) == (0, "2026.1 -> 2027.1\n")
    assert result.err == "note: OpenStack 2027.1 is not released yet (planned for 2027-03-24).\n"
    data = json.loads(run(["policy", "path", "openstack", "hibiscus", "indri", "--json"],
                          cwd=tmp_path).out)
    assert data["notes"] == ["OpenStack 2027.1 is not released yet (planned for 2027-03-24)"]
    # once it is out, nothing to note
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(DONE_DAY + 200 * 86400))
    assert run(["policy", "path", "openstack", "2026.1", "2027.1"], cwd=tmp_path).err == ""
