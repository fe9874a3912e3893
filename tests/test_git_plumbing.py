"""relbot/git.py on real repositories: each method's contract, one behaviour a test.

The release plan and its execution stand on these answers (what a revision is, what a
tree holds, what the remote has, whether a push moved every ref); the end-to-end tests
reach them only through whole cuts, which miss an answer that is slightly wrong.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from relbot.errors import GitError
from relbot.git import GitRepo, RemoteRefs, _last_meaningful
from relbot.secrets import register
from tests.conftest import Repo, git, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path, {"a.txt": "alpha\n", "dir/b.txt": "beta\n",
                                "dir/sub/c.txt": "gamma\n"})


@pytest.fixture
def g(repo: Repo) -> Iterator[GitRepo]:
    plumbing = GitRepo(repo.path)
    yield plumbing
    plumbing.close()


# -- running -------------------------------------------------------------------------------

def test_a_directory_without_git_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="is not a git repository"):
        GitRepo(tmp_path)
    assert GitRepo.find(tmp_path) is None


def test_find_returns_the_repository(repo: Repo) -> None:
    found = GitRepo.find(repo.path)
    assert found is not None and found.root == repo.path.absolute()


def test_run_strips_one_final_line_break_only(g: GitRepo, repo: Repo) -> None:
    repo.write("spaced.txt", "  text  \n\n")
    repo.commit_all("spaced")
    assert g.run("show", "HEAD:spaced.txt") == "  text  \n"
    assert g.run("show", "HEAD:spaced.txt", strip=False) == "  text  \n\n"


def test_run_passes_stdin_and_environment(g: GitRepo) -> None:
    oid = g.run("hash-object", "--stdin", stdin="hello\n")
    assert oid == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert g.run("var", "GIT_AUTHOR_IDENT", env={"GIT_AUTHOR_NAME": "Other Name"}) \
        .startswith("Other Name <")


def test_a_failing_command_names_itself_and_gits_last_error(g: GitRepo) -> None:
    with pytest.raises(GitError) as caught:
        g.run("rev-parse", "--verify", "no-such-revision")
    assert str(caught.value) == "git rev-parse failed: fatal: Needed a single revision"


def test_failure_messages_are_masked(g: GitRepo) -> None:
    register("s3cr3t-token-value")
    with pytest.raises(GitError) as caught:
        g.run("rev-parse", "--verify", "s3cr3t-token-value")
    assert "s3cr3t-token-value" not in str(caught.value)
    assert str(caught.value).startswith("git rev-parse failed:")


def test_git_messages_stay_english(g: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    monkeypatch.setenv("LANGUAGE", "de")
    out = g.run("-c", "alias.env=!env", "env").splitlines()
    assert "LC_ALL=C" in out
    assert "LANGUAGE=C" in out


def test_a_vanished_work_tree_is_said_so(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a": "a\n"})
    plumbing = GitRepo(repo.path)
    repo.path.rename(tmp_path / "elsewhere")
    with pytest.raises(GitError, match="does not exist"):
        plumbing.run("status")


def test_missing_git_is_said_so(g: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(GitError, match="git is not installed"):
        g.run("status")


def test_ok_answers_by_exit_status(g: GitRepo) -> None:
    assert g.ok("rev-parse", "--verify", "HEAD") is True
    assert g.ok("rev-parse", "--verify", "nothing-here") is False


# -- questions -----------------------------------------------------------------------------

def test_revisions_resolve_to_commits(g: GitRepo, repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    repo.git("tag", "-a", "-m", "annotated", "v1.0.0")
    assert g.rev("HEAD") == head
    assert g.rev("v1.0.0") == head  # peeled to the commit
    assert g.rev("nothing-here") is None
    assert g.has_object(head) is True
    assert g.has_object("0" * 40) is False


def test_file_at_reads_blobs_and_refuses_trees(g: GitRepo) -> None:
    assert g.file_at("HEAD", "dir/b.txt") == b"beta\n"
    assert g.file_at("HEAD", "missing.txt") is None
    with pytest.raises(GitError, match="dir at HEAD is a tree, not a file"):
        g.file_at("HEAD", "dir")


def test_many_questions_share_one_batch_process(g: GitRepo) -> None:
    for _ in range(3):
        assert g.file_at("HEAD", "a.txt") == b"alpha\n"
    batch = g._batch
    assert batch is not None and batch.poll() is None
    assert g.file_at("HEAD", "dir/sub/c.txt") == b"gamma\n"
    assert g._batch is batch
    g.close()
    assert g._batch is None and batch.poll() is not None
    assert g.file_at("HEAD", "a.txt") == b"alpha\n"  # a new batch after close


def test_an_ended_batch_process_is_restarted(g: GitRepo) -> None:
    assert g.file_at("HEAD", "a.txt") == b"alpha\n"
    assert g._batch is not None
    g._batch.kill()
    g._batch.wait()
    assert g.file_at("HEAD", "a.txt") == b"alpha\n"


@pytest.mark.parametrize("name", ["HEAD:na\nme.txt", "-dash.txt", " lead.txt", "trail.txt ",
                                  "in side.txt"])
def test_names_the_batch_cannot_carry_still_resolve(repo: Repo, g: GitRepo, name: str) -> None:
    """Line breaks, a leading dash, spaces: the answer is the same as for any name."""
    path = name.removeprefix("HEAD:")
    repo.write(path, "odd\n")
    repo.git("add", "--", path)
    repo.git("commit", "-q", "-m", "odd name")
    assert g.file_at("HEAD", path) == b"odd\n"
    assert g.rev(repo.git("rev-parse", "HEAD")) == repo.git("rev-parse", "HEAD")


def test_a_leading_dash_revision_is_not_an_option(g: GitRepo) -> None:
    assert g.rev("--all") is None
    assert g.rev("-h") is None


def test_a_revision_named_only_by_spaces_is_none(g: GitRepo) -> None:
    assert g.rev("   ") is None


def test_ancestry(g: GitRepo, repo: Repo) -> None:
    first = repo.git("rev-parse", "HEAD")
    repo.write("a.txt", "changed\n")
    second = repo.commit_all("second")
    assert g.is_ancestor(first, second) is True
    assert g.is_ancestor(second, first) is False


def test_current_branch_and_detached_head(g: GitRepo, repo: Repo) -> None:
    assert g.current_branch() == "main"
    repo.git("checkout", "-q", "--detach")
    assert g.current_branch() is None


def test_status_lists_each_change_once(g: GitRepo, repo: Repo) -> None:
    assert g.status() == []
    repo.git("mv", "a.txt", "renamed.txt")
    repo.write("new file.txt", "new\n")
    repo.write("dir/b.txt", "changed\n")
    assert sorted(g.status()) == [" M dir/b.txt", "?? new file.txt", "R  renamed.txt"]


def test_status_does_not_take_the_index_lock(g: GitRepo, repo: Repo) -> None:
    (repo.path / ".git" / "index.lock").write_text("")
    repo.write("dir/b.txt", "changed\n")
    assert g.status() == [" M dir/b.txt"]


def test_a_started_status_is_read_by_the_next_status(g: GitRepo, repo: Repo) -> None:
    """The started process answers (the repository as it was when it ran), once."""
    g.start_status()
    started = g._started[("--no-optional-locks", "status", "--porcelain", "-z",
                          "--untracked-files=all")]
    started.wait()  # it has answered; a change made now is not in its answer
    repo.write("dir/b.txt", "changed\n")
    assert g.status() == []
    assert g._started == {}
    assert g.status() == [" M dir/b.txt"]  # read once: the next question is asked anew


def test_started_questions_not_read_are_dropped_and_reaped(g: GitRepo, repo: Repo) -> None:
    g.start_status(save_stat=True)
    g.start_has_remote()
    g.start_remote_refs(["refs/heads/*"])
    g.start_tags_at(repo.git("rev-parse", "HEAD"), "v*")
    started = list(g._started.values())
    assert len(started) == 4
    repo.write("dir/b.txt", "changed\n")
    g.drop_started()
    assert all(proc.returncode is not None for proc in started)
    assert g.status() == [" M dir/b.txt"]  # asked anew, not the stale answer


def test_each_started_question_is_the_one_its_method_asks(g: GitRepo, repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    repo.git("tag", "-a", "-m", "rc", "v1.0.0-rc.1")
    repo.push("v1.0.0-rc.1")
    g.start_has_remote()
    g.start_remote_refs(["refs/tags/v*"])
    g.start_tags_at(head, "v[0-9]*-*")
    g.start_status(save_stat=True)
    assert g.has_remote() is True
    assert g.remote_refs(["refs/tags/v*"]).refs["refs/tags/v1.0.0-rc.1^{}"] == head
    assert g.tags_at(head, "v[0-9]*-*") == ["v1.0.0-rc.1"]
    assert g.status(save_stat=True) == []
    assert g._started == {}  # each read its started process


def test_a_started_question_that_fails_says_why_when_read(g: GitRepo, tmp_path: Path) -> None:
    g.run("remote", "add", "gone", str(tmp_path / "missing.git"))
    g.start_remote_refs(["refs/heads/*"], remote="gone")
    with pytest.raises(GitError, match=r"git ls-remote failed: .*Could not read from remote"):
        g.remote_refs(["refs/heads/*"], remote="gone")


def test_a_question_started_twice_runs_once(g: GitRepo) -> None:
    g.start_has_remote()
    first = dict(g._started)
    g.start_has_remote()
    assert g._started == first
    assert g.has_remote() is True
    g.start_has_remote()  # answered already: nothing to start
    assert g._started == {}


def test_remotes(g: GitRepo, repo: Repo) -> None:
    assert g.has_remote() is True
    assert g.has_remote("upstream") is False
    assert g.push_url() == str(repo.remote)
    repo.git("remote", "set-url", "--push", "origin", "/elsewhere.git")
    assert g.push_url() == "/elsewhere.git"
    assert g.remote_default_branch() == "main"
    assert g.remote_default_branch("upstream") is None


def test_remote_refs_in_one_listing(g: GitRepo, repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    repo.git("tag", "-a", "-m", "annotated", "v1.0.0")
    repo.push("v1.0.0")
    seen = g.remote_refs(["refs/heads/main", "refs/tags/v*"])
    assert seen.head == "refs/heads/main"
    assert seen.refs["refs/heads/main"] == head
    assert seen.refs["refs/tags/v1.0.0"] == repo.git("rev-parse", "v1.0.0")
    assert seen.refs["refs/tags/v1.0.0^{}"] == head
    assert seen.refs["HEAD"] == head
    assert "ref: refs/heads/main" not in seen.refs.values()
    assert seen.covers("refs/tags/v2.0.0") is True
    assert seen.covers("refs/heads/other") is False
    assert seen.patterns == ("refs/heads/main", "refs/tags/v*")


def test_remote_refs_cover_globs_as_git_does() -> None:
    seen = RemoteRefs({}, None, ("refs/tags/v*", "refs/heads/release/*"))
    assert seen.covers("refs/tags/v1") and seen.covers("refs/heads/release/v1.2")
    assert not seen.covers("refs/tags/x1") and not seen.covers("refs/heads/main")


def test_ls_remote_returns_only_what_exists(g: GitRepo, repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    found = g.ls_remote(["refs/heads/main", "refs/heads/absent"])
    assert found == {"refs/heads/main": head}


def test_tags(g: GitRepo, repo: Repo) -> None:
    first = repo.git("rev-parse", "HEAD")
    repo.git("tag", "v1.0.0")
    repo.write("a.txt", "two\n")
    repo.commit_all("two")
    repo.git("tag", "v1.1.0")
    repo.git("tag", "other")
    repo.git("checkout", "-q", "-b", "side", first)
    repo.write("side.txt", "side\n")
    repo.commit_all("side")
    repo.git("tag", "v9.0.0")
    assert sorted(g.tags("v*")) == ["v1.0.0", "v1.1.0", "v9.0.0"]
    assert sorted(g.tags_merged("v*", "main")) == ["v1.0.0", "v1.1.0"]
    assert sorted(g.tags_merged("v*")) == ["v1.0.0", "v9.0.0"]  # HEAD is side
    assert g.tags_at(first, "v*") == ["v1.0.0"]
    assert g.tags_at(first, "x*") == []


def test_tags_merged_on_an_unborn_branch_is_empty(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main", "fresh")
    assert GitRepo(tmp_path / "fresh").tags_merged("v*") == []


def test_tags_merged_of_a_revision_that_is_no_commit_is_empty(g: GitRepo, repo: Repo) -> None:
    repo.git("tag", "v1.0.0")
    assert g.tags_merged("v*", "nothing-here") == []
    assert g.tags_merged("v*", "HEAD:a.txt") == []  # resolves, but to no commit


def test_trailers(g: GitRepo, repo: Repo) -> None:
    repo.write("a.txt", "t\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "Subject\n\nBody.\n\nRelbot-Version:  1.2.3 \n"
             "Relbot-Date: 2024-01-01\nRelbot-Version: 2.0.0\n")
    assert g.trailer("HEAD", "Relbot-Version") == ["1.2.3", "2.0.0"]
    assert g.trailer("HEAD", "Relbot-Date") == ["2024-01-01"]
    assert g.trailer("HEAD", "Relbot-Flow") == []


def test_commits_between(g: GitRepo, repo: Repo) -> None:
    first = repo.git("rev-parse", "HEAD")
    repo.write("a.txt", "2\n")
    second = repo.commit_all("2")
    repo.write("a.txt", "3\n")
    third = repo.commit_all("3")
    assert g.commits_between(first) == [third, second]
    assert g.commits_between(first, second) == [second]
    assert g.commits_between(None) == [third, second, first]


def test_read_blob(g: GitRepo, repo: Repo) -> None:
    oid = repo.git("rev-parse", "HEAD:a.txt")
    assert g.read_blob(oid) == b"alpha\n"
    with pytest.raises(GitError, match="is not an object id"):
        g.read_blob("HEAD")
    with pytest.raises(GitError, match="no object"):
        g.read_blob("1" * 40)
    with pytest.raises(GitError, match="is a tree, not a file"):
        g.read_blob(repo.git("rev-parse", "HEAD:dir"))


def test_binary_and_large_blobs_come_back_whole(g: GitRepo, repo: Repo) -> None:
    data = bytes(range(256)) * 4096 + b"\n\n"
    (repo.path / "big.bin").write_bytes(data)
    repo.commit_all("big")
    assert g.file_at("HEAD", "big.bin") == data
    assert g.read_blob(repo.git("rev-parse", "HEAD:big.bin")) == data
    assert g.file_at("HEAD", "a.txt") == b"alpha\n"  # the batch is still in step


# -- changes -------------------------------------------------------------------------------

def test_commit_files_writes_and_removes_without_touching_the_work_tree(
        g: GitRepo, repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    index = (repo.path / ".git" / "index").read_bytes()
    commit = g.commit_files("main", {"a.txt": b"new alpha\n", "new/d.txt": b"delta\n"},
                            ["dir/b.txt"], "Message\n\nTrailer: x\n")
    assert repo.git("rev-parse", f"{commit}^") == head
    assert repo.git("rev-parse", "HEAD") == head  # no ref moved
    assert (repo.path / ".git" / "index").read_bytes() == index
    assert (repo.path / "a.txt").read_text() == "alpha\n"
    assert repo.git("show", f"{commit}:a.txt") == "new alpha"
    assert repo.git("show", f"{commit}:new/d.txt") == "delta"
    assert sorted(repo.git("ls-tree", "-r", "--name-only", commit).splitlines()) == \
        ["a.txt", "dir/sub/c.txt", "new/d.txt"]
    assert repo.git("log", "-1", "--format=%B", commit) == "Message\n\nTrailer: x"


def test_commit_files_on_a_commit_id_and_with_nothing_to_change(g: GitRepo, repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    commit = g.commit_files(head, {}, [], "Empty\n")
    assert repo.git("rev-parse", f"{commit}^{{tree}}") == repo.git("rev-parse", "HEAD^{tree}")
    assert repo.git("rev-parse", f"{commit}^") == head


def test_commit_files_keeps_bytes_and_odd_names(g: GitRepo, repo: Repo) -> None:
    data = b"\x00\xffbinary\r\n"
    commit = g.commit_files("HEAD", {"dir/café file.bin": data}, ["a.txt"], "odd\n")
    assert g.file_at(commit, "dir/café file.bin") == data
    assert g.file_at(commit, "a.txt") is None


def test_commit_files_on_a_bad_parent_fails(g: GitRepo) -> None:
    with pytest.raises(GitError):
        g.commit_files("nothing-here", {"a.txt": b"x"}, [], "m\n")


def test_move_branch_is_compare_and_swap(g: GitRepo, repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    commit = g.commit_files(head, {"a.txt": b"moved\n"}, [], "move\n")
    with pytest.raises(GitError):
        g.move_branch("main", commit, commit)  # main is not at `commit`
    assert repo.git("rev-parse", "main") == head
    g.move_branch("main", commit, head)
    assert repo.git("rev-parse", "main") == commit
    assert f"relbot: release commit {commit[:12]}" in repo.git("reflog", "-1", "main")


def test_checkout_tree_after_a_touch(g: GitRepo, repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    commit = g.commit_files(head, {"a.txt": b"checked out\n"}, ["dir/b.txt"], "co\n")
    g.move_branch("main", commit, head)
    os.utime(repo.path / "a.txt", (1, 1))  # stat data changes, content does not
    g.checkout_tree(head, commit)
    assert (repo.path / "a.txt").read_text() == "checked out\n"
    assert not (repo.path / "dir" / "b.txt").exists()
    assert g.status() == []


def test_attach_create_branch_and_tags(g: GitRepo, repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "--detach")
    g.attach("work")
    assert g.current_branch() == "work"
    g.create_branch("release/v1.0", head)
    assert repo.git("rev-parse", "release/v1.0") == head
    with pytest.raises(GitError):
        g.create_branch("release/v1.0", head)
    message = "# Heading\n\n  indented\n\n"
    g.tag_annotated("v1.0.0", head, message)
    assert g.run("cat-file", "-p", "v1.0.0", strip=False).split("\n\n", 1)[1] == message
    g.delete_tag("v1.0.0")
    assert repo.git("tag", "--list") == ""


def test_push_atomic_moves_all_or_nothing(g: GitRepo, repo: Repo) -> None:
    """A pre-receive hook refusing tags: with --atomic the branch stays too."""
    hook = repo.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nwhile read old new ref; do\n"
                    "  case $ref in refs/tags/*) echo 'no tags here' >&2; exit 1;; esac\n"
                    "done\n")
    hook.chmod(0o755)
    before = git(repo.remote, "rev-parse", "main")
    repo.write("a.txt", "pushed\n")
    head = repo.commit_all("to push")
    repo.git("tag", "v2.0.0")
    result = g.push_atomic(["refs/heads/main:refs/heads/main", "refs/tags/v2.0.0"])
    assert result.ok is False
    assert git(repo.remote, "rev-parse", "main") == before
    assert git(repo.remote, "tag", "--list") == ""
    assert "pre-receive hook declined" in result.message
    hook.unlink()
    result = g.push_atomic(["refs/heads/main:refs/heads/main", "refs/tags/v2.0.0"])
    assert result.ok is True and result.rejected == ()
    assert git(repo.remote, "rev-parse", "main") == head


def test_push_rejected_names_the_refs(g: GitRepo, repo: Repo, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo.remote), str(other))
    (other / "a.txt").write_text("theirs\n")
    git(other, "commit", "-q", "-am", "theirs")
    git(other, "push", "-q", "origin", "main")
    repo.write("a.txt", "ours\n")
    repo.commit_all("ours")
    result = g.push_atomic(["refs/heads/main:refs/heads/main"])
    assert result.ok is False
    assert result.rejected == ("refs/heads/main",)
    assert "rejected" in result.message


def test_push_to_nowhere_raises_with_the_reason(g: GitRepo, tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        g.push_atomic(["refs/heads/main:refs/heads/main"], remote=str(tmp_path / "none.git"))
    assert str(caught.value).startswith(f"git push to {tmp_path / 'none.git'} failed: ")
    assert str(caught.value).endswith("fatal: Could not read from remote repository.")


def test_push_messages_are_masked(g: GitRepo, tmp_path: Path) -> None:
    url = f"https://user:hunter2-secret@{tmp_path.name}.invalid/repo.git"
    with pytest.raises(GitError) as caught:
        g.push_atomic(["refs/heads/main:refs/heads/main"], remote=url,
                      env={"GIT_ALLOW_PROTOCOL": "file"})
    assert "hunter2-secret" not in str(caught.value)


def test_last_meaningful_line() -> None:
    text = ("To /remote.git\nhint: Updates were rejected\nremote: first\n"
            "error: failed to push some refs\nDone\n")
    assert _last_meaningful(text) == "error: failed to push some refs"
    assert _last_meaningful("  plain line  \n\n") == "plain line"
    assert _last_meaningful("To x\nhint: y\n") == ""
    assert _last_meaningful("") == ""


@pytest.mark.parametrize("directory", ["new\nline", " lead", "-dash"])
def test_commit_files_into_a_directory_the_batch_cannot_name(g: GitRepo, repo: Repo,
                                                             directory: str) -> None:
    """Such a directory is built in a temporary index: the real index and the work tree
    stay as they were, and nothing is left behind."""
    head = repo.git("rev-parse", "HEAD")
    index = (repo.path / ".git" / "index").read_bytes()
    commit = g.commit_files(head, {f"{directory}/x.txt": b"x\n", "a.txt": b"changed\n"},
                            ["dir/b.txt"], "odd directory\n")
    assert g.file_at(commit, f"{directory}/x.txt") == b"x\n"
    assert g.file_at(commit, "a.txt") == b"changed\n"
    assert g.file_at(commit, "dir/b.txt") is None
    assert g.file_at(commit, "dir/sub/c.txt") == b"gamma\n"
    assert (repo.path / ".git" / "index").read_bytes() == index
    assert g.status() == []


# -- the release tree: mktree and hash-object, including when git fails ---------------------

def _failing_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str,
                 script: str) -> None:
    """A ``git`` first on PATH that runs ``script`` for ``command`` (``$REAL`` is the real
    git) and the real git else."""
    import subprocess

    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True,
                          check=True).stdout.strip()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\nREAL="{real}"\nif [ "$1" = {command} ]; then\n{script}\n'
                       'fi\nexec "$REAL" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_a_failing_mktree_says_gits_reason(g: GitRepo, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """git's last line, even in bytes that are no UTF-8, from a git that speaks English
    whatever the user's locale."""
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    _failing_git(tmp_path, monkeypatch, "mktree",
                 r"""printf 'fatal: bad object caf\351 (%s)\n' "$LC_ALL" >&2; exit 128""")
    with pytest.raises(GitError) as raised:
        g.commit_files("HEAD", {"a.txt": b"new\n"}, [], "message\n")
    assert str(raised.value) == "git mktree failed: fatal: bad object caf\ufffd (C)"


def test_a_silently_failing_mktree_says_it_gave_no_tree(g: GitRepo, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_git(tmp_path, monkeypatch, "mktree", "exit 1")
    with pytest.raises(GitError) as raised:
        g.commit_files("HEAD", {"a.txt": b"new\n"}, [], "message\n")
    assert str(raised.value) == "git mktree failed: no tree"


def test_an_mktree_that_fails_after_its_trees_is_not_trusted(
        g: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trees came, then git exited non-zero: its complaint is the error."""
    _failing_git(tmp_path, monkeypatch, "mktree",
                 '"$REAL" "$@"; printf \'error: disk caf\\351 full\\n\' >&2; exit 1')
    with pytest.raises(GitError) as raised:
        g.commit_files("HEAD", {"a.txt": b"new\n"}, [], "message\n")
    assert str(raised.value) == "git mktree failed: error: disk caf\ufffd full"


def test_a_changed_directory_keeps_its_submodule_entry(g: GitRepo, repo: Repo) -> None:
    """A gitlink (mode 160000) beside a changed file is written back as the commit it is."""
    head = repo.git("rev-parse", "HEAD")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{head},vendored")
    repo.git("commit", "-q", "-m", "A submodule entry")
    commit = g.commit_files("HEAD", {"a.txt": b"changed\n"}, [], "message\n")
    assert repo.git("ls-tree", commit, "vendored").split()[:3] == ["160000", "commit", head]


def test_a_changed_directory_keeps_a_name_that_is_no_utf8(g: GitRepo, repo: Repo) -> None:
    """A file whose name is bytes that are no UTF-8, beside a changed file, keeps its name."""
    name = os.fsdecode(b"caf\xe9.txt")  # Latin-1, as an old tool may have written it
    (repo.path / name).write_text("old\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "A Latin-1 name")
    def names(rev: str) -> list[bytes]:
        import subprocess

        listing = subprocess.run(["git", "ls-tree", "--name-only", "-z", rev], cwd=repo.path,
                                 capture_output=True, check=True).stdout
        return listing.split(b"\0")

    before = names("HEAD")
    assert b"caf\xe9.txt" in before
    commit = g.commit_files("HEAD", {"a.txt": b"changed\n"}, [], "message\n")
    assert names(commit) == before


def test_blobs_are_written_as_given_whatever_gitattributes_say(g: GitRepo, repo: Repo) -> None:
    """A changelog is the bytes relbot made: no end-of-line or filter conversion."""
    repo.write(".gitattributes", "* text eol=lf\n")
    repo.commit_all("Normalise line ends")
    data = b"line one\r\nline two\r\n"
    commit = g.commit_files("HEAD", {"CHANGELOG.md": data}, [], "message\n")
    assert g.file_at(commit, "CHANGELOG.md") == data


# -- the branch checked out, from .git/HEAD ------------------------------------------------

def _counting_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``git`` first on PATH that logs each command's first word, then runs the real one."""
    log = tmp_path / "git-commands.log"
    _failing_git(tmp_path, monkeypatch, '"$1"', f'echo "$1" >> "{log}"')
    return log


def _commands(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_the_branch_is_read_from_head_without_a_process(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain ``.git`` directory answers from its HEAD file: the branch, or a detached
    commit, and no git process for either (a cut asks twice)."""
    log = _counting_git(tmp_path, monkeypatch)
    monkeypatch.delenv("GIT_DIR", raising=False)
    g = GitRepo(repo.path)
    repo.git("checkout", "-q", "-b", "release/v1.2")
    assert g.current_branch() == "release/v1.2"
    repo.git("checkout", "-q", "--detach")
    assert g.current_branch() is None
    assert "symbolic-ref" not in _commands(log)


@pytest.mark.parametrize("head", [
    "ref: refs/heads/main",  # no final line break: not the file git writes
    "ref: refs/heads/.invalid\n",  # reftable's placeholder
    "ref: refs/heads/\n",
    "ref: refs/remotes/origin/main\n",
    "0123456789abcdef0123456789abcdef0123456\n",  # one digit short
    "0123456789abcdef0123456789abcdef01234567",  # no line break
    "ref: refs/heads/a\nb\n",
    "ref: refs/heads/main\r\n",  # a line end another tool wrote
])
def test_a_head_file_it_does_not_know_is_asked_of_git(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head: str) -> None:
    """Anything but ``ref: refs/heads/NAME\\n`` or an object id and a line break is not
    guessed at: git is asked (here a git whose symbolic-ref answers "asked")."""
    _failing_git(tmp_path, monkeypatch, "symbolic-ref", "echo asked; exit 0")
    monkeypatch.delenv("GIT_DIR", raising=False)
    (repo.path / ".git" / "HEAD").write_text(head, encoding="utf-8")
    assert GitRepo(repo.path).current_branch() == "asked"


def test_git_dir_in_the_environment_is_asked_of_git(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``GIT_DIR`` set, the HEAD that counts may be another directory's: git answers."""
    _failing_git(tmp_path, monkeypatch, "symbolic-ref", "echo asked; exit 0")
    monkeypatch.setenv("GIT_DIR", str(repo.path / ".git"))
    assert GitRepo(repo.path).current_branch() == "asked"


def test_a_git_directory_behind_a_link_is_asked_of_git(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``.git`` that is a symbolic link is not read through: git answers."""
    _failing_git(tmp_path, monkeypatch, "symbolic-ref", "echo asked; exit 0")
    monkeypatch.delenv("GIT_DIR", raising=False)
    (repo.path / ".git").rename(tmp_path / "elsewhere.git")
    (repo.path / ".git").symlink_to(tmp_path / "elsewhere.git")
    assert GitRepo(repo.path).current_branch() == "asked"


def test_a_linked_work_tree_is_asked_of_git(repo: Repo, tmp_path: Path) -> None:
    """A linked work tree's ``.git`` is a file: its branch comes from git."""
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", "-b", "side", str(linked))
    assert (linked / ".git").is_file()
    assert GitRepo(linked).current_branch() == "side"


# -- tags, highest first -------------------------------------------------------------------

def test_highest_tags_come_in_version_order_and_only_as_many_as_asked(
        g: GitRepo, repo: Repo) -> None:
    """git's version sort (10 above 9), the glob, and the count."""
    for tag in ("v1.9.0", "v1.10.0", "v1.2.0", "other-1.0", "v2.0.0-rc1"):
        repo.git("tag", tag)
    assert g.highest_tags("v*", 3) == ["v2.0.0-rc1", "v1.10.0", "v1.9.0"]
    assert g.highest_tags("v1.*", 10) == ["v1.10.0", "v1.9.0", "v1.2.0"]
    assert g.highest_tags("x*", 5) == []


# -- what git said about a refused push ----------------------------------------------------

def test_a_refused_push_is_told_ref_by_ref_without_porcelains_frame() -> None:
    """``To <url>`` and ``Done`` dropped; each refused ref as ``<ref>: <verdict>``, so that
    the last line is why; other lines as git wrote them."""
    from relbot.git import _refusal_text

    stdout = ("To /srv/remote.git\n"
              "=\trefs/heads/main:refs/heads/main\t[up to date]\n"
              "!\trefs/tags/v1.0.0:refs/tags/v1.0.0\t[rejected] (already exists)\n"
              "!\trefs/heads/x:refs/heads/release/v1.0\t[remote rejected] (hook declined)\n"
              "Done\n")
    stderr = "remote: refused by policy\n"
    assert _refusal_text(stderr, stdout) == (
        "remote: refused by policy\n"
        "=\trefs/heads/main:refs/heads/main\t[up to date]\n"
        "refs/tags/v1.0.0: [rejected] (already exists)\n"
        "refs/heads/release/v1.0: [remote rejected] (hook declined)")
    assert _refusal_text("", "Done\n") == ""
    assert _refusal_text("! a line of two fields\tonly\n", "") == "! a line of two fields\tonly"


# -- the git directory ---------------------------------------------------------------------

_ASK_GIT_DIR = 'if [ "$2" = --absolute-git-dir ]; then echo /asked; exit 0; fi'


def test_the_git_directory_is_dot_git_without_a_process(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain ``.git`` directory is the git directory: no process asks."""
    _failing_git(tmp_path, monkeypatch, "rev-parse", _ASK_GIT_DIR)
    monkeypatch.delenv("GIT_DIR", raising=False)
    assert GitRepo(repo.path).git_dir() == repo.path / ".git"


def test_a_git_directory_it_cannot_vouch_for_is_asked_of_git(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``GIT_DIR`` set, or ``.git`` a link: git names the directory."""
    _failing_git(tmp_path, monkeypatch, "rev-parse", _ASK_GIT_DIR)
    monkeypatch.setenv("GIT_DIR", str(repo.path / ".git"))
    assert GitRepo(repo.path).git_dir() == Path("/asked")
    monkeypatch.delenv("GIT_DIR")
    (repo.path / ".git").rename(tmp_path / "elsewhere.git")
    (repo.path / ".git").symlink_to(tmp_path / "elsewhere.git")
    assert GitRepo(repo.path).git_dir() == Path("/asked")


def test_a_linked_work_trees_git_directory_is_its_own(repo: Repo, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", "-b", "side", str(linked))
    assert GitRepo(linked).git_dir() == (repo.path / ".git" / "worktrees" / "linked").resolve()


# -- refs and the work tree: exactly what each step writes ---------------------------------

def test_the_release_commits_reflog_names_it_by_twelve_digits(g: GitRepo, repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    commit = g.commit_files(head, {"a.txt": b"moved\n"}, [], "move\n")
    g.move_branch("main", commit, head)
    assert repo.git("reflog", "-1", "--format=%gs", "main") == (
        f"relbot: release commit {commit[:12]}")


def test_branches_and_tags_go_where_they_are_told_not_to_head(g: GitRepo, repo: Repo) -> None:
    """A prepared release's branch and tag name its commit, which HEAD is not."""
    head = repo.git("rev-parse", "HEAD")
    commit = g.commit_files(head, {"a.txt": b"prepared\n"}, [], "prepare\n")
    g.create_branch("release/v1.0", commit)
    g.tag_annotated("v1.0.0", commit, "notes\n")
    assert repo.git("rev-parse", "release/v1.0") == commit
    assert repo.git("rev-parse", "v1.0.0^{commit}") == commit
    assert repo.git("cat-file", "-t", "v1.0.0") == "tag"
    assert repo.git("rev-parse", "HEAD") == head


def test_checkout_tree_runs_one_read_tree_when_nothing_was_touched(
        g: GitRepo, repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual case is one two-way ``read-tree``: no refresh, no second try."""
    head = repo.git("rev-parse", "HEAD")
    commit = g.commit_files(head, {"a.txt": b"checked out\n"}, ["dir/b.txt"], "co\n")
    g.move_branch("main", commit, head)
    g.status(save_stat=True)
    log = _counting_git(tmp_path, monkeypatch)
    g.checkout_tree(head, commit)
    assert _commands(log) == ["read-tree"]
    assert (repo.path / "a.txt").read_text() == "checked out\n"
    assert not (repo.path / "dir" / "b.txt").exists()


def test_file_at_names_what_is_there_instead(g: GitRepo, repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    with pytest.raises(GitError) as raised:
        g.file_at(head, "dir")
    assert str(raised.value) == f"dir at {head[:12]} is a tree, not a file."


def test_output_that_is_no_utf8_is_read_with_replacements(g: GitRepo, repo: Repo) -> None:
    """A Latin-1 file name in git's output is no error: its byte becomes U+FFFD."""
    (repo.path / os.fsdecode(b"caf\xe9.txt")).write_text("old\n")
    repo.git("add", "-A")
    assert "caf\ufffd.txt" in g.run("-c", "core.quotePath=false", "ls-files").splitlines()


def test_status_lists_a_copy_once(g: GitRepo, repo: Repo) -> None:
    """With ``status.renames=copies`` git reports copies; a copy's source path is not a
    change of its own."""
    repo.git("config", "status.renames", "copies")
    (repo.path / "copy.txt").write_text((repo.path / "a.txt").read_text())
    (repo.path / "a.txt").write_text("alpha, changed\n")  # copies are found from changed files
    repo.git("add", "copy.txt", "a.txt")
    assert sorted(line[:1] for line in g.status()) == ["C", "M"]


# -- pushes: never a password prompt, refusals told apart from failures ----------------------

def test_a_push_never_waits_for_a_password(
        g: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git is told not to prompt on the terminal (a CI job would hang)."""
    seen = tmp_path / "prompt.txt"
    monkeypatch.delenv("GIT_TERMINAL_PROMPT", raising=False)
    _failing_git(tmp_path, monkeypatch, "push",
                 f'echo "${{GIT_TERMINAL_PROMPT-unset}}" > "{seen}"')
    g.push_atomic(["refs/heads/main:refs/heads/main"])
    assert seen.read_text() == "0\n"


@pytest.mark.parametrize("said", [
    "remote: HTTP Basic: Access denied",
    "hint: Updates were rejected because the tag already exists in the remote.",
])
def test_a_push_refused_without_a_porcelain_line_is_a_refusal(
        g: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, said: str) -> None:
    """Access denied, or updates rejected, said only in prose: reported as refused, not
    raised as a failure of git."""
    _failing_git(tmp_path, monkeypatch, "push", f"echo '{said}' >&2; exit 1")
    result = g.push_atomic(["refs/heads/main:refs/heads/main"])
    assert (result.ok, result.rejected) == (False, ())
    assert said in result.message


def test_a_refused_push_names_the_destination_refs_only(
        g: GitRepo, repo: Repo, tmp_path: Path) -> None:
    """The ref refused is the remote's (``HEAD:refs/heads/main`` names main), and a ref that
    was up to date is not among the refused."""
    repo.git("push", "-q", "origin", "HEAD:refs/heads/stable")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo.remote), str(other))
    (other / "a.txt").write_text("theirs\n")
    git(other, "commit", "-q", "-am", "theirs")
    git(other, "push", "-q", "origin", "main")
    stable = repo.git("rev-parse", "HEAD")
    repo.write("a.txt", "ours\n")
    repo.commit_all("ours")
    result = g.push_atomic([f"{stable}:refs/heads/stable", "HEAD:refs/heads/main"])
    assert result.ok is False
    assert result.rejected == ("refs/heads/main",)


def test_a_directory_name_the_batch_cannot_carry_goes_through_a_scratch_index(
        g: GitRepo, repo: Repo) -> None:
    """A changed directory whose name ends in a space takes the temporary index; the real
    index and the work tree stay as they were."""
    repo.write("odd /x.txt", "old\n")
    repo.commit_all("A directory with a trailing space")
    head = repo.git("rev-parse", "HEAD")
    index = (repo.path / ".git" / "index").read_bytes()
    commit = g.commit_files(head, {"odd /x.txt": b"new\n", "odd /y.txt": b"y\n"},
                            ["a.txt"], "message\n")
    assert g.file_at(commit, "odd /x.txt") == b"new\n"
    assert g.file_at(commit, "odd /y.txt") == b"y\n"
    assert g.file_at(commit, "a.txt") is None
    assert g.file_at(commit, "dir/b.txt") == b"beta\n"
    assert (repo.path / ".git" / "index").read_bytes() == index
    assert g.status() == []


def test_git_says_why_it_failed_in_its_last_meaningful_line() -> None:
    """Porcelain's frame and hints are passed over; an error line wins over other lines."""
    from relbot.git import _last_meaningful

    assert _last_meaningful("To /srv/x.git\nremote: no access\nhint: try again\nDone\n") == (
        "remote: no access")
    assert _last_meaningful("fatal: bad thing\nsome detail\n") == "fatal: bad thing"
    assert _last_meaningful("remote: refused\nsome detail\n") == "remote: refused"
    assert _last_meaningful("first\nsecond\nDone\n") == "second"
    assert _last_meaningful("done with it\n") == "done with it"
    assert _last_meaningful("") == ""


@pytest.mark.parametrize(("name", "can"), [
    ("HEAD:a.txt", True), ("HEAD:in side.txt", True), ("HEAD:na\nme", False),
    ("-dash", False), ("x-dash", True), ("   ", False), ("", False), (" lead", False),
    ("trail ", False)])
def test_which_names_the_batch_can_carry(name: str, can: bool) -> None:
    """One line, trimmed, no leading dash: what ``cat-file --batch`` reads as one question."""
    from relbot.git import batch_can_ask

    assert batch_can_ask(name) is can


def test_a_file_whose_name_is_no_utf8_is_read_through_the_batch(g: GitRepo, repo: Repo) -> None:
    name = os.fsdecode(b"caf\xe9.txt")
    (repo.path / name).write_text("latin\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "A Latin-1 name")
    assert g.file_at("HEAD", name) == b"latin\n"


def test_a_status_that_saves_stat_data_writes_it_to_the_index(g: GitRepo, repo: Repo) -> None:
    """``save_stat`` lets git keep the refreshed stat data (a touched file is clean again for
    the next reader of the index); without it the index is left alone."""
    os.utime(repo.path / "a.txt", (1, 1))
    index = (repo.path / ".git" / "index").read_bytes()
    assert g.status() == []
    assert (repo.path / ".git" / "index").read_bytes() == index
    assert g.status(save_stat=True) == []
    assert (repo.path / ".git" / "index").read_bytes() != index
    assert g.ok("diff-files", "--quiet")


def test_checkout_tree_never_overwrites_a_local_change(g: GitRepo, repo: Repo) -> None:
    """A change nobody committed survives the move, where the release leaves its file alone,
    and stops it, where the release changes that file."""
    head = repo.git("rev-parse", "HEAD")
    commit = g.commit_files(head, {"a.txt": b"released\n"}, [], "release\n")
    (repo.path / "dir" / "b.txt").write_text("mine\n")
    g.checkout_tree(head, commit)
    assert (repo.path / "dir" / "b.txt").read_text() == "mine\n"
    assert (repo.path / "a.txt").read_text() == "released\n"
    later = g.commit_files(commit, {"dir/b.txt": b"theirs\n"}, [], "later\n")
    with pytest.raises(GitError):
        g.checkout_tree(commit, later)
    assert (repo.path / "dir" / "b.txt").read_text() == "mine\n"


def test_a_remote_whose_head_names_no_branch_has_no_head(g: GitRepo, repo: Repo) -> None:
    """Where the remote's HEAD names a branch that does not exist, no HEAD is known."""
    git(repo.remote, "symbolic-ref", "HEAD", "refs/heads/nothing-here")
    seen = g.remote_refs(["refs/heads/*"])
    assert seen.head is None
    assert seen.refs == {"refs/heads/main": repo.git("rev-parse", "HEAD")}


def test_checkout_tree_keeps_a_staged_change_the_release_leaves_alone(
        g: GitRepo, repo: Repo) -> None:
    """A change added to the index but not committed stays staged through the move (a
    two-way merge carries it forward, where reading the new tree alone would drop it)."""
    head = repo.git("rev-parse", "HEAD")
    commit = g.commit_files(head, {"a.txt": b"released\n"}, [], "release\n")
    (repo.path / "dir" / "b.txt").write_text("mine\n")
    repo.git("add", "dir/b.txt")
    g.checkout_tree(head, commit)
    assert (repo.path / "dir" / "b.txt").read_text() == "mine\n"
    assert repo.git("diff", "--cached", "--name-only", commit) == "dir/b.txt"
    assert (repo.path / "a.txt").read_text() == "released\n"


def test_checkout_tree_after_a_touch_keeps_a_staged_change(g: GitRepo, repo: Repo) -> None:
    """The second try, after the index is refreshed, is the same two-way merge."""
    head = repo.git("rev-parse", "HEAD")
    commit = g.commit_files(head, {"a.txt": b"released\n"}, [], "release\n")
    (repo.path / "dir" / "b.txt").write_text("mine\n")
    repo.git("add", "dir/b.txt")
    os.utime(repo.path / "a.txt", (1, 1))  # the first read-tree refuses: a.txt looks changed
    g.checkout_tree(head, commit)
    assert (repo.path / "dir" / "b.txt").read_text() == "mine\n"
    assert repo.git("diff", "--cached", "--name-only", commit) == "dir/b.txt"
    assert (repo.path / "a.txt").read_text() == "released\n"


def test_a_branch_name_ending_in_a_capital_x_is_read_whole(g: GitRepo, repo: Repo) -> None:
    """The line end is taken off the branch name in .git/HEAD, and nothing else."""
    repo.git("checkout", "-q", "-b", "fix-XX")
    assert g.current_branch() == "fix-XX"
