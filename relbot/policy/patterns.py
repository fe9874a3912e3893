"""Regular expressions from configuration, run with a time limit.

Probe patterns come from policy files and ``relbot.toml``, which a merge
request may change. A pattern with catastrophic backtracking would hang the
pipeline, and the standard ``re`` module cannot be interrupted; the ``regex``
module (same syntax, used in its ``re``-compatible mode) takes a ``timeout``
and raises ``TimeoutError`` when it is spent. Probed files are bounded in size
too (:data:`relbot.policy.trees.MAX_PROBED_BYTES`), so a check's time is bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from relbot.errors import PolicyError

TIME_LIMIT = 1.0  # seconds for all matches of one pattern in one file


def compile_pattern(pattern: str, where: str) -> Any:
    """The compiled pattern (multi-line), or one PolicyError naming ``where``."""
    import regex

    try:
        return regex.compile(pattern, regex.MULTILINE | regex.VERSION0)
    except (regex.error, RecursionError, OverflowError, ValueError) as exc:
        raise PolicyError(f"{where} is not a valid regular expression: {exc}.") from None


def finditer(pattern: str, text: str, where: str, path: str) -> Iterator[Any]:
    """Every match of ``pattern`` in ``text``, within :data:`TIME_LIMIT` seconds in all."""
    compiled = compile_pattern(pattern, where)
    try:
        matches = list(compiled.finditer(text, timeout=TIME_LIMIT))
    except TimeoutError:
        raise PolicyError(f"{where} took longer than {TIME_LIMIT:g} s on {path} and was "
                          "stopped; simplify the regular expression (it backtracks "
                          "too much).") from None
    yield from matches
