"""The benchmark harness at its smallest size: it generates, runs and reports (no targets)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bench.generate import MR_COMMITS, Size, generate
from bench.run import (
    COMMANDS,
    CUT_PUSH,
    CUT_REAL,
    MR_COMMENT,
    NEXT_TAGS,
    RENO,
    TOWNCRIER_BUILD,
    main,
    tool,
)

SMOKE = Size(50, 20, 3)


def _git(cwd: str, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_generator_builds_the_size_it_is_asked_for(tmp_path: Path) -> None:
    """The synthetic repository has the commits, tags, fragments and reno notes asked for."""
    repo = generate(tmp_path / "repo", SMOKE, seed=1)
    work = Path(repo.work)
    assert _git(repo.work, "rev-list", "--count", "HEAD") == str(SMOKE.commits)
    assert len(_git(repo.work, "tag", "--list", "v*").splitlines()) == SMOKE.tags
    fragments = [p for p in (work / "changelog.d").iterdir() if not p.name.startswith(".")]
    notes = list((work / "releasenotes" / "notes").glob("*.yaml"))
    assert len(fragments) == len(notes) == SMOKE.fragments
    assert (work / "version").read_text(encoding="utf-8").strip() == repo.current_version
    assert _git(repo.work, "rev-parse", f"HEAD~{MR_COMMITS}") == repo.mr_base
    assert (work / "changelog.d" / f"{repo.mr_iid}.feature.md").is_file()
    assert _git(repo.work, "rev-parse", "origin/main") == repo.head


def test_generator_is_deterministic(tmp_path: Path) -> None:
    """The same size and seed give the same commit ids; another seed gives others."""
    tiny = Size(12, 4, 2)
    first = generate(tmp_path / "a", tiny, seed=7)
    again = generate(tmp_path / "b", tiny, seed=7)
    other = generate(tmp_path / "c", tiny, seed=8)
    assert first.head == again.head
    assert first.head != other.head


def test_runner_reports_every_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One fast round writes tables with positive times and memory for every command."""
    report = tmp_path / "benchmarks.md"
    code = main(["--size", "50:20:3", "--repeat", "1", "--warmup", "0",
                 "--out", str(tmp_path / "out"), "--report", str(report)])
    assert code == 0, capsys.readouterr().err
    text = report.read_text(encoding="utf-8")
    assert text == capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("| 50 commits")]
    time_row, cpu_row, memory_row, ratio_row = rows
    # reno is not a test dependency: the harness skips it, and says so, where it is missing.
    commands = [c for c in COMMANDS if c != RENO or tool("reno")]
    assert ("reno: not installed: skipped" in text) == (RENO not in commands)
    header = next(line for line in text.splitlines() if line.startswith("| repository"))
    assert header == "| repository | " + " | ".join(f"`{c}`" for c in commands) + " |"
    for row in (time_row, cpu_row, memory_row):
        values = [cell.strip() for cell in row.strip("|").split("|")[1:]]
        assert len(values) == len(commands)
        assert all(float(value) > 0 for value in values), row
    assert "identical to towncrier's" in ratio_row
    # The real cut, towncrier build --yes, next-version from tags, the comment posted, and
    # policy check all ran (an error would show as "error" in the rows checked above).
    for command in (CUT_REAL, CUT_PUSH, TOWNCRIER_BUILD, NEXT_TAGS, MR_COMMENT):
        assert f"`{command}`" in header
    assert "writes per run [2]; a stale comment took 1 write request(s)" in text
    assert "next-version from tags: prints what it prints from the version file" in text
    assert re.search(r"^\| 20 probed files \| \d+\.\d+ \|", text, re.MULTILINE)
    assert "## Targets (issues 7 and 17)" in text


def test_generator_rebuilds_a_repository_that_was_changed(tmp_path: Path) -> None:
    """A kept repository is reused only while nobody committed or tagged in it."""
    tiny = Size(12, 4, 2)
    first = generate(tmp_path / "repo", tiny)
    assert generate(tmp_path / "repo", tiny) == first
    _git(first.work, "tag", "extra")
    assert generate(tmp_path / "repo", tiny) == first  # same content, rebuilt
    assert "extra" not in _git(first.work, "tag", "--list")


def test_generator_reuses_a_repository_with_more_tags_than_half_its_history(
        tmp_path: Path) -> None:
    """Every tag asked for is made, so the kept repository is reused, not rebuilt each run.

    With fewer than two history commits per tag (as at 20k commits and 10k tags) the
    first release fell on the initial commit and was never made: one tag short, the
    cached repository failed its "untouched" check and was rebuilt on every run.
    """
    crowded = Size(40, 20, 15)
    first = generate(tmp_path / "repo", crowded)
    assert len(_git(first.work, "tag", "--list", "v*").splitlines()) == crowded.tags
    marker = tmp_path / "repo" / "kept"
    marker.write_text("", encoding="utf-8")
    assert generate(tmp_path / "repo", crowded) == first
    assert marker.is_file()  # reused: a rebuild removes the directory first


def test_generated_remote_keeps_its_tags_packed(tmp_path: Path) -> None:
    """The bare remote's tags are in packed-refs with their peeled ids, as on a served
    repository: loose, each ls-remote made upload-pack read every tag object (at 10k
    tags 263 MB, counted as the peak memory of the relbot command that asked)."""
    repo = generate(tmp_path / "repo", SMOKE)
    remote = Path(repo.remote)
    assert list((remote / "refs" / "tags").rglob("*")) == []
    packed = (remote / "packed-refs").read_text(encoding="utf-8")
    assert packed.startswith("# pack-refs with: peeled")
    assert sum(" refs/tags/v" in line for line in packed.splitlines()) == SMOKE.tags


def test_generated_remote_is_packed_by_git_not_fast_import(tmp_path: Path) -> None:
    """One pack written by git's pack-objects (tags together, as on a served repository),
    not fast-import's, whose tag objects lie among the blobs: at 10k tags a push's peeling
    of every tag read the whole pack (280 MB, counted as `relbot cut --yes`'s memory)."""
    repo = generate(tmp_path / "repo", SMOKE)
    packs = list((Path(repo.remote) / "objects" / "pack").glob("*.pack"))
    assert len(packs) == 1
    order = subprocess.run(
        ["git", "verify-pack", "-v", str(packs[0].with_suffix(".idx"))], cwd=repo.remote,
        capture_output=True, text=True, check=True).stdout.splitlines()
    types = [line.split()[1] for line in order if len(line.split()) > 2
             and line.split()[1] in ("commit", "tag", "tree", "blob")]
    # verify-pack lists by offset: git writes the tags with the commits, before any blob
    first_blob = types.index("blob")
    assert types.count("tag") == SMOKE.tags
    assert all(kind != "tag" for kind in types[first_blob:])


def test_no_growth_is_judged_one_sided() -> None:
    """"Flat" targets fail on growth only: the larger size may come out faster."""
    from bench.run import Measurement, Results, issue17_verdicts

    low, high = Size(20000, 2000, 10), Size(20000, 2000, 10000)

    def judged(slow: float, fast: float) -> str:
        results: Results = {(low, NEXT_TAGS): Measurement(times=[1.0, 1.0], cpu=[1.0, 1.0]),
                            (high, NEXT_TAGS): Measurement(times=[slow, fast],
                                                           cpu=[slow, fast])}
        verdict = next(v for v in issue17_verdicts(results, [low, high])
                       if "from 10 to 10k tags" in v.target)
        return verdict.verdict

    assert judged(0.6, 0.7) == "PASS"  # faster with 10k tags: no growth
    assert judged(1.05, 1.1) == "PASS"
    assert judged(1.2, 1.3) == "FAIL"
