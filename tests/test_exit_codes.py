"""Exit codes follow one rule everywhere, and README.md's table says which."""

from __future__ import annotations

import inspect
import re

from relbot import cli, errors, release
from tests.conftest import PROJECT, Repo, run


def readme_table() -> dict[int, set[str]]:
    """code -> the exception names README.md's exit-code table lists for it."""
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    table = text.split("### Exit codes", 1)[1]
    rows = re.findall(r"^\| (\d+) \|(.*)\|(.*)\|$", table, re.MULTILINE)
    assert rows, "README.md has no exit-code table"
    return {int(code): set(re.findall(r"`(\w+)`", raised)) for code, _, raised in rows}


def test_readme_table_matches_the_code() -> None:
    """Every relbot exception is in the row of its exit code; the CLI's own codes are there."""
    table = readme_table()
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, errors.RelbotError) and c is not errors.RelbotError]
    listed = set().union(*table.values())
    for klass in classes:
        assert klass.__name__ in table[klass.exit_code], (klass.__name__, klass.exit_code)
    assert release.NothingToRelease.exit_code == errors.NothingPending.exit_code
    assert {c.__name__ for c in classes} | {"KeyboardInterrupt", "BrokenPipeError"} == listed
    assert set(table) == {0, 1, 2, cli.EXIT_INTERNAL, cli.EXIT_INTERRUPTED,
                          cli.EXIT_BROKEN_PIPE}
    assert "KeyboardInterrupt" in table[cli.EXIT_INTERRUPTED]
    assert "BrokenPipeError" in table[cli.EXIT_BROKEN_PIPE]


def test_nothing_to_release_is_the_same_code_everywhere(yaook_repo: Repo) -> None:
    """next-version, notes and cut agree: nothing pending is exit 1, one sentence each."""
    results = {name: run(args, yaook_repo.path) for name, args in {
        "next-version": ["next-version"],
        "notes": ["notes"],
        "cut --dry-run": ["cut", "--dry-run"],
        "cut": ["cut", "--yes"],
    }.items()}
    assert {name: r.code for name, r in results.items()} == dict.fromkeys(results, 1)
    for result in results.values():
        assert result.err.startswith("relbot: ") and result.err.count("\n") == 1
        assert "no pending fragments" in result.err


def test_invalid_fragment_is_the_same_code_for_notes_and_cut(yaook_repo: Repo) -> None:
    """A fragment lint error stops notes, next-version and cut with the same code."""
    yaook_repo.write("docs/_releasenotes/1².fix", "Broken number.\n")
    yaook_repo.commit_all("bad")
    codes = {tuple(args): run(args, yaook_repo.path).code
             for args in (["next-version"], ["notes"], ["cut", "--dry-run"], ["fragment", "lint"])}
    assert set(codes.values()) == {1}
