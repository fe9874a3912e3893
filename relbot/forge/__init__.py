"""Where releases are published and MR comments go: a Protocol and its implementations.

The release plan and the MR check talk to a :class:`Forge`; ``forge = "none"``
gives :class:`NoForge` (no API calls at all), ``forge = "gitlab"`` the
python-gitlab implementation in ``relbot.forge.gitlab``, imported only when used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from relbot.errors import ForgeError


class ForgeForbidden(ForgeError):
    """The forge answered 403: the token lacks a role or scope (the message says which)."""


@dataclass(frozen=True)
class Release:
    """A forge release of one tag."""

    tag: str
    name: str
    description: str
    url: str | None = None


class Forge(Protocol):
    """What relbot needs from a forge to publish a release."""

    name: str

    def verify_release_access(self) -> None:
        """Check with one cheap request that the token may publish; raise ForgeError if not.

        Called before anything is pushed, so a wrong or expired token never leaves a
        pushed tag without its release.
        """
        ...

    def get_release(self, tag: str) -> Release | None:
        """The release of ``tag``, or ``None`` when there is none."""
        ...

    def ensure_release(self, tag: str, name: str, description: str) -> Release:
        """Create the release of ``tag``, or update it to this name and text; rerun-safe."""
        ...

    def find_merge_request(self, source: str, target: str) -> MergeRequestRef | None:
        """The open merge request from ``source`` to ``target``, if there is one."""
        ...

    def ensure_merge_request(self, source: str, target: str, title: str, description: str,
                             labels: tuple[str, ...]) -> MergeRequestRef | None:
        """The open MR from ``source`` to ``target``: found and kept, or created; rerun-safe."""
        ...


@dataclass(frozen=True)
class MergeRequestRef:
    """A merge request relbot opened or found (the release's merge-back or sync MR)."""

    iid: int
    source: str
    target: str
    url: str | None = None


@dataclass(frozen=True)
class Note:
    """relbot's comment on a merge request: the first note of a resolvable thread."""

    id: int
    discussion_id: str
    body: str
    author_id: int
    resolved: bool = False


class MergeRequestNotes(Protocol):
    """What relbot needs from a forge to keep one comment on a merge request."""

    def bot_user_id(self) -> int | None:
        """The id of the user the token belongs to; ``None`` when it cannot post."""
        ...

    def fit(self, body: str) -> str:
        """``body`` as the forge stores it (GitLab: cut to its note limit)."""
        ...

    def find_note(self, iid: int, marker: str, author_id: int) -> Note | None:
        """relbot's note: it carries ``marker`` and was written by ``author_id``."""
        ...

    def create_note(self, iid: int, body: str, *, marker: str, author_id: int) -> Note:
        """Start relbot's thread; after a transient failure, look it up before retrying."""
        ...

    def update_note(self, iid: int, note: Note, body: str) -> Note:
        """Rewrite the note's text."""
        ...

    def set_resolved(self, iid: int, note: Note, resolved: bool) -> None:
        """Resolve or reopen relbot's thread."""
        ...


@dataclass(frozen=True)
class CommentOutcome:
    """What happened to the bot comment."""

    action: str  # "created", "updated", "unchanged", "taken over"
    note: Note
    replaced: Note | None = None  # an earlier token's thread, resolved and left behind


def upsert_comment(forge: MergeRequestNotes, iid: int, body: str, *, marker: str,
                   ok: bool) -> CommentOutcome | None:
    """Create relbot's one note on the MR, or rewrite it in place; resolve it when all is well.

    Returns ``None`` when the token cannot post (a CI job token in a fork pipeline).
    The stored note is compared with ``body`` as the forge would store it, so that a
    body cut to GitLab's limit is not rewritten on every pipeline.
    """
    body = forge.fit(body)
    author = forge.bot_user_id()
    if author is None:
        return None
    note = forge.find_note(iid, marker, author)
    replaced: Note | None = None
    if note is not None and note.author_id != author:
        # The thread of a replaced project access token (each token is its own bot user):
        # take it over by editing it; GitLab lets only a note's author edit it, so where
        # that is refused, resolve the old thread and start the new one.
        try:
            note = forge.update_note(iid, note, body)
            action = "taken over"
        except ForgeForbidden:
            if not note.resolved:
                forge.set_resolved(iid, note, True)
            replaced = Note(note.id, note.discussion_id, note.body, note.author_id, True)
            note = None
    if note is None:
        note = forge.create_note(iid, body, marker=marker, author_id=author)
        action = "created"
    elif replaced is None and note.body != body and note.author_id == author:
        note = forge.update_note(iid, note, body)
        action = "updated"
    elif note.author_id == author:
        action = "unchanged"
    if note.resolved != ok:
        forge.set_resolved(iid, note, ok)
        note = Note(note.id, note.discussion_id, note.body, note.author_id, ok)
    return CommentOutcome(action, note, replaced)


class PrefetchedNotes:
    """A :class:`MergeRequestNotes` whose two look-ups (the token's user, then relbot's
    note) start at once in a thread, while the check runs in the main thread.

    GitLab's answers then arrive during the git and towncrier work instead of
    after it; :func:`upsert_comment` waits for them where it needs them, and an
    error of the look-up is raised there, as if it had been made then. Only
    reads run early: every write goes to ``forge`` after the check, unchanged.
    """

    def __init__(self, forge: MergeRequestNotes, iid: int, marker: str) -> None:
        import threading

        self._forge = forge
        self._key = (iid, marker)
        self._author: int | None = None
        self._note: Note | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._look_up, name="relbot-gitlab-lookup",
                                        daemon=True)
        self._thread.start()

    def _look_up(self) -> None:
        try:
            self._author = self._forge.bot_user_id()
            if self._author is not None:
                self._note = self._forge.find_note(*self._key, self._author)
        except BaseException as exc:  # raised in the main thread, by _wait
            self._error = exc

    def _wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def bot_user_id(self) -> int | None:
        """The token's user, as the thread found it."""
        self._wait()
        return self._author

    def find_note(self, iid: int, marker: str, author_id: int) -> Note | None:
        """relbot's note as the thread found it (asked again for any other question)."""
        self._wait()
        if (iid, marker) == self._key and author_id == self._author:
            return self._note
        return self._forge.find_note(iid, marker, author_id)

    def fit(self, body: str) -> str:
        """As the forge stores ``body``."""
        return self._forge.fit(body)

    def create_note(self, iid: int, body: str, *, marker: str, author_id: int) -> Note:
        """Start relbot's thread (see the forge's own method)."""
        return self._forge.create_note(iid, body, marker=marker, author_id=author_id)

    def update_note(self, iid: int, note: Note, body: str) -> Note:
        """Rewrite the note's text."""
        return self._forge.update_note(iid, note, body)

    def set_resolved(self, iid: int, note: Note, resolved: bool) -> None:
        """Resolve or reopen relbot's thread."""
        self._forge.set_resolved(iid, note, resolved)


class NoForge:
    """``forge = "none"``: releases are git tags only; nothing is published."""

    name = "none"

    def verify_release_access(self) -> None:
        """Nothing is published, so nothing to check."""

    def get_release(self, tag: str) -> Release | None:
        """There are no forge releases."""
        return None

    def ensure_release(self, tag: str, name: str, description: str) -> Release:
        """Nothing to publish: the tag is the release."""
        return Release(tag, name, description)

    def find_merge_request(self, source: str, target: str) -> MergeRequestRef | None:
        """There are no merge requests."""
        return None

    def ensure_merge_request(self, source: str, target: str, title: str, description: str,
                             labels: tuple[str, ...]) -> MergeRequestRef | None:
        """Nothing to open: relbot prints what to merge by hand instead."""
        return None


class UnavailableForge:
    """A configured forge that cannot be reached from here (no token, no URL).

    A dry run shows the plan and then fails with the reason, as a real run
    refuses before changing anything (the same sentence and exit code, 15.17).
    """

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def verify_release_access(self) -> None:
        """Cannot publish: says why (a dry run asks too, after showing its plan)."""
        from relbot.errors import ConfigError

        raise ConfigError(self.reason)

    def get_release(self, tag: str) -> Release | None:
        """Unknown: treated as not yet published."""
        return None

    def ensure_release(self, tag: str, name: str, description: str) -> Release:
        """Cannot publish: says why."""
        from relbot.errors import ConfigError

        raise ConfigError(self.reason)

    def find_merge_request(self, source: str, target: str) -> MergeRequestRef | None:
        """Unknown: treated as not yet opened."""
        return None

    def ensure_merge_request(self, source: str, target: str, title: str, description: str,
                             labels: tuple[str, ...]) -> MergeRequestRef | None:
        """Cannot open it: says why."""
        from relbot.errors import ConfigError

        raise ConfigError(self.reason)
