"""relbot/untrusted.py: the rules that keep text from a merge request inert, each pinned to
its exact output (the end-to-end tests show the rules are applied; these, what they do)."""

from __future__ import annotations

import pytest

from relbot.untrusted import (
    ZERO_WIDTH_SPACE as ZWS,
)
from relbot.untrusted import (
    fragment_text,
    no_quick_actions,
    one_line,
    without_marker,
    without_underlines,
)

RST_MARKER = ".. towncrier release notes start"
MD_MARKER = "<!-- towncrier release notes start -->"


def test_the_default_markers_are_broken_up() -> None:
    assert without_marker(f"a\n{RST_MARKER}\nb") == f"a\n.{ZWS}. towncrier release notes start\nb"
    assert without_marker(MD_MARKER) == f"<{ZWS}!-- towncrier release notes start -->"


def test_the_projects_own_marker_is_broken_up() -> None:
    assert without_marker("x NOTES-HERE y", "  NOTES-HERE ") == f"x N{ZWS}OTES-HERE y"


def test_text_without_a_marker_is_unchanged() -> None:
    for text in ("plain text", "XXXX", "", "release notes start"):
        assert without_marker(text) == text
        assert without_marker(text, None) == text
        assert without_marker(text, "") == text


def test_a_marker_inside_another_is_broken_too() -> None:
    """The longest marker first: the default one holding the project's shorter marker is
    broken, and so is the shorter one inside it."""
    assert without_marker(RST_MARKER, "release notes") == \
        f".{ZWS}. towncrier r{ZWS}elease notes start"


@pytest.mark.parametrize("line", ["----", "====", "^^^", "~~~~", "````", "***", "###", "+++"])
def test_rst_underlines_are_escaped(line: str) -> None:
    assert without_underlines(f"Title\n{line}\n") == f"Title\n\\{line}\n"


def test_indentation_stays_before_the_escape() -> None:
    assert without_underlines("Title\n  ----  \n") == "Title\n  \\----  \n"
    assert without_underlines("\t====") == "\t\\===="


@pytest.mark.parametrize("line", ["--", "-=-=", "ab---", "--- text", "a"])
def test_other_lines_stay(line: str) -> None:
    assert without_underlines(line) == line
    assert without_underlines(line, markdown=True) == line


def test_markdown_keeps_code_fences_and_escapes_setext_underlines() -> None:
    assert without_underlines("```\ncode\n```", markdown=True) == "```\ncode\n```"
    assert without_underlines("~~~\ncode\n~~~", markdown=True) == "~~~\ncode\n~~~"
    assert without_underlines("Title\n===\n", markdown=True) == "Title\n\\===\n"
    assert without_underlines("Title\n---", markdown=True) == "Title\n\\---"


def test_fragment_text_applies_both_rules_with_the_projects_marker_and_markup() -> None:
    text = "Fix\n~~~~\nNOTES-HERE\n"
    assert fragment_text(text, "NOTES-HERE") == f"Fix\n\\~~~~\nN{ZWS}OTES-HERE\n"
    assert fragment_text(text, "NOTES-HERE", markdown=True) == f"Fix\n~~~~\nN{ZWS}OTES-HERE\n"
    assert fragment_text(f"{RST_MARKER}\n----") == f".{ZWS}. towncrier release notes start\n\\----"


def test_one_line_joins_with_single_spaces_and_breaks_the_marker() -> None:
    assert one_line("  Update\n\tKubernetes   to\n1.36  ") == "Update Kubernetes to 1.36"
    assert one_line("a NOTES-HERE b", "NOTES-HERE") == f"a N{ZWS}OTES-HERE b"
    assert one_line(RST_MARKER) == f".{ZWS}. towncrier release notes start"


def test_no_line_starts_a_quick_action() -> None:
    text = "/close\ntext /not-at-start\n  /label ~bug\n> /assign @me\n>> /merge"
    assert no_quick_actions(text) == (f"{ZWS}/close\ntext /not-at-start\n  {ZWS}/label ~bug\n"
                                      f"> {ZWS}/assign @me\n>> {ZWS}/merge")
