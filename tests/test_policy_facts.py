"""The shipped policies against ../shared: upstream's files and the cross-check page.

The lifecycle tables are generated from ../shared/upstream-data (test_policy_update.py
proves that regenerating changes nothing); here the result is compared with the sourced
facts of ../shared/policy-facts.md, and OVN's upgrade rules with ovn-upgrades.rst.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relbot.policy import load
from relbot.policy.model import SupportWindow, UpgradeGraph
from tests.conftest import SHARED

FACTS = SHARED / "policy-facts.md"
UPGRADES = SHARED / "upstream-data" / "ovn-upgrades.rst"


def need(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"{path} not found (../shared is absent)")
    return path.read_text(encoding="utf-8")


def test_kubernetes_dates_match_the_facts(tmp_path: Path) -> None:
    """Every minor of the facts table has the same release, maintenance and EOL dates; the
    one difference is 1.22's end of life, where the official eol.yaml (2022-12-08, its last
    patch) wins over the 2022-10-28 the facts page quotes."""
    text = need(FACTS)
    policy = load.load("kubernetes", tmp_path)
    assert isinstance(policy, SupportWindow) and policy.lifecycle is not None
    rows = re.findall(r"^\| (1\.\d+) \| (\d{4}-\d\d-\d\d) \| (\d{4}-\d\d-\d\d) \| "
                      r"(\d{4}-\d\d-\d\d) \|", text, re.MULTILINE)
    assert [r[0] for r in rows] == [f"1.{m}" for m in range(19, 38)]
    # 1.37 (2026-08-26) came after the stored snapshots: the first online update brings it
    for minor, released, maintenance, eol in rows[:-1]:
        life = policy.lifecycle.get(minor)
        assert life is not None, minor
        assert (life.released, life.maintenance) == (released, maintenance), minor
        assert life.end_of_life == ("2022-12-08" if minor == "1.22" else eol), minor
    assert policy.lifecycle.get("1.37") is None
    assert policy.lifecycle.data_as_of == "2026-08-21"


def test_openstack_through_2027_1_with_slurps(tmp_path: Path) -> None:
    """2026.2 Hibiscus and 2027.1 Indri are there; release dates and SLURP flags match."""
    text = need(FACTS)
    policy = load.load("openstack", tmp_path)
    assert isinstance(policy, UpgradeGraph)
    rows = re.findall(r"^\| (\d{4}\.\d|\N{EN DASH}) \| ([a-z]+) \| "
                      r"(?:planned )?(\d{4}-\d\d-\d\d) \| (yes)? *\|", text, re.MULTILINE)
    assert len(rows) == 19
    for number, name, released, slurp in rows:
        release = policy.release(name)
        assert release is not None, name
        assert release.name == (name if number == "\N{EN DASH}" else number)
        assert release.released == released, name
        assert ("slurp" in release.marks) == (slurp == "yes"), name


def test_ovn_list_is_complete_with_dates(tmp_path: Path) -> None:
    """Every series from 20.03 to 26.03, 23.06 included, each with its dates."""
    policy = load.load("ovn", tmp_path)
    assert isinstance(policy, UpgradeGraph)
    names = [r.name for r in policy.releases]
    assert names == ["20.03", "20.06", "20.09", "20.12", "21.03", "21.06", "21.09", "21.12",
                     "22.03", "22.06", "22.09", "22.12", "23.03", "23.06", "23.09", "24.03",
                     "24.09", "25.03", "25.09", "26.03"]
    assert all(r.life is not None and r.life.released and r.life.end_of_life
               for r in policy.releases)
    life = policy.lifecycle
    assert life is not None
    for name, released, critical, end in [("23.06", "2023-06-02", None, "2024-06-02"),
                                          ("24.03", "2024-03-01", "2026-03-01", "2027-03-01"),
                                          ("25.09", "2025-09-05", None, "2026-09-05")]:
        release = life.get(name)
        assert release is not None
        assert (release.released, release.maintenance, release.end_of_life) == (
            released, critical, end)


def test_ovn_rules_are_quoted_verbatim_from_ovn_upgrades(tmp_path: Path) -> None:
    """The rolling-upgrade rules and the fail-safe steps are upstream's own words."""
    text = " ".join(need(UPGRADES).split())
    plain = re.sub(r"`([^`]+)`_", r"\1", text)  # RST links read as their text
    policy = load.load("ovn", tmp_path)
    assert isinstance(policy, UpgradeGraph) and policy.fallback is not None
    assert [r.note for r in policy.rules] == [
        "LTS to the very next LTS release, or to any non-LTS in between the two.",
        "Any non-LTS to the very next LTS release."]
    for note in (r.note for r in policy.rules):
        assert note in plain
    for number, step in enumerate(policy.fallback.steps, start=1):
        assert f"{number}. {step}" in plain, step
