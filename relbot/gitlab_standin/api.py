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

Permissions (``permissions.py``, each rule citing GitLab's documentation): a
private project is 404 to non-members; reads need Reporter there; commenting
needs Guest (anyone signed in on a public project); resolving a thread needs
Developer (or being the MR's author); editing a note, being its author; tags
and releases need Developer, and Maintainer where the tag is protected. The
role check comes before existence checks (403 before 409), as GitLab
authorizes first.

A CI/CD job token (``doc/ci/jobs/ci_job_token.md``, "Job token feature
access") acts with the role of the user who started the job, but only on the
endpoints of its allowlist (:data:`permissions.JOB_TOKEN_ALLOWLIST`: merge
requests get and list, their notes read, tags read, the Releases API). Every
other endpoint does not take a job token at all and answers ``401``, as to a
request without credentials. ``job_token_writes`` narrows the writes further
(``frozenset()`` refuses the Releases API writes too).
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
from relbot.gitlab_standin.permissions import JOB_TOKEN_ALLOWLIST, NO_ACCESS, RULES
from relbot.gitlab_standin.state import (
    DESCRIPTION_MAX_CHARS,
    ApiError,
    MergeRequest,
    Project,
    State,
    Token,
    User,
)

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


def paginate(request: ApiRequest, items: list[Any], base_url: str = "http://127.0.0.1",
             ) -> ApiResponse:
    """One page of ``items`` with GitLab's offset-pagination headers.

    ``page`` (default 1) and ``per_page`` (default 20, at most 100) as
    doc/api/rest/_index.md describes; the ``Link`` header lists ``prev``,
    ``next``, ``first`` and ``last`` in that order, built from the instance's
    configured URL (GitLab's ``external_url``, never the client's ``Host``
    header, which anybody can set), and ``X-Next-Page``/``X-Prev-Page`` are empty
    where there is no such page.
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
        return f"{base_url}{request.path}?{query}"

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
    op: str = ""

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
        """The project of the path, if the caller may see it (GitLab answers 404 for a
        private project the caller is no member of, not 403)."""
        project = self.state.project(self.args["id"])
        if project.visibility != "public" and self.level(project) < RULES["read"].role:
            raise ApiError(404, {"message": "404 Project Not Found"})
        return project

    def page(self, items: list[Any]) -> ApiResponse:
        """One page of ``items``, its links built from the instance's own URL."""
        return paginate(self.request, items, self.state.base_url)

    def can_update_releases(self, project: Project) -> bool:
        """Whether the caller may edit releases (the ``edit_url`` link is shown only then)."""
        return self.level(project) >= RULES["release.update"].role

    def level(self, project: Project) -> int:
        """The caller's role in ``project`` (a job token: its user's)."""
        user = self.caller.user
        return project.access_level(user.id) if user is not None else NO_ACCESS

    def require(self, operation: str, *, or_author_of: MergeRequest | None = None) -> None:
        """403 unless the caller's role allows ``operation`` (see permissions.RULES)."""
        project = self.state.project(self.args["id"])
        rule = RULES[operation]
        needed = rule.public if project.visibility == "public" else rule.role
        user = self.caller.user
        if or_author_of is not None and user is not None and or_author_of.author_id == user.id:
            return
        if self.level(project) < needed:
            raise forbidden()

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
    found = ctx.project()
    level = ctx.level(found) if ctx.caller.user is not None else None
    return ApiResponse(200, shapes.project(ctx.state, found, level))


def list_merge_requests(ctx: Context) -> ApiResponse:
    project = ctx.project()
    state = _choice(ctx.params, "state", ("opened", "closed", "locked", "merged", "all"), "all")
    source, target = ctx.params.get("source_branch"), ctx.params.get("target_branch")
    mrs = sorted((mr for (pid, _), mr in ctx.state.merge_requests.items()
                  if pid == project.id and state in ("all", mr.state)
                  and source in (None, mr.source_branch) and target in (None, mr.target_branch)),
                 key=lambda mr: (mr.created_at, mr.id), reverse=True)
    can_merge = ctx.caller.user is not None and not ctx.caller.is_job
    return ctx.page([shapes.merge_request(ctx.state, mr, can_merge=can_merge)
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
    return ctx.page([shapes.note(ctx.state, n) for n in notes])


def get_note(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    return ApiResponse(200, shapes.note(ctx.state, ctx.state.note(mr, ctx.args["note_id"])))


_QUICK_ACTION = re.compile(r"^/[a-z_]+\b")


def only_quick_actions(body: str) -> bool:
    """Whether every line of ``body`` is a quick action (``/label ~bug``, ``/close``).

    "Notes API", *Create new merge request note*: a body made only of quick
    actions runs them and creates no note; the API answers ``202 Accepted``.
    """
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    return bool(lines) and all(_QUICK_ACTION.match(line) for line in lines)


def _quick_actions_answer(body: str) -> ApiResponse:
    commands = [line.strip().split()[0][1:] for line in body.splitlines() if line.strip()]
    return ApiResponse(202, {"commands_changes": {},
                             "summary": [f"Applied /{c}." for c in commands]})


def create_note(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    body = _required(ctx.params, "body")
    if only_quick_actions(body):
        return _quick_actions_answer(body)
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
    return ctx.page([shapes.discussion(ctx.state, d)
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
    body = _required(ctx.params, "body")
    if only_quick_actions(body):
        return _quick_actions_answer(body)
    note = ctx.state.add_discussion(mr, author=ctx.user(), body=body)
    found = ctx.state.discussion(mr, note.discussion_id)
    return ApiResponse(201, shapes.discussion(ctx.state, found))


def resolve_discussion(ctx: Context) -> ApiResponse:
    _, mr = ctx.merge_request()
    ctx.require("discussion.resolve", or_author_of=mr)
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
        ctx.require("discussion.resolve", or_author_of=mr)
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
    return ctx.page([shapes.tag(ctx.state, project, t) for t in tags])


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


def _release(ctx: Context, project: Project, release: Any) -> dict[str, Any]:
    return shapes.release(ctx.state, project, release,
                          can_update=ctx.can_update_releases(project))


def list_releases(ctx: Context) -> ApiResponse:
    project = ctx.project()
    order_by = _choice(ctx.params, "order_by", ("released_at", "created_at"), "released_at")
    sort = _choice(ctx.params, "sort", ("asc", "desc"), "desc")
    releases = ctx.state.list_releases(project, order_by=order_by, sort=sort)
    return ctx.page([_release(ctx, project, r) for r in releases])


def get_release(ctx: Context) -> ApiResponse:
    project = ctx.project()
    release = ctx.state.release(project, ctx.args["tag_name"])
    return ApiResponse(200, _release(ctx, project, release))


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
    return ApiResponse(201, _release(ctx, project, release))


def update_release(ctx: Context) -> ApiResponse:
    project = ctx.project()
    description = ctx.params.get("description")
    release = ctx.state.update_release(
        project, ctx.args["tag_name"], name=ctx.params.get("name"),
        description=None if description is None else str(description),
        milestones=_list(ctx.params.get("milestones")),
        released_at=_datetime("released_at", ctx.params.get("released_at")))
    return ApiResponse(200, _release(ctx, project, release))


def delete_release(ctx: Context) -> ApiResponse:
    project = ctx.project()
    release = ctx.state.delete_release(project, ctx.args["tag_name"])
    return ApiResponse(200, _release(ctx, project, release))


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
    if len(str(ctx.params.get("description") or "")) > DESCRIPTION_MAX_CHARS:
        # the same 1,000,000-character limit as notes and releases
        raise ApiError(400, {"message": {"description": [
            f"is too long (maximum is {DESCRIPTION_MAX_CHARS} characters)"]}})
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
    Route("GET", ("version",), get_version, op="version"),
    Route("GET", ("user",), get_current_user, op="user"),
    Route("GET", ("users", ":user_id"), get_user, op="users.get"),
    Route("GET", _P, get_project, op="project.get"),
    Route("GET", (*_P, "merge_requests"), list_merge_requests, op="mr.list"),
    Route("POST", (*_P, "merge_requests"), create_merge_request, "merge_request.create",
          op="mr.create"),
    Route("GET", _MR, get_merge_request, op="mr.get"),
    Route("GET", (*_MR, "notes"), list_notes, op="note.list"),
    Route("POST", (*_MR, "notes"), create_note, "note.create", op="note.create"),
    Route("GET", (*_MR, "notes", ":note_id"), get_note, op="note.get"),
    Route("PUT", (*_MR, "notes", ":note_id"), update_note, "note.update", op="note.update"),
    Route("DELETE", (*_MR, "notes", ":note_id"), delete_note, "note.delete",
          op="note.delete"),
    Route("GET", (*_MR, "discussions"), list_discussions, op="discussion.list"),
    Route("POST", (*_MR, "discussions"), create_discussion, "discussion.create",
          op="discussion.create"),
    Route("GET", (*_MR, "discussions", ":discussion_id"), get_discussion,
          op="discussion.get"),
    Route("PUT", (*_MR, "discussions", ":discussion_id"), resolve_discussion,
          "discussion.resolve", op="discussion.resolve"),
    Route("POST", (*_MR, "discussions", ":discussion_id", "notes"), reply_to_discussion,
          "discussion.reply", op="discussion.reply"),
    Route("PUT", (*_MR, "discussions", ":discussion_id", "notes", ":note_id"),
          update_discussion_note, "discussion.update_note", op="discussion.update_note"),
    Route("GET", (*_P, "repository", "tags"), list_tags, op="tag.list"),
    Route("POST", (*_P, "repository", "tags"), create_tag, "tag.create", op="tag.create"),
    Route("GET", (*_P, "repository", "tags", ":tag_name"), get_tag, op="tag.get"),
    Route("DELETE", (*_P, "repository", "tags", ":tag_name"), delete_tag, "tag.delete",
          op="tag.delete"),
    Route("GET", (*_P, "releases"), list_releases, op="release.list"),
    Route("POST", (*_P, "releases"), create_release, "release.create", op="release.create"),
    Route("GET", (*_P, "releases", ":tag_name"), get_release, op="release.get"),
    Route("PUT", (*_P, "releases", ":tag_name"), update_release, "release.update",
          op="release.update"),
    Route("DELETE", (*_P, "releases", ":tag_name"), delete_release, "release.delete",
          op="release.delete"),
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
        if caller.is_job and (route.op not in JOB_TOKEN_ALLOWLIST or (
                route.write is not None and route.write not in self.job_token_writes)):
            # permissions.CI_JOB_AUTH_PAGE: endpoints off the job token's list do not take it
            # at all, so GitLab answers as to a request without credentials
            raise unauthorized()
        if route.write is not None:
            if caller.user is None or caller.token is None:
                raise unauthorized()
            if not caller.is_job and "api" not in caller.token.scopes:
                raise insufficient_scope()
        ctx = Context(self.state, request, caller, args, request.params())
        if "id" in args:
            ctx.project()  # 404 where the caller may not see it
            if route.write not in (None, "discussion.update_note", "discussion.resolve"):
                ctx.require(route.write)
        return route.handler(ctx)
