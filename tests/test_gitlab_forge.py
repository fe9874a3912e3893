"""relbot's GitLab forge end to end: `relbot mr check` and `relbot cut` against the stand-in.

Every test runs the real CLI on a real git repository with ``forge = "gitlab"``
and talks over HTTP to the GitLab stand-in on 127.0.0.1, which records every
request and fails on command.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from relbot.comment import MARKER
from relbot.forge.gitlab import GitLabMergeRequests
from relbot.gitlab_standin import GitLabStandIn
from tests import mr_comment_example
from tests.gitlab_fixtures import (
    FRAGMENTS,
    CutRepo,
    MrRepo,
    cast,
    fragment,
    mr_repo,
    outside_code,
)


def test_first_run_creates_the_note_later_runs_edit_it(mr: MrRepo) -> None:
    """One POST creates relbot's thread (unresolved while failing); later runs edit that note
    in place, resolve it when the check passes, reopen it when it fails again."""
    failing = mr.check()
    assert failing.code == 1, failing.out + failing.err
    assert "comment: created note" in failing.err
    (thread,) = mr.relbot_threads()
    note = thread.notes[0]
    assert note.body.startswith(MARKER) and "problem(s) to fix" in note.body
    assert not thread.resolved
    assert mr.writes() == [("POST", "/discussions")]

    mr.standin.requests.clear()
    mr.commit(fragment())
    passing = mr.check()
    assert passing.code == 0, passing.out + passing.err
    assert f"comment: updated note {note.id} on !1." in passing.err
    (thread,) = mr.relbot_threads()
    assert thread.notes[0].id == note.id and thread.resolved
    assert "release notes and policies are in order" in thread.notes[0].body
    assert mr.writes() == [("PUT", f"/discussions/{thread.id}/notes/{note.id}"),
                           ("PUT", f"/discussions/{thread.id}")]

    mr.standin.requests.clear()
    again = mr.check()
    assert again.code == 0 and f"comment: unchanged note {note.id}" in again.err
    assert mr.writes() == []

    mr.commit({f"{FRAGMENTS}/7.feature.other": "Not this MR's number.\n"})
    reopened = mr.check()
    assert reopened.code == 1
    (thread,) = mr.relbot_threads()
    assert not thread.resolved and "`wrong-number`" in thread.notes[0].body
    assert len(mr.discussions()) == 1
    assert mr.standin.requests.count("POST") == 0


def test_a_human_note_with_the_marker_is_ignored(mr: MrRepo) -> None:
    """A person's note or thread that quotes the marker is neither edited nor resolved; relbot
    starts its own thread."""
    scenario = cast(mr.standin)
    pasted = f"{MARKER}\nI copied relbot's comment here"
    mr.standin.add_note(mr.mr, author=scenario.maintainer, body=pasted)
    mr.standin.add_discussion(mr.mr, author=scenario.contributor, body=pasted)
    mr.commit(fragment())
    result = mr.check()
    assert result.code == 0, result.out + result.err
    humans = [d for d in mr.discussions() if d.notes[0].author_id != scenario.bot.id]
    assert [(d.notes[0].body, d.resolved) for d in humans] == [(pasted, False)] * 2
    assert len(mr.relbot_threads()) == 1
    assert mr.writes() == [("POST", "/discussions"),
                           ("PUT", f"/discussions/{mr.relbot_threads()[0].id}")]


def test_relbots_note_on_the_last_page_is_found(mr: MrRepo) -> None:
    """Behind 150 notes and threads of people, relbot's thread on the last page is found and
    edited; no second thread is started."""
    scenario = cast(mr.standin)
    for number in range(150):
        if number % 3:
            mr.standin.add_note(mr.mr, author=scenario.maintainer, body=f"comment {number}")
        else:
            mr.standin.add_discussion(mr.mr, author=scenario.contributor,
                                      body=f"question {number}")
    old = mr.standin.add_discussion(mr.mr, author=scenario.bot, body=f"{MARKER}\nold verdict")
    mr.commit(fragment())
    result = mr.check()
    assert result.code == 0, result.out + result.err
    assert f"comment: updated note {old.id} on !1." in result.err
    (thread,) = mr.relbot_threads()
    assert thread.notes[0].id == old.id and thread.resolved
    assert len(mr.discussions()) == 151
    pages = mr.standin.requests.matching("GET", "/discussions$")
    assert [r.query.get("page", ["1"])[0] for r in pages] == ["1", "2"]
    assert mr.standin.requests.count("POST") == 0


@pytest.mark.reliability("Faults")
def test_502_after_commit_on_the_thread_leaves_one_note(mr: MrRepo) -> None:
    """GitLab creates the thread but answers 502: relbot looks it up instead of posting again."""
    mr.standin.faults.error_after_commit(502, method="POST", path="/discussions$")
    mr.commit(fragment())
    result = mr.check()
    assert result.code == 0, result.out + result.err
    (thread,) = mr.discussions()
    assert thread.resolved
    assert f"comment: created note {thread.notes[0].id} on !1." in result.err
    assert mr.standin.requests.count("POST", "/discussions$") == 1
    statuses = [(r.method, r.status) for r in mr.standin.requests.matching(path="/discussions")]
    assert statuses[:3] == [("GET", 200), ("POST", 502), ("GET", 200)]


@pytest.mark.reliability("Faults")
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_429_is_waited_out(mr: MrRepo, method: str) -> None:
    """A 429 with Retry-After: 1 on a read or on the create is waited out, and the thread is
    made once."""
    mr.standin.faults.rate_limit(retry_after=1, method=method, path="/discussions$")
    mr.commit(fragment())
    started = time.monotonic()
    result = mr.check()
    elapsed = time.monotonic() - started
    assert result.code == 0, result.out + result.err
    assert elapsed >= 1.0
    assert len(mr.discussions()) == 1
    statuses = [r.status for r in mr.standin.requests.matching(method, "/discussions$")]
    assert statuses[:2] == [429, 201 if method == "POST" else 200]


@pytest.mark.reliability("Faults")
@pytest.mark.parametrize(("with_fragment", "code"), [(True, 0), (False, 1)])
def test_a_hang_past_the_timeout_keeps_the_verdict(mr: MrRepo, with_fragment: bool,
                                                   code: int) -> None:
    """GitLab hanging past gitlab_timeout ends the comment within about the timeout with one
    clear line, and the exit code is still the check's own verdict."""
    mr.standin.faults.hang(10, path="/discussions", times=-1)
    if with_fragment:
        mr.commit(fragment())
    started = time.monotonic()
    result = mr.check()
    elapsed = time.monotonic() - started
    assert result.code == code, result.out + result.err
    assert elapsed < 5
    lines = [line for line in result.err.splitlines() if line.startswith("comment:")]
    assert lines == ["comment: not updated: GitLab did not answer within 2 s while searching "
                     "the notes of !1."]
    assert "Traceback" not in result.err
    assert mr.standin.requests.count("GET", "/discussions$") == 1  # not retried
    assert mr.discussions() == []


@pytest.mark.parametrize(("with_fragment", "code"), [(True, 0), (False, 1)])
def test_job_token_only_skips_the_comment(tmp_path: Path, gitlab_standin: GitLabStandIn,
                                          monkeypatch: pytest.MonkeyPatch, with_fragment: bool,
                                          code: int) -> None:
    """With only CI_JOB_TOKEN the check runs fully, says it skipped the comment, exits by its
    verdict, and sends GitLab no write."""
    job = mr_repo(tmp_path, gitlab_standin, monkeypatch, token=False)
    if with_fragment:
        job.commit(fragment())
    result = job.check()
    assert result.code == code, result.out + result.err
    assert "verdict:" in result.out and "fragment lint" in result.out
    assert ("comment: skipped: no access token in RELBOT_MR_TOKEN or RELBOT_GITLAB_TOKEN"
            in result.err)
    assert [r for r in gitlab_standin.requests.all() if r.method != "GET"] == []
    assert job.discussions() == []


@pytest.mark.reliability("Hostile fragments")
def test_fix_never_pushes_to_a_fork(tmp_path: Path, gitlab_standin: GitLabStandIn,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """--fix on a fork MR renames nothing and pushes nothing: the remote's refs stay as they
    were, and the report says why."""
    fork = mr_repo(tmp_path, gitlab_standin, monkeypatch, fork=True)
    fork.commit(fragment("x"))
    fork.repo.push(f"HEAD:refs/heads/{fork.mr.source_branch}")
    remote_before = fork.repo.refs(fork.repo.remote)
    head_before = fork.repo.git("rev-parse", "HEAD")
    result = fork.check("--fix")
    assert result.code == 1, result.out + result.err
    assert "--fix does not push to forks" in result.out
    assert "placeholder" in result.out
    assert fork.repo.refs(fork.repo.remote) == remote_before
    assert fork.repo.git("rev-parse", "HEAD") == head_before
    assert (fork.repo.path / FRAGMENTS / "x.feature.thing").exists()
    (thread,) = fork.discussions()  # the comment goes to the target project's MR !2
    assert "does not push to forks" in thread.notes[0].body


HOSTILE = ("Thanks @all! </details> <img src=x onerror=alert(1)>\n\n"
           "```\n</details>\n@all <script>alert(1)</script>\n```\n\n"
           "~~~\n[click](javascript:alert(1))\n")


@pytest.mark.reliability("Hostile fragments")
def test_a_malicious_fragment_renders_inert(mr: MrRepo) -> None:
    """@all, </details>, an <img onerror>, and closing fences in a real MR's fragment and file
    name are inert in the note GitLab stores."""
    mr.commit({f"{FRAGMENTS}/1.feature.thing": HOSTILE,
               f"{FRAGMENTS}/1.fix.@all<img src=x onerror=alert(1)>": "Fixed @all.\n"})
    result = mr.check()
    (thread,) = mr.relbot_threads()
    body = thread.notes[0].body
    assert "@all" in body and "onerror" in body  # shown, not dropped
    html = MarkdownIt("commonmark").enable("table").render(body)
    assert "<img" not in html and "<script" not in html
    assert 'href="javascript' not in html
    assert html.count("<details>") == html.count("</details>") == 1
    outside = outside_code(html)
    assert "@all" not in outside
    assert "<details>" in outside and "<table>" in outside  # relbot's own markup still works
    assert result.code == 0, result.out + result.err  # hostile, yet well-formed fragments


def test_the_comment_reads_well(mr: MrRepo) -> None:
    """Each fragment file is its own code span, and the notes preview starts with its first
    heading, not a blank line."""
    mr.commit({**fragment(), f"{FRAGMENTS}/1.fix.other": "A fixed thing.\n"})
    result = mr.check()
    assert result.code == 0, result.out + result.err
    body = mr.relbot_threads()[0].notes[0].body
    assert ("| fragment present | :white_check_mark: `docs/_releasenotes/1.feature.thing`, "
            "`docs/_releasenotes/1.fix.other` |") in body
    assert "```markdown\n### New Features\n" in body


def test_the_comment_example_in_docs_is_current() -> None:
    """docs/mr-comment-example.md holds what relbot posts today (regenerate it with
    `python -m tests.mr_comment_example`)."""
    assert mr_comment_example.main(["--check"]) == 0


# -- relbot cut ---------------------------------------------------------------------------


def test_cut_publishes_the_release(release_repo: CutRepo) -> None:
    """relbot cut pushes the tag and creates the GitLab Release with the Markdown notes."""
    result = release_repo.cut("--json")
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    assert data["steps_done"][-1] == "publish"
    assert data["release_url"].endswith("/yaook/k8s-releases/-/releases/v8.1.0")
    project = release_repo.standin.state.project(release_repo.project_path)
    release = release_repo.standin.find_release(project, "v8.1.0")
    assert release is not None and "A new thing." in release.description
    assert release_repo.releases() == ["v8.1.0"]


@pytest.mark.reliability("Faults")
def test_502_after_commit_on_the_release_leaves_one(release_repo: CutRepo) -> None:
    """GitLab creates the release but answers 502: relbot finds it instead of creating twice."""
    release_repo.standin.faults.error_after_commit(502, method="POST", path="/releases$")
    result = release_repo.cut()
    assert result.code == 0, result.out + result.err
    assert release_repo.releases() == ["v8.1.0"]
    assert release_repo.standin.requests.count("POST", "/releases$") == 1


@pytest.mark.reliability("Faults")
@pytest.mark.parametrize("failure", ["500", "hang"])
def test_a_rerun_after_a_failed_publish_finishes(release_repo: CutRepo, failure: str) -> None:
    """When publishing fails (500s, or a hang past the 1 s timeout) the cut exits 1 in about the
    timeout with one line, and a rerun creates the release without a second commit or tag."""
    if failure == "500":
        release_repo.standin.faults.error(500, method="POST", path="/releases$", times=-1)
    else:
        release_repo.standin.faults.hang(10, method="POST", path="/releases$", times=-1)
    started = time.monotonic()
    failed = release_repo.cut()
    elapsed = time.monotonic() - started
    assert failed.code == 1, failed.out + failed.err
    assert elapsed < 5
    expected = ("relbot: GitLab answered 500 while creating release v8.1.0: 500 Internal "
                "Server Error." if failure == "500" else
                "relbot: GitLab did not answer within 2 s while creating release v8.1.0.")
    assert failed.err.strip().splitlines()[-1] == expected
    assert release_repo.releases() == []
    calls = [(r.method, r.status) for r in release_repo.standin.requests.matching(
        path="/releases")]
    if failure == "500":  # never posted twice without looking first
        assert calls == [("GET", 404)] + [("POST", 500), ("GET", 404)] * 3
    else:  # a timeout is not waited for again: one look-up, then the verdict
        assert calls == [("GET", 404), ("POST", None), ("GET", 404)]
    pushed = release_repo.history()
    assert "v8.1.0" in pushed[1] and "refs/tags/v8.1.0" in pushed[2]

    release_repo.standin.faults.clear()
    release_repo.standin.requests.clear()
    rerun = release_repo.cut()
    assert rerun.code == 0, rerun.out + rerun.err
    assert "done: forge release with the notes as Markdown" in rerun.out
    assert "release commit" not in rerun.out and "annotated tag" not in rerun.out
    assert release_repo.releases() == ["v8.1.0"]
    assert release_repo.history() == pushed
    assert release_repo.standin.requests.count("POST", "/releases$") == 1


@pytest.mark.reliability("Faults")
def test_429_on_the_release_is_waited_out(release_repo: CutRepo) -> None:
    """A 429 with Retry-After: 1 on release creation is waited out; one release is made."""
    release_repo.standin.faults.rate_limit(retry_after=1, method="POST", path="/releases$")
    started = time.monotonic()
    result = release_repo.cut()
    assert result.code == 0, result.out + result.err
    assert time.monotonic() - started >= 1.0
    assert release_repo.releases() == ["v8.1.0"]
    statuses = [r.status for r in release_repo.standin.requests.matching("POST", "/releases$")]
    assert statuses == [429, 201]


# -- secrets ------------------------------------------------------------------------------

WRONG_TOKEN = "glpat-wrong-but-secret-1234"  # a fake token to look for


def _assert_no_secret(secrets: list[str], *texts: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text


Injection = Callable[[GitLabStandIn], object]
INJECTIONS: dict[str, Injection] = {
    "500": lambda s: s.faults.error(500, times=-1),
    "timeout": lambda s: s.faults.hang(10, times=-1),
    "502-after-commit": lambda s: s.faults.error_after_commit(502, method="POST", times=-1),
    "wrong-token": lambda s: None,
}


@pytest.mark.reliability("Secrets")
@pytest.mark.parametrize("failure", sorted(INJECTIONS))
def test_mr_check_never_shows_the_token(tmp_path: Path, gitlab_standin: GitLabStandIn,
                                        monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture, failure: str) -> None:
    """With GitLab failing and --debug, neither output, logs nor the stored note hold a token."""
    caplog.set_level(logging.DEBUG)
    scenario = cast(gitlab_standin)
    checked = mr_repo(tmp_path, gitlab_standin, monkeypatch)
    if failure == "wrong-token":
        monkeypatch.setenv("RELBOT_MR_TOKEN", WRONG_TOKEN)
    INJECTIONS[failure](gitlab_standin)
    checked.commit(fragment())
    result = checked.check("--debug", "--junit", str(tmp_path / "junit.xml"))
    assert result.code == 0, result.out + result.err
    assert "comment:" in result.err
    notes = [n.body for d in checked.discussions() for n in d.notes]
    junit = (tmp_path / "junit.xml").read_text("utf-8")
    _assert_no_secret([scenario.bot_token, scenario.job_token, WRONG_TOKEN],
                      result.out, result.err, caplog.text, junit, *notes)
    assert f"127.0.0.1:{gitlab_standin.port}" in caplog.text  # the HTTP client's log is here
    if failure == "wrong-token":
        assert "GitLab refused the token" in result.err


@pytest.mark.reliability("Secrets")
@pytest.mark.parametrize("failure", sorted(INJECTIONS))
def test_cut_never_shows_the_token(release_repo: CutRepo, caplog: pytest.LogCaptureFixture,
                                   monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    """A cut whose publishing fails (and its rerun) with --debug and --json shows no token in
    output, logs, JSON or the release."""
    caplog.set_level(logging.DEBUG)
    scenario = cast(release_repo.standin)
    if failure == "wrong-token":
        monkeypatch.setenv("RELBOT_RELEASE_TOKEN", WRONG_TOKEN)
    INJECTIONS[failure](release_repo.standin)
    failed = release_repo.cut("--debug", "--json")
    secrets = [scenario.bot_token, scenario.release_token, WRONG_TOKEN]
    _assert_no_secret(secrets, failed.out, failed.err, caplog.text)
    assert f"127.0.0.1:{release_repo.standin.port}" in caplog.text  # HTTP client's log
    if failure != "502-after-commit":
        assert failed.code == 1, failed.out + failed.err
        assert "Traceback" in failed.err  # --debug shows it, masked
    monkeypatch.setenv("RELBOT_RELEASE_TOKEN", scenario.release_token)
    release_repo.standin.faults.clear()
    rerun = release_repo.cut("--debug", "--json")
    assert rerun.code == 0, rerun.out + rerun.err
    project = release_repo.standin.state.project(release_repo.project_path)
    release = release_repo.standin.find_release(project, "v8.1.0")
    assert release is not None
    _assert_no_secret(secrets, rerun.out, rerun.err, caplog.text, release.description,
                      json.dumps(json.loads(rerun.out)))


@pytest.mark.reliability("Secrets")
def test_a_debug_traceback_is_masked(mr: MrRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error whose text quotes the token shows it masked, in --debug's traceback
    as in the one-line message."""
    token = cast(mr.standin).bot_token

    def leaky(self: GitLabMergeRequests) -> int | None:
        raise RuntimeError(f"a library error quoting PRIVATE-TOKEN: {token}")

    monkeypatch.setattr(GitLabMergeRequests, "bot_user_id", leaky)
    result = mr.check("--debug")
    assert result.code == 3, result.out + result.err  # a bug: README's exit-code table
    assert "Traceback" in result.err and "RuntimeError" in result.err
    assert token not in result.err
    assert "PRIVATE-TOKEN: *****" in result.err


def test_without_an_access_token_the_check_imports_no_http_client(
        tmp_path: Path, gitlab_standin: GitLabStandIn,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork's pipeline (only CI_JOB_TOKEN) skips the comment before any request: neither
    python-gitlab nor requests is imported for it, and --no-comment imports neither."""
    import subprocess
    import sys

    job = mr_repo(tmp_path, gitlab_standin, monkeypatch, token=False)
    job.commit(fragment())
    code = ("import sys\nfrom relbot.cli import main\nsys.argv = ['relbot', 'mr', 'check', "
            "*sys.argv[1:]]\ntry:\n    main()\nexcept SystemExit as exc:\n"
            "    print('EXIT', exc.code, file=sys.stderr)\n"
            "print('LOADED', sorted(m for m in ('gitlab', 'requests', 'urllib3', 'git')"
            " if m in sys.modules), file=sys.stderr)\n")
    said = {}
    for args in ([], ["--no-comment"]):
        done = subprocess.run([sys.executable, "-c", code, *args], cwd=job.repo.path,
                              capture_output=True, text=True, check=False)
        assert "EXIT 0" in done.stderr, done.stdout + done.stderr
        assert "LOADED []" in done.stderr, done.stderr
        said[bool(args)] = done.stderr
    assert "comment: skipped: no access token in RELBOT_MR_TOKEN" in said[False]
    assert "comment: not posted (--no-comment)." in said[True]
    assert gitlab_standin.requests.all() == []
