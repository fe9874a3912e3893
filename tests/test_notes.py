"""Release notes are what towncrier renders, in the project's format or in Markdown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from relbot.notes import render, render_variants
from relbot.project import Project
from relbot.versions import Version

RST_PROJECT = {
    "towncrier.toml": """
[tool.towncrier]
directory = "changes"
filename = "CHANGELOG.rst"
title_format = "{version} ({project_date})"
issue_format = "`!{issue} <https://gitlab.example/p/-/merge_requests/{issue}>`_"
underlines = ["-", "~", "^"]
[[tool.towncrier.type]]
directory = "feature"
name = "New Features"
showcontent = true
[[tool.towncrier.type]]
directory = "fix"
name = "Bugfixes"
showcontent = true
[[tool.towncrier.type]]
directory = "misc"
name = "Misc"
showcontent = false
""",
    "relbot.toml": '[[component]]\nname = "p"\nversion_file = "version"\n'
                   'notes_version_format = "v{version}"\n',
    "version": "1.4.2\n",
    "changes/.gitignore": "!.gitignore\n",
    "changes/10.feature": "Add ``--fast`` mode, see `docs <https://x.example/d>`_.\n",
    "changes/11.fix.1.one": "Fix one thing.\n",
    "changes/13.fix.two": "Fix another thing.\n",
    "changes/+.fix.orphan": "An orphan fix.\n",
    "changes/+.fix.orphan2": "A second orphan fix.\n",
    "changes/12.misc": "",
}

MD_PROJECT = {
    "pyproject.toml": """
[tool.towncrier]
directory = "changelog.d"
filename = "CHANGELOG.md"
title_format = "## {version} ({project_date})"
issue_format = "!{issue}"
[tool.relbot]
[[tool.relbot.component]]
name = "m"
""",
    "changelog.d/3.feature.md": "A **new** thing.\n",
    "changelog.d/4.bugfix.md": "A fix\n\n  - with a sublist\n",
}


def materialise(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def towncrier_draft(root: Path, version: str, date: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "towncrier", "build", "--draft", "--version",
                           version, "--date", date], cwd=root, capture_output=True, text=True,
                          check=True)
    return proc.stdout


@pytest.mark.parametrize("files", [RST_PROJECT, MD_PROJECT], ids=["rst", "md"])
def test_same_text_as_towncrier_build_draft(tmp_path: Path, files: dict[str, str]) -> None:
    """relbot's notes equal `towncrier build --draft` on the same fragments, byte for byte."""
    root = materialise(tmp_path, files)
    project = Project(root)
    notes = project.notes(project.fragments(), Version.parse("1.5.0"), "2024-10-01")
    expected = towncrier_draft(root, project.component.notes_version("1.5.0"), "2024-10-01")
    assert notes.text.rstrip("\n") == expected.rstrip("\n")


def test_entries_of_one_mr_follow_their_counter(tmp_path: Path) -> None:
    """Within one MR, entries come in counter order (towncrier uses directory order there)."""
    files = dict(RST_PROJECT)
    files["changes/20.feature.2.b"] = "Second.\n"
    files["changes/20.feature.1.a"] = "First.\n"
    project = Project(materialise(tmp_path, files))
    text = project.notes(project.fragments(), Version.parse("1.5.0"), "2024-10-01").text
    assert text.index("- First.") < text.index("- Second.")


def test_markdown_from_rst_project(tmp_path: Path) -> None:
    """--format md renders the RST project's entries with towncrier's Markdown template."""
    project = Project(materialise(tmp_path, RST_PROJECT))
    notes = project.notes(project.fragments(), Version.parse("1.5.0"), "2024-10-01", fmt="md")
    assert notes.text.startswith("## v1.5.0 (2024-10-01)\n")
    assert "### New Features" in notes.text
    assert ("- Add `--fast` mode, see [docs](https://x.example/d). "
            "([!10](https://gitlab.example/p/-/merge_requests/10))") in notes.text
    assert "- An orphan fix.\n" in notes.text and "- A second orphan fix.\n" in notes.text
    assert "`_" not in notes.text  # no RST link syntax left


def test_without_title(tmp_path: Path) -> None:
    """A GitLab Release body carries no heading of its own."""
    project = Project(materialise(tmp_path, RST_PROJECT))
    notes = project.notes(project.fragments(), Version.parse("1.5.0"), "2024-10-01", fmt="md",
                          title=False)
    assert notes.title == "## v1.5.0 (2024-10-01)"
    assert not notes.text.startswith("## v1.5.0")
    assert notes.text.lstrip().startswith("### New Features")


@pytest.mark.parametrize("files", [RST_PROJECT, MD_PROJECT], ids=["rst", "md"])
def test_variants_equal_separate_renderings(tmp_path: Path, files: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A release's notes and forge text rendered together equal two separate renderings.

    Where the changelog is Markdown, towncrier renders them once (they differ in the
    heading only); an RST changelog needs a second, Markdown, rendering.
    """
    import towncrier._builder

    root = materialise(tmp_path, files)
    project = Project(root)
    fragments = project.fragments().fragments
    version = project.component.notes_version("1.5.0")
    separate = [render(project.component, project.settings, fragments, version, "2024-10-01",
                       fmt=fmt, title=title) for fmt, title in ((None, True), ("md", False))]
    calls: list[str] = []
    real = towncrier._builder.render_fragments

    def counting(*args: Any, **kwargs: Any) -> str:
        calls.append(args[0][:20])
        return str(real(*args, **kwargs))

    monkeypatch.setattr(towncrier._builder, "render_fragments", counting)
    together = render_variants(project.component, project.settings, fragments, version,
                               "2024-10-01", [(None, True), ("md", False)])
    assert together == separate
    assert len(calls) == (1 if files is MD_PROJECT else 2)


def _preview_both_ways(project: Project, entries: int) -> tuple[tuple[str, int],
                                                                tuple[str, int]]:
    """The comment's preview of all the notes, and of the leading groups' notes."""
    from relbot.comment import preview
    from relbot.notes import leading_groups

    found = project.fragments()
    version = project.next_version(found)
    full = project.notes(found, version, "2024-10-01", fmt="md", title=False).text
    shown, beyond = leading_groups(project.settings, found.fragments, entries)
    if len(shown) == len(found.fragments):
        assert beyond == 0  # every group rendered: nothing is counted beyond
    part = project.notes(found, version, "2024-10-01", fmt="md", title=False,
                         only=shown).text
    head, left = preview(part, entries=entries)
    return preview(full, entries=entries), (head, left + beyond)


@pytest.mark.realworld
@pytest.mark.parametrize("entries", [1, 3, 6, 12, 40])
def test_a_preview_of_the_leading_groups_is_the_preview_of_all(real_world: Path,
                                                               entries: int) -> None:
    """On Yaook/K8s's real v8.1.0 fragments and configuration: rendering only the groups
    the preview reaches shows the same head, and counts the same entries left out."""
    from relbot.cli import main as _  # noqa: F401 - the preset's import path, as users run it
    from tests.conftest import run

    assert run(["init", "--preset", "yaook-k8s"], real_world).code == 0
    whole, leading = _preview_both_ways(Project(real_world), entries)
    assert leading == whole


def test_leading_groups_follow_towncriers_order_and_count_equal_texts_once(
        tmp_path: Path) -> None:
    files = dict(RST_PROJECT)
    files.update({f"changes/{20 + n}.fix": "The same fix.\n" for n in range(3)})
    files["changes/30.fix"] = "A fix with a list:\n\n- first\n- second\n"
    files.update({f"changes/{40 + n}.misc": "" for n in range(4)})
    project = Project(materialise(tmp_path, files))
    from relbot.notes import leading_groups

    found = project.fragments().fragments
    shown, beyond = leading_groups(project.settings, found, 1)
    assert {f.type for f in shown} == {"feature"}  # the first type in the configuration
    # fix: 4 texts of their own, the same text thrice (one entry), a list of two; misc: one
    assert beyond == (4 + 1 + 3) + 1
    shown, beyond = leading_groups(project.settings, found, 2)
    assert {f.type for f in shown} == {"feature", "fix"} and beyond == 1
    shown, beyond = leading_groups(project.settings, found, 1000)
    assert sorted(f.relpath for f in shown) == sorted(f.relpath for f in found)
    assert beyond == 0
    for entries in (1, 2, 5, 9, 1000):
        whole, leading = _preview_both_ways(project, entries)
        assert leading == whole
