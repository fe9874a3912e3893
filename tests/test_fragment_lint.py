"""`fragment lint` warns about what `cut` will refuse or render badly; only tracked files count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, run

FRAGMENTS = "docs/_releasenotes"


def add(repo: Repo, name: str, text: str, *, commit: bool = True) -> None:
    repo.write(f"{FRAGMENTS}/{name}", text)
    if commit:
        repo.commit_all(f"Add {name}")


@pytest.mark.reliability("Hostile fragments")
def test_git_ignored_fragment_is_named_and_never_released(yaook_repo: Repo) -> None:
    """A git-ignored file in the fragments directory is a lint error, not a pending fragment."""
    add(yaook_repo, "101.fix", "A real fix.\n")
    yaook_repo.write(f"{FRAGMENTS}/.gitignore", "!.gitignore\n102.fix\n")
    yaook_repo.commit_all("ignore a local note")
    add(yaook_repo, "102.fix", "A local note that is ignored.\n", commit=False)
    add(yaook_repo, "103.feature", "Written but never added.\n", commit=False)
    lint = run(["fragment", "lint"], yaook_repo.path)
    assert lint.code == 1
    assert f"{FRAGMENTS}/102.fix: the file is not tracked by git" in lint.out
    assert f"{FRAGMENTS}/103.feature: the file is not tracked by git" in lint.out
    assert "[untracked]" in lint.out
    cut = run(["cut", "--yes", "--no-push", "--date", "2024-10-01"], yaook_repo.path)
    assert cut.code == 1
    assert "102.fix" in cut.err or "103.feature" in cut.err
    (yaook_repo.path / FRAGMENTS / "103.feature").unlink()
    (yaook_repo.path / FRAGMENTS / "102.fix").unlink()
    cut = run(["cut", "--yes", "--no-push", "--date", "2024-10-01"], yaook_repo.path)
    assert cut.code == 0, cut.err
    assert "8.0.3" in cut.out
    assert "local note" not in (yaook_repo.path / "CHANGELOG.rst").read_text()


def test_lint_reads_the_tracked_list_with_one_git_process(yaook_repo: Repo) -> None:
    """Whatever the number of fragments, lint starts one git process (`git ls-files -z`)."""
    for number in range(1, 41):
        add(yaook_repo, f"{number}.fix", f"Fix {number}.\n", commit=False)
    yaook_repo.commit_all("many")
    code = ("import subprocess, sys\ncalls = []\nreal = subprocess.Popen.__init__\n"
            "def spy(self, args, *a, **k):\n    calls.append(args)\n"
            "    return real(self, args, *a, **k)\n"
            "subprocess.Popen.__init__ = spy\n"
            "from relbot.cli import main\nsys.argv = ['relbot', 'fragment', 'lint']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('GIT', [c for c in calls if c and c[0] == 'git'], file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=yaook_repo.path,
                            capture_output=True, text=True, check=False)
    git_calls = result.stderr.split("GIT ", 1)[1]
    assert git_calls.count("'git'") == 1 and "'ls-files', '-z'" in git_calls
    assert "40 fragment(s) ok." in result.stderr


def test_lint_warnings(yaook_repo: Repo) -> None:
    """Empty entries in a type that shows text, copies of another fragment's text, CRLF."""
    add(yaook_repo, "201.feature", "")
    add(yaook_repo, "202.fix", "Same words.\n")
    add(yaook_repo, "203.fix", "Same words.\n")
    add(yaook_repo, "204.misc", "")  # misc shows no text: an empty one is normal
    repo_file = yaook_repo.path / FRAGMENTS / "205.docs"
    repo_file.write_bytes(b"Windows\r\nline ends\r\n")
    yaook_repo.commit_all("crlf")
    lint = run(["fragment", "lint"], yaook_repo.path)
    assert lint.code == 0, lint.out
    lines = sorted(lint.out.splitlines())
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["[empty]", "[same-text]", "[crlf]"]
    assert lines[0].startswith(f"{FRAGMENTS}/201.feature: warning: the fragment is empty")
    assert lines[1] == (f"{FRAGMENTS}/203.fix: warning: the text is exactly that of "
                        f"{FRAGMENTS}/202.fix; the notes would say it twice [same-text]")
    assert lines[2].startswith(f"{FRAGMENTS}/205.docs: warning: the file has Windows (CRLF)")


def test_placeholder_on_the_release_branch_is_a_warning(yaook_repo: Repo) -> None:
    """On the branch that is released, an `x` fragment is what `cut` refuses: lint says so."""
    add(yaook_repo, "x.fix.typo", "A typo.\n")
    lint = run(["fragment", "lint"], yaook_repo.path)
    assert lint.code == 0
    assert (f"{FRAGMENTS}/x.fix.typo: warning: the placeholder number 'x' is still there on "
            "main, where releases are cut") in lint.out
    yaook_repo.git("switch", "-q", "-c", "topic")
    topic = run(["fragment", "lint"], yaook_repo.path)
    assert topic.code == 0 and "placeholder" not in topic.out


def test_fragment_new_warns_about_a_copy_and_stages_the_file(yaook_repo: Repo) -> None:
    """`fragment new` with the text of a pending fragment warns first; the new file is staged."""
    add(yaook_repo, "301.fix", "Fix the frobnicator.\n")
    result = run(["fragment", "new", "--mr", "302", "fix", "Fix the frobnicator."],
                 yaook_repo.path)
    assert result.code == 0, result.err
    assert (f"warning: {FRAGMENTS}/301.fix already has this text; the notes would say it "
            "twice") in result.err
    written = result.out.strip()
    assert written == f"{FRAGMENTS}/302.fix.fix-the-frobnicator.rst"
    assert yaook_repo.git("ls-files", "--", written) == written
    assert run(["fragment", "lint"], yaook_repo.path).code == 0


def test_slug_keeps_non_ascii_letters(tmp_path: Path, yaook_repo: Repo) -> None:
    """`über-größe`, not `ber-gr-e`."""
    result = run(["fragment", "new", "feature", "Über Größe für Knoten"], yaook_repo.path)
    assert result.code == 0, result.err
    assert result.out.strip() == f"{FRAGMENTS}/x.feature.über-größe-für-knoten.rst"
