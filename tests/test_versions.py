"""Versions: parsing, the bump the fragment types ask for, pre-releases, never backwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relbot.config import Component, load_config
from relbot.errors import NothingPending, UsageError, VersionError
from relbot.fragments import Fragment
from relbot.git import GitRepo
from relbot.project import Project
from relbot.versions import (
    Version,
    bumped,
    next_version,
    parse_version,
    prerelease,
    require_forward,
    versions_from_tags,
)
from tests.conftest import Repo, make_repo


@pytest.fixture
def component(tmp_path: Path) -> Component:
    (tmp_path / "towncrier.toml").write_text('[tool.towncrier]\ndirectory = "c"\n')
    (tmp_path / "relbot.toml").write_text(
        '[[component]]\nbump = { BREAKING = "major", feature = "minor" }\n'
        'tag_format = "operator/v{version}"\n')
    return load_config(tmp_path).component(None)


def frag(type_: str) -> Fragment:
    return Fragment(Path(f"1.{type_}"), f"1.{type_}", "", "1", type_, 0, "text")


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (["fix"], "8.0.3"),
        (["chore", "docs"], "8.0.3"),
        (["fix", "feature"], "8.1.0"),
        (["feature", "BREAKING", "fix"], "9.0.0"),
    ],
)
def test_highest_bump_wins(component: Component, types: list[str], expected: str) -> None:
    """BREAKING -> major, feature -> minor, anything else -> patch; the highest one counts."""
    result = next_version(component, Version.parse("8.0.2"), [frag(t) for t in types])
    assert str(result) == expected


def test_no_fragments_no_version(component: Component) -> None:
    """Without fragments there is nothing to release: exit 1, as `cut` says it."""
    with pytest.raises(NothingPending, match="no pending fragments"):
        next_version(component, Version.parse("1.0.0"), [])


def test_hotfix_is_patch(component: Component) -> None:
    """A hotfix release bumps patch, whatever the fragment types."""
    assert str(next_version(component, Version.parse("8.1.0"), [frag("feature")],
                            hotfix=True)) == "8.1.1"


@pytest.mark.parametrize("text", ["8.1.0", "v8.1.0", " V8.1.0\n"])
def test_leading_v_accepted(text: str) -> None:
    """A version is accepted with or without a leading v."""
    assert parse_version(text) == Version(8, 1, 0)


@pytest.mark.parametrize("text", ["8.1", "eight", "8.1.0.0", ""])
def test_bad_version(text: str) -> None:
    """Anything that is not semver is refused with the value quoted."""
    with pytest.raises(VersionError, match="is not a semantic version"):
        parse_version(text)


def test_prerelease_numbering() -> None:
    """--pre rc counts from the existing rc tags of the same final version."""
    existing = [Version.parse(v) for v in ["8.2.0-rc.1", "8.2.0-rc.2", "8.1.0-rc.7", "8.2.0"]]
    assert str(prerelease(Version.parse("8.2.0"), "rc", existing)) == "8.2.0-rc.3"
    assert str(prerelease(Version.parse("8.3.0"), "rc", existing)) == "8.3.0-rc.1"
    with pytest.raises(UsageError):
        prerelease(Version.parse("8.3.0"), "1", existing)


def test_tags_of_the_component(component: Component) -> None:
    """Only tags in the component's format count, pre-releases included."""
    found = versions_from_tags(component, ["operator/v1.2.0", "v9.9.9", "operator/v1.3.0-rc.1",
                                           "operator/vX"])
    assert [str(v) for v in found] == ["1.2.0", "1.3.0-rc.1"]


def test_backwards_refused() -> None:
    """A release may not go back to or below the current version."""
    with pytest.raises(VersionError, match="never go backwards"):
        require_forward(Version.parse("8.1.0"), Version.parse("8.0.9"))
    with pytest.raises(VersionError):
        require_forward(Version.parse("8.1.0"), Version.parse("8.1.0"))


versions = st.builds(Version, st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))


@pytest.mark.reliability("Property tests")
@given(current=versions, bump=st.sampled_from(["major", "minor", "patch"]))
def test_next_version_is_monotonic(current: Version, bump: str) -> None:
    """Whatever the bump, the next version comes strictly after the current one."""
    assert bumped(current, bump) > current


@pytest.mark.reliability("Property tests")
@given(current=versions, pre=st.integers(1, 5), bump=st.sampled_from(["major", "minor",
                                                                       "patch"]))
def test_prerelease_then_final_moves_forward(current: Version, pre: int, bump: str) -> None:
    """A pre-release sorts before its final version, and both after the current one."""
    final = bumped(current, bump)
    rc = final.replace(prerelease=f"rc.{pre}")
    assert current < rc < final


def _tagged_repo(tmp_path: Path) -> Repo:
    """main: v1.0.0, v1.1.0 and v2.0.0-rc.1; branch `next`, not merged: v3.0.0 to v6.0.0."""
    repo = make_repo(tmp_path, {
        "towncrier.toml": '[tool.towncrier]\ndirectory = "c"\n',
        "relbot.toml": "[[component]]\n",
    })
    repo.git("tag", "-a", "-m", "r", "v1.0.0")
    repo.write("a.txt", "a\n")
    repo.commit_all("a")
    repo.git("tag", "v1.1.0")
    repo.write("b.txt", "b\n")
    repo.commit_all("b")
    repo.git("tag", "-a", "-m", "rc", "v2.0.0-rc.1")
    repo.git("checkout", "-q", "-b", "next")
    for major in range(3, 7):
        repo.write("n.txt", f"{major}\n")
        repo.commit_all(f"n{major}")
        repo.git("tag", f"v{major}.0.0")
    repo.git("checkout", "-q", "main")
    return repo


@pytest.mark.parametrize("unmerged", [1, 4], ids=["few-higher-tags", "many-higher-tags"])
def test_current_version_is_the_highest_final_tag_reachable_from_head(
        tmp_path: Path, unmerged: int) -> None:
    """Without a version file: the highest final tag of HEAD's history, whichever way found."""
    repo = _tagged_repo(tmp_path)
    for major in range(3 + unmerged, 7):
        repo.git("tag", "-d", f"v{major}.0.0")
    project = Project(repo.path)
    assert project.component.version_file is None
    assert project.current_version() == Version.parse("1.1.0")
    repo.git("checkout", "-q", "next")
    assert project.current_version() == Version.parse(f"{2 + unmerged}.0.0")


def test_current_version_does_not_walk_all_history_when_the_top_tag_is_reachable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual case asks git about the highest tag, not for every reachable tag."""
    repo = _tagged_repo(tmp_path)
    repo.git("checkout", "-q", "next")

    def walk(self: GitRepo, glob: str, rev: str = "HEAD") -> list[str]:
        raise AssertionError("git tag --merged walks the whole history")

    monkeypatch.setattr(GitRepo, "tags_merged", walk)
    assert Project(repo.path).current_version() == Version.parse("6.0.0")


def test_current_version_without_release_tags(tmp_path: Path) -> None:
    """No release tag at all, or none reachable: 0.0.0."""
    repo = make_repo(tmp_path, {
        "towncrier.toml": '[tool.towncrier]\ndirectory = "c"\n',
        "relbot.toml": "[[component]]\n",
    })
    project = Project(repo.path)
    assert project.current_version() == Version.parse("0.0.0")
    repo.git("checkout", "-q", "-b", "other")
    repo.write("o.txt", "o\n")
    repo.commit_all("o")
    repo.git("tag", "v1.0.0")
    repo.git("checkout", "-q", "main")
    assert project.current_version() == Version.parse("0.0.0")
