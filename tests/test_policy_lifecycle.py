"""Upstream phases derived from the lifecycle dates and the clock, never stored."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from relbot.errors import PolicyError
from relbot.policy import load
from relbot.policy.lifecycle import ENDED, EXTENDED, FUTURE, MAINTAINED, LifecycleRelease, today

D = datetime.date


def test_phases_follow_the_dates() -> None:
    """Before release, maintained, extended from `maintenance`, ended from `end_of_life`."""
    release = LifecycleRelease(name="24.03", released="2024-03-01", maintenance="2026-03-01",
                               end_of_life="2027-03-01")
    assert [release.phase(D(2024, 2, 29)), release.phase(D(2024, 3, 1)),
            release.phase(D(2026, 2, 28)), release.phase(D(2026, 3, 1)),
            release.phase(D(2027, 2, 28)), release.phase(D(2027, 3, 1))] == [
        FUTURE, MAINTAINED, MAINTAINED, EXTENDED, EXTENDED, ENDED]


def test_a_phase_reached_without_a_date_only_moves_forward() -> None:
    """`reached` is a floor: later dates still move the release on; it never moves back."""
    zed = LifecycleRelease(name="zed", released="2022-10-05", reached=EXTENDED)
    assert zed.phase(D(2026, 12, 1)) == EXTENDED
    with_end = LifecycleRelease(name="2024.1", released="2024-04-03", reached=EXTENDED,
                                end_of_life="2027-01-01")
    assert with_end.phase(D(2027, 1, 1)) == ENDED
    assert LifecycleRelease(name="austin", released="2010-10-21",
                            reached=ENDED).phase(D(2011, 1, 1)) == ENDED


def test_an_old_release_known_only_by_its_end_has_ended() -> None:
    """Kubernetes 1.2 has an end of life but no release date in eol.yaml: it has ended."""
    assert LifecycleRelease(name="1.2", end_of_life="2016-10-23").phase(D(2026, 1, 1)) == ENDED
    assert LifecycleRelease(name="9.9").phase(D(2026, 1, 1)) == FUTURE


def test_today_honours_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The core's clock is SOURCE_DATE_EPOCH's day when set, as the CLI's dates are."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796083200")
    assert today() == D(2026, 12, 1)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "not-a-number")
    assert today() == datetime.datetime.now(datetime.UTC).date()


def test_shipped_files_store_no_status_word() -> None:
    """No shipped policy stores an upstream status; only dates (and `reached` floors)."""
    root = Path(__file__).parent.parent / "policies"
    for name in ("kubernetes", "openstack", "ovn"):
        text = (root / f"{name}.toml").read_text(encoding="utf-8")
        assert "\nstatus = \"maintained\"" not in text
        assert "\nstatus = \"eol\"" not in text
        assert "\nstatus = \"unmaintained\"" not in text


def test_release_tables_beside_a_lifecycle_are_refused(tmp_path: Path) -> None:
    """An upgrade graph takes its releases from one place: [[release]] or [lifecycle]."""
    (tmp_path / "g.toml").write_text(
        'kind = "upgrade-graph"\n[[release]]\nname = "a"\n[lifecycle]\n'
        'data_as_of = 2026-01-01\n[[lifecycle.release]]\nname = "a"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"g\.toml has both \[\[release\]\] and \[lifecycle\]"):
        load.load("g.toml", tmp_path)


@pytest.mark.parametrize(("probe", "message"), [
    ('{ file = "a.nix", key = "x", within = "y" }', "within needs a pattern to read inside it"),
    ('{ file = "a.nix", pattern = "(?P<version>x)", within = "([" }',
     "within is not a valid regular expression"),
    ('{ file = "a.nix", pattern = "(?P<major>1) (?P<patch>2)" }',
     "needs a named group (?P<version>...) around the version, or groups (?P<major>...) "
     "and (?P<minor>...)"),
])
@pytest.mark.reliability("Hostile configuration and policies")
def test_bad_within_and_group_probes_are_one_sentence(tmp_path: Path, probe: str,
                                                      message: str) -> None:
    """Probe mistakes are configuration errors naming the key."""
    (tmp_path / "p.toml").write_text(
        f'kind = "support-window"\nprobe = [{probe}]\n[[window]]\nversions = "==1.0.*"\n'
        'status = "supported"\n', encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load.load("p.toml", tmp_path)
    assert error.value.message.startswith("p.toml: probe[0].")
    assert message in error.value.message
