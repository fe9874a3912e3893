"""The files of one state of a repository: the work tree, or a git revision.

Probes read the work tree for ``relbot policy check`` and a git revision for
``--base`` through the same small :class:`Tree` interface, and pick files
with the same globs in both. Files may come from a merge request (a fork):
links, files outside the repository, non-regular files and files larger than
:data:`MAX_PROBED_BYTES` raise :class:`Unreadable`, which the check reports as
a finding; they are never followed or read whole.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from relbot.tree import Refused

if TYPE_CHECKING:
    from relbot.git import GitRepo
    from relbot.tree import Tree as Files

MAX_PROBED_BYTES = 1024 * 1024


class Unreadable(Refused):
    """A probed file that relbot will not or cannot read, and the finding's rule."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(rule, message=message)


class Tree(Protocol):
    """Files of one state of the repository: the work tree or a git revision."""

    def files(self, prefix: str) -> list[str]:
        """Repository-relative POSIX paths of the files below ``prefix`` (``""``: all)."""
        ...

    def read(self, relpath: str) -> str:
        """The text of a regular file; raises :class:`Unreadable`."""
        ...


class WorkTree:
    """The files on disk, as the next commit would see them (through ``relbot.tree``)."""

    def __init__(self, root: Path) -> None:
        from relbot.tree import WorkTree as Files

        self.root = root.resolve()
        self._files = Files(self.root)

    def files(self, prefix: str) -> list[str]:
        """Every file below ``prefix``, never descending into ``.git`` or linked directories."""
        return _listed(self._files, prefix)

    def read(self, relpath: str) -> str:
        """Read a regular file inside the repository, at most :data:`MAX_PROBED_BYTES`."""
        return _read(self._files, relpath)


class GitTree:
    """The files of a git revision (``--base``): one ``ls-tree``, one ``cat-file --batch``."""

    def __init__(self, git: GitRepo, rev: str) -> None:
        from relbot.tree import GitTree as Files

        self.git = git
        self.rev = rev
        self._files = Files(git.root, rev)

    def files(self, prefix: str) -> list[str]:
        """Every file of the revision below ``prefix``."""
        return _listed(self._files, prefix)

    def read(self, relpath: str) -> str:
        """The text of a file of the revision."""
        return _read(self._files, relpath)


def _listed(tree: Files, prefix: str) -> list[str]:
    from relbot.tree import Refused

    try:
        return tree.files(prefix)
    except Refused:
        return []


def _read(tree: Files, relpath: str) -> str:
    from relbot.tree import Refused

    try:
        data = tree.read_bytes(relpath, MAX_PROBED_BYTES)
    except Refused as refused:
        if refused.rule == "too-large" and refused.size is not None:
            _check_size(refused.size)
        if refused.rule == "symlink":
            raise Unreadable("probe-unreadable", "is a symbolic link; relbot does not read "
                                                 "probed files through links") from None
        if refused.rule == "outside":
            raise Unreadable("probe-unreadable", "lies outside the repository (through a "
                                                 "linked directory)") from None
        if refused.rule == "too-large":
            raise Unreadable("probe-unreadable", "is too large") from None
        raise Unreadable("probe-unreadable", refused.reason) from None
    return _decode(data)


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
