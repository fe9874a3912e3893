"""An in-memory forge for unit tests of the comment logic (GitLab itself: the stand-in)."""

from __future__ import annotations

from dataclasses import dataclass, field

from relbot.forge import Note


@dataclass
class MemoryNotes:
    """Merge-request threads kept in a dict; counts every write."""

    user_id: int | None = 7
    notes: dict[int, list[Note]] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)

    def bot_user_id(self) -> int | None:
        return self.user_id

    def fit(self, body: str) -> str:
        return body

    def find_note(self, iid: int, marker: str, author_id: int) -> Note | None:
        for note in self.notes.get(iid, []):
            if marker in note.body and note.author_id == author_id:
                return note
        return None

    def create_note(self, iid: int, body: str, *, marker: str, author_id: int) -> Note:
        thread = self.notes.setdefault(iid, [])
        note = Note(len(thread) + 1, f"d{len(thread) + 1}", body, author_id)
        thread.append(note)
        self.writes.append("create")
        return note

    def update_note(self, iid: int, note: Note, body: str) -> Note:
        thread = self.notes[iid]
        index = next(i for i, n in enumerate(thread) if n.id == note.id)
        thread[index] = Note(note.id, note.discussion_id, body, note.author_id, note.resolved)
        self.writes.append("update")
        return thread[index]

    def set_resolved(self, iid: int, note: Note, resolved: bool) -> None:
        thread = self.notes[iid]
        index = next(i for i, n in enumerate(thread) if n.id == note.id)
        old = thread[index]
        thread[index] = Note(old.id, old.discussion_id, old.body, old.author_id, resolved)
        self.writes.append("resolve" if resolved else "reopen")
