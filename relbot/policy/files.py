"""Where a policy file comes from, and reading it safely.

A component names a policy (``kubernetes``) or a repository path
(``policies/custom.toml``). A name is looked up in the repository's own
``policies/`` directory first, so a project can override a shipped policy
entirely, then among the policies relbot ships: ``relbot/_shipped_policies`` in
an installed wheel (hatchling's force-include copies the top-level
``policies/`` there), else the source checkout's ``policies/`` next to the
package. Policy files may come from a merge request, so a link, a file outside
the repository or a file larger than :data:`MAX_POLICY_BYTES` is refused
before it is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from relbot.config import did_you_mean
from relbot.errors import PolicyError
from relbot.safe_files import Refused, read_bounded

if TYPE_CHECKING:
    from relbot.tree import Tree

POLICY_DIR = "policies"
MAX_POLICY_BYTES = 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class PolicyFile:
    """The bytes of one policy file and how to name it."""

    name: str  # the policy's name: the file's stem
    label: str  # how messages name the file
    relpath: str | None  # repository-relative path when the repository holds it
    data: bytes


def is_path(entry: str) -> bool:
    """Whether a ``policies`` entry is a repository path rather than a name."""
    return "/" in entry or "\\" in entry or entry.endswith(".toml")


def find(entry: str, root: Path, where: str = "", tree: Tree | None = None) -> PolicyFile:
    """The policy file a ``policies`` entry (or ``relbot policy path SUBJECT``) means.

    ``tree`` (``relbot.tree``) is where repository files are read: ``mr check``
    passes the MR's base commit, so that the MR's own policy files never steer it.
    """
    prefix = f"{where}: " if where else ""
    if tree is not None and tree.is_revision:
        return _find_in_tree(entry, tree, prefix)
    if is_path(entry):
        return read_repository_file(root, entry, prefix)
    if not _NAME.fullmatch(entry):
        raise PolicyError(f"{prefix}{entry!r} is neither a policy name (like kubernetes) nor "
                          "a path to a .toml file.")
    own = root / POLICY_DIR / f"{entry}.toml"
    if own.exists() or own.is_symlink():
        return read_repository_file(root, f"{POLICY_DIR}/{entry}.toml", prefix)
    shipped = shipped_file(entry)
    if shipped is not None:
        return shipped
    names = known_names(root)
    raise PolicyError(f"{prefix}there is no policy {entry!r}" + did_you_mean(entry, names)
                      + "; known: " + (", ".join(names) or "none") + ".")


def _find_in_tree(entry: str, tree: Tree, prefix: str) -> PolicyFile:
    """:func:`find` for a git revision: the same rules, read through ``tree``."""
    from relbot.tree import Refused as TreeRefused

    relpath = entry if is_path(entry) else f"{POLICY_DIR}/{entry}.toml"
    if not is_path(entry) and not _NAME.fullmatch(entry):
        raise PolicyError(f"{prefix}{entry!r} is neither a policy name (like kubernetes) nor "
                          "a path to a .toml file.")
    if not is_path(entry) and tree.kind(relpath) is None:
        shipped = shipped_file(entry)
        if shipped is not None:
            return shipped
    label = f"{Path(relpath).as_posix()} ({tree.label})"
    try:
        data = tree.read_bytes(relpath, MAX_POLICY_BYTES)
    except TreeRefused as refused:
        if refused.rule == "too-large" and refused.size is not None:
            check_size(label, refused.size)
        if refused.rule == "outside":
            raise PolicyError(f"{prefix}policy file {relpath!r} points outside the "
                              "repository.") from None
        raise PolicyError(f"{prefix}policy file {label} {refused.reason}.") from None
    return PolicyFile(Path(relpath).stem, label, Path(relpath).as_posix(), data)


def read_tree_file(tree: Tree, relpath: str, label: str) -> bytes:
    """The bytes of a policy file in ``tree`` (``relbot.tree``), or one PolicyError."""
    from relbot.tree import Refused as TreeRefused

    try:
        return tree.read_bytes(relpath, MAX_POLICY_BYTES)
    except TreeRefused as refused:
        if refused.rule == "too-large" and refused.size is not None:
            check_size(label, refused.size)
        raise PolicyError(f"{label} {refused.reason}.") from None


def read_repository_file(root: Path, relpath: str, prefix: str = "") -> PolicyFile:
    """A policy file of the repository: inside it, a regular file, at most 1 MiB."""
    root = root.resolve()
    if not relpath or "\0" in relpath or Path(relpath).is_absolute():
        raise PolicyError(f"{prefix}policy file {relpath!r} must be a repository-relative path.")
    path = root / relpath
    if not path.resolve().is_relative_to(root):
        raise PolicyError(f"{prefix}policy file {relpath!r} points outside the repository.")
    label = Path(relpath).as_posix()
    if not path.exists() and not path.is_symlink():
        siblings = sorted(p.name for p in path.parent.glob("*.toml")) if path.parent.is_dir() \
            else []
        raise PolicyError(f"{prefix}policy file {label} does not exist"
                          + did_you_mean(path.name, siblings) + ".")
    try:
        data = read_regular(path, MAX_POLICY_BYTES, "policy files")
    except NotReadable as exc:
        if exc.size is not None:
            check_size(label, exc.size)
        raise PolicyError(f"{label} {exc.reason}.") from None
    return PolicyFile(path.stem, label, label, data)


class NotReadable(Refused):
    """A file relbot will not or cannot read: ``reason`` completes "FILE ...", and
    ``size`` is set when the file is too large (callers word that themselves)."""

    def __init__(self, reason: str, size: int | None = None) -> None:
        super().__init__("too-large" if size is not None else "unreadable", size=size,
                         message=reason)
        self.reason = reason


def read_regular(path: Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file, never through a link, refusing more than ``limit``.

    Policy files and probed files may come from a merge request (a fork): a link
    could point anywhere on the runner, and a huge file could exhaust it.
    ``what`` names the files in messages (``policy files``).
    """
    try:
        return read_bounded(path, limit)
    except Refused as refused:
        if refused.rule == "symlink":
            raise NotReadable(f"is a symbolic link; relbot does not read {what} through "
                              "links") from None
        if refused.rule == "not-a-file":
            raise NotReadable("is not a regular file") from None
        if refused.rule == "too-large":
            raise NotReadable("is too large", refused.size) from None
        raise NotReadable(f"cannot be read: {refused.detail}") from None


def check_size(label: str, size: int) -> None:
    """Refuse a policy file larger than :data:`MAX_POLICY_BYTES` (for files read from git)."""
    if size > MAX_POLICY_BYTES:
        raise PolicyError(f"{label} is {size} bytes long; a policy file may hold at most "
                          f"{MAX_POLICY_BYTES} bytes (1 MiB).")


def shipped_file(name: str) -> PolicyFile | None:
    """The policy relbot ships under ``name``, or ``None``."""
    for directory in _shipped_directories():
        candidate = directory / f"{name}.toml"
        if candidate.is_file():
            return PolicyFile(name, f"{name}.toml (shipped with relbot)", None,
                              candidate.read_bytes())
    return None


def shipped_names() -> list[str]:
    """Names of the policies relbot ships."""
    names: set[str] = set()
    for directory in _shipped_directories():
        names.update(p.name[:-5] for p in directory.iterdir()
                     if p.name.endswith(".toml") and p.is_file())
    return sorted(names)


def known_names(root: Path) -> list[str]:
    """Shipped policy names and the stems of the repository's own ``policies/*.toml``."""
    own = root / POLICY_DIR
    names = set(shipped_names())
    if own.is_dir():
        names.update(p.stem for p in own.glob("*.toml") if _NAME.fullmatch(p.stem))
    return sorted(names)


def _shipped_directories() -> list[Path]:
    """The wheel's ``relbot/_shipped_policies``, else the source checkout's ``policies``."""
    import relbot

    packaged = resources.files("relbot").joinpath("_shipped_policies")
    if packaged.is_dir():
        return [Path(str(packaged))]
    checkout = Path(relbot.__file__).resolve().parent.parent / POLICY_DIR
    return [checkout] if checkout.is_dir() else []
