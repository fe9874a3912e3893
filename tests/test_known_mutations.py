"""Each bug the suite once let through, put back by hand, makes its named tests fail.

The mutations are listed in ``tests/known_mutations.py``; each runs in a scratch
copy of the project, in random order, with only the tests meant to kill it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.known_mutations import MUTATIONS, Mutation, mutated_copy, run_tests


def test_the_killers_pass_on_the_unmutated_copy(tmp_path: Path) -> None:
    """The scratch copy itself is sound: without a mutation every killer passes there."""
    killers = sorted({k for m in MUTATIONS for k in m.killers})
    code, failed = run_tests(mutated_copy(None, tmp_path / "project"), killers)
    assert (code, failed) == (0, set())


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_each_known_bug_is_caught(tmp_path: Path, mutation: Mutation) -> None:
    """With the bug put back, every one of its killers fails."""
    copy = mutated_copy(mutation, tmp_path / "project")
    code, failed = run_tests(copy, list(mutation.killers), "--random-order")
    assert code == 1
    assert {nodeid.split("[", 1)[0] for nodeid in failed} == set(mutation.killers)
