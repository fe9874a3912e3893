"""What proves that a commit is relbot's release commit, one rule at a time.

A CI retry and a pre-merge hotfix resume from a commit only when its content proves
relbot made it (relbot/release_commit.py): trailers are text anyone can write. Each test
here forges a commit that breaks one rule of that proof, beside a control commit that keeps
every rule and is proven, so that a rule switched off is noticed. Real repositories.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relbot.git import GitRepo
from relbot.project import Project
from relbot.release_commit import ProvenRelease, Spec, blob, prove_release_commit
from tests.conftest import Repo, make_repo, run, yaook_like_files
from tests.test_cut import FRAGMENTS

hostile = pytest.mark.reliability("Hostile fragments")

SECTION = ("v8.1.0 (2024-10-01)\n-------------------\n\nNew Features\n~~~~~~~~~~~~\n\n"
           "- A shiny feature.\n\n")
PENDING = {f"{FRAGMENTS}/101.feature.shiny": "A shiny feature.\n",
           f"{FRAGMENTS}/102.fix": "A fix.\n"}


def _pending_repo(tmp_path: Path, files: dict[str, str] | None = None, *,
                  changelog: str | None = "CHANGELOG.rst") -> Repo:
    """The Yaook-like repository with PENDING committed and pushed; ``files`` replace or add
    files, ``changelog`` is where the changelog lies (towncrier told so; None: no changelog)."""
    tree = yaook_like_files()
    start = tree.pop("CHANGELOG.rst")
    if changelog is not None:
        tree[changelog] = start
        tree["towncrier.toml"] = tree["towncrier.toml"].replace(
            'filename = "CHANGELOG.rst"', f'filename = "{changelog}"')
    repo = make_repo(tmp_path, {**tree, **(files or {})})
    for path, text in PENDING.items():
        repo.write(path, text)
    repo.commit_all("Add fragments")
    repo.push()
    return repo


def _cut(repo: Repo) -> None:
    result = run(["cut", "--yes", "--no-push", "--date", "2024-10-01"], repo.path)
    assert result.code == 0, result.err


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """The Yaook-like repository at 8.0.2, two fragments pending, and a file beside them."""
    return _pending_repo(tmp_path, {"roles/old.yaml": "old: true\n"})


def changelog_with_section(repo: Repo, section: str = SECTION,
                           path: str = "CHANGELOG.rst") -> bytes:
    """The base's changelog with ``section`` inserted after the start marker."""
    text = (repo.path / path).read_bytes()
    marker = b".. towncrier release notes start\n"
    assert marker in text
    return text.replace(marker, marker + b"\n" + section.encode())


def hand_release(repo: Repo, *, changelog: bytes | None = None, version: str = "8.1.0",
                 remove: tuple[str, ...] = tuple(PENDING), write: dict[str, bytes] | None = None,
                 delete: tuple[str, ...] = (), changelog_path: str = "CHANGELOG.rst",
                 trailers: str | None = None) -> str:
    """A commit on HEAD shaped like relbot's release commit, built by hand: trailers, the
    version file, the changelog (``changelog``; default: the base's plus SECTION), the
    fragments ``remove`` deleted; then ``write`` and ``delete`` to break a rule.
    ``trailers``: the trailer block (default: those of a direct release on main)."""
    repo.git("checkout", "-q", "--detach", "HEAD")
    (repo.path / changelog_path).write_bytes(
        changelog if changelog is not None else changelog_with_section(repo, path=changelog_path))
    repo.write("version", version + "\n")
    for path in remove:
        repo.git("rm", "-q", path)
    for path, data in (write or {}).items():
        (repo.path / path).parent.mkdir(parents=True, exist_ok=True)
        (repo.path / path).write_bytes(data)
        repo.git("add", path)
    for path in delete:
        repo.git("rm", "-q", path)
    spec = Spec("k8s", version, "2024-10-01", "direct", "main")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", f"Release v{version}\n\n{trailers or spec.trailers()}")
    head = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "main")
    return head


def prove(repo: Repo, commit: str) -> ProvenRelease | None:
    project = Project(repo.path)
    assert project.git is not None
    return prove_release_commit(project, project.git, commit)


def test_the_hand_made_control_commit_is_proven(repo: Repo) -> None:
    """Without this control, every "not proven" below could pass for another reason."""
    proven = prove(repo, hand_release(repo))
    assert proven is not None
    assert proven.spec == Spec("k8s", "8.1.0", "2024-10-01", "direct", "main")
    assert sorted(proven.removed) == sorted(PENDING)
    assert proven.parent == repo.git("rev-parse", "main")


@hostile
def test_adding_a_fragment_is_not_a_release(repo: Repo) -> None:
    """A release only removes fragments: one written into the fragment directory, beside
    the removals, makes it an ordinary commit (it would never be released)."""
    smuggled = {f"{FRAGMENTS}/103.fix": b"Smuggled in.\n"}
    assert prove(repo, hand_release(repo, write=smuggled)) is None


@hostile
def test_changing_a_fragment_is_not_a_release(repo: Repo) -> None:
    remove = (f"{FRAGMENTS}/101.feature.shiny",)
    changed = {f"{FRAGMENTS}/102.fix": b"A different fix.\n"}
    assert prove(repo, hand_release(repo, remove=remove, write=changed)) is None


@hostile
def test_deleting_a_file_outside_the_fragment_directories_is_not_a_release(repo: Repo) -> None:
    assert prove(repo, hand_release(repo, delete=("roles/old.yaml",))) is None


@hostile
def test_adding_any_other_file_is_not_a_release(repo: Repo) -> None:
    assert prove(repo, hand_release(repo, write={"roles/evil.yaml": b"evil: true\n"})) is None


@hostile
def test_a_release_removes_at_least_one_fragment(repo: Repo) -> None:
    assert prove(repo, hand_release(repo, remove=())) is None


@hostile
def test_a_release_changes_the_version_file(repo: Repo) -> None:
    """Changelog and fragments alone, the version file left as it was: not a release,
    even with trailers and a heading that name the version the file holds."""
    same = changelog_with_section(repo, SECTION.replace("v8.1.0", "v8.0.2"))
    assert prove(repo, hand_release(repo, version="8.0.2", changelog=same)) is None


@hostile
@pytest.mark.parametrize("held", ["9.9.9\n", "not a version\n"])
def test_the_version_file_holds_the_trailers_version(repo: Repo, held: str) -> None:
    assert prove(repo, hand_release(repo, write={"version": held.encode()})) is None


@hostile
def test_the_changelog_loses_nothing(repo: Repo) -> None:
    """A release only adds to the changelog: dropping its title line is not one."""
    shortened = changelog_with_section(repo).replace(b"Releasenotes\n============\n", b"")
    assert prove(repo, hand_release(repo, changelog=shortened)) is None


@hostile
def test_the_changelog_gains_the_versions_heading(repo: Repo) -> None:
    """Text added without the heading of the trailers' version is not its release."""
    other = changelog_with_section(repo, SECTION.replace("v8.1.0", "v8.1.1"))
    assert prove(repo, hand_release(repo, changelog=other)) is None


@hostile
def test_a_heading_already_there_is_not_gained(repo: Repo) -> None:
    """The base already mentions v8.1.0; the commit adds text but no second heading."""
    repo.write("CHANGELOG.rst", (repo.path / "CHANGELOG.rst").read_text()
               + "\nv8.1.0 was planned for October.\n")
    repo.commit_all("Mention the plan")
    more = changelog_with_section(repo, "Some words without the version.\n\n")
    assert prove(repo, hand_release(repo, changelog=more)) is None


@hostile
@pytest.mark.parametrize("around", [("X", ""), ("x", ""), ("7", ""), ("", "X"), ("", "x"),
                                    ("", "7"), ("", ".1")])
def test_the_heading_counts_only_as_a_word_of_its_own(repo: Repo,
                                                      around: tuple[str, str]) -> None:
    """`Xv8.1.0`, `v8.1.0x`, `v8.1.07` or `v8.1.0.1` is another word, not v8.1.0's heading."""
    before, after = around
    section = SECTION.replace("v8.1.0 (", f"{before}v8.1.0{after} (")
    assert re.search(r"(?<![\w.+-])v8\.1\.0(?![\w+-]|\.\w)", section) is None
    assert prove(repo, hand_release(repo, changelog=changelog_with_section(repo, section))) \
        is None


def test_a_changelog_that_is_not_utf8_is_still_read(tmp_path: Path) -> None:
    """Bytes that are not UTF-8, in the base's changelog and in the new section, do not
    stop the proof (they are replaced, not fatal): the release is still recognised."""
    repo = _pending_repo(tmp_path)
    (repo.path / "CHANGELOG.rst").write_bytes(
        b"Releasenotes \xe9t\xe9\n============\n\n.. towncrier release notes start\n")
    repo.commit_all("A Latin-1 title")
    changelog = changelog_with_section(repo).replace(b"- A shiny feature.",
                                                     b"- A shiny caf\xe9 feature.")
    assert b"caf\xe9" in changelog
    assert prove(repo, hand_release(repo, changelog=changelog)) is not None


def test_a_tag_named_like_the_changelog_does_not_confuse_the_proof(repo: Repo) -> None:
    """git reads `CHANGELOG.rst` as a path, not as the tag of that name."""
    commit = hand_release(repo)
    repo.git("tag", "CHANGELOG.rst", "main~1")
    assert prove(repo, commit) is not None


def test_only_the_changelogs_own_lines_count(tmp_path: Path) -> None:
    """The changelog's numbers come from the changelog alone: here the removed fragments
    sort before it (`docs/_releasenotes/` < `docs/releasenotes.rst`) and lose lines."""
    repo = _pending_repo(tmp_path, changelog="docs/releasenotes.rst")
    commit = hand_release(repo, changelog=changelog_with_section(
        repo, path="docs/releasenotes.rst"), changelog_path="docs/releasenotes.rst")
    assert prove(repo, commit) is not None


def test_the_commit_message_uses_every_field_of_its_format(repo: Repo) -> None:
    """`commit_message` with {component}, {version} and {tag}, each filled in."""
    toml = (repo.path / "relbot.toml").read_text().replace(
        'version_file = "version"',
        'version_file = "version"\ncommit_message = "Release {component} {version} as {tag}"')
    repo.write("relbot.toml", toml)
    repo.commit_all("Own commit message")
    repo.push()
    _cut(repo)
    assert repo.git("log", "-1", "--format=%s") == "Release k8s 8.1.0 as v8.1.0"
    assert prove(repo, repo.git("rev-parse", "HEAD")) is not None


def test_a_pyproject_version_file_keeps_everything_else(tmp_path: Path) -> None:
    """The version is written into the base's pyproject.toml, which keeps its other
    lines byte for byte; the release commit made that way is proven."""
    pyproject = ('[project]\nname = "demo"  # the name\nversion = "8.0.2"\n'
                 'dependencies = ["click"]\n')
    relbot = yaook_like_files()["relbot.toml"].replace('version_file = "version"',
                                                       'version_file = "pyproject.toml"')
    repo = _pending_repo(tmp_path, {"relbot.toml": relbot, "pyproject.toml": pyproject})
    _cut(repo)
    assert repo.git("show", "HEAD:pyproject.toml") + "\n" == pyproject.replace("8.0.2", "8.1.0")
    assert prove(repo, repo.git("rev-parse", "HEAD")) is not None


def test_the_spec_comes_from_the_trailers(repo: Repo) -> None:
    """Every trailer lands in the proven spec, the release branch too."""
    spec = Spec("k8s", "8.1.0", "2024-10-02", "prepare", "release-prepare/v8.1.0",
                "release/v8.1")
    proven = prove(repo, hand_release(repo, trailers=spec.trailers()))
    assert proven is not None
    assert proven.spec == spec


def test_missing_trailers_leave_their_fields_empty(repo: Repo) -> None:
    """Only component and version are needed; no date, flow or branch is made up."""
    proven = prove(repo, hand_release(repo, trailers="Relbot-Component: k8s\n"
                                                     "Relbot-Version: 8.1.0\n"))
    assert proven is not None
    assert proven.spec == Spec("k8s", "8.1.0", "", "direct", "", None)


@hostile
@pytest.mark.parametrize("trailers", [
    "Relbot-Version: 8.1.0\n",  # no component
    "Relbot-Component: other\nRelbot-Version: 8.1.0\n",  # another component's
    "Relbot-Component: k8s\nRelbot-Component: k8s\nRelbot-Version: 8.1.0\n",
    "Relbot-Component: k8s\n",  # no version
    "Relbot-Component: k8s\nRelbot-Version: 8.1.0\nRelbot-Version: 8.1.0\n",
    "Relbot-Component: k8s\nRelbot-Version: eight\n",
])
def test_trailers_name_this_component_and_one_version(repo: Repo, trailers: str) -> None:
    assert prove(repo, hand_release(repo, trailers=trailers)) is None


def test_a_merge_commit_is_no_release(repo: Repo) -> None:
    release = hand_release(repo)
    repo.git("checkout", "-q", "-b", "side", "main~1")
    repo.write("side.txt", "side\n")
    repo.commit_all("side")
    repo.git("checkout", "-q", "--detach", release)
    message = repo.git("log", "-1", "--format=%B", release)
    repo.git("merge", "-q", "--no-ff", "-m", message, "side")
    merge = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "main")
    assert prove(repo, merge) is None


def test_blob_of_a_missing_file_is_empty(repo: Repo) -> None:
    git = GitRepo(repo.path)
    assert blob(git, "HEAD", "missing.txt") == b""
    assert blob(git, "HEAD", "version") == b"8.0.2\n"
    git.close()


def test_a_changelog_two_directories_deep(tmp_path: Path) -> None:
    """The changelog is rendered in a scratch copy of its own path, directories and all."""
    repo = _pending_repo(tmp_path, changelog="docs/release/notes.rst")
    _cut(repo)
    assert "v8.1.0 (2024-10-01)" in repo.git("show", "HEAD:docs/release/notes.rst")
    assert prove(repo, repo.git("rev-parse", "HEAD")) is not None


def test_a_first_release_creates_the_changelog(tmp_path: Path) -> None:
    """No changelog yet: the release commit adds it, holding only what towncrier wrote,
    and that commit (an added changelog) is proven."""
    repo = _pending_repo(tmp_path, changelog=None)
    _cut(repo)
    changelog = repo.git("show", "HEAD:CHANGELOG.rst")
    assert changelog.startswith("v8.1.0 (2024-10-01)\n"), changelog
    assert changelog.endswith("merge_requests/102>`_)"), changelog  # the new section only
    assert prove(repo, repo.git("rev-parse", "HEAD")) is not None
