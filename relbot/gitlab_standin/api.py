"""The REST v4 endpoints of the stand-in: routing, authentication, pagination.

Everything here works on :class:`ApiRequest` and returns :class:`ApiResponse`,
without sockets, so the HTTP layer (``server.py``) only moves bytes and applies
faults.

Authentication, as GitLab does it:

* ``PRIVATE-TOKEN: <token>`` or ``Authorization: Bearer <token>`` (personal,
  project or OAuth token), or ``JOB-TOKEN: <token>`` (CI/CD job token); also the
  ``private_token``/``job_token`` query parameters.
* An unknown token is ``401 {"message":"401 Unauthorized"}``, whatever the
  endpoint. No token at all is anonymous: it may read a public project and
  nothing else.
* A token without the ``api`` scope (for example ``read_api``) may read but not
  write: ``403 {"error":"insufficient_scope", ...}``.

What a CI/CD job token may do (``doc/ci/jobs/ci_job_token.md``, "Job token
feature access"): of the endpoints modelled here, only the Releases API. The
stand-in lets a job token **read** everything (as an anonymous or public read
would) and refuses every **write** outside :data:`JOB_TOKEN_WRITES` with
``403 {"message":"403 Forbidden"}``:

* refused: posting, editing and deleting merge request notes; starting,
  replying to, editing and resolving merge request discussions; creating and
  deleting tags;
* allowed by default: creating, updating and deleting releases (the Releases API
  is on GitLab's list, and ``PUT .../releases/:tag_name`` accepts ``JOB-TOKEN``
  since GitLab 14.5). Pass ``job_token_writes=frozenset()`` to refuse those too.

Real GitLab does not use a job token at all on endpoints off its list, so it
answers such a write as it answers an anonymous one (``401``); the stand-in
answers ``403`` to make the refusal explicit. Callers should treat both as
"not allowed with this token".
"""

from __future__ import annotations

import json
import math
import re
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from relbot.gitlab_standin import shapes
from relbot.gitlab_standin.state import ApiError, MergeRequest, Project, State, Token, User

API_PREFIX = "/api/v4"
STANDIN_VERSION = {"version": "17.5.0-standin", "revision": "standin"}
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100

#: Writes a CI/CD job token may make (doc/ci/jobs/ci_job_token.md: the Releases API).
JOB_TOKEN_WRITES = frozenset({"release.create", "release.update", "release.delete"})



def unauthorized() -> ApiError:
    """GitLab's answer to missing or unknown credentials."""
    return ApiError(401, {"message": "401 Unauthorized"})


def forbidden() -> ApiError:
    """GitLab's answer to a caller who may not do this."""
    return ApiError(403, {"message": "403 Forbidden"})


def insufficient_scope() -> ApiError:
    """GitLab's answer to a write with a token that lacks the ``api`` scope."""
    return ApiError(403, {
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the "
                             "access token.",
        "scope": "api",
    })


@dataclass
class ApiRequest:
    """An HTTP request as the endpoints see it; header names are lower case."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    origin: str = "http://127.0.0.1"

    def params(self) -> dict[str, Any]:
        """Query and body parameters merged (the body wins), as Grape merges them."""
        merged: dict[str, Any] = {k: v[-1] for k, v in self.query.items()}
        if not self.body:
            return merged
        ctype = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json":
            try:
                data = json.loads(self.body)
            except ValueError:
                raise ApiError(400, {"error": "The request body is not valid JSON"}) from None
            if isinstance(data, dict):
                merged.update(data)
        elif ctype in ("application/x-www-form-urlencoded", ""):
            form = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
            merged.update({k: v[-1] for k, v in form.items()})
        return merged


@dataclass
class ApiResponse:
    """What to send back: a status, a JSON payload (None: no body) and headers."""

    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Caller:
    """Who is asking: the token's user, or nobody."""

    user: User | None = None
    token: Token | None = None

    @property
    def is_job(self) -> bool:
        """Whether the credentials are a CI/CD job token."""
        return self.token is not None and self.token.kind == "job"


def authenticate(state: State, request: ApiRequest) -> Caller:
    """The caller the request's credentials stand for; 401 for an unknown token."""
    headers = request.headers
    value: str | None = None
    job = False
    if "private-token" in headers:
        value = headers["private-token"]
    elif "authorization" in headers:
        scheme, _, credential = headers["authorization"].partition(" ")
        if scheme.lower() != "bearer":
            raise unauthorized()
        value = credential.strip()
    elif "job-token" in headers:
        value, job = headers["job-token"], True
    elif "private_token" in request.query:
        value = request.query["private_token"][-1]
    elif "job_token" in request.query:
        value, job = request.query["job_token"][-1], True
    if value is None:
        return Caller()
    token = state.tokens.get(value)
    if token is None or (token.kind == "job") != job:
        raise unauthorized()
    return Caller(user=state.users.get(token.user_id), token=token)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


def _boolean(params: Mapping[str, Any], name: str) -> bool | None:
    """A Boolean parameter as Grape coerces it (None: not given); 400 for anything else."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ApiError(400, {"error": f"{name} is invalid"})


def _datetime(name: str, value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise ApiError(400, {"error": f"{name} is invalid"}) from None


def _choice(params: Mapping[str, Any], name: str, allowed: tuple[str, ...],
            default: str) -> str:
    value = str(params.get(name, default))
    if value not in allowed:
        raise ApiError(400, {"error": f"{name} does not have a valid value"})
    return value


def _required(params: Mapping[str, Any], name: str) -> str:
    if name not in params or params[name] is None:
        raise ApiError(400, {"error": f"{name} is missing"})
    value = params[name]
    if not isinstance(value, str):
        raise ApiError(400, {"error": f"{name} is invalid"})
    if value == "":
        raise ApiError(400, {"error": f"{name} is empty"})
    return value


def _list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def paginate(request: ApiRequest, items: list[Any]) -> ApiResponse:
    """One page of ``items`` with GitLab's offset-pagination headers.

    ``page`` (default 1) and ``per_page`` (default 20, at most 100) as
    doc/api/rest/_index.md describes; the ``Link`` header lists ``prev``,
    ``next``, ``first`` and ``last`` in that order, built from the request's own
    URL (as GitLab does), and ``X-Next-Page``/``X-Prev-Page`` are empty where
    there is no such page.
    """
    params = {k: v[-1] for k, v in request.query.items()}
    try:
        page = int(params.get("page", 1))
    except ValueError:
        raise ApiError(400, {"error": "page is invalid"}) from None
    try:
        per_page = int(params.get("per_page", DEFAULT_PER_PAGE))
    except ValueError:
        raise ApiError(400, {"error": "per_page is invalid"}) from None
    page = max(page, 1)
    per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
    total = len(items)
    total_pages = max(1, math.ceil(total / per_page))
    chunk = items[(page - 1) * per_page: page * per_page]
    others = [(k, v) for k, values in request.query.items() if k not in ("page", "per_page")
              for v in values]

    def url(number: int) -> str:
        query = urlencode([*others, ("page", str(number)), ("per_page", str(per_page))])
        return f"{request.origin}{request.path}?{query}"

    links = []
    if page > 1:
        links.append(f'<{url(min(page - 1, total_pages))}>; rel="prev"')
    if page < total_pages:
        links.append(f'<{url(page + 1)}>; rel="next"')
    links.append(f'<{url(1)}>; rel="first"')
    links.append(f'<{url(total_pages)}>; rel="last"')
    headers = {
        "Link": ", ".join(links),
        "X-Next-Page": str(page + 1) if page < total_pages else "",
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Prev-Page": str(page - 1) if page > 1 else "",
        "X-Total": str(total),
        "X-Total-Pages": str(total_pages),
    }
    return ApiResponse(200, chunk, headers)


Handler = Callable[["Context"], ApiResponse]


@dataclass
class Route:
    """``method`` on a path pattern (``:name`` segments capture); ``write`` names the
    operation for the write checks (None: a read)."""

    method: str
    pattern: tuple[str, ...]
    handler: Handler
    write: str | None = None

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """The captured segments, or None where the path does not fit."""
        if len(segments) != len(self.pattern):
            return None
        captured: dict[str, str] = {}
        for want, got in zip(self.pattern, segments, strict=True):
            if want.startswith(":"):
                if not got:
                    return None
                captured[want[1:]] = got
            elif want != got:
                return None
        return captured


@dataclass
class Context:
    """One request being answered: the state, the request, its caller and path parameters."""

    state: State
    request: ApiRequest
    caller: Caller
    args: dict[str, str]
    params: dict[str, Any]

    def user(self) -> User:
        """The authenticated user; 401 for anonymous callers."""
        if self.caller.user is None:
            raise unauthorized()
        return self.caller.user

    def project(self) -> Project:
        """The project of the path, if the caller may see it."""
        project = self.state.project(self.args["id"])
        if self.caller.user is None and project.visibility != "public":
            raise ApiError(404, {"message": "404 Project Not Found"})
        return project

    def merge_request(self) -> tuple[Project, MergeRequest]:
        """The project and merge request of the path."""
        project = self.project()
        return project, self.state.merge_request(project, self.args["iid"])


# -- endpoints ------------------------------------------------------------------------------


def get_version(ctx: Context) -> ApiResponse:
    ctx.user()
    return ApiResponse(200, dict(STANDIN_VERSION))


def get_current_user(ctx: Context) -> ApiResponse:
    return ApiResponse(200, shapes.current_user(ctx.state, ctx.user()))


def get_user(ctx: Context) -> ApiResponse:
    try:
        user = ctx.state.user(int(ctx.args["user_id"]))
    except ValueError:
        raise ApiError(404, {"message": "404 User Not Found"}) from None
    return ApiResponse(200, shapes.user_basic(ctx.state, user))


def get_project(ctx: Context) -> ApiResponse:
    return ApiResponse(200, shapes.project(ctx.state, ctx.project()))


def list_merge_requests(ctx: Context) -> ApiResponse:
    project = ctx.project()
    state = _choice(ctx.params, "state", ("opened", "closed", "locked", "merged", "all"), "all")
    source, target = ctx.params.get("source_branch"), ctx.params.get("target_branch")
    mrs = sorted((mr for (pid, _), mr in ctx.state.merge_requests.items()
                  if pid == project.id and state in ("all", mr.state)
                  and source in (None, mr.source_branch) and target in (None, mr.target_branch)),
                 key=lambda mr: (mr.created_at, mr.id), reverse=True)
    can_merge = ctx.caller.user is not None and not ctx.caller.is_job
    return paginate(ctx.request, [shapes.merge_request(ctx.state, mr, can_merge=can_merge)
                                  for mr in mrs])


def get_merge_request(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    can_merge = ctx.caller.user is not None and not ctx.caller.is_job
    return ApiResponse(200, shapes.merge_request(ctx.state, mr, can_merge=can_merge))


def list_notes(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    sort = _choice(ctx.params, "sort", ("asc", "desc"), "desc")
    order_by = _choice(ctx.params, "order_by", ("created_at", "updated_at"), "created_at")
    notes = ctx.state.list_notes(mr, sort=sort, order_by=order_by)
    return paginate(ctx.request, [shapes.note(ctx.state, n) for n in notes])


def get_note(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    return ApiResponse(200, shapes.note(ctx.state, ctx.state.note(mr, ctx.args["note_id"])))


def create_note(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    body = _required(ctx.params, "body")
    internal = _bool(ctx.params.get("internal", ctx.params.get("confidential", False)))
    note = ctx.state.add_note(mr, author=ctx.user(), body=body, internal=internal)
    return ApiResponse(201, shapes.note(ctx.state, note))


def update_note(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    body = _required(ctx.params, "body")
    note = ctx.state.update_note(mr, ctx.args["note_id"], editor=ctx.user(), body=body)
    return ApiResponse(200, shapes.note(ctx.state, note))


def delete_note(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    ctx.state.delete_note(mr, ctx.args["note_id"], editor=ctx.user())
    return ApiResponse(204)


def list_discussions(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    return paginate(ctx.request, [shapes.discussion(ctx.state, d)
                                  for d in ctx.state.list_discussions(mr)])


def get_discussion(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    found = ctx.state.discussion(mr, ctx.args["discussion_id"])
    return ApiResponse(200, shapes.discussion(ctx.state, found))


def create_discussion(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    if ctx.params.get("position") is not None or any(k.startswith("position[")
                                                     for k in ctx.params):
        raise ApiError(400, {"message": "The GitLab stand-in does not model diff threads"})
    note = ctx.state.add_discussion(mr, author=ctx.user(), body=_required(ctx.params, "body"))
    found = ctx.state.discussion(mr, note.discussion_id)
    return ApiResponse(201, shapes.discussion(ctx.state, found))


def resolve_discussion(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    resolved = _boolean(ctx.params, "resolved")
    if resolved is None:
        raise ApiError(400, {"error": "resolved is missing"})
    found = ctx.state.resolve_discussion(mr, ctx.args["discussion_id"], user=ctx.user(),
                                         resolved=resolved)
    return ApiResponse(200, shapes.discussion(ctx.state, found))


def reply_to_discussion(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    note = ctx.state.reply(mr, ctx.args["discussion_id"], author=ctx.user(),
                           body=_required(ctx.params, "body"))
    return ApiResponse(201, shapes.discussion_note(ctx.state, note))


def _discussion_note(ctx: Context, mr: MergeRequest) -> str:
    """The note id of the path, 404 unless it belongs to the discussion of the path."""
    thread = ctx.state.discussion(mr, ctx.args["discussion_id"])
    note_id = ctx.args["note_id"]
    if not any(str(n.id) == note_id for n in thread.notes):
        raise ApiError(404, {"message": "404 Note Not Found"})
    return note_id


def update_discussion_note(ctx: Context) -> ApiResponse:
    """Edit the body or resolve the note: exactly one of ``body`` and ``resolved``."""
    _, mr = ctx.merge_request()
    note_id = _discussion_note(ctx, mr)
    given = [name for name in ("body", "resolved") if ctx.params.get(name) is not None]
    if not given:
        raise ApiError(400, {"error": "body, resolved are missing, exactly one parameter "
                                      "must be provided"})
    if len(given) > 1:
        raise ApiError(400, {"error": "body, resolved are mutually exclusive"})
    if given == ["body"]:
        note = ctx.state.update_note(mr, note_id, editor=ctx.user(),
                                     body=_required(ctx.params, "body"))
    else:
        resolved = _boolean(ctx.params, "resolved")
        assert resolved is not None  # noqa: S101 - checked above
        note = ctx.state.resolve_note(mr, note_id, user=ctx.user(), resolved=resolved)
    return ApiResponse(200, shapes.discussion_note(ctx.state, note))


def _version_key(name: str) -> list[tuple[int, int | str]]:
    return [(0, int(part)) if part.isdigit() else (1, part)
            for part in re.split(r"[.\-/+]", name.lstrip("v"))]


def list_tags(ctx: Context) -> ApiResponse:
    project = ctx.project()
    order_by = _choice(ctx.params, "order_by", ("name", "updated", "version"), "updated")
    sort = _choice(ctx.params, "sort", ("asc", "desc"), "desc")
    names = ctx.state.tag_names(project)
    search = str(ctx.params.get("search", ""))
    if search.startswith("^"):
        names = [n for n in names if n.startswith(search[1:])]
    elif search.endswith("$"):
        names = [n for n in names if n.endswith(search[:-1])]
    elif search:
        names = [n for n in names if search in n]
    if order_by == "name":
        names.sort()
    elif order_by == "version":
        names.sort(key=_version_key)
    # "updated": creation order, which is the order the stand-in learnt the tags in
    if sort == "desc":
        names.reverse()
    tags = [ctx.state.tag(project, n) for n in names]
    return paginate(ctx.request, [shapes.tag(ctx.state, project, t) for t in tags])


def get_tag(ctx: Context) -> ApiResponse:
    project = ctx.project()
    tag = ctx.state.tag(project, ctx.args["tag_name"])
    return ApiResponse(200, shapes.tag(ctx.state, project, tag))


def create_tag(ctx: Context) -> ApiResponse:
    project = ctx.project()
    name = _required(ctx.params, "tag_name")
    ref = _required(ctx.params, "ref")
    message = ctx.params.get("message") or None
    tag = ctx.state.add_tag(project, name, ref, message=message, user=ctx.user())
    return ApiResponse(201, shapes.tag(ctx.state, project, tag))


def delete_tag(ctx: Context) -> ApiResponse:
    project = ctx.project()
    ctx.state.delete_tag(project, ctx.args["tag_name"])
    return ApiResponse(204)


def list_releases(ctx: Context) -> ApiResponse:
    project = ctx.project()
    order_by = _choice(ctx.params, "order_by", ("released_at", "created_at"), "released_at")
    sort = _choice(ctx.params, "sort", ("asc", "desc"), "desc")
    releases = ctx.state.list_releases(project, order_by=order_by, sort=sort)
    return paginate(ctx.request, [shapes.release(ctx.state, project, r) for r in releases])


def get_release(ctx: Context) -> ApiResponse:
    project = ctx.project()
    release = ctx.state.release(project, ctx.args["tag_name"])
    return ApiResponse(200, shapes.release(ctx.state, project, release))


def _refuse_asset_links(params: Mapping[str, Any]) -> None:
    assets = params.get("assets")
    if isinstance(assets, dict) and assets.get("links"):
        raise ApiError(400, {"message": "The GitLab stand-in does not model release asset "
                                        "links"})


def create_release(ctx: Context) -> ApiResponse:
    project = ctx.project()
    tag_name = _required(ctx.params, "tag_name")
    _refuse_asset_links(ctx.params)
    release = ctx.state.add_release(
        project, tag_name, author=ctx.user(), name=ctx.params.get("name"),
        description=str(ctx.params.get("description") or ""),
        ref=ctx.params.get("ref") or None, tag_message=ctx.params.get("tag_message") or None,
        milestones=_list(ctx.params.get("milestones")),
        released_at=_datetime("released_at", ctx.params.get("released_at")))
    return ApiResponse(201, shapes.release(ctx.state, project, release))


def update_release(ctx: Context) -> ApiResponse:
    project = ctx.project()
    description = ctx.params.get("description")
    release = ctx.state.update_release(
        project, ctx.args["tag_name"], name=ctx.params.get("name"),
        description=None if description is None else str(description),
        milestones=_list(ctx.params.get("milestones")),
        released_at=_datetime("released_at", ctx.params.get("released_at")))
    return ApiResponse(200, shapes.release(ctx.state, project, release))


def delete_release(ctx: Context) -> ApiResponse:
    project = ctx.project()
    release = ctx.state.delete_release(project, ctx.args["tag_name"])
    return ApiResponse(200, shapes.release(ctx.state, project, release))


def create_merge_request(ctx: Context) -> ApiResponse:
    """``POST /projects/:id/merge_requests`` (GitLab docs, "Merge requests API", "Create MR"):
    ``source_branch``, ``target_branch`` and ``title`` are required; a second open MR for
    the same branches is ``409`` ("Another open merge request already exists ...")."""
    project = ctx.project()
    source = _required(ctx.params, "source_branch")
    target = _required(ctx.params, "target_branch")
    title = _required(ctx.params, "title")
    for (pid, _), mr in ctx.state.merge_requests.items():
        if (pid == project.id and mr.state == "opened" and mr.source_branch == source
                and mr.target_branch == target):
            raise ApiError(409, {"message": ["Another open merge request already exists for "
                                             f"this source branch: !{mr.iid}"]})
    labels = ctx.params.get("labels") or ""
    mr = ctx.state.add_merge_request(
        project, author=ctx.user(), title=title, source_branch=source, target_branch=target,
        labels=[label for label in str(labels).split(",") if label] if isinstance(
            labels, str) else _list(labels),
        description=str(ctx.params.get("description") or ""))
    return ApiResponse(201, shapes.merge_request(ctx.state, mr, can_merge=True))


_P = ("projects", ":id")
_MR = (*_P, "merge_requests", ":iid")
ROUTES: tuple[Route, ...] = (
    Route("GET", ("version",), get_version),
    Route("GET", ("user",), get_current_user),
    Route("GET", ("users", ":user_id"), get_user),
    Route("GET", _P, get_project),
    Route("GET", (*_P, "merge_requests"), list_merge_requests),
    Route("POST", (*_P, "merge_requests"), create_merge_request, "merge_request.create"),
    Route("GET", _MR, get_merge_request),
    Route("GET", (*_MR, "notes"), list_notes),
    Route("POST", (*_MR, "notes"), create_note, "note.create"),
    Route("GET", (*_MR, "notes", ":note_id"), get_note),
    Route("PUT", (*_MR, "notes", ":note_id"), update_note, "note.update"),
    Route("DELETE", (*_MR, "notes", ":note_id"), delete_note, "note.delete"),
    Route("GET", (*_MR, "discussions"), list_discussions),
    Route("POST", (*_MR, "discussions"), create_discussion, "discussion.create"),
    Route("GET", (*_MR, "discussions", ":discussion_id"), get_discussion),
    Route("PUT", (*_MR, "discussions", ":discussion_id"), resolve_discussion,
          "discussion.resolve"),
    Route("POST", (*_MR, "discussions", ":discussion_id", "notes"), reply_to_discussion,
          "discussion.reply"),
    Route("PUT", (*_MR, "discussions", ":discussion_id", "notes", ":note_id"),
          update_discussion_note, "discussion.update_note"),
    Route("GET", (*_P, "repository", "tags"), list_tags),
    Route("POST", (*_P, "repository", "tags"), create_tag, "tag.create"),
    Route("GET", (*_P, "repository", "tags", ":tag_name"), get_tag),
    Route("DELETE", (*_P, "repository", "tags", ":tag_name"), delete_tag, "tag.delete"),
    Route("GET", (*_P, "releases"), list_releases),
    Route("POST", (*_P, "releases"), create_release, "release.create"),
    Route("GET", (*_P, "releases", ":tag_name"), get_release),
    Route("PUT", (*_P, "releases", ":tag_name"), update_release, "release.update"),
    Route("DELETE", (*_P, "releases", ":tag_name"), delete_release, "release.delete"),
)


class Api:
    """Answers API requests from a :class:`State`."""

    def __init__(self, state: State, *, job_token_writes: frozenset[str] = JOB_TOKEN_WRITES):
        self.state = state
        self.job_token_writes = job_token_writes

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for ``method`` ``path`` with its captured (decoded) segments."""
        if not path.startswith(API_PREFIX + "/"):
            return None
        segments = [unquote(s) for s in path[len(API_PREFIX) + 1:].split("/")]
        for route in ROUTES:
            if route.method == method:
                args = route.match(segments)
                if args is not None:
                    return route, args
        return None

    def identify(self, request: ApiRequest) -> Caller | None:
        """Who the request's credentials stand for (None: an unknown token)."""
        try:
            return authenticate(self.state, request)
        except ApiError:
            return None

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer ``request`` (under the state's lock, so the answer is consistent)."""
        with self.state.lock:
            try:
                return self._handle(request)
            except ApiError as exc:
                return ApiResponse(exc.status, exc.body, dict(exc.headers))
            except Exception:  # a stand-in bug: answer 500 and show it, never hang up
                return ApiResponse(500, {"message": "500 Internal Server Error",
                                         "stand-in traceback": traceback.format_exc()})

    def _handle(self, request: ApiRequest) -> ApiResponse:
        found = self.route(request.method, request.path)
        if found is None:
            if any(self.route(m, request.path) for m in ("GET", "POST", "PUT", "DELETE")):
                return ApiResponse(405, {"error": "405 Not Allowed"})
            return ApiResponse(404, {"error": "404 Not Found"})
        route, args = found
        caller = authenticate(self.state, request)
        if route.write is not None:
            if caller.user is None or caller.token is None:
                raise unauthorized()
            if caller.is_job:
                if route.write not in self.job_token_writes:
                    raise forbidden()
            elif "api" not in caller.token.scopes:
                raise insufficient_scope()
        ctx = Context(self.state, request, caller, args, request.params())
        return route.handler(ctx)
