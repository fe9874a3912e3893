"""The GitLab stand-in, driven by python-gitlab the way relbot drives GitLab."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gitlab
import pytest
import requests
from gitlab.v4.objects import Project as GlProject
from gitlab.v4.objects import ProjectMergeRequest

from relbot.gitlab_standin import (
    GitLabStandIn,
    MergeRequest,
    Scenario,
    documented_example,
    documented_source,
)
from relbot.gitlab_standin.documented import EXAMPLES
from relbot.gitlab_standin.permissions import DEVELOPER
from tests.conftest import git, make_repo

PROJECT = Path(__file__).resolve().parent.parent


def cast(standin: GitLabStandIn) -> Scenario:
    """The seeded scenario of ``standin``."""
    assert standin.scenario is not None
    return standin.scenario


def client(standin: GitLabStandIn, token: str | None = None, *, kind: str = "private",
           **options: Any) -> gitlab.Gitlab:
    """python-gitlab on the stand-in with ``token`` (the bot's by default)."""
    value = token if token is not None else cast(standin).bot_token
    options.setdefault("timeout", 2.0)
    if kind == "job":
        return gitlab.Gitlab(standin.url, job_token=value, **options)
    if kind == "oauth":
        return gitlab.Gitlab(standin.url, oauth_token=value, **options)
    return gitlab.Gitlab(standin.url, private_token=value, **options)


def project(gl: gitlab.Gitlab, path: str = "yaook/k8s") -> GlProject:
    """The project without a request (as relbot gets it from CI variables)."""
    return gl.projects.get(path, lazy=True)


def merge_request(gl: gitlab.Gitlab, iid: int = 1) -> ProjectMergeRequest:
    """``yaook/k8s!iid``."""
    return project(gl).mergerequests.get(iid)


def add_notes(standin: GitLabStandIn, mr: MergeRequest, count: int) -> None:
    """``count`` notes by maria on ``mr``."""
    for number in range(count):
        standin.add_note(mr, author=cast(standin).maintainer, body=f"note {number}")


# -- authentication -------------------------------------------------------------------------


def test_auth_returns_the_bot_user(gitlab_standin: GitLabStandIn,
                                   gitlab_client: gitlab.Gitlab) -> None:
    """gl.auth() reads GET /user and gl.user.id is the bot user's id."""
    gitlab_client.auth()
    assert gitlab_client.user is not None
    assert gitlab_client.user.id == cast(gitlab_standin).bot.id
    assert gitlab_client.user.username == "project_1_bot_relbot"
    assert [(r.method, r.path, r.status) for r in gitlab_standin.requests.all()] == [
        ("GET", "/api/v4/user", 200)]


def test_bearer_token_authenticates_like_private_token(gitlab_standin: GitLabStandIn) -> None:
    """An ``Authorization: Bearer`` token is accepted as GitLab accepts it."""
    gl = client(gitlab_standin, kind="oauth")
    gl.auth()
    assert gl.user is not None and gl.user.id == cast(gitlab_standin).bot.id
    assert gitlab_standin.requests.all()[-1].headers["Authorization"] == "[REDACTED]"


def test_wrong_token_is_401(gitlab_standin: GitLabStandIn) -> None:
    """An unknown token gets 401 {"message":"401 Unauthorized"}, which python-gitlab raises as
    GitlabAuthenticationError."""
    with pytest.raises(gitlab.GitlabAuthenticationError) as info:
        client(gitlab_standin, "glpat-wrong").auth()
    assert info.value.response_code == 401
    assert info.value.error_message == "401 Unauthorized"
    with pytest.raises(gitlab.GitlabAuthenticationError):
        merge_request(client(gitlab_standin, "glpat-wrong"))
    assert all(r.user is None and r.status == 401 for r in gitlab_standin.requests.all())


def test_job_token_sent_as_private_token_is_401(gitlab_standin: GitLabStandIn) -> None:
    """A job token only authenticates in the JOB-TOKEN header."""
    with pytest.raises(gitlab.GitlabAuthenticationError):
        merge_request(client(gitlab_standin, cast(gitlab_standin).job_token))


def test_anonymous_reads_public_project_only(gitlab_standin: GitLabStandIn) -> None:
    """Without a token a public project's MR is readable; a private one is 404; /user is 401."""
    secret = gitlab_standin.add_project("yaook/secret")
    gitlab_standin.add_merge_request(secret, author=cast(gitlab_standin).maintainer)
    anonymous = gitlab.Gitlab(gitlab_standin.url, timeout=2.0)
    assert merge_request(anonymous).iid == 1
    with pytest.raises(gitlab.GitlabGetError) as info:
        project(anonymous, "yaook/secret").mergerequests.get(1)
    assert info.value.response_code == 404
    assert info.value.error_message == "404 Project Not Found"
    with pytest.raises(gitlab.GitlabAuthenticationError):
        anonymous.auth()
    with pytest.raises(gitlab.GitlabAuthenticationError):
        merge_request(anonymous).notes.create({"body": "hi"})


def test_job_token_reads_but_may_not_write_notes(gitlab_standin: GitLabStandIn) -> None:
    """A CI job token reads the MR and its notes (on the job token's allowlist); posting a
    note or creating a tag is off the list, so GitLab takes no job token there: 401."""
    scenario = cast(gitlab_standin)
    add_notes(gitlab_standin, scenario.mr, 2)
    gl = client(gitlab_standin, scenario.job_token, kind="job")
    mr = merge_request(gl)
    assert len(mr.notes.list(get_all=True)) == 2
    with pytest.raises(gitlab.GitlabAuthenticationError) as info:
        mr.notes.create({"body": "from a job"})
    assert info.value.response_code == 401
    assert len(gitlab_standin.notes(scenario.mr)) == 2
    with pytest.raises(gitlab.GitlabAuthenticationError) as tag:
        project(gl).tags.create({"tag_name": "v9.9.9", "ref": "a" * 40})
    assert tag.value.response_code == 401
    assert gitlab_standin.requests.matching("POST")[0].token_kind == "job"


def test_job_token_releases_follow_the_documentation(gitlab_standin: GitLabStandIn) -> None:
    """GitLab lets a job token use the Releases API; job_token_writes=frozenset() refuses it."""
    scenario = cast(gitlab_standin)
    gl = client(gitlab_standin, scenario.job_token, kind="job")
    release = project(gl).releases.create({"tag_name": "v1.0.0", "ref": "a" * 40})
    assert release.author["username"] == "maria"
    with GitLabStandIn(job_token_writes=frozenset()) as strict:
        strict_cast = strict.seed_scenario()
        strict_gl = client(strict, strict_cast.job_token, kind="job")
        with pytest.raises(gitlab.GitlabAuthenticationError) as info:
            project(strict_gl).releases.create({"tag_name": "v1.0.0", "ref": "a" * 40})
        assert info.value.response_code == 401
        assert strict.find_release(strict_cast.project, "v1.0.0") is None


def test_read_api_token_may_read_but_not_write(gitlab_standin: GitLabStandIn) -> None:
    """A token without the api scope gets 403 insufficient_scope on writes."""
    token = gitlab_standin.add_token(cast(gitlab_standin).maintainer, scopes=("read_api",))
    mr = merge_request(client(gitlab_standin, token))
    with pytest.raises(gitlab.GitlabCreateError) as info:
        mr.notes.create({"body": "hello"})
    assert info.value.response_code == 403
    assert info.value.error_message == "insufficient_scope"


# -- merge requests ---------------------------------------------------------------------


def test_merge_request_tells_a_fork_apart(gitlab_standin: GitLabStandIn,
                                          gitlab_client: gitlab.Gitlab) -> None:
    """A fork MR has the fork as source_project_id; a same-project MR has both ids equal."""
    scenario = cast(gitlab_standin)
    same = merge_request(gitlab_client, 1)
    fork = merge_request(gitlab_client, 2)
    assert same.source_project_id == same.target_project_id == scenario.project.id
    assert fork.source_project_id == scenario.fork.id
    assert fork.target_project_id == fork.project_id == scenario.project.id
    assert fork.labels == ["community"]
    assert fork.sha == scenario.fork_mr.sha
    assert fork.diff_refs == {"base_sha": scenario.fork_mr.base_sha,
                              "head_sha": scenario.fork_mr.sha,
                              "start_sha": scenario.fork_mr.start_sha}
    assert fork.author["username"] == "carl"


def test_project_by_url_encoded_path_and_by_id(gitlab_standin: GitLabStandIn,
                                               gitlab_client: gitlab.Gitlab) -> None:
    """Projects are found by id and by URL-encoded path; an unknown one is 404."""
    assert gitlab_client.projects.get("yaook/k8s").id == 1
    assert gitlab_client.projects.get(1).path_with_namespace == "yaook/k8s"
    assert gitlab_standin.requests.all()[0].path == "/api/v4/projects/yaook%2Fk8s"
    with pytest.raises(gitlab.GitlabGetError) as info:
        gitlab_client.projects.get("yaook/nothing")
    assert info.value.error_message == "404 Project Not Found"
    with pytest.raises(gitlab.GitlabGetError) as missing:
        merge_request(gitlab_client, 99)
    assert missing.value.response_code == 404


def test_user_notes_count_ignores_system_notes(gitlab_standin: GitLabStandIn,
                                               gitlab_client: gitlab.Gitlab) -> None:
    """user_notes_count counts people's notes, and list shows the system flag."""
    scenario = cast(gitlab_standin)
    gitlab_standin.add_note(scenario.mr, author=scenario.maintainer, body="added 1 commit",
                            system=True)
    gitlab_standin.add_note(scenario.mr, author=scenario.contributor, body="looks good")
    mr = merge_request(gitlab_client)
    assert mr.user_notes_count == 1
    assert [n.system for n in mr.notes.list(get_all=True, sort="asc")] == [True, False]


# -- notes: pagination, create, update --------------------------------------------------


def test_iterator_walks_150_notes_page_by_page(gitlab_standin: GitLabStandIn,
                                               gitlab_client: gitlab.Gitlab) -> None:
    """mr.notes.list(iterator=True) follows the Link headers through 8 pages of 20."""
    add_notes(gitlab_standin, cast(gitlab_standin).mr, 150)
    mr = merge_request(gitlab_client)
    notes = mr.notes.list(iterator=True)
    assert len(notes) == 150  # X-Total
    bodies = [n.body for n in notes]
    assert len(bodies) == 150 and len(set(bodies)) == 150
    assert bodies[0] == "note 149"  # newest first, GitLab's default
    pages = gitlab_standin.requests.matching("GET", "/notes$")
    assert [r.query.get("page", ["1"])[0] for r in pages] == [str(n) for n in range(1, 9)]


def test_get_all_sees_all_150_notes(gitlab_standin: GitLabStandIn,
                                    gitlab_client: gitlab.Gitlab) -> None:
    """mr.notes.list(get_all=True) returns all 150; with per_page=100 in two requests."""
    add_notes(gitlab_standin, cast(gitlab_standin).mr, 150)
    mr = merge_request(gitlab_client)
    assert len(mr.notes.list(get_all=True)) == 150
    assert gitlab_standin.requests.count("GET", "/notes$") == 8
    gitlab_standin.requests.clear()
    assert len(mr.notes.list(get_all=True, per_page=100)) == 150
    assert gitlab_standin.requests.count("GET", "/notes$") == 2


def test_iter_is_not_a_python_gitlab_option(gitlab_standin: GitLabStandIn,
                                            gitlab_client: gitlab.Gitlab) -> None:
    """python-gitlab 8 knows iterator=True, not iter=True: iter=True yields only page one."""
    add_notes(gitlab_standin, cast(gitlab_standin).mr, 30)
    with pytest.warns(UserWarning, match="maximum of 20 items"):
        notes = merge_request(gitlab_client).notes.list(iter=True)
    assert len(notes) == 20


def test_pagination_headers_as_gitlab_sends_them(gitlab_standin: GitLabStandIn) -> None:
    """Page 2 of 8 notes at per_page=3 carries the documented headers and Link order."""
    scenario = cast(gitlab_standin)
    add_notes(gitlab_standin, scenario.mr, 8)
    base = f"{gitlab_standin.url}/api/v4/projects/1/merge_requests/1/notes"
    response = requests.get(base, params={"per_page": 3, "page": 2}, timeout=2,
                            headers={"PRIVATE-TOKEN": scenario.bot_token})
    documented = documented_example("pagination_headers")
    assert {k: response.headers[k] for k in documented if k != "link"} == {
        "x-next-page": "3", "x-page": "2", "x-per-page": "3", "x-prev-page": "1",
        "x-total": "8", "x-total-pages": "3"}
    assert {k: v for k, v in documented.items() if k != "link"} == {
        "x-next-page": "3", "x-page": "2", "x-per-page": "3", "x-prev-page": "1",
        "x-total": "8", "x-total-pages": "3"}
    assert response.headers["Link"] == (
        f'<{base}?page=1&per_page=3>; rel="prev", <{base}?page=3&per_page=3>; rel="next", '
        f'<{base}?page=1&per_page=3>; rel="first", <{base}?page=3&per_page=3>; rel="last"')
    last = requests.get(base, params={"per_page": 3, "page": 3}, timeout=2,
                        headers={"PRIVATE-TOKEN": scenario.bot_token})
    assert last.headers["X-Next-Page"] == ""
    assert 'rel="next"' not in last.headers["Link"]
    assert len(last.json()) == 2


def test_notes_sort_and_order_by(gitlab_standin: GitLabStandIn,
                                 gitlab_client: gitlab.Gitlab) -> None:
    """sort=asc lists oldest first; order_by=updated_at puts an edited note last in asc."""
    add_notes(gitlab_standin, cast(gitlab_standin).mr, 3)
    mr = merge_request(gitlab_client)
    assert [n.body for n in mr.notes.list(get_all=True, sort="asc")] == [
        "note 0", "note 1", "note 2"]
    mine = mr.notes.create({"body": "bot"})
    first = mr.notes.list(get_all=True, sort="asc")[0]
    assert first.body == "note 0"
    mine.body = "bot, edited"
    mine.save()
    by_update = mr.notes.list(get_all=True, sort="asc", order_by="updated_at")
    assert by_update[-1].body == "bot, edited"
    with pytest.raises(gitlab.GitlabListError) as info:
        mr.notes.list(get_all=True, sort="sideways")
    assert info.value.response_code == 400


def test_create_then_update_a_note(gitlab_standin: GitLabStandIn,
                                   gitlab_client: gitlab.Gitlab) -> None:
    """notes.create POSTs a note authored by the bot; note.save() PUTs the new body in place."""
    scenario = cast(gitlab_standin)
    mr = merge_request(gitlab_client)
    note = mr.notes.create({"body": "<!-- relbot -->\nfirst"})
    assert note.author["id"] == scenario.bot.id
    assert note.system is False
    assert note.noteable_type == "MergeRequest"
    note.body = "<!-- relbot -->\nsecond"
    note.save()
    assert mr.notes.get(note.id).body == "<!-- relbot -->\nsecond"
    assert [n.body for n in gitlab_standin.notes(scenario.mr)] == ["<!-- relbot -->\nsecond"]
    puts = gitlab_standin.requests.matching("PUT", "/notes/")
    assert len(puts) == 1 and puts[0].path.endswith(f"/notes/{note.id}")
    assert puts[0].body == {"body": "<!-- relbot -->\nsecond"}
    assert gitlab_standin.requests.count("POST", "/notes$") == 1


def test_only_the_author_may_edit_a_note(gitlab_standin: GitLabStandIn,
                                         gitlab_client: gitlab.Gitlab) -> None:
    """Editing someone else's note is 403, so a bot must pick its own note by author id."""
    scenario = cast(gitlab_standin)
    theirs = gitlab_standin.add_note(scenario.mr, author=scenario.maintainer,
                                     body="<!-- relbot --> fake marker")
    note = merge_request(gitlab_client).notes.get(theirs.id)
    note.body = "overwritten"
    with pytest.raises(gitlab.GitlabUpdateError) as info:
        note.save()
    assert info.value.response_code == 403
    assert gitlab_standin.notes(scenario.mr)[0].body == "<!-- relbot --> fake marker"


def test_note_body_is_required(gitlab_client: gitlab.Gitlab) -> None:
    """An empty note body is 400, as GitLab validates it."""
    with pytest.raises(gitlab.GitlabCreateError) as info:
        merge_request(gitlab_client).notes.create({"body": ""})
    assert info.value.response_code == 400


def test_concurrent_note_creation_is_consistent(gitlab_standin: GitLabStandIn) -> None:
    """Twenty threads posting at once get twenty distinct notes."""
    created: list[int] = []
    lock = threading.Lock()

    mr = project(client(gitlab_standin)).mergerequests.get(1, lazy=True)

    def post(number: int) -> None:
        note = mr.notes.create({"body": f"t{number}"})
        with lock:
            created.append(note.id)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(set(created)) == 20
    assert len(gitlab_standin.notes(cast(gitlab_standin).mr)) == 20


# -- discussions: threads, resolution, individual notes ----------------------------------------


def discussions_url(standin: GitLabStandIn, iid: int = 1) -> str:
    """The discussions endpoint of ``yaook/k8s!iid`` for raw requests."""
    return f"{standin.url}/api/v4/projects/1/merge_requests/{iid}/discussions"


def bot_headers(standin: GitLabStandIn) -> dict[str, str]:
    """The bot's token header for raw requests."""
    return {"PRIVATE-TOKEN": cast(standin).bot_token}


def test_discussion_create_resolve_reopen_and_edit(gitlab_standin: GitLabStandIn,
                                                   gitlab_client: gitlab.Gitlab) -> None:
    """A thread started by POST is resolvable, blocks the merge until PUT resolved=true, and its
    first note is edited in place through the discussion's notes."""
    scenario = cast(gitlab_standin)
    mr = merge_request(gitlab_client)
    created = mr.discussions.create({"body": "<!-- relbot -->\nfailing"})
    (first,) = created.attributes["notes"]
    assert created.individual_note is False
    assert (first["type"], first["resolvable"], first["resolved"]) == (
        "DiscussionNote", True, False)
    assert first["author"]["id"] == scenario.bot.id
    assert merge_request(gitlab_client).blocking_discussions_resolved is False

    answer = mr.discussions.update(created.id, {"resolved": True})
    assert answer["notes"][0]["resolved"] is True
    assert answer["notes"][0]["resolved_by"]["id"] == scenario.bot.id
    assert merge_request(gitlab_client).blocking_discussions_resolved is True

    edited = mr.discussions.get(created.id, lazy=True).notes.update(
        first["id"], {"body": "<!-- relbot -->\npassing"})
    assert edited["body"] == "<!-- relbot -->\npassing"
    mr.discussions.update(created.id, {"resolved": False})
    (stored,) = gitlab_standin.discussions(scenario.mr)
    assert stored.id == created.id and not stored.resolved
    assert [(n.id, n.body) for n in stored.notes] == [(first["id"], "<!-- relbot -->\npassing")]
    assert stored.notes[0].resolved_by_id is None
    assert [(r.method, r.path.rsplit("/merge_requests/1", 1)[1], r.body)
            for r in gitlab_standin.requests.matching(path="/discussions")] == [
        ("POST", "/discussions", {"body": "<!-- relbot -->\nfailing"}),
        ("PUT", f"/discussions/{created.id}", {"resolved": True}),
        ("PUT", f"/discussions/{created.id}/notes/{first['id']}",
         {"body": "<!-- relbot -->\npassing"}),
        ("PUT", f"/discussions/{created.id}", {"resolved": False}),
    ]
    assert merge_request(gitlab_client).blocking_discussions_resolved is False


def test_plain_notes_are_individual_discussions(gitlab_standin: GitLabStandIn,
                                                gitlab_client: gitlab.Gitlab) -> None:
    """A note from the Notes API is an individual, unresolvable discussion; thread notes show up
    in the notes list too."""
    scenario = cast(gitlab_standin)
    mr = merge_request(gitlab_client)
    plain = mr.notes.create({"body": "plain comment"})
    thread = mr.discussions.create({"body": "a thread"})
    listed = list(mr.discussions.list(iterator=True))
    assert [(d.individual_note, [n["body"] for n in d.attributes["notes"]]) for d in listed] == [
        (True, ["plain comment"]), (False, ["a thread"])]
    individual = listed[0].attributes["notes"][0]
    assert (individual["id"], individual["type"], individual["resolvable"]) == (
        plain.id, None, False)
    assert "resolved" not in individual
    notes = {n.body: n for n in mr.notes.list(get_all=True)}
    assert set(notes) == {"plain comment", "a thread"}
    assert notes["a thread"].resolvable is True and notes["plain comment"].resolvable is False
    assert notes["a thread"].id == thread.attributes["notes"][0]["id"]
    with pytest.raises(gitlab.GitlabUpdateError) as info:
        mr.discussions.update(listed[0].id, {"resolved": True})
    assert info.value.response_code == 403
    assert merge_request(gitlab_client).user_notes_count == 2
    assert [d.individual_note for d in gitlab_standin.discussions(scenario.mr)] == [True, False]


def test_system_thread_is_not_resolvable(gitlab_standin: GitLabStandIn,
                                         gitlab_client: gitlab.Gitlab) -> None:
    """add_discussion(system=True) makes a thread GitLab's own, which nobody can resolve."""
    scenario = cast(gitlab_standin)
    note = gitlab_standin.add_discussion(scenario.mr, author=scenario.maintainer,
                                         body="added 1 commit", system=True)
    got = merge_request(gitlab_client).discussions.get(note.discussion_id)
    assert got.attributes["notes"][0]["system"] is True
    assert got.attributes["notes"][0]["resolvable"] is False
    with pytest.raises(gitlab.GitlabUpdateError) as info:
        merge_request(gitlab_client).discussions.update(note.discussion_id, {"resolved": True})
    assert info.value.response_code == 403


def test_reply_turns_a_comment_into_a_thread(gitlab_standin: GitLabStandIn,
                                             gitlab_client: gitlab.Gitlab) -> None:
    """Replying to an individual note makes it a resolvable thread with both notes."""
    scenario = cast(gitlab_standin)
    comment = gitlab_standin.add_note(scenario.mr, author=scenario.maintainer, body="why?")
    discussion = merge_request(gitlab_client).discussions.get(comment.discussion_id)
    reply = discussion.notes.create({"body": "because"})
    assert reply.type == "DiscussionNote"
    (stored,) = gitlab_standin.discussions(scenario.mr)
    assert [(n.body, n.type, n.resolvable) for n in stored.notes] == [
        ("why?", "DiscussionNote", True), ("because", "DiscussionNote", True)]
    assert not stored.individual_note


def test_discussions_paginate_oldest_first(gitlab_standin: GitLabStandIn,
                                           gitlab_client: gitlab.Gitlab) -> None:
    """150 discussions (threads and plain notes) are walked page by page, oldest first, with
    the Link and X-* headers of the notes list."""
    scenario = cast(gitlab_standin)
    for number in range(150):
        if number % 2:
            gitlab_standin.add_discussion(scenario.mr, author=scenario.maintainer,
                                          body=f"thread {number}")
        else:
            gitlab_standin.add_note(scenario.mr, author=scenario.contributor,
                                    body=f"note {number}")
    listed = merge_request(gitlab_client).discussions.list(iterator=True)
    assert len(listed) == 150  # X-Total
    bodies = [d.attributes["notes"][0]["body"] for d in listed]
    assert bodies[:2] == ["note 0", "thread 1"] and bodies[-1] == "thread 149"
    assert len(set(bodies)) == 150
    pages = gitlab_standin.requests.matching("GET", "/discussions$")
    assert [r.query.get("page", ["1"])[0] for r in pages] == [str(n) for n in range(1, 9)]
    response = requests.get(discussions_url(gitlab_standin), timeout=2,
                            params={"per_page": 100, "page": 2},
                            headers=bot_headers(gitlab_standin))
    base = discussions_url(gitlab_standin)
    assert response.headers["Link"] == (
        f'<{base}?page=1&per_page=100>; rel="prev", <{base}?page=1&per_page=100>; rel="first", '
        f'<{base}?page=2&per_page=100>; rel="last"')
    assert (response.headers["X-Total"], response.headers["X-Total-Pages"],
            response.headers["X-Next-Page"]) == ("150", "2", "")
    assert len(response.json()) == 50


def test_resolve_and_edit_take_query_parameters(gitlab_standin: GitLabStandIn) -> None:
    """As the documented curl examples do, resolved=true and body= may come in the query."""
    scenario = cast(gitlab_standin)
    note = gitlab_standin.add_discussion(scenario.mr, author=scenario.bot, body="first")
    url = f"{discussions_url(gitlab_standin)}/{note.discussion_id}"
    resolved = requests.put(url, params={"resolved": "true"}, timeout=2,
                            headers=bot_headers(gitlab_standin))
    assert resolved.status_code == 200 and resolved.json()["notes"][0]["resolved"] is True
    edited = requests.put(f"{url}/notes/{note.id}", params={"body": "second"}, timeout=2,
                          headers=bot_headers(gitlab_standin))
    assert edited.status_code == 200 and edited.json()["body"] == "second"
    reopened = requests.put(f"{url}/notes/{note.id}", params={"resolved": "false"}, timeout=2,
                            headers=bot_headers(gitlab_standin))
    assert reopened.status_code == 200 and reopened.json()["resolved"] is False
    assert [n.body for n in gitlab_standin.notes(scenario.mr)] == ["second"]


@pytest.mark.parametrize(("path", "params", "status", "answer"), [
    ("", {}, 400, {"error": "resolved is missing"}),
    ("", {"resolved": "perhaps"}, 400, {"error": "resolved is invalid"}),
    ("/notes/{note}", {}, 400,
     {"error": "body, resolved are missing, exactly one parameter must be provided"}),
    ("/notes/{note}", {"body": "x", "resolved": "true"}, 400,
     {"error": "body, resolved are mutually exclusive"}),
    ("/notes/{note}", {"body": ""}, 400, {"error": "body is empty"}),
    ("/notes/1", {"body": "x"}, 404, {"message": "404 Note Not Found"}),
])
def test_discussion_updates_are_validated(gitlab_standin: GitLabStandIn, path: str,
                                          params: dict[str, str], status: int,
                                          answer: dict[str, str]) -> None:
    """PUT on a discussion needs resolved; PUT on its note exactly one of body and resolved, and
    the note must belong to the discussion."""
    scenario = cast(gitlab_standin)
    note = gitlab_standin.add_discussion(scenario.mr, author=scenario.bot, body="first")
    url = f"{discussions_url(gitlab_standin)}/{note.discussion_id}{path}".replace(
        "{note}", str(note.id))
    response = requests.put(url, json=params, timeout=2, headers=bot_headers(gitlab_standin))
    assert (response.status_code, response.json()) == (status, answer)
    assert [(n.body, n.resolved) for n in gitlab_standin.notes(scenario.mr)] == [
        ("first", False)]


def test_unknown_discussion_is_404(gitlab_client: gitlab.Gitlab) -> None:
    """A discussion id the MR does not have is 404 Discussion Not Found."""
    with pytest.raises(gitlab.GitlabGetError) as info:
        merge_request(gitlab_client).discussions.get("0" * 40)
    assert (info.value.response_code, info.value.error_message) == (
        404, "404 Discussion Not Found")


def test_only_the_author_may_edit_a_discussion_note(gitlab_standin: GitLabStandIn,
                                                    gitlab_client: gitlab.Gitlab) -> None:
    """Editing another user's thread note is 403 (resolving it is allowed, as for a reviewer)."""
    scenario = cast(gitlab_standin)
    theirs = gitlab_standin.add_discussion(scenario.mr, author=scenario.maintainer,
                                           body="<!-- relbot:mr-check --> pasted")
    discussion = merge_request(gitlab_client).discussions.get(theirs.discussion_id, lazy=True)
    with pytest.raises(gitlab.GitlabUpdateError) as info:
        discussion.notes.update(theirs.id, {"body": "overwritten"})
    assert info.value.response_code == 403
    merge_request(gitlab_client).discussions.update(theirs.discussion_id, {"resolved": True})
    (stored,) = gitlab_standin.discussions(scenario.mr)
    assert stored.notes[0].body == "<!-- relbot:mr-check --> pasted" and stored.resolved


def test_job_token_may_not_start_edit_or_resolve_discussions(
        gitlab_standin: GitLabStandIn) -> None:
    """The Discussions API is not on the job token's allowlist: listing, starting, replying,
    editing and resolving all answer 401, and nothing changes."""
    scenario = cast(gitlab_standin)
    note = gitlab_standin.add_discussion(scenario.mr, author=scenario.maintainer, body="open")
    mr = merge_request(client(gitlab_standin, scenario.job_token, kind="job"))
    with pytest.raises(gitlab.GitlabAuthenticationError) as listing:
        mr.discussions.list(get_all=True)
    with pytest.raises(gitlab.GitlabAuthenticationError) as create:
        mr.discussions.create({"body": "from a job"})
    discussion = mr.discussions.get(note.discussion_id, lazy=True)
    with pytest.raises(gitlab.GitlabAuthenticationError) as resolve:
        mr.discussions.update(note.discussion_id, {"resolved": True})
    with pytest.raises(gitlab.GitlabAuthenticationError) as edit:
        discussion.notes.update(note.id, {"body": "edited by a job"})
    with pytest.raises(gitlab.GitlabAuthenticationError) as reply:
        discussion.notes.create({"body": "reply from a job"})
    assert {e.value.response_code for e in (listing, create, resolve, edit, reply)} == {401}
    (stored,) = gitlab_standin.discussions(scenario.mr)
    assert [(n.body, n.resolved) for n in stored.notes] == [("open", False)]
    writes = [r for r in gitlab_standin.requests.all() if r.method != "GET"]
    assert len(writes) == 4
    assert all(r.token_kind == "job" and r.status == 401 for r in writes)


def test_502_after_commit_on_discussion_create(gitlab_standin: GitLabStandIn,
                                               gitlab_client: gitlab.Gitlab) -> None:
    """Faults and the request log cover the discussion routes: a committed 502 leaves the
    thread, and a look-up finds it."""
    scenario = cast(gitlab_standin)
    gitlab_standin.faults.error_after_commit(502, method="POST", path="/discussions$")
    mr = merge_request(gitlab_client)
    with pytest.raises(gitlab.GitlabCreateError) as info:
        mr.discussions.create({"body": "hi"})
    assert info.value.response_code == 502
    assert [d.attributes["notes"][0]["body"] for d in mr.discussions.list(iterator=True)] == [
        "hi"]
    (record,) = gitlab_standin.requests.matching("POST", "/discussions$")
    assert (record.status, record.fault, record.committed) == (502, "error", True)
    gitlab_standin.faults.error(500, method="PUT", path="/discussions/[0-9a-f]+$")
    with pytest.raises(gitlab.GitlabUpdateError):
        mr.discussions.update(gitlab_standin.discussions(scenario.mr)[0].id, {"resolved": True})
    assert not gitlab_standin.discussions(scenario.mr)[0].resolved


def test_discussion_keys_match_the_documented_example(gitlab_standin: GitLabStandIn,
                                                      gitlab_client: gitlab.Gitlab) -> None:
    """A thread with a reply and an individual note have the documented example's keys (an
    individual note without resolved/resolved_by: GitLab shows them for resolvable notes only)."""
    scenario = cast(gitlab_standin)
    documented = documented_example("merge_request_discussions")
    thread = gitlab_standin.add_discussion(scenario.mr, author=scenario.maintainer, body="t")
    gitlab_standin.state.reply(scenario.mr, thread.discussion_id, author=scenario.bot, body="r")
    gitlab_standin.add_note(scenario.mr, author=scenario.contributor, body="single")
    listed = [d.asdict() for d in merge_request(gitlab_client).discussions.list(get_all=True)]
    single = merge_request(gitlab_client).discussions.get(thread.discussion_id).asdict()
    assert single == listed[0]
    assert [_keys(d) for d in listed] == [
        {"id": None, "individual_note": None, "notes": None}] * 2
    note_keys = _keys(documented[0]["notes"][0])  # the one with resolved_at
    individual_keys = _keys(documented[1]["notes"][0])
    del individual_keys["resolved"], individual_keys["resolved_by"]
    assert [_keys(n) for n in listed[0]["notes"]] == [note_keys, note_keys]
    assert [_keys(n) for n in listed[1]["notes"]] == [individual_keys]
    assert documented[1]["individual_note"] is True and listed[1]["individual_note"] is True


# -- tags and releases ---------------------------------------------------------------------


def test_release_create_get_update(gitlab_standin: GitLabStandIn,
                                   gitlab_client: gitlab.Gitlab) -> None:
    """releases.create/get and release.save() (PUT) work on an existing tag."""
    scenario = cast(gitlab_standin)
    gitlab_standin.add_tag(scenario.project, "v8.1.0", "b" * 40, message="Release v8.1.0")
    releases = project(gitlab_client).releases
    created = releases.create({"tag_name": "v8.1.0", "name": "v8.1.0",
                               "description": "## Notes"})
    assert created.author["id"] == scenario.bot.id
    assert created.commit["id"] == "b" * 40
    release = releases.get("v8.1.0")
    assert release.description == "## Notes"
    release.description = "## Notes, fixed"
    release.save()
    assert releases.get("v8.1.0").description == "## Notes, fixed"
    assert [r.tag_name for r in releases.list(get_all=True)] == ["v8.1.0"]
    assert gitlab_standin.requests.count("PUT", "/releases/v8.1.0$") == 1


def test_duplicate_release_is_409(gitlab_standin: GitLabStandIn,
                                  gitlab_client: gitlab.Gitlab) -> None:
    """Creating a release twice is 409 {"message":"Release already exists"}."""
    releases = project(gitlab_client).releases
    releases.create({"tag_name": "v1.0.0", "ref": "c" * 40})
    with pytest.raises(gitlab.GitlabCreateError) as info:
        releases.create({"tag_name": "v1.0.0", "ref": "c" * 40})
    assert info.value.response_code == 409
    assert json.loads(info.value.response_body or b"{}") == {
        "message": "Release already exists"}


def test_release_of_a_missing_tag_needs_a_ref(gitlab_client: gitlab.Gitlab) -> None:
    """Without the tag and without ref the release is refused; a release 404s until created."""
    releases = project(gitlab_client).releases
    with pytest.raises(gitlab.GitlabCreateError) as info:
        releases.create({"tag_name": "v2.0.0"})
    assert info.value.response_code == 422
    with pytest.raises(gitlab.GitlabGetError) as missing:
        releases.get("v2.0.0")
    assert missing.value.response_code == 404


def test_tag_and_release_names_with_a_slash(gitlab_standin: GitLabStandIn,
                                            gitlab_client: gitlab.Gitlab) -> None:
    """operator/v1.0.0 works URL-encoded as %2F for tags and releases alike."""
    proj = project(gitlab_client)
    tag = proj.tags.create({"tag_name": "operator/v1.0.0", "ref": "d" * 40,
                            "message": "Operator 1.0.0"})
    assert tag.name == "operator/v1.0.0"
    assert proj.tags.get("operator/v1.0.0").message == "Operator 1.0.0"
    proj.releases.create({"tag_name": "operator/v1.0.0", "description": "notes"})
    release = proj.releases.get("operator/v1.0.0")
    release.description = "better notes"
    release.save()
    assert proj.tags.get("operator/v1.0.0").release == {
        "tag_name": "operator/v1.0.0", "description": "better notes"}
    paths = {r.path for r in gitlab_standin.requests.all()}
    assert "/api/v4/projects/yaook%2Fk8s/releases/operator%2Fv1.0.0" in paths
    assert "/api/v4/projects/yaook%2Fk8s/repository/tags/operator%2Fv1.0.0" in paths


def test_tags_list_create_and_duplicates(gitlab_standin: GitLabStandIn,
                                         gitlab_client: gitlab.Gitlab) -> None:
    """Tags are created from a branch, listed, and a duplicate tag is 400."""
    scenario = cast(gitlab_standin)
    gitlab_standin.add_branch(scenario.project, "main", "e" * 40)
    tags = project(gitlab_client).tags
    light = tags.create({"tag_name": "v1.0.0", "ref": "main"})
    assert (light.target, light.message, light.created_at) == ("e" * 40, None, None)
    tags.create({"tag_name": "v1.1.0", "ref": "v1.0.0", "message": "annotated"})
    assert [t.name for t in tags.list(get_all=True)] == ["v1.1.0", "v1.0.0"]
    assert [t.name for t in tags.list(get_all=True, order_by="name", sort="asc")] == [
        "v1.0.0", "v1.1.0"]
    with pytest.raises(gitlab.GitlabCreateError) as info:
        tags.create({"tag_name": "v1.0.0", "ref": "main"})
    assert info.value.response_code == 400
    assert info.value.error_message == "Tag v1.0.0 already exists"
    with pytest.raises(gitlab.GitlabCreateError) as bad_ref:
        tags.create({"tag_name": "v3", "ref": "no-such-branch"})
    assert bad_ref.value.error_message == "Target no-such-branch is invalid"


def test_repository_backed_project_sees_pushed_tags(tmp_path: Path) -> None:
    """A project backed by a bare repository finds a pushed tag for its release, and a tag
    created through the API lands in that repository."""
    repo = make_repo(tmp_path, {"version": "1.0.0\n"})
    repo.git("tag", "-a", "-m", "Release v1.0.0", "v1.0.0")
    repo.push("v1.0.0")
    head = repo.git("rev-parse", "HEAD")
    with GitLabStandIn() as standin:
        bot = standin.add_user("bot", bot=True)
        token = standin.add_token(bot)
        standin.add_member(standin.add_project("yaook/k8s", repository=repo.remote), bot,
                           DEVELOPER)
        proj = project(client(standin, token))
        release = proj.releases.create({"tag_name": "v1.0.0", "description": "notes"})
        assert release.commit["id"] == head
        assert release.commit["title"] == "Initial commit"
        assert proj.tags.get("v1.0.0").message == "Release v1.0.0"
        proj.tags.create({"tag_name": "v1.0.1", "ref": "main"})
    assert git(repo.remote, "tag", "--list") == "v1.0.0\nv1.0.1"


# -- faults ---------------------------------------------------------------------------------


def test_500_without_retry_raises_and_creates_nothing(gitlab_standin: GitLabStandIn,
                                                      gitlab_client: gitlab.Gitlab) -> None:
    """A 500 reaches the caller when retry_transient_errors is off; nothing is created."""
    gitlab_standin.faults.error(500, method="POST", path="/notes$")
    with pytest.raises(gitlab.GitlabCreateError) as info:
        merge_request(gitlab_client).notes.create({"body": "hi"})
    assert info.value.response_code == 500
    assert gitlab_standin.notes(cast(gitlab_standin).mr) == []
    assert gitlab_standin.requests.count("POST", "/notes$") == 1


def test_500_with_retry_is_retried_once(gitlab_standin: GitLabStandIn) -> None:
    """With retry_transient_errors=True python-gitlab retries the 500 and the note is made once."""
    fault = gitlab_standin.faults.error(500, method="POST", path="/notes$")
    gl = client(gitlab_standin, retry_transient_errors=True)
    merge_request(gl).notes.create({"body": "hi"})
    assert fault.fired == 1
    assert gitlab_standin.requests.count("POST", "/notes$") == 2
    assert [n.body for n in gitlab_standin.notes(cast(gitlab_standin).mr)] == ["hi"]


def test_502_after_commit_the_note_exists(gitlab_standin: GitLabStandIn,
                                          gitlab_client: gitlab.Gitlab) -> None:
    """A 502 after commit: the client sees an error, yet the note was created."""
    gitlab_standin.faults.error_after_commit(502, method="POST", path="/notes$")
    with pytest.raises(gitlab.GitlabCreateError) as info:
        merge_request(gitlab_client).notes.create({"body": "hi"})
    assert info.value.response_code == 502
    assert [n.body for n in gitlab_standin.notes(cast(gitlab_standin).mr)] == ["hi"]
    (record,) = gitlab_standin.requests.matching("POST", "/notes$")
    assert (record.status, record.fault, record.committed) == (502, "error", True)


def test_502_after_commit_with_blind_retry_duplicates(gitlab_standin: GitLabStandIn) -> None:
    """A blind retry after a committed 502 makes a second note: why relbot looks first."""
    gitlab_standin.faults.error_after_commit(502, method="POST", path="/notes$")
    gl = client(gitlab_standin, retry_transient_errors=True)
    merge_request(gl).notes.create({"body": "hi"})
    assert [n.body for n in gitlab_standin.notes(cast(gitlab_standin).mr)] == ["hi", "hi"]


def test_502_after_commit_on_release_create(gitlab_standin: GitLabStandIn,
                                            gitlab_client: gitlab.Gitlab) -> None:
    """After a committed 502 on release create, a look-up finds the release, and a retry is 409."""
    gitlab_standin.faults.error_after_commit(502, method="POST", path="/releases$")
    releases = project(gitlab_client).releases
    with pytest.raises(gitlab.GitlabCreateError):
        releases.create({"tag_name": "v1.0.0", "ref": "f" * 40})
    assert releases.get("v1.0.0").tag_name == "v1.0.0"
    with pytest.raises(gitlab.GitlabCreateError) as info:
        releases.create({"tag_name": "v1.0.0", "ref": "f" * 40})
    assert info.value.response_code == 409


def test_429_retry_after_is_honoured(gitlab_standin: GitLabStandIn,
                                     gitlab_client: gitlab.Gitlab) -> None:
    """python-gitlab waits Retry-After seconds on a 429 and then succeeds (obey_rate_limit)."""
    gitlab_standin.faults.rate_limit(retry_after=1, method="GET", path="/merge_requests/1$")
    started = time.monotonic()
    assert merge_request(gitlab_client).iid == 1
    assert 1.0 <= time.monotonic() - started < 1.8
    statuses = [r.status for r in gitlab_standin.requests.matching("GET", "/merge_requests/1$")]
    assert statuses == [429, 200]


def test_429_without_obey_rate_limit_raises(gitlab_standin: GitLabStandIn,
                                            gitlab_client: gitlab.Gitlab) -> None:
    """With obey_rate_limit=False the 429 and its Retry-After reach the caller."""
    gitlab_standin.faults.rate_limit(retry_after=7)
    with pytest.raises(gitlab.GitlabGetError) as info:
        project(gitlab_client).mergerequests.get(1, obey_rate_limit=False)
    assert info.value.response_code == 429
    response = requests.get(f"{gitlab_standin.url}/api/v4/user", timeout=2)
    assert response.status_code == 401  # the fault was used up by the first request
    gitlab_standin.faults.rate_limit(retry_after=7)
    limited = requests.get(f"{gitlab_standin.url}/api/v4/user", timeout=2)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert limited.text == "Retry later\n"


def test_hang_times_out_within_the_client_timeout(gitlab_standin: GitLabStandIn) -> None:
    """A hung request raises requests' ReadTimeout after the client's 0.5 s, and applies nothing."""
    gitlab_standin.faults.hang(3.0, method="POST", path="/notes$")
    gl = client(gitlab_standin, timeout=0.5)
    mr = merge_request(gl)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        mr.notes.create({"body": "hi"})
    assert time.monotonic() - started < 1.0
    assert gitlab_standin.notes(cast(gitlab_standin).mr) == []


def test_hang_after_commit_leaves_the_note(gitlab_standin: GitLabStandIn) -> None:
    """A timeout after commit: the client gave up, the note exists all the same."""
    gitlab_standin.faults.hang(3.0, method="POST", path="/notes$", after_commit=True)
    mr = merge_request(client(gitlab_standin, timeout=0.5))
    with pytest.raises(requests.exceptions.ReadTimeout):
        mr.notes.create({"body": "hi"})
    assert [n.body for n in gitlab_standin.notes(cast(gitlab_standin).mr)] == ["hi"]


def test_connection_reset(gitlab_standin: GitLabStandIn, gitlab_client: gitlab.Gitlab) -> None:
    """A reset connection raises requests' ConnectionError; after_commit keeps the write."""
    gitlab_standin.faults.reset(method="POST", path="/notes$")
    mr = merge_request(gitlab_client)
    with pytest.raises(requests.exceptions.ConnectionError):
        mr.notes.create({"body": "lost"})
    gitlab_standin.faults.reset(method="POST", path="/notes$", after_commit=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        mr.notes.create({"body": "kept"})
    assert [n.body for n in gitlab_standin.notes(cast(gitlab_standin).mr)] == ["kept"]
    assert mr.notes.create({"body": "fine"}).body == "fine"


def test_faults_match_method_path_and_count(gitlab_standin: GitLabStandIn,
                                            gitlab_client: gitlab.Gitlab) -> None:
    """A fault hits only matching requests, `times` of them, in the order faults were planned."""
    gitlab_standin.faults.error(503, method="POST", path="/notes$", times=2)
    gitlab_standin.faults.error(500, method="POST", path="/notes$")
    mr = merge_request(gitlab_client)  # a GET: not hit
    codes = []
    for _ in range(4):
        try:
            mr.notes.create({"body": "x"})
            codes.append(201)
        except gitlab.GitlabCreateError as exc:
            codes.append(exc.response_code or 0)
    assert codes == [503, 503, 500, 201]
    assert gitlab_standin.faults.pending() == []


def test_stop_releases_hung_requests_quickly() -> None:
    """Stopping the stand-in ends a hung request at once instead of after max_hang."""
    standin = GitLabStandIn(max_hang=30).start()
    standin.faults.hang(30)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(f"{standin.url}/api/v4/user", timeout=10)
        except requests.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    while not standin.requests.all():
        time.sleep(0.01)
    started = time.monotonic()
    standin.stop()
    thread.join(5)
    assert time.monotonic() - started < 1.0
    assert errors and isinstance(errors[0], requests.exceptions.ConnectionError)


# -- control endpoint and request log ---------------------------------------------------


def test_control_endpoint_plans_faults_and_serves_the_log(gitlab_standin: GitLabStandIn,
                                                          gitlab_client: gitlab.Gitlab) -> None:
    """POST /-/standin/faults plans a fault over HTTP; GET /-/standin/requests shows the log."""
    control = f"{gitlab_standin.url}/-/standin"
    planned = requests.post(f"{control}/faults", timeout=2, json={
        "kind": "error", "status": 500, "method": "GET", "path": "/merge_requests/1$"})
    assert planned.status_code == 201
    assert requests.get(f"{control}/faults", timeout=2).json()[0]["status"] == 500
    with pytest.raises(gitlab.GitlabGetError):
        merge_request(gitlab_client)
    log = requests.get(f"{control}/requests", timeout=2).json()
    assert [(r["method"], r["status"], r["fault"]) for r in log] == [("GET", 500, "error")]
    assert requests.delete(f"{control}/requests", timeout=2).status_code == 204
    assert len(gitlab_standin.requests) == 0
    bad = requests.post(f"{control}/faults", timeout=2, json={"kind": "melt"})
    assert bad.status_code == 400


def test_request_log_never_holds_a_token(gitlab_standin: GitLabStandIn) -> None:
    """Tokens in PRIVATE-TOKEN, JOB-TOKEN, Authorization and the query are redacted."""
    scenario = cast(gitlab_standin)
    client(gitlab_standin).auth()
    client(gitlab_standin, kind="oauth").auth()
    merge_request(client(gitlab_standin, scenario.job_token, kind="job"))
    requests.get(f"{gitlab_standin.url}/api/v4/user", timeout=2,
                 params={"private_token": scenario.maintainer_token})
    dumped = json.dumps([r.to_json() for r in gitlab_standin.requests.all()])
    for secret in (scenario.bot_token, scenario.job_token, scenario.maintainer_token):
        assert secret not in dumped
    assert [r.user for r in gitlab_standin.requests.all()] == [
        scenario.bot.username, scenario.bot.username, "maria", "maria"]


def test_unknown_route_is_404(gitlab_standin: GitLabStandIn) -> None:
    """An endpoint the stand-in does not model answers GitLab's 404 for unknown routes."""
    response = requests.get(f"{gitlab_standin.url}/api/v4/projects/1/pipelines", timeout=2)
    assert (response.status_code, response.json()) == (404, {"error": "404 Not Found"})


# -- shapes follow the documentation ----------------------------------------------------


def _keys(data: dict[str, Any]) -> dict[str, Any]:
    """The key structure of ``data``: nested objects by their own keys."""
    return {k: _keys(v) if isinstance(v, dict) else None for k, v in data.items()}


def _fetch_user(standin: GitLabStandIn, gl: gitlab.Gitlab) -> dict[str, Any]:
    answer = gl.http_get("/user")
    assert isinstance(answer, dict)
    return answer


def _fetch_note(standin: GitLabStandIn, gl: gitlab.Gitlab) -> dict[str, Any]:
    scenario = cast(standin)
    note = standin.add_note(scenario.mr, author=scenario.maintainer, body="hi")
    return merge_request(gl).notes.get(note.id).asdict()


def _fetch_tag(standin: GitLabStandIn, gl: gitlab.Gitlab) -> dict[str, Any]:
    standin.add_tag(cast(standin).project, "v5.0.0", "a" * 40, message="v5.0.0")
    return project(gl).tags.get("v5.0.0").asdict()


def _fetch_created_tag(standin: GitLabStandIn, gl: gitlab.Gitlab) -> dict[str, Any]:
    return project(gl).tags.create({"tag_name": "v1.0.0", "ref": "a" * 40}).asdict()


def _fetch_release(standin: GitLabStandIn, gl: gitlab.Gitlab) -> dict[str, Any]:
    project(gl).releases.create({"tag_name": "v0.1", "ref": "a" * 40})
    return project(gl).releases.get("v0.1").asdict()


FETCHERS: dict[str, Callable[[GitLabStandIn, gitlab.Gitlab], dict[str, Any]]] = {
    "current_user": _fetch_user,
    "merge_request": lambda standin, gl: merge_request(gl).asdict(),
    "merge_request_note": _fetch_note,
    "tag": _fetch_tag,
    "tag_created": _fetch_created_tag,
    "release": _fetch_release,
}
#: Keys GitLab documents but leaves out in the situation the stand-in renders.
OMITTED = {"release": {"milestones"}}  # absent from a release without milestones
#: Keys GitLab's entity exposes that the (older) documented example does not show:
#: ``upcoming_release`` (API::Entities::Release, ``expose :upcoming_release?``).
ADDED = {"release": {"upcoming_release"}}


@pytest.mark.parametrize("name", sorted(FETCHERS))
def test_response_keys_match_the_documented_example(name: str, gitlab_standin: GitLabStandIn,
                                                    gitlab_client: gitlab.Gitlab) -> None:
    """The stand-in's response has the documented example's keys, nested objects included."""
    answer = FETCHERS[name](gitlab_standin, gitlab_client)
    expected = _keys(documented_example(name))
    for key in OMITTED.get(name, set()):
        del expected[key]
    got = _keys(answer)
    for key in ADDED.get(name, set()):
        assert key in got
        del got[key]
    # a nested object the stand-in leaves null (no pipeline, no milestone) is compared as null
    for key, value in expected.items():
        if value is not None and answer.get(key) is None:
            expected[key] = None
    assert got == expected


def test_every_documented_example_names_its_source() -> None:
    """Each fixture names page and section, and the README lists it."""
    readme = (PROJECT / "relbot/gitlab_standin/fixtures/README.md").read_text("utf-8")
    for name in EXAMPLES:
        source = documented_source(name)
        assert source["path"].startswith("doc/api/")
        assert source["section"]
        assert f"`{name}.json`" in readme


# -- helpers for relbot and humans --------------------------------------------------------


def test_ci_environment_of_a_fork_mr(gitlab_standin: GitLabStandIn) -> None:
    """A fork MR pipeline runs in the fork, with the target project as the MR's project."""
    scenario = cast(gitlab_standin)
    env = gitlab_standin.ci_environment(scenario.fork_mr, token=scenario.bot_token)
    assert env["CI_SERVER_URL"] == gitlab_standin.url
    assert env["CI_PROJECT_ID"] == str(scenario.fork.id)
    assert env["CI_MERGE_REQUEST_PROJECT_ID"] == str(scenario.project.id)
    assert env["CI_MERGE_REQUEST_IID"] == "2"
    assert env["CI_MERGE_REQUEST_LABELS"] == "community"
    assert env["CI_MERGE_REQUEST_DIFF_BASE_SHA"] == scenario.fork_mr.base_sha
    assert env["RELBOT_MR_TOKEN"] == scenario.bot_token


@pytest.fixture
def standin_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m relbot.gitlab_standin --port 0 --token T`` running, with its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "relbot.gitlab_standin", "--port", "0",
                             "--token", "manual-token"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(5)


def test_cli_prints_the_url_and_serves(
        standin_process: tuple[subprocess.Popen[str], str]) -> None:
    """The module's CLI prints its URL first and accepts the --token it was given."""
    _, url = standin_process
    assert url.startswith("http://127.0.0.1:")
    response = requests.get(f"{url}/api/v4/user", timeout=2,
                            headers={"PRIVATE-TOKEN": "manual-token"})
    assert response.status_code == 200
    assert response.json()["username"] == "project_1_bot_relbot"


@pytest.mark.reliability("Faults")
def test_a_client_that_resets_leaves_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """A client resetting its connection is ordinary: the stand-in prints nothing (it runs
    in the test's process, so a traceback would land in relbot's captured stderr)."""
    import socket
    import struct
    import time

    with GitLabStandIn() as standin:
        port = int(standin.url.rsplit(":", 1)[1].split("/")[0])
        client = socket.create_connection(("127.0.0.1", port))
        client.sendall(b"GET /api/v4/projects HTTP/1.1\r\n")
        time.sleep(0.2)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # RST
        time.sleep(0.5)
    assert "Traceback" not in capsys.readouterr().err
