"""Fault injection: make the next N matching requests fail the way GitLab can fail.

A fault matches a request by HTTP method (``None``: any) and a regular
expression searched in the request's path as sent, still percent-encoded and
without the query (``/api/v4/projects/1/merge_requests/7/notes``). Faults are
tried in the order they were added; the first one that matches and has uses
left fires and uses one up.

Kinds:

``error``
    Answer ``status`` (500 by default) with GitLab's body for it.
``error`` with ``after_commit=True``
    Apply the request first (the note or release *is* created), then answer
    ``status`` (502 by default) instead of the real response: the client sees a
    failure for a write that happened.
``rate_limit``
    Answer 429 with ``Retry-After: retry_after`` and GitLab's rate-limit headers;
    nothing is applied.
``hang``
    Hold the request for ``seconds`` (bounded by the stand-in's ``max_hang``, and
    cut short when the stand-in stops) and then close the connection without an
    answer, so a client with a shorter timeout times out. With
    ``after_commit=True`` the request is applied before the hang.
``reset``
    Reset the TCP connection (RST) without an answer; with ``after_commit=True``
    after applying the request.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["error", "rate_limit", "hang", "reset"]
KINDS: tuple[FaultKind, ...] = ("error", "rate_limit", "hang", "reset")


@dataclass
class Fault:
    """One planned failure; ``times`` is how many requests it still hits (-1: all)."""

    kind: FaultKind
    method: str | None = None
    path: str = ""
    times: int = 1
    status: int = 500
    after_commit: bool = False
    retry_after: int = 1
    seconds: float = 5.0
    body: Any = None
    fired: int = field(default=0)

    def __post_init__(self) -> None:
        """Refuse what is not a fault (the control endpoint answers 400 with the reason)."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")
        if self.method is not None:
            if not isinstance(self.method, str) or not self.method.isalpha():
                raise ValueError("method is an HTTP method name such as \"POST\", or null")
            self.method = self.method.upper()
        if not isinstance(self.path, str):
            raise ValueError("path is a regular expression (a string)")
        try:
            re.compile(self.path)
        except re.error as exc:
            raise ValueError(f"path is not a valid regular expression: {exc}") from None
        _integer("times", self.times, -1, 1_000_000)
        _integer("status", self.status, 100, 599)
        _integer("retry_after", self.retry_after, 0, 86_400 * 7)
        if not isinstance(self.after_commit, bool):
            raise ValueError("after_commit is true or false")
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, int | float) \
                or not 0 <= self.seconds <= 3600:
            raise ValueError("seconds is a number from 0 to 3600")

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault still has uses and applies to ``method`` ``path``."""
        if self.times == 0:
            return False
        if self.method is not None and self.method != method.upper():
            return False
        return re.search(self.path, path) is not None

    def to_json(self) -> dict[str, Any]:
        """The fault as the control endpoint shows it."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """A fault from the control endpoint's JSON (the field names of this class)."""
        allowed = {"kind", "method", "path", "times", "status", "after_commit", "retry_after",
                   "seconds", "body"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        if "kind" not in data:
            raise ValueError("a fault needs a 'kind'")
        return cls(**dict(data))


def _integer(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} is a whole number from {low} to {high}")


class FaultPlan:
    """The faults waiting for requests; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        """Plan ``fault``; returns it (its ``fired`` counts the requests it hit)."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def error(self, status: int = 500, *, method: str | None = None, path: str = "",
              times: int = 1, after_commit: bool = False, body: Any = None) -> Fault:
        """Answer ``status`` to the next ``times`` matching requests."""
        return self.add(Fault("error", method, path, times, status=status,
                              after_commit=after_commit, body=body))

    def error_after_commit(self, status: int = 502, *, method: str | None = None,
                           path: str = "", times: int = 1) -> Fault:
        """Apply the next ``times`` matching requests, then answer ``status`` instead."""
        return self.error(status, method=method, path=path, times=times, after_commit=True)

    def rate_limit(self, retry_after: int = 1, *, method: str | None = None, path: str = "",
                   times: int = 1) -> Fault:
        """Answer 429 with ``Retry-After: retry_after`` to the next matching requests."""
        return self.add(Fault("rate_limit", method, path, times, status=429,
                              retry_after=retry_after))

    def hang(self, seconds: float, *, method: str | None = None, path: str = "",
             times: int = 1, after_commit: bool = False) -> Fault:
        """Hold the next matching requests ``seconds``, then drop them unanswered."""
        return self.add(Fault("hang", method, path, times, seconds=seconds,
                              after_commit=after_commit))

    def reset(self, *, method: str | None = None, path: str = "", times: int = 1,
              after_commit: bool = False) -> Fault:
        """Reset the connection of the next matching requests."""
        return self.add(Fault("reset", method, path, times, after_commit=after_commit))

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault that matches, with one use taken; None if none matches."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.times > 0:
                        fault.times -= 1
                    fault.fired += 1
                    return fault
        return None

    def pending(self) -> list[Fault]:
        """The faults that still have uses."""
        with self._lock:
            return [f for f in self._faults if f.times != 0]

    def clear(self) -> None:
        """Forget every planned fault."""
        with self._lock:
            self._faults.clear()
