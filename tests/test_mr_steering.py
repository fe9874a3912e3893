"""`mr check` and the files that steer relbot: an MR's change to relbot.toml, a towncrier
configuration or template, or a policy file is validated as the MR's commit holds it, reported
under its own finding code and path, and never used (issue 16: mutants of relbot/mr.py).

Real repositories with a bare remote; the check runs in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PROJECT, Repo, make_repo, run, yaook_like_files
from tests.test_multicomponent import monorepo_files

FRAGMENTS = "docs/_releasenotes"
hostile = pytest.mark.reliability("Hostile configuration and policies")


def _gated_files() -> dict[str, str]:
    """The Yaook-like repository, gated on the shipped Kubernetes policy kept in policies/."""
    files = yaook_like_files()
    files["relbot.toml"] = files["relbot.toml"].replace('policies = []',
                                                        'policies = ["kubernetes"]')
    files["policies/kubernetes.toml"] = (PROJECT / "policies" / "kubernetes.toml").read_text()
    return files


def _feature_mr(tmp_path: Path, files: dict[str, str], changes: dict[str, str],
                message: str) -> tuple[Repo, str]:
    """``files`` committed on main, then branch ``feature`` committing ``changes`` and the
    MR's own fragment (7.feature); returns the repository and the MR's base."""
    repo = make_repo(tmp_path, files)
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    for path, text in {**changes, f"{FRAGMENTS}/7.feature": "Thing.\n"}.items():
        repo.write(path, text)
    repo.commit_all(message)
    return repo, base


def _check(repo: Repo, base: str, iid: int = 7) -> tuple[int, str]:
    result = run(["mr", "check", "--no-comment", "--iid", str(iid), "--base", base], repo.path)
    assert "internal error" not in result.err and "Traceback" not in result.err, result.err
    return result.code, result.out


BROKEN = {  # path -> how the MR breaks it
    "relbot.toml": lambda text: text + "colour = 1\n",
    "towncrier.toml": lambda text: text.replace('filename = "CHANGELOG.rst"', "filename = 1"),
    "policies/kubernetes.toml": lambda text: text + "\n[[[ not toml\n",
}


@hostile
@pytest.mark.parametrize("path", sorted(BROKEN))
def test_the_mrs_steering_file_is_validated_as_committed_not_as_checked_out(
        tmp_path: object, path: str) -> None:
    """The MR commits a broken steering file while the job's checkout holds the valid one
    (as a merged-results job's checkout is not the MR's head): what is validated is the
    MR's commit, which is what would merge."""
    repo = make_repo(tmp_path, _gated_files())  # type: ignore[arg-type]
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    valid = (repo.path / path).read_text()
    repo.write(path, BROKEN[path](valid))
    repo.write(f"{FRAGMENTS}/7.feature", "Thing.\n")
    repo.commit_all("Break a steering file")
    repo.write(path, valid)  # the checkout differs from the MR's commit
    _, out = _check(repo, base)
    assert f"[FAIL] steering files: {path}\n" in out, out
    assert f"{path}: the MR's new version would break relbot after the merge: " in out, out
    assert "[steering-invalid]" in out, out


def test_a_broken_towncrier_configuration_names_what_is_wrong(yaook_repo: Repo) -> None:
    """The finding carries the loader's own sentence, on the component's towncrier file."""
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "feature")
    text = (yaook_repo.path / "towncrier.toml").read_text()
    yaook_repo.write("towncrier.toml", text.replace('filename = "CHANGELOG.rst"', "filename = 1"))
    yaook_repo.write(f"{FRAGMENTS}/7.feature", "Thing.\n")
    yaook_repo.commit_all("Break towncrier.toml")
    code, out = _check(yaook_repo, base)
    assert code == 1, out
    assert ("           towncrier.toml: the MR's new version would break relbot after the "
            "merge: towncrier.toml: tool.towncrier.filename must be a string. "
            "[steering-invalid]\n") in out, out
    assert "[ok  ] fragment present: docs/_releasenotes/7.feature" in out


def test_two_valid_steering_changes_are_named_in_one_notice(yaook_repo: Repo) -> None:
    """Valid changes to relbot.toml and towncrier.toml: one notice names both, in order."""
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "feature")
    yaook_repo.write("relbot.toml", "# edited\n" + (yaook_repo.path / "relbot.toml").read_text())
    yaook_repo.write("towncrier.toml",
                     "# edited\n" + (yaook_repo.path / "towncrier.toml").read_text())
    yaook_repo.write(f"{FRAGMENTS}/7.feature", "Thing.\n")
    yaook_repo.commit_all("Edit both")
    code, out = _check(yaook_repo, base)
    assert code == 0, out
    assert ("  relbot.toml, towncrier.toml: changed by this MR and valid; the change takes "
            "effect after merge (this check used the target branch's version)\n") in out, out
    assert "[ok  ] steering files: relbot.toml, towncrier.toml\n" in out, out


def _with_template(repo: Repo, template: str, text: str) -> str:
    towncrier = (repo.path / "towncrier.toml").read_text().replace(
        "[tool.towncrier]", f'[tool.towncrier]\ntemplate = "{template}"', 1)
    repo.write("towncrier.toml", towncrier)
    repo.write(template, text)
    return repo.commit_all("Own template")


GOOD_TEMPLATE = "{% for section, _ in sections.items() %}{{ section }}{% endfor %}\n"


@hostile
def test_a_broken_template_of_the_mr_is_a_finding_on_the_template(yaook_repo: Repo) -> None:
    """The MR breaks the target's own towncrier template: reported on that file, and the
    check itself still renders with the target's template."""
    base = _with_template(yaook_repo, "changelog_template.j2", GOOD_TEMPLATE)
    yaook_repo.git("checkout", "-q", "-b", "feature")
    yaook_repo.write("changelog_template.j2", "{% for x in %}\n")
    yaook_repo.write(f"{FRAGMENTS}/7.feature", "Thing.\n")
    yaook_repo.commit_all("Break the template")
    code, out = _check(yaook_repo, base)
    assert code == 1, out
    assert "[FAIL] steering files: changelog_template.j2\n" in out, out
    assert ("changelog_template.j2: the MR's new version would break relbot after the merge: "
            "the towncrier template is broken: ") in out, out
    assert "[steering-invalid]" in out


def test_a_packaged_template_is_not_read_from_the_repository(yaook_repo: Repo) -> None:
    """`template = "towncrier:default"` names towncrier's own template (package:resource),
    not a repository file: switching to it is a valid change."""
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "feature")
    towncrier = (yaook_repo.path / "towncrier.toml").read_text().replace(
        "[tool.towncrier]", '[tool.towncrier]\ntemplate = "towncrier:default"', 1)
    yaook_repo.write("towncrier.toml", towncrier)
    yaook_repo.write(f"{FRAGMENTS}/7.feature", "Thing.\n")
    yaook_repo.commit_all("Use towncrier's template")
    code, out = _check(yaook_repo, base)
    assert code == 0, out
    assert "[ok  ] steering files: towncrier.toml\n" in out, out
    assert "towncrier.toml: changed by this MR and valid" in out, out


@hostile
@pytest.mark.parametrize(("size", "refused"), [(256 * 1024, False), (256 * 1024 + 1, True)],
                         ids=["at-the-bound", "one-byte-over"])
def test_the_mrs_template_is_read_up_to_256_kib(yaook_repo: Repo, size: int,
                                                refused: bool) -> None:
    """A template the MR makes larger than 256 KiB is refused, not read (one byte counts)."""
    base = _with_template(yaook_repo, "changelog_template.j2", GOOD_TEMPLATE)
    yaook_repo.git("checkout", "-q", "-b", "feature")
    padding = "{#" + "x" * (size - len(GOOD_TEMPLATE) - 5) + "#}\n"
    yaook_repo.write("changelog_template.j2", padding + GOOD_TEMPLATE)
    assert (yaook_repo.path / "changelog_template.j2").stat().st_size == size
    yaook_repo.write(f"{FRAGMENTS}/7.feature", "Thing.\n")
    yaook_repo.commit_all("A large template")
    code, out = _check(yaook_repo, base)
    assert ("[steering-invalid]" in out) is refused, out
    assert code == (1 if refused else 0), out
    if refused:
        assert "changelog_template.j2: the MR's new version would break relbot" in out


def _monorepo_mr(tmp_path: object, changes: dict[str, str],
                 files: dict[str, str] | None = None) -> tuple[Repo, str]:
    repo = make_repo(tmp_path, files or monorepo_files())  # type: ignore[arg-type]
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "mr")
    for path, text in changes.items():
        repo.write(path, text)
    for prefix in ("", "operator/", "baremetal/"):
        repo.write(f"{prefix}changes/5.fix", "A fix.\n")
    repo.commit_all("MR 5")
    return repo, base


def test_a_later_components_towncrier_file_is_validated_for_that_component(
        tmp_path: object) -> None:
    """In a monorepo the MR breaks the second component's towncrier configuration: the
    finding is the operator's, on its file; the other components' checks stay clean."""
    broken = (monorepo_files()["operator/towncrier.toml"]
              .replace('filename = "CHANGELOG.md"', "filename = 2"))
    repo, base = _monorepo_mr(tmp_path, {"operator/towncrier.toml": broken})
    code, out = _check(repo, base, iid=5)
    assert code == 1, out
    assert ("operator/towncrier.toml: the MR's new version would break relbot after the "
            "merge: operator/towncrier.toml: tool.towncrier.filename must be a string. "
            "[steering-invalid]") in out, out
    assert out.count("[FAIL] steering files: operator/towncrier.toml") == 1, out
    k8s = out.split("  operator:")[0]
    assert "steering files" not in k8s, out


def test_a_component_the_mr_renames_does_not_stop_the_others_validation(
        tmp_path: object) -> None:
    """The MR's relbot.toml renames the first component and gives the second a policy
    that does not exist: the rename is no finding, the missing policy is."""
    config = monorepo_files()["relbot.toml"].replace('name = "k8s"', 'name = "kubernetes"')
    config = config.replace('towncrier_config = "operator/towncrier.toml"',
                            'towncrier_config = "operator/towncrier.toml"\n'
                            'policies = ["no-such-policy"]')
    repo, base = _monorepo_mr(tmp_path, {"relbot.toml": config})
    code, out = _check(repo, base, iid=5)
    assert code == 1, out
    head = repo.git("rev-parse", "HEAD")
    assert ("policies[0]: policy file policies/no-such-policy.toml (commit "
            f"{head[:12]}) does not exist. [steering-invalid]") in out, out
    assert "[steering-invalid]" in out, out


def test_a_towncrier_dir_steers_where_the_mrs_template_is_looked_up(tmp_path: Path) -> None:
    """`towncrier_dir = "docs"`: towncrier's directory and template paths are relative to
    docs/, not to the configuration's directory. A valid edit of the configuration passes:
    the template is found where towncrier will find it after the merge."""
    files = yaook_like_files()
    files["towncrier.toml"] = files["towncrier.toml"].replace(
        'directory = "docs/_releasenotes/"',
        'directory = "_releasenotes/"\ntemplate = "changelog_template.j2"', 1)
    files["docs/changelog_template.j2"] = GOOD_TEMPLATE
    files["relbot.toml"] = files["relbot.toml"].replace(
        'towncrier_config = "towncrier.toml"',
        'towncrier_config = "towncrier.toml"\ntowncrier_dir = "docs"')
    repo, base = _feature_mr(tmp_path, files,
                             {"towncrier.toml": "# edited\n" + files["towncrier.toml"]},
                             "Edit the towncrier configuration")
    code, out = _check(repo, base)
    assert code == 0, out
    assert "[ok  ] steering files: towncrier.toml\n" in out, out


def test_an_mr_adding_relbot_toml_to_a_pyproject_configuration_is_a_steering_change(
        tmp_path: Path) -> None:
    """The target keeps its configuration in pyproject.toml; the MR adds a relbot.toml: that
    file steers relbot too, so it is checked and reported, never used."""
    files = yaook_like_files()
    config = files.pop("relbot.toml")
    files["pyproject.toml"] = "[tool.relbot]\n" + config.replace("[[component]]",
                                                                 "[[tool.relbot.component]]")
    repo, base = _feature_mr(tmp_path, files, {"relbot.toml": config}, "Add a relbot.toml")
    _, out = _check(repo, base)
    assert "] steering files: relbot.toml\n" in out, out


def test_a_policy_named_by_its_path_is_a_steering_file(tmp_path: Path) -> None:
    """`policies = ["policies/kubernetes.toml"]` (a path, not a name): the MR's edit of that
    file is reported as a steering change."""
    files = _gated_files()
    files["relbot.toml"] = files["relbot.toml"].replace(
        'policies = ["kubernetes"]', 'policies = ["policies/kubernetes.toml"]')
    repo, base = _feature_mr(
        tmp_path, files,
        {"policies/kubernetes.toml": "# edited\n" + files["policies/kubernetes.toml"]},
        "Edit the policy")
    _, out = _check(repo, base)
    assert "[ok  ] steering files: policies/kubernetes.toml\n" in out, out


def test_a_target_towncrier_file_without_its_table_is_one_sentence(tmp_path: Path) -> None:
    """The target branch's towncrier.toml lacks [tool.towncrier]: exit 2, one sentence."""
    files = yaook_like_files()
    files["towncrier.toml"] = "[tool.other]\nx = 1\n"
    repo, base = _feature_mr(tmp_path, files, {}, "Thing")
    result = run(["mr", "check", "--no-comment", "--iid", "7", "--base", base], repo.path)
    assert result.code == 2, result.out + result.err
    assert "towncrier.toml has no [tool.towncrier] table" in result.err, result.err
    assert "Traceback" not in result.err and "internal error" not in result.err


def test_a_components_template_change_is_that_components_only(tmp_path: object) -> None:
    """In a monorepo the MR edits the operator's own towncrier template: the steering check
    is the operator's, not every component's."""
    files = monorepo_files()
    files["operator/towncrier.toml"] = files["operator/towncrier.toml"].replace(
        "[tool.towncrier]", '[tool.towncrier]\ntemplate = "tpl.j2"', 1)
    files["operator/tpl.j2"] = GOOD_TEMPLATE
    repo, base = _monorepo_mr(tmp_path, {"operator/tpl.j2": "{# edited #}" + GOOD_TEMPLATE},
                              files)
    code, out = _check(repo, base, iid=5)
    assert code == 0, out
    assert out.count("steering files: operator/tpl.j2") == 1, out
    assert "steering files" in out.split("  operator:")[1].split("  baremetal:")[0], out


def test_each_broken_towncrier_file_is_reported_on_its_own_component_once(
        tmp_path: object) -> None:
    """The MR breaks two components' towncrier files: each file's finding holds its own
    problem only, not the other component's as well."""
    files = monorepo_files()
    broken_k8s = files["towncrier.toml"].replace('filename = "CHANGELOG.md"', "filename = 2")
    broken_operator = files["operator/towncrier.toml"].replace('filename = "CHANGELOG.md"',
                                                               "filename = 3")
    repo, base = _monorepo_mr(tmp_path, {"towncrier.toml": broken_k8s,
                                         "operator/towncrier.toml": broken_operator})
    code, out = _check(repo, base, iid=5)
    assert code == 1, out
    assert out.count("operator/towncrier.toml: tool.towncrier.filename must be a string.") == 1, \
        out
    assert out.count(": towncrier.toml: tool.towncrier.filename must be a string.") == 1, out
