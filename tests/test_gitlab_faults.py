"""The network to GitLab fails at each step of `mr check` and `cut`: verdicts hold, reruns heal.

Each GitLab request of a command is made to fail in each way a network fails
(connection reset, 5xx, 429, a hang past the timeout; a refused connection
when GitLab is down). The check's verdict never changes because GitLab is
sick, a cut never leaves half a release, and once GitLab is well again a rerun
leaves exactly one note or one release.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from relbot.gitlab_standin import GitLabStandIn
from tests.conftest import run
from tests.gitlab_fixtures import CutRepo, MrRepo, fragment

Inject = Callable[[GitLabStandIn, str, str], object]

FAILURES: dict[str, Inject] = {
    "reset": lambda s, method, path: s.faults.reset(method=method, path=path, times=-1),
    "500": lambda s, method, path: s.faults.error(500, method=method, path=path, times=-1),
    "503": lambda s, method, path: s.faults.error(503, method=method, path=path, times=-1),
    "429": lambda s, method, path: s.faults.rate_limit(1, method=method, path=path),
    "timeout": lambda s, method, path: s.faults.hang(5, method=method, path=path, times=-1),
}

MR_STEPS = {
    "who-am-i": ("GET", r"/user$"),
    "find-note": ("GET", r"/discussions$"),
    "create-note": ("POST", r"/discussions$"),
}

faults = pytest.mark.reliability("Faults")


@faults
@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("step", sorted(MR_STEPS))
def test_mr_check_survives_gitlab_failing(mr: MrRepo, step: str, failure: str) -> None:
    """GitLab failing at any step of `mr check` keeps the verdict; a rerun leaves one note."""
    mr.commit(fragment())
    method, path = MR_STEPS[step]
    FAILURES[failure](mr.standin, method, path)
    first = mr.check()
    assert first.code == 0, first.out + first.err  # the MR is fine, whatever GitLab says
    assert "Traceback" not in first.err
    comment_line = first.err.strip().splitlines()[-1]
    if failure == "429":
        assert comment_line.startswith("comment: created note")
    else:
        assert comment_line.startswith("comment: not updated: GitLab"), comment_line
    mr.standin.faults.clear()
    second = mr.check()
    assert second.code == 0
    threads = mr.relbot_threads()
    assert len(threads) == 1 and threads[0].resolved


@faults
def test_mr_check_with_gitlab_down(mr: MrRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """GitLab refusing connections: the check still gives its verdict and says why no comment."""
    mr.commit(fragment(text="@all nothing to see\n"))
    monkeypatch.setenv("CI_SERVER_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    result = mr.check()
    assert result.code == 0, result.out + result.err
    assert result.err.strip().splitlines()[-1].startswith(
        "comment: not updated: GitLab could not be reached")


@faults
def test_failing_check_keeps_failing_when_gitlab_fails(mr: MrRepo) -> None:
    """A failing check exits 1 even when the comment could not be written."""
    mr.commit({"docs/_releasenotes/1.feture": "Typo in the type.\n"})
    mr.standin.faults.error(500, times=-1)
    result = mr.check()
    assert result.code == 1
    assert "relbot: merge request !1 has" in result.err


CUT_STEPS = {
    "look-up": ("GET", r"/releases/"),
    "create": ("POST", r"/releases$"),
}


@faults
@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("step", sorted(CUT_STEPS))
def test_cut_survives_gitlab_failing(release_repo: CutRepo, step: str, failure: str) -> None:
    """GitLab failing while publishing: the git release is whole, a rerun adds one release."""
    method, path = CUT_STEPS[step]
    FAILURES[failure](release_repo.standin, method, path)
    first = release_repo.cut()
    assert "Traceback" not in first.err
    if failure == "429":
        assert first.code == 0, first.err
    else:
        assert first.code == 1, first.out + first.err
        assert len(first.err.strip().splitlines()) == 1
        assert first.err.startswith("relbot: GitLab")
    pushed = release_repo.history()
    assert "refs/tags/v8.1.0" in pushed[2]  # the git side of the release is complete
    release_repo.standin.faults.clear()
    rerun = release_repo.cut()
    assert rerun.code == 0, rerun.out + rerun.err
    assert release_repo.releases() == ["v8.1.0"]
    assert release_repo.history() == pushed


@faults
def test_cut_with_gitlab_down_then_up(release_repo: CutRepo) -> None:
    """GitLab down at publish time: one clear sentence; the rerun when it is up finishes."""
    config = release_repo.repo.path / "relbot.toml"
    original = config.read_text()
    config.write_text(original.replace(release_repo.standin.url, "http://127.0.0.1:9"))
    release_repo.repo.git("update-index", "--assume-unchanged", "relbot.toml")
    before = release_repo.history()
    down = release_repo.cut()
    assert down.code == 1
    # the release token is checked before anything is pushed (issue 11, item 7)
    assert down.err.strip() == ("relbot: GitLab could not be reached while checking the "
                                "release token on project yaook/k8s-releases.")
    assert release_repo.history()[2] == before[2]  # the remote is untouched
    config.write_text(original)
    up = release_repo.cut()
    assert up.code == 0, up.out + up.err
    assert release_repo.releases() == ["v8.1.0"]


@faults
def test_cut_dry_run_with_gitlab_down_fails_like_the_real_run(release_repo: CutRepo) -> None:
    """15.17: GitLab unreachable gives the same exit code and sentence with and without
    --dry-run (the dry run makes the real run's one cheap look-up); nothing is pushed."""
    config = release_repo.repo.path / "relbot.toml"
    config.write_text(config.read_text().replace(release_repo.standin.url,
                                                 "http://127.0.0.1:9"))
    release_repo.repo.git("update-index", "--assume-unchanged", "relbot.toml")
    before = release_repo.history()
    dry = run(["cut", "--dry-run", "--date", "2024-10-01"], release_repo.repo.path)
    real = release_repo.cut()
    sentence = ("relbot: GitLab could not be reached while checking the release token on "
                "project yaook/k8s-releases.")
    assert (dry.code, dry.err.strip()) == (1, sentence)
    assert (real.code, real.err.strip()) == (1, sentence)
    assert "v8.1.0" in dry.out  # the dry run still shows what it would do
    assert release_repo.history() == before
