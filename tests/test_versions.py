"""Versions: parsing, the bump the fragment types ask for, pre-releases, never backwards."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relbot.config import Component, load_config
from relbot.errors import ConfigError, NothingPending, UsageError, VersionError
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
    return Fragment(f"1.{type_}", "", "1", type_, 0, "text")


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
    """relbot's next pre-release of a target counts on from the earlier ones, sorts between the
    current version and the target, and the same bump from it gives the target itself."""
    final = bumped(current, bump)
    earlier = [final.replace(prerelease=f"rc.{n}") for n in range(1, pre)]
    others = [final.replace(prerelease=f"beta.{pre + 3}"), bumped(final, "patch").replace(
        prerelease=f"rc.{pre + 5}")]
    rc = prerelease(final, "rc", [*others, *earlier])
    assert str(rc) == f"{final}-rc.{pre}"
    assert current < rc < final
    assert all(rc > e for e in earlier)
    assert bumped(rc, bump) == final


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


@pytest.mark.parametrize(("current", "bump", "expected"), [
    ("2.0.0-rc.1", "major", "2.0.0"),
    ("2.0.0-rc.1", "minor", "2.0.0"),
    ("2.0.0-rc.1", "patch", "2.0.0"),
    ("2.1.0-rc.1", "major", "3.0.0"),
    ("2.1.0-rc.1", "minor", "2.1.0"),
    ("2.1.0-rc.1", "patch", "2.1.0"),
    ("2.1.1-rc.1", "major", "3.0.0"),
    ("2.1.1-rc.1", "minor", "2.2.0"),
    ("2.1.1-rc.1", "patch", "2.1.1"),
    ("1.0.0", "major", "2.0.0"),
    ("1.0.0", "minor", "1.1.0"),
    ("1.0.0", "patch", "1.0.1"),
])
def test_a_bump_from_a_prerelease_lands_on_its_target(current: str, bump: str,
                                                      expected: str) -> None:
    """After 2.1.0-rc.1 a minor bump is 2.1.0 itself, a major one goes on to 3.0.0."""
    assert str(bumped(Version.parse(current), bump)) == expected


def test_an_unknown_bump_is_a_bug() -> None:
    """The configuration only allows major, minor and patch; anything else is relbot's bug."""
    with pytest.raises(AssertionError):
        bumped(Version.parse("1.0.0"), "micro")


def test_the_version_file_is_read_strictly(tmp_path: Path) -> None:
    """Missing, oversized, non-UTF-8 and non-semver version files are each one sentence."""
    from relbot.versions import read_version_file

    (tmp_path / "towncrier.toml").write_text('[tool.towncrier]\ndirectory = "c"\n')
    (tmp_path / "relbot.toml").write_text('[[component]]\nversion_file = "VERSION"\n')
    version = tmp_path / "VERSION"
    version.write_text("1.2.3\n")
    component = load_config(tmp_path).component(None)
    assert read_version_file(component, tmp_path) == Version(1, 2, 3)
    version.write_bytes(b"1.2.3" + b" " * 1019)  # 1024 bytes: still only a version
    assert read_version_file(component, tmp_path) == Version(1, 2, 3)
    version.write_bytes(b"1.2.3" + b" " * 1020)
    with pytest.raises(VersionError, match=r"^version file VERSION should hold only a version, "
                                           r"but it is 1025 bytes long\.$"):
        read_version_file(component, tmp_path)
    version.write_bytes(b"\xff1.2.3")
    with pytest.raises(VersionError, match=r"^version file VERSION is not UTF-8 text\.$"):
        read_version_file(component, tmp_path)
    version.write_text("v1.2\n")
    with pytest.raises(VersionError, match=r"^version file VERSION holds 'v1.2' is not a "):
        read_version_file(component, tmp_path)
    version.unlink()
    with pytest.raises(ConfigError, match=r"^version file VERSION cannot be read: No such file"):
        read_version_file(component, tmp_path)


def test_tag_format_with_text_around_the_version(component: Component) -> None:
    """Prefix and suffix of the tag format are literal text, not patterns."""
    from relbot.versions import tag_glob, tag_pattern

    assert tag_glob(component) == "operator/v[0-9]*"
    match = tag_pattern(component).fullmatch("operator/v1.2.3-rc.1")
    assert match is not None and match[1] == "1.2.3-rc.1"
    assert tag_pattern(component).fullmatch("operatorXv1.2.3") is None


def test_exact_messages_of_version_errors(component: Component) -> None:
    """Each refusal is the whole sentence a user reads."""
    with pytest.raises(VersionError) as bad:
        parse_version("eight")
    assert str(bad.value) == "version 'eight' is not a semantic version (like 8.1.0)."
    with pytest.raises(NothingPending) as none:
        next_version(component, Version.parse("1.0.0"), [])
    assert str(none.value) == ("there are no pending fragments, so there is no next version; "
                               "add one with `relbot fragment new` or give --version.")
    with pytest.raises(UsageError) as pre:
        prerelease(Version.parse("1.0.0"), "r c", [])
    assert str(pre.value) == "--pre 'r c' must be a word such as rc, beta or alpha."
    with pytest.raises(AssertionError, match=r"^micro$"):
        bumped(Version.parse("1.0.0"), "micro")


def test_upper_case_pre_release_words_count(component: Component) -> None:
    """Tags and --pre words may use capitals, as semver allows."""
    assert str(prerelease(Version.parse("8.2.0"), "RC", [Version.parse("8.2.0-RC.1")])) == \
        "8.2.0-RC.2"
    found = versions_from_tags(component, ["operator/v1.3.0-RC.1"])
    assert [str(v) for v in found] == ["1.3.0-RC.1"]


def test_a_tag_that_only_looks_like_a_version_is_skipped(component: Component) -> None:
    """A tag in the format whose version semver refuses is passed over, and the tags after it
    still count."""
    found = versions_from_tags(component, ["operator/v1.2.3-a..b", "operator/v1.4.0"])
    assert [str(v) for v in found] == ["1.4.0"]


def test_current_version_comes_from_the_version_file(tmp_path: Path) -> None:
    """With a version file, git is not asked; without one and without git, one sentence."""
    from relbot.versions import current_version, read_version_file

    (tmp_path / "towncrier.toml").write_text('[tool.towncrier]\ndirectory = "c"\n')
    (tmp_path / "relbot.toml").write_text('[[component]]\nversion_file = "VERSION"\n')
    (tmp_path / "VERSION").write_text("3.2.1\n")
    assert current_version(load_config(tmp_path).component(None), tmp_path, None) == \
        Version(3, 2, 1)
    (tmp_path / "relbot.toml").write_text('[[component]]\nname = "k8s"\n')
    bare = load_config(tmp_path).component(None)
    with pytest.raises(ConfigError) as no_git:
        current_version(bare, tmp_path, None)
    assert str(no_git.value) == (f"component 'k8s' has no version_file and {tmp_path} is not a "
                                 "git repository with release tags.")
    with pytest.raises(ConfigError) as no_file:
        read_version_file(bare, tmp_path)
    assert str(no_file.value) == "component 'k8s' has no version_file."


@pytest.mark.parametrize("unreachable", [3, 5])
def test_no_reachable_release_tag_is_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          unreachable: int) -> None:
    """Release tags only on a branch HEAD does not contain: 0.0.0; with no more tags than it
    asks about one by one, relbot does not walk the history for more."""
    repo = make_repo(tmp_path, {
        "towncrier.toml": '[tool.towncrier]\ndirectory = "c"\n',
        "relbot.toml": "[[component]]\n",
    })
    repo.git("checkout", "-q", "-b", "other")
    for major in range(1, unreachable + 1):
        repo.write("o.txt", f"{major}\n")
        repo.commit_all(f"o{major}")
        repo.git("tag", f"v{major}.0.0")
    repo.git("checkout", "-q", "main")
    if unreachable <= 3:
        def walk(self: GitRepo, glob: str, rev: str = "HEAD") -> list[str]:
            raise AssertionError("git tag --merged walks the whole history")

        monkeypatch.setattr(GitRepo, "tags_merged", walk)
    assert Project(repo.path).current_version() == Version(0, 0, 0)


def test_current_version_reads_only_the_highest_tags_git_sorts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """300 final tags: git's version sort hands relbot the highest (1.10.0 above 1.9.x, not
    as text), and relbot reads no full listing; where 70 pre-release tags crowd the top of
    that sorted page, it reads every tag and still finds the highest final release."""
    repo = make_repo(tmp_path, {
        "towncrier.toml": '[tool.towncrier]\ndirectory = "c"\n',
        "relbot.toml": "[[component]]\n",
    })
    head = repo.git("rev-parse", "HEAD")
    finals = [f"v1.{minor}.{patch}" for minor in range(10) for patch in range(30)]
    def create(tags: list[str]) -> None:
        subprocess.run(["git", "update-ref", "--stdin"], cwd=repo.path, check=True, text=True,
                       input="".join(f"create refs/tags/{tag} {head}\n" for tag in tags))

    create([*finals, "v1.10.0"])
    repo.git("pack-refs", "--all")
    listed: list[str] = []
    real_tags = GitRepo.tags

    def every_tag(self: GitRepo, glob: str) -> list[str]:
        listed.append(glob)
        return real_tags(self, glob)

    monkeypatch.setattr(GitRepo, "tags", every_tag)
    assert Project(repo.path).current_version() == Version.parse("1.10.0")
    assert listed == []
    create([f"v2.0.0-rc.{n}" for n in range(1, 71)])
    assert Project(repo.path).current_version() == Version.parse("1.10.0")
    assert listed == ["v[0-9]*"]


def test_pre_releases_crowding_the_top_tags_do_not_hide_the_reachable_release(
        tmp_path: Path) -> None:
    """61 pre-release tags above everything, then the three highest finals, all on a branch
    HEAD does not contain: the first page of 64 tags holds exactly as many finals as relbot
    checks for ancestry, none reachable; every tag is read then, and the reachable 1.1.0
    is found, not 0.0.0."""
    import subprocess

    repo = _tagged_repo(tmp_path)
    repo.git("tag", "-d", "v6.0.0")  # the unreachable finals: 3.0.0, 4.0.0, 5.0.0
    head = repo.git("rev-parse", "HEAD")
    subprocess.run(["git", "update-ref", "--stdin"], cwd=repo.path, check=True, text=True,
                   input="".join(f"create refs/tags/v99.0.0-rc.{n} {head}\n"
                                 for n in range(1, 62)))
    listed = repo.git("for-each-ref", "--sort=-version:refname", "--count=64",
                      "--format=%(refname:strip=2)", "refs/tags/v[0-9]*").splitlines()
    assert [t for t in listed if "-" not in t] == ["v5.0.0", "v4.0.0", "v3.0.0"]
    assert Project(repo.path).current_version() == Version.parse("1.1.0")
