"""relbot's own release push carries the release token as git's HTTP header, and only to
the GitLab the job runs on (``CI_SERVER_URL``), so the release component sets no header.

A local HTTP server stands for the GitLab host: it records the ``Authorization``
header git sends with its first request and refuses the push (403), which is all
these tests need to see where the token goes.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from relbot.forge.credentials import Token, push_auth_env
from tests.conftest import Repo, git, run
from tests.test_cut import add_fragments

TOKEN = "glpat-release-push-1234"


class Recorder(ThreadingHTTPServer):
    """An HTTP server that notes each request's path and Authorization header."""

    seen: list[tuple[str, str | None]]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.server, Recorder)
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def gitlab_host() -> Iterator[Recorder]:
    server = Recorder(("127.0.0.1", 0), _Handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url(server: Recorder) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def pushing_to(repo: Repo, server: Recorder) -> None:
    """Fetch from the bare remote, push to the HTTP host (as the component's job does)."""
    add_fragments(repo, {"1500.feature.thing": "A new thing.\n"})
    repo.git("remote", "set-url", "--push", "origin", f"{url(server)}/yaook/k8s.git")


@pytest.mark.reliability("Secrets")
def test_the_release_push_sends_the_token_to_the_ci_server(
        yaook_repo: Repo, gitlab_host: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI_SERVER_URL is the push URL's host: git sends the token as Basic oauth2:<token>,
    and the token is in no output."""
    pushing_to(yaook_repo, gitlab_host)
    monkeypatch.setenv("CI_SERVER_URL", url(gitlab_host))
    monkeypatch.setenv("RELBOT_RELEASE_TOKEN", TOKEN)
    result = run(["cut", "--yes"], yaook_repo.path)
    assert result.code == 1, result.out + result.err
    assert TOKEN not in result.out + result.err
    headers = {header for _, header in gitlab_host.seen}
    assert headers == {"Basic " + base64.b64encode(f"oauth2:{TOKEN}".encode()).decode()}
    assert git(yaook_repo.remote, "tag", "--list") == ""


@pytest.mark.reliability("Secrets")
@pytest.mark.parametrize("server", ["http://127.0.0.1:1", "https://{host}", None],
                         ids=["other-port", "other-scheme", "outside-ci"])
def test_the_token_goes_to_no_other_host(yaook_repo: Repo, gitlab_host: Recorder,
                                         monkeypatch: pytest.MonkeyPatch,
                                         server: str | None) -> None:
    """A push URL that is not CI_SERVER_URL's scheme, host and port gets no header."""
    pushing_to(yaook_repo, gitlab_host)
    if server is None:
        monkeypatch.delenv("CI_SERVER_URL", raising=False)
    else:
        monkeypatch.setenv("CI_SERVER_URL", server.format(
            host=f"127.0.0.1:{gitlab_host.server_address[1]}"))
    monkeypatch.setenv("RELBOT_RELEASE_TOKEN", TOKEN)
    result = run(["cut", "--yes"], yaook_repo.path)
    assert result.code == 1, result.out + result.err
    assert gitlab_host.seen, "git did not reach the host"
    assert {header for _, header in gitlab_host.seen} == {None}


def test_push_auth_env_rules() -> None:
    """Same scheme, host and port (default ports count), no credentials of its own."""
    token = Token(TOKEN, "RELBOT_RELEASE_TOKEN", "release")
    server = "https://gitlab.example"
    assert push_auth_env("https://gitlab.example/yaook/k8s.git", server, token)[
        "GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert push_auth_env("https://gitlab.example:443/yaook/k8s.git", server, token)
    for other in ("https://gitlab.example.evil/yaook/k8s.git",
                  "http://gitlab.example/yaook/k8s.git",
                  "https://gitlab.example:8443/yaook/k8s.git",
                  "https://gitlab-ci-token:job@gitlab.example/yaook/k8s.git",
                  "git@gitlab.example:yaook/k8s.git", "/srv/git/k8s.git",
                  "https://gitlab.example:x/k8s.git"):
        assert push_auth_env(other, server, token) == {}, other
    assert push_auth_env("https://gitlab.example/yaook/k8s.git", server, None) == {}
    assert push_auth_env("https://gitlab.example/yaook/k8s.git", None, token) == {}


@pytest.mark.reliability("Secrets")
def test_cut_all_pushes_with_the_token_too(
        yaook_repo: Repo, gitlab_host: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    """cut --all pushes each component's release as cut does: the token as git's header, to
    the CI server only."""
    pushing_to(yaook_repo, gitlab_host)
    monkeypatch.setenv("CI_SERVER_URL", url(gitlab_host))
    monkeypatch.setenv("RELBOT_RELEASE_TOKEN", TOKEN)
    result = run(["cut", "--all", "--yes"], yaook_repo.path)
    assert result.code == 1, result.out + result.err
    assert TOKEN not in result.out + result.err
    headers = {header for _, header in gitlab_host.seen}
    assert headers == {"Basic " + base64.b64encode(f"oauth2:{TOKEN}".encode()).decode()}
