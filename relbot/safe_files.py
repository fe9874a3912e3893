"""Kept for callers of the first version: the safe reader now lives in :mod:`relbot.tree`."""

from __future__ import annotations

from relbot.tree import Refused, read_bounded

__all__ = ["Refused", "read_bounded"]
