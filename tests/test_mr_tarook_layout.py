"""`mr check` on Tarook's 2026 layout as `relbot init --preset yaook-k8s` configures it:
towncrier's configuration in ci/res/ and `towncrier_dir = "."`, read from the MR's base
commit. It failed with "towncrier_dir '.' passes through a symbolic link" (found while
killing mutants of relbot/mr.py, issue 16): the repository root itself was refused."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run
from tests.test_presets import tarook_tree


def test_mr_check_runs_on_tarooks_layout_with_towncrier_dir_dot(tmp_path: Path) -> None:
    repo = tarook_tree(tmp_path)
    assert run(["init", "--preset", "yaook-k8s"], repo.path).code == 0
    assert 'towncrier_dir = "."' in (repo.path / "relbot.toml").read_text()
    base = repo.commit_all("relbot")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("docs/_releasenotes/2604.fix.thing", "Fix a thing.\n")
    repo.commit_all("A fix")
    result = run(["mr", "check", "--no-comment", "--iid", "2604", "--base", base], repo.path)
    assert "symbolic link" not in result.err, result.err
    assert "[ok  ] fragment present: docs/_releasenotes/2604.fix.thing" in result.out, \
        result.out + result.err
    assert "if merged now: 15." in result.out, result.out
