"""The documentation is true: generated parts are current, documented commands work."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from relbot.config import reference_markdown
from tests.conftest import PROJECT, git, make_repo

DOCS = PROJECT / "docs"


def test_configuration_reference_is_generated() -> None:
    """docs/configuration.md is exactly what `python -m relbot.config` writes."""
    assert (DOCS / "configuration.md").read_text() == reference_markdown(), (
        "regenerate with: python -m relbot.config > docs/configuration.md")


def sh_blocks(path: Path) -> list[str]:
    """The commands of the ```sh blocks (```bash blocks are illustrations, not replayed)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", path.read_text(), re.S):
        commands += [line for line in block.splitlines() if line.strip()]
    return commands


def towncrier_project(base: Path) -> Path:
    """A small project that uses towncrier (pyproject, NEWS.rst, tags), cloned afresh."""
    (base / "upstream").mkdir(parents=True)
    repo = make_repo(base / "upstream", {
        "pyproject.toml": '[project]\nname = "example"\nversion = "1.4.0"\n\n'
                          '[tool.towncrier]\ndirectory = "newsfragments"\nfilename = '
                          '"NEWS.rst"\n',
        "NEWS.rst": "Example news\n============\n\n.. towncrier release notes start\n",
        "newsfragments/12.feature": "Frobnicate faster.\n",
        "newsfragments/13.bugfix": "Do not crash on empty input.\n",
    })
    repo.git("tag", "v1.4.0", "HEAD")
    repo.git("push", "-q", "origin", "v1.4.0")
    clone = base / "clone"
    git(base, "clone", "-q", str(repo.remote), str(clone))
    return clone


def test_getting_started_reaches_a_dry_run(tmp_path: Path) -> None:
    """Replaying docs/getting-started.md on a fresh clone ends in a working cut --dry-run."""
    commands = sh_blocks(DOCS / "getting-started.md")
    assert commands[0].startswith("relbot init") and commands[-1] == "relbot cut --dry-run"
    clone = towncrier_project(tmp_path)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                 f"{os.environ['PATH']}"}
    output = ""
    for command in commands:
        proc = subprocess.run(["bash", "-c", command], cwd=clone, env=env,
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{command}: {proc.stderr}"
        output = proc.stdout
    assert "release v1.5.0 of main from main:" in output
    assert "Frobnicate faster. (#12)" in output
    assert "A first feature announced through relbot (#42)" in output
    assert not (clone / "VERSION").exists()  # the version lives in [project].version
    relbot_toml = (clone / "relbot.toml").read_text()
    assert "towncrier_config = \"pyproject.toml\"" in relbot_toml
    assert "version_file = \"pyproject.toml\"" in relbot_toml
    assert not (clone / "towncrier.toml").exists()


def test_readme_starts_with_the_two_commands() -> None:
    """README's first code block holds the demo command and the test command, as .ci/run runs it."""
    readme = (PROJECT / "README.md").read_text()
    block = re.search(r"```(?:sh|bash)\n(.*?)```", readme, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert "relbot demo" in lines[0]
    assert lines[1] in (PROJECT / ".ci" / "run").read_text()


def test_every_doc_link_resolves() -> None:
    """Relative links between the Markdown documents point at files that exist."""
    for path in [PROJECT / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", path.read_text()):
            assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


def test_reliability_summary_lists_every_reliability_test() -> None:
    """docs/reliability.md was generated from a run of exactly the reliability tests there are."""
    listed = set()
    for name, module in re.findall(r"^- `([^`]+)` \(([^)]+)\): passed$",
                                   (DOCS / "reliability.md").read_text(), re.M):
        listed.add(f"{module}::{name}")
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                           "no:xdist", "-m", "reliability", "tests"], cwd=PROJECT,
                          capture_output=True, text=True, check=False)
    collected = {line.strip() for line in proc.stdout.splitlines() if "::" in line}
    assert collected, proc.stdout + proc.stderr
    assert listed == collected, (
        "regenerate with: pytest -p no:xdist -m reliability --reliability-report "
        "docs/reliability.md")


def test_readme_shows_the_comment_relbot_really_posts() -> None:
    """The comment excerpt in the README is a piece of the generated example, unchanged."""
    readme = (PROJECT / "README.md").read_text()
    excerpt = readme.split("tests/test_docs.py keeps it in step -->\n", 1)[1].split(
        "\n<!-- end of excerpt -->", 1)[0]
    assert excerpt.startswith("<!-- relbot:mr-check -->")
    assert excerpt in (DOCS / "mr-comment-example.md").read_text()
