"""Which commit a release resumes from, and what a rerun or a CI job retry finishes.

Real repositories with real bare remotes; GitLab is the stand-in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relbot.project import Project
from relbot.release_commit import prove_release_commit
from tests.conftest import Repo, git, run
from tests.gitlab_fixtures import CutRepo
from tests.test_cut import FRAGMENTS, add_fragments, cut, kill_relbot_when, relbot_process

hostile = pytest.mark.reliability("Hostile fragments")
faults = pytest.mark.reliability("Faults")


@pytest.fixture
def repo(yaook_repo: Repo) -> Repo:
    """The Yaook-like repository with a feature and a fix pending."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n",
                               "102.fix": "A fix.\n"})
    return yaook_repo


def forged_merge(repo: Repo, version: str = "9.9.9") -> str:
    """An ordinary MR commit whose message carries relbot's trailers (merged to main)."""
    repo.write("roles/evil.yaml", "evil: true\n")
    repo.write("version", f"{version}\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", f"Innocent change\n\nRelbot-Component: k8s\n"
             f"Relbot-Version: {version}\nRelbot-Date: 2024-01-01\nRelbot-Flow: direct\n"
             "Relbot-Branch: main\n")
    repo.push()
    return repo.git("rev-parse", "HEAD")


@hostile
def test_forged_trailers_make_an_ordinary_commit(repo: Repo) -> None:
    """A merged commit with relbot's trailers is not a release: the next cut releases the
    pending fragments with the version they ask for, and never tags the forged commit."""
    forged = forged_merge(repo, "8.0.2")  # the version file is untouched in substance
    code, out, err = cut(repo)
    assert code == 0, err
    assert "resuming" not in out
    assert repo.git("tag", "--list") == "v8.1.0"
    release = repo.git("rev-parse", "v8.1.0^{commit}")
    assert release != forged
    assert repo.git("rev-parse", f"{release}^") == forged
    assert not list((repo.path / FRAGMENTS).glob("10*"))
    assert "- A shiny feature." in repo.git("tag", "-l", "--format=%(contents)", "v8.1.0")


@hostile
def test_forged_trailers_naming_a_version_are_not_tagged(repo: Repo) -> None:
    """Trailers plus a version file that holds their version still prove nothing."""
    forged = forged_merge(repo, "9.9.9")
    result = run(["cut", "--yes", "--date", "2024-10-01", "--version", "10.0.0"], repo.path)
    assert result.code == 0, result.err
    assert repo.git("tag", "--list") == "v10.0.0"
    assert git(repo.remote, "tag", "--list") == "v10.0.0"
    assert repo.git("rev-parse", "v10.0.0^{commit}") != forged


def test_the_proof_accepts_relbots_commit_and_nothing_else(repo: Repo) -> None:
    """prove_release_commit: relbot's own commit passes; one more changed file fails it."""
    assert cut(repo, "--no-push")[0] == 0
    project = Project(repo.path)
    assert project.git is not None
    head = repo.git("rev-parse", "HEAD")
    proven = prove_release_commit(project, project.git, head)
    assert proven is not None
    assert proven.spec.version == "8.1.0" and proven.spec.flow == "direct"
    assert sorted(proven.removed) == [f"{FRAGMENTS}/101.feature.shiny", f"{FRAGMENTS}/102.fix"]
    assert prove_release_commit(project, project.git, head, parent=head) is None
    message = repo.git("log", "-1", "--format=%B")
    tree_with_extra = repo.git("rev-parse", "HEAD^{tree}")
    repo.write("extra.txt", "smuggled\n")
    repo.git("add", "extra.txt")
    repo.git("commit", "-q", "--amend", "-m", message)
    assert repo.git("rev-parse", "HEAD^{tree}") != tree_with_extra
    assert prove_release_commit(project, project.git, repo.git("rev-parse", "HEAD")) is None


def _pushed_but_not_published(release_repo: CutRepo) -> None:
    """A first cut whose push goes through and whose Releases API call fails."""
    release_repo.standin.faults.error(500, method="POST", path=r"/releases$", times=-1)
    first = release_repo.cut()
    assert first.code == 1, first.out + first.err
    assert release_repo.releases() == []
    release_repo.standin.faults.clear()


def _retry_publishes(release_repo: CutRepo, retry: Repo,
                     monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The CI job retried in ``retry`` (detached, on main's pipeline): it resumes the
    release and only publishes it."""
    monkeypatch.setenv("CI_COMMIT_BRANCH", "main")
    second = run(["cut", "--yes", "--date", "2024-12-24", "--json"], retry.path)
    assert second.code == 0, second.err
    data: dict[str, object] = json.loads(second.out)
    assert data["resumed"] is True and data["steps_done"] == ["publish"]
    assert release_repo.releases() == ["v8.1.0"]
    return data


@faults
def test_retried_ci_job_finishes_the_release(release_repo: CutRepo, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The push went through, the Releases API failed; GitLab retries the job on the
    pipeline's original commit in a fresh detached checkout: it resumes and publishes."""
    repo = release_repo.repo
    original = repo.git("rev-parse", "HEAD")
    _pushed_but_not_published(release_repo)
    assert git(repo.remote, "tag", "--list") == "v8.1.0"
    retry = repo.clone(tmp_path / "retry")
    retry.git("checkout", "-q", "--detach", original)
    retry.git("tag", "-d", "v8.1.0")  # GitLab's fetch may bring no tags
    data = _retry_publishes(release_repo, retry, monkeypatch)
    assert git(repo.remote, "tag", "--list") == "v8.1.0"
    assert git(repo.remote, "rev-list", "--count", f"{original}..main") == "1"
    assert "(2024-10-01)" in str(data["notes"])  # the first run's date, from the trailer


@faults
def test_a_retry_whose_clone_lacks_the_pushed_release_fetches_its_objects_only(
        release_repo: CutRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The retried job's clone predates the first attempt's push (a cached work tree, a
    fetch that brought only the pipeline's commit): the plan fetches the remote branch's
    objects, and only them (no ref of the clone moves, no tag, no FETCH_HEAD), proves
    the release commit and finishes the release."""
    repo = release_repo.repo
    original = repo.git("rev-parse", "HEAD")
    retry = repo.clone(tmp_path / "retry")
    retry.git("checkout", "-q", "--detach", original)
    tracking = retry.git("rev-parse", "refs/remotes/origin/main")
    _pushed_but_not_published(release_repo)
    pushed = git(repo.remote, "rev-parse", "main")
    assert retry.git("cat-file", "-t", pushed, check=False) != "commit"  # not here yet
    _retry_publishes(release_repo, retry, monkeypatch)
    assert retry.git("cat-file", "-t", pushed) == "commit"
    assert retry.git("rev-parse", "refs/remotes/origin/main") == tracking
    assert retry.git("tag", "--list") == ""
    assert not (retry.path / ".git" / "FETCH_HEAD").exists()


@faults
def test_retry_refuses_when_the_remote_moved_by_an_ordinary_commit(repo: Repo,
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    """Ahead by a commit that is not relbot's release: still "behind", nothing released."""
    original = repo.git("rev-parse", "HEAD")
    forged_merge(repo, "8.1.0")
    retry = repo.clone(tmp_path / "retry")
    retry.git("checkout", "-q", "--detach", original)
    monkeypatch.setenv("CI_COMMIT_BRANCH", "main")
    result = run(["cut", "--yes"], retry.path)
    assert result.code == 1
    assert "behind origin/main" in result.err
    assert git(repo.remote, "tag", "--list") == ""


@faults
def test_resume_refuses_someone_elses_tag_on_the_remote(repo: Repo, tmp_path: Path) -> None:
    """After --no-push, someone pushed their own v8.1.0: the rerun refuses, keeps the local
    release as it is, and the remote is untouched."""
    assert cut(repo, "--no-push")[0] == 0
    mine = repo.git("rev-parse", "HEAD")
    other = repo.clone(tmp_path / "other")
    other.git("tag", "-a", "-m", "theirs", "v8.1.0")
    other.git("push", "-q", "origin", "v8.1.0")
    theirs = git(repo.remote, "rev-parse", "v8.1.0")
    code, _, err = cut(repo)
    assert code == 1
    assert "the remote's tag v8.1.0 is not this release's tag" in err
    assert len(err.strip().splitlines()) == 1
    assert repo.git("rev-parse", "HEAD") == mine  # nothing undone ...
    assert repo.git("rev-parse", "v8.1.0^{commit}") == mine
    assert git(repo.remote, "rev-parse", "v8.1.0") == theirs  # ... and nothing pushed
    assert git(repo.remote, "rev-parse", "main") != mine


@faults
def test_rerun_days_later_keeps_the_release_date(repo: Repo) -> None:
    """Killed after the commit; the rerun with another --date writes the first run's date."""
    hook = kill_relbot_when(repo, "refs/heads/main")
    assert relbot_process(repo).returncode == -9  # --date 2024-10-01
    hook.unlink()
    later = run(["cut", "--yes", "--date", "2024-12-24", "--json"], repo.path)
    assert later.code == 0, later.err
    message = repo.git("tag", "-l", "--format=%(contents)", "v8.1.0")
    assert "v8.1.0 (2024-10-01)" in message
    assert "2024-12-24" not in message
    assert "(2024-10-01)" in json.loads(later.out)["notes"]


@faults
def test_dry_run_repairs_nothing(repo: Repo) -> None:
    """Killed between moving the branch and updating the files: --dry-run leaves that state
    as it is (byte for byte); the real run finishes the checkout and the release."""
    hook = kill_relbot_when(repo, "refs/heads/main")
    assert relbot_process(repo).returncode == -9
    hook.unlink()
    status = repo.git("status", "--porcelain")
    assert status != ""  # the work tree still shows the old files
    index = (repo.path / ".git" / "index").read_bytes()
    dry = run(["cut", "--dry-run"], repo.path)
    assert dry.code == 0, dry.err
    assert "resuming" in dry.out
    assert repo.git("status", "--porcelain") == status
    assert (repo.path / ".git" / "index").read_bytes() == index
    assert cut(repo)[0] == 0
    assert repo.git("status", "--porcelain") == ""
    assert (repo.path / "version").read_text() == "8.1.0\n"


def test_json_keys_are_the_same_fresh_resumed_and_done(repo: Repo) -> None:
    """--json: one set of keys whatever the run did; steps[].done true for what was done."""
    fresh = json.loads(run(["cut", "--yes", "--no-push", "--json"], repo.path).out)
    resumed = json.loads(run(["cut", "--yes", "--json"], repo.path).out)
    done = json.loads(run(["cut", "--yes", "--json"], repo.path).out)
    dry = json.loads(run(["cut", "--dry-run", "--json"], repo.path).out)
    assert set(fresh) == set(resumed) == set(done) == set(dry)
    assert [s["done"] for s in fresh["steps"]] == [True, True]
    assert fresh["steps_done"] == ["commit", "tag"]
    assert resumed["resumed"] is True and resumed["steps_done"] == ["push"]
    assert all(s["done"] for s in resumed["steps"])
    assert done["steps_done"] == [] and all(s["done"] for s in done["steps"])


def test_json_error_is_an_object(repo: Repo) -> None:
    """--json prints a JSON object on errors too, with the exit code."""
    repo.write("version", "9.9.9\n")
    result = run(["cut", "--yes", "--json"], repo.path)
    assert result.code == 1
    data = json.loads(result.out)
    assert data["exit_code"] == 1
    assert data["error"].startswith("the work tree is not clean")
    usage = run(["cut", "--yes", "--json", "--pre", "rc", "--hotfix"], repo.path)
    assert usage.code == 2 and json.loads(usage.out)["exit_code"] == 2


def test_a_branch_behind_a_finished_release_is_told_to_pull(repo: Repo, tmp_path: Path) -> None:
    """Not a CI retry (a checked-out branch): the maintainer behind a release pulls first."""
    other = repo.clone(tmp_path / "other")
    assert cut(repo)[0] == 0
    result = run(["cut", "--yes"], other.path)
    assert result.code == 1 and "behind origin/main" in result.err
    other.git("pull", "-q")
    again = run(["cut", "--yes"], other.path)
    assert again.code == 0 and "already released completely" in again.out


def test_a_release_commit_without_a_date_takes_the_reruns_date(yaook_repo: Repo) -> None:
    """A release commit made before relbot recorded its date (no Relbot-Date trailer) is
    finished with the date the rerun gives, in the tag's notes."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    assert run(["cut", "--yes", "--no-push", "--date", "2024-10-01"], yaook_repo.path).code == 0
    yaook_repo.git("tag", "-d", "v8.1.0")
    message = yaook_repo.git("log", "-1", "--format=%B")
    assert "Relbot-Date: 2024-10-01" in message
    yaook_repo.git("commit", "-q", "--amend", "-m",
                   "\n".join(line for line in message.splitlines()
                             if not line.startswith("Relbot-Date:")))
    result = run(["cut", "--yes", "--date", "2024-11-11"], yaook_repo.path)
    assert result.code == 0, result.err
    assert yaook_repo.git("rev-list", "--count", "origin/main..HEAD") == "0"
    notes = yaook_repo.git("tag", "-l", "--format=%(contents)", "v8.1.0")
    assert "v8.1.0 (2024-11-11)" in notes
