"""`mr check`'s policy check: named after its policies, and judging the MR's change since
its base commit (an upgrade in one allowed step, a dropped version announced by the MR's
own removal fragment) (issue 16: mutants of relbot/mr.py). Real repositories; in-process.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import PROJECT, Repo, run

FRAGMENTS = "docs/_releasenotes"


def _gate(repo: Repo, declared: str, key: str, policies: str = '"kubernetes"') -> str:
    """Gate the component on the shipped policies, reading Kubernetes from k8s.toml."""
    repo.write("policies/kubernetes.toml",
               (PROJECT / "policies" / "kubernetes.toml").read_text())
    repo.write("k8s.toml", f"[kubernetes]\n{declared}\n")
    config = re.sub(r"^probes = \[\n.*?\n\]\n", "", (repo.path / "relbot.toml").read_text(),
                    flags=re.M | re.S)
    repo.write("relbot.toml", config.replace(
        "policies = []", f'policies = [{policies}]\nprobes = [{{ policy = "kubernetes", '
        f'file = "k8s.toml", key = "kubernetes.{key}" }}]'))
    base = repo.commit_all("Gate on Kubernetes")
    repo.git("checkout", "-q", "-b", "feature")
    return base


def _check(repo: Repo, base: str) -> tuple[int, str]:
    result = run(["mr", "check", "--no-comment", "--iid", "60", "--base", base], repo.path)
    assert "Traceback" not in result.err, result.err
    return result.code, result.out


def test_the_policy_check_is_named_after_the_components_policies(yaook_repo: Repo) -> None:
    """The check's line names every policy that gates the component."""
    base = _gate(yaook_repo, 'version = "1.35.1"', "version", '"kubernetes", "openstack"')
    yaook_repo.write(f"{FRAGMENTS}/60.feature", "Thing.\n")
    yaook_repo.commit_all("Thing")
    _, out = _check(yaook_repo, base)
    assert re.search(r"^    \[(ok  |FAIL)\] policies: kubernetes, openstack$", out, re.M), out


def test_an_upgrade_of_two_minors_since_the_base_fails(yaook_repo: Repo) -> None:
    """Kubernetes moves one minor per upgrade: 1.33 -> 1.35 in one MR is refused."""
    base = _gate(yaook_repo, 'version = "1.33.1"', "version")
    yaook_repo.write("k8s.toml", '[kubernetes]\nversion = "1.35.1"\n')
    yaook_repo.write(f"{FRAGMENTS}/60.change", "Kubernetes 1.35.\n")
    yaook_repo.commit_all("Jump two minors")
    code, out = _check(yaook_repo, base)
    assert code == 1, out
    assert "[policy-upgrade-step]" in out, out
    assert "    [FAIL] policies: kubernetes\n" in out, out


@pytest.mark.parametrize("fragment", ["60.removal", None], ids=["announced", "unannounced"])
def test_a_dropped_version_is_judged_with_the_mrs_own_fragments(
        yaook_repo: Repo, fragment: str | None) -> None:
    """The MR stops declaring 1.34: fine with its own removal fragment, an error without."""
    base = _gate(yaook_repo, 'supported = ["1.34.1", "1.35.1"]', "supported")
    yaook_repo.write("k8s.toml", '[kubernetes]\nsupported = ["1.35.1"]\n')
    yaook_repo.write(f"{FRAGMENTS}/{fragment or '60.change'}", "Kubernetes 1.34 is gone.\n")
    yaook_repo.commit_all("Drop 1.34")
    _code, out = _check(yaook_repo, base)
    policy_line = next(line for line in out.splitlines() if "] policies: kubernetes" in line)
    assert policy_line == ("    [ok  ] policies: kubernetes" if fragment else
                           "    [FAIL] policies: kubernetes"), out
