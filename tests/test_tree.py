"""relbot/tree.py, the trust boundary's one reader: the same answers from the files on disk
and from a git revision (each way relbot reads one), and every refusal in its own words.

The same content is committed and left on disk; each test asks every kind of tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from relbot.git import GitRepo
from relbot.tree import GitTree, Refused, Tree, WorkTree, normalize, write_output
from tests.conftest import Repo, make_repo

hostile = pytest.mark.reliability("Hostile fragments")

BIG = "x" * 1999 + "\n"
DEEP = "a = " + "[" * 40 + "]" * 40 + "\n"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path, {
        "a.txt": "alpha\n", "dir/b.txt": "beta\n", "dir/sub/c.txt": "gamma\n",
        "big.txt": BIG, "conf.toml": "[tool.relbot]\nx = 1\n", "bad.toml": "x = \n",
        "deep.toml": DEEP, "exec.sh": "#!/bin/sh\n"})
    (repo.path / "bin.dat").write_bytes(b"a\x00b")
    (repo.path / "latin.txt").write_bytes(b"caf\xe9\n")
    (repo.path / "exec.sh").chmod(0o755)
    (repo.path / "link").symlink_to("a.txt")
    (repo.path / "dirlink").symlink_to("dir")
    repo.commit_all("all kinds")
    return repo


KINDS = ["work tree", "revision", "revision, shared batch", "revision, per directory"]


@pytest.fixture(params=KINDS)
def tree(request: pytest.FixtureRequest, repo: Repo) -> Iterator[Tree]:
    git = GitRepo(repo.path)
    made: dict[str, Callable[[], Tree]] = {
        "work tree": lambda: WorkTree(repo.path),
        "revision": lambda: GitTree(repo.path, "HEAD"),
        "revision, shared batch": lambda: GitTree(repo.path, "HEAD", git.read_blob),
        "revision, per directory": lambda: GitTree(repo.path, "HEAD", git.read_blob,
                                                   git.tree_entries),
    }
    with made[request.param]() as chosen:
        yield chosen
    git.close()


FILES = ["a.txt", "bad.toml", "big.txt", "bin.dat", "conf.toml", "deep.toml", "dir/b.txt",
         "dir/sub/c.txt", "dirlink", "exec.sh", "latin.txt", "link"]


def test_kinds(tree: Tree) -> None:
    assert tree.kind("") == "dir"
    assert tree.kind("a.txt") == "file"
    assert tree.kind("exec.sh") == "file"
    assert tree.kind("dir") == "dir"
    assert tree.kind("dir/sub") == "dir"
    assert tree.kind("dir/sub/c.txt") == "file"
    assert tree.kind("link") == "link"
    assert tree.kind("dirlink") == "link"
    assert tree.kind("missing") is None
    assert tree.kind("a.txt/inside") is None
    assert tree.kind("dir/missing/deeper") is None


def test_entries_of_one_directory_sorted(tree: Tree) -> None:
    assert [(e.name, e.kind) for e in tree.entries("dir")] == [("b.txt", "file"),
                                                               ("sub", "dir")]
    assert [e.name for e in tree.entries("dir/sub")] == ["c.txt"]
    assert tree.entries("missing") == []
    assert tree.entries("a.txt") == []
    top = [e.name for e in tree.entries("") if e.name != ".git"]
    assert top == sorted(top)
    assert set(top) == {"a.txt", "bad.toml", "big.txt", "bin.dat", "conf.toml", "deep.toml",
                        "dir", "dirlink", "exec.sh", "latin.txt", "link"}


def test_work_tree_entries_carry_sizes(repo: Repo) -> None:
    sizes = {e.name: e.size for e in WorkTree(repo.path).entries("")}
    assert sizes["a.txt"] == 6 and sizes["big.txt"] == 2000


def test_files_below_a_prefix(tree: Tree) -> None:
    assert tree.files() == FILES  # links are listed, .git is not
    assert tree.files("dir") == ["dir/b.txt", "dir/sub/c.txt"]
    assert tree.files("dir/") == ["dir/b.txt", "dir/sub/c.txt"]
    assert tree.files("a.txt") == ["a.txt"]
    assert tree.files("link") == ["link"]
    assert tree.files("missing") == []


def test_paths_are_normalized() -> None:
    assert normalize("dir/../a.txt") == "a.txt"
    assert normalize("dir\\b.txt") == "dir/b.txt"
    assert normalize("./dir//b.txt") == "dir/b.txt"
    assert normalize(".") == ""


@hostile
@pytest.mark.parametrize("path", ["../outside", "dir/../../outside", "..", "/etc/passwd",
                                  "\\etc\\passwd"])
def test_a_path_out_of_the_tree_is_refused(tree: Tree, path: str) -> None:
    with pytest.raises(Refused) as caught:
        tree.read_bytes(path, 100)
    assert caught.value.rule == "outside"
    assert str(caught.value) == f"{path} lies outside the repository."


@pytest.mark.parametrize("path", ["", "a\0b"])
def test_no_path_is_refused(path: str) -> None:
    with pytest.raises(Refused) as caught:
        normalize(path)
    assert caught.value.rule == "outside"
    assert str(caught.value) == f"{path!r} is no path."


@hostile
def test_a_path_through_a_linked_directory_is_refused(tree: Tree, repo: Repo) -> None:
    (repo.path / "dir" / "sublink").symlink_to("sub")  # a link deeper down, too
    repo.commit_all("a nested link")
    with pytest.raises(Refused) as caught:
        tree.check_path("dirlink/b.txt")
    assert caught.value.rule == "outside"
    assert str(caught.value) == ("dirlink/b.txt passes through a linked directory; relbot "
                                 "never reads through links.")
    with pytest.raises(Refused) as caught:
        tree.check_path("dir/sublink/c.txt")
    assert caught.value.rule == "outside"
    assert tree.check_path("dir/sub/c.txt") == "dir/sub/c.txt"


def test_reading_files(tree: Tree) -> None:
    assert tree.read_bytes("a.txt", 100) == b"alpha\n"
    assert tree.read_bytes("dir/../dir/sub/c.txt", 100) == b"gamma\n"
    assert tree.read_bytes("big.txt", 2000) == BIG.encode()  # exactly the bound
    assert tree.read_text("a.txt", 100) == "alpha\n"
    assert tree.read_toml("conf.toml") == {"tool": {"relbot": {"x": 1}}}


@hostile
@pytest.mark.parametrize(("path", "rule", "message"), [
    ("link", "symlink", "link is a symbolic link; relbot never reads through links."),
    ("dir", "not-a-file", "dir is not a regular file."),
    ("missing", "missing", "missing does not exist."),
    ("big.txt", "too-large", "big.txt is 2000 bytes, more than relbot reads."),
])
def test_refusals_name_the_file_and_the_reason(tree: Tree, path: str, rule: str,
                                               message: str) -> None:
    with pytest.raises(Refused) as caught:
        tree.read_bytes(path, 1999)
    assert caught.value.rule == rule
    assert caught.value.path == path
    assert str(caught.value) == message


@hostile
def test_text_must_be_utf8_without_nul(tree: Tree) -> None:
    with pytest.raises(Refused) as caught:
        tree.read_text("bin.dat", 100)
    assert (caught.value.rule, str(caught.value)) == (
        "binary", "bin.dat is binary (it holds NUL bytes).")
    with pytest.raises(Refused) as caught:
        tree.read_text("latin.txt", 100)
    assert (caught.value.rule, str(caught.value)) == (
        "not-utf8", "latin.txt is not UTF-8 text (invalid byte at offset 3).")


@hostile
def test_bad_and_deep_toml_are_refused(tree: Tree) -> None:
    with pytest.raises(Refused) as caught:
        tree.read_toml("bad.toml")
    assert caught.value.rule == "bad-toml"
    assert str(caught.value).startswith("bad.toml is not valid TOML: ")
    with pytest.raises(Refused) as caught:
        tree.read_toml("deep.toml")
    assert str(caught.value) == "deep.toml nests tables or arrays too deeply (at most 32)."


def test_is_file(tree: Tree) -> None:
    assert tree.is_file("a.txt") is True
    assert tree.is_file("exec.sh") is True
    assert tree.is_file("link") is False
    assert tree.is_file("dir") is False
    assert tree.is_file("missing") is False
    assert tree.is_file("../outside") is False
    assert tree.is_file("dirlink/b.txt") is False


def test_a_revision_is_marked_as_one(repo: Repo) -> None:
    assert WorkTree(repo.path).is_revision is False
    assert WorkTree(repo.path).label == "the work tree"
    with GitTree(repo.path, repo.git("rev-parse", "HEAD")) as revision:
        assert revision.is_revision is True
        assert revision.label == f"commit {repo.git('rev-parse', 'HEAD')[:12]}"


def test_a_revision_reads_what_was_committed_not_the_disk(repo: Repo) -> None:
    repo.write("a.txt", "changed on disk\n")
    with GitTree(repo.path, "HEAD") as revision:
        assert revision.read_bytes("a.txt", 100) == b"alpha\n"
    assert WorkTree(repo.path).read_bytes("a.txt", 100) == b"changed on disk\n"


def test_refusal_texts() -> None:
    assert str(Refused("too-large")) == "is larger than relbot reads"
    assert str(Refused("too-large", path="f", size=5)) == "f is 5 bytes, more than relbot reads."
    assert str(Refused("unreadable", path="f", detail="is locked")) == "f is locked."
    assert str(Refused("odd-rule", path="f")) == "f odd-rule."
    assert str(Refused("missing", path="f", message="own words")) == "own words"
    assert Refused("missing").reason == "does not exist"


def test_the_work_tree_containing_a_path(repo: Repo, tmp_path: Path) -> None:
    assert WorkTree.containing(repo.path / "dir" / "sub").root == repo.path.resolve()
    assert WorkTree.containing(repo.path).root == repo.path.resolve()
    elsewhere = tmp_path / "no-repo"
    elsewhere.mkdir()
    assert WorkTree.containing(elsewhere).root == elsewhere.resolve()


# -- writing outputs -----------------------------------------------------------------------

def test_write_output_writes_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    write_output(target, b"<xml/>\n")
    assert target.read_bytes() == b"<xml/>\n"
    assert target.stat().st_mode & 0o777 == 0o644
    write_output(target, b"second\n")
    assert target.read_bytes() == b"second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xml"]  # no temporary left


def test_write_output_relative_to_the_working_directory(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_output(Path("out.txt"), b"here\n")
    assert (tmp_path / "out.txt").read_bytes() == b"here\n"


@hostile
def test_write_output_replaces_a_link_instead_of_writing_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    link = tmp_path / "repo" / "relbot-junit.xml"
    link.parent.mkdir()
    link.symlink_to(victim)
    write_output(link, b"report\n", tmp_path / "repo")
    assert victim.read_text() == "keep me\n"
    assert not link.is_symlink()
    assert link.read_bytes() == b"report\n"


@hostile
def test_write_output_refuses_a_directory_that_links_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "repo"
    root.mkdir()
    (root / "reports").symlink_to(outside)
    with pytest.raises(Refused) as caught:
        write_output(root / "reports" / "junit.xml", b"x", root)
    assert caught.value.rule == "outside"
    assert str(caught.value) == (f"{root / 'reports' / 'junit.xml'} lies in a directory that "
                                 "links out of the repository.")
    assert list(outside.iterdir()) == []
    write_output(root / "reports" / "junit.xml", b"x")  # no root given: no such rule
    assert (outside / "junit.xml").read_bytes() == b"x"


@hostile
def test_write_output_refuses_a_relative_path_into_a_directory_that_links_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A path relative to the working directory is checked as the absolute path it is."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "reports").symlink_to(outside)
    monkeypatch.chdir(tmp_path / "repo")
    with pytest.raises(Refused) as caught:
        write_output(Path("reports/junit.xml"), b"x", tmp_path / "repo")
    assert caught.value.rule == "outside"
    assert list(outside.iterdir()) == []


def test_write_output_writes_a_hidden_temporary_beside_the_target(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is written whole under a hidden name in its own directory, then renamed."""
    import relbot.tree

    seen: list[list[str]] = []

    class Watching:
        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

        def fdopen(self, fd: int, mode: str) -> object:
            seen.append(sorted(p.name for p in tmp_path.iterdir()))
            return os.fdopen(fd, mode)

    monkeypatch.setattr(relbot.tree, "os", Watching())
    write_output(tmp_path / "report.xml", b"<xml/>\n")
    assert len(seen) == 1
    assert len(seen[0]) == 1
    assert seen[0][0].startswith(".report.xml.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xml"]


def test_write_output_needs_its_directory(tmp_path: Path) -> None:
    with pytest.raises(Refused) as caught:
        write_output(tmp_path / "missing" / "out.txt", b"x")
    assert caught.value.rule == "unreadable"
    assert str(caught.value) == (f"{tmp_path / 'missing' / 'out.txt'} has no directory to be "
                                 "written to.")


def test_write_output_that_fails_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "inside").write_text("x")
    with pytest.raises(Refused) as caught:
        write_output(tmp_path / "taken", b"x")
    assert caught.value.rule == "unreadable"
    assert str(caught.value) == f"{tmp_path / 'taken'} cannot be written: Is a directory."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


# -- revisions: how git's listing is read ----------------------------------------------------

def test_a_bad_revision_is_a_git_error_naming_it(repo: Repo) -> None:
    from relbot.errors import GitError

    with GitTree(repo.path, "nothing-here") as revision, pytest.raises(GitError) as caught:
        revision.kind("a.txt")
    assert str(caught.value) == ("git ls-tree of nothing-here failed: fatal: Not a valid "
                                 "object name nothing-here")
    missing = "1234567890ab" + "0" * 28
    with GitTree(repo.path, missing) as revision, pytest.raises(GitError) as caught:
        revision.files()
    assert str(caught.value) == "git ls-tree of 1234567890ab failed: fatal: not a tree object"


def test_a_revision_lists_the_whole_repository_from_a_subdirectory(repo: Repo) -> None:
    """Paths are repository-relative wherever the tree's root lies."""
    with GitTree(repo.path / "dir", "HEAD") as revision:
        assert revision.files() == FILES
        assert revision.read_bytes("a.txt", 100) == b"alpha\n"


@pytest.mark.parametrize("name", [b"tab\there.txt", b"caf\xe9.txt", b"new\nline.txt"])
def test_odd_file_names_in_a_revision(repo: Repo, name: bytes) -> None:
    """A tab or a line break in a name, or bytes that are not UTF-8: listed as on disk."""
    shown = os.fsdecode(name)
    (repo.path / shown).write_bytes(b"odd\n")
    repo.commit_all("odd name")
    with GitTree(repo.path, "HEAD") as revision:
        assert shown in revision.files()
        assert revision.kind(shown) == "file"
        assert revision.read_bytes(shown, 100) == b"odd\n"
    assert shown in WorkTree(repo.path).files()


# -- TOML nesting: counted before parsing, and checked after ---------------------------------

@pytest.mark.parametrize(("text", "depth"), [
    ("", 0),
    ("a = 1\n", 0),
    ("[tool.relbot]\nx = [1, {y = [2]}]\n", 3),
    ("a = [[[]]]\nb = [[]]\n", 3),  # the deepest, not the last
    ("a = [[1], [[2]]]\n", 3),  # a closer takes back one level
    ("a = ]]]][[\n", 2),  # a stray closer does not count below zero
    ('a = "[[[["\nb = [1]\n', 1),  # inside a string
    ("a = '[[[['\nb = [1]\n", 1),
    ('a = """\n[[[[\n"""\nb = [1]\n', 1),  # a multi-line string spans lines
    ("a = '''\n[[[[\n'''\nb = [1]\n", 1),
    ('a = "\\"[[[["\nb = [1]\n', 1),  # an escaped quote does not end the string
    ('a = """\\"""[[[["""\nb = [1]\n', 1),
    ("a = '\\'[[\n", 2),  # a literal string has no escapes: it ended at the second quote
    ('a = "[[\nb = [1]\n', 1),  # a one-line string ends at its line, even unterminated
    ("a = '[[\nb = [1]\n", 1),
    ('a = "[[\\\n[[\nb = [1]\n', 1),  # a backslash carries the string over the line end
    ('a = """[[', 0),  # unterminated at the end of the text
    ("a = '''[[", 0),
    ('a = "', 0),
    ("# [[[[\nb = [1]\n", 1),  # a comment, to the end of its line
    ("b = [1] # ]]]] [[[[\nc = [[2]]\n", 2),
    ("#", 0),
])
def test_inline_depth_counts_brackets_outside_strings_and_comments(text: str,
                                                                   depth: int) -> None:
    """The nesting counted before parsing skips what TOML reads as a string or a comment."""
    from relbot.tree import _inline_depth

    assert _inline_depth(text) == depth


def test_nesting_counts_lists_and_tables() -> None:
    """Each list or table inside another adds one level; a plain value adds none."""
    from relbot.tree import nesting

    assert nesting(1) == 0
    assert nesting({}) == 1
    assert nesting({"a": [1, {"b": []}], "c": 2}) == 4
    assert nesting([[], [[[]]]]) == 4
    deep: list[object] = []
    for _ in range(50):
        deep = [deep]
    assert nesting(deep, limit=5) == 6  # stops counting just past the limit
    assert nesting(deep) == 34


def test_toml_at_the_nesting_limit_is_read() -> None:
    """Nested exactly as deeply as allowed, inline or by dotted keys: read as written."""
    from relbot.tree import parse_toml

    inline = "a = " + "[" * 31 + "]" * 31 + "\n"  # the document's table is one level
    expected: list[object] = []
    for _ in range(30):
        expected = [expected]
    assert parse_toml(inline, "in.toml") == {"a": expected}
    dotted: object = parse_toml(".".join(["k"] * 32) + " = 1\n", "dot.toml")
    for _ in range(32):
        assert isinstance(dotted, dict)
        dotted = dotted["k"]
    assert dotted == 1


@pytest.mark.parametrize("text", [
    "a = " + "[" * 32 + "]" * 32 + "\n",  # tomllib reads it; then too deep
    ".".join(["k"] * 33) + " = 1\n",  # no bracket at all
    "a = " + "[" * 33 + "]" * 33 + "\n",  # refused before tomllib recurses
])
def test_toml_past_the_nesting_limit_is_refused_naming_the_file(text: str) -> None:
    """One level too deep, however it is nested: refused in one sentence naming the file."""
    from relbot.tree import parse_toml

    with pytest.raises(Refused) as caught:
        parse_toml(text, "conf/deep.toml")
    assert caught.value.rule == "bad-toml"
    assert caught.value.path == "conf/deep.toml"
    assert str(caught.value) == ("conf/deep.toml nests tables or arrays too deeply "
                                 "(at most 32).")


def test_broken_toml_at_the_nesting_limit_is_reported_as_broken() -> None:
    """32 brackets are within the limit: an unclosed document is invalid TOML, not too deep."""
    from relbot.tree import parse_toml

    with pytest.raises(Refused) as caught:
        parse_toml("a = " + "[" * 32 + "\n", "broken.toml")
    assert caught.value.rule == "bad-toml"
    assert caught.value.path == "broken.toml"
    assert str(caught.value).startswith("broken.toml is not valid TOML: ")


@pytest.mark.parametrize("error", [RecursionError, MemoryError])
def test_a_parser_out_of_stack_or_memory_is_too_deep(monkeypatch: pytest.MonkeyPatch,
                                                     error: type[Exception]) -> None:
    """Should tomllib run out of stack or memory, the file is refused like any bomb."""
    import tomllib

    from relbot.tree import parse_toml

    def exhausted(text: str) -> dict[str, object]:
        raise error

    monkeypatch.setattr(tomllib, "loads", exhausted)
    with pytest.raises(Refused) as caught:
        parse_toml("a = [[1]]\n", "tight.toml")
    assert caught.value.rule == "bad-toml"
    assert caught.value.path == "tight.toml"
    assert str(caught.value) == "tight.toml nests tables or arrays too deeply (at most 32)."


# -- reading a file whose read() answers in pieces -------------------------------------------

class _PieceReads:
    """``os`` as relbot.tree sees it, but read() answers at most three bytes at a time (as a
    network file system may), and ``grow`` is appended to the file after the first read."""

    def __init__(self, path: Path, grow: bytes = b"") -> None:
        self.path = path
        self.grow = grow
        self.asked: list[int] = []  # the size each read() asked for

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    def read(self, fd: int, size: int) -> bytes:
        self.asked.append(size)
        data = os.read(fd, min(size, 3))
        if len(self.asked) == 1 and self.grow:
            with self.path.open("ab") as more:
                more.write(self.grow)
        return data


def test_a_file_read_in_pieces_is_read_whole(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Short reads are continued until the file is read as long as it was when opened."""
    import relbot.tree

    path = tmp_path / "f.txt"
    path.write_bytes(b"0123456789")
    pieces = _PieceReads(path)
    monkeypatch.setattr(relbot.tree, "os", pieces)
    assert relbot.tree.read_bounded(path, 100) == b"0123456789"
    assert pieces.asked == [101, 98, 95, 92]


def test_a_file_that_grows_while_read_is_read_as_long_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What is appended after the file was opened is not read."""
    import relbot.tree

    path = tmp_path / "f.txt"
    path.write_bytes(b"012345678")
    monkeypatch.setattr(relbot.tree, "os", _PieceReads(path, grow=b"appended"))
    assert relbot.tree.read_bounded(path, 100) == b"012345678"


def test_a_file_that_grows_past_the_bound_while_read_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never more than one byte past the bound is read, however the file grows."""
    import relbot.tree

    path = tmp_path / "f.txt"
    path.write_bytes(b"0123456789")
    pieces = _PieceReads(path, grow=b"x" * 100)
    monkeypatch.setattr(relbot.tree, "os", pieces)
    with pytest.raises(Refused) as caught:
        relbot.tree.read_bounded(path, 10)
    assert (caught.value.rule, caught.value.size) == ("too-large", 11)
    assert pieces.asked == [11, 8, 5, 2]


class _Watched:
    """``os`` as relbot.tree sees it, recording what is opened; ``fail`` names a call that
    raises the given OSError instead."""

    def __init__(self, fail: str = "", error: OSError | None = None) -> None:
        self.opened: list[str] = []
        self.fail, self.error = fail, error

    def __getattr__(self, name: str) -> object:
        if name == self.fail and self.error is not None:
            error = self.error

            def failing(*args: object) -> object:
                raise error
            return failing
        return getattr(os, name)

    def open(self, path: str, flags: int) -> int:
        self.opened.append(os.fspath(path))
        if self.fail == "open" and self.error is not None:
            raise self.error
        return os.open(path, flags)


def test_what_is_no_regular_file_is_refused_before_it_is_opened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A FIFO is refused from its lstat: relbot never opens it (an open has effects there)."""
    import relbot.tree

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    watched = _Watched()
    monkeypatch.setattr(relbot.tree, "os", watched)
    with pytest.raises(Refused) as caught:
        relbot.tree.read_bounded(fifo, 100)
    assert caught.value.rule == "not-a-file"
    assert watched.opened == []
    (tmp_path / "file").write_text("x")
    assert relbot.tree.read_bounded(tmp_path / "file", 100, looked_at=True) == b"x"
    assert watched.opened == [str(tmp_path / "file")]


def test_a_file_swapped_for_a_link_after_it_was_listed_is_refused(tmp_path: Path) -> None:
    """Without its own lstat (a listing showed a file), the open still refuses a link."""
    from relbot.tree import read_bounded

    (tmp_path / "target").write_text("secret\n")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(Refused) as caught:
        read_bounded(tmp_path / "link", 100, looked_at=True)
    assert caught.value.rule == "symlink"
    assert str(caught.value) == "is a symbolic link; relbot never reads through links"
    with pytest.raises(Refused) as caught:
        read_bounded(tmp_path / "gone", 100, looked_at=True)
    assert (caught.value.rule, str(caught.value)) == ("missing", "does not exist")


@pytest.mark.parametrize("call", ["open", "fstat", "read"])
def test_a_file_the_system_will_not_read_is_unreadable_in_its_words(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str) -> None:
    """An error opening or reading a file is refused as unreadable, with the system's reason."""
    import errno

    import relbot.tree

    (tmp_path / "f.txt").write_text("x")
    monkeypatch.setattr(relbot.tree, "os",
                        _Watched(call, OSError(errno.EIO, "Input/output error")))
    with pytest.raises(Refused) as caught:
        relbot.tree.read_bounded(tmp_path / "f.txt", 100)
    assert caught.value.rule == "unreadable"
    assert caught.value.detail == "Input/output error"
    assert str(caught.value) == "Input/output error"


# -- what is neither a file, a directory nor a link ----------------------------------------------

def test_a_fifo_in_the_work_tree_is_other(repo: Repo) -> None:
    """A FIFO is listed and named as "other", never read."""
    os.mkfifo(repo.path / "dir" / "fifo")
    tree = WorkTree(repo.path)
    assert tree.kind("dir/fifo") == "other"
    assert [(e.name, e.kind) for e in tree.entries("dir")] == [
        ("b.txt", "file"), ("fifo", "other"), ("sub", "dir")]
    assert tree.files("dir/fifo") == ["dir/fifo"]
    assert tree.files("dir") == ["dir/b.txt", "dir/fifo", "dir/sub/c.txt"]
    with pytest.raises(Refused) as caught:
        tree.read_bytes("dir/fifo", 100)
    assert caught.value.rule == "not-a-file"


def test_a_name_the_system_cannot_look_at_is_other(repo: Repo) -> None:
    """A name too long to look at is "other" on disk (it is absent from a revision)."""
    assert WorkTree(repo.path).kind("x" * 300) == "other"
    with GitTree(repo.path, "HEAD") as revision:
        assert revision.kind("x" * 300) is None


@pytest.mark.parametrize("kind", KINDS[1:])
def test_a_submodule_in_a_revision_is_other(repo: Repo, kind: str) -> None:
    """A gitlink (a submodule's commit) is "other" in a revision, listed and never read."""
    head = repo.git("rev-parse", "HEAD")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{head},dir/module")
    repo.git("commit", "-q", "-m", "a submodule")
    git = GitRepo(repo.path)
    made = {"revision": lambda: GitTree(repo.path, "HEAD"),
            "revision, shared batch": lambda: GitTree(repo.path, "HEAD", git.read_blob),
            "revision, per directory": lambda: GitTree(repo.path, "HEAD", git.read_blob,
                                                       git.tree_entries)}
    with made[kind]() as revision:
        assert revision.kind("dir/module") == "other"
        assert revision.files("dir/module") == ["dir/module"]
        assert [(e.name, e.kind) for e in revision.entries("dir")] == [
            ("b.txt", "file"), ("module", "other"), ("sub", "dir")]
        with pytest.raises(Refused) as caught:
            revision.read_bytes("dir/module", 100)
        assert caught.value.rule == "not-a-file"
    git.close()


def test_a_name_that_vanishes_while_listed_is_other(repo: Repo,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A name whose lstat fails while the directory is listed is "other"; the rest follow."""
    import relbot.tree

    class Vanishing:
        def __init__(self, entry: os.DirEntry[str]) -> None:
            self.name = entry.name
            self.entry = entry

        def stat(self, *, follow_symlinks: bool) -> os.stat_result:
            if self.name == "a.txt":
                raise FileNotFoundError(2, "No such file or directory")
            return self.entry.stat(follow_symlinks=follow_symlinks)

    class Listing:
        def __init__(self, path: Path) -> None:
            self.listing = os.scandir(path)

        def __enter__(self) -> Listing:
            return self

        def __iter__(self) -> Iterator[Vanishing]:
            # in name order, so that the vanishing a.txt comes before the others
            return (Vanishing(entry) for entry in sorted(self.listing, key=lambda e: e.name))

        def __exit__(self, *exc: object) -> None:
            self.listing.close()

    class Scanning:
        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

        def scandir(self, path: Path) -> Listing:
            return Listing(path)

    monkeypatch.setattr(relbot.tree, "os", Scanning())
    kinds = {e.name: e.kind for e in WorkTree(repo.path).entries("")}
    assert kinds["a.txt"] == "other"
    assert kinds["bad.toml"] == "file"
    assert kinds["link"] == "link"


# -- a revision's blobs, read through the tree's own cat-file --batch ---------------------------

def _object_file(repo: Repo, oid: str) -> Path:
    return repo.path / ".git" / "objects" / oid[:2] / oid[2:]


def test_a_blob_missing_from_the_repository_is_unreadable(repo: Repo) -> None:
    """A listed file whose object git does not have is refused, naming the object."""
    oid = repo.git("rev-parse", "HEAD:a.txt")
    _object_file(repo, oid).unlink()
    with GitTree(repo.path, "HEAD") as revision, pytest.raises(Refused) as caught:
        revision.read_bytes("a.txt", 100)
    assert caught.value.rule == "unreadable"
    assert str(caught.value) == f"a.txt git has no object {oid[:12]}."


def test_a_corrupt_blob_is_unreadable_and_git_says_nothing(
        repo: Repo, capfd: pytest.CaptureFixture[str]) -> None:
    """git's complaint about a corrupt object is not passed through to relbot's output."""
    oid = repo.git("rev-parse", "HEAD:a.txt")
    path = _object_file(repo, oid)
    path.chmod(0o644)
    path.write_bytes(b"garbage\n")
    capfd.readouterr()
    with GitTree(repo.path, "HEAD") as revision, pytest.raises(Refused) as caught:
        revision.read_bytes("a.txt", 100)
    assert caught.value.rule == "unreadable"
    assert capfd.readouterr() == ("", "")


def test_after_a_blob_too_large_the_next_reads_as_it_is(repo: Repo) -> None:
    """A refused blob is read past whole, in chunks of 64 KiB: the batch answers the next
    question right (also after a blob of exactly one chunk)."""
    repo.write("chunk.txt", "x" * (1 << 16))
    repo.commit_all("one chunk")
    with GitTree(repo.path, "HEAD") as revision:
        with pytest.raises(Refused) as caught:
            revision.read_bytes("big.txt", 10)
        assert (caught.value.rule, caught.value.size) == ("too-large", 2000)
        assert revision.read_bytes("a.txt", 100) == b"alpha\n"
        with pytest.raises(Refused) as caught:
            revision.read_bytes("chunk.txt", 10)
        assert (caught.value.rule, caught.value.size) == ("too-large", 1 << 16)
        assert revision.read_bytes("big.txt", 2000) == BIG.encode()


def test_a_revision_read_per_directory_never_lists_the_whole_revision(
        repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the repository's directory lister, a revision starts no ls-tree of its own."""
    git = GitRepo(repo.path)
    with GitTree(repo.path, "HEAD", git.read_blob, git.tree_entries) as revision:
        def no_listing(*args: str) -> bytes:
            raise AssertionError(f"git {' '.join(args)}")

        monkeypatch.setattr(revision, "_git", no_listing)
        assert revision.read_bytes("dir/sub/c.txt", 100) == b"gamma\n"
        assert revision.kind("dir") == "dir"
        assert revision.files("dir") == ["dir/b.txt", "dir/sub/c.txt"]
        assert revision.read_bytes("a.txt", 100) == b"alpha\n"
    git.close()


def test_git_failing_without_a_word_is_reported_as_such(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A git that fails and says nothing: the error says no reason was given."""
    from relbot.errors import GitError

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with GitTree(repo.path, "HEAD") as revision, pytest.raises(GitError) as caught:
        revision.files()
    assert str(caught.value) == "git ls-tree of HEAD failed: no reason given"


def test_a_revision_name_that_is_no_utf8_is_named_in_the_error(repo: Repo) -> None:
    """git's complaint is read even where it repeats bytes that are not UTF-8."""
    from relbot.errors import GitError

    with GitTree(repo.path, os.fsdecode(b"caf\xe9")) as revision, \
            pytest.raises(GitError) as caught:
        revision.files()
    assert str(caught.value).endswith("Not a valid object name caf\N{REPLACEMENT CHARACTER}")


def test_a_directory_swapped_for_a_link_after_the_check_is_refused(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a directory become a link out of the tree after the path was checked, the read
    still refuses it."""
    tree = WorkTree(repo.path)
    monkeypatch.setattr(tree, "check_path", normalize)  # the check saw a directory there
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not in the tree\n")
    (repo.path / "reports").symlink_to(outside)
    with pytest.raises(Refused) as caught:
        tree.read_bytes("reports/secret.txt", 100)
    assert caught.value.rule == "outside"
    assert str(caught.value) == "reports/secret.txt lies outside the repository."
