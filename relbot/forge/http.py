"""The HTTP session python-gitlab talks through: the token stays on the job's own instance.

python-gitlab sends every request through a ``requests.Session`` it is given
(``gitlab.Gitlab(session=...)``). This one enforces what relbot promises about
its token (docs/security.md, issue 11.2):

* **one host**: a request to any origin other than the configured GitLab's is
  refused before it is sent (a pagination ``Link`` to another host included).
  GitLab builds ``Link`` headers from its ``external_url`` ("REST API":
  *Pagination Link header*), so a well-configured instance never needs that;
* **no redirects**: ``allow_redirects=False``; a 3xx is reported, never followed
  with the token (requests would re-send ``PRIVATE-TOKEN`` to the same host and
  python-gitlab turns a redirected POST into a GET, "python-gitlab: RedirectError");
* **one deadline per call**: every relbot operation on GitLab (all its requests,
  retries, ``Retry-After`` waits and body reads) ends within ``gitlab_timeout``;
* **bounded pagination**: at most :data:`MAX_REQUESTS` requests per operation;
* **Retry-After** in seconds or as an HTTP date (RFC 9110, 10.2.3; GitLab sends
  seconds, "Rate limits": *Response headers*), waited out only within the deadline.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime
from typing import Any

import requests

from relbot.forge.credentials import origin

MAX_REQUESTS = 100  # per operation: 100 pages of 100 threads is far more than any MR has
MAX_RATE_LIMIT_WAITS = 3
MAX_BODY = 64 * 1024 * 1024  # bytes; GitLab's own answers to relbot are far smaller


class GuardError(requests.exceptions.RequestException):
    """A request relbot refused to make or to finish; its text is one clause for the user."""


class ForeignHost(GuardError):
    """The request would go to another host than the configured GitLab."""


class Redirected(GuardError):
    """GitLab answered with a redirect, which relbot does not follow with its token."""


class TooManyRequests(GuardError):
    """An operation needed more requests than any real GitLab answer needs (endless pages)."""


class RateLimited(GuardError):
    """GitLab asked for a wait (429) that does not fit in the deadline."""


class DeadlineExceeded(requests.exceptions.Timeout):
    """The operation's deadline passed (a slow body, waits, retries)."""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


class GuardedSession(requests.Session):
    """A session bound to one GitLab origin, with one deadline per operation."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.origin = origin(self.base_url)
        self.timeout = timeout
        self.trust_env = False  # no proxy or netrc credentials from the environment
        self._deadline = time.monotonic() + timeout
        self._requests = 0

    def start(self) -> None:
        """Begin an operation: a fresh deadline and request budget."""
        self._deadline = time.monotonic() + self.timeout
        self._requests = 0

    def remaining(self) -> float:
        """Seconds left before the operation's deadline."""
        return self._deadline - time.monotonic()

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        """Send one request within the guard's rules (see the module docstring)."""
        target = url.decode() if isinstance(url, bytes) else url
        verb = method.decode() if isinstance(method, bytes) else method
        if origin(target) != self.origin:
            shown = "{}://{}:{}".format(*origin(target))
            raise ForeignHost(f"GitLab's answer pointed to {shown}, another host than "
                              f"{self.base_url}, and relbot sends its token nowhere else")
        kwargs["allow_redirects"] = False
        kwargs["stream"] = True
        waits = 0
        while True:
            self._requests += 1
            if self._requests > MAX_REQUESTS:
                raise TooManyRequests(f"GitLab kept answering with more pages after "
                                      f"{MAX_REQUESTS} requests")
            left = self.remaining()
            if left <= 0:
                raise DeadlineExceeded("the deadline passed")
            kwargs["timeout"] = min(left, self.timeout)
            response = super().request(verb, target, *args, **kwargs)
            if response.is_redirect or 300 <= response.status_code < 400:
                location = response.headers.get("Location", "")
                response.close()
                raise Redirected(f"GitLab answered {response.status_code} with a redirect"
                                 f"{' to ' + location if location else ''}, which relbot "
                                 "does not follow with its token")
            if response.status_code == 429:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                if wait is None:
                    wait = 1.0
                response.close()
                if waits >= MAX_RATE_LIMIT_WAITS or wait >= self.remaining():
                    raise RateLimited(f"GitLab asked relbot to wait {wait:g} s (429 Too Many "
                                      f"Requests), longer than gitlab_timeout "
                                      f"({self.timeout:g} s) leaves")
                waits += 1
                time.sleep(wait)
                continue
            self._read_body(response)
            return response

    def _read_body(self, response: requests.Response) -> None:
        """Read the body in pieces as they come, within the deadline and a size bound."""
        chunks: list[bytes] = []
        size = 0
        raw = response.raw
        try:
            while True:
                if self.remaining() <= 0:
                    raise DeadlineExceeded("the answer's body came too slowly")
                chunk = raw.read1(65536, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_BODY:
                    raise GuardError(f"GitLab's answer was larger than {MAX_BODY} bytes")
                chunks.append(chunk)
        except (requests.exceptions.RequestException, OSError) as exc:
            response.close()
            if isinstance(exc, requests.exceptions.RequestException):
                raise
            raise requests.exceptions.ConnectionError(str(exc)) from exc
        except Exception as exc:  # urllib3's read errors: a broken or timed-out body
            response.close()
            name = type(exc).__name__
            if "Timeout" in name:
                raise DeadlineExceeded("the answer's body came too slowly") from exc
            raise requests.exceptions.ConnectionError(f"reading the answer failed ({name})"
                                                      ) from exc
        response._content = b"".join(chunks)
        response._content_consumed = True
        response.close()
