"""GitLab through python-gitlab: releases of ``relbot cut``, the note of ``relbot mr check``.

Reads are retried on transient failures (5xx, resets); creates are never
retried blindly: after a failure relbot looks the object up first, because
GitLab may have committed the write before the connection broke (a 502 after
commit). A request that outlives ``gitlab_timeout`` is not tried again (a
create is still looked up once): waiting several times as long as configured
helps nobody, and the run goes on or ends within about that timeout. 429
responses are waited out as GitLab's ``Retry-After`` says, a bounded number of
times.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from relbot.config import Component, Config
from relbot.errors import ConfigError, ForgeError
from relbot.forge import MergeRequestRef, Note, Release
from relbot.secrets import mask, register

if TYPE_CHECKING:
    import gitlab
    from gitlab.v4.objects import Project

T = TypeVar("T")
READ_RETRIES = 3
CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class Connection:
    """Where GitLab is and how relbot authenticates."""

    url: str
    token: str | None
    job_token: str | None
    timeout: float

    @property
    def has_api_token(self) -> bool:
        """A project or personal access token (a job token cannot post notes)."""
        return bool(self.token)


def connection_from(config: Config, env: dict[str, str] | None = None) -> Connection:
    """GitLab URL and tokens from the configuration and the CI environment."""
    environ = os.environ if env is None else env
    url = config.gitlab_url or environ.get("CI_SERVER_URL")
    if not url:
        raise ConfigError(f"{config.source_name}: forge = \"gitlab\" needs the GitLab URL: "
                          "set gitlab_url or run in GitLab CI (CI_SERVER_URL).")
    # A token pasted with a newline is stripped (requests refuses it in a header).
    token = (environ.get(config.gitlab_token_env) or "").strip() or None
    job_token = (environ.get("CI_JOB_TOKEN") or "").strip() or None
    register(token)
    register(job_token)
    return Connection(url.rstrip("/"), token, job_token, float(config.gitlab_timeout))


def client(connection: Connection, *, use_job_token: bool = False) -> gitlab.Gitlab:
    """A python-gitlab client with timeouts and no blind retries."""
    import gitlab

    if connection.token and not use_job_token:
        return gitlab.Gitlab(connection.url, private_token=connection.token,
                             timeout=connection.timeout, retry_transient_errors=False)
    if connection.job_token:
        return gitlab.Gitlab(connection.url, job_token=connection.job_token,
                             timeout=connection.timeout, retry_transient_errors=False)
    return gitlab.Gitlab(connection.url, timeout=connection.timeout,
                         retry_transient_errors=False)


def gitlab_forge_for_release(config: Config, component: Component) -> GitLabReleases:
    """The forge that publishes ``component``'s releases."""
    connection = connection_from(config)
    project = config.gitlab_project or os.environ.get("CI_PROJECT_ID")
    if not project:
        raise ConfigError(f"{config.source_name}: forge = \"gitlab\" needs the project: set "
                          "gitlab_project or run in GitLab CI (CI_PROJECT_ID).")
    if not connection.token and not connection.job_token:
        raise ConfigError(f"forge = \"gitlab\" needs a token to publish the release: set "
                          f"{config.gitlab_token_env} (a project access token), or use "
                          "--no-push to stop after the tag.")
    return GitLabReleases(connection, project)


def is_transient(exc: BaseException) -> bool:
    """A failure after which the request may or may not have taken effect."""
    import requests
    from gitlab.exceptions import GitlabError

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


def describe(exc: BaseException, action: str, timeout: float) -> ForgeError:
    """One clear sentence about a failed GitLab request, with no secret in it."""
    import requests
    from gitlab.exceptions import GitlabAuthenticationError, GitlabError

    if isinstance(exc, requests.exceptions.Timeout):
        text = f"GitLab did not answer within {timeout:g} s while {action}"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        text = f"GitLab could not be reached while {action}"
    elif isinstance(exc, GitlabAuthenticationError):
        text = f"GitLab refused the token while {action} (401): check that it is valid"
    elif isinstance(exc, GitlabError):
        detail = exc.error_message if isinstance(exc.error_message, str) else str(exc)
        text = f"GitLab answered {exc.response_code} while {action}: {_one_line(detail)}"
    else:
        text = f"GitLab request failed while {action}: {exc}"
    return ForgeError(mask(text.rstrip(".") + "."))


def _one_line(detail: str) -> str:
    """An error body as one short line: an HTML error page becomes its title."""
    import re

    title = re.search(r"<title>(.*?)</title>", detail, re.I | re.S)
    if title:
        detail = title.group(1)
    elif detail.lstrip().startswith("<"):
        detail = re.sub(r"<[^>]+>", " ", detail)
    detail = " ".join(detail.split())
    return detail[:200] + ("…" if len(detail) > 200 else "")


def read(action: str, timeout: float, call: Callable[[], T]) -> T:
    """A read, retried on transient failures; errors become one ForgeError."""
    from gitlab.exceptions import GitlabError
    from requests.exceptions import RequestException

    last: BaseException | None = None
    for _ in range(READ_RETRIES):
        try:
            return call()
        except (GitlabError, RequestException) as exc:
            if is_not_found(exc) or not is_transient(exc) or is_timeout(exc):
                raise
            last = exc
    assert last is not None  # noqa: S101 - the loop ran at least once
    raise describe(last, action, timeout) from None


def create_once(action: str, timeout: float, create: Callable[[], T],
                lookup: Callable[[], T | None]) -> T:
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
        except (GitlabError, RequestException) as exc:
            if not is_transient(exc):
                raise describe(exc, action, timeout) from None
            last = exc
        existing = guarded(action, timeout, lookup)
        if existing is not None:
            return existing
        if is_timeout(last):
            break
    assert last is not None  # noqa: S101 - the loop ran at least once
    raise describe(last, action, timeout) from None


def guarded(action: str, timeout: float, call: Callable[[], T]) -> T:
    """A read whose failures, after its retries, become one ForgeError."""
    from gitlab.exceptions import GitlabError
    from requests.exceptions import RequestException

    try:
        return read(action, timeout, call)
    except (GitlabError, RequestException) as exc:
        raise describe(exc, action, timeout) from None


class GitLabReleases:
    """GitLab Releases of one project."""

    name = "gitlab"

    def __init__(self, connection: Connection, project: str | int) -> None:
        self.connection = connection
        self.project_ref = project
        self._project: Project | None = None

    @property
    def project(self) -> Project:
        """The project, without a request (python-gitlab's lazy object)."""
        if self._project is None:
            self._project = client(self.connection).projects.get(self.project_ref, lazy=True)
        return self._project

    def get_release(self, tag: str) -> Release | None:
        """The release of ``tag``, or ``None`` on GitLab's 404."""
        timeout = self.connection.timeout

        def fetch() -> Release | None:
            from gitlab.exceptions import GitlabGetError

            try:
                release = self.project.releases.get(tag)
            except GitlabGetError as exc:
                if is_not_found(exc):
                    return None
                raise
            return _release(release)

        return guarded(f"looking up release {tag}", timeout, fetch)

    def ensure_release(self, tag: str, name: str, description: str) -> Release:
        """Create the release, or bring an existing one to this name and text."""
        timeout = self.connection.timeout
        existing = self.get_release(tag)
        if existing is not None:
            return self._update(existing, name, description)

        def create() -> Release:
            from gitlab.exceptions import GitlabCreateError

            try:
                created = self.project.releases.create(
                    {"tag_name": tag, "name": name, "description": description},
                    retry_transient_errors=False, max_retries=READ_RETRIES)
            except GitlabCreateError as exc:
                if exc.response_code == 409:  # made by an earlier, interrupted attempt
                    found = self.get_release(tag)
                    if found is not None:
                        return found
                raise
            return _release(created)

        release = create_once(f"creating release {tag}", timeout, create,
                              lambda: self.get_release(tag))
        return self._update(release, name, description)

    def _update(self, release: Release, name: str, description: str) -> Release:
        if release.name == name and release.description == description:
            return release
        timeout = self.connection.timeout

        def update() -> Release:
            self.project.releases.update(release.tag, {"name": name,
                                                       "description": description},
                                         retry_transient_errors=True,
                                         max_retries=READ_RETRIES)
            return Release(release.tag, name, description, release.url)

        return guarded(f"updating release {release.tag}", timeout, update)

    # -- merge-back and sync merge requests (helper "release") ----------------------------

    def find_merge_request(self, source: str, target: str) -> MergeRequestRef | None:
        """The open MR from ``source`` to ``target`` (GitLab docs, "Merge requests API":
        ``GET /projects/:id/merge_requests?source_branch=&target_branch=&state=opened``)."""
        def search() -> MergeRequestRef | None:
            found = self.project.mergerequests.list(source_branch=source, target_branch=target,
                                                    state="opened", get_all=False)
            return _merge_request(found[0]) if found else None

        return guarded(f"looking up the merge request {source} -> {target}",
                       self.connection.timeout, search)

    def ensure_merge_request(self, source: str, target: str, title: str, description: str,
                             labels: tuple[str, ...]) -> MergeRequestRef | None:
        """The open MR from ``source`` to ``target``: kept if it exists, else created once
        (``POST /projects/:id/merge_requests``, Developer role per the same page)."""
        existing = self.find_merge_request(source, target)
        if existing is not None:
            return existing

        def create() -> MergeRequestRef:
            created = self.project.mergerequests.create(
                {"source_branch": source, "target_branch": target, "title": title,
                 "description": description, "labels": ",".join(labels)},
                retry_transient_errors=False)
            return _merge_request(created)

        return create_once(f"opening the merge request {source} -> {target}",
                           self.connection.timeout, create,
                           lambda: self.find_merge_request(source, target))


def _merge_request(obj: Any) -> MergeRequestRef:
    attrs = obj.attributes if hasattr(obj, "attributes") else dict(obj)
    return MergeRequestRef(int(attrs.get("iid", 0)), str(attrs.get("source_branch", "")),
                           str(attrs.get("target_branch", "")), attrs.get("web_url"))


def _release(obj: Any) -> Release:
    attrs = obj.attributes if hasattr(obj, "attributes") else dict(obj)
    links = attrs.get("_links") or {}
    return Release(attrs.get("tag_name", ""), attrs.get("name") or "",
                   attrs.get("description") or "", links.get("self"))


class GitLabMergeRequests:
    """relbot's thread on merge requests of one project (discussions API).

    A discussion rather than a plain note, so that it can be resolved: a
    project that requires resolved threads cannot merge past a failing check.
    """

    def __init__(self, connection: Connection, project: str | int) -> None:
        self.connection = connection
        self.project_ref = project
        self._gl: gitlab.Gitlab | None = None

    @property
    def gl(self) -> gitlab.Gitlab:
        """The client (built on first use)."""
        if self._gl is None:
            self._gl = client(self.connection)
        return self._gl

    def _mr(self, iid: int) -> Any:
        return self.gl.projects.get(self.project_ref, lazy=True).mergerequests.get(
            iid, lazy=True)

    def bot_user_id(self) -> int | None:
        """The token's user; ``None`` without an access token (job tokens cannot post)."""
        if not self.connection.has_api_token:
            return None
        timeout = self.connection.timeout

        def auth() -> int:
            self.gl.auth()
            assert self.gl.user is not None  # noqa: S101 - auth() sets it or raises
            return int(self.gl.user.id)

        return guarded("looking up the token's user", timeout, auth)

    def find_note(self, iid: int, marker: str, author_id: int) -> Note | None:
        """The first note of a thread that carries ``marker`` and is by ``author_id``."""
        timeout = self.connection.timeout

        def search() -> Note | None:
            for discussion in self._mr(iid).discussions.list(iterator=True, per_page=100):
                notes = discussion.attributes.get("notes") or []
                if not notes:
                    continue
                first = notes[0]
                if first.get("system") or (first.get("author") or {}).get("id") != author_id:
                    continue
                if marker in (first.get("body") or ""):
                    return _note(discussion.id, first)
            return None

        return guarded(f"searching the notes of !{iid}", timeout, search)

    def create_note(self, iid: int, body: str, *, marker: str, author_id: int) -> Note:
        """Start relbot's thread; a transient failure is followed by a look-up, not a retry."""
        timeout = self.connection.timeout

        def create() -> Note:
            discussion = self._mr(iid).discussions.create({"body": body},
                                                          retry_transient_errors=False)
            return _note(discussion.id, discussion.attributes["notes"][0])

        return create_once(f"commenting on !{iid}", timeout, create,
                           lambda: self.find_note(iid, marker, author_id))

    def update_note(self, iid: int, note: Note, body: str) -> Note:
        """Rewrite relbot's note in place (PUT is idempotent, so it may be retried)."""
        timeout = self.connection.timeout

        def update() -> Note:
            discussion = self._mr(iid).discussions.get(note.discussion_id, lazy=True)
            discussion.notes.update(note.id, {"body": body}, retry_transient_errors=True,
                                    max_retries=READ_RETRIES)
            return Note(note.id, note.discussion_id, body, note.author_id, note.resolved)

        return guarded(f"updating the note on !{iid}", timeout, update)

    def set_resolved(self, iid: int, note: Note, resolved: bool) -> None:
        """Resolve relbot's thread when all is well, reopen it when not."""
        timeout = self.connection.timeout

        def update() -> None:
            self._mr(iid).discussions.update(note.discussion_id, {"resolved": resolved},
                                             retry_transient_errors=True,
                                             max_retries=READ_RETRIES)

        guarded(f"resolving the note on !{iid}", timeout, update)


def _note(discussion_id: str, data: dict[str, Any]) -> Note:
    return Note(int(data["id"]), str(discussion_id), data.get("body") or "",
                int((data.get("author") or {}).get("id") or 0), bool(data.get("resolved")))


def gitlab_merge_requests(config: Config, project: str | None = None,
                          env: dict[str, str] | None = None) -> GitLabMergeRequests:
    """The MR side of GitLab for the MR check (project from CI when not given).

    ``env``: the variables ``relbot.mr_command`` chose (URL, token), instead of
    the whole environment.
    """
    connection = connection_from(config, env)
    ref = project or config.gitlab_project or os.environ.get("CI_MERGE_REQUEST_PROJECT_ID") \
        or os.environ.get("CI_PROJECT_ID")
    if not ref:
        raise ConfigError(f"{config.source_name}: the MR's project is unknown: run in a "
                          "merge-request pipeline (CI_MERGE_REQUEST_PROJECT_ID) or set "
                          "gitlab_project.")
    return GitLabMergeRequests(connection, ref)
