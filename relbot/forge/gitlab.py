"""GitLab through python-gitlab: releases of ``relbot cut``, the note of ``relbot mr check``.

Reads are retried on transient failures (5xx, resets); creates are never
retried blindly: after a failure relbot looks the object up first, because
GitLab may have committed the write before the connection broke (a 502 after
commit). Every operation has one deadline, ``gitlab_timeout``, for all its
requests, retries and ``Retry-After`` waits (see :mod:`relbot.forge.http`,
which also keeps the token on the configured host and off redirects). Tokens
come from :mod:`relbot.forge.credentials`. A 403 names the role or scope the
token lacks, after GitLab's "Roles and permissions" page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from relbot.config import Component, Config
from relbot.errors import ConfigError, ForgeError
from relbot.forge import ForgeForbidden, MergeRequestRef, Note, Release
from relbot.forge.credentials import (
    Purpose,
    Token,
    missing_token_reason,
    origin,
    resolve_token,
)
from relbot.secrets import mask, register

if TYPE_CHECKING:
    import gitlab
    from gitlab.v4.objects import Project

    from relbot.ci_env import CiEnv
    from relbot.forge.http import GuardedSession

T = TypeVar("T")
READ_RETRIES = 3
CREATE_ATTEMPTS = 3
TEXT_LIMIT = 1_000_000  # characters of a note body or release description (see shorten)
DEVELOPER = 30  # access level ("Members API": valid access levels)
# "Releases", Release permissions: Developer; a protected tag's release needs the right to
# create that tag, Maintainer by default ("Protected tags")
RELEASE_ROLE = "Developer (Maintainer where the tag is protected)"


@dataclass(frozen=True)
class Connection:
    """Where GitLab is and how relbot authenticates."""

    url: str
    token: Token | None
    job_token: str | None
    timeout: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", self.url.rstrip("/"))

    @property
    def has_api_token(self) -> bool:
        """A project or personal access token (a job token cannot post notes)."""
        return self.token is not None

    @property
    def token_variable(self) -> str:
        """The variable the token came from (for messages)."""
        return self.token.variable if self.token is not None else "RELBOT_GITLAB_TOKEN"


def _in_ci(environ: Mapping[str, str]) -> bool:
    return environ.get("GITLAB_CI") == "true"


def gitlab_url(config: Config, environ: Mapping[str, str]) -> str:
    """The GitLab to talk to: in GitLab CI always the job's own (``CI_SERVER_URL``).

    "Predefined CI/CD variables": ``CI_SERVER_URL`` is the base URL of the
    instance the job runs on. A ``gitlab_url`` that names another instance is
    refused there, so that no configuration can send the job's token elsewhere.
    """
    server = (environ.get("CI_SERVER_URL") or "").rstrip("/")
    configured = (config.gitlab_url or "").rstrip("/")
    if _in_ci(environ) and server:
        if configured and origin(configured) != origin(server):
            raise ConfigError(f"{config.source_name}: gitlab_url = \"{configured}\" is not the "
                              f"GitLab this job runs on ({server}); in GitLab CI relbot sends "
                              "its token only to CI_SERVER_URL, so remove gitlab_url or make "
                              "it that address.")
        return server
    url = configured or server
    if not url:
        raise ConfigError(f"{config.source_name}: forge = \"gitlab\" needs the GitLab URL: "
                          "set gitlab_url or run in GitLab CI (CI_SERVER_URL).")
    return url


def connection_from(config: Config, environ: Mapping[str, str], *,
                    purpose: Purpose = "mr") -> Connection:
    """GitLab URL and the token for ``purpose`` from the configuration and the variables the
    command layer hands in (a :class:`relbot.ci_env.CiEnv`'s mapping, or its choice of it)."""
    url = gitlab_url(config, environ)
    token = resolve_token(environ, purpose, config.gitlab_token_env)
    job_token = (environ.get("CI_JOB_TOKEN") or "").strip() or None
    register(job_token)
    return Connection(url, token, job_token, float(config.gitlab_timeout))


def client(connection: Connection, *, use_job_token: bool = False) -> gitlab.Gitlab:
    """A python-gitlab client that talks only to ``connection.url``, without redirects,
    blind retries or waits past the deadline (see :mod:`relbot.forge.http`)."""
    import gitlab

    from relbot.forge.http import GuardedSession  # requests: only where a client is made

    session = GuardedSession(connection.url, connection.timeout)
    options: dict[str, Any] = {"timeout": connection.timeout, "retry_transient_errors": False,
                               "session": session}
    if connection.token is not None and not use_job_token:
        return gitlab.Gitlab(connection.url, private_token=connection.token.value, **options)
    if connection.job_token:
        return gitlab.Gitlab(connection.url, job_token=connection.job_token, **options)
    return gitlab.Gitlab(connection.url, **options)


def _session(gl: gitlab.Gitlab) -> GuardedSession:
    from relbot.forge.http import GuardedSession

    session = gl.session
    assert isinstance(session, GuardedSession)  # noqa: S101 - client() makes it so
    return session


def gitlab_forge_for_release(config: Config, component: Component,
                             ci: CiEnv) -> GitLabReleases:
    """The forge that publishes ``component``'s releases."""
    connection = connection_from(config, ci.environ, purpose="release")
    project = config.gitlab_project or ci.project_id
    if not project:
        raise ConfigError(f"{config.source_name}: forge = \"gitlab\" needs the project: set "
                          "gitlab_project or run in GitLab CI (CI_PROJECT_ID).")
    if connection.token is None and not connection.job_token:
        reason = missing_token_reason(ci.environ, "release", config.gitlab_token_env)
        raise ConfigError(f"forge = \"gitlab\" cannot publish the release: {reason}; or use "
                          "--no-push to stop after the tag.")
    return GitLabReleases(connection, project)


def is_transient(exc: BaseException) -> bool:
    """A failure after which the request may or may not have taken effect."""
    import requests
    from gitlab.exceptions import GitlabError

    from relbot.forge.http import GuardError

    if isinstance(exc, GuardError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout
                  | requests.exceptions.ChunkedEncodingError):
        return True
    if isinstance(exc, GitlabError):
        code = exc.response_code or 0
        return code >= 500
    return False


def is_timeout(exc: BaseException) -> bool:
    """GitLab did not answer within the configured timeout (connecting or reading)."""
    import requests

    return isinstance(exc, requests.exceptions.Timeout)


def is_not_found(exc: BaseException) -> bool:
    """Exactly GitLab's 404, nothing else."""
    from gitlab.exceptions import GitlabError

    return isinstance(exc, GitlabError) and exc.response_code == 404


def is_forbidden(exc: BaseException) -> bool:
    """Exactly GitLab's 403."""
    from gitlab.exceptions import GitlabError

    return isinstance(exc, GitlabError) and exc.response_code == 403


@dataclass(frozen=True)
class Call:
    """One operation on GitLab, for its error sentence: what, how long, with which token,
    and the least role GitLab's permissions page names for it."""

    action: str
    timeout: float
    token: Token | None = None
    role: str | None = None


def _scope_of(exc: BaseException) -> str | None:
    """The scope a 403 ``insufficient_scope`` answer names (OAuth-style error body)."""
    body = getattr(exc, "response_body", None)
    if not body:
        return None
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    if isinstance(data, dict) and data.get("error") == "insufficient_scope":
        scope = data.get("scope")
        return str(scope) if scope else "api"
    return None


def describe(exc: BaseException, call: Call) -> ForgeError:
    """One clear sentence about a failed GitLab request, with no secret in it."""
    import requests
    from gitlab.exceptions import GitlabAuthenticationError, GitlabError, GitlabParsingError

    from relbot.forge.http import GuardError

    action, timeout = call.action, call.timeout
    variable = call.token.variable if call.token else "the token variable"
    error: type[ForgeError] = ForgeError
    if isinstance(exc, GuardError):
        text = f"{exc} while {action}"
    elif isinstance(exc, requests.exceptions.Timeout):  # DeadlineExceeded too
        text = f"GitLab did not answer within {timeout:g} s while {action}"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        text = f"GitLab could not be reached while {action}"
    elif isinstance(exc, GitlabAuthenticationError):
        text = (f"GitLab refused the token in {variable} while {action} (401): it is wrong, "
                "expired or revoked")
    elif isinstance(exc, GitlabParsingError) or (isinstance(exc, GitlabError)
                                                 and exc.response_code is None):
        text = f"GitLab sent an answer relbot could not read while {action}"
    elif isinstance(exc, GitlabError) and exc.response_code == 403:
        error = ForgeForbidden
        scope = _scope_of(exc)
        if scope:
            text = (f"GitLab refused {action} (403): the token in {variable} lacks the scope "
                    f"{scope}")
        elif call.role:
            text = (f"GitLab refused {action} (403): the token in {variable} lacks the role "
                    f"this needs, {call.role} or higher")
        else:
            text = f"GitLab refused {action} (403): the token in {variable} may not do this"
    elif isinstance(exc, GitlabError):
        detail = exc.error_message if isinstance(exc.error_message, str) else str(exc)
        text = f"GitLab answered {exc.response_code} while {action}: {_one_line(detail)}"
    elif isinstance(exc, KeyError | TypeError | ValueError | AttributeError):
        text = f"GitLab sent an answer relbot could not read while {action}"
    else:
        text = f"GitLab request failed while {action}: {exc}"
    return error(mask(text.rstrip(".") + "."))


def _one_line(detail: str) -> str:
    """An error body as one short line: an HTML error page becomes its title."""
    import re

    title = re.search(r"<title>(.*?)</title>", detail, re.I | re.S)
    if title:
        detail = title.group(1)
    elif detail.lstrip().startswith("<"):
        detail = re.sub(r"<[^>]+>", " ", detail)
    detail = " ".join(detail.split())
    if not detail:
        return "an empty answer"
    return detail[:200] + ("…" if len(detail) > 200 else "")


# What an answer that does not look like GitLab's documented one raises in the code below.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def read(call: Call, fetch: Callable[[], T]) -> T:
    """A read, retried on transient failures; errors become one ForgeError."""
    from gitlab.exceptions import GitlabError
    from requests.exceptions import RequestException

    last: BaseException | None = None
    for _ in range(READ_RETRIES):
        try:
            return fetch()
        except (GitlabError, RequestException) as exc:
            if is_not_found(exc) or not is_transient(exc) or is_timeout(exc):
                raise
            last = exc
    assert last is not None  # noqa: S101 - the loop ran at least once
    raise describe(last, call) from None


def create_once(call: Call, create: Callable[[], T], lookup: Callable[[], T | None]) -> T:
    """Create an object; after a transient failure, look it up before trying again.

    After a timeout the look-up is the last request: the object is returned if
    the create went through, else the timeout is reported.
    """
    from gitlab.exceptions import GitlabError
    from requests.exceptions import RequestException

    last: BaseException | None = None
    for _ in range(CREATE_ATTEMPTS):
        try:
            return create()
        except (GitlabError, RequestException, *MALFORMED) as exc:
            if not is_transient(exc):
                raise describe(exc, call) from None
            last = exc
        existing = lookup()
        if existing is not None:
            return existing
        if is_timeout(last):
            break
    assert last is not None  # noqa: S101 - the loop ran at least once
    raise describe(last, call) from None


def guarded(call: Call, fetch: Callable[[], T]) -> T:
    """A read whose failures, after its retries, become one ForgeError."""
    from gitlab.exceptions import GitlabError
    from requests.exceptions import RequestException

    try:
        return read(call, fetch)
    except (GitlabError, RequestException, *MALFORMED) as exc:
        raise describe(exc, call) from None


def shorten(text: str, link: str | None, what: str) -> str:
    """``text`` cut to GitLab's limit of :data:`TEXT_LIMIT` characters, ending with a link.

    GitLab refuses longer note bodies and release descriptions with 400 ("Notes
    API": *body ... Limited to 1,000,000 characters*; "Releases API":
    *description*, the same limit of the description field).
    """
    if len(text) <= TEXT_LIMIT:
        return text
    where = f": {link}" if link else "."
    footer = (f"\n\n…\n\n**Shortened**: the {what} is longer than the {TEXT_LIMIT:,} characters "
              f"GitLab allows here; the full text is at {link}" if link else
              f"\n\n…\n\n**Shortened**: the {what} is longer than the {TEXT_LIMIT:,} characters "
              f"GitLab allows here{where}")
    head = text[:TEXT_LIMIT - len(footer) - 8]
    cut = head.rfind("\n")
    if cut > 0:
        head = head[:cut]
    if head.count("```") % 2:
        head += "\n```"
    return head + footer


class GitLabReleases:
    """GitLab Releases of one project."""

    name = "gitlab"

    def __init__(self, connection: Connection, project: str | int) -> None:
        self.connection = connection
        self.project_ref = project
        self._gl: gitlab.Gitlab | None = None
        self._project: Project | None = None

    @property
    def gl(self) -> gitlab.Gitlab:
        """The client (built on first use)."""
        if self._gl is None:
            self._gl = client(self.connection)
        return self._gl

    @property
    def project(self) -> Project:
        """The project, without a request (python-gitlab's lazy object)."""
        if self._project is None:
            self._project = self.gl.projects.get(self.project_ref, lazy=True)
        return self._project

    def _call(self, action: str, role: str | None = "Developer") -> Call:
        _session(self.gl).start()
        return Call(action, self.connection.timeout, self.connection.token, role)

    def verify_release_access(self) -> None:
        """One cheap request before anything is pushed: the token is valid and may release.

        ``GET /projects/:id`` ("Projects API": *Get a single project*) answers 401
        for a wrong or expired token and shows the token user's role in
        ``permissions`` (access levels: "Members API", *Roles*: 30 Developer, 40
        Maintainer). Creating a release needs Developer ("Roles and permissions":
        *Create, edit, and delete releases*); pushing to a protected branch needs
        what the branch allows, Maintainer by default.
        """
        call = self._call(f"checking the release token on project {self.project_ref}",
                          role="Developer")
        variable = self.connection.token_variable

        def fetch() -> int | None:
            data = self.gl.http_get(f"/projects/{_encode(self.project_ref)}")
            if not isinstance(data, dict):
                raise TypeError("not a project")
            permissions = data.get("permissions") or {}
            levels = [int((permissions.get(kind) or {}).get("access_level") or 0)
                      for kind in ("project_access", "group_access")]
            return max(levels) if permissions else None

        if self.connection.token is None:
            return  # a job token: GitLab checks the user who started the job
        level = guarded(call, fetch)
        if level is not None and level < DEVELOPER:
            raise ForgeForbidden(f"The token in {variable} has too low a role in "
                                 f"{self.project_ref} to release: creating a release needs "
                                 "Developer or higher, pushing to a protected branch usually "
                                 "Maintainer; nothing was pushed.")

    def get_release(self, tag: str) -> Release | None:
        """The release of ``tag``, or ``None`` on GitLab's 404."""
        call = self._call(f"looking up release {tag}", role="Reporter")

        def fetch() -> Release | None:
            from gitlab.exceptions import GitlabGetError

            try:
                release = self.project.releases.get(tag)
            except GitlabGetError as exc:
                if is_not_found(exc):
                    return None
                raise
            return _release(release)

        return guarded(call, fetch)

    def _web_url(self) -> str | None:
        """The project's page, for the link of a shortened description."""
        try:
            data = self.gl.http_get(f"/projects/{_encode(self.project_ref)}")
        except Exception:
            return None
        url = data.get("web_url") if isinstance(data, dict) else None
        return str(url) if url else None

    def ensure_release(self, tag: str, name: str, description: str) -> Release:
        """Create the release, or bring an existing one to this name and text."""
        if len(description) > TEXT_LIMIT:
            web = self._web_url()
            description = shorten(description, f"{web}/-/tags/{tag}" if web else None,
                                  "release notes")
        existing = self.get_release(tag)
        if existing is not None:
            return self._update(existing, name, description)
        call = self._call(f"creating release {tag}", role=RELEASE_ROLE)

        def create() -> Release:
            from gitlab.exceptions import GitlabCreateError

            try:
                created = self.project.releases.create(
                    {"tag_name": tag, "name": name, "description": description},
                    retry_transient_errors=False, obey_rate_limit=False)
            except GitlabCreateError as exc:
                if exc.response_code == 409:  # made by an earlier, interrupted attempt
                    found = self.get_release(tag)
                    if found is not None:
                        return found
                raise
            return _release(created)

        release = create_once(call, create, lambda: self.get_release(tag))
        return self._update(release, name, description)

    def _update(self, release: Release, name: str, description: str) -> Release:
        if release.name == name and release.description == description:
            return release
        call = self._call(f"updating release {release.tag}", role=RELEASE_ROLE)

        def update() -> Release:
            self.project.releases.update(release.tag, {"name": name,
                                                       "description": description},
                                         retry_transient_errors=True, obey_rate_limit=False,
                                         max_retries=READ_RETRIES)
            return Release(release.tag, name, description, release.url)

        return guarded(call, update)

    # -- merge-back and sync merge requests (helper "release") ----------------------------

    def find_merge_request(self, source: str, target: str) -> MergeRequestRef | None:
        """The open MR from ``source`` to ``target`` (GitLab docs, "Merge requests API":
        ``GET /projects/:id/merge_requests?source_branch=&target_branch=&state=opened``)."""
        call = self._call(f"looking up the merge request {source} -> {target}",
                          role="Reporter")

        def search() -> MergeRequestRef | None:
            found = self.project.mergerequests.list(source_branch=source, target_branch=target,
                                                    state="opened", get_all=False)
            return _merge_request(found[0]) if found else None

        return guarded(call, search)

    def ensure_merge_request(self, source: str, target: str, title: str, description: str,
                             labels: tuple[str, ...]) -> MergeRequestRef | None:
        """The open MR from ``source`` to ``target``: kept if it exists, else created once
        (``POST /projects/:id/merge_requests``, Developer role per the same page)."""
        existing = self.find_merge_request(source, target)
        if existing is not None:
            return existing

        call = self._call(f"opening the merge request {source} -> {target}",
                          role="Developer")
        description = shorten(description, None, "description")

        def create() -> MergeRequestRef:
            created = self.project.mergerequests.create(
                {"source_branch": source, "target_branch": target, "title": title,
                 "description": description, "labels": ",".join(labels)},
                retry_transient_errors=False, obey_rate_limit=False)
            return _merge_request(created)

        return create_once(call, create, lambda: self.find_merge_request(source, target))


def _encode(ref: str | int) -> str:
    from urllib.parse import quote

    return quote(str(ref), safe="")


def _merge_request(obj: Any) -> MergeRequestRef:
    attrs = obj.attributes if hasattr(obj, "attributes") else dict(obj)
    return MergeRequestRef(int(attrs.get("iid", 0)), str(attrs.get("source_branch", "")),
                           str(attrs.get("target_branch", "")), attrs.get("web_url"))


def _release(obj: Any) -> Release:
    attrs = obj.attributes if hasattr(obj, "attributes") else dict(obj)
    links = attrs.get("_links") or {}
    return Release(str(attrs["tag_name"]), attrs.get("name") or "",
                   attrs.get("description") or "", links.get("self"))


_PROJECT_BOT = re.compile(r"^project_(\d+)_bot(?:_[0-9a-z]+)?\d*$")


def is_project_bot(author: Mapping[str, Any], project_id: int | None) -> bool:
    """Whether ``author`` is a bot user of ``project_id``'s access tokens.

    "Project access tokens", *Bot users for projects*: each token has its own bot
    user, named ``project_{project_id}_bot_{random_string}`` (older GitLab:
    ``project_{project_id}_bot{n}``). A rotated or replaced token is a new user.
    """
    match = _PROJECT_BOT.match(str(author.get("username") or ""))
    if match is None or project_id is None:
        return False
    return int(match.group(1)) == project_id


class GitLabMergeRequests:
    """relbot's thread on merge requests of one project (discussions API).

    A discussion rather than a plain note, so that it can be resolved: a
    project that requires resolved threads cannot merge past a failing check.
    Roles ("Roles and permissions"): commenting needs Guest on a public project
    (Reporter on a private one), resolving a thread needs Developer.
    """

    def __init__(self, connection: Connection, project: str | int,
                 missing_token: str | None = None, job_url: str | None = None) -> None:
        self.connection = connection
        self.project_ref = project
        self.missing_token = missing_token or "no access token"
        self.job_url = job_url  # CI_JOB_URL: where a shortened report points for the rest
        self._gl: gitlab.Gitlab | None = None

    @property
    def gl(self) -> gitlab.Gitlab:
        """The client (built on first use)."""
        if self._gl is None:
            self._gl = client(self.connection)
        return self._gl

    def prepare(self) -> None:
        """Build the client now, where an access token will use it: python-gitlab is
        imported in the calling thread, before :class:`relbot.forge.PrefetchedNotes`
        starts its look-ups in another."""
        if self.connection.has_api_token:
            client_now = self.gl
            assert client_now is not None  # noqa: S101 - the property builds it

    def _call(self, action: str, role: str | None = None) -> Call:
        _session(self.gl).start()
        return Call(action, self.connection.timeout, self.connection.token, role)

    def _mr(self, iid: int) -> Any:
        return self.gl.projects.get(self.project_ref, lazy=True).mergerequests.get(
            iid, lazy=True)

    def bot_user_id(self) -> int | None:
        """The token's user; ``None`` without an access token (job tokens cannot post)."""
        if not self.connection.has_api_token:
            return None
        call = self._call("looking up the token's user")

        def auth() -> int:
            self.gl.auth()
            assert self.gl.user is not None  # noqa: S101 - auth() sets it or raises
            return int(self.gl.user.id)

        return guarded(call, auth)

    def find_note(self, iid: int, marker: str, author_id: int) -> Note | None:
        """The first note of a thread that carries ``marker``, by ``author_id`` or, failing
        that, by another bot user of the project (an earlier, since replaced token)."""
        call = self._call(f"searching the notes of !{iid}", role="Reporter")

        def search() -> Note | None:
            takeover: Note | None = None
            for discussion in self._mr(iid).discussions.list(iterator=True, per_page=100):
                notes = discussion.attributes.get("notes") or []
                if not notes:
                    continue
                first = notes[0]
                if first.get("system") or marker not in (first.get("body") or ""):
                    continue
                author = first.get("author") or {}
                if author.get("id") == author_id:
                    return _note(discussion.id, first)
                project_id = first.get("project_id")
                if takeover is None and is_project_bot(
                        author, int(project_id) if project_id is not None else None):
                    takeover = _note(discussion.id, first)
            return takeover

        return guarded(call, search)

    def fit(self, body: str) -> str:
        """``body`` cut to GitLab's note limit, as :meth:`create_note` and
        :meth:`update_note` send it (so an unchanged long report compares equal)."""
        return shorten(body, self.job_url, "report")

    def _limit(self, body: str) -> str:
        return self.fit(body)

    def create_note(self, iid: int, body: str, *, marker: str, author_id: int) -> Note:
        """Start relbot's thread; a transient failure is followed by a look-up, not a retry."""
        call = self._call(f"commenting on !{iid}", role="Reporter")
        body = self._limit(body)

        def create() -> Note:
            discussion = self._mr(iid).discussions.create({"body": body},
                                                          retry_transient_errors=False,
                                                          obey_rate_limit=False)
            return _note(discussion.id, discussion.attributes["notes"][0])

        def lookup() -> Note | None:
            found = self.find_note(iid, marker, author_id)
            return found if found is not None and found.author_id == author_id else None

        return create_once(call, create, lookup)

    def update_note(self, iid: int, note: Note, body: str) -> Note:
        """Rewrite relbot's note in place (PUT is idempotent, so it may be retried).

        Only a note's author may edit it ("Notes API": *Modify existing merge
        request note*); a note of a replaced token's bot answers 403.
        """
        call = self._call(f"updating the note on !{iid}", role="its author")
        body = self._limit(body)

        def update() -> Note:
            discussion = self._mr(iid).discussions.get(note.discussion_id, lazy=True)
            discussion.notes.update(note.id, {"body": body}, retry_transient_errors=True,
                                    obey_rate_limit=False, max_retries=READ_RETRIES)
            return Note(note.id, note.discussion_id, body, note.author_id, note.resolved)

        return guarded(call, update)

    def set_resolved(self, iid: int, note: Note, resolved: bool) -> None:
        """Resolve relbot's thread when all is well, reopen it when not (needs Developer)."""
        call = self._call(f"{'resolving' if resolved else 'reopening'} the thread on !{iid}",
                          role="Developer")

        def update() -> None:
            self._mr(iid).discussions.update(note.discussion_id, {"resolved": resolved},
                                             retry_transient_errors=True,
                                             obey_rate_limit=False,
                                             max_retries=READ_RETRIES)

        guarded(call, update)


def _note(discussion_id: str, data: Mapping[str, Any]) -> Note:
    return Note(int(data["id"]), str(discussion_id), str(data.get("body") or ""),
                int((data.get("author") or {}).get("id") or 0), bool(data.get("resolved")))


def gitlab_merge_requests(config: Config, project: str | None, env: Mapping[str, str],
                          ci: CiEnv) -> GitLabMergeRequests:
    """The MR side of GitLab for the MR check (project from CI when not given).

    ``env``: the variables ``relbot.mr_command`` chose (URL, token) from ``ci``,
    which names the project and says why a token is missing.
    """
    connection = connection_from(config, env, purpose="mr")
    ref = project or config.gitlab_project or ci.mr_project
    if not ref:
        raise ConfigError(f"{config.source_name}: the MR's project is unknown: run in a "
                          "merge-request pipeline (CI_MERGE_REQUEST_PROJECT_ID) or set "
                          "gitlab_project.")
    missing = None
    if connection.token is None:
        missing = missing_token_reason(ci.environ, "mr", config.gitlab_token_env)
    return GitLabMergeRequests(connection, ref, missing,
                               (ci.environ.get("CI_JOB_URL") or "").strip() or None)
