"""A hostile or broken "GitLab" on 127.0.0.1: the token stays home, every call ends in time.

Redirects to another port, endless or foreign pagination links, absurd
``Retry-After`` values, a body that trickles in, answers that are not GitLab's:
relbot ends within ``gitlab_timeout`` with one sentence, and the token never
reaches the second server (issue 11.2, 15.13).
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from relbot.comment import MARKER
from relbot.errors import ForgeError
from relbot.forge.credentials import Token
from relbot.forge.gitlab import Connection, GitLabMergeRequests, GitLabReleases
from relbot.forge.http import MAX_REQUESTS, retry_after_seconds
from tests.gitlab_fixtures import CutRepo

TOKEN = "glpat-hostile-test-token"  # a fake to look for
USER = {"id": 5, "username": "project_1_bot_relbot", "name": "relbot"}

Behaviour = Callable[["Handler"], None]


@dataclass
class Server:
    """A loopback HTTP server answering with ``behaviour``; it logs what it received."""

    behaviour: Behaviour
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _handle(self) -> None:
        owner: Server = self.server.owner
        owner.seen.append((self.command, self.path, dict(self.headers.items())))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        owner.behaviour(self)

    do_GET = do_POST = do_PUT = _handle

    def json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.raw(status, body, {"Content-Type": "application/json", **(headers or {})})

    def raw(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], Server]]:
    """Start loopback servers on demand; all are stopped at the end."""
    servers: list[Server] = []

    def start(behaviour: Behaviour) -> Server:
        server = Server(behaviour)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        httpd.owner = server  # type: ignore[attr-defined]
        server.httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        assert server.httpd is not None
        server.httpd.shutdown()
        server.httpd.server_close()


def notes_forge(url: str, timeout: float = 2.0) -> GitLabMergeRequests:
    return GitLabMergeRequests(Connection(url, Token(TOKEN, "RELBOT_MR_TOKEN", "mr"), None,
                                          timeout), "1")


def no_token(*servers: Server) -> None:
    for server in servers:
        for _, _, headers in server.seen:
            assert TOKEN not in json.dumps(headers)


hostile = pytest.mark.reliability("Secrets")
faults = pytest.mark.reliability("Faults")


@hostile
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_with_the_token(serve: Callable[[Behaviour], Server],
                                                   status: int) -> None:
    """GitLab "redirects" to another port: relbot stops there, with one sentence."""
    elsewhere = serve(lambda h: h.json(200, USER))
    home = serve(lambda h: h.raw(status, b"", {"Location": f"{elsewhere.url}/api/v4/user"}))
    with pytest.raises(ForgeError) as refused:
        notes_forge(home.url).bot_user_id()
    assert str(refused.value) == (
        f"GitLab answered {status} with a redirect to {elsewhere.url}/api/v4/user, which "
        "relbot does not follow with its token while looking up the token's user.")
    assert elsewhere.seen == []
    assert len(home.seen) == 1


@hostile
def test_a_redirected_create_is_not_followed(serve: Callable[[Behaviour], Server]) -> None:
    """A POST answered 307 is not re-sent anywhere, not even to the same host."""
    elsewhere = serve(lambda h: h.json(201, {}))
    home = serve(lambda h: h.raw(307, b"", {"Location": f"{elsewhere.url}/x"}))
    with pytest.raises(ForgeError, match="does not follow with its token while commenting"):
        notes_forge(home.url).create_note(1, "hello", marker=MARKER, author_id=5)
    assert elsewhere.seen == []
    assert [m for m, _, _ in home.seen] == ["POST"]


@hostile
def test_a_pagination_link_to_another_host_is_refused(
        serve: Callable[[Behaviour], Server]) -> None:
    """``Link: rel="next"`` naming another port: not followed, the token stays home."""
    elsewhere = serve(lambda h: h.json(200, []))
    home = serve(lambda h: h.json(200, [], {
        "Link": f'<{elsewhere.url}/api/v4/projects/1/merge_requests/1/discussions?page=2>; '
                'rel="next"'}))
    with pytest.raises(ForgeError) as refused:
        notes_forge(home.url).find_note(1, MARKER, 5)
    assert f"pointed to {elsewhere.url}, another host" in str(refused.value)
    assert elsewhere.seen == []
    no_token(elsewhere)


@faults
def test_endless_pages_are_bounded(serve: Callable[[Behaviour], Server]) -> None:
    """A server that always has a next page: relbot stops after MAX_REQUESTS, in time."""

    def endless(handler: Handler) -> None:
        page = int(handler.path.rsplit("page=", 1)[-1]) if "page=" in handler.path else 1
        home_url = f"http://127.0.0.1:{handler.server.server_address[1]}"
        handler.json(200, [], {"Link": f'<{home_url}/api/v4/projects/1/merge_requests/1/'
                                       f'discussions?page={page + 1}>; rel="next"'})

    home = serve(endless)
    started = time.monotonic()
    with pytest.raises(ForgeError) as refused:
        notes_forge(home.url, timeout=20).find_note(1, MARKER, 5)
    assert time.monotonic() - started < 20
    assert str(refused.value) == (f"GitLab kept answering with more pages after {MAX_REQUESTS}"
                                  " requests while searching the notes of !1.")
    assert len(home.seen) == MAX_REQUESTS


@faults
def test_retry_after_a_day_ends_at_once(serve: Callable[[Behaviour], Server]) -> None:
    """``Retry-After: 86400`` does not fit into gitlab_timeout: one sentence, no waiting."""
    home = serve(lambda h: h.raw(429, b"slow down", {"Retry-After": "86400"}))
    started = time.monotonic()
    with pytest.raises(ForgeError) as refused:
        notes_forge(home.url).bot_user_id()
    assert time.monotonic() - started < 1
    assert str(refused.value) == (
        "GitLab asked relbot to wait 86400 s (429 Too Many Requests), longer than "
        "gitlab_timeout (2 s) leaves while looking up the token's user.")


@faults
def test_retry_after_as_an_http_date_is_waited_out(serve: Callable[[Behaviour], Server],
                                                   ) -> None:
    """RFC 9110 allows an HTTP date: a date two seconds ahead is waited for, then the answer
    comes (python-gitlab alone would crash on int('Wed, ...'))."""
    answered: list[bool] = []

    def once(handler: Handler) -> None:
        if not answered:
            answered.append(True)
            when = email.utils.formatdate(time.time() + 2, usegmt=True)
            handler.raw(429, b"", {"Retry-After": when})
        else:
            handler.json(200, USER)

    home = serve(once)
    started = time.monotonic()
    assert notes_forge(home.url, timeout=5).bot_user_id() == 5
    assert 0.5 <= time.monotonic() - started < 5
    assert len(home.seen) == 2


def test_retry_after_values() -> None:
    """Seconds, HTTP dates (past ones are 0) and nonsense (None)."""
    now = 1_700_000_000.0
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now) == 30
    assert retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


@faults
def test_a_trickling_body_ends_within_the_deadline(serve: Callable[[Behaviour], Server],
                                                   ) -> None:
    """Headers at once, then a byte every 0.1 s: the call ends within about gitlab_timeout."""

    def trickle(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        try:
            for _ in range(1000):
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.1)
        except OSError:
            return

    home = serve(trickle)
    started = time.monotonic()
    with pytest.raises(ForgeError) as refused:
        notes_forge(home.url, timeout=1).bot_user_id()
    assert time.monotonic() - started < 2.5
    assert str(refused.value) == ("GitLab did not answer within 1 s while looking up the "
                                  "token's user.")


@faults
@pytest.mark.parametrize(("status", "body", "expected"), [
    (200, b"<html>not json</html>", "GitLab sent an answer relbot could not read while "
                                    "looking up the token's user."),
    (200, b"[]", "GitLab sent an answer relbot could not read while looking up the token's "
                 "user."),
    (200, b'{"username": "no id"}', "GitLab sent an answer relbot could not read while "
                                    "looking up the token's user."),
    (500, b"", "GitLab answered 500 while looking up the token's user: an empty answer."),
    (418, b'{"message": {"nested": ["odd"]}}', "GitLab answered 418 while looking up the "
                                               "token's user:"),
])
def test_malformed_answers_get_a_sentence(serve: Callable[[Behaviour], Server], status: int,
                                          body: bytes, expected: str) -> None:
    """Never "GitLab answered None", never a traceback."""
    home = serve(lambda h: h.raw(status, body, {"Content-Type": "application/json"}))
    with pytest.raises(ForgeError) as refused:
        notes_forge(home.url).bot_user_id()
    assert str(refused.value).startswith(expected)
    assert "None" not in str(refused.value)


@faults
def test_a_release_answer_without_its_fields(serve: Callable[[Behaviour], Server]) -> None:
    """A release lookup answered with an object that is no release: one sentence."""
    home = serve(lambda h: h.json(200, {"unexpected": True}))
    forge = GitLabReleases(Connection(home.url, Token(TOKEN, "RELBOT_RELEASE_TOKEN", "release"),
                                      None, 2.0), "1")
    with pytest.raises(ForgeError, match=r"^GitLab sent an answer relbot could not read while "
                                         r"looking up release v1\.0\.0\.$"):
        forge.get_release("v1.0.0")


@hostile
def test_in_ci_a_foreign_gitlab_url_is_refused(release_repo: CutRepo,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """In GitLab CI the token goes only to CI_SERVER_URL: a relbot.toml naming another
    GitLab is refused with one sentence before anything is committed or pushed."""
    before = release_repo.history()
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_SERVER_URL", "https://gitlab.example.org")
    result = release_repo.cut()
    assert result.code == 2, result.out + result.err
    assert result.err.strip() == (
        f"relbot: relbot.toml: gitlab_url = \"{release_repo.standin.url}\" is not the GitLab "
        "this job runs on (https://gitlab.example.org); in GitLab CI relbot sends its token "
        "only to CI_SERVER_URL, so remove gitlab_url or make it that address.")
    assert release_repo.history() == before
    assert len(release_repo.standin.requests) == 0
