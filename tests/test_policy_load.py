"""Policy files: the shipped ones, name resolution, and every malformed case as one sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from relbot.config import load_config
from relbot.errors import ConfigError, PolicyError
from relbot.policy import files, load
from relbot.policy.model import SupportWindow, UpgradeGraph
from tests.conftest import PROJECT, run

SCHEMAS = PROJECT / "relbot" / "policy" / "schemas"

WINDOW = """\
kind = "support-window"
title = "Kubernetes"
max_minor_step = 1

[[window]]
versions = "==1.30.*"
status = "supported"

[[window]]
versions = "==1.29.*"
status = "deprecated"
"""

GRAPH = """\
kind = "upgrade-graph"
title = "Demo"

[[rule]]
from = "any"
to = "next"

[[release]]
name = "a"

[[release]]
name = "b"
aliases = ["bee"]

[[release]]
name = "c"
"""


def write(root: Path, relpath: str, text: str) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["kubernetes", "openstack", "ovn"])
def test_shipped_policies_load(tmp_path: Path, name: str) -> None:
    """Each shipped policy resolves by name from any repository and passes every check."""
    policy = load.load(name, tmp_path)
    assert policy.name == name
    assert policy.relpath is None
    assert "shipped with relbot" in policy.source
    assert name in files.shipped_names()


@pytest.mark.parametrize(("name", "schema"), [
    ("kubernetes", "support-window"), ("openstack", "upgrade-graph"), ("ovn", "upgrade-graph"),
])
def test_shipped_policies_validate_with_check_jsonschema(name: str, schema: str) -> None:
    """An independent validator (check-jsonschema, as editors would) accepts the shipped files."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "check-jsonschema"), "--schemafile",
         str(SCHEMAS / f"{schema}.schema.json"), str(PROJECT / "policies" / f"{name}.toml")],
        capture_output=True, text=True, check=False, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schemas_reject_what_the_loader_rejects(tmp_path: Path) -> None:
    """The shipped schemas are the format: check-jsonschema refuses an unknown key too."""
    bad = write(tmp_path, "bad.toml", WINDOW.replace('status = "supported"',
                                                     'status = "supported"\nstatu = "x"'))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "check-jsonschema"), "--schemafile",
         str(SCHEMAS / "support-window.schema.json"), str(bad)],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "statu" in proc.stdout + proc.stderr


def test_shipped_kubernetes_window_matches_the_issue(tmp_path: Path) -> None:
    """What Tarook supports today, 1.33-1.36; 1.19-1.32 dropped; one minor per step."""
    from packaging.version import Version

    policy = load.load("kubernetes", tmp_path)
    assert isinstance(policy, SupportWindow)
    status = {e.label: e.status for e in policy.entries}
    assert [m for m, s in status.items() if s == "supported"] == ["1.36", "1.35", "1.34", "1.33"]
    for minor in range(19, 33):
        entry = policy.entry_for(Version(f"1.{minor}.0"))
        assert entry is not None and entry.status == "dropped", minor
    assert policy.max_minor_step == 1


def test_shipped_openstack_graph_marks_slurps(tmp_path: Path) -> None:
    """Austin through 2027.1 in order; 2023.1, 2024.1, ..., 2027.1 are SLURPs."""
    policy = load.load("openstack", tmp_path)
    assert isinstance(policy, UpgradeGraph)
    names = [r.name for r in policy.releases]
    assert names[0] == "austin"
    assert names[-3:] == ["2026.1", "2026.2", "2027.1"]
    assert names.index("zed") < names.index("2023.1") < names.index("2025.2")
    slurps = [r.name for r in policy.releases if "slurp" in r.marks]
    assert slurps == ["2023.1", "2024.1", "2025.1", "2026.1", "2027.1"]
    assert policy.release("antelope") == policy.release("2023.1")
    assert policy.release("Caracal") == policy.release("2024.1")


def test_shipped_ovn_marks_lts_and_ranges(tmp_path: Path) -> None:
    """OVN 22.03, 24.03 and 26.03 are LTS; OpenStack 2024.2 needs OVN 24.03 or later."""
    policy = load.load("ovn", tmp_path)
    openstack = load.load("openstack", tmp_path)
    assert isinstance(policy, UpgradeGraph)
    assert [r.name for r in policy.releases if "lts" in r.marks] == ["22.03", "24.03", "26.03"]
    ranges = load.compatibility_ranges(policy, openstack)
    assert str(ranges["2024.2"]) == ">=24.03"
    assert "24.03.2" in ranges["2024.2"]
    assert "22.03.5" not in ranges["2024.2"]
    assert policy.release("24.03.2") == policy.release("24.03")


def test_repository_file_overrides_the_shipped_one(tmp_path: Path) -> None:
    """policies/kubernetes.toml of the repository replaces the shipped policy entirely."""
    write(tmp_path, "policies/kubernetes.toml", WINDOW)
    policy = load.load("kubernetes", tmp_path)
    assert isinstance(policy, SupportWindow)
    assert policy.source == "policies/kubernetes.toml"
    assert [e.label for e in policy.entries] == ["1.30", "1.29"]


def test_unknown_policy_name_suggests(tmp_path: Path) -> None:
    """A misspelt policy name is refused with the closest known name."""
    with pytest.raises(PolicyError, match=r"no policy 'kubernets' \(did you mean 'kubernetes'\?\)"):
        load.load("kubernets", tmp_path)


@pytest.mark.reliability("Hostile configuration and policies")
def test_policy_path_outside_the_repository_is_refused(tmp_path: Path) -> None:
    """A policies entry may not leave the repository."""
    repo = tmp_path / "repo"
    repo.mkdir()
    write(tmp_path, "outside.toml", WINDOW)
    with pytest.raises(PolicyError, match="points outside the repository"):
        load.load("../outside.toml", repo)


@pytest.mark.reliability("Hostile configuration and policies")
def test_policy_file_symlink_is_refused(tmp_path: Path) -> None:
    """A linked policy file is never read (it could point anywhere)."""
    target = write(tmp_path, "real.toml", WINDOW)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "kubernetes.toml").symlink_to(target)
    with pytest.raises(PolicyError, match="symbolic link"):
        load.load("kubernetes", tmp_path)


BAD_CASES = [
    # (file text, expected message after "policies/custom.toml: ")
    (WINDOW.replace('status = "supported"', 'statu = "supported"'),
     "unknown key 'window[0].statu' (did you mean 'status'?)"),
    ("max_step = 2\n" + WINDOW,
     "unknown key 'max_step' (did you mean 'max_minor_step'?)"),
    (WINDOW.replace("max_minor_step = 1", 'max_minor_step = "1"'),
     "max_minor_step must be an integer, not str '1'."),
    (WINDOW.replace('status = "deprecated"', 'status = "deprecatd"'),
     "window[1].status is 'deprecatd'; allowed: supported, deprecated, dropped "
     "(did you mean 'deprecated'?)."),
    (WINDOW.replace('versions = "==1.30.*"', 'versions = "1.30"'),
     "window[0].versions is '1.30', which is not a version specifier"),
    (WINDOW.replace('versions = "==1.29.*"', 'versions = ">=1.29"'),
     "window[0] and window[1] both cover 1.30; each version may have one status only."),
    (WINDOW.replace('[[window]]\nversions = "==1.29.*"',
                    '[[window]]\nreleased = 2020-13-01\nversions = "==1.29.*"'),
     "is not valid TOML"),
    (WINDOW.replace('status = "supported"', 'status = "supported"\nreleased = "May 2024"'),
     "window[0].released is 'May 2024', which is not a date such as 2024-04-17."),
    ('kind = "support-windows"\n', "kind is 'support-windows'; allowed: support-window, "
     "upgrade-graph (did you mean 'support-window'?)."),
    ('title = "x"\n', "needs the key 'kind'"),
    ('kind = "support-window"\n', "the top-level key 'window' is missing."),
    (WINDOW + '\n[[probe]]\nfile = "a.toml"\nkey = "a"\npattern = "(?P<version>x)"\n',
     "probe[0] needs exactly one of 'key' and 'pattern', but has both."),
    (WINDOW + '\n[[probe]]\nfile = "a.toml"\npattern = "v(\\\\d+)"\n',
     "probe[0].pattern needs a named group (?P<version>...)"),
    (WINDOW + '\n[[probe]]\nfile = "../a.toml"\nkey = "a"\n',
     "probe[0].file '../a.toml' must be a glob inside the repository"),
    (WINDOW + '\n[[probe]]\nfile = "a.toml"\nkey = "a..b"\n',
     "probe[0].key 'a..b' has an empty part"),
    (GRAPH + '\n[[edge]]\nfrom = "a"\nto = "cc"\nallowed = true\n',
     "edge[0].to 'cc' is not a release of this policy (did you mean 'c'?)."),
    (GRAPH + '\n[[edge]]\nfrom = "c"\nto = "a"\nallowed = true\n',
     "the upgrade graph has a cycle, a -> b -> c -> a; upgrades must only go forward"),
    (GRAPH + '\n[[edge]]\nfrom = "a"\nto = "c"\nallowed = true\n'
             '\n[[edge]]\nfrom = "a"\nto = "c"\nallowed = false\nreason = "broken"\n',
     "edge[1] contradicts edge[0]: both are about a -> c, once allowed and once blocked."),
    (GRAPH + '\n[[edge]]\nfrom = "a"\nto = "c"\nallowed = false\n',
     "edge[0] needs the key 'reason'."),
    (GRAPH + '\n[[edge]]\nfrom = "b"\nto = "bee"\nallowed = true\n',
     "edge[0] goes from b to itself."),
    (GRAPH.replace('to = "next"', 'to = "next sluprp"'),
     "rule[0].to uses the mark 'sluprp', which no release carries; marks: none."),
    (GRAPH.replace('name = "c"', 'name = "c"\naliases = ["B"]'),
     "release[2].aliases[0] 'B' is already a name of release[1] (b); release names must be "
     "unique."),
    (GRAPH.replace('name = "a"', 'name = "a"\nreleased = 2024-01-01').replace(
        'name = "c"', 'name = "c"\nreleased = 2023-01-01'),
     "release[2] (c, released 2023-01-01) is listed after a (released 2024-01-01)"),
    (GRAPH + '\n[compatibility.openstack]\nzed = "newest"\n',
     "compatibility.openstack.zed is 'newest', which is not a version specifier"),
    (GRAPH.replace('to = "next"', 'to = "after"'),
     "rule[0].to is 'after', which is not next (the following release)"),
]


@pytest.mark.reliability("Hostile configuration and policies")
@pytest.mark.parametrize(("text", "expected"), BAD_CASES)
def test_malformed_policy_is_one_sentence_naming_file_and_key(
        tmp_path: Path, text: str, expected: str) -> None:
    """Each malformed policy raises PolicyError naming the file and the key path."""
    write(tmp_path, "policies/custom.toml", text)
    with pytest.raises(PolicyError) as info:
        load.load("custom", tmp_path)
    message = str(info.value)
    assert message.startswith("policies/custom.toml")
    assert expected in message
    assert "\n" not in message
    assert info.value.exit_code == 2


@pytest.mark.reliability("Hostile configuration and policies")
def test_huge_policy_file_is_refused_before_reading(tmp_path: Path) -> None:
    """A policy file over 1 MiB is refused with its size, never parsed."""
    write(tmp_path, "policies/custom.toml", WINDOW + "#" * (1024 * 1024) + "\n")
    with pytest.raises(PolicyError, match=r"policies/custom.toml is 10\d{5} bytes long; a "
                                          r"policy file may hold at most 1048576 bytes"):
        load.load("custom", tmp_path)


@pytest.mark.reliability("Hostile configuration and policies")
def test_non_utf8_policy_file_is_refused(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are one sentence, not a decoding traceback."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "custom.toml").write_bytes(b'kind = "\xff"\n')
    with pytest.raises(PolicyError, match=r"policies/custom\.toml is not UTF-8 text\."):
        load.load("custom", tmp_path)


@pytest.mark.reliability("Hostile configuration and policies")
@pytest.mark.parametrize(("text", "expected"), [BAD_CASES[0], BAD_CASES[16], BAD_CASES[17]])
def test_malformed_policy_via_cli_exits_2_without_traceback(
        tmp_path: Path, text: str, expected: str) -> None:
    """The CLI turns a malformed policy into one line on stderr and exit code 2."""
    write(tmp_path, "policies/custom.toml", text)
    result = run(["policy", "path", "custom", "a", "b"], cwd=tmp_path)
    assert result.code == 2
    assert "Traceback" not in result.err
    assert result.err.startswith("relbot: policies/custom.toml")
    assert expected in result.err
    assert result.err.count("\n") == 1


@pytest.mark.reliability("Hostile configuration and policies")
def test_huge_policy_via_cli_exits_2(tmp_path: Path) -> None:
    """A policy file over 1 MiB fails `policy path` with exit 2 and one sentence."""
    write(tmp_path, "policies/custom.toml", WINDOW + "#" * (1024 * 1024 + 10) + "\n")
    result = run(["policy", "path", "custom", "1.29", "1.30"], cwd=tmp_path)
    assert result.code == 2
    assert "1 MiB" in result.err
    assert "Traceback" not in result.err


TOWNCRIER = '[tool.towncrier]\ndirectory = "changes"\n'


def _component_config(tmp_path: Path, extra: str) -> Path:
    write(tmp_path, "towncrier.toml", TOWNCRIER)
    write(tmp_path, "relbot.toml", '[[component]]\nname = "k8s"\npolicies = ["kubernetes"]\n'
          + extra)
    return tmp_path


def test_component_probes_are_added_to_their_policy(tmp_path: Path) -> None:
    """A probe of the configuration joins the probes of the policy it names."""
    root = _component_config(tmp_path, 'probes = [{ policy = "kubernetes", file = "c.toml", '
                                       'key = "kubernetes.version" }]\n')
    config = load_config(root)
    [policy] = load.component_policies(root, config.component(None), config.source_name)
    assert [(p.file, p.key) for p in policy.probes] == [("c.toml", "kubernetes.version")]
    assert policy.probes[0].origin == "relbot.toml: component 'k8s': probes[0]"


@pytest.mark.parametrize(("extra", "expected"), [
    ('probes = [{ policy = "kubernets", file = "c.toml", key = "a" }]\n',
     "relbot.toml: component 'k8s': probes[0].policy is 'kubernets', which is not one of the "
     "component's policies (did you mean 'kubernetes'?); policies: kubernetes."),
    ('probes = [{ file = "c.toml", key = "a" }]\n',
     "relbot.toml: component 'k8s': probes[0] needs the key 'policy'"),
    ('probes = [{ policy = "kubernetes", file = "c.toml", kye = "a" }]\n',
     "relbot.toml: component 'k8s': unknown key 'probes[0].kye' (did you mean 'key'?)"),
])
def test_component_probe_errors_name_the_key(tmp_path: Path, extra: str, expected: str) -> None:
    """A wrong probe in relbot.toml names the file, the component and the key path."""
    root = _component_config(tmp_path, extra)
    config = load_config(root)
    with pytest.raises(PolicyError) as info:
        load.component_policies(root, config.component(None), config.source_name)
    assert str(info.value).startswith(expected)


def test_probes_option_must_be_a_list_of_tables(tmp_path: Path) -> None:
    """The configuration's type check covers the new `probes` option."""
    root = _component_config(tmp_path, 'probes = ["templates/config.template.toml"]\n')
    with pytest.raises(ConfigError, match="probes must be a list of tables"):
        load_config(root)


def test_window_entries_know_the_line_of_their_versions(tmp_path: Path) -> None:
    """Each entry records the line of its `versions` key, not of a comment quoting it."""
    policy = load.load("kubernetes", tmp_path)
    assert isinstance(policy, SupportWindow)
    lines = (PROJECT / "policies" / "kubernetes.toml").read_text(encoding="utf-8").splitlines()
    assert any('"==1.36.*"' in line and line.startswith("#") for line in lines)
    for entry in policy.entries:
        assert entry.line is not None
        assert lines[entry.line - 1] == f'versions = "{entry.text}"'
