"""The one reader of files that may come from a fork (relbot.safe_files): links, non-files and
oversized files are refused with their rule; anything else is read whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from relbot.safe_files import Refused, read_bounded


@pytest.mark.parametrize("looked_at", [False, True])
def test_a_regular_file_up_to_the_limit_is_read_whole(tmp_path: Path, looked_at: bool) -> None:
    """Exactly ``limit`` bytes are fine, and every byte is returned."""
    path = tmp_path / "1.fix"
    path.write_bytes(b"x" * 4095 + b"\n")
    assert read_bounded(path, 4096, looked_at=looked_at) == b"x" * 4095 + b"\n"
    assert read_bounded(str(path), 4096, looked_at=looked_at) == b"x" * 4095 + b"\n"
    empty = tmp_path / "2.fix"
    empty.write_bytes(b"")
    assert read_bounded(empty, 0, looked_at=looked_at) == b""


@pytest.mark.parametrize("looked_at", [False, True])
def test_one_byte_more_is_too_large(tmp_path: Path, looked_at: bool) -> None:
    """``limit + 1`` bytes are refused, with the size found."""
    path = tmp_path / "1.fix"
    path.write_bytes(b"y" * 11)
    with pytest.raises(Refused) as refused:
        read_bounded(path, 10, looked_at=looked_at)
    assert (refused.value.rule, refused.value.size, str(refused.value)) == (
        "too-large", 11, "is 11 bytes, more than relbot reads")


@pytest.mark.parametrize("looked_at", [False, True])
def test_a_link_is_never_followed(tmp_path: Path, looked_at: bool) -> None:
    """A link to a readable file is refused as a link, whether or not it was looked at: the
    open itself does not follow it."""
    secret = tmp_path / "secret"
    secret.write_text("TOP SECRET")
    link = tmp_path / "1.fix"
    link.symlink_to(secret)
    with pytest.raises(Refused) as refused:
        read_bounded(link, 100, looked_at=looked_at)
    assert (refused.value.rule, refused.value.size, refused.value.detail) == ("symlink", None,
                                                                              "")


def test_a_directory_and_a_fifo_are_not_files(tmp_path: Path) -> None:
    """Only regular files are read; a FIFO does not hang the reader."""
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    for name in ("fifo", "dir"):
        for looked_at in (False, True):
            with pytest.raises(Refused) as refused:
                read_bounded(tmp_path / name, 100, looked_at=looked_at)
            assert refused.value.rule == "not-a-file", (name, looked_at)


@pytest.mark.parametrize("looked_at", [False, True])
def test_a_missing_file_is_missing_with_the_reason(tmp_path: Path, looked_at: bool) -> None:
    """A missing file has its own rule and words (not the system's, which would follow
    the file's name as "gone No such file or directory")."""
    with pytest.raises(Refused) as refused:
        read_bounded(tmp_path / "gone", 100, looked_at=looked_at)
    assert (refused.value.rule, str(refused.value)) == ("missing", "does not exist")


def test_a_socket_is_not_a_file(tmp_path: Path) -> None:
    """A socket is refused by the look before the open (opening one fails differently)."""
    import socket

    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "1.fix"))
        with pytest.raises(Refused) as refused:
            read_bounded(tmp_path / "1.fix", 100)
    assert refused.value.rule == "not-a-file"


def _short_reads(monkeypatch: pytest.MonkeyPatch, chunk: int, *, endless: bool = False) -> None:
    """os.read returns at most ``chunk`` bytes a call, as it may; ``endless``: a file that
    keeps growing after it was looked at."""
    real = os.read

    def read(fd: int, n: int) -> bytes:
        return b"z" * min(n, chunk) if endless else real(fd, min(n, chunk))

    monkeypatch.setattr(os, "read", read)


def test_short_reads_are_put_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that arrives a few bytes per read is still read whole, up to the limit."""
    path = tmp_path / "1.fix"
    path.write_bytes(b"0123456789")
    _short_reads(monkeypatch, 3)
    assert read_bounded(path, 10) == b"0123456789"
    assert read_bounded(path, 64) == b"0123456789"


def test_a_file_that_grows_after_the_look_is_cut_at_the_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More bytes than ``fstat`` reported: relbot reads one byte past the limit, never more,
    and refuses the file as too large."""
    path = tmp_path / "1.fix"
    path.write_bytes(b"x" * 10)
    _short_reads(monkeypatch, 4, endless=True)
    with pytest.raises(Refused) as refused:
        read_bounded(path, 10)
    assert (refused.value.rule, refused.value.size) == ("too-large", 11)


def test_reading_stops_at_the_size_looked_at(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the bytes ``fstat`` promised are in, relbot reads no further, even from a file that
    is still growing."""
    path = tmp_path / "1.fix"
    path.write_bytes(b"x" * 10)
    _short_reads(monkeypatch, 5, endless=True)
    assert read_bounded(path, 10) == b"z" * 10


def test_a_failing_read_is_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An I/O error while reading is a refusal with the system's words, and the file is
    closed."""
    import errno

    path = tmp_path / "1.fix"
    path.write_bytes(b"x")
    closed: list[int] = []
    real_close = os.close

    def failing_read(fd: int, n: int) -> bytes:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    def close(fd: int) -> None:
        closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(os, "read", failing_read)
    monkeypatch.setattr(os, "close", close)
    with pytest.raises(Refused) as refused:
        read_bounded(path, 10)
    assert (refused.value.rule, refused.value.detail, refused.value.size) == (
        "unreadable", "Input/output error", None)
    assert len(closed) == 1


def test_a_file_that_shrinks_after_the_look_gives_what_is_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``fstat`` promised more bytes than the file holds by the time it is read: the reader
    stops at the end of the file and returns what it found."""
    path = tmp_path / "1.fix"
    path.write_bytes(b"short")
    real_fstat = os.fstat

    def fstat(fd: int) -> os.stat_result:
        info = list(real_fstat(fd))
        info[6] = 9  # st_size
        return os.stat_result(info)

    monkeypatch.setattr(os, "fstat", fstat)
    _short_reads(monkeypatch, 2)
    assert read_bounded(path, 10, looked_at=True) == b"short"
