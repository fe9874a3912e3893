"""relbot renders what `towncrier build` writes: its defaults, its heading, its line endings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run

TOWNCRIER = [sys.executable, "-m", "towncrier"]


def towncrier_draft(root: Path, *extra: str) -> str:
    """What towncrier itself prints for the pending fragments."""
    proc = subprocess.run([*TOWNCRIER, "build", "--draft", "--version", "1.3.0", "--date",
                           "2024-05-01", *extra], cwd=root, capture_output=True, text=True,
                          check=True)
    return proc.stdout


def body(draft: str) -> str:
    """towncrier's draft (its progress lines go to stderr), without surrounding blank lines."""
    return draft.strip("\n")


def project(root: Path, towncrier: str, fragments_dir: str, *, pyproject: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "towncrier.toml").write_text(towncrier)
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    (root / "relbot.toml").write_text(
        'forge = "none"\n[[component]]\nname = "main"\ntowncrier_config = "towncrier.toml"\n'
        'version_file = "VERSION"\n')
    (root / "VERSION").write_text("1.2.0\n")
    notes = root / fragments_dir
    notes.mkdir(parents=True)
    (notes / "12.feature").write_text("A new thing.\n")
    (notes / "13.bugfix").write_text("A fix.\n")
    return root


def test_config_without_directory_uses_towncrier_default(tmp_path: Path) -> None:
    """Without `directory` (and without a package) towncrier reads newsfragments/."""
    root = project(tmp_path / "p", "[tool.towncrier]\n", "newsfragments")
    lint = run(["fragment", "lint"], root)
    assert lint.code == 0, lint.err
    assert "2 fragment(s) ok." in lint.err
    notes = run(["notes", "--version", "1.3.0", "--date", "2024-05-01"], root)
    assert notes.code == 0, notes.err
    assert notes.out.strip("\n") == body(towncrier_draft(root))


def test_package_gives_towncrier_heading(tmp_path: Path) -> None:
    """`package = "myproj"`: towncrier's heading `Myproj 1.3.0 (2024-05-01)`."""
    root = project(tmp_path / "p", '[tool.towncrier]\npackage = "myproj"\n',
                   "myproj/newsfragments")
    (root / "myproj" / "__init__.py").write_text("")
    notes = run(["notes", "--version", "1.3.0", "--date", "2024-05-01"], root)
    assert notes.code == 0, notes.err
    assert notes.out.startswith("Myproj 1.3.0 (2024-05-01)\n")
    assert notes.out.strip("\n") == body(towncrier_draft(root))


def test_project_name_from_pyproject(tmp_path: Path) -> None:
    """As towncrier's loader: [project].name beside the config stands in for the package."""
    root = project(tmp_path / "p", "[tool.towncrier]\n", "myproj/newsfragments",
                   pyproject='[project]\nname = "myproj"\nversion = "1.2.0"\n')
    (root / "myproj" / "__init__.py").write_text("")
    notes = run(["notes", "--version", "1.3.0", "--date", "2024-05-01"], root)
    assert notes.code == 0, notes.err
    assert notes.out.strip("\n") == body(towncrier_draft(root))
    assert notes.out.startswith("myproj 1.3.0")  # towncrier: name = [project].name as is


@pytest.mark.reliability("Hostile fragments")
def test_crlf_fragments_are_normalised_as_towncrier_does(tmp_path: Path) -> None:
    """Carriage returns never reach the notes; lint warns about them."""
    root = project(tmp_path / "p", '[tool.towncrier]\ndirectory = "changes"\n', "changes")
    (root / "changes" / "14.feature").write_bytes(b"Line one\r\n\r\nLine two\r\n")
    (root / "changes" / "15.feature").write_bytes(b"Old Mac\rstyle\r")
    notes = run(["notes", "--version", "1.3.0", "--date", "2024-05-01"], root)
    assert notes.code == 0, notes.err
    assert "\r" not in notes.out
    assert notes.out.strip("\n") == body(towncrier_draft(root))
    lint = run(["fragment", "lint"], root)
    assert lint.code == 0
    assert "changes/14.feature: warning: the file has Windows (CRLF) line endings" in lint.out
