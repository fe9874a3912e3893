"""The stand-in enforces GitLab's documented rules (relbot/gitlab_standin/permissions.py).

Roles per endpoint, protected tags, the CI/CD job token's allowlist, 403 before
409, quick-action-only bodies, the 1,000,000-character limits, release fields,
pagination links, and 400 (never a hang-up) for malformed control requests.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

import gitlab
import pytest
import requests

from relbot.gitlab_standin import GitLabStandIn, Scenario
from relbot.gitlab_standin.permissions import (
    DEVELOPER,
    GUEST,
    JOB_TOKEN_ALLOWLIST,
    MAINTAINER,
    REPORTER,
    RULES,
)
from relbot.gitlab_standin.state import DESCRIPTION_MAX_CHARS


def cast(standin: GitLabStandIn) -> Scenario:
    assert standin.scenario is not None
    return standin.scenario


def member(standin: GitLabStandIn, role: int, name: str) -> gitlab.Gitlab:
    """python-gitlab as a new project bot user with ``role`` in yaook/k8s."""
    user = standin.add_user(name, bot=True)
    standin.add_member(cast(standin).project, user, role)
    token = standin.add_token(user, kind="project")
    return gitlab.Gitlab(standin.url, private_token=token, timeout=2.0)


def mr(gl: gitlab.Gitlab, iid: int = 1) -> Any:
    return gl.projects.get("yaook/k8s", lazy=True).mergerequests.get(iid, lazy=True)


def test_every_rule_names_its_documentation() -> None:
    """Each permission rule cites the GitLab page it follows."""
    for name, rule in RULES.items():
        assert "docs.gitlab.com" in rule.source, name
    assert RULES["discussion.resolve"].role == DEVELOPER
    assert RULES["release.create"].role == DEVELOPER


def test_a_reporter_comments_but_may_not_resolve(gitlab_standin: GitLabStandIn) -> None:
    """"Resolve a merge request thread" needs Developer: a Reporter's thread is made, its
    resolve answers 403 and changes nothing; a Developer resolves it."""
    reporter = member(gitlab_standin, REPORTER, "project_1_bot_reporter")
    thread = mr(reporter).discussions.create({"body": "relbot says"})
    with pytest.raises(gitlab.GitlabUpdateError) as refused:
        mr(reporter).discussions.update(thread.id, {"resolved": True})
    assert refused.value.response_code == 403
    (stored,) = gitlab_standin.discussions(cast(gitlab_standin).mr)
    assert not stored.resolved
    developer = member(gitlab_standin, DEVELOPER, "project_1_bot_developer")
    mr(developer).discussions.update(thread.id, {"resolved": True})
    (stored,) = gitlab_standin.discussions(cast(gitlab_standin).mr)
    assert stored.resolved


def test_the_merge_request_author_may_resolve(gitlab_standin: GitLabStandIn) -> None:
    """GitLab lets the MR's author resolve threads on it whatever the role (maria wrote !1;
    here she has only Guest)."""
    scenario = cast(gitlab_standin)
    gitlab_standin.add_member(scenario.project, scenario.maintainer, GUEST)
    note = gitlab_standin.add_discussion(scenario.mr, author=scenario.bot, body="open")
    gl = gitlab.Gitlab(gitlab_standin.url, private_token=scenario.maintainer_token, timeout=2)
    mr(gl).discussions.update(note.discussion_id, {"resolved": True})
    assert gitlab_standin.discussions(scenario.mr)[0].resolved


def test_a_private_project_is_404_to_non_members(gitlab_standin: GitLabStandIn) -> None:
    """GitLab hides a private project from non-members with 404, not 403."""
    private = gitlab_standin.add_project("yaook/secret")
    stranger = gitlab.Gitlab(gitlab_standin.url,
                             private_token=cast(gitlab_standin).contributor_token, timeout=2)
    with pytest.raises(gitlab.GitlabGetError) as hidden:
        stranger.projects.get(private.id)
    assert hidden.value.response_code == 404
    gitlab_standin.add_member(private, cast(gitlab_standin).contributor, REPORTER)
    assert stranger.projects.get(private.id).id == private.id


def test_a_release_needs_developer(gitlab_standin: GitLabStandIn) -> None:
    """A Reporter's create is 403; a Developer's is 201; a Reporter sees no edit_url."""
    reporter = member(gitlab_standin, REPORTER, "project_1_bot_r")
    developer = member(gitlab_standin, DEVELOPER, "project_1_bot_d")
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        reporter.projects.get("yaook/k8s", lazy=True).releases.create(
            {"tag_name": "v1.0.0", "ref": "a" * 40})
    assert refused.value.response_code == 403
    created = developer.projects.get("yaook/k8s", lazy=True).releases.create(
        {"tag_name": "v1.0.0", "ref": "a" * 40})
    assert "edit_url" in created._links
    assert created.upcoming_release is False
    seen = reporter.projects.get("yaook/k8s", lazy=True).releases.get("v1.0.0")
    assert "edit_url" not in seen._links


def test_protected_tags_need_maintainer_and_403_comes_before_409(
        gitlab_standin: GitLabStandIn) -> None:
    """"Protected tags": only Maintainers create a v* tag, or a release of it; a Developer
    asking for a release that exists gets 403 (authorization first), a Maintainer 409."""
    scenario = cast(gitlab_standin)
    gitlab_standin.protect_tags(scenario.project, "v*")
    developer = member(gitlab_standin, DEVELOPER, "project_1_bot_dev")
    maintainer = member(gitlab_standin, MAINTAINER, "project_1_bot_maint")
    as_developer = developer.projects.get("yaook/k8s", lazy=True)
    as_maintainer = maintainer.projects.get("yaook/k8s", lazy=True)
    with pytest.raises(gitlab.GitlabCreateError) as tag:
        as_developer.tags.create({"tag_name": "v2.0.0", "ref": "a" * 40})
    assert tag.value.response_code == 403
    with pytest.raises(gitlab.GitlabCreateError) as release:
        as_developer.releases.create({"tag_name": "v2.0.0", "ref": "a" * 40})
    assert release.value.response_code == 403
    as_maintainer.releases.create({"tag_name": "v2.0.0", "ref": "a" * 40})
    assert as_maintainer.tags.get("v2.0.0").protected is True
    with pytest.raises(gitlab.GitlabCreateError) as again:
        as_developer.releases.create({"tag_name": "v2.0.0"})
    assert again.value.response_code == 403
    with pytest.raises(gitlab.GitlabCreateError) as exists:
        as_maintainer.releases.create({"tag_name": "v2.0.0"})
    assert exists.value.response_code == 409
    as_developer.tags.create({"tag_name": "rc-1", "ref": "a" * 40})  # not protected


JOB_REQUESTS = {
    "mr.get": ("GET", "/projects/1/merge_requests/1"),
    "mr.list": ("GET", "/projects/1/merge_requests"),
    "note.list": ("GET", "/projects/1/merge_requests/1/notes"),
    "tag.list": ("GET", "/projects/1/repository/tags"),
    "release.list": ("GET", "/projects/1/releases"),
    "discussion.list": ("GET", "/projects/1/merge_requests/1/discussions"),
    "user": ("GET", "/user"),
    "project.get": ("GET", "/projects/1"),
    "note.create": ("POST", "/projects/1/merge_requests/1/notes"),
}


@pytest.mark.parametrize("operation", sorted(JOB_REQUESTS))
def test_the_job_token_allowlist(gitlab_standin: GitLabStandIn, operation: str) -> None:
    """"Job token feature access": MR get/list, notes read, tags read and the Releases API
    take a job token; every other endpoint answers 401 as if no token had been sent."""
    method, path = JOB_REQUESTS[operation]
    answer = requests.request(method, f"{gitlab_standin.api_url}{path}", timeout=2,
                              headers={"JOB-TOKEN": cast(gitlab_standin).job_token},
                              json={"body": "from a job"} if method == "POST" else None)
    expected = 200 if operation in JOB_TOKEN_ALLOWLIST else 401
    assert answer.status_code == expected, answer.text


def test_a_body_of_quick_actions_only_is_202(gitlab_standin: GitLabStandIn,
                                             gitlab_client: gitlab.Gitlab) -> None:
    """"Notes API": a body made only of quick actions creates no note and answers 202."""
    answer = requests.post(f"{gitlab_standin.api_url}/projects/1/merge_requests/1/notes",
                           timeout=2, json={"body": "/label ~bug\n/approve"},
                           headers={"PRIVATE-TOKEN": cast(gitlab_standin).bot_token})
    assert answer.status_code == 202
    assert "commands_changes" in answer.json()
    assert gitlab_standin.notes(cast(gitlab_standin).mr) == []
    mr(gitlab_client).notes.create({"body": "text first\n/label ~bug"})
    assert len(gitlab_standin.notes(cast(gitlab_standin).mr)) == 1


def test_a_description_past_the_limit_is_400(gitlab_standin: GitLabStandIn,
                                             gitlab_client: gitlab.Gitlab) -> None:
    """Release descriptions, like note bodies, are capped at 1,000,000 characters."""
    releases = gitlab_client.projects.get("yaook/k8s", lazy=True).releases
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        releases.create({"tag_name": "v1.0.0", "ref": "a" * 40,
                         "description": "x" * (DESCRIPTION_MAX_CHARS + 1)})
    assert refused.value.response_code == 400
    releases.create({"tag_name": "v1.0.0", "ref": "a" * 40,
                     "description": "x" * DESCRIPTION_MAX_CHARS})


def test_pagination_links_ignore_the_host_header(gitlab_standin: GitLabStandIn) -> None:
    """Link headers name the instance's own URL, whatever Host the client sends."""
    for number in range(3):
        gitlab_standin.add_note(cast(gitlab_standin).mr, author=cast(gitlab_standin).bot,
                                body=f"n{number}")
    answer = requests.get(f"{gitlab_standin.api_url}/projects/1/merge_requests/1/notes",
                          params={"per_page": 1}, timeout=2,
                          headers={"Host": "evil.example:8080",
                                   "PRIVATE-TOKEN": cast(gitlab_standin).bot_token})
    assert answer.links["next"]["url"].startswith(f"{gitlab_standin.url}/api/v4/")
    assert "evil" not in answer.headers["Link"]


# -- 15.20: malformed requests get 400, never a hang-up ---------------------------------


def _raw(standin: GitLabStandIn, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", standin.port), timeout=3) as conn:
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.reliability("Faults")
@pytest.mark.parametrize("fault", [
    {"kind": "error", "path": "("},
    {"kind": "error", "method": 5},
    {"kind": "error", "method": ["GET"]},
    {"kind": "error", "times": "many"},
    {"kind": "error", "status": 99},
    {"kind": "rate_limit", "retry_after": -1},
    {"kind": "hang", "seconds": "long"},
    {"kind": "error", "after_commit": "yes"},
    {"kind": "melt"},
    {"path": "/notes"},
    {"kind": "error", "colour": "red"},
    ["not", "objects"],
], ids=repr)
def test_invalid_faults_are_400(gitlab_standin: GitLabStandIn, fault: Any) -> None:
    """The control endpoint accepts only valid fault parameters and says why it refuses."""
    answer = requests.post(f"{gitlab_standin.url}/-/standin/faults", json=fault, timeout=3)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]
    assert gitlab_standin.faults.pending() == []


@pytest.mark.reliability("Faults")
@pytest.mark.parametrize("length", [b"abc", b"-5", b"99999999999999999999"])
def test_an_unreadable_content_length_is_400(gitlab_standin: GitLabStandIn,
                                             length: bytes) -> None:
    """``Content-Length: abc`` gets a 400 answer instead of a closed connection."""
    answer = _raw(gitlab_standin, b"POST /api/v4/projects/1/merge_requests/1/notes HTTP/1.1\r\n"
                  b"Host: 127.0.0.1\r\nContent-Length: " + length + b"\r\n\r\nbody=hi")
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"Content-Length" in answer


@pytest.mark.reliability("Faults")
def test_invalid_json_to_the_control_endpoint_is_400(gitlab_standin: GitLabStandIn) -> None:
    """A body that is no JSON is refused with 400."""
    conn = http.client.HTTPConnection("127.0.0.1", gitlab_standin.port, timeout=3)
    conn.request("POST", "/-/standin/faults", body=b"{kind:", headers={
        "Content-Type": "application/json"})
    assert conn.getresponse().status == 400
    conn.close()


@pytest.mark.reliability("Secrets")
def test_a_private_token_in_the_body_is_not_logged(gitlab_standin: GitLabStandIn) -> None:
    """``private_token`` sent as a body parameter (JSON or form) never reaches the log."""
    secret = cast(gitlab_standin).maintainer_token
    url = f"{gitlab_standin.api_url}/projects/1/merge_requests/1/notes"
    requests.post(url, json={"body": "hi", "private_token": secret}, timeout=2)
    requests.post(url, data={"body": "hi", "private_token": secret}, timeout=2)
    requests.post(url, data=f"private_token={secret}&body=hi", timeout=2,
                  headers={"Content-Type": "text/plain"})
    logged = json.dumps([r.to_json() for r in gitlab_standin.requests.all()])
    assert len(gitlab_standin.requests) == 3
    assert secret not in logged


def test_opening_a_merge_request_needs_developer(gitlab_standin: GitLabStandIn) -> None:
    """"Create merge request" in the project itself needs Developer: a Reporter gets 403."""
    reporter = member(gitlab_standin, REPORTER, "project_1_bot_mr_reporter")
    developer = member(gitlab_standin, DEVELOPER, "project_1_bot_mr_developer")
    data = {"source_branch": "hotfix/main/v8.1.1", "target_branch": "main", "title": "Sync"}
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        reporter.projects.get("yaook/k8s", lazy=True).mergerequests.create(dict(data))
    assert refused.value.response_code == 403
    created = developer.projects.get("yaook/k8s", lazy=True).mergerequests.create(dict(data))
    assert created.title == "Sync"
