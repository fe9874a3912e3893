"""Reading a file that may come from a merge request (a fork): never through a link, bounded.

Fragments, policy files and probed files all come from repositories relbot
does not trust. One reader serves them all: it refuses a link (also one that
replaces the file between look and open), anything that is not a regular
file, and more than ``limit`` bytes; each caller words the refusal itself.
"""

from __future__ import annotations

import errno
import os
import stat

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class Refused(Exception):
    """Why a file was not read: ``rule`` is symlink, not-a-file, too-large or unreadable."""

    def __init__(self, rule: str, *, size: int | None = None, detail: str = "") -> None:
        super().__init__(rule)
        self.rule = rule
        self.size = size
        self.detail = detail


def read_bounded(path: str | os.PathLike[str], limit: int, *, looked_at: bool = False) -> bytes:
    """At most ``limit`` bytes of the regular file ``path``; :class:`Refused` otherwise.

    ``looked_at`` spares the ``lstat`` when a directory listing already showed a
    regular file; the open and ``fstat`` still check what is really read.
    """
    try:
        if not looked_at:
            _check(os.lstat(path), limit)
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a link since it was looked at
            raise Refused("symlink") from None
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
