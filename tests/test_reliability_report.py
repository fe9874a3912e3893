"""The reliability report shows what happened in the run that wrote it, not a list of names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT

SUITE = '''
import pytest

@pytest.mark.reliability("Faults")
def test_holds():
    assert True

@pytest.mark.reliability("Faults")
def test_breaks():
    assert 1 == 2, "the fault got through"

@pytest.mark.reliability("Secrets")
def test_skips():
    pytest.skip("no GitLab stand-in here")

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

@pytest.mark.reliability("Races")
def test_errors(broken):
    pass

def test_not_a_reliability_test():
    pass
'''


@pytest.mark.parametrize("parallel", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_each_case_shows_its_outcome(tmp_path: Path, parallel: list[str]) -> None:
    """A run with a pass, a failure, a skip and an error: the report says so, per case and per
    class, under xdist too."""
    (tmp_path / "test_suite.py").write_text(SUITE)
    report = tmp_path / "reliability.md"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.reliability_plugin", *parallel,
         "--rootdir", str(tmp_path), "-c", os.devnull, "--reliability-report", str(report),
         str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert proc.returncode == 1, proc.stdout + proc.stderr  # one test fails, as it should
    text = report.read_text()
    assert "test_suite.py): passed" in text
    assert "- `test_holds` (test_suite.py): passed" in text
    assert ("- `test_breaks` (test_suite.py): failed (AssertionError: the fault got through"
            in text)
    assert "- `test_skips` (test_suite.py): skipped (no GitLab stand-in here)" in text
    assert "- `test_errors` (test_suite.py): error (RuntimeError: fixture broke)" in text
    assert "test_not_a_reliability_test" not in text
    assert "| Faults | 2 | 1 | 1 | 0 | SEE FAILURES |" in text
    assert "| Secrets | 1 | 0 | 0 | 1 | hold, some skipped |" in text
    assert "| Races | 1 | 0 | 1 | 0 | SEE FAILURES |" in text
    assert "| Property tests | 0 | 0 | 0 | 0 | no tests ran |" in text
    assert re.search(r"4 reliability tests, 1 passed, 1 failed, 1 error, 1 skipped\.", text)
