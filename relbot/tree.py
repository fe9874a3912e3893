"""The trust boundary's one reader: the files of a work tree or of a git revision.

Everything that steers relbot (relbot.toml or ``[tool.relbot]``, towncrier's
configuration and template, policy files) and everything it only looks at
(fragments, probed files) is read through a :class:`Tree`. A tree never
follows a link, never reads outside the repository and never reads more than
a bound; every refusal is one exception, :class:`Refused`, which callers turn
into a lint finding or a configuration error. ``relbot mr check`` reads its
steering files from a :class:`GitTree` of the MR's base commit, so nothing
the merge request changes can steer it (see ``docs/security.md``).

A :class:`GitTree` lists its revision once (``git ls-tree -r -t``) and reads
every blob through one long-lived ``git cat-file --batch``: two git
processes, whatever the number of files read.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

from relbot.errors import RelbotError

MAX_TOML_BYTES = 1024 * 1024
MAX_NESTING = 32  # tables and arrays inside each other; real configuration needs < 6

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class Refused(RelbotError):
    """A file relbot will not read; ``rule`` says why (exit 2 if nobody words it better).

    Rules: ``symlink``, ``not-a-file``, ``too-large``, ``missing``, ``outside``,
    ``unreadable``, ``not-utf8``, ``bad-toml``.
    """

    _TEXT: ClassVar[dict[str, str]] = {
        "symlink": "is a symbolic link; relbot never reads through links",
        "not-a-file": "is not a regular file",
        "missing": "does not exist",
        "outside": "lies outside the repository",
    }

    def __init__(self, rule: str, *, path: str = "", size: int | None = None,
                 detail: str = "", message: str | None = None) -> None:
        self.rule = rule
        self.path = path
        self.size = size
        self.detail = detail
        self.reason = self._reason()  # completes "FILE ..."
        if message is None:
            message = f"{path} {self.reason}." if path else self.reason
        super().__init__(message)

    def _reason(self) -> str:
        if self.rule == "too-large":
            return f"is {self.size} bytes, more than relbot reads" if self.size else \
                "is larger than relbot reads"
        # the caller's detail is the more precise reason (a path that is no path, one
        # that passes a link): it wins over the rule's general words
        return self.detail or self._TEXT.get(self.rule, self.rule)


# -- reading one file of the work tree --------------------------------------------------


def read_bounded(path: str | os.PathLike[str], limit: int, *, looked_at: bool = False) -> bytes:
    """At most ``limit`` bytes of the regular file ``path``; :class:`Refused` otherwise.

    ``looked_at`` spares the ``lstat`` when a directory listing already showed a
    regular file; the open (``O_NOFOLLOW``) and ``fstat`` still check what is
    really read, so a file swapped for a link in between is refused too.
    """
    try:
        if not looked_at:
            _check(os.lstat(path), limit)
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a link since it was looked at
            raise Refused("symlink") from None
        if exc.errno == errno.ENOENT:
            raise Refused("missing") from None
        raise Refused("unreadable", detail=exc.strerror or str(exc)) from None
    try:
        opened = os.fstat(fd)
        _check(opened, limit)
        data = _read_all(fd, limit + 1, min(opened.st_size, limit + 1))
    except OSError as exc:
        raise Refused("unreadable", detail=exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Refused("too-large", size=len(data))
    return data


def _check(info: os.stat_result, limit: int) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise Refused("symlink")
    if not stat.S_ISREG(info.st_mode):
        raise Refused("not-a-file")
    if info.st_size > limit:
        raise Refused("too-large", size=info.st_size)


def _read_all(fd: int, most: int, expected: int) -> bytes:
    """Unbuffered: one read() call for a file of the size fstat reports (``expected``)."""
    data = os.read(fd, most)
    while len(data) < expected:
        more = os.read(fd, most - len(data))
        if not more:
            break
        data += more
    return data


# -- trees ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One name in a directory of a tree."""

    name: str
    kind: str  # "file", "dir", "link", "other"
    size: int = 0


def normalize(relpath: str) -> str:
    """A repository-relative POSIX path, lexically; :class:`Refused` if it leaves the tree."""
    if not relpath or "\0" in relpath:
        raise Refused("outside", path=repr(relpath), detail="is no path")
    text = relpath.replace("\\", "/")
    if text.startswith("/"):
        raise Refused("outside", path=relpath)
    norm = posixpath.normpath(text)
    if norm == ".." or norm.startswith("../"):
        raise Refused("outside", path=relpath)
    return "" if norm == "." else norm


class Tree:
    """Files of one state of a repository, read without links and within bounds."""

    root: Path
    label: str
    is_revision: bool = False  # a git revision rather than the files on disk

    # Subclasses provide these three.
    def kind(self, relpath: str) -> str | None:
        """``file``, ``dir``, ``link``, ``other`` or ``None`` (absent), without following."""
        raise NotImplementedError

    def entries(self, directory: str) -> list[Entry]:
        """The names directly inside ``directory``, sorted (empty when it is absent)."""
        raise NotImplementedError

    def _read(self, relpath: str, limit: int) -> bytes:
        raise NotImplementedError

    def files(self, prefix: str = "") -> list[str]:
        """Repository-relative paths of the files below ``prefix`` (links are listed too)."""
        prefix = normalize(prefix) if prefix else ""
        kind = self.kind(prefix) if prefix else "dir"
        if kind in ("file", "link", "other"):
            return [prefix]
        found: list[str] = []
        pending = [prefix] if kind == "dir" else []
        while pending:
            directory = pending.pop()
            for entry in self.entries(directory):
                path = f"{directory}/{entry.name}" if directory else entry.name
                if entry.kind == "dir":
                    if entry.name != ".git":
                        pending.append(path)
                else:
                    found.append(path)
        return sorted(found)

    def check_path(self, relpath: str) -> str:
        """``relpath`` normalized, refusing one that leaves the tree or passes a link."""
        norm = normalize(relpath)
        parts = norm.split("/") if norm else []
        for index in range(1, len(parts)):
            if self.kind("/".join(parts[:index])) == "link":
                raise Refused("outside", path=relpath,
                              detail="passes through a linked directory; relbot never "
                                     "reads through links")
        return norm

    def read_bytes(self, relpath: str, limit: int) -> bytes:
        """At most ``limit`` bytes of a regular file; :class:`Refused` names the file."""
        norm = self.check_path(relpath)
        try:
            return self._read(norm, limit)
        except Refused as refused:
            if refused.path:
                raise
            raise Refused(refused.rule, path=relpath, size=refused.size,
                          detail=refused.detail) from None

    def read_text(self, relpath: str, limit: int) -> str:
        """A regular file as strict UTF-8 text without NUL bytes."""
        data = self.read_bytes(relpath, limit)
        if b"\0" in data:
            raise Refused("binary", path=relpath, detail="is binary (it holds NUL bytes)")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Refused("not-utf8", path=relpath,
                          detail=f"is not UTF-8 text (invalid byte at offset {exc.start})"
                          ) from None

    def read_toml(self, relpath: str, limit: int = MAX_TOML_BYTES) -> dict[str, Any]:
        """A TOML file, bounded in size and nesting; :class:`Refused` (``bad-toml``) otherwise."""
        return parse_toml(self.read_text(relpath, limit), relpath)

    def is_file(self, relpath: str) -> bool:
        """A regular file (not a link) at ``relpath``."""
        try:
            return self.kind(self.check_path(relpath)) == "file"
        except Refused:
            return False

    def close(self) -> None:
        """Release what the tree holds open (a git process)."""

    def __enter__(self) -> Tree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """TOML text, refusing documents nested deeper than :data:`MAX_NESTING`.

    tomllib recurses for inline arrays and tables (a ``[[[[...`` bomb is a
    RecursionError), and dotted keys build deep tables without recursing, which
    later recursive code would trip over: both end here, in one sentence.
    """
    if _inline_depth(text) > MAX_NESTING:  # before tomllib recurses into it
        raise Refused("bad-toml", path=where,
                      detail=f"nests tables or arrays too deeply (at most {MAX_NESTING})")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Refused("bad-toml", path=where, detail=f"is not valid TOML: {exc}") from None
    except (RecursionError, MemoryError):
        raise Refused("bad-toml", path=where,
                      detail=f"nests tables or arrays too deeply (at most {MAX_NESTING})"
                      ) from None
    if nesting(data) > MAX_NESTING:
        raise Refused("bad-toml", path=where,
                      detail=f"nests tables or arrays too deeply (at most {MAX_NESTING})")
    return data


# What _inline_depth skips: TOML strings (their escapes, and a one-line string cut short by
# the end of its line or of the text) and comments; and the brackets it counts. One pass of
# finditer, so no text can keep it going round.
_TOML_SYNTAX = re.compile(
    r'"""(?:\\[\s\S]?|[^\\])*?(?:"""|\Z)'         # multi-line basic string
    r"|'''[\s\S]*?(?:'''|\Z)"                     # multi-line literal string
    r'|"(?:\\[\s\S]?|[^\\"\n])*(?:["\n]|\Z)'      # basic string
    r"|'[^'\n]*(?:['\n]|\Z)"                      # literal string
    r"|#[^\n]*"                                   # comment
    r"|(?P<open>[\[{])|(?P<close>[\]}])")


def _inline_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` outside TOML strings and comments.

    Counted before parsing, so that a bomb is refused the same way whatever
    Python's recursion limit is (tomllib recurses once per level).
    """
    depth = deepest = 0
    for token in _TOML_SYNTAX.finditer(text):
        if token.lastgroup == "open":
            depth += 1
            deepest = max(deepest, depth)
        elif token.lastgroup == "close":
            depth = max(0, depth - 1)
    return deepest


def nesting(value: object, limit: int = MAX_NESTING + 1) -> int:
    """How deeply lists and dicts are nested in ``value`` (stops counting past ``limit``)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


class WorkTree(Tree):
    """The files on disk: what the next commit would see."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.label = "the work tree"

    @classmethod
    def containing(cls, path: Path) -> WorkTree:
        """The work tree of the repository that holds ``path`` (else ``path`` itself)."""
        start = path.resolve()
        for candidate in (start, *start.parents):
            if (candidate / ".git").exists():
                return cls(candidate)
        return cls(start)

    def kind(self, relpath: str) -> str | None:
        """The type of ``relpath`` on disk, not following a link."""
        try:
            info = os.lstat(self.root / relpath if relpath else self.root)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:
            return "other"
        return _kind(info.st_mode)

    def entries(self, directory: str) -> list[Entry]:
        """The names in a directory of the work tree."""
        try:
            listing = os.scandir(self.root / directory if directory else self.root)
        except (FileNotFoundError, NotADirectoryError):
            return []
        found = []
        with listing:
            for entry in listing:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    found.append(Entry(entry.name, "other"))
                    continue
                found.append(Entry(entry.name, _kind(info.st_mode), info.st_size))
        return sorted(found, key=lambda e: e.name)

    def _read(self, relpath: str, limit: int) -> bytes:
        path = self.root / relpath
        if not path.parent.resolve().is_relative_to(self.root):
            raise Refused("outside")
        return read_bounded(path, limit)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


_GIT_KINDS = {"100644": "file", "100755": "file", "120000": "link", "040000": "dir",
              "160000": "other"}


class GitTree(Tree):
    """The files of a git revision (the MR's base commit, a release commit)."""

    def __init__(self, root: Path, rev: str,
                 blob_reader: Callable[[str], bytes] | None = None,
                 lister: Callable[[str, str], dict[str, tuple[str, str]] | None] | None = None
                 ) -> None:
        self.root = root.resolve()
        self.rev = rev
        self._reader = blob_reader  # a GitRepo's shared cat-file --batch, when given
        # GitRepo.tree_entries: one directory at a time through that batch, instead of
        # one recursive ls-tree of the whole revision (a process, and every path of it)
        self._lister = lister
        self._directories: dict[str, dict[str, tuple[str, str, int]]] = {}
        self.label = f"commit {rev[:12]}"
        self.is_revision = True
        self._listing: dict[str, tuple[str, str, int]] | None = None
        self._children: dict[str, list[Entry]] = {}
        self._batch: subprocess.Popen[bytes] | None = None

    def _git(self, *args: str) -> bytes:
        proc = subprocess.run(["git", *args], cwd=self.root, capture_output=True, check=False)
        if proc.returncode != 0:
            from relbot.errors import GitError

            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = lines[-1] if lines else "no reason given"
            raise GitError(f"git {args[0]} of {self.rev[:12]} failed: {reason}")
        return proc.stdout

    def _entries_map(self) -> dict[str, tuple[str, str, int]]:
        """path -> (kind, oid, size) of the whole revision, from one ``git ls-tree``."""
        if self._listing is None:
            # No --long: sizes would cost a lookup of every blob; cat-file's header says it.
            out = self._git("ls-tree", "-r", "-t", "-z", "--full-tree", self.rev)
            listing: dict[str, tuple[str, str, int]] = {}
            children: dict[str, list[Entry]] = {}
            for record in out.split(b"\0"):
                if not record:
                    continue
                meta, _, raw_path = record.partition(b"\t")
                mode, _kind_name, oid = meta.decode().split()
                path = raw_path.decode("utf-8", "surrogateescape")
                kind = _GIT_KINDS.get(mode, "other")
                listing[path] = (kind, oid, 0)
                parent, _, name = path.rpartition("/")
                children.setdefault(parent, []).append(Entry(name, kind))
            self._listing = listing
            self._children = {k: sorted(v, key=lambda e: e.name) for k, v in children.items()}
        return self._listing

    def _batched(self, relpath: str) -> bool:
        """Whether ``relpath`` is answered one directory at a time through the lister."""
        return (self._lister is not None and self._listing is None
                and _askable(self.rev, relpath))

    def _directory(self, directory: str) -> dict[str, tuple[str, str, int]]:
        """One directory's entries through the lister (empty where it is no directory)."""
        if directory not in self._directories and self._lister is not None:
            found = self._lister(self.rev, directory) or {}
            self._directories[directory] = {
                name: (_GIT_KINDS.get(mode, "other"), oid, 0)
                for name, (mode, oid) in found.items()}
        return self._directories.get(directory, {})

    def _entry(self, relpath: str) -> tuple[str, str, int] | None:
        if not self._batched(relpath):
            return self._entries_map().get(relpath)
        parent, _, name = relpath.rpartition("/")
        if parent and self.kind(parent) != "dir":
            return None
        return self._directory(parent).get(name)

    def kind(self, relpath: str) -> str | None:
        """The type of ``relpath`` in the revision."""
        if not relpath:
            return "dir"
        entry = self._entry(relpath)
        return None if entry is None else entry[0]

    def entries(self, directory: str) -> list[Entry]:
        """The names in a directory of the revision."""
        if self._batched(directory):
            if directory and self.kind(directory) != "dir":
                return []
            return sorted((Entry(name, kind) for name, (kind, _, _)
                           in self._directory(directory).items()), key=lambda e: e.name)
        self._entries_map()
        return list(self._children.get(directory, []))

    def _read(self, relpath: str, limit: int) -> bytes:
        entry = self._entry(relpath)
        if entry is None:
            raise Refused("missing")
        kind, oid, _ = entry
        if kind == "link":
            raise Refused("symlink")
        if kind != "file":
            raise Refused("not-a-file")
        if self._reader is not None:
            data = self._reader(oid)
            if len(data) > limit:
                raise Refused("too-large", size=len(data))
            return data
        return self._blob(oid, limit)

    def _blob(self, oid: str, limit: int) -> bytes:
        """One blob through the long-lived ``git cat-file --batch``, at most ``limit`` bytes.

        A larger blob is streamed past in chunks (the protocol needs it read) and
        refused; it is never held in memory.
        """
        if self._batch is None:
            self._batch = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.root,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           stderr=subprocess.DEVNULL)
        stdin: IO[bytes] | None = self._batch.stdin
        stdout: IO[bytes] | None = self._batch.stdout
        if stdin is None or stdout is None:
            raise Refused("unreadable", detail="git cat-file --batch did not start")
        stdin.write(oid.encode() + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:
            raise Refused("unreadable", detail=f"git has no object {oid[:12]}")
        size = int(header[2])
        if size > limit:
            left = size + 1
            while left > 0:
                chunk = stdout.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
            raise Refused("too-large", size=size)
        data = stdout.read(size)
        stdout.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        """End the ``cat-file --batch`` process."""
        if self._batch is not None:
            batch, self._batch = self._batch, None
            if batch.stdin is not None:
                batch.stdin.close()
            if batch.stdout is not None:
                batch.stdout.close()
            batch.wait()

    def __del__(self) -> None:
        self.close()


def _askable(rev: str, relpath: str) -> bool:
    from relbot.git import batch_can_ask

    return batch_can_ask(f"{rev}:{relpath}")


# -- writing outputs --------------------------------------------------------------------


def write_output(path: Path, data: bytes, root: Path | None = None) -> None:
    """Write an output file (a report, a changelog) without following a link.

    A link at ``path`` is replaced by the file, never written through, so a
    committed ``relbot-junit.xml -> /etc/...`` cannot make relbot overwrite
    anything; a path inside ``root`` whose directory is a link out of it is
    refused. The file is written whole (temporary file, then rename).
    """
    import tempfile

    target = Path.cwd() / path if not Path(path).is_absolute() else Path(path)
    parent = target.parent
    if root is not None:
        top = root.resolve()
        if target.is_relative_to(top) and not parent.resolve().is_relative_to(top):
            raise Refused("outside", path=str(path),
                          detail="lies in a directory that links out of the repository")
    if not parent.is_dir():
        raise Refused("unreadable", path=str(path), detail="has no directory to be written to")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        tmp.chmod(0o644)
        tmp.replace(target)  # replaces a link itself, never its target
    except OSError as exc:
        with _suppress():
            tmp.unlink()
        raise Refused("unreadable", path=str(path),
                      detail=f"cannot be written: {exc.strerror}") from None


def _suppress() -> Any:
    import contextlib

    return contextlib.suppress(OSError)
