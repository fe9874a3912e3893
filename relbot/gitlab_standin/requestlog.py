"""The request log: every API request the stand-in received, tokens redacted.

Tests assert on it ("exactly one POST to notes"); the control endpoint
``GET /-/standin/requests`` serves it as JSON. Control requests themselves are
not logged.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

REDACTED = "[REDACTED]"
SECRET_HEADERS = frozenset({"private-token", "job-token", "authorization", "cookie"})
SECRET_PARAMS = frozenset({"private_token", "job_token", "access_token", "token"})


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with the values of credential headers replaced."""
    return {name: REDACTED if name.lower() in SECRET_HEADERS else value
            for name, value in headers.items()}


def redact_query(query: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """``query`` with the values of credential parameters replaced."""
    return {name: [REDACTED] * len(values) if name.lower() in SECRET_PARAMS else list(values)
            for name, values in query.items()}


def redact_body(body: Any) -> Any:
    """A parsed body with credential parameters replaced, however deep they sit; a text
    body that names a credential parameter is replaced whole."""
    if isinstance(body, dict):
        return {key: REDACTED if str(key).lower() in SECRET_PARAMS else redact_body(value)
                for key, value in body.items()}
    if isinstance(body, list):
        return [redact_body(item) for item in body]
    if isinstance(body, str) and any(name in body.lower() for name in SECRET_PARAMS):
        return REDACTED
    return body


@dataclass
class RequestRecord:
    """One request: what was asked, as whom, what came of it.

    ``user`` is the username the credentials stand for (None: anonymous or an
    unknown token), ``token_kind`` which kind of token was sent, ``status`` the
    status the client was sent (None where a fault hung up or reset instead),
    ``fault`` the kind of fault that fired (None: none).
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any = None
    user: str | None = None
    token_kind: str | None = None
    status: int | None = None
    fault: str | None = None
    committed: bool = field(default=False)

    def to_json(self) -> dict[str, Any]:
        """The record as the control endpoint shows it."""
        return asdict(self)


class RequestLog:
    """Thread-safe list of :class:`RequestRecord`, oldest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        """Log ``record``."""
        with self._lock:
            self._records.append(record)

    def all(self) -> list[RequestRecord]:
        """Every record so far."""
        with self._lock:
            return list(self._records)

    def matching(self, method: str | None = None, path: str = "") -> list[RequestRecord]:
        """Records with this method (None: any) whose path ``re.search``-matches ``path``."""
        pattern = re.compile(path)
        return [r for r in self.all()
                if (method is None or r.method == method.upper()) and pattern.search(r.path)]

    def count(self, method: str | None = None, path: str = "") -> int:
        """How many records :meth:`matching` finds."""
        return len(self.matching(method, path))

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
