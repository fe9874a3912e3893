"""Tarook's release flow: `cut --prepare` on the default branch, a soak, `cut --finish` on the
prepare branch; on real bare remotes, with the GitLab stand-in, crashes and reruns."""

from __future__ import annotations

from pathlib import Path

import pytest

from relbot.gitlab_standin import GitLabStandIn
from relbot.gitlab_standin.permissions import MAINTAINER
from tests.conftest import Repo, git, make_repo, run, yaook_like_files
from tests.gitlab_fixtures import cast, relbot_toml
from tests.test_cut import FRAGMENTS, add_fragments, kill_relbot_when, relbot_process
from tests.test_faults_and_races import kill_relbot_after_push

DATE = "2024-10-01"
PROJECT = "yaook/k8s-prepare"


def prepare_repo(tmp_path: Path, relbot: str | None = None) -> Repo:
    files = yaook_like_files()
    files["relbot.toml"] = (relbot or files["relbot.toml"]) + 'release_flow = "prepare"\n'
    repo = make_repo(tmp_path, files)
    add_fragments(repo, {"101.feature.shiny": "A shiny feature.\n", "102.fix": "A fix.\n"})
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A Yaook-like repository with release_flow = "prepare" and forge = "none"."""
    return prepare_repo(tmp_path)


@pytest.fixture
def gitlab_repo(tmp_path: Path, gitlab_standin: GitLabStandIn,
                monkeypatch: pytest.MonkeyPatch) -> Repo:
    """The same, published through the stand-in (project yaook/k8s-prepare)."""
    toml = relbot_toml(f'gitlab_url = "{gitlab_standin.url}"\ngitlab_project = "{PROJECT}"')
    repo = prepare_repo(tmp_path, toml + "\n")
    gitlab_standin.add_member(gitlab_standin.add_project(PROJECT, repository=repo.remote),
                              cast(gitlab_standin).release_bot, MAINTAINER)
    # the release token: a Maintainer of the (private) project, as GitLab needs (docs/ci.md)
    monkeypatch.setenv("RELBOT_RELEASE_TOKEN", cast(gitlab_standin).release_token)
    return repo


def cut(repo: Repo, *args: str) -> tuple[int, str, str]:
    result = run(["cut", "--yes", "--date", DATE, *args], repo.path)
    return result.code, result.out, result.err


def releases(standin: GitLabStandIn) -> list[str]:
    project = standin.state.project(PROJECT)
    return [r.tag_name for r in standin.state.list_releases(project)]


def merge_requests(standin: GitLabStandIn) -> list[tuple[str, str, str]]:
    project = standin.state.project(PROJECT)
    return [(mr.source_branch, mr.target_branch, mr.state)
            for (pid, _), mr in standin.state.merge_requests.items() if pid == project.id]


def test_plain_cut_names_the_flow(repo: Repo) -> None:
    """A component with the prepare flow refuses a plain cut and says what to run."""
    result = run(["cut", "--yes"], repo.path)
    assert result.code == 2 and "cut --prepare" in result.err and "--finish" in result.err


def test_prepare_then_finish_without_forge(repo: Repo) -> None:
    """prepare: only the prepare branch is pushed, nothing tagged, main untouched; finish:
    release/v8.1 at the release commit, the tag on it, and what to merge back by hand."""
    main_before = git(repo.remote, "rev-parse", "main")
    code, out, err = cut(repo, "--prepare")
    assert code == 0, err
    assert "prepared v8.1.0 on release-prepare/v8.1.0" in out
    prepared = git(repo.remote, "rev-parse", "refs/heads/release-prepare/v8.1.0")
    assert git(repo.remote, "rev-parse", "main") == main_before
    assert git(repo.remote, "tag", "--list") == ""
    assert git(repo.remote, "show", f"{prepared}:version") == "8.1.0"
    assert repo.git("rev-parse", "HEAD") == main_before and repo.git("status",
                                                                     "--porcelain") == ""
    again = cut(repo, "--prepare")
    assert again[0] == 0 and "nothing to do" in again[1]

    repo.git("checkout", "-q", "release-prepare/v8.1.0")
    code, out, err = cut(repo, "--finish")
    assert code == 0, err
    assert git(repo.remote, "rev-parse", "refs/heads/release/v8.1") == prepared
    assert git(repo.remote, "rev-parse", "v8.1.0^{commit}") == prepared
    assert git(repo.remote, "cat-file", "-t", "v8.1.0") == "tag"
    assert "merge release/v8.1 back into main by hand" in out
    assert "- A shiny feature." in git(repo.remote, "tag", "-l", "--format=%(contents)",
                                       "v8.1.0")
    done = cut(repo, "--finish")
    assert done[0] == 0 and "nothing to do" in done[1]


def test_whole_flow_with_gitlab_and_a_patch_release(gitlab_repo: Repo,
                                                    gitlab_standin: GitLabStandIn) -> None:
    """finish creates the Release and the merge-back MR (kept on rerun); a patch release
    starts from release/v8.1 with main merged in and lands on release/v8.1."""
    repo = gitlab_repo
    assert cut(repo, "--prepare")[0] == 0
    repo.git("checkout", "-q", "release-prepare/v8.1.0")
    code, _, err = cut(repo, "--finish")
    assert code == 0, err
    assert releases(gitlab_standin) == ["v8.1.0"]
    assert merge_requests(gitlab_standin) == [("release/v8.1", "main", "opened")]
    project = gitlab_standin.state.project(PROJECT)
    (back,) = [mr for mr in gitlab_standin.state.merge_requests.values()
               if mr.project_id == project.id]
    assert (back.title, back.labels) == ("Merge release/v8.1 (v8.1.0) back into main",
                                         ["Release"])
    assert back.description == ("relbot released v8.1.0 on release/v8.1; this brings its "
                                "changelog and version file to main.")
    assert cut(repo, "--finish")[0] == 0
    assert merge_requests(gitlab_standin) == [("release/v8.1", "main", "opened")]

    # the merge-back is merged; a fix lands on main; a hotfix-free patch release follows
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge release/v8.1", "origin/release/v8.1")
    repo.push()
    for mr in gitlab_standin.state.merge_requests.values():
        if mr.project_id == project.id:
            mr.state = "merged"
    main_tip = add_fragments(repo, {"103.fix": "Another fix.\n"})
    release_tip = git(repo.remote, "rev-parse", "release/v8.1")
    code, _, err = cut(repo, "--prepare")
    assert code == 0, err
    prepared = git(repo.remote, "rev-parse", "release-prepare/v8.1.1")
    merge = git(repo.remote, "rev-parse", f"{prepared}^")
    assert git(repo.remote, "rev-parse", f"{merge}^1", f"{merge}^2").split() == [
        release_tip, main_tip]
    repo.git("checkout", "-q", "release-prepare/v8.1.1")
    code, _, err = cut(repo, "--finish")
    assert code == 0, err
    assert git(repo.remote, "rev-parse", "refs/heads/release/v8.1") == prepared
    assert git(repo.remote, "rev-parse", "v8.1.1^{commit}") == prepared
    assert releases(gitlab_standin) == ["v8.1.1", "v8.1.0"]
    notes = git(repo.remote, "tag", "-l", "--format=%(contents)", "v8.1.1")
    assert "- Another fix." in notes and "shiny" not in notes


def assert_one_finished_release(repo: Repo, standin: GitLabStandIn) -> None:
    prepared = git(repo.remote, "rev-parse", "refs/heads/release-prepare/v8.1.0")
    assert git(repo.remote, "tag", "--list") == "v8.1.0"
    assert git(repo.remote, "rev-parse", "refs/heads/release/v8.1") == prepared
    assert git(repo.remote, "rev-parse", "v8.1.0^{commit}") == prepared
    assert git(repo.remote, "rev-list", "--count", "main..release-prepare/v8.1.0") == "1"
    assert releases(standin) == ["v8.1.0"]
    assert merge_requests(standin) == [("release/v8.1", "main", "opened")]


@pytest.mark.reliability("Faults")
@pytest.mark.parametrize("point", ["refs/heads/release-prepare/v8.1.0", "prepare-push",
                                   "refs/heads/release/v8.1", "refs/tags/v8.1.0",
                                   "finish-push"])
def test_killed_at_each_step_then_rerun(gitlab_repo: Repo, gitlab_standin: GitLabStandIn,
                                        point: str) -> None:
    """SIGKILL after any step of prepare or finish: the rerun ends in exactly one release."""
    repo = gitlab_repo
    finishing = point in ("refs/heads/release/v8.1", "refs/tags/v8.1.0", "finish-push")
    if finishing:
        assert relbot_process(repo, "--prepare").returncode == 0
        repo.git("checkout", "-q", "release-prepare/v8.1.0")
    hook = (kill_relbot_after_push(repo) if point.endswith("-push")
            else kill_relbot_when(repo, point))
    stage = "--finish" if finishing else "--prepare"
    killed = relbot_process(repo, stage)
    assert killed.returncode == -9, killed.stderr
    hook.unlink()
    rerun = relbot_process(repo, stage)
    assert rerun.returncode == 0, rerun.stderr
    if not finishing:
        assert git(repo.remote, "tag", "--list") == ""
        assert repo.git("for-each-ref", "--format=%(refname)", "refs/heads/release-prepare/"
                        ) == "refs/heads/release-prepare/v8.1.0"
        repo.git("checkout", "-q", "release-prepare/v8.1.0")
        assert relbot_process(repo, "--finish").returncode == 0
    assert_one_finished_release(repo, gitlab_standin)
    assert relbot_process(repo, "--finish").returncode == 0
    assert_one_finished_release(repo, gitlab_standin)


def test_finish_refuses_off_a_prepare_branch(repo: Repo) -> None:
    """--finish on main: one sentence naming the prepare branch format."""
    result = run(["cut", "--yes", "--finish"], repo.path)
    assert result.code == 1
    assert ("--finish runs on a prepare branch (release-prepare/vX.Y.Z), not on 'main'."
            in result.err)


def test_prepare_flag_needs_the_prepare_flow(tmp_path: Path) -> None:
    """--prepare on a component with the direct flow is a usage error."""
    repo = make_repo(tmp_path, yaook_like_files())
    add_fragments(repo, {"1.fix": "Fix.\n"})
    result = run(["cut", "--yes", "--prepare"], repo.path)
    assert result.code == 2 and "release_flow" in result.err
    assert not (repo.path / FRAGMENTS / "x").exists()


@pytest.mark.reliability("Faults")
@pytest.mark.parametrize("stage", ["--prepare", "--finish"])
def test_refused_push_then_rerun(repo: Repo, stage: str) -> None:
    """A remote that refuses the push of prepare or finish: nothing moved there; once it
    accepts, the rerun finishes with one prepare branch, one release branch, one tag."""
    if stage == "--finish":
        assert cut(repo, "--prepare")[0] == 0
        repo.git("checkout", "-q", "release-prepare/v8.1.0")
    hook = repo.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'frozen today' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = git(repo.remote, "for-each-ref", "--format=%(refname) %(objectname)")
    code, _, err = cut(repo, stage)
    assert code == 1 and "frozen today" in err
    assert git(repo.remote, "for-each-ref", "--format=%(refname) %(objectname)") == before
    hook.unlink()
    code, _, err = cut(repo, stage)
    assert code == 0, err
    if stage == "--prepare":
        repo.git("checkout", "-q", "release-prepare/v8.1.0")
        assert cut(repo, "--finish")[0] == 0
    prepared = git(repo.remote, "rev-parse", "refs/heads/release-prepare/v8.1.0")
    assert git(repo.remote, "rev-parse", "refs/heads/release/v8.1") == prepared
    assert git(repo.remote, "tag", "--list") == "v8.1.0"
    assert git(repo.remote, "rev-list", "--count", "main..release-prepare/v8.1.0") == "1"


def test_standin_merge_requests_api(gitlab_repo: Repo, gitlab_standin: GitLabStandIn) -> None:
    """POST /projects/:id/merge_requests creates, a second open MR for the same branches is
    409 (GitLab's "Another open merge request already exists"), GET filters by branches."""
    import gitlab

    client = gitlab.Gitlab(gitlab_standin.url, private_token=cast(gitlab_standin).release_token,
                           retry_transient_errors=False, timeout=2)
    project = client.projects.get(PROJECT)
    created = project.mergerequests.create({"source_branch": "a", "target_branch": "main",
                                            "title": "A", "labels": "Release"})
    assert created.iid >= 1 and created.labels == ["Release"]
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as refused:
        project.mergerequests.create({"source_branch": "a", "target_branch": "main",
                                      "title": "Again"})
    assert refused.value.response_code == 409
    project.mergerequests.create({"source_branch": "b", "target_branch": "main", "title": "B"})
    found = project.mergerequests.list(source_branch="a", target_branch="main",
                                       state="opened", get_all=True)
    assert [mr.title for mr in found] == ["A"]
    with pytest.raises(gitlab.exceptions.GitlabHttpError) as missing:
        client.http_post(f"/projects/{project.id}/merge_requests",
                         post_data={"source_branch": "c", "target_branch": "main"})
    assert missing.value.response_code == 400


def _released_then_fixed(repo: Repo) -> None:
    """v8.1.0 prepared, finished and merged back into main; a fix pending on main."""
    assert cut(repo, "--prepare")[0] == 0
    repo.git("checkout", "-q", "release-prepare/v8.1.0")
    assert cut(repo, "--finish")[0] == 0
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge release/v8.1", "origin/release/v8.1")
    repo.push()
    add_fragments(repo, {"103.fix": "Another fix.\n"})


def _push_from_another_clone(repo: Repo, tmp_path: Path, branch: str, text: str,
                             path: str = "late.txt") -> str:
    """A commit writing ``text`` to ``path``, pushed to ``branch`` from a second clone; its
    id."""
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", branch, str(repo.remote), str(other))
    (other / path).write_text(text)
    git(other, "add", path)
    git(other, "commit", "-q", "-m", "A late fix")
    git(other, "push", "-q", "origin", branch)
    return git(other, "rev-parse", "HEAD")


def test_finish_refuses_a_prepare_branch_behind_its_remote(repo: Repo, tmp_path: Path) -> None:
    """Someone pushed to the prepare branch after this clone checked it out: finish refuses
    before it merges or tags anything, and says to pull first."""
    assert cut(repo, "--prepare")[0] == 0
    repo.git("checkout", "-q", "release-prepare/v8.1.0")
    _push_from_another_clone(repo, tmp_path, "release-prepare/v8.1.0", "a late fix\n")
    code, _, err = cut(repo, "--finish")
    assert code == 1
    assert ("'release-prepare/v8.1.0' is behind origin/release-prepare/v8.1.0: someone pushed "
            "new commits; pull them first") in err
    assert git(repo.remote, "tag", "--list") == ""
    assert git(repo.remote, "branch", "--list", "release/*") == ""


def test_finish_merges_into_a_release_branch_that_moved_during_the_soak(
        repo: Repo, tmp_path: Path) -> None:
    """A patch release's release branch got a commit after its prepare (pushed from another
    clone, so this one lacks it): finish merges the prepared commit into that tip, tags the
    merge, and leaves the local release branch where the remote's is."""
    _released_then_fixed(repo)
    assert cut(repo, "--prepare")[0] == 0
    prepared = git(repo.remote, "rev-parse", "release-prepare/v8.1.1")
    assert git(repo.remote, "log", "-1", "--format=%s", f"{prepared}^") == (
        "Merge main into release-prepare/v8.1.1")

    late = _push_from_another_clone(repo, tmp_path, "release/v8.1",
                                    "a late fix on the release line\n")

    repo.git("checkout", "-q", "release-prepare/v8.1.1")
    code, _, err = cut(repo, "--finish")
    assert code == 0, err
    merged = git(repo.remote, "rev-parse", "refs/heads/release/v8.1")
    assert git(repo.remote, "rev-parse", f"{merged}^1", f"{merged}^2").split() == [
        late, prepared]
    assert git(repo.remote, "rev-parse", "v8.1.1^{commit}") == merged
    assert repo.git("rev-parse", "refs/heads/release/v8.1") == merged
    assert git(repo.remote, "show", f"{merged}:late.txt") == "a late fix on the release line"
    assert git(repo.remote, "show", f"{merged}:version") == "8.1.1"


@pytest.mark.parametrize("where", ["local", "remote"])
def test_prepare_refuses_a_prepare_branch_someone_else_made(repo: Repo, where: str) -> None:
    """A release-prepare branch that holds no release commit, in this clone or only on the
    remote, is never taken over: one sentence says to delete it or give --version."""
    if where == "local":
        repo.git("branch", "release-prepare/v8.1.0")
    else:
        repo.git("push", "-q", "origin", "HEAD:refs/heads/release-prepare/v8.1.0")
    code, _, err = cut(repo, "--prepare")
    assert code == 1
    assert ("branch release-prepare/v8.1.0 exists already but holds no release commit relbot "
            "can finish; delete it or give --version.") in err


def test_prepare_looks_at_the_remote_once(repo: Repo, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether the prepare branch is taken already is read from the plan's one ls-remote."""
    from tests.test_git_processes import git_logger

    env, log = git_logger(tmp_path / "log")
    monkeypatch.setenv("PATH", env["PATH"])
    result = run(["cut", "--prepare", "--dry-run", "--date", DATE], repo.path)
    assert result.code == 0, result.err
    assert result.out.startswith("prepared release v8.1.0 of k8s from release-prepare/v8.1.0")
    calls = log.read_text().splitlines()
    assert sum(call.startswith("ls-remote") for call in calls) == 1, calls


def test_finish_on_a_prepare_branch_without_a_prepared_release(repo: Repo) -> None:
    """A branch named like a prepare branch but made by hand holds nothing to finish: one
    sentence says so."""
    repo.git("checkout", "-q", "-b", "release-prepare/v9.9.9")
    repo.git("push", "-q", "origin", "release-prepare/v9.9.9")
    code, _, err = cut(repo, "--finish")
    assert code == 1
    assert ("'release-prepare/v9.9.9' holds no release commit of 'k8s' made by `relbot cut "
            "--prepare`; nothing to finish.") in err


def test_finish_resumes_a_finish_that_tagged_but_did_not_push(repo: Repo) -> None:
    """finish --no-push merges and tags locally; the next finish marks both done and only
    pushes, so the tag stays on the prepared commit."""
    assert cut(repo, "--prepare")[0] == 0
    prepared = git(repo.remote, "rev-parse", "release-prepare/v8.1.0")
    repo.git("checkout", "-q", "release-prepare/v8.1.0")
    assert cut(repo, "--finish", "--no-push")[0] == 0
    assert git(repo.remote, "tag", "--list") == ""
    plan = run(["cut", "--finish", "--dry-run", "--date", DATE], repo.path)
    assert plan.code == 0, plan.err
    marks = [line.split("]")[0].strip() for line in plan.out.splitlines()[1:4]]
    assert marks == ["1. [done", "2. [done", "3. [todo"], plan.out
    code, _, err = cut(repo, "--finish")
    assert code == 0, err
    assert git(repo.remote, "rev-parse", "v8.1.0^{commit}") == prepared
    assert git(repo.remote, "rev-parse", "refs/heads/release/v8.1") == prepared


def test_a_refused_prepare_push_does_not_claim_to_undo(repo: Repo) -> None:
    """A prepare makes its commit on the prepare branch, not on yours: when the remote
    refuses the push, the sentence says nothing was released, and claims no undo."""
    hook = repo.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'no prepare branches today' >&2\nexit 1\n")
    hook.chmod(0o755)
    code, _, err = cut(repo, "--prepare")
    assert code == 1
    assert ("the remote refused the push (refused by the remote: no prepare branches today); "
            "nothing was released; fix what the remote objects to") in err


def test_finish_looks_at_the_remote_once(repo: Repo, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the release branch stands on the remote is read from the plan's one ls-remote."""
    from tests.test_git_processes import git_logger

    assert cut(repo, "--prepare")[0] == 0
    repo.git("checkout", "-q", "release-prepare/v8.1.0")
    env, log = git_logger(tmp_path / "log")
    monkeypatch.setenv("PATH", env["PATH"])
    result = run(["cut", "--finish", "--dry-run", "--date", DATE], repo.path)
    assert result.code == 0, result.err
    calls = log.read_text().splitlines()
    assert sum(call.startswith("ls-remote") for call in calls) == 1, calls


def test_finish_releases_a_fix_made_on_the_prepare_branch_during_the_soak(repo: Repo) -> None:
    """A commit added on the prepare branch after the prepare is part of the release: the
    release branch and the tag are at it, not at the prepared commit."""
    assert cut(repo, "--prepare")[0] == 0
    repo.git("checkout", "-q", "release-prepare/v8.1.0")
    repo.write("soak.txt", "found during the soak\n")
    fix = repo.commit_all("A fix found during the soak")
    repo.git("push", "-q", "origin", "release-prepare/v8.1.0")
    code, _, err = cut(repo, "--finish")
    assert code == 0, err
    assert git(repo.remote, "rev-parse", "refs/heads/release/v8.1") == fix
    assert git(repo.remote, "rev-parse", "v8.1.0^{commit}") == fix


def test_finish_stops_at_a_merge_conflict_with_the_release_branch(repo: Repo,
                                                                  tmp_path: Path) -> None:
    """The release branch changed the version file during the soak: the merge conflicts,
    and finish says to merge by hand, then run it again; nothing is tagged."""
    _released_then_fixed(repo)
    assert cut(repo, "--prepare")[0] == 0
    _push_from_another_clone(repo, tmp_path, "release/v8.1", "8.1.9\n", path="version")
    repo.git("checkout", "-q", "release-prepare/v8.1.1")
    code, _, err = cut(repo, "--finish")
    assert code == 1
    assert ("Merge release-prepare/v8.1.1 into release/v8.1 has conflicts; merge by hand, "
            "push, and run relbot cut again.") in err
    assert git(repo.remote, "tag", "--list").split() == ["v8.1.0"]


def test_an_unpushed_patch_prepare_is_resumed(repo: Repo) -> None:
    """A patch release's prepare commit sits on a merge of main into the release branch:
    after --no-push, the next prepare takes that commit up (it starts from this HEAD) and
    pushes it, rather than refusing the prepare branch as someone else's."""
    _released_then_fixed(repo)
    assert cut(repo, "--prepare", "--no-push")[0] == 0
    prepared = repo.git("rev-parse", "refs/heads/release-prepare/v8.1.1")
    code, _, err = cut(repo, "--prepare")
    assert code == 0, err
    assert git(repo.remote, "rev-parse", "refs/heads/release-prepare/v8.1.1") == prepared
