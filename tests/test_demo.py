"""`relbot demo` shows the whole job on its throwaway repository."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git, run


def test_demo_runs_mr_check_and_a_cut(tmp_path: Path) -> None:
    """The demo names a placeholder fragment, comments on the MR, cuts and pushes v8.1.0."""
    keep = tmp_path / "demo"
    result = run(["demo", "--keep", str(keep), "--date", "2024-10-01"])
    assert result.code == 0, result.err
    out = result.out
    assert "renamed 1 fragment(s) and pushed them to calico-bgp" in out
    assert "<!-- relbot:mr-check -->" in out and "(resolved thread)" in out
    assert "[ok  ] policies: kubernetes" in out
    assert "Released v8.1.0" in out and "v8.1.0 (2024-10-01)" in out
    assert git(keep / "remote.git", "tag", "--list").split() == ["v8.0.2", "v8.1.0"]
    assert git(keep / "remote.git", "log", "-1", "--format=%s", "main") == "Release v8.1.0"
    assert (keep / "k8s" / "version").read_text() == "8.1.0\n"


def test_demo_leaves_nothing_behind_without_keep(tmp_path: Path) -> None:
    """Without --keep the demo works in a temporary directory it removes."""
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("relbot-demo-*"))
    assert run(["demo"]).code == 0
    assert set(Path(tempfile.gettempdir()).glob("relbot-demo-*")) == before
