"""The files of one state of a repository: the work tree, or a git revision.

Probes read the work tree for ``relbot policy check`` and a git revision for
``--base`` through the same small :class:`Tree` interface, and pick files
with the same globs in both. Files may come from a merge request (a fork):
links, files outside the repository, non-regular files and files larger than
:data:`MAX_PROBED_BYTES` raise :class:`Unreadable`, which the check reports as
a finding; they are never followed or read whole.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from relbot.policy.files import NotReadable, read_regular

if TYPE_CHECKING:
    from relbot.git import GitRepo

MAX_PROBED_BYTES = 1024 * 1024


class Unreadable(Exception):
    """A probed file that relbot will not or cannot read, and the finding's rule."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class Tree(Protocol):
    """Files of one state of the repository: the work tree or a git revision."""

    def files(self, prefix: str) -> list[str]:
        """Repository-relative POSIX paths of the files below ``prefix`` (``""``: all)."""
        ...

    def read(self, relpath: str) -> str:
        """The text of a regular file; raises :class:`Unreadable`."""
        ...


class WorkTree:
    """The files on disk, as the next commit would see them."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def files(self, prefix: str) -> list[str]:
        """Every file below ``prefix``, never descending into ``.git`` or linked directories."""
        top = self.root / prefix if prefix else self.root
        if top.is_file() or top.is_symlink():
            return [prefix]
        found: list[str] = []
        for directory, dirs, names in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != ".git")
            base = Path(directory).relative_to(self.root)
            found.extend((base / name).as_posix() for name in sorted(names))
        return found

    def read(self, relpath: str) -> str:
        """Read a regular file inside the repository, at most :data:`MAX_PROBED_BYTES`."""
        path = self.root / relpath
        if not path.parent.resolve().is_relative_to(self.root):
            raise Unreadable("probe-unreadable", "lies outside the repository (through a "
                                                 "linked directory)")
        try:
            return _decode(read_regular(path, MAX_PROBED_BYTES, "probed files"))
        except NotReadable as exc:
            if exc.size is not None:
                _check_size(exc.size)
            raise Unreadable("probe-unreadable", exc.reason) from None


class GitTree:
    """The files of a git revision (``--base``), read with ``git ls-tree`` and ``cat-file``."""

    def __init__(self, git: GitRepo, rev: str) -> None:
        self.git = git
        self.rev = rev
        self._entries: dict[str, tuple[str, str, int]] = {}

    def files(self, prefix: str) -> list[str]:
        """Every file of the revision below ``prefix``."""
        args = ["ls-tree", "-r", "-z", "--long", "--full-tree", self.rev]
        if prefix:
            args += ["--", prefix]
        found = []
        for record in self.git.run(*args, strip=False).split("\0"):
            meta, _, path = record.partition("\t")
            if not path:
                continue
            mode, kind, sha, size = meta.split()
            if kind == "blob":
                self._entries[path] = (mode, sha, int(size) if size.isdigit() else 0)
                found.append(path)
        return found

    def read(self, relpath: str) -> str:
        """The text of a file of the revision (after :meth:`files` listed it)."""
        mode, sha, size = self._entries[relpath]
        if mode == "120000":
            raise Unreadable("probe-unreadable", "is a symbolic link; relbot does not read "
                                                 "probed files through links")
        _check_size(size)  # from the listing; the blob comes through one cat-file --batch
        return _decode(self.git.read_blob(sha))


def _check_size(size: int) -> None:
    if size > MAX_PROBED_BYTES:
        raise Unreadable("probe-unreadable", f"is {size} bytes long; relbot probes files of at "
                                             f"most {MAX_PROBED_BYTES} bytes")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable("probe-unreadable", f"is not UTF-8 text (invalid byte at offset "
                                             f"{exc.start})") from None


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regular expression for a repository glob: ``*`` and ``?`` stay within one
    directory, ``**/`` spans any number of them, ``[...]`` is a character class."""
    out = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out.append("(?:[^/]+/)*")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        elif pattern[index] == "[" and "]" in pattern[index + 2:]:
            end = pattern.index("]", index + 2)
            body = pattern[index + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            index = end + 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(out) + r"\Z")


def literal_prefix(pattern: str) -> str:
    """The directories of a glob before its first wildcard (where listing may start)."""
    parts = pattern.split("/")
    literal = []
    for part in parts[:-1]:
        if any(c in part for c in "*?["):
            break
        literal.append(part)
    else:
        if not any(c in parts[-1] for c in "*?["):
            return pattern
    return "/".join(literal)


def matching(tree: Tree, glob: str) -> list[str]:
    """The files of ``tree`` that ``glob`` matches, listing only below its literal prefix."""
    matcher = glob_regex(glob)
    return [p for p in tree.files(literal_prefix(glob)) if matcher.match(p)]
