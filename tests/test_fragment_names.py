"""Every fragment name towncrier accepts, read as the real Yaook/K8s releases read it.

Real Yaook/K8s v2.0.0 was released from ``939.feature.BREAKING.root-ca-rotation``:
towncrier takes the last part that is a type (BREAKING), and the real notes show the
entry under "Breaking changes" as ``!939``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from relbot.project import Project
from tests.conftest import REAL_WORLD, Repo, git, make_repo, run, yaook_like_files

TYPES = ["BREAKING", "feature", "change", "fix", "docs", "removal", "chore", "security",
         "misc"]
FRAGMENTS = "docs/_releasenotes"


def test_two_types_read_as_the_real_release_did() -> None:
    """Type is towncrier's (the last type), the MR is the leading number, the middle type noted."""
    from relbot.fragments import read_name

    name = read_name("939.feature.BREAKING.root-ca-rotation", TYPES)
    assert name is not None
    assert (name.issue, name.type, name.counter) == ("939", "BREAKING", 0)
    assert name.other_types == ("feature",)
    plain = read_name("940.feature.2.thing", TYPES)
    assert plain is not None
    assert (plain.issue, plain.type, plain.counter, plain.other_types) == (
        "940", "feature", 2, ())


def v2_like_repo(base: Path) -> Repo:
    """Yaook/K8s before v2.0.0 (from the real changelog's v2.0.0 section), at 1.0.0."""
    if not REAL_WORLD.is_dir():
        pytest.skip(f"real-world data not found at {REAL_WORLD} (../shared is absent)")
    files = yaook_like_files("1.0.0")
    files["towncrier.toml"] = (REAL_WORLD / "towncrier.toml").read_text(encoding="utf-8")
    files.update({
        f"{FRAGMENTS}/939.feature.BREAKING.root-ca-rotation":
            "Add functionality to rotate certificate authorities of a cluster\n\n"
            "This is i.e. needed if the old one is shortly to expire.\n",
        f"{FRAGMENTS}/1016.feature.vault-kubeconfig":
            "Add support for generating Kubernetes configuration from Vault\n",
        f"{FRAGMENTS}/+.fix.kubeadm-renewal":
            "Disable automatic certification renewal by kubeadm\n",
        f"{FRAGMENTS}/1033.chore.release-process":
            "Further improvement to the automated release process.\n",
        f"{FRAGMENTS}/+.chore.python-version": "Bump required Python version to >=3.10\n",
    })
    return make_repo(base, files)


@pytest.mark.realworld
def test_real_v2_0_0_release_with_two_type_name(tmp_path: Path) -> None:
    """`cut --version 2.0.0 --no-push` releases the real v2.0.0 state: !939 is a breaking change."""
    repo = v2_like_repo(tmp_path)
    lint = run(["fragment", "lint"], repo.path)
    assert lint.code == 0, lint.out + lint.err
    assert ("docs/_releasenotes/939.feature.BREAKING.root-ca-rotation: warning: the name "
            "carries two types") in lint.out
    assert "[two-types]" in lint.out
    result = run(["cut", "--yes", "--no-push", "--version", "2.0.0", "--date", "2024-02-07"],
                 repo.path)
    assert result.code == 0, result.err
    assert (repo.path / "version").read_text() == "2.0.0\n"
    assert repo.git("rev-parse", "v2.0.0^{commit}") == repo.git("rev-parse", "HEAD")
    changelog = (repo.path / "CHANGELOG.rst").read_text()
    section = changelog.split("v2.0.0 (2024-02-07)\n-------------------\n", 1)[1]
    breaking = section.split("Breaking changes\n~~~~~~~~~~~~~~~~\n", 1)[1].split(
        "New Features", 1)[0]
    assert "- Add functionality to rotate certificate authorities of a cluster" in breaking
    assert "(`!939 <https://gitlab.com/yaook/k8s/-/merge_requests/939>`_)" in breaking
    assert "939.feature" not in changelog
    assert sorted(p.name for p in (repo.path / FRAGMENTS).iterdir()) == [".gitignore",
                                                                         "hotfix"]
    assert "!939" in git(repo.path, "tag", "-l", "--format=%(contents)", "v2.0.0")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "towncrier.toml").write_text(
        '[tool.towncrier]\ndirectory = "notes"\n' + "".join(
            f'[[tool.towncrier.type]]\ndirectory = "{t}"\nname = "{t}"\nshowcontent = true\n'
            for t in TYPES))
    (tmp_path / "relbot.toml").write_text('[[component]]\nname = "k8s"\n')
    (tmp_path / "notes").mkdir()
    return Project(tmp_path)


def put(project: Project, name: str, text: str = "A change.\n") -> None:
    (project.root / "notes" / name).write_text(text, encoding="utf-8")


@pytest.mark.reliability("Hostile fragments")
@pytest.mark.parametrize("name", ["²³.feature", "12.feature.²", "1²3.fix.thing", "٣.fix"])
def test_unusual_digits_are_one_finding(project: Project, name: str) -> None:
    """Superscript or Arabic-Indic digits in a name are one clear lint error, never a crash."""
    put(project, name)
    found = project.fragments()
    assert [f.rule for f in found.findings] == ["bad-number"]
    assert "digits other than 0-9" in found.findings[0].message
    result = run(["fragment", "lint"], project.root)
    assert result.code == 1
    assert "Traceback" not in result.err and "internal error" not in result.err


def test_a_name_towncrier_accepts_does_not_block(project: Project) -> None:
    """A non-numeric issue (towncrier renders it as it is) is a warning, not an error."""
    put(project, "fix-typo.fix")
    found = project.fragments()
    assert found.ok
    assert [(f.rule, f.severity) for f in found.findings] == [("bad-number", "warning")]
    assert [f.issue for f in found.fragments] == ["fix-typo"]


@pytest.mark.reliability("Hostile fragments")
@pytest.mark.parametrize("text", [
    ".. include:: /etc/passwd\n",
    "Text\n\n.. raw:: html\n\n   <script>alert(1)</script>\n",
    "  .. literalinclude:: ../../relbot.toml\n",
    ".. csv-table:: Secrets\n   :file: /etc/shadow\n",
    ".. csv-table:: Remote\n   :url: https://evil.example/x.csv\n",
    ".. |x| raw:: html\n\n   <b>x</b>\n",
    ".. role:: raw-html(raw)\n   :format: html\n",
    ".. INCLUDE:: secret.txt\n",
])
def test_rst_directives_that_read_files_or_pass_raw_markup(project: Project, text: str) -> None:
    """Directives that pull in files or raw output are lint errors; the fragment is not used."""
    put(project, "5.feature", "A change.\n\n" + text)
    found = project.fragments()
    assert [f.rule for f in found.findings] == ["rst-directive"]
    assert found.fragments == ()


def test_harmless_directives_pass(project: Project) -> None:
    """code blocks, notes and tables stay allowed."""
    put(project, "6.feature", "A change.\n\n.. code:: bash\n\n   ls\n\n.. note::\n\n   Hi\n\n"
        ".. csv-table:: Inline\n   :header: a, b\n\n   1, 2\n")
    found = project.fragments()
    assert not found.findings and len(found.fragments) == 1


def bounded_project(base: Path, relbot_extra: str = "", towncrier_extra: str = "") -> Path:
    base.mkdir(parents=True, exist_ok=True)
    (base / "towncrier.toml").write_text('[tool.towncrier]\ndirectory = "changes"\n'
                                         + towncrier_extra)
    (base / "relbot.toml").write_text('forge = "none"\n[[component]]\nversion_file = "V"\n'
                                      + relbot_extra)
    (base / "V").write_text("1.0.0\n")
    (base / "changes").mkdir(exist_ok=True)
    (base / "changes" / "1.feature").write_text("A feature.\n")
    return base


@pytest.mark.reliability("Hostile configuration and policies")
@pytest.mark.parametrize("extra", [
    "max_fragment_bytes = 100000000000000000000000\n",
    'release_branch_format = "r/{major.real}"\n',
    'release_branch_format = "r/{minor[0]}"\n',
    'commit_message = "Release {tag.__class__}"\n',
])
def test_absurd_numbers_and_attribute_formats_are_config_errors(tmp_path: Path,
                                                                extra: str) -> None:
    """One sentence, exit 2: no OverflowError, no format string that reaches attributes."""
    root = bounded_project(tmp_path / "p", extra)
    result = run(["next-version"], root)
    assert result.code == 2, result.out + result.err
    assert result.err.startswith("relbot: relbot.toml: component #1: ")
    assert "internal error" not in result.err


@pytest.mark.reliability("Hostile configuration and policies")
@pytest.mark.parametrize("template", ["{% for x in %}\n", "{{ 1/0 }}\n",
                                      "{{ versiondata.nothing.deeper }}\n"])
def test_broken_template_is_one_sentence(tmp_path: Path, template: str) -> None:
    """A towncrier template that does not parse or fails to render: exit 2, naming it."""
    root = bounded_project(tmp_path / "p", towncrier_extra='template = "t.rst"\n')
    (root / "t.rst").write_text(template)
    result = run(["notes"], root)
    assert result.code == 2, result.out + result.err
    assert result.err.startswith("relbot: the towncrier template t.rst cannot be rendered")
    assert "internal error" not in result.err and result.err.count("\n") == 1
