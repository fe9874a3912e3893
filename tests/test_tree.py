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
    assert str(caught.value) == f"{path!r} is no path."


@hostile
def test_a_path_through_a_linked_directory_is_refused(tree: Tree) -> None:
    with pytest.raises(Refused) as caught:
        tree.check_path("dirlink/b.txt")
    assert str(caught.value) == ("dirlink/b.txt passes through a linked directory; relbot "
                                 "never reads through links.")
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


def test_write_output_needs_its_directory(tmp_path: Path) -> None:
    with pytest.raises(Refused) as caught:
        write_output(tmp_path / "missing" / "out.txt", b"x")
    assert str(caught.value) == (f"{tmp_path / 'missing' / 'out.txt'} has no directory to be "
                                 "written to.")


def test_write_output_that_fails_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "inside").write_text("x")
    with pytest.raises(Refused) as caught:
        write_output(tmp_path / "taken", b"x")
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
