"""The yaook-k8s preset's Kubernetes probes against Tarook's trees, today's and older ones.

Built from the facts in ../shared/real-world/tarook-2026/README.md ("Where Tarook
declares its Kubernetes versions"), with the clock at 2026-12-01.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from tests.conftest import run

DAY = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)

NIX = """\
{ lib, config, ... }:
let
  inherit (lib) mkOption types;
in {
  options.yk8s.kubernetes = {
    version = mkOption {
      description = "The Kubernetes version to deploy.";
      type = types.yk8s.k8s.kubernetesVersions [
{minors}
      ];
      # renovate: datasource=github-releases packageName=kubernetes/kubernetes
      default = "{default}";
    };
  };
}
"""


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(DAY.timestamp())))


def tarook(tmp_path: Path, files: dict[str, str]) -> Path:
    """A Tarook-like tree: the preset's relbot.toml, towncrier config in ci/res/, and files."""
    (tmp_path / "ci" / "res").mkdir(parents=True)
    (tmp_path / "ci" / "res" / "towncrier.toml").write_text(
        '[tool.towncrier]\ndirectory = "docs/_releasenotes"\nfilename = "CHANGELOG.rst"\n'
        '[[tool.towncrier.type]]\ndirectory = "removal"\nname = "Removals"\n'
        "showcontent = true\n", encoding="utf-8")
    assert run(["init", "--preset", "yaook-k8s"], cwd=tmp_path).code == 0
    for relpath, text in files.items():
        target = tmp_path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return tmp_path


def nix(minors: list[str], default: str, form: str = "kubernetesVersions") -> str:
    body = "\n".join(f"        [{m.replace('.', ' ')}]" for m in minors)
    text = NIX.replace("{minors}", body).replace("{default}", default)
    return text.replace("types.yk8s.k8s.kubernetesVersions", form)


def test_todays_nix_declaration_passes_and_is_reported(tmp_path: Path) -> None:
    """1.33, 1.34, 1.35 and the default 1.35.5 are read from the Nix file and pass."""
    root = tarook(tmp_path, {"nix/yk8s/kubernetes/default.nix":
                             nix(["1.33", "1.34", "1.35"], "1.35.5")})
    result = run(["policy", "check", "--verbose"], cwd=root)
    assert result.code == 0, result.out
    declared = [line for line in result.out.splitlines() if line.startswith("declared: ")]
    assert declared == [
        "declared: Kubernetes 1.33 (nix/yk8s/kubernetes/default.nix:9)",
        "declared: Kubernetes 1.34 (nix/yk8s/kubernetes/default.nix:10)",
        "declared: Kubernetes 1.35 (nix/yk8s/kubernetes/default.nix:11)",
        "declared: Kubernetes 1.35.5 (nix/yk8s/kubernetes/default.nix:14)",
    ]
    # the older layouts' probes found nothing: each says so, as a warning
    assert ("warning: the optional kubernetes probe templates/config.template.toml: "
            "kubernetes.version found nothing: no file matches") in result.out
    assert result.out.count("[probe-found-nothing]") == 3
    assert result.err == "policies of k8s ok (checked Kubernetes 1.33, 1.34, 1.35, 1.35.5).\n"


def test_declaration_still_listing_1_30_fails_naming_it(tmp_path: Path) -> None:
    """A Nix file that still lists 1.30 fails: 1.30 is dropped by the window."""
    root = tarook(tmp_path, {"nix/yk8s/kubernetes/default.nix":
                             nix(["1.30", "1.34", "1.35"], "1.35.5")})
    result = run(["policy", "check"], cwd=root)
    assert result.code == 1
    [dropped] = [line for line in result.out.splitlines() if "[policy-dropped]" in line]
    assert dropped.startswith("nix/yk8s/kubernetes/default.nix:9: Kubernetes 1.30 (within "
                              "match 1[0]) is dropped by kubernetes.toml (shipped with relbot)")


def test_the_older_k8s_version_form_is_read(tmp_path: Path) -> None:
    """The 2025 form `k8sVersion [ [1 31] [1 32] [1 33] ]` is probed too (1.31 dropped)."""
    text = ("  version = mkOption {\n    type = k8sVersion [ [1 31] [1 32] [1 33] ];\n"
            '    default = "1.33.4";\n  };\n')
    root = tarook(tmp_path, {"nix/yk8s/kubernetes/default.nix": text})
    result = run(["policy", "check"], cwd=root)
    assert result.code == 1
    assert "Kubernetes 1.31 (within match 1[0]) is dropped" in result.out
    assert "Kubernetes 1.32 (within match 1[1]) is dropped" in result.out
    assert "1.33.4" not in result.out  # supported: nothing to say


def test_ansible_list_of_v4_to_v8_is_probed(tmp_path: Path) -> None:
    """A v8-era tree (supported_k8s_versions in k8s-core) is checked: 1.28-1.30 dropped."""
    root = tarook(tmp_path, {
        "k8s-core/ansible/roles/config/k8s-config/defaults/main.yaml":
            'supported_k8s_versions:\n  - "1.28"\n  - "1.29"\n  - "1.30"\n',
        "templates/config.template.toml": '[kubernetes]\nversion = "1.30.5"\n'})
    result = run(["policy", "check"], cwd=root)
    assert result.code == 1
    assert result.out.count("[policy-dropped]") == 4


def test_a_tree_without_any_declaration_fails_naming_the_probes(tmp_path: Path) -> None:
    """No Nix file and none of the older files: the check fails and names every probe."""
    root = tarook(tmp_path, {})
    result = run(["policy", "check"], cwd=root)
    assert result.code == 1
    [line] = [x for x in result.out.splitlines() if "none of the" in x]
    assert "none of the 5 Kubernetes probe(s) found a declared version" in line
    for probe in ("nix/yk8s/kubernetes/default.nix", "templates/config.template.toml",
                  "k8s-base/roles/k8s-config/defaults/main.yaml",
                  "k8s-core/ansible/roles/config/k8s-config/defaults/main.yaml"):
        assert probe in line
    assert result.err == "relbot: 1 policy problem(s) in k8s.\n"


def test_dropping_a_minor_from_the_nix_list_needs_a_removal_fragment(tmp_path: Path) -> None:
    """Between the base and HEAD, 1.33 leaves the Nix list: a removal fragment must say so."""
    from tests.conftest import git

    root = tarook(tmp_path, {"nix/yk8s/kubernetes/default.nix":
                             nix(["1.33", "1.34", "1.35"], "1.35.5")})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    (root / "nix/yk8s/kubernetes/default.nix").write_text(nix(["1.34", "1.35", "1.36"],
                                                              "1.36.2"), encoding="utf-8")
    result = run(["policy", "check", "--base", "main"], cwd=root)
    assert result.code == 1
    assert ("Kubernetes 1.33 left within match 1 since main; announce it in a removal or "
            "BREAKING fragment that names 1.33") in result.out
    (root / "docs/_releasenotes").mkdir(parents=True, exist_ok=True)
    (root / "docs/_releasenotes/2459.removal").write_text(
        "Support for Kubernetes v1.33 has been dropped.\n", encoding="utf-8")
    git(root, "add", "-A")  # only tracked fragments are pending (`fragment new` stages them)
    assert run(["policy", "check", "--base", "main"], cwd=root).code == 0
