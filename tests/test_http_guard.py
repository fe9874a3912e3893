"""relbot/forge/http.py in-process, against a real HTTP server on 127.0.0.1: each rule of the
session python-gitlab talks through (one host, no redirects, one deadline, bounded answers,
Retry-After), one behaviour a test. The end-to-end GitLab tests reach these rules through
the stand-in; here each boundary is pinned on its own.
"""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from relbot.forge import http as guard
from relbot.forge.http import (
    DeadlineExceeded,
    ForeignHost,
    GuardedSession,
    GuardError,
    RateLimited,
    Redirected,
    TooManyRequests,
    retry_after_seconds,
)

pytestmark = pytest.mark.reliability("Faults")


class _Server:
    """What the handler answers, set by each test; the requests it saw."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], list[bytes], float]] = []
        self.paths: list[str] = []
        self.head_pause = 0.0  # seconds before the status line


def _handler(state: _Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.paths.append(self.path)
            status, headers, chunks, pause = (state.answers.pop(0) if state.answers
                                              else (200, {}, [b"{}"], 0.0))
            time.sleep(state.head_pause)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(sum(len(c) for c in chunks)))
            self.end_headers()
            for chunk in chunks:
                if pause:
                    time.sleep(pause)
                self.wfile.write(chunk)
                self.wfile.flush()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, _Server]]:
    state = _Server()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    httpd.shutdown()
    httpd.server_close()


def _session(base: str, timeout: float = 5.0) -> GuardedSession:
    session = GuardedSession(base + "/", timeout)
    session.start()
    return session


def test_the_base_url_loses_its_trailing_slash_only(server: tuple[str, _Server]) -> None:
    base, _ = server
    assert GuardedSession(base + "/", 5).base_url == base


def test_an_ordinary_answer_comes_back_whole(server: tuple[str, _Server]) -> None:
    base, state = server
    state.answers.append((200, {}, [b'{"a": ', b"1}"], 0.0))
    response = _session(base).request("GET", base + "/api/v4/x", {"page": "2"})
    assert response.json() == {"a": 1}
    assert state.paths == ["/api/v4/x?page=2"]  # positional arguments reach requests


def test_another_host_is_refused_before_anything_is_sent(server: tuple[str, _Server]) -> None:
    base, state = server
    with pytest.raises(ForeignHost, match=r"another host than http://127\.0\.0\.1"):
        _session(base).request("GET", "http://example.invalid/api/v4/x")
    assert state.paths == []


def test_no_proxy_or_netrc_from_the_environment(server: tuple[str, _Server],
                                                monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    """A proxy variable of the job's environment would see the token: it is ignored."""
    base, state = server
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    assert _session(base).request("GET", base + "/api/v4/x").status_code == 200
    assert state.paths == ["/api/v4/x"]


@pytest.mark.parametrize("status", [300, 301, 302, 307, 308, 399])
def test_every_3xx_is_refused_and_named(server: tuple[str, _Server], status: int) -> None:
    base, state = server
    state.answers.append((status, {"Location": "http://evil.example/steal"}, [], 0.0))
    with pytest.raises(Redirected) as raised:
        _session(base).request("GET", base + "/api/v4/x")
    assert str(raised.value) == (f"GitLab answered {status} with a redirect to "
                                 "http://evil.example/steal, which relbot does not follow "
                                 "with its token")
    assert state.paths == ["/api/v4/x"]  # not followed


def test_a_redirect_without_a_location_says_so_plainly(server: tuple[str, _Server]) -> None:
    base, state = server
    state.answers.append((300, {}, [], 0.0))
    with pytest.raises(Redirected) as raised:
        _session(base).request("GET", base + "/api/v4/x")
    assert str(raised.value) == ("GitLab answered 300 with a redirect, which relbot does not "
                                 "follow with its token")


def test_a_400_is_an_answer_not_a_redirect(server: tuple[str, _Server]) -> None:
    base, state = server
    state.answers.append((400, {"Location": "http://evil.example/"}, [b"{}"], 0.0))
    assert _session(base).request("GET", base + "/api/v4/x").status_code == 400


def test_an_answer_over_the_size_bound_is_refused(server: tuple[str, _Server],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted over all the pieces of the body, not piece by piece."""
    base, state = server
    monkeypatch.setattr(guard, "MAX_BODY", 100_000)
    state.answers.append((200, {}, [b"x" * 40_000] * 3, 0.0))
    with pytest.raises(GuardError) as raised:
        _session(base).request("GET", base + "/api/v4/x")
    assert str(raised.value) == "GitLab's answer was larger than 100000 bytes"
    state.answers.append((200, {}, [b"x" * 50_000] * 2, 0.0))  # exactly the bound: fine
    assert len(_session(base).request("GET", base + "/api/v4/x").content) == 100_000


def test_a_compressed_answer_is_read_decompressed(server: tuple[str, _Server]) -> None:
    base, state = server
    state.answers.append((200, {"Content-Encoding": "gzip"}, [gzip.compress(b'{"a": 1}')],
                          0.0))
    assert _session(base).request("GET", base + "/api/v4/x").json() == {"a": 1}


def test_a_body_that_comes_too_slowly_ends_at_the_deadline(
        server: tuple[str, _Server]) -> None:
    base, state = server
    state.answers.append((200, {}, [b"x"] * 20, 0.1))  # two seconds in all
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as raised:
        _session(base, timeout=0.6).request("GET", base + "/api/v4/x")
    assert str(raised.value) == "the answer's body came too slowly"
    assert time.monotonic() - started < 1.8


def test_less_than_a_second_left_is_still_time(server: tuple[str, _Server]) -> None:
    base, _ = server
    assert _session(base, timeout=0.8).request("GET", base + "/api/v4/x").status_code == 200


def test_no_request_starts_after_the_deadline(server: tuple[str, _Server]) -> None:
    base, state = server
    session = _session(base, timeout=0.2)
    time.sleep(0.3)
    with pytest.raises(DeadlineExceeded) as raised:
        session.request("GET", base + "/api/v4/x")
    assert str(raised.value) == "the deadline passed"
    assert state.paths == []


def test_an_answer_slower_than_the_deadline_times_out(server: tuple[str, _Server]) -> None:
    """Each request's own timeout is what is left: a server that answers late is not
    waited for (the answer comes after two seconds, the deadline is half a second)."""
    base, state = server
    state.head_pause = 2.0
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        _session(base, timeout=0.5).request("GET", base + "/api/v4/x")
    assert time.monotonic() - started < 1.5


def test_the_request_budget_of_an_operation(server: tuple[str, _Server],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    base, _ = server
    monkeypatch.setattr(guard, "MAX_REQUESTS", 3)
    session = _session(base)
    for _ in range(3):
        assert session.request("GET", base + "/api/v4/x").status_code == 200
    with pytest.raises(TooManyRequests, match="after 3 requests"):
        session.request("GET", base + "/api/v4/x")
    session.start()  # the next operation has its own budget
    assert session.request("GET", base + "/api/v4/x").status_code == 200


def test_429_is_waited_out_three_times_then_refused(server: tuple[str, _Server]) -> None:
    base, state = server
    state.answers += [(429, {"Retry-After": "0"}, [], 0.0)] * 3
    assert _session(base).request("GET", base + "/api/v4/x").status_code == 200
    assert len(state.paths) == 4
    state.answers += [(429, {"Retry-After": "0"}, [], 0.0)] * 4
    with pytest.raises(RateLimited):
        _session(base).request("GET", base + "/api/v4/x")


def test_a_429_without_a_readable_wait_waits_one_second(server: tuple[str, _Server]) -> None:
    base, state = server
    state.answers.append((429, {}, [], 0.0))
    started = time.monotonic()
    assert _session(base, timeout=1.6).request("GET", base + "/api/v4/x").status_code == 200
    assert 0.9 < time.monotonic() - started < 1.6
    state.answers.append((429, {"Retry-After": "5"}, [], 0.0))
    with pytest.raises(RateLimited) as raised:
        _session(base, timeout=1.6).request("GET", base + "/api/v4/x")
    assert str(raised.value) == ("GitLab asked relbot to wait 5 s (429 Too Many Requests), "
                                 "longer than gitlab_timeout (1.6 s) leaves")


def test_retry_after_as_seconds_or_as_a_date_in_any_zone(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """An HTTP date is UTC even without a zone (RFC 9110, 5.6.7), whatever the machine's."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        now = 1_792_567_620.0  # Wed, 21 Oct 2026 07:27:00 UTC
        assert retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT", now=now) == 60.0
        assert retry_after_seconds("Wed, 21 Oct 2026 07:28:00 -0000", now=now) == 60.0
        assert retry_after_seconds(" 7 ") == 7.0
        assert retry_after_seconds("soon") is None
        assert retry_after_seconds(None) is None
        assert retry_after_seconds("Wed, 21 Oct 2026 07:26:00 GMT", now=now) == 0.0
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_new_session_has_a_budget_and_a_deadline_before_any_start(
        server: tuple[str, _Server], monkeypatch: pytest.MonkeyPatch) -> None:
    """A request before the first operation starts is bounded too."""
    base, _ = server
    monkeypatch.setattr(guard, "MAX_REQUESTS", 3)
    session = GuardedSession(base, 5.0)
    for _ in range(3):
        assert session.request("GET", base + "/api/v4/x").status_code == 200
    with pytest.raises(TooManyRequests):
        session.request("GET", base + "/api/v4/x")
    late = GuardedSession(base, 0.2)
    time.sleep(0.3)
    with pytest.raises(DeadlineExceeded):
        late.request("GET", base + "/api/v4/x")
