"""Acceptance on the real Yaook/K8s data of release v8.1.0 (in ../shared/real-world)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REAL_WORLD, run

pytestmark = pytest.mark.realworld


def entries(text: str) -> list[tuple[str, list[str]]]:
    """The notes as (heading, sorted entries) blocks, so order inside one MR does not count.

    Entries of one MR may come in any order in towncrier (it uses directory order), so
    within a category the entries are compared as a sorted list; everything else, the
    categories, their order and every entry's full text, must be equal.
    """
    blocks: list[tuple[str, list[str]]] = []
    lines = text.strip("\n").splitlines()
    current: list[str] = []
    heading = ""
    for index, line in enumerate(lines):
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        if nxt and re.fullmatch(r"[-~^=]+", nxt) and len(nxt) == len(line):
            blocks.append((heading, sorted(_items(current))))
            heading, current = line, []
        elif not re.fullmatch(r"[-~^=]+", line):
            current.append(line)
    blocks.append((heading, sorted(_items(current))))
    return blocks


def _items(lines: list[str]) -> list[str]:
    items: list[str] = []
    for line in lines:
        if line.startswith("- "):
            items.append(line)
        elif items:
            items[-1] += "\n" + line
    return [item.rstrip() for item in items]


def mr_order_free(text: str) -> list[str]:
    """The text as blocks, in order, except that consecutive entries of one MR are sorted.

    An entry is a list item with its continuation lines; its MR is the link it ends with.
    Everything else (headings, other entries, their order) must match exactly.
    """
    blocks: list[str] = []
    for line in text.splitlines():
        if line.startswith("- ") or not blocks or not blocks[-1].startswith("- ") or \
                not (line.startswith("  ") or line == ""):
            blocks.append(line)
        else:
            blocks[-1] += "\n" + line
    blocks = [b.rstrip("\n") for b in blocks]
    out: list[str] = []
    run: list[str] = []
    for block in [*blocks, ""]:
        mr = _mr_of(block)
        if run and mr is not None and mr == _mr_of(run[-1]):
            run.append(block)
            continue
        out += sorted(run)
        run = [block] if mr is not None else []
        if mr is None:
            out.append(block)
    return out[:-1]


def _mr_of(block: str) -> str | None:
    if not block.startswith("- "):
        return None
    match = re.search(r"merge_requests/(\d+)>`_\)$", block.rstrip())
    return match.group(1) if match else None


def test_next_version_and_notes_match_the_real_release(real_world: Path) -> None:
    """With the yaook-k8s preset, next-version is 8.1.0 and the notes are the released ones."""
    init = run(["init", "--preset", "yaook-k8s"], real_world)
    assert init.code == 0, init.err
    assert "wrote relbot.toml" in init.out
    version = run(["next-version"], real_world)
    assert (version.code, version.out) == (0, "8.1.0\n")
    notes = run(["notes", "--draft", "--version", "v8.1.0", "--date", "2024-10-01"],
                real_world)
    assert notes.code == 0, notes.err
    expected = (REAL_WORLD / "expected-section.rst").read_text(encoding="utf-8")
    assert entries(notes.out) == entries(expected)
    assert mr_order_free(notes.out.strip("\n")) == mr_order_free(expected.strip("\n"))
    assert mr_order_free(notes.out) != sorted(mr_order_free(notes.out))  # order still counts
    assert [heading for heading, _ in entries(expected)][1:] == [  # the comparison has teeth
        "v8.1.0 (2024-10-01)", "New Features", "Changed functionality", "Bugfixes",
        "Changes in the Documentation", "Deprecations and Removals", "Other Tasks", "Misc"]
    assert sum(len(items) for _, items in entries(expected)) == 18
    lint = run(["fragment", "lint"], real_world)
    assert lint.code == 0
    # Renovate's empty chore/docs fragments show only their MR link: warned, never refused.
    assert {line.rsplit(" ", 1)[-1] for line in lint.out.splitlines()} == {"[empty]"}
    assert all(": warning: " in line for line in lint.out.splitlines())
    assert "33 fragment(s) ok." in lint.err


def test_markdown_notes_of_the_real_release(real_world: Path) -> None:
    """The Markdown rendering keeps every entry and every MR link of the real release."""
    assert run(["init", "--preset", "yaook-k8s"], real_world).code == 0
    md = run(["notes", "--format", "md", "--version", "8.1.0", "--date", "2024-10-01"],
             real_world)
    assert md.code == 0, md.err
    assert md.out.startswith("## v8.1.0 (2024-10-01)\n")
    expected = (REAL_WORLD / "expected-section.rst").read_text(encoding="utf-8")
    for number in set(re.findall(r"merge_requests/(\d+)>", expected)):
        assert f"[!{number}](https://gitlab.com/yaook/k8s/-/merge_requests/{number})" in md.out
    assert "```ini\n" in md.out and "``" not in md.out.replace("```", "")
