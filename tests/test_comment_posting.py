"""relbot's own comment logic against the GitLab stand-in: which note is relbot's, what it says.

These tests drive relbot's real code (``relbot.forge.upsert_comment`` with the
python-gitlab forge, or the whole ``mr check``) against the stand-in over HTTP,
and read back what the stand-in stored; no fake forge decides anything here.
"""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from relbot.comment import MARKER
from relbot.forge import Note, upsert_comment
from relbot.forge.credentials import Token
from relbot.forge.gitlab import Connection, GitLabMergeRequests
from relbot.gitlab_standin import GitLabStandIn
from relbot.markdown_safety import ZERO_WIDTH_SPACE
from tests.gitlab_fixtures import FRAGMENTS, MrRepo, cast, outside_code


def _forge(standin: GitLabStandIn) -> GitLabMergeRequests:
    scenario = cast(standin)
    token = Token(scenario.bot_token, "RELBOT_MR_TOKEN", "mr")
    return GitLabMergeRequests(Connection(standin.url, token, None, 2.0), scenario.project.id)


def test_a_human_quoting_the_marker_never_captures_relbots_note(
        gitlab_standin: GitLabStandIn) -> None:
    """Notes and threads of people (and a system note) that carry the marker come first on the
    MR; relbot creates its own thread, then edits and resolves only that one."""
    scenario = cast(gitlab_standin)
    mr = scenario.mr
    quoted = f"{MARKER} lol, relbot said this"
    gitlab_standin.add_note(mr, author=scenario.maintainer, body=quoted)
    gitlab_standin.add_discussion(mr, author=scenario.contributor, body=quoted)
    gitlab_standin.add_note(mr, author=scenario.bot, body=f"{MARKER} changed the title",
                            system=True)
    forge = _forge(gitlab_standin)

    first = upsert_comment(forge, mr.iid, f"{MARKER}\nfailing", marker=MARKER, ok=False)
    assert first is not None and first.action == "created"
    second = upsert_comment(forge, mr.iid, f"{MARKER}\nstill failing", marker=MARKER, ok=False)
    assert second is not None and second.action == "updated"
    assert second.note.id == first.note.id
    third = upsert_comment(forge, mr.iid, f"{MARKER}\nall good", marker=MARKER, ok=True)
    assert third is not None and third.action == "updated" and third.note.resolved
    fourth = upsert_comment(forge, mr.iid, f"{MARKER}\nall good", marker=MARKER, ok=True)
    assert fourth is not None and fourth.action == "unchanged"

    stored = {d.notes[0].id: d for d in gitlab_standin.discussions(mr)}
    mine = stored.pop(first.note.id)
    assert mine.notes[0].body == f"{MARKER}\nall good" and mine.notes[0].author_id == \
        scenario.bot.id
    assert all(n.resolved for n in mine.notes)
    others = sorted((d.notes[0].body, d.notes[0].resolved) for d in stored.values())
    assert others == sorted([(quoted, False), (quoted, False),
                             (f"{MARKER} changed the title", False)])
    writes = [(r.method, r.path.rsplit("/merge_requests/", 1)[-1])
              for r in gitlab_standin.requests.all() if r.method != "GET"]
    assert [method for method, _ in writes] == ["POST", "PUT", "PUT", "PUT"]


def test_relbots_existing_note_is_found_behind_a_humans_copy(
        gitlab_standin: GitLabStandIn) -> None:
    """relbot's thread from an earlier pipeline comes after a person's copy of it: relbot
    edits its own, not the copy."""
    scenario = cast(gitlab_standin)
    mr = scenario.mr
    gitlab_standin.add_discussion(mr, author=scenario.maintainer, body=f"{MARKER}\ncopy")
    own = gitlab_standin.add_discussion(mr, author=scenario.bot, body=f"{MARKER}\nold")
    outcome = upsert_comment(_forge(gitlab_standin), mr.iid, f"{MARKER}\nnew", marker=MARKER,
                             ok=False)
    assert outcome is not None and (outcome.action, outcome.note.id) == ("updated", own.id)
    bodies = [d.notes[0].body for d in gitlab_standin.discussions(mr)]
    assert bodies == [f"{MARKER}\ncopy", f"{MARKER}\nnew"]


def _outside_code(body: str) -> str:
    return outside_code(MarkdownIt("commonmark").enable("table").render(body))


@pytest.mark.reliability("Hostile fragments")
def test_mentions_in_findings_never_notify_anyone(mr: MrRepo) -> None:
    """Fragment names that make relbot quote ``@all`` and ``@someone`` in its findings: the note
    the stand-in stores shows them, but never as a mention GitLab would resolve."""
    mr.commit({f"{FRAGMENTS}/1.@all": "Hello everyone.\n",
               f"{FRAGMENTS}/1.@someone": "Hello you.\n",
               f"{FRAGMENTS}/1.feature.thing": "Thanks @maria for the idea.\n"})
    result = mr.check()
    assert result.code == 1, result.out + result.err
    (thread,) = mr.relbot_threads()
    body = thread.notes[0].body
    assert f"type '@{ZERO_WIDTH_SPACE}all' is not declared" in body
    assert f"type '@{ZERO_WIDTH_SPACE}someone' is not declared" in body
    outside = _outside_code(body)
    assert "is not declared" in outside  # the findings are running text, not code
    for mention in ("@all", "@someone", "@maria"):
        assert mention not in outside


def test_a_create_that_failed_after_committing_is_found_not_repeated(
        gitlab_standin: GitLabStandIn) -> None:
    """GitLab stored relbot's thread but answered 502: relbot looks it up by its marker and
    its author (a person's copy of the marker does not count) and posts nothing twice."""
    scenario = cast(gitlab_standin)
    mr = scenario.mr
    gitlab_standin.add_discussion(mr, author=scenario.maintainer, body=f"{MARKER}\ncopy")
    gitlab_standin.faults.error_after_commit(502, method="POST", path="/discussions")
    outcome = upsert_comment(_forge(gitlab_standin), mr.iid, f"{MARKER}\nfirst", marker=MARKER,
                             ok=True)
    assert outcome is not None and outcome.action == "created"
    threads = gitlab_standin.discussions(mr)
    assert [(d.notes[0].body, d.notes[0].author_id) for d in threads] == [
        (f"{MARKER}\ncopy", scenario.maintainer.id), (f"{MARKER}\nfirst", scenario.bot.id)]
    assert outcome.note == Note(threads[1].notes[0].id, threads[1].id, f"{MARKER}\nfirst",
                                scenario.bot.id, True)
    assert gitlab_standin.requests.count("POST") == 1


def test_the_resolved_note_is_returned_whole(gitlab_standin: GitLabStandIn) -> None:
    """After resolving, the outcome carries the same note, now resolved."""
    scenario = cast(gitlab_standin)
    forge = _forge(gitlab_standin)
    first = upsert_comment(forge, scenario.mr.iid, f"{MARKER}\nx", marker=MARKER, ok=False)
    again = upsert_comment(forge, scenario.mr.iid, f"{MARKER}\nx", marker=MARKER, ok=True)
    assert first is not None and again is not None
    assert again.note == Note(first.note.id, first.note.discussion_id, f"{MARKER}\nx",
                              scenario.bot.id, True)
    assert again.action == "unchanged"


def test_without_a_forge_nothing_is_published() -> None:
    """forge = "none": the tag is the release; a forge that cannot be reached says why only
    when a release would be published."""
    from relbot.errors import ConfigError
    from relbot.forge import NoForge, Release, UnavailableForge

    assert NoForge().ensure_release("v1.0.0", "v1.0.0", "notes") == Release(
        "v1.0.0", "v1.0.0", "notes")
    assert NoForge().get_release("v1.0.0") is None
    unavailable = UnavailableForge("gitlab", "no token in RELBOT_RELEASE_TOKEN.")
    assert (unavailable.name, unavailable.get_release("v1.0.0")) == ("gitlab", None)
    with pytest.raises(ConfigError) as refused:
        unavailable.ensure_release("v1.0.0", "v1.0.0", "notes")
    assert str(refused.value) == "no token in RELBOT_RELEASE_TOKEN."


def test_a_comment_over_gitlabs_limit_is_not_rewritten_when_nothing_changed(
        gitlab_standin: GitLabStandIn) -> None:
    """A body longer than GitLab's 1,000,000 characters is stored cut to the limit; the next
    pipeline renders the same long body and compares it with the stored one as it would
    store it: no write (the uncut body against the cut one differed on every run)."""
    from relbot.forge.gitlab import TEXT_LIMIT

    scenario = cast(gitlab_standin)
    forge = _forge(gitlab_standin)
    body = f"{MARKER}\n" + "- a long line of the report\n" * (TEXT_LIMIT // 20)
    assert len(body) > TEXT_LIMIT
    first = upsert_comment(forge, scenario.mr.iid, body, marker=MARKER, ok=False)
    assert first is not None and first.action == "created"
    (thread,) = gitlab_standin.discussions(scenario.mr)
    assert len(thread.notes[0].body) <= TEXT_LIMIT
    writes = gitlab_standin.requests.count("POST") + gitlab_standin.requests.count("PUT")
    assert writes == 1
    again = upsert_comment(forge, scenario.mr.iid, body, marker=MARKER, ok=False)
    assert again is not None and again.action == "unchanged"
    assert gitlab_standin.requests.count("POST") + gitlab_standin.requests.count("PUT") == 1
    changed = upsert_comment(forge, scenario.mr.iid, body.replace("long", "longer", 1),
                             marker=MARKER, ok=False)
    assert changed is not None and changed.action == "updated"
    assert gitlab_standin.requests.count("PUT") == 1


def test_prefetched_look_ups_are_those_upsert_makes_and_their_errors_come_where_used(
        gitlab_standin: GitLabStandIn) -> None:
    """PrefetchedNotes reads the token's user and relbot's note as soon as it is made (before
    the check has rendered anything), and upsert_comment then makes only its writes; a
    failed early read is raised by upsert_comment, as the read itself would have been."""
    from relbot.errors import ForgeError
    from relbot.forge import PrefetchedNotes

    scenario = cast(gitlab_standin)
    prefetched = PrefetchedNotes(_forge(gitlab_standin), scenario.mr.iid, MARKER)
    prefetched.bot_user_id()  # waits for the thread: both reads are done now
    assert [r.method for r in gitlab_standin.requests.all()] == ["GET", "GET"]
    outcome = upsert_comment(prefetched, scenario.mr.iid, f"{MARKER}\nx", marker=MARKER,
                             ok=False)
    assert outcome is not None and outcome.action == "created"
    assert [r.method for r in gitlab_standin.requests.all()] == ["GET", "GET", "POST"]
    again = upsert_comment(PrefetchedNotes(_forge(gitlab_standin), scenario.mr.iid, MARKER),
                           scenario.mr.iid, f"{MARKER}\nx", marker=MARKER, ok=False)
    assert again is not None and again.action == "unchanged"

    wrong = Token("glpat-not-a-real-token", "RELBOT_MR_TOKEN", "mr")
    refused = PrefetchedNotes(GitLabMergeRequests(
        Connection(gitlab_standin.url, wrong, None, 2.0), scenario.project.id),
        scenario.mr.iid, MARKER)
    with pytest.raises(ForgeError, match=r"^GitLab refused the token in RELBOT_MR_TOKEN while "
                       r"looking up the token's user \(401\): it is wrong, expired or revoked\.$"):
        upsert_comment(refused, scenario.mr.iid, f"{MARKER}\ny", marker=MARKER, ok=False)
    assert gitlab_standin.requests.count("POST") == 1


class _OtherAuthorsThread:
    """relbot's marker in a note of an earlier token's bot user (user 3); the token now is
    user 7. ``editable``: whether the forge lets user 7 edit it (GitLab does not)."""

    def __init__(self, editable: bool) -> None:
        from tests.memory_forge import MemoryNotes

        self.inner = MemoryNotes(user_id=7)
        self.inner.notes[1] = [Note(1, "d1", f"{MARKER}\nold", 3)]
        self.editable = editable

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def find_note(self, iid: int, marker: str, author_id: int) -> Note | None:
        return next((n for n in self.inner.notes.get(iid, []) if marker in n.body), None)

    def update_note(self, iid: int, note: Note, body: str) -> Note:
        from relbot.forge import ForgeForbidden

        if not self.editable and note.author_id != 7:
            raise ForgeForbidden("403: only the author edits a note")
        return self.inner.update_note(iid, note, body)


def test_an_earlier_tokens_thread_is_resolved_and_reported_as_replaced() -> None:
    forge = _OtherAuthorsThread(editable=False)
    outcome = upsert_comment(forge, 1, f"{MARKER}\nnew", marker=MARKER, ok=False)  # type: ignore[arg-type]
    assert outcome is not None
    assert outcome.action == "created" and outcome.note.author_id == 7
    assert outcome.replaced == Note(1, "d1", f"{MARKER}\nold", 3, True)
    assert forge.inner.notes[1][0].resolved  # the old thread: resolved, left as it was


def test_an_earlier_tokens_thread_that_may_be_edited_is_taken_over() -> None:
    forge = _OtherAuthorsThread(editable=True)
    outcome = upsert_comment(forge, 1, f"{MARKER}\nnew", marker=MARKER, ok=True)  # type: ignore[arg-type]
    assert outcome is not None
    assert (outcome.action, outcome.replaced) == ("taken over", None)
    assert outcome.note.body == f"{MARKER}\nnew" and outcome.note.resolved
    assert len(forge.inner.notes[1]) == 1


def test_prefetched_notes_answer_only_the_question_they_prefetched() -> None:
    from relbot.forge import PrefetchedNotes
    from tests.memory_forge import MemoryNotes

    inner = MemoryNotes(user_id=7)
    inner.notes[1] = [Note(1, "d1", f"{MARKER}\none", 7)]
    inner.notes[2] = [Note(1, "d1", f"{MARKER}\ntwo", 7)]
    prefetched = PrefetchedNotes(inner, 1, MARKER)
    assert prefetched.find_note(1, MARKER, 7) == inner.notes[1][0]
    assert prefetched.find_note(2, MARKER, 7) == inner.notes[2][0]  # asked anew
    assert prefetched.find_note(1, "<!-- other -->", 7) is None


def test_an_unavailable_forge_says_why_wherever_it_is_asked() -> None:
    """A dry run plans with a forge it could not make; the real run's first call says why."""
    from relbot.errors import ConfigError
    from relbot.forge import UnavailableForge

    forge = UnavailableForge("gitlab", "forge = \"gitlab\" needs the GitLab URL")
    for call in (forge.verify_release_access,
                 lambda: forge.ensure_merge_request("a", "b", "t", "d", ()),
                 lambda: forge.ensure_release("v1", "v1", "notes")):
        with pytest.raises(ConfigError) as raised:
            call()
        assert str(raised.value) == "forge = \"gitlab\" needs the GitLab URL"
