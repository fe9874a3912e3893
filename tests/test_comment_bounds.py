"""The bot comment stays under GitLab's note limit, whatever the number of pending fragments."""

from __future__ import annotations

from pathlib import Path

import pytest

from relbot.comment import preview
from relbot.gitlab_standin import GitLabStandIn
from relbot.gitlab_standin.state import NOTE_MAX_CHARS
from tests.conftest import Repo, make_repo, run, yaook_like_files
from tests.gitlab_fixtures import FRAGMENTS, cast, ci, fragment, relbot_toml

PENDING = 2_000
TEXT = "A pending change that is described at some length, " * 12  # ~620 characters


def _mr_with_pending(tmp_path: Path, standin: GitLabStandIn,
                     pending: dict[str, str]) -> tuple[Repo, str]:
    """A Yaook/K8s-like repository (forge gitlab) with ``pending`` fragments on its main
    branch, checked out on the MR's source branch, which adds the MR's own fragment."""
    files = yaook_like_files()
    files["relbot.toml"] = relbot_toml()
    files.update(pending)
    repo = make_repo(tmp_path, files)
    base = repo.git("rev-parse", "HEAD")
    mr = cast(standin).mr
    repo.git("checkout", "-q", "-b", mr.source_branch)
    for path, text in fragment(mr.iid).items():
        repo.write(path, text)
    repo.commit_all("A thing")
    return repo, base


def test_preview_keeps_whole_lines_and_counts_the_rest() -> None:
    """At most N entries and K characters, whole lines; the rest is counted, not shown."""
    notes = "### Features\n\n" + "".join(f"- entry {i}\n" for i in range(10))
    head, left = preview(notes, entries=3, chars=10_000)
    assert head.splitlines()[-1] == "- entry 2" and left == 7
    head, left = preview(notes, entries=100, chars=40)
    assert len(head) <= 40 and left == 10 - head.count("- entry")
    assert preview(notes) == (notes.rstrip("\n"), 0)
    two = notes + "\n### Bugfixes\n\n- fix 0\n"
    head, left = preview(two, entries=10)
    assert head == notes.rstrip("\n") and left == 1  # no heading of a section not shown
    head, left = preview("- " + "x" * 100, entries=5, chars=20)
    assert head == "- " + "x" * 18 + " …" and left == 1


@pytest.mark.reliability("Hostile fragments")
def test_comment_with_notes_over_gitlabs_limit_is_posted(
        tmp_path: Path, gitlab_standin: GitLabStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pending notes longer than GitLab's 1,000,000-character note limit (the stand-in
    answers 400 to more; the forge cut the body just below it, mid-notes): the comment shows
    a bounded preview and says how many entries it leaves out and where the full notes are."""
    pending = {f"{FRAGMENTS}/{1000 + i}.fix": f"{TEXT}{i}.\n" for i in range(PENDING)}
    assert sum(len(text) for text in pending.values()) > NOTE_MAX_CHARS
    repo, base = _mr_with_pending(tmp_path, gitlab_standin, pending)
    mr = cast(gitlab_standin).mr
    ci(monkeypatch, gitlab_standin, mr, base, token=cast(gitlab_standin).bot_token)
    result = run(["mr", "check"], repo.path)
    assert result.code == 0, result.out + result.err
    threads = [d for d in gitlab_standin.discussions(mr)
               if d.notes[0].author_id == cast(gitlab_standin).bot.id]
    assert len(threads) == 1, result.err
    body = threads[0].notes[0].body
    assert len(body) < 100_000  # a tenth of the limit: not GitLab-length shortening
    shown = body.count("\n- A pending change")
    assert 0 < shown < PENDING
    assert "- A new thing." in body  # the MR's own entry, in the first section
    assert (f"… and {PENDING - shown} more entries; full notes: `relbot notes --draft`"
            in body)


def test_the_comment_previews_what_a_rendering_of_all_would_show(
        tmp_path: Path, gitlab_standin: GitLabStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the leading groups are rendered for the preview (300 features, then 1,500
    fixes and 200 changes that it never reaches): the comment shows the head a rendering
    of all would show, and counts the same entries left out."""
    import datetime

    from relbot.comment import PREVIEW_ENTRIES
    from relbot.config import load_config
    from relbot.git import GitRepo
    from relbot.mr import MergeRequest, check_mr
    from relbot.project import Project

    pending = {f"{FRAGMENTS}/{1000 + i}.feature": f"Feature {i}.\n" for i in range(300)}
    pending.update({f"{FRAGMENTS}/{2000 + i}.fix": f"Fix {i}.\n" for i in range(1500)})
    pending.update({f"{FRAGMENTS}/{4000 + i}.change": f"Change {i}.\n" for i in range(200)})
    repo, base = _mr_with_pending(tmp_path, gitlab_standin, pending)
    mr = cast(gitlab_standin).mr
    project = Project(repo.path)
    found = project.fragments()
    full = project.notes(found, project.next_version(found),
                         datetime.date.today().isoformat(), fmt="md", title=False).text
    head, left = preview(full, entries=PREVIEW_ENTRIES)
    assert left == 300 + 1 + 1500 + 200 - PREVIEW_ENTRIES
    config = load_config(repo.path)
    quiet = check_mr(config, [Project(repo.path, None, config)],
                     MergeRequest(mr.iid, base), GitRepo(repo.path), preview=False)
    assert quiet.components[0].notes_md is None  # no comment, no rendering
    ci(monkeypatch, gitlab_standin, mr, base, token=cast(gitlab_standin).bot_token)
    result = run(["mr", "check"], repo.path)
    assert result.code == 0, result.out + result.err
    body = next(d for d in gitlab_standin.discussions(mr)
                if d.notes[0].author_id == cast(gitlab_standin).bot.id).notes[0].body
    assert head in body
    assert f"… and {left} more entries; full notes: `relbot notes --draft`" in body
