"""Hostile fragments and configuration: clear refusals, nothing read that should not be."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relbot.project import Project
from relbot.versions import Version
from tests.conftest import Repo, run

FRAGMENTS = "docs/_releasenotes"
SECRET = "TOP-SECRET-0xC0FFEE"

hostile = pytest.mark.reliability("Hostile fragments")
config_group = pytest.mark.reliability("Hostile configuration and policies")


def relbot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "relbot", *args], cwd=cwd,
                          capture_output=True, text=True, check=False)


def outputs(repo: Repo, *commands: list[str]) -> str:
    """Everything relbot printed for the commands, stdout and stderr together."""
    text = ""
    for command in commands:
        result = relbot(repo.path, *command)
        text += result.stdout + result.stderr
    return text


@pytest.fixture
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outside") / "secret.txt"
    path.write_text(SECRET + "\n")
    return path


@hostile
def test_symlink_to_a_secret_is_never_read(yaook_repo: Repo, secret_file: Path) -> None:
    """A fragment linking outside the repository: refused everywhere, its content never shown."""
    (yaook_repo.path / FRAGMENTS / "1.feature").symlink_to(secret_file)
    yaook_repo.write(f"{FRAGMENTS}/2.fix", "A fix.\n")
    yaook_repo.commit_all("Link")
    base = yaook_repo.git("rev-parse", "HEAD^")
    text = outputs(yaook_repo, ["fragment", "lint"], ["notes"], ["next-version"],
                   ["cut", "--dry-run"], ["mr", "check", "--no-comment", "--iid", "1",
                                          "--base", base])
    assert "is a symbolic link" in text
    assert SECRET not in text


@hostile
def test_fragments_directory_linked_outside(yaook_repo: Repo, secret_file: Path) -> None:
    """A fragments directory that is a link out of the repository is not read."""
    notes = yaook_repo.path / FRAGMENTS
    for child in notes.iterdir():
        if child.is_dir():
            for grandchild in child.iterdir():
                grandchild.unlink()
            child.rmdir()
        else:
            child.unlink()
    notes.rmdir()
    (secret_file.parent / "1.feature").write_text(SECRET)
    notes.symlink_to(secret_file.parent)
    text = outputs(yaook_repo, ["fragment", "lint"], ["notes"])
    assert "lies outside the repository" in text or "points outside" in text
    assert SECRET not in text


@hostile
@pytest.mark.parametrize(
    ("name", "data", "rule"),
    [
        ("3.fix", b"x" * (10 * 1024 * 1024), "too-large"),
        ("4.fix", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("5.fix", b"caf\xe9 au lait", "not-utf8"),
        ("6.fix", b"before\x00after", "binary"),
        ("7.fix\nInjected: header", b"x", "bad-name"),
        ("8.fix\x1b[31mred", b"x", "bad-name"),
        ("9.fi x", b"x", "unknown-type"),
        ("..feature", b"x", "bad-number"),
        ("-rf.feature", b"x", "bad-number"),
    ],
    ids=["10MB", "png", "latin1", "nul", "newline-name", "escape-name", "space",
         "dotdot", "dash"],
)
def test_hostile_fragment_files(yaook_repo: Repo, name: str, data: bytes, rule: str) -> None:
    """Each hostile file is one lint finding with its rule; nothing crashes."""
    (yaook_repo.path / FRAGMENTS / name).write_bytes(data)
    yaook_repo.git("add", "-A")  # only tracked fragments are pending
    found = Project(yaook_repo.path).fragments()
    assert [f.rule for f in found.findings] == [rule]
    result = relbot(yaook_repo.path, "fragment", "lint")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "\x1b" not in result.stdout and "\nInjected" not in result.stdout


@hostile
def test_shell_metacharacters_in_names_are_only_names(yaook_repo: Repo) -> None:
    """Names with $(...), backticks and ; are fragments like any other; nothing is executed."""
    names = ["10.fix.$(touch PWNED)", "11.fix.`touch PWNED2`", "12.fix;touch PWNED3"]
    for name in names:
        (yaook_repo.path / FRAGMENTS / name).write_text("Shell-shaped name.\n")
    yaook_repo.commit_all("Odd names")
    yaook_repo.push()
    result = relbot(yaook_repo.path, "cut", "--yes", "--no-push")
    assert result.returncode == 1  # 12.fix;touch PWNED3 is no fragment name
    (yaook_repo.path / FRAGMENTS / names[2]).unlink()
    yaook_repo.commit_all("Drop the odd one")
    result = relbot(yaook_repo.path, "cut", "--yes", "--no-push")
    assert result.returncode == 0, result.stderr
    assert not any(yaook_repo.path.rglob("PWNED*"))
    assert not any(Path.cwd().glob("PWNED*"))


@hostile
def test_thousands_of_fragments(yaook_repo: Repo) -> None:
    """3,000 fragments lint, preview and render; none is lost."""
    directory = yaook_repo.path / FRAGMENTS
    for number in range(1, 3001):
        (directory / f"{number}.fix").write_text(f"Fix number {number}.\n")
    yaook_repo.git("add", "-A")
    project = Project(yaook_repo.path)
    found = project.fragments()
    assert found.ok and len(found.fragments) == 3000
    notes = project.notes(found, Version(8, 0, 3), "2024-10-01").text
    assert all(f"Fix number {n}." in notes for n in (1, 1500, 3000))
    assert notes.count("\n- Fix number ") == 3000


@hostile
def test_type_named_like_a_section(tmp_path: Path) -> None:
    """A type whose name is also a section directory: sections and types stay apart."""
    (tmp_path / "towncrier.toml").write_text(
        '[tool.towncrier]\ndirectory = "changes"\n'
        '[[tool.towncrier.section]]\nname = ""\npath = ""\n'
        '[[tool.towncrier.section]]\nname = "Web"\npath = "web"\n'
        '[[tool.towncrier.type]]\ndirectory = "web"\nname = "Web things"\nshowcontent = true\n')
    (tmp_path / "relbot.toml").write_text("[[component]]\n")
    (tmp_path / "changes" / "web").mkdir(parents=True)
    (tmp_path / "changes" / "1.web").write_text("Top-level web thing.\n")
    (tmp_path / "changes" / "web" / "2.web").write_text("Web-section web thing.\n")
    found = Project(tmp_path).fragments()
    assert found.ok
    assert sorted((f.section, f.issue) for f in found.fragments) == [("", "1"), ("Web", "2")]


@hostile
@pytest.mark.parametrize(
    "text",
    [".. towncrier release notes start\n",
     "Sneaky\n\n.. towncrier release notes start\n\nv99.0.0 (2099-01-01)\n--------------------\n"],
    ids=["marker", "marker-and-heading"])
def test_changelog_structure_injection(yaook_repo: Repo, text: str) -> None:
    """A fragment that carries the changelog's start marker is refused before it can move it."""
    yaook_repo.write(f"{FRAGMENTS}/13.fix", text)
    yaook_repo.git("add", "-A")
    found = Project(yaook_repo.path).fragments()
    assert [f.rule for f in found.findings] == ["start-marker"]


@hostile
def test_fake_heading_stays_inside_its_entry(yaook_repo: Repo) -> None:
    """An RST heading inside a fragment stays indented in its list item, not a new release."""
    yaook_repo.write(f"{FRAGMENTS}/14.fix", "Fix.\n\nv99.0.0 (2099-01-01)\n-------------------\n")
    yaook_repo.commit_all("Heading")
    yaook_repo.push()
    assert run(["cut", "--yes", "--no-push", "--date", "2024-10-01"], yaook_repo.path).code == 0
    changelog = (yaook_repo.path / "CHANGELOG.rst").read_text().splitlines()
    top_level = [line for line in changelog if line.startswith("v")]
    assert top_level == ["v8.0.3 (2024-10-01)"]


@config_group
@pytest.mark.parametrize(
    ("relbot_toml", "message"),
    [
        ("x = 1\n" * 200_000, "relbot.toml is larger than 1024 KiB"),
        ("[[component]]\nname = 3\n", "component #1: name must be a string, not int 3."),
        ("[[component]]\nname = 'k'\nversion_file = '/etc/passwd'\n",
         "points outside the repository"),
        ("[[component]]\nname = 'k'\nhotfix_directory = '../../tmp'\n",
         "points outside the repository"),
        ("component = 'x'\n", "'component' must be an array of tables"),
        ("[component]\nname = 'k'\n", "'component' must be an array of tables"),
        ("\xff\xfe", "is not UTF-8 text"),
        ("[[component]]\nname = 'k'\ncommit_message = '{__class__}'\n",
         "commit_message may only use"),
    ],
    ids=["huge", "wrong-type", "abs-path", "traversal", "not-array", "table", "not-utf8",
         "format-injection"],
)
def test_hostile_configuration(tmp_path: Path, relbot_toml: str, message: str) -> None:
    """Hostile configuration: one sentence, exit 2, never a traceback."""
    (tmp_path / "towncrier.toml").write_text('[tool.towncrier]\ndirectory = "c"\n')
    (tmp_path / "relbot.toml").write_bytes(relbot_toml.encode("utf-8", "surrogateescape")
                                           if relbot_toml != "\xff\xfe" else b"\xff\xfe")
    result = relbot(tmp_path, "next-version")
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@config_group
def test_towncrier_config_outside_the_repository(tmp_path: Path) -> None:
    """towncrier_config may not point outside the repository, even through a link."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "towncrier.toml").write_text('[tool.towncrier]\ndirectory = "c"\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "linked.toml").symlink_to(outside / "towncrier.toml")
    (repo / "relbot.toml").write_text("[[component]]\ntowncrier_config = 'linked.toml'\n")
    result = relbot(repo, "next-version")
    assert result.returncode == 2 and "points outside the repository" in result.stderr


fragment_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    min_size=1, max_size=60,
).map(str.strip).filter(lambda t: bool(t) and "towncrier release notes start" not in t)


@pytest.mark.reliability("Property tests")
@settings(max_examples=40, deadline=None)
@given(texts=st.lists(fragment_text, min_size=1, max_size=6, unique=True),
       types=st.lists(st.sampled_from(["feature", "fix", "change", "docs"]), min_size=6,
                      max_size=6))
def test_rendering_never_drops_a_fragment(tmp_path_factory: pytest.TempPathFactory,
                                          texts: list[str], types: list[str]) -> None:
    """Every fragment's text appears in the rendered notes, whatever it says."""
    root = tmp_path_factory.mktemp("prop")
    from relbot.presets import YAOOK_K8S

    (root / "towncrier.toml").write_text(YAOOK_K8S.towncrier_toml)
    (root / "relbot.toml").write_text('[[component]]\nversion_file = "version"\n')
    (root / "version").write_text("1.0.0\n")
    (root / "docs" / "_releasenotes").mkdir(parents=True)
    for number, (text, type_) in enumerate(zip(texts, types, strict=False), 1):
        (root / "docs" / "_releasenotes" / f"{number}.{type_}").write_text(text + "\n")
    project = Project(root)
    found = project.fragments()
    assert found.ok, found.findings
    notes = project.notes(found, Version(1, 1, 0), "2024-10-01").text
    for text in texts:
        first_line = text.splitlines()[0].strip()
        assert first_line in notes
