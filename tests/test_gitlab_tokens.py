"""Two tokens, resolved in one place (relbot/forge/credentials.py), as GitLab's roles need.

An MR token with role Reporter cannot resolve a thread; a Developer's can; a
replaced token's thread is taken over; a missing token is explained; the
release token is checked before anything is pushed; over-long texts are cut.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from relbot.comment import MARKER
from relbot.errors import ConfigError, ForgeError
from relbot.forge import ForgeForbidden, NoForge, upsert_comment
from relbot.forge.credentials import (
    Token,
    candidates,
    git_auth_env,
    missing_token_reason,
    resolve_token,
)
from relbot.forge.gitlab import (
    TEXT_LIMIT,
    Connection,
    GitLabMergeRequests,
    GitLabReleases,
    is_project_bot,
)
from relbot.gitlab_standin import GitLabStandIn
from relbot.gitlab_standin.permissions import DEVELOPER, REPORTER
from tests.gitlab_fixtures import CutRepo, MrRepo, cast, fragment, relbot_toml

# -- credentials ---------------------------------------------------------------------------


def test_the_purpose_variable_comes_first_the_legacy_one_last() -> None:
    """RELBOT_MR_TOKEN / RELBOT_RELEASE_TOKEN, then RELBOT_GITLAB_TOKEN; a configured
    variable before both."""
    env = {"RELBOT_GITLAB_TOKEN": "glpat-legacy-0001", "RELBOT_MR_TOKEN": "glpat-mr-00001"}
    mr_token = resolve_token(env, "mr")
    release_token = resolve_token(env, "release")
    assert mr_token is not None and mr_token.value == "glpat-mr-00001"
    assert mr_token.variable == "RELBOT_MR_TOKEN"
    assert release_token is not None and release_token.variable == "RELBOT_GITLAB_TOKEN"
    assert candidates("mr", "BOT") == ("BOT", "RELBOT_MR_TOKEN", "RELBOT_GITLAB_TOKEN")
    assert candidates("release", "RELBOT_GITLAB_TOKEN") == ("RELBOT_RELEASE_TOKEN",
                                                            "RELBOT_GITLAB_TOKEN")
    assert resolve_token({}, "mr") is None


@pytest.mark.reliability("Secrets")
def test_a_token_with_a_trailing_newline_is_stripped_and_hidden() -> None:
    """A pasted newline is stripped (11.7); the repr never shows the value."""
    token = resolve_token({"RELBOT_RELEASE_TOKEN": "  glpat-secret-value-42\n"}, "release")
    assert token is not None and token.value == "glpat-secret-value-42"
    assert "glpat-secret-value-42" not in repr(token) and "glpat" not in str(token)
    assert "RELBOT_RELEASE_TOKEN" in repr(token)


@pytest.mark.reliability("Secrets")
def test_a_token_with_whitespace_inside_is_refused_without_showing_it() -> None:
    """Two tokens pasted into one variable: one sentence, the value nowhere in it."""
    with pytest.raises(ConfigError) as refused:
        resolve_token({"RELBOT_MR_TOKEN": "glpat-one-1234\nglpat-two-5678"}, "mr")
    assert "RELBOT_MR_TOKEN" in str(refused.value)
    assert "glpat" not in str(refused.value)


def test_an_unexpanded_variable_reference_is_no_token() -> None:
    """A job variable naming an unset variable keeps ``$NAME``: that is no token."""
    assert resolve_token({"RELBOT_MR_TOKEN": "$RELBOT_MR_TOKEN"}, "mr") is None
    assert resolve_token({"RELBOT_MR_TOKEN": "${BOT}", "RELBOT_GITLAB_TOKEN": "glpat-x-12345"},
                         "mr") == Token("glpat-x-12345", "RELBOT_GITLAB_TOKEN", "mr")


@pytest.mark.reliability("Secrets")
def test_git_sees_the_token_only_as_a_header_from_the_environment(tmp_path: Path) -> None:
    """git_auth_env sets http.extraHeader through GIT_CONFIG_*: no URL, argument or file."""
    token = Token("glpat-push-secret", "RELBOT_RELEASE_TOKEN", "release")
    env = git_auth_env(token)
    assert all("glpat-push-secret" not in value for value in env.values())  # base64 only
    seen = subprocess.run(["git", "config", "--get", "http.extraHeader"], cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
                          capture_output=True, text=True, check=True).stdout
    assert seen.startswith("Authorization: Basic ")
    import base64

    assert base64.b64decode(seen.split()[-1]).decode() == "oauth2:glpat-push-secret"
    assert not list(tmp_path.iterdir())  # nothing was written
    assert git_auth_env(None) == {}


@pytest.mark.parametrize(("env", "expected"), [
    ({"CI": "true", "GITLAB_CI": "true", "CI_MERGE_REQUEST_PROJECT_ID": "1",
      "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "2"}, "fork's merge-request pipeline"),
    ({"CI": "true", "GITLAB_CI": "true", "CI_MERGE_REQUEST_PROJECT_ID": "1",
      "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "1", "CI_COMMIT_REF_PROTECTED": "false",
      "CI_COMMIT_REF_NAME": "feature"},
     "branch feature is not protected, so a protected RELBOT_MR_TOKEN is not passed"),
    ({"CI": "true", "GITLAB_CI": "true", "CI_COMMIT_REF_PROTECTED": "true"},
     "set RELBOT_MR_TOKEN to a project access token (role Developer, scope api)"),
    ({}, "set RELBOT_MR_TOKEN to a project access token"),
])
def test_a_missing_mr_token_names_the_variable_and_the_likely_reason(
        env: dict[str, str], expected: str) -> None:
    """Fork, protected variable on an unprotected branch, or simply unset: each is told."""
    reason = missing_token_reason(env, "mr")
    assert reason.startswith("no access token in RELBOT_MR_TOKEN or RELBOT_GITLAB_TOKEN")
    assert expected in reason


def test_a_missing_release_token_on_an_unprotected_branch() -> None:
    """The release token is protected: an unprotected branch's pipeline never has it."""
    reason = missing_token_reason({"GITLAB_CI": "true", "CI_COMMIT_REF_PROTECTED": "false",
                                   "CI_COMMIT_REF_NAME": "topic"}, "release")
    assert "branch topic is not protected, and the protected RELBOT_RELEASE_TOKEN" in reason


def test_fork_mr_check_says_why_there_is_no_comment(tmp_path: Path,
                                                    gitlab_standin: GitLabStandIn,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork's pipeline: the check runs, the comment line names the fork as the reason."""
    from tests.gitlab_fixtures import mr_repo

    fork = mr_repo(tmp_path, gitlab_standin, monkeypatch, fork=True, token=False)
    fork.commit(fragment(2))
    result = fork.check()
    assert result.code == 0, result.out + result.err
    assert ("comment: skipped: no access token in RELBOT_MR_TOKEN or RELBOT_GITLAB_TOKEN: "
            "this is a fork's merge-request pipeline") in result.err


# -- roles -----------------------------------------------------------------------------------


def reporter_token(standin: GitLabStandIn) -> str:
    """A project access token of yaook/k8s with role Reporter."""
    bot = standin.add_user(f"project_{cast(standin).project.id}_bot_reporter", bot=True)
    standin.add_member(cast(standin).project, bot, REPORTER)
    return standin.add_token(bot, kind="project")


def test_a_reporter_token_keeps_the_verdict_and_says_developer_is_needed(
        mr: MrRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Role Reporter: the thread is made while failing; once the MR passes, resolving is
    refused and one sentence says the role it needs; the verdict stays the check's."""
    monkeypatch.setenv("RELBOT_MR_TOKEN", reporter_token(mr.standin))
    failing = mr.check()
    assert failing.code == 1
    assert "comment: created note" in failing.err
    mr.commit(fragment())
    passing = mr.check()
    assert passing.code == 0, passing.out + passing.err
    assert passing.err.strip().splitlines()[-1] == (
        "comment: not updated: GitLab refused resolving the thread on !1 (403): the token in "
        "RELBOT_MR_TOKEN lacks the role this needs, Developer or higher.")
    (thread,) = mr.discussions()
    assert not thread.resolved and "in order" in thread.notes[0].body


def test_a_developer_token_keeps_one_thread_across_runs_and_a_rotation(
        mr: MrRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs and a new project access token (a new bot user): the old token's thread is
    resolved and left, the new bot's one thread is resolved when the MR passes and reopened
    when it fails."""
    first = mr.check()
    assert first.code == 1
    (old,) = mr.discussions()
    assert not old.resolved
    rotated = mr.standin.add_user(f"project_{cast(mr.standin).project.id}_bot_4f2a9c",
                                  name="relbot", bot=True)
    mr.standin.add_member(cast(mr.standin).project, rotated, DEVELOPER)
    monkeypatch.setenv("RELBOT_MR_TOKEN", mr.standin.add_token(rotated, kind="project"))
    again = mr.check()
    assert again.code == 1
    threads = mr.discussions()
    assert len(threads) == 2
    assert threads[0].id == old.id and threads[0].resolved  # taken over: closed
    assert threads[1].notes[0].author_id == rotated.id and not threads[1].resolved
    mr.commit(fragment())
    passing = mr.check()
    assert passing.code == 0
    assert f"comment: updated note {threads[1].notes[0].id}" in passing.err
    threads = mr.discussions()
    assert len(threads) == 2 and all(t.resolved for t in threads)
    mr.commit({"docs/_releasenotes/7.feature.other": "Not this MR's number.\n"})
    reopened = mr.check()
    assert reopened.code == 1
    assert [t.resolved for t in mr.discussions()] == [True, False]


def test_only_bots_of_this_project_are_taken_over() -> None:
    """project_<id>_bot_<random> of this project; not another project's bot, not a person."""
    assert is_project_bot({"username": "project_7_bot_a1b2c3"}, 7)
    assert is_project_bot({"username": "project_7_bot2"}, 7)
    assert not is_project_bot({"username": "project_8_bot_a1b2c3"}, 7)
    assert not is_project_bot({"username": "project_7_botanist"}, 7)
    assert not is_project_bot({"username": "maria"}, 7)


def test_a_persons_thread_with_the_marker_is_never_taken_over(mr: MrRepo) -> None:
    """Only bot users of the project count: a pasted marker by a person stays theirs."""
    scenario = cast(mr.standin)
    mr.standin.add_discussion(mr.mr, author=scenario.maintainer, body=f"{MARKER}\nquoted")
    mr.commit(fragment())
    assert mr.check().code == 0
    human, bot = mr.discussions()
    assert not human.resolved and human.notes[0].body.endswith("quoted")
    assert bot.notes[0].author_id == scenario.bot.id


# -- the release token, before anything is pushed --------------------------------------------


def mr_token(value: str) -> Token:
    return Token(value, "RELBOT_MR_TOKEN", "mr")


def releases(standin: GitLabStandIn, token: str | None, timeout: float = 2.0,
             ) -> GitLabReleases:
    value = Token(token, "RELBOT_RELEASE_TOKEN", "release") if token else None
    return GitLabReleases(Connection(standin.url, value, None, timeout), "yaook/k8s")


def test_verify_release_access(gitlab_standin: GitLabStandIn) -> None:
    """One GET: a wrong token and a Reporter's are refused with a sentence; the
    Maintainer's passes; NoForge has nothing to check."""
    scenario = cast(gitlab_standin)
    releases(gitlab_standin, scenario.release_token).verify_release_access()
    assert gitlab_standin.requests.count() == 1
    with pytest.raises(ForgeError, match=r"GitLab refused the token in RELBOT_RELEASE_TOKEN "
                                         r"while checking the release token .*\(401\)"):
        releases(gitlab_standin, "glpat-expired-0000").verify_release_access()
    with pytest.raises(ForgeForbidden, match="has too low a role in yaook/k8s to release"):
        releases(gitlab_standin, reporter_token(gitlab_standin)).verify_release_access()
    NoForge().verify_release_access()


# -- GitLab's text limits -------------------------------------------------------------------


def test_an_over_long_comment_is_shortened_with_a_link(gitlab_standin: GitLabStandIn) -> None:
    """A body past 1,000,000 characters is cut, keeps the marker and a closed code block,
    and links the job log."""
    scenario = cast(gitlab_standin)
    # CI_JOB_URL, as relbot.mr_command hands it down from the CiEnv
    forge = GitLabMergeRequests(Connection(gitlab_standin.url, mr_token(scenario.bot_token),
                                           None, 30.0), "yaook/k8s",
                                job_url="https://gitlab.example/yaook/k8s/-/jobs/7")
    body = f"{MARKER}\n```\n" + "line of output\n" * 80_000
    outcome = upsert_comment(forge, 1, body, marker=MARKER, ok=False)
    assert outcome is not None
    (thread,) = gitlab_standin.discussions(scenario.mr)
    stored = thread.notes[0].body
    assert len(body) > TEXT_LIMIT >= len(stored)
    assert stored.startswith(MARKER) and stored.count("```") % 2 == 0
    assert stored.endswith("the full text is at https://gitlab.example/yaook/k8s/-/jobs/7")


def test_over_long_release_notes_are_shortened_with_a_link(gitlab_standin: GitLabStandIn,
                                                           ) -> None:
    """A release description past the limit links the tag, whose message holds the notes."""
    # a megabyte each way: a generous deadline, so that a busy machine cannot fail it
    forge = releases(gitlab_standin, cast(gitlab_standin).release_token, timeout=30)
    gitlab_standin.add_tag(cast(gitlab_standin).project, "v1.0.0", "a" * 40, message="v1")
    release = forge.ensure_release("v1.0.0", "v1.0.0", "- an entry\n" * 100_000)
    assert len(release.description) <= TEXT_LIMIT
    assert release.description.endswith(f"{gitlab_standin.url}/yaook/k8s/-/tags/v1.0.0")


def test_a_quick_action_answer_is_one_sentence(gitlab_standin: GitLabStandIn) -> None:
    """GitLab's 202 for a body of quick actions holds no note: relbot says so, in one
    sentence, and does not post again."""
    forge = GitLabMergeRequests(
        Connection(gitlab_standin.url, mr_token(cast(gitlab_standin).bot_token), None, 2.0),
        "yaook/k8s")
    with pytest.raises(ForgeError, match=r"^GitLab sent an answer relbot could not read while "
                                         r"commenting on !1\.$"):
        forge.create_note(1, "/close", marker=MARKER, author_id=cast(gitlab_standin).bot.id)
    assert gitlab_standin.requests.count("POST") == 1


# -- relbot's own catalog release ---------------------------------------------------------


def test_forge_release_false_makes_no_gitlab_release(release_repo: CutRepo) -> None:
    """A component with forge_release = false is tagged and pushed; its GitLab Release is
    left to the tag pipeline's release: job (no call to the Releases API)."""
    config = release_repo.repo.path / "relbot.toml"
    text = config.read_text()
    assert 'name = "k8s"' in text
    config.write_text(text.replace('name = "k8s"', 'name = "k8s"\nforge_release = false', 1))
    release_repo.repo.commit_all("Leave the release to the tag pipeline")
    release_repo.repo.push("HEAD")
    result = release_repo.cut()
    assert result.code == 0, result.out + result.err
    assert "refs/tags/v8.1.0" in release_repo.history()[2]
    assert release_repo.releases() == []
    assert release_repo.standin.requests.count(path="/releases") == 0


def test_relbot_toml_helper_is_gitlab() -> None:
    """(guard) the fixture's configuration talks to GitLab, so the test above means it."""
    assert 'forge = "gitlab"' in relbot_toml()


def test_cut_on_an_unprotected_branch_says_the_release_token_is_protected(
        release_repo: CutRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """In CI without the release token, on a branch that is not protected: one sentence
    naming the variable and why it is absent, and nothing is committed or pushed."""
    before = release_repo.history()
    monkeypatch.delenv("RELBOT_RELEASE_TOKEN")
    for key, value in {"GITLAB_CI": "true", "CI": "true", "CI_COMMIT_REF_NAME": "main",
                       "CI_SERVER_URL": release_repo.standin.url,
                       "CI_COMMIT_REF_PROTECTED": "false"}.items():
        monkeypatch.setenv(key, value)
    result = release_repo.cut()
    assert result.code == 2, result.out + result.err
    assert result.err.strip() == (
        "relbot: forge = \"gitlab\" cannot publish the release: no access token in "
        "RELBOT_RELEASE_TOKEN or RELBOT_GITLAB_TOKEN: branch main is not protected, and the "
        "protected RELBOT_RELEASE_TOKEN is only passed to pipelines of protected branches; "
        "or use --no-push to stop after the tag.")
    assert release_repo.history() == before


def test_a_release_of_a_protected_tag_with_a_developer_token(
        gitlab_standin: GitLabStandIn) -> None:
    """403 on a protected tag's release: the sentence names the role GitLab asks for."""
    scenario = cast(gitlab_standin)
    gitlab_standin.protect_tags(scenario.project, "v*")
    gitlab_standin.add_tag(scenario.project, "v1.0.0", "a" * 40, message="v1.0.0")
    developer = gitlab_standin.add_user("project_1_bot_dev", bot=True)
    gitlab_standin.add_member(scenario.project, developer, DEVELOPER)
    forge = releases(gitlab_standin, gitlab_standin.add_token(developer, kind="project"))
    with pytest.raises(ForgeForbidden) as refused:
        forge.ensure_release("v1.0.0", "v1.0.0", "notes")
    assert str(refused.value) == (
        "GitLab refused creating release v1.0.0 (403): the token in RELBOT_RELEASE_TOKEN lacks "
        "the role this needs, Developer (Maintainer where the tag is protected) or higher.")
