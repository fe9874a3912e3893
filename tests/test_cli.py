"""The command line: output, exit codes, and bad input as one sentence without traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run

TOWNCRIER = """[tool.towncrier]
directory = "changes"
filename = "CHANGELOG.md"
[[tool.towncrier.type]]
directory = "feature"
name = "Features"
showcontent = true
[[tool.towncrier.type]]
directory = "fix"
name = "Fixes"
showcontent = true
"""
RELBOT = '[[component]]\nname = "app"\nversion_file = "VERSION"\nmax_fragment_bytes = 100\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "towncrier.toml").write_text(TOWNCRIER)
    (tmp_path / "relbot.toml").write_text(RELBOT)
    (tmp_path / "VERSION").write_text("1.2.3\n")
    (tmp_path / "changes").mkdir()
    (tmp_path / "changes" / "5.fix").write_text("A fix.\n")
    return tmp_path


def relbot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess, as CI runs it."""
    return subprocess.run([sys.executable, "-m", "relbot", *args], cwd=cwd,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "EDITOR": "false"})


def test_next_version_prints_only_the_version(repo: Path) -> None:
    """next-version prints the bare version and nothing else (scripts read it)."""
    result = relbot(repo, "next-version")
    assert (result.returncode, result.stdout, result.stderr) == (0, "1.2.4\n", "")


def test_fragment_new_then_lint_then_notes(repo: Path) -> None:
    """A fragment written by `fragment new` passes lint and shows up in the notes."""
    new = run(["fragment", "new", "--mr", "7", "feature", "Shiny new thing"], repo)
    assert new.code == 0, new.err
    assert new.out.strip() == "changes/7.feature.shiny-new-thing.md"
    assert run(["fragment", "lint"], repo).code == 0
    notes = run(["notes", "--date", "2024-01-02"], repo)
    assert notes.code == 0
    assert notes.out.startswith("# 1.2.4 (2024-01-02)\n")
    assert "- Shiny new thing (#7)" in notes.out


def test_fragment_new_with_editor(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    """Without TEXT, $EDITOR writes the text; comment lines are dropped."""
    script = tmp_path_factory.mktemp("bin") / "editor.sh"
    script.write_text('#!/bin/sh\nprintf "From the editor\\n# a comment\\n" > "$1"\n')
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    result = run(["fragment", "new", "fix"], repo)
    assert result.code == 0, result.err
    written = repo / result.out.strip()
    assert written.read_text() == "From the editor\n"


@pytest.mark.parametrize(
    ("setup", "args", "code", "message"),
    [
        (lambda r: (r / "relbot.toml").write_text(RELBOT + "colour = 1\n"), ["next-version"], 2,
         "relbot: relbot.toml: component 'app': unknown key 'colour'."),
        (lambda r: (r / "towncrier.toml").unlink(), ["next-version"], 2,
         "relbot: relbot.toml: component 'app': towncrier_config is not set and neither "
         "towncrier.toml nor pyproject.toml exists."),
        (lambda r: (r / "relbot.toml").write_text(RELBOT + 'bump = { feture = "minor" }\n'),
         ["next-version"], 2, "relbot: relbot.toml: component 'app': bump names fragment type "
         "'feture', which towncrier.toml does not declare (did you mean 'feature'?)."),
        (lambda r: (r / "VERSION").write_text("eight\n"), ["next-version"], 2,
         "relbot: version file VERSION holds 'eight' is not a semantic version"),
        (lambda r: (r / "VERSION").write_bytes(b"\xff\xfe"), ["next-version"], 2,
         "relbot: version file VERSION is not UTF-8 text."),
        (lambda r: ((r / "VERSION").unlink(), (r / "VERSION").mkdir()), ["next-version"], 2,
         "relbot: relbot.toml: component 'app': version_file 'VERSION' is not a file."),
        (lambda r: (r / "changes" / "6.feture").write_text("x"), ["next-version"], 1,
         "relbot: next-version stopped at an invalid fragment: changes/6.feture: type "
         "'feture' is not declared in towncrier.toml (did you mean 'feature'?)"),
        (lambda r: (r / "changes" / "6.feature").symlink_to("/etc/hostname"), ["notes"], 1,
         "relbot: next-version stopped at an invalid fragment: changes/6.feature: is a "
         "symbolic link"),
        (lambda r: (r / "changes" / "6.feature").write_bytes(b"\xc3\x28"), ["notes"], 1,
         "relbot: next-version stopped at an invalid fragment: changes/6.feature: is not "
         "UTF-8 text"),
        (lambda r: (r / "changes" / "6.feature").write_text("y" * 101), ["notes"], 1,
         "relbot: next-version stopped at an invalid fragment: changes/6.feature: is 101 "
         "bytes, larger than the limit of 100 bytes"),
        (lambda r: (r / "changes" / "6.feture").write_text("x"), ["fragment", "lint"], 1,
         "relbot: 1 fragment problem(s) in app."),
        (lambda r: None, ["notes", "--version", "banana"], 2,
         "relbot: --version 'banana' is not a semantic version"),
        (lambda r: None, ["fragment", "new", "feat", "x"], 2,
         "relbot: fragment type 'feat' is not declared in towncrier.toml (did you mean "
         "'feature'?)"),
        (lambda r: None, ["init", "--preset", "yaook"], 2,
         "relbot: there is no preset 'yaook' (did you mean 'yaook-k8s'?)"),
        (lambda r: None, ["init", "--preset", "default"], 2,
         "relbot: relbot.toml already exists; nothing was written (use --force to replace it)."),
    ],
)
def test_bad_input_is_one_sentence(repo: Path, setup: object, args: list[str], code: int,
                                   message: str) -> None:
    """Bad input: one line on stderr, the documented exit code, no traceback."""
    setup(repo)  # type: ignore[operator]
    result = relbot(repo, *args)
    assert result.returncode == code
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(repo: Path) -> None:
    """--debug is the one way to see where an error came from."""
    (repo / "VERSION").write_text("eight\n")
    result = relbot(repo, "next-version", "--debug")
    assert result.returncode == 2
    assert "Traceback" in result.stderr


HEAVY = ("towncrier._builder", "towncrier.build", "gitlab", "git", "jinja2")


def test_light_commands_do_not_import_heavy_libraries(repo: Path) -> None:
    """fragment lint and next-version load neither towncrier's builder, jinja2, python-gitlab
    nor gitpython (towncrier's configuration loader, a few milliseconds, is allowed)."""
    code = ("import sys\nfrom relbot.cli import main\nsys.argv=['relbot', {cmd!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "print('HEAVY', heavy, file=sys.stderr)\n")
    for command in ("next-version",):
        result = subprocess.run([sys.executable, "-c", code.format(cmd=command)], cwd=repo,
                                capture_output=True, text=True, check=False)
        assert "HEAVY []" in result.stderr, result.stderr
    lint = ("import sys\nfrom relbot.cli import main\nsys.argv=['relbot', 'fragment', 'lint']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "print('HEAVY', heavy, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", lint], cwd=repo, capture_output=True,
                            text=True, check=False)
    assert "HEAVY []" in result.stderr, result.stderr
