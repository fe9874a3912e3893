"""`relbot policy update`: the lifecycle part regenerated from upstream's own files.

The upstream files are the stored copies in ../shared/upstream-data (never the
network); downloads are tried against a local HTTP server serving those copies.
"""

from __future__ import annotations

import datetime
import http.server
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import tomlkit

from tests.conftest import PROJECT, SHARED, run

UPSTREAM = SHARED / "upstream-data"
SOURCES = {
    "kubernetes": ["k8s-website-schedule.yaml", "k8s-website-eol.yaml",
                   "endoflife-date-kubernetes.md"],
    "openstack": ["openstack-series_status.yaml"],
    "ovn": ["ovn-releases"],
}
DAY = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(DAY.timestamp())))


@pytest.fixture
def upstream() -> Path:
    if not UPSTREAM.is_dir():
        pytest.skip(f"upstream data not found at {UPSTREAM} (../shared is absent)")
    return UPSTREAM


def sources(name: str, base: Path) -> list[str]:
    args = []
    for item in SOURCES[name]:
        args += ["--from", str(base / item)]
    return args


def shipped_copy(tmp_path: Path, name: str) -> Path:
    (tmp_path / "policies").mkdir(exist_ok=True)
    target = tmp_path / "policies" / f"{name}.toml"
    shutil.copyfile(PROJECT / "policies" / f"{name}.toml", target)
    return target


def without_lifecycle(text: str) -> str:
    document = tomlkit.parse(text)
    del document["lifecycle"]
    return tomlkit.dumps(document)


@pytest.mark.parametrize("name", ["kubernetes", "openstack", "ovn"])
def test_regenerating_the_shipped_policies_changes_nothing(tmp_path: Path, upstream: Path,
                                                           name: str) -> None:
    """The shipped files are exactly what `policy update --from` the stored upstream files
    makes of them, byte for byte, with their data_as_of."""
    target = shipped_copy(tmp_path, name)
    before = target.read_text(encoding="utf-8")
    result = run(["policy", "update", name, *sources(name, upstream)], cwd=tmp_path)
    assert result.code == 0, result.err
    assert "lifecycle data is current" in result.out
    assert target.read_text(encoding="utf-8") == before
    check = run(["policy", "update", name, "--check", *sources(name, upstream)], cwd=tmp_path)
    assert (check.code, check.out) == (0, result.out)


@pytest.mark.parametrize("name", ["kubernetes", "openstack", "ovn"])
def test_the_lifecycle_is_generated_from_scratch_identically(tmp_path: Path, upstream: Path,
                                                             name: str) -> None:
    """From an empty lifecycle table (and the shipped data_as_of), the update writes the
    shipped lifecycle part exactly."""
    target = shipped_copy(tmp_path, name)
    shipped = target.read_text(encoding="utf-8")
    as_of = str(tomlkit.parse(shipped)["lifecycle"]["data_as_of"])
    head = shipped[:shipped.index("\n[lifecycle]\n")]
    target.write_text(head + "\n[lifecycle]\ndata_as_of = 2000-01-01\nrelease = []\n",
                      encoding="utf-8")
    result = run(["policy", "update", name, "--as-of", as_of, *sources(name, upstream)],
                 cwd=tmp_path)
    assert result.code == 0, result.err
    assert target.read_text(encoding="utf-8") == shipped


HAND_WRITTEN = """\
# Our own Kubernetes window.  Comments like this one must survive.
kind = "support-window"
title = "Kubernetes"
max_minor_step = 1

[checks]
max_data_age = 30   # we want fresh data

# newest first, as we like it
[[window]]
versions = "==1.35.*"
status = "supported"   # decided in !42
note = "our default"

[[window]]
versions = "==1.34.*"
status = "deprecated"

[lifecycle]
data_as_of = 2025-01-01
[[lifecycle.release]]
name = "1.34"
released = 2025-08-27

# a trailing decision after the lifecycle table
[[probe]]
file = "k8s.toml"
key = "version"
"""


def test_update_changes_only_the_lifecycle_part(tmp_path: Path, upstream: Path) -> None:
    """Hand-written decisions, comments and order are kept; only [lifecycle] changes."""
    (tmp_path / "policies").mkdir()
    target = tmp_path / "policies" / "kubernetes.toml"
    target.write_text(HAND_WRITTEN, encoding="utf-8")
    result = run(["policy", "update", "kubernetes", *sources("kubernetes", upstream)],
                 cwd=tmp_path)
    assert result.code == 0, result.err
    assert "missing releases: 1.36, 1.35, 1.33" in result.out
    after = target.read_text(encoding="utf-8")
    assert without_lifecycle(after) == without_lifecycle(HAND_WRITTEN)
    assert after.startswith(HAND_WRITTEN[:HAND_WRITTEN.index("[lifecycle]")])
    assert "# a trailing decision after the lifecycle table" in after
    life = tomlkit.parse(after)["lifecycle"]
    assert str(life["data_as_of"]) == "2026-12-01"  # changed: today
    names = [r["name"] for r in life["release"]]
    assert names[:4] == ["1.36", "1.35", "1.34", "1.33"]
    # the new data is what the check reads: 1.34 ended on 2026-10-27 and is deprecated
    show = run(["policy", "show", "kubernetes", "--format", "json"], cwd=tmp_path)
    assert '"end_of_life": "2026-10-27"' in show.out


@pytest.mark.parametrize(("name", "drop", "missing"), [
    ("kubernetes", "1.36", "1.36"),
    ("openstack", "2027.1", "2027.1"),
    ("ovn", "23.06", "23.06"),
])
def test_check_on_a_file_one_release_behind_exits_1(tmp_path: Path, upstream: Path,
                                                    name: str, drop: str, missing: str) -> None:
    """--check names the release upstream has and the file lacks, exits 1, writes nothing."""
    target = shipped_copy(tmp_path, name)
    document = tomlkit.parse(target.read_text(encoding="utf-8"))
    releases = document["lifecycle"]["release"]
    keep = [r for r in releases if r["name"] != drop]
    assert len(keep) == len(releases) - 1
    releases.clear()
    releases.extend(keep)
    behind = tomlkit.dumps(document)
    target.write_text(behind, encoding="utf-8")
    result = run(["policy", "update", name, "--check", *sources(name, upstream)],
                 cwd=tmp_path)
    assert result.code == 1
    assert f"{name}.toml is behind upstream:\n  missing releases: {missing}\n" in result.out
    assert result.err == (f"relbot: {name}.toml behind upstream; run `relbot policy "
                          "update`.\n")
    assert target.read_text(encoding="utf-8") == behind


def test_check_names_changed_dates(tmp_path: Path, upstream: Path) -> None:
    """A date upstream moved is named with its old and new value."""
    target = shipped_copy(tmp_path, "kubernetes")
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("end_of_life = 2027-06-28", "end_of_life = 2027-05-28", 1),
                      encoding="utf-8")
    result = run(["policy", "update", "kubernetes", "--check",
                  *sources("kubernetes", upstream)], cwd=tmp_path)
    assert result.code == 1
    assert "changed: 1.36 (end_of_life 2027-05-28 -> 2027-06-28)" in result.out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(upstream: Path) -> Iterator[str]:
    """The stored upstream files over HTTP on 127.0.0.1 (no network)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(_Quiet, directory=str(upstream)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_download_from_configured_urls(tmp_path: Path, server: str) -> None:
    """Without --from the files are downloaded; data_as_of becomes today."""
    target = shipped_copy(tmp_path, "openstack")
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace(
        "https://raw.githubusercontent.com/openstack/releases/master/data/series_status.yaml",
        server + "openstack-series_status.yaml"), encoding="utf-8")
    result = run(["policy", "update", "openstack"], cwd=tmp_path)
    assert result.code == 0, result.err
    after = target.read_text(encoding="utf-8")
    assert "data_as_of = 2026-12-01" in after
    assert without_lifecycle(after) == without_lifecycle(target.read_text(encoding="utf-8"))


def test_download_of_ovn_pages_follows_the_index(tmp_path: Path, server: str) -> None:
    """For OVN the URL is the releases directory; all_releases.md names the pages."""
    target = shipped_copy(tmp_path, "ovn")
    before = target.read_text(encoding="utf-8")
    result = run(["policy", "update", "ovn", "--check", "--url", server + "ovn-releases/"],
                 cwd=tmp_path)
    assert (result.code, result.out) == (
        0, "ovn.toml: lifecycle data is current (upstream as of 2026-12-01).\n")
    assert target.read_text(encoding="utf-8") == before


def test_redirects_and_plain_http_are_refused(tmp_path: Path) -> None:
    """Upstream data comes over https from the URL given; anything else is one sentence."""
    shipped_copy(tmp_path, "openstack")
    result = run(["policy", "update", "openstack", "--url", "http://example.org/x.yaml"],
                 cwd=tmp_path)
    assert result.code == 2
    assert result.err == "relbot: upstream URL 'http://example.org/x.yaml' must use https.\n"


def test_usage_errors_are_one_sentence(tmp_path: Path, upstream: Path) -> None:
    """No such policy file; --from with several subjects; no policies at all."""
    result = run(["policy", "update", "kubernetes"], cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith("relbot: there is no policies/kubernetes.toml in ")
    shipped_copy(tmp_path, "kubernetes")
    shipped_copy(tmp_path, "ovn")
    result = run(["policy", "update", *sources("ovn", upstream)], cwd=tmp_path)
    assert result.code == 2
    assert result.err == ("relbot: --from and --url name one subject's files; give one "
                          "SUBJECT.\n")
    result = run(["policy", "update", "ovn", "--from", str(upstream / "k8s-website-eol.yaml")],
                 cwd=tmp_path)
    assert result.code == 2
    assert result.err == ("relbot: no OVN release page among the files read (pages of "
                          "ovn-org/ovn-website src/content/releases/, such as 24.03.md).\n")
