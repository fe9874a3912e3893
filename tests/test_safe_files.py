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
        "too-large", 11, "too-large")


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
def test_a_missing_file_is_unreadable_with_the_reason(tmp_path: Path, looked_at: bool) -> None:
    """The reason is the system's own words."""
    with pytest.raises(Refused) as refused:
        read_bounded(tmp_path / "gone", 100, looked_at=looked_at)
    assert (refused.value.rule, refused.value.detail) == ("unreadable",
                                                          "No such file or directory")
