"""Probes: declared versions found in TOML, YAML, JSON and by pattern, with their lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from relbot.git import GitRepo
from relbot.policy.model import Probe
from relbot.policy.probes import Declared, read_probe
from relbot.policy.trees import MAX_PROBED_BYTES, GitTree, WorkTree, glob_regex, literal_prefix
from tests.conftest import make_repo

# Shaped like Yaook/K8s's templates/config.template.toml: other tables have a `version`
# too, and comments mention the key, so a naive search would find the wrong line.
CONFIG_TEMPLATE = """\
# Variables marked with "•ᴗ•" are mandatory!
# kubernetes.version = "1.0.0" is only a comment
[ch-k8s-lbaas]
enabled       = true    # •ᴗ•
version       = "0.4.2"

# --- KUBERNETES: BASIC CLUSTER CONFIGURATION ---
[kubernetes]
# Kubernetes version. Currently, we support from 1.28.* to 1.30.*.
version = "1.29.5" # •ᴗ•

[kubernetes.local_storage.static]
#version = "v2.3.4"
version = "v2.3.5"
"""

ANSIBLE_DEFAULTS = """\
---
k8s_version_default: "1.30.2"
supported_k8s_versions:
  - 1.28
  - "1.29"
  - 1.30
"""

CUSTOM_RESOURCES = """\
apiVersion: yaook.cloud/v1
kind: NovaDeployment
spec:
  targetRelease: zed
---
apiVersion: yaook.cloud/v1
kind: KeystoneDeployment
spec:
  targetRelease: "2023.1"
"""


def write(root: Path, relpath: str, text: str) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def found(probe: Probe, root: Path) -> list[tuple[str, int | None, str, bool]]:
    declared, findings = read_probe(probe, "kubernetes", WorkTree(root))
    assert findings == []
    return [(d.path, d.line, d.value, d.listed) for d in declared]


def test_toml_key_path_finds_the_value_and_its_line(tmp_path: Path) -> None:
    """kubernetes.version is found in [kubernetes], on its own line, not in other tables."""
    write(tmp_path, "templates/config.template.toml", CONFIG_TEMPLATE)
    probe = Probe(file="templates/config.template.toml", key="kubernetes.version")
    assert found(probe, tmp_path) == [("templates/config.template.toml", 10, "1.29.5", False)]


def test_toml_nested_key_path_line(tmp_path: Path) -> None:
    """A deeper key path walks its tables in order (the commented-out line is skipped)."""
    write(tmp_path, "templates/config.template.toml", CONFIG_TEMPLATE)
    probe = Probe(file="templates/*.toml", key="kubernetes.local_storage.static.version")
    assert found(probe, tmp_path) == [("templates/config.template.toml", 14, "v2.3.5", False)]


def test_yaml_list_keeps_versions_as_written(tmp_path: Path) -> None:
    """A YAML list declares several versions; 1.30 stays 1.30 (not the float 1.3)."""
    write(tmp_path, "roles/k8s/defaults/main.yaml", ANSIBLE_DEFAULTS)
    probe = Probe(file="roles/*/defaults/main.yaml", key="supported_k8s_versions")
    assert found(probe, tmp_path) == [
        ("roles/k8s/defaults/main.yaml", 4, "1.28", True),
        ("roles/k8s/defaults/main.yaml", 5, "1.29", True),
        ("roles/k8s/defaults/main.yaml", 6, "1.30", True),
    ]


def test_yaml_documents_each_declare(tmp_path: Path) -> None:
    """Every document of a multi-document YAML file is probed, each with its own line."""
    write(tmp_path, "deploy/nova/cr.yaml", CUSTOM_RESOURCES)
    declared, findings = read_probe(Probe(file="deploy/**/*.yaml", key="spec.targetRelease"),
                                    "openstack", WorkTree(tmp_path))
    assert findings == []
    assert [(d.line, d.value, d.slot) for d in declared] == [
        (4, "zed", "spec.targetRelease (document 1)"),
        (9, "2023.1", "spec.targetRelease (document 2)"),
    ]


def test_json_list_values_and_lines(tmp_path: Path) -> None:
    """JSON values are found by key path, list items each on their own line."""
    write(tmp_path, "versions.json", '{\n  "kubernetes": {\n    "supported": [\n'
                                     '      "1.28.3",\n      "1.29.1"\n    ]\n  }\n}\n')
    probe = Probe(file="versions.json", key="kubernetes.supported")
    assert found(probe, tmp_path) == [("versions.json", 4, "1.28.3", True),
                                      ("versions.json", 5, "1.29.1", True)]


def test_wildcard_key_matches_every_key(tmp_path: Path) -> None:
    """A * part of a key path matches every key of a table (or item of a list)."""
    write(tmp_path, "matrix.json", '{"clusters": {\n"a": {"k8s": "1.28.1"},\n'
                                   '"b": {"k8s": "1.29.2"}}}\n')
    probe = Probe(file="matrix.json", key="clusters.*.k8s")
    assert found(probe, tmp_path) == [("matrix.json", 2, "1.28.1", False),
                                      ("matrix.json", 3, "1.29.2", False)]


def test_pattern_probe_reports_the_line_of_the_version(tmp_path: Path) -> None:
    """A regular expression's version group gives the value and its line."""
    write(tmp_path, "Makefile", "IMAGE ?= base\nK8S_VERSION ?= 1.30.4\nOTHER = 1\n")
    probe = Probe(file="Makefile", pattern=r"^K8S_VERSION \?= (?P<version>\S+)$")
    assert found(probe, tmp_path) == [("Makefile", 2, "1.30.4", False)]


def test_required_probe_that_finds_nothing_is_a_finding(tmp_path: Path) -> None:
    """A required probe without a file to read is an error finding naming the probe."""
    probe = Probe(file="templates/config.template.toml", key="kubernetes.version",
                  origin="relbot.toml: component 'k8s': probes[0]")
    declared, findings = read_probe(probe, "kubernetes", WorkTree(tmp_path))
    assert declared == []
    [finding] = findings
    assert (finding.path, finding.rule) == ("templates/config.template.toml",
                                            "probe-found-nothing")
    assert "no file matches" in finding.message
    assert "relbot.toml: component 'k8s': probes[0]" in finding.message


def test_missing_key_is_a_finding_unless_optional(tmp_path: Path) -> None:
    """A file without the key is reported for a required probe and ignored for an optional one."""
    write(tmp_path, "a.toml", "[other]\nversion = '1'\n")
    _, findings = read_probe(Probe(file="a.toml", key="kubernetes.version"), "k",
                             WorkTree(tmp_path))
    assert [f.message.split(": ", 2)[-1] for f in findings] == [
        "a.toml has no key kubernetes.version; fix the probe () or set required = false"]
    declared, [warning] = read_probe(Probe(file="a.toml", key="kubernetes.version",
                                           required=False), "k", WorkTree(tmp_path))
    assert declared == []
    assert (warning.severity, warning.rule) == ("warning", "probe-found-nothing")
    assert warning.message == ("the optional k probe a.toml: kubernetes.version found nothing: "
                               "a.toml has no key kubernetes.version ()")


def test_unreadable_files_are_findings_not_crashes(tmp_path: Path) -> None:
    """Broken TOML, links, huge files and tables instead of versions become findings."""
    write(tmp_path, "broken.toml", "[kubernetes\nversion = 1\n")
    write(tmp_path, "table.toml", "[kubernetes.version]\nmajor = 1\n")
    write(tmp_path, "huge.toml", "#" * (MAX_PROBED_BYTES + 1))
    (tmp_path / "link.toml").symlink_to("/etc/hostname")
    rules = {}
    for name in ("broken.toml", "table.toml", "huge.toml", "link.toml"):
        _, findings = read_probe(Probe(file=name, key="kubernetes.version"), "k",
                                 WorkTree(tmp_path))
        [finding] = findings
        rules[name] = (finding.rule, finding.message.split(" (")[0])
    assert rules == {
        "broken.toml": ("probe-unreadable", "is not valid TOML: Expected ']' at the end of a "
                                            "table declaration"),
        "table.toml": ("probe-not-a-version", "kubernetes.version is a table, not a version"),
        "huge.toml": ("probe-unreadable", f"is {MAX_PROBED_BYTES + 1} bytes long; relbot "
                                          f"probes files of at most {MAX_PROBED_BYTES} bytes"),
        "link.toml": ("probe-unreadable", "is a symbolic link; relbot does not read probed "
                                          "files through links"),
    }


def test_linked_directory_is_not_followed(tmp_path: Path) -> None:
    """A probe glob below a directory link outside the repository is refused."""
    outside = tmp_path / "outside"
    write(outside, "config.toml", '[kubernetes]\nversion = "1.29.1"\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "templates").symlink_to(outside)
    _, findings = read_probe(Probe(file="templates/config.toml", key="kubernetes.version"),
                             "k", WorkTree(repo))
    assert [f.rule for f in findings] == ["probe-unreadable"]
    assert "outside the repository" in findings[0].message


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("templates/*.toml", "templates/config.template.toml", True),
    ("templates/*.toml", "templates/sub/config.toml", False),
    ("deploy/**/*.yaml", "deploy/cr.yaml", True),
    ("deploy/**/*.yaml", "deploy/a/b/cr.yaml", True),
    ("deploy/**/*.yaml", "other/deploy/cr.yaml", False),
    ("roles/?/main.yaml", "roles/a/main.yaml", True),
    ("v[0-9].json", "v1.json", True),
    ("v[!0-9].json", "v1.json", False),
])
def test_glob_semantics(pattern: str, path: str, matches: bool) -> None:
    """* stays in one directory, ** spans any number, ? and [...] work like the shell's."""
    assert bool(glob_regex(pattern).match(path)) is matches


def test_listing_starts_below_the_literal_prefix() -> None:
    """Only the directory before the first wildcard is listed, not the whole repository."""
    assert literal_prefix("templates/config.template.toml") == "templates/config.template.toml"
    assert literal_prefix("deploy/**/*.yaml") == "deploy"
    assert literal_prefix("*.yaml") == ""


def test_git_tree_reads_a_revision(tmp_path: Path) -> None:
    """The same probe reads an older revision through git, with that revision's lines."""
    repo = make_repo(tmp_path, {"templates/config.template.toml": CONFIG_TEMPLATE})
    base = repo.git("rev-parse", "HEAD")
    repo.write("templates/config.template.toml",
               "\n\n" + CONFIG_TEMPLATE.replace("1.29.5", "1.30.1"))
    repo.commit_all("bump")
    probe = Probe(file="templates/*.toml", key="kubernetes.version")
    old: list[Declared] = read_probe(probe, "k", GitTree(GitRepo(repo.path), base))[0]
    new = read_probe(probe, "k", WorkTree(repo.path))[0]
    assert [(d.value, d.line) for d in old] == [("1.29.5", 10)]
    assert [(d.value, d.line) for d in new] == [("1.30.1", 12)]
