"""The stand-in's state: users, tokens, projects, merge requests, notes, tags, releases.

Every note belongs to a discussion (``doc/api/discussions.md``): a note made
through the Notes API is an *individual note*, alone in its discussion and not
resolvable; a thread started through the Discussions API is made of
``DiscussionNote`` notes, resolvable unless they are system notes. GitLab
resolves discussions note by note; a discussion is resolved when all its
resolvable notes are.

Every method takes one re-entrant lock, and the HTTP layer holds the same lock
for the whole of a request, so neither the server's threads nor a test seeding
data ever see half an update. Objects returned by ``add_*`` are the stored ones;
the listing methods (:meth:`State.notes` ...) return copies that are safe to keep.

Operations that GitLab refuses raise :class:`ApiError` carrying the status and
the JSON body GitLab answers with.

A project may be backed by a real (usually bare) git repository: its tags,
branches and commits are then read from and written to that repository, so a
``git push`` of a tag and a later ``POST /releases`` meet, as they do on GitLab.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

from relbot.gitlab_standin.permissions import MAINTAINER, PROTECTED_TAG_CREATE

TokenKind = Literal["personal", "project", "oauth", "job"]
Visibility = Literal["private", "internal", "public"]
MergeRequestState = Literal["opened", "closed", "merged", "locked"]

_SHA = re.compile(r"^[0-9a-f]{40}$")
NOTE_MAX_CHARS = 1_000_000  # doc/api/notes.md: "Limited to 1,000,000 characters."
# doc/api/releases/_index.md, description; the Release model validates the same limit
DESCRIPTION_MAX_CHARS = 1_000_000

P = ParamSpec("P")
R = TypeVar("R")


class ApiError(Exception):
    """A refusal as GitLab sends it: an HTTP status and a JSON body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found(what: str = "") -> ApiError:
    """GitLab's ``404 <What> Not Found`` (``404 Not found`` without a subject)."""
    return ApiError(404, {"message": f"404 {what} Not Found" if what else "404 Not found"})


def iso(moment: datetime | None) -> str | None:
    """A timestamp as GitLab writes it: UTC, milliseconds, ``Z``."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class User:
    """A GitLab user; ``bot`` marks a project access token's bot user."""

    id: int
    username: str
    name: str
    email: str
    bot: bool = False
    state: str = "active"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Token:
    """An access token: personal/project/OAuth tokens authenticate as their user; job tokens
    authenticate as the user who started the job, with fewer rights."""

    value: str
    user_id: int
    kind: TokenKind = "personal"
    scopes: frozenset[str] = frozenset({"api"})


@dataclass
class Commit:
    """The commit fields GitLab embeds in tags and releases."""

    id: str
    title: str = "Stand-in commit"
    message: str = "Stand-in commit\n"
    parent_ids: list[str] = field(default_factory=list)
    author_name: str = "Stand-in Author"
    author_email: str = "author@example.invalid"
    authored_date: str = "2024-01-01T00:00:00.000+00:00"
    committer_name: str = "Stand-in Author"
    committer_email: str = "author@example.invalid"
    committed_date: str = "2024-01-01T00:00:00.000+00:00"


@dataclass
class Tag:
    """A tag: lightweight (``message`` None) or annotated (message, creation time, object)."""

    name: str
    commit_id: str
    message: str | None = None
    created_at: datetime | None = None
    object_id: str | None = None
    protected: bool = False

    @property
    def target(self) -> str:
        """What the tag points to: the tag object if annotated, else the commit."""
        return self.object_id or self.commit_id


@dataclass
class Project:
    """A project, known by id and by ``path_with_namespace``."""

    id: int
    path_with_namespace: str
    name: str
    default_branch: str = "main"
    visibility: Visibility = "private"
    forked_from_id: int | None = None
    repository: Path | None = None
    description: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    members: dict[int, int] = field(default_factory=dict)  # user id -> access level
    protected_tags: list[str] = field(default_factory=list)  # wildcard patterns, as GitLab

    def access_level(self, user_id: int | None) -> int:
        """The user's role in the project (0: not a member)."""
        return self.members.get(user_id, 0) if user_id is not None else 0

    def tag_is_protected(self, name: str) -> bool:
        """Whether ``name`` matches a protected-tag pattern ("Protected tags": wildcards)."""
        import fnmatch

        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.protected_tags)

    @property
    def path(self) -> str:
        """The last component of the path."""
        return self.path_with_namespace.rsplit("/", 1)[-1]

    @property
    def namespace(self) -> str:
        """Everything before the last component of the path."""
        return self.path_with_namespace.rpartition("/")[0]


@dataclass
class MergeRequest:
    """A merge request; ``source_project_id`` differs from ``project_id`` for a fork MR."""

    id: int
    iid: int
    project_id: int
    source_project_id: int
    author_id: int
    title: str
    source_branch: str
    target_branch: str
    sha: str
    base_sha: str
    start_sha: str
    description: str = ""
    state: MergeRequestState = "opened"
    labels: list[str] = field(default_factory=list)
    draft: bool = False
    changes_count: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Note:
    """A note (comment) on a merge request; ``system`` notes are GitLab's own.

    ``discussion_id`` names its discussion; ``type`` is ``"DiscussionNote"`` for a
    note of a thread and ``None`` for an individual note, as GitLab reports it.
    """

    id: int
    project_id: int
    noteable_id: int
    noteable_iid: int
    author_id: int
    body: str
    system: bool = False
    internal: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    discussion_id: str = ""
    type: str | None = None
    resolvable: bool = False
    resolved: bool = False
    resolved_by_id: int | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class Discussion:
    """A discussion as the Discussions API shows it: its id and its notes, oldest first."""

    id: str
    individual_note: bool
    notes: tuple[Note, ...]

    @property
    def resolvable(self) -> bool:
        """Whether any of its notes can be resolved."""
        return any(n.resolvable for n in self.notes)

    @property
    def resolved(self) -> bool:
        """Whether it is resolvable and every resolvable note is resolved."""
        return self.resolvable and all(n.resolved for n in self.notes if n.resolvable)


@dataclass
class Release:
    """A release of a tag."""

    project_id: int
    tag_name: str
    name: str
    description: str
    author_id: int
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    released_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    """Run a State method under the state's lock."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        state = args[0]
        if not isinstance(state, State):  # pragma: no cover - decorator misuse
            raise TypeError("_locked decorates State methods only")
        with state.lock:
            return method(*args, **kwargs)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def _check_body(body: str) -> None:
    """GitLab's validation of a note's body."""
    if not body:
        raise ApiError(400, {"error": "body is empty"})
    if len(body) > NOTE_MAX_CHARS:
        raise ApiError(400, {"message": {"note": [
            f"is too long (maximum is {NOTE_MAX_CHARS} characters)"]}})


def _check_description(description: str) -> None:
    """GitLab's validation of a release description (at most 1,000,000 characters)."""
    if len(description) > DESCRIPTION_MAX_CHARS:
        raise ApiError(400, {"message": {"description": [
            f"is too long (maximum is {DESCRIPTION_MAX_CHARS} characters)"]}})


def _fake_sha(*parts: str) -> str:
    """A stable 40-hex id for objects the stand-in invents (not a git object id)."""
    return hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest()


class _Git:
    """The few git commands a repository-backed project needs; git's exit status is checked."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        proc = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True,
                              text=True, check=False,
                              env={**os.environ, **env} if env else None)
        if proc.returncode != 0:
            raise ApiError(500, {"message": f"500 git {args[0]} failed: {proc.stderr.strip()}"})
        return proc.stdout

    def resolve(self, ref: str) -> str | None:
        proc = subprocess.run(["git", "-C", str(self.path), "rev-parse", "--verify", "--quiet",
                               f"{ref}^{{commit}}"], capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def commit(self, sha: str) -> Commit:
        out = self.run("log", "-1", "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI"
                       "%x00%B", sha)
        (cid, parents, an, ae, ad, cn, ce, cd, body) = out.split("\0", 8)
        body = body.rstrip("\n") + "\n"
        return Commit(id=cid, title=body.splitlines()[0] if body.strip() else "",
                      message=body, parent_ids=parents.split(), author_name=an,
                      author_email=ae, authored_date=ad, committer_name=cn,
                      committer_email=ce, committed_date=cd)

    def tag_names(self) -> list[str]:
        out = self.run("for-each-ref", "--format=%(refname:strip=2)", "refs/tags")
        return out.split()

    def tag(self, name: str) -> Tag | None:
        out = self.run("for-each-ref", "--format=%(objecttype)%00%(objectname)%00"
                       "%(*objectname)%00%(creatordate:iso-strict)%00%(contents)",
                       f"refs/tags/{name}")
        if not out:
            return None
        kind, obj, peeled, created, contents = out.split("\0", 4)
        if kind == "tag":
            return Tag(name=name, commit_id=peeled, message=contents.rstrip("\n"),
                       created_at=datetime.fromisoformat(created), object_id=obj)
        return Tag(name=name, commit_id=obj)

    def branches(self) -> dict[str, str]:
        out = self.run("for-each-ref", "--format=%(refname:strip=2) %(objectname)",
                       "refs/heads")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def create_tag(self, name: str, sha: str, message: str | None, user: User) -> None:
        env = {"GIT_COMMITTER_NAME": user.name, "GIT_COMMITTER_EMAIL": user.email}
        if message:
            self.run("tag", "-a", "-m", message, "--", name, sha, env=env)
        else:
            self.run("tag", "--", name, sha, env=env)

    def delete_tag(self, name: str) -> None:
        self.run("tag", "-d", "--", name)


class State:
    """All data of the stand-in, behind one lock."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.base_url = "http://127.0.0.1"
        self.users: dict[int, User] = {}
        self.tokens: dict[str, Token] = {}
        self.projects: dict[int, Project] = {}
        self.merge_requests: dict[tuple[int, int], MergeRequest] = {}
        self._notes: dict[int, Note] = {}
        self.releases: dict[tuple[int, str], Release] = {}
        self._user_ids = itertools.count(1)
        self._project_ids = itertools.count(1)
        self._mr_ids = itertools.count(101)
        self._note_ids = itertools.count(1001)

    # -- users and tokens -------------------------------------------------------------

    @_locked
    def add_user(self, username: str, *, name: str | None = None, email: str | None = None,
                 bot: bool = False) -> User:
        """A new user; usernames are unique."""
        if any(u.username == username for u in self.users.values()):
            raise ValueError(f"user {username!r} exists already")
        user = User(id=next(self._user_ids), username=username, name=name or username,
                    email=email or f"{username}@example.invalid", bot=bot,
                    created_at=self.clock())
        self.users[user.id] = user
        return user

    @_locked
    def add_token(self, user: User, value: str, *, kind: TokenKind = "personal",
                  scopes: Iterable[str] = ("api",)) -> Token:
        """Let ``value`` authenticate as ``user``."""
        if value in self.tokens:
            raise ValueError("that token value is in use already")
        token = Token(value=value, user_id=user.id, kind=kind, scopes=frozenset(scopes))
        self.tokens[value] = token
        return token

    @_locked
    def user(self, user_id: int) -> User:
        """The user with this id."""
        try:
            return self.users[user_id]
        except KeyError:
            raise not_found("User") from None

    # -- projects ------------------------------------------------------------------------

    @_locked
    def add_project(self, path_with_namespace: str, *, name: str | None = None,
                    default_branch: str = "main", visibility: Visibility = "private",
                    forked_from: Project | None = None, repository: Path | None = None,
                    description: str = "") -> Project:
        """A new project; with ``repository``, tags and branches live in that git repository."""
        if "/" not in path_with_namespace:
            raise ValueError("a project path has a namespace: 'group/project'")
        if any(p.path_with_namespace == path_with_namespace for p in self.projects.values()):
            raise ValueError(f"project {path_with_namespace!r} exists already")
        project = Project(id=next(self._project_ids), path_with_namespace=path_with_namespace,
                          name=name or path_with_namespace.rsplit("/", 1)[-1],
                          default_branch=default_branch, visibility=visibility,
                          forked_from_id=forked_from.id if forked_from else None,
                          repository=repository, description=description,
                          created_at=self.clock())
        self.projects[project.id] = project
        return project

    @_locked
    def add_member(self, project: Project, user: User, access_level: int) -> None:
        """Make ``user`` a member of ``project`` with this role (10 Guest ... 50 Owner)."""
        project.members[user.id] = access_level

    @_locked
    def project(self, ident: int | str) -> Project:
        """A project by id or by its (decoded) ``path_with_namespace``."""
        if isinstance(ident, int) or ident.isdigit():
            found = self.projects.get(int(ident))
        else:
            found = next((p for p in self.projects.values()
                          if p.path_with_namespace == ident), None)
        if found is None:
            raise not_found("Project")
        return found

    @_locked
    def add_branch(self, project: Project, name: str, sha: str) -> None:
        """Record a branch (in-memory projects only; a repository has its own)."""
        project.branches[name] = sha

    @_locked
    def add_commit(self, project: Project, commit: Commit) -> Commit:
        """Record commit details for tags and releases of an in-memory project."""
        project.commits[commit.id] = commit
        return commit

    @_locked
    def resolve_ref(self, project: Project, ref: str) -> str | None:
        """The commit a branch, tag or full SHA names, or None."""
        if project.repository is not None:
            return _Git(project.repository).resolve(ref)
        if ref in project.branches:
            return project.branches[ref]
        if ref in project.tags:
            return project.tags[ref].commit_id
        if _SHA.match(ref):
            return ref
        return None

    @_locked
    def commit(self, project: Project, sha: str) -> Commit:
        """Details of a commit (invented for an in-memory project that was not told them)."""
        if project.repository is not None:
            return _Git(project.repository).commit(sha)
        return project.commits.get(sha) or Commit(id=sha)

    # -- merge requests and notes -----------------------------------------------------

    @_locked
    def add_merge_request(self, project: Project, *, author: User, title: str = "Draft change",
                          iid: int | None = None, source_project: Project | None = None,
                          source_branch: str = "feature", target_branch: str | None = None,
                          labels: Iterable[str] = (), sha: str | None = None,
                          base_sha: str | None = None, description: str = "",
                          draft: bool = False, state: MergeRequestState = "opened",
                          ) -> MergeRequest:
        """A merge request into ``project``; a different ``source_project`` makes it a fork MR."""
        if iid is None:
            iid = 1 + max((i for (pid, i) in self.merge_requests if pid == project.id),
                          default=0)
        if (project.id, iid) in self.merge_requests:
            raise ValueError(f"{project.path_with_namespace}!{iid} exists already")
        now = self.clock()
        head = sha or _fake_sha("head", project.path_with_namespace, str(iid))
        base = base_sha or _fake_sha("base", project.path_with_namespace, str(iid))
        mr = MergeRequest(id=next(self._mr_ids), iid=iid, project_id=project.id,
                          source_project_id=(source_project or project).id,
                          author_id=author.id, title=title, source_branch=source_branch,
                          target_branch=target_branch or project.default_branch, sha=head,
                          base_sha=base, start_sha=base, description=description,
                          state=state, labels=list(labels), draft=draft, created_at=now,
                          updated_at=now)
        self.merge_requests[(project.id, iid)] = mr
        return mr

    @_locked
    def merge_request(self, project: Project, iid: int | str) -> MergeRequest:
        """The merge request ``!iid`` of ``project``."""
        try:
            return self.merge_requests[(project.id, int(iid))]
        except (KeyError, ValueError):
            raise not_found() from None

    @_locked
    def add_note(self, mr: MergeRequest, *, author: User, body: str, system: bool = False,
                 internal: bool = False, created_at: datetime | None = None) -> Note:
        """A note on ``mr``, as if ``author`` wrote it (or GitLab, for ``system`` notes)."""
        if not body:
            raise ApiError(400, {"error": "body is empty"})
        if len(body) > NOTE_MAX_CHARS:
            raise ApiError(400, {"message": {"note": [
                f"is too long (maximum is {NOTE_MAX_CHARS} characters)"]}})
        _check_body(body)
        now = created_at or self.clock()
        number = next(self._note_ids)
        note = Note(id=number, project_id=mr.project_id, noteable_id=mr.id,
                    noteable_iid=mr.iid, author_id=author.id, body=body, system=system,
                    internal=internal, created_at=now, updated_at=now,
                    discussion_id=_fake_sha("discussion", str(mr.id), str(number)))
        self._notes[note.id] = note
        return note

    @_locked
    def add_discussion(self, mr: MergeRequest, *, author: User, body: str,
                       system: bool = False, created_at: datetime | None = None) -> Note:
        """Start a thread on ``mr``; returns its first note (resolvable unless ``system``)."""
        note = self.add_note(mr, author=author, body=body, system=system,
                             created_at=created_at)
        note.type = "DiscussionNote"
        note.resolvable = not system
        return note

    @_locked
    def reply(self, mr: MergeRequest, discussion_id: str, *, author: User, body: str) -> Note:
        """Add a note to a discussion; replying to an individual note makes it a thread."""
        thread = self.discussion(mr, discussion_id)
        note = self.add_note(mr, author=author, body=body)
        note.discussion_id = thread.id
        note.type = "DiscussionNote"
        note.resolvable = True
        for earlier in thread.notes:
            stored = self._notes[earlier.id]
            if stored.type is None:
                stored.type = "DiscussionNote"
                stored.resolvable = not stored.system
        return note

    @_locked
    def list_discussions(self, mr: MergeRequest) -> list[Discussion]:
        """The discussions of ``mr``, oldest first, each with its notes oldest first."""
        grouped: dict[str, list[Note]] = {}
        for note in self.list_notes(mr, sort="asc", order_by="created_at"):
            grouped.setdefault(note.discussion_id, []).append(note)
        return [Discussion(id=did, individual_note=notes[0].type is None, notes=tuple(notes))
                for did, notes in grouped.items()]

    @_locked
    def discussion(self, mr: MergeRequest, discussion_id: str) -> Discussion:
        """One discussion of ``mr``; 404 where there is none."""
        for found in self.list_discussions(mr):
            if found.id == discussion_id:
                return found
        raise not_found("Discussion")

    @_locked
    def resolve_discussion(self, mr: MergeRequest, discussion_id: str, *, user: User,
                           resolved: bool) -> Discussion:
        """Resolve (or reopen) every resolvable note of a discussion; 403 if none is."""
        thread = self.discussion(mr, discussion_id)
        if not thread.resolvable:
            raise ApiError(403, {"message": "403 Forbidden"})
        for note in thread.notes:
            if note.resolvable:
                self._set_resolved(self._notes[note.id], user, resolved)
        return self.discussion(mr, discussion_id)

    @_locked
    def resolve_note(self, mr: MergeRequest, note_id: int | str, *, user: User,
                     resolved: bool) -> Note:
        """Resolve (or reopen) one note; 403 if it is not resolvable."""
        note = self.note(mr, note_id)
        if not note.resolvable:
            raise ApiError(403, {"message": "403 Forbidden"})
        self._set_resolved(note, user, resolved)
        return note

    def _set_resolved(self, note: Note, user: User, resolved: bool) -> None:
        if resolved and not note.resolved:
            note.resolved, note.resolved_by_id, note.resolved_at = True, user.id, self.clock()
        elif not resolved:
            note.resolved, note.resolved_by_id, note.resolved_at = False, None, None

    @_locked
    def discussions(self, mr: MergeRequest) -> list[Discussion]:
        """Copies of the discussions of ``mr``, oldest first (for assertions)."""
        return [dataclasses.replace(d, notes=tuple(dataclasses.replace(n) for n in d.notes))
                for d in self.list_discussions(mr)]

    @_locked
    def blocking_discussions_resolved(self, mr: MergeRequest) -> bool:
        """Whether no resolvable discussion of ``mr`` is open (what blocks a merge)."""
        return all(d.resolved for d in self.list_discussions(mr) if d.resolvable)

    @_locked
    def list_notes(self, mr: MergeRequest, *, sort: str = "desc",
                   order_by: str = "created_at") -> list[Note]:
        """The notes of ``mr`` in GitLab's order (default: newest first), ties by id."""
        notes = [n for n in self._notes.values()
                 if n.project_id == mr.project_id and n.noteable_iid == mr.iid]

        def key(note: Note) -> tuple[datetime, int]:
            return (note.updated_at if order_by == "updated_at" else note.created_at, note.id)

        return sorted(notes, key=key, reverse=sort == "desc")

    @_locked
    def note(self, mr: MergeRequest, note_id: int | str) -> Note:
        """One note of ``mr``."""
        try:
            note = self._notes[int(note_id)]
        except (KeyError, ValueError):
            raise not_found("Note") from None
        if note.project_id != mr.project_id or note.noteable_iid != mr.iid:
            raise not_found("Note")
        return note

    @_locked
    def update_note(self, mr: MergeRequest, note_id: int | str, *, editor: User,
                    body: str) -> Note:
        """Change a note's body; only its author may, and never a system note's."""
        note = self.note(mr, note_id)
        if note.system or note.author_id != editor.id:
            raise ApiError(403, {"message": "403 Forbidden"})
        _check_body(body)
        note.body = body
        note.updated_at = self.clock()
        return note

    @_locked
    def delete_note(self, mr: MergeRequest, note_id: int | str, *, editor: User) -> None:
        """Delete a note: its author, or a Maintainer ("Notes API": Delete a note)."""
        note = self.note(mr, note_id)
        project = self.project(mr.project_id)
        if note.system or (note.author_id != editor.id
                           and project.access_level(editor.id) < MAINTAINER):
            raise ApiError(403, {"message": "403 Forbidden"})
        del self._notes[note.id]

    @_locked
    def notes(self, mr: MergeRequest) -> list[Note]:
        """Copies of the notes of ``mr``, oldest first (for assertions)."""
        return [dataclasses.replace(n)
                for n in self.list_notes(mr, sort="asc", order_by="created_at")]

    @_locked
    def user_notes_count(self, mr: MergeRequest) -> int:
        """How many notes of ``mr`` people wrote (system notes do not count)."""
        return sum(1 for n in self.list_notes(mr) if not n.system)

    # -- tags ------------------------------------------------------------------------------

    @_locked
    def tag_names(self, project: Project) -> list[str]:
        """Names of the project's tags."""
        if project.repository is not None:
            return _Git(project.repository).tag_names()
        return list(project.tags)

    @_locked
    def find_tag(self, project: Project, name: str) -> Tag | None:
        """The tag ``name``, or None."""
        if project.repository is not None:
            return _Git(project.repository).tag(name)
        return project.tags.get(name)

    @_locked
    def tag(self, project: Project, name: str) -> Tag:
        """The tag ``name``; 404 where there is none."""
        found = self.find_tag(project, name)
        if found is None:
            raise not_found("Tag")
        return found

    @_locked
    def add_tag(self, project: Project, name: str, ref: str, *, message: str | None = None,
                user: User | None = None) -> Tag:
        """Create a tag at ``ref`` (annotated when ``message`` is given), as GitLab would."""
        if not name or name.startswith("-") or ".." in name or name.endswith((".lock", "/")):
            raise ApiError(400, {"message": "Tag name invalid"})
        if self.find_tag(project, name) is not None:
            raise ApiError(400, {"message": f"Tag {name} already exists"})
        if user is not None and project.tag_is_protected(name) and \
                project.access_level(user.id) < PROTECTED_TAG_CREATE:
            # "Protected tags": only the roles allowed to create may create a matching tag
            raise ApiError(403, {"message": "You are not allowed to create this tag as it is "
                                            "protected."})
        sha = self.resolve_ref(project, ref)
        if sha is None:
            raise ApiError(400, {"message": "Target " + ref + " is invalid"})
        if project.repository is not None:
            tagger = user or User(id=0, username="stand-in", name="GitLab stand-in",
                                  email="stand-in@example.invalid")
            _Git(project.repository).create_tag(name, sha, message, tagger)
            return self.tag(project, name)
        tag = Tag(name=name, commit_id=sha, message=message or None,
                  created_at=self.clock() if message else None,
                  object_id=_fake_sha("tag", name, sha) if message else None)
        project.tags[name] = tag
        return tag

    @_locked
    def delete_tag(self, project: Project, name: str) -> None:
        """Delete a tag (and, as on GitLab, the release of that tag)."""
        self.tag(project, name)
        if project.repository is not None:
            _Git(project.repository).delete_tag(name)
        else:
            del project.tags[name]
        self.releases.pop((project.id, name), None)

    # -- releases ----------------------------------------------------------------------

    @_locked
    def find_release(self, project: Project, tag_name: str) -> Release | None:
        """The release of ``tag_name``, or None."""
        return self.releases.get((project.id, tag_name))

    @_locked
    def release(self, project: Project, tag_name: str) -> Release:
        """The release of ``tag_name``; 404 where there is none."""
        found = self.find_release(project, tag_name)
        if found is None:
            raise ApiError(404, {"message": "404 Not Found"})
        return found

    @_locked
    def list_releases(self, project: Project, *, order_by: str = "released_at",
                      sort: str = "desc") -> list[Release]:
        """The project's releases, newest first by default."""
        releases = [r for (pid, _), r in self.releases.items() if pid == project.id]

        def key(release: Release) -> datetime:
            return release.created_at if order_by == "created_at" else release.released_at

        return sorted(releases, key=key, reverse=sort == "desc")

    @_locked
    def add_release(self, project: Project, tag_name: str, *, author: User,
                    name: str | None = None, description: str = "", ref: str | None = None,
                    tag_message: str | None = None, milestones: Iterable[str] = (),
                    released_at: datetime | None = None) -> Release:
        """Create a release; creates the tag from ``ref`` where it does not exist yet."""
        if project.tag_is_protected(tag_name) and \
                project.access_level(author.id) < PROTECTED_TAG_CREATE:
            # "Releases", Release permissions: a release of a protected tag needs the
            # right to create that tag; checked before existence, as GitLab authorizes first
            raise ApiError(403, {"message": "403 Forbidden"})
        if self.find_release(project, tag_name) is not None:
            raise ApiError(409, {"message": "Release already exists"})
        _check_description(description)
        missing = list(milestones)
        if missing:
            raise ApiError(400, {"message": "Milestone(s) not found: " + ", ".join(missing)})
        if self.find_tag(project, tag_name) is None:
            if not ref:
                raise ApiError(422, {"message": "Ref is not specified"})
            self.add_tag(project, tag_name, ref, message=tag_message, user=author)
        now = self.clock()
        release = Release(project_id=project.id, tag_name=tag_name,
                          name=name if name is not None else tag_name,
                          description=description, author_id=author.id, created_at=now,
                          released_at=released_at or now)
        self.releases[(project.id, tag_name)] = release
        return release

    @_locked
    def update_release(self, project: Project, tag_name: str, *, name: str | None = None,
                       description: str | None = None, milestones: Iterable[str] = (),
                       released_at: datetime | None = None) -> Release:
        """Change a release's name, description or date."""
        release = self.release(project, tag_name)
        missing = list(milestones)
        if missing:
            raise ApiError(400, {"message": "Milestone(s) not found: " + ", ".join(missing)})
        if description is not None:
            _check_description(description)
        if name is not None:
            release.name = name
        if description is not None:
            release.description = description
        if released_at is not None:
            release.released_at = released_at
        return release

    @_locked
    def delete_release(self, project: Project, tag_name: str) -> Release:
        """Delete a release (the tag stays)."""
        release = self.release(project, tag_name)
        del self.releases[(project.id, tag_name)]
        return release
