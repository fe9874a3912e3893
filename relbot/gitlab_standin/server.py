"""The stand-in served over HTTP on 127.0.0.1: :class:`GitLabStandIn`.

A ``ThreadingHTTPServer`` (standard library only) on an ephemeral port answers
GitLab REST v4 requests under ``/api/v4`` from a :class:`~.state.State`, logs
each request (tokens redacted), and applies planned :mod:`faults <.faults>`.

Control endpoints for tests and tools that are not in this process (no
credentials needed; the server listens on loopback only):

``GET /-/standin/requests`` / ``DELETE /-/standin/requests``
    The request log as JSON / forget it.
``GET /-/standin/faults``
    The faults that still have uses.
``POST /-/standin/faults``
    Plan a fault (or a list of them): ``{"kind": "error", "status": 500,
    "method": "POST", "path": "/notes$", "times": 1}``; the fields are those of
    :class:`~.faults.Fault`.
``DELETE /-/standin/faults``
    Forget every planned fault.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from relbot.gitlab_standin.api import JOB_TOKEN_WRITES, Api, ApiRequest, ApiResponse
from relbot.gitlab_standin.faults import Fault, FaultPlan
from relbot.gitlab_standin.requestlog import (
    RequestLog,
    RequestRecord,
    redact_body,
    redact_headers,
    redact_query,
)
from relbot.gitlab_standin.scenario import Scenario, seed_scenario
from relbot.gitlab_standin.state import (
    Commit,
    Discussion,
    MergeRequest,
    MergeRequestState,
    Note,
    Project,
    Release,
    State,
    Tag,
    TokenKind,
    User,
    Visibility,
)

CONTROL_PREFIX = "/-/standin/"
MAX_REQUEST_BODY = 16 * 1024 * 1024  # bytes; GitLab's own limits are lower
GITLAB_502_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head><title>GitLab is not responding (502)</title></head>\n"
    "<body><h1>502</h1><h2>Whoops, GitLab is taking too much time to respond.</h2></body>\n"
    "</html>\n"
)


def _error_body(status: int) -> tuple[bytes, str]:
    """The body GitLab answers ``status`` with when it fails."""
    if status in (502, 503, 504):
        return GITLAB_502_PAGE.replace("502", str(status)).encode(), "text/html; charset=utf-8"
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return json.dumps({"message": f"{status} {phrase}"}).encode(), "application/json"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, standin: GitLabStandIn, port: int) -> None:
        self.standin = standin
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (reset, broken pipe) is ordinary, as for GitLab: no
        traceback on stderr, where it would land in the output of the relbot under test."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the address."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        with self.connections_lock:
            self.connections.add(conn)
        return conn, addr

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitLabStandIn"
    timeout = 60
    server: _Server

    def setup(self) -> None:
        """Send small answers at once (no Nagle delay against the client's delayed ACK)."""
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log records what matters."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    # -- plumbing -------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        """The request body; None (after a 400 was sent) where its length is unreadable."""
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not raw.isdigit() or int(raw) > MAX_REQUEST_BODY:
            self.close_connection = True  # the rest of the stream cannot be framed
            self._send_json(400, {"error": "Content-Length must be a number of bytes up to "
                                           f"{MAX_REQUEST_BODY}"})
            return None
        length = int(raw)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("X-Request-Id", f"standin-{time.monotonic_ns():x}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status == HTTPStatus.NO_CONTENT:
            body = b""
        else:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None,
                   ) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self._send(status, body, headers=headers)

    def _drop(self, *, reset: bool) -> None:
        """End the connection without an answer (with an RST when ``reset``)."""
        self.close_connection = True
        if reset:
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            if not reset:
                self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()

    # -- requests -------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Answer the request; a stand-in bug is answered 500, never a hang-up."""
        try:
            self._answer()
        except Exception as exc:
            with contextlib.suppress(OSError):
                self.close_connection = True
                self._send_json(500, {"message": "500 Internal Server Error",
                                      "stand-in error": type(exc).__name__})

    def _answer(self) -> None:
        standin = self.server.standin
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        body = self._read_body()
        if body is None:
            return
        if split.path.startswith(CONTROL_PREFIX):
            self._control(split.path[len(CONTROL_PREFIX):], body)
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        host = self.headers.get("Host") or f"127.0.0.1:{standin.port}"
        request = ApiRequest(self.command, split.path, query, headers, body,
                             origin=f"http://{host}")
        caller = standin.api.identify(request)
        record = RequestRecord(
            method=self.command, path=split.path, query=redact_query(query),
            headers=redact_headers(dict(self.headers.items())), body=_parse_body(request),
            user=caller.user.username if caller and caller.user else None,
            token_kind=caller.token.kind if caller and caller.token else None)
        standin.requests.append(record)
        fault = standin.faults.take(self.command, split.path)
        if fault is not None:
            record.fault = fault.kind
        if fault is not None and not fault.after_commit:
            self._deliver(fault, record)
            return
        response: ApiResponse = standin.api.handle(request)
        record.committed = response.status < 300
        if fault is not None:
            self._deliver(fault, record)
            return
        record.status = response.status
        self._send_json(response.status, response.payload, response.headers)

    def _deliver(self, fault: Fault, record: RequestRecord) -> None:
        standin = self.server.standin
        if fault.kind == "error":
            body, ctype = _error_body(fault.status)
            if fault.body is not None:
                body = json.dumps(fault.body).encode()
                ctype = "application/json"
            record.status = fault.status
            self._send(fault.status, body, ctype)
        elif fault.kind == "rate_limit":
            record.status = 429
            reset_at = int(time.time()) + fault.retry_after
            self._send(429, b"Retry later\n", "text/plain", {
                "Retry-After": str(fault.retry_after),
                "RateLimit-Name": "throttle_authenticated_api",
                "RateLimit-Limit": "60",
                "RateLimit-Observed": "61",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(reset_at),
                "RateLimit-ResetTime": time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                                     time.gmtime(reset_at)),
            })
        elif fault.kind == "hang":
            standin.stopping.wait(min(fault.seconds, standin.max_hang))
            self._drop(reset=False)
        else:  # reset
            self._drop(reset=True)

    def _control(self, what: str, body: bytes) -> None:
        standin = self.server.standin
        method = self.command
        try:
            if what == "requests" and method == "GET":
                self._send_json(200, [r.to_json() for r in standin.requests.all()])
            elif what == "requests" and method == "DELETE":
                standin.requests.clear()
                self._send_json(204, None)
            elif what == "faults" and method == "GET":
                self._send_json(200, [f.to_json() for f in standin.faults.pending()])
            elif what == "faults" and method == "POST":
                data = json.loads(body or b"null")
                items = data if isinstance(data, list) else [data]
                if not all(isinstance(item, dict) for item in items):
                    raise ValueError("a fault is a JSON object")
                faults = [standin.faults.add(Fault.from_json(item)) for item in items]
                self._send_json(201, [f.to_json() for f in faults])
            elif what == "faults" and method == "DELETE":
                standin.faults.clear()
                self._send_json(204, None)
            else:
                self._send_json(404, {"error": f"no control endpoint {method} /-/standin/{what}"})
        except (ValueError, TypeError, re.error) as exc:
            self._send_json(400, {"error": str(exc)})


def _parse_body(request: ApiRequest) -> Any:
    """The request body for the log: JSON or form data parsed (credentials such as a
    ``private_token`` parameter redacted), else text."""
    return redact_body(_body_for_log(request))


def _body_for_log(request: ApiRequest) -> Any:
    if not request.body:
        return None
    text = request.body.decode("utf-8", "replace")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    if ctype == "application/x-www-form-urlencoded":
        return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    return text


class GitLabStandIn:
    """A stateful GitLab REST v4 stand-in on ``http://127.0.0.1:<port>``.

    Use it as a context manager (``with GitLabStandIn() as gitlab: ...``) or call
    :meth:`start`/:meth:`stop`. Point python-gitlab at :attr:`url`
    (``gitlab.Gitlab(standin.url, private_token=...)``).

    ``job_token_writes`` names the writes a CI/CD job token may make (see
    :mod:`.api`); ``max_hang`` bounds every ``hang`` fault, so that tests end.
    """

    def __init__(self, *, port: int = 0, job_token_writes: Iterable[str] = JOB_TOKEN_WRITES,
                 max_hang: float = 10.0, clock: Callable[[], datetime] | None = None) -> None:
        self.state = State(clock)
        self.api = Api(self.state, job_token_writes=frozenset(job_token_writes))
        self.faults = FaultPlan()
        self.requests = RequestLog()
        self.max_hang = max_hang
        self.stopping = threading.Event()
        self.scenario: Scenario | None = None
        self._wanted_port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._token_numbers = itertools.count(1)

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> GitLabStandIn:
        """Listen on 127.0.0.1 and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("the GitLab stand-in is running already")
        self.stopping.clear()
        self._server = _Server(self, self._wanted_port)
        self.state.base_url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"gitlab-standin-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: hung requests are released, open connections closed."""
        if self._server is None:
            return
        self.stopping.set()
        self._server.shutdown()
        self._server.drop_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> GitLabStandIn:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the stand-in listens on."""
        if self._server is None:
            raise RuntimeError("the GitLab stand-in is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The server URL for python-gitlab and ``CI_SERVER_URL`` (no ``/api/v4``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The API root, as ``CI_API_V4_URL`` holds it."""
        return f"{self.url}/api/v4"

    # -- seeding ----------------------------------------------------------------------

    def add_user(self, username: str, *, name: str | None = None, email: str | None = None,
                 bot: bool = False) -> User:
        """A user (``bot=True`` for a project access token's bot user)."""
        return self.state.add_user(username, name=name, email=email, bot=bot)

    def add_token(self, user: User, token: str | None = None, *, kind: TokenKind = "personal",
                  scopes: Iterable[str] = ("api",)) -> str:
        """A personal/project/OAuth token for ``user``; returns its value."""
        value = token or f"glpat-standin-{next(self._token_numbers)}"
        self.state.add_token(user, value, kind=kind, scopes=scopes)
        return value

    def add_job_token(self, user: User, token: str | None = None) -> str:
        """A CI/CD job token of a job ``user`` started; returns its value."""
        value = token or f"glcbt-standin-{next(self._token_numbers)}"
        self.state.add_token(user, value, kind="job")
        return value

    def add_project(self, path_with_namespace: str, *, name: str | None = None,
                    default_branch: str = "main", visibility: Visibility = "private",
                    forked_from: Project | None = None, repository: Path | None = None,
                    description: str = "") -> Project:
        """A project ``group/name``; a fork with ``forked_from``; git-backed with
        ``repository`` (tags, branches and commits then come from that repository)."""
        return self.state.add_project(path_with_namespace, name=name,
                                      default_branch=default_branch, visibility=visibility,
                                      forked_from=forked_from, repository=repository,
                                      description=description)

    def add_member(self, project: Project, user: User, access_level: int) -> None:
        """Give ``user`` a role in ``project`` (``permissions.DEVELOPER`` and so on)."""
        self.state.add_member(project, user, access_level)

    def protect_tags(self, project: Project, pattern: str) -> None:
        """Protect tags matching ``pattern`` (wildcards): only Maintainers create them."""
        with self.state.lock:
            project.protected_tags.append(pattern)

    def add_branch(self, project: Project, name: str, sha: str) -> None:
        """A branch of an in-memory project."""
        self.state.add_branch(project, name, sha)

    def add_commit(self, project: Project, sha: str, *, title: str,
                   message: str | None = None, author_name: str = "Stand-in Author",
                   author_email: str = "author@example.invalid",
                   parent_ids: Iterable[str] = ()) -> Commit:
        """Commit details (for tags and releases) of an in-memory project."""
        return self.state.add_commit(project, Commit(
            id=sha, title=title, message=message or title + "\n", parent_ids=list(parent_ids),
            author_name=author_name, author_email=author_email, committer_name=author_name,
            committer_email=author_email))

    def add_merge_request(self, project: Project, *, author: User, title: str = "Draft change",
                          iid: int | None = None, source_project: Project | None = None,
                          source_branch: str = "feature", target_branch: str | None = None,
                          labels: Iterable[str] = (), sha: str | None = None,
                          base_sha: str | None = None, description: str = "",
                          draft: bool = False, state: MergeRequestState = "opened",
                          ) -> MergeRequest:
        """A merge request into ``project`` (from ``source_project``, a fork, if given)."""
        return self.state.add_merge_request(
            project, author=author, title=title, iid=iid, source_project=source_project,
            source_branch=source_branch, target_branch=target_branch, labels=labels, sha=sha,
            base_sha=base_sha, description=description, draft=draft, state=state)

    def add_note(self, mr: MergeRequest, *, author: User, body: str, system: bool = False,
                 internal: bool = False, created_at: datetime | None = None) -> Note:
        """A note on ``mr`` written by ``author`` (or a ``system`` note)."""
        return self.state.add_note(mr, author=author, body=body, system=system,
                                   internal=internal, created_at=created_at)

    def add_discussion(self, mr: MergeRequest, *, author: User, body: str, system: bool = False,
                       created_at: datetime | None = None) -> Note:
        """A thread on ``mr`` started by ``author``; returns its first note, which is
        resolvable unless ``system`` (its ``discussion_id`` names the thread)."""
        return self.state.add_discussion(mr, author=author, body=body, system=system,
                                         created_at=created_at)

    def add_tag(self, project: Project, name: str, ref: str, *, message: str | None = None,
                ) -> Tag:
        """A tag at ``ref`` (a branch, a tag or a full SHA); annotated with ``message``."""
        return self.state.add_tag(project, name, ref, message=message)

    def add_release(self, project: Project, tag_name: str, *, author: User,
                    name: str | None = None, description: str = "",
                    ref: str | None = None) -> Release:
        """A release of ``tag_name`` (created from ``ref`` if the tag does not exist)."""
        return self.state.add_release(project, tag_name, author=author, name=name,
                                      description=description, ref=ref)

    def seed_scenario(self) -> Scenario:
        """Seed the usual cast (see :class:`~.scenario.Scenario`); kept in :attr:`scenario`."""
        self.scenario = seed_scenario(self)
        return self.scenario

    # -- inspection -------------------------------------------------------------------

    def notes(self, mr: MergeRequest) -> list[Note]:
        """Copies of the notes of ``mr``, oldest first."""
        return self.state.notes(mr)

    def discussions(self, mr: MergeRequest) -> list[Discussion]:
        """Copies of the discussions of ``mr`` with their notes, oldest first."""
        return self.state.discussions(mr)

    def find_release(self, project: Project, tag_name: str) -> Release | None:
        """The release of ``tag_name``, or None."""
        return self.state.find_release(project, tag_name)

    def find_tag(self, project: Project, name: str) -> Tag | None:
        """The tag ``name``, or None."""
        return self.state.find_tag(project, name)

    def ci_environment(self, mr: MergeRequest, *, token: str | None = None,
                       job_token: str | None = None,
                       token_variable: str = "RELBOT_MR_TOKEN",  # noqa: S107 - a name
                       event_type: str = "detached") -> dict[str, str]:
        """The variables GitLab CI sets in a merge request pipeline of ``mr``.

        ``token`` becomes ``token_variable`` (``RELBOT_MR_TOKEN``), ``job_token``
        ``CI_JOB_TOKEN``. A fork MR's pipeline runs in the fork: ``CI_PROJECT_ID`` is
        the source project, ``CI_MERGE_REQUEST_PROJECT_ID`` the target project. The MR's
        source branch is not protected ("Predefined CI/CD variables":
        ``CI_COMMIT_REF_PROTECTED``). ``event_type`` ``merged_result`` or
        ``merge_train`` adds ``CI_MERGE_REQUEST_SOURCE_BRANCH_SHA``, the MR's own head
        ("Merged results pipelines").
        """
        with self.state.lock:
            target = self.state.project(mr.project_id)
            source = self.state.project(mr.source_project_id)
            env = {
                "CI": "true",
                "GITLAB_CI": "true",
                "CI_SERVER_URL": self.url,
                "CI_API_V4_URL": self.api_url,
                "CI_PROJECT_ID": str(source.id),
                "CI_PROJECT_PATH": source.path_with_namespace,
                "CI_PIPELINE_SOURCE": "merge_request_event",
                "CI_MERGE_REQUEST_ID": str(mr.id),
                "CI_MERGE_REQUEST_IID": str(mr.iid),
                "CI_MERGE_REQUEST_PROJECT_ID": str(target.id),
                "CI_MERGE_REQUEST_PROJECT_PATH": target.path_with_namespace,
                "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": str(source.id),
                "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH": source.path_with_namespace,
                "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": mr.source_branch,
                "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": mr.target_branch,
                "CI_MERGE_REQUEST_DIFF_BASE_SHA": mr.base_sha,
                "CI_MERGE_REQUEST_LABELS": ",".join(mr.labels),
                "CI_MERGE_REQUEST_TITLE": mr.title,
                "CI_MERGE_REQUEST_EVENT_TYPE": event_type,
                "CI_COMMIT_REF_NAME": mr.source_branch,
                "CI_COMMIT_REF_PROTECTED": "false",
            }
            if event_type in ("merged_result", "merge_train"):
                env["CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"] = mr.sha
                env["CI_MERGE_REQUEST_TARGET_BRANCH_SHA"] = mr.base_sha
        if token is not None:
            env[token_variable] = token
        if job_token is not None:
            env["CI_JOB_TOKEN"] = job_token
        return env
