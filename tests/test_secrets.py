"""relbot's own masking (relbot.secrets): what it hides, in messages and in log records.

The end-to-end token tests elsewhere show that no token reaches the output;
several of them would pass without relbot's masking because git and
python-gitlab hide credentials themselves. These tests fail when relbot's own
masking, or its logging filter, stops working.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from relbot import secrets
from relbot.cli import cli
from relbot.secrets import MASK, MaskingFilter, install_logging_filter, mask, register
from tests.conftest import Repo

TOKEN = "glpat-relbot-own-masking-42"

pytestmark = pytest.mark.reliability("Secrets")


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no registered secrets and leaves none behind."""
    monkeypatch.setattr(secrets, "_registered", set())


def test_a_registered_token_is_masked_wherever_it_appears() -> None:
    """Every occurrence, also inside a word or a URL path, becomes the mask."""
    register(TOKEN)
    text = f"PRIVATE-TOKEN: {TOKEN}; https://gitlab.example/{TOKEN}/x?t={TOKEN}"
    assert mask(text) == f"PRIVATE-TOKEN: {MASK}; https://gitlab.example/{MASK}/x?t={MASK}"


def test_the_longest_secret_is_masked_first() -> None:
    """A secret that contains another is masked whole, not left half shown."""
    register("abcd")
    register("abcd-efgh-ijkl")
    assert mask("x abcd-efgh-ijkl y abcd") == f"x {MASK} y {MASK}"
    register("zzzz")  # sorts after the longer one that contains it: length decides, not order
    register("aaaa-zzzz")
    assert mask("aaaa-zzzz") == MASK


def test_short_or_empty_values_are_not_secrets() -> None:
    """An empty variable or a three-letter value would mask ordinary words."""
    for value in (None, "", "abc"):
        register(value)
    assert mask("abc and more") == "abc and more"


@pytest.mark.parametrize(("url", "shown"), [
    ("https://oauth2:glpat-x@gitlab.example/k8s.git", f"https://{MASK}@gitlab.example/k8s.git"),
    ("http://relbot:hunter2@127.0.0.1:9/k8s.git", f"http://{MASK}@127.0.0.1:9/k8s.git"),
    ("git+ssh://deploy@host/x", f"git+ssh://{MASK}@host/x"),
])
def test_url_credentials_are_masked_without_registration(url: str, shown: str) -> None:
    """Credentials in any URL are hidden, whether or not relbot knows them."""
    assert mask(f"cannot reach {url} now") == f"cannot reach {shown} now"


def test_text_without_secrets_is_unchanged() -> None:
    """Masking touches nothing else: an e-mail address or a plain URL stays as it is."""
    register(TOKEN)
    text = "mail maria@example.org about https://gitlab.example/yaook/k8s/-/merge_requests/1"
    assert mask(text) == text


def test_environment_tokens_are_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual token variables, and extra ones a command names, are masked."""
    monkeypatch.setenv("RELBOT_GITLAB_TOKEN", TOKEN)
    monkeypatch.setenv("CI_JOB_TOKEN", "job-token-5678")
    monkeypatch.setenv("RELBOT_MR_TOKEN", "mr-token-9012")
    secrets.register_environment(("RELBOT_MR_TOKEN",))
    assert mask(f"{TOKEN} job-token-5678 mr-token-9012") == f"{MASK} {MASK} {MASK}"


@pytest.fixture
def root_handler() -> Iterator[io.StringIO]:
    """A handler on the root logger that formats records into a string, removed afterwards
    together with every masking filter the test installed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level, filters = root.level, list(root.filters)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        root.filters[:] = filters


def test_logging_filter_masks_a_library_record(root_handler: io.StringIO) -> None:
    """A library logger (as urllib3 logs a request) formats through relbot's filter: the token
    in its arguments and the credentials in its URL never reach the handler's output."""
    register(TOKEN)
    install_logging_filter()
    logging.getLogger("urllib3.connectionpool").debug(
        "%s %s headers=%r", "GET", "https://relbot:pw@gitlab.example/api/v4/user",
        {"PRIVATE-TOKEN": TOKEN})
    written = root_handler.getvalue()
    assert TOKEN not in written and ":pw@" not in written
    assert written == ("DEBUG urllib3.connectionpool: GET https://*****@gitlab.example/api/v4/"
                       "user headers={'PRIVATE-TOKEN': '*****'}\n")


def test_logging_filter_masks_the_message_itself(root_handler: io.StringIO) -> None:
    """A token in the message text itself is masked, by the filter alone and by each root
    handler it was installed on (records of child loggers reach only those)."""
    register(TOKEN)
    install_logging_filter()
    record = logging.LogRecord("gitlab", logging.WARNING, __file__, 1,
                               f"token {TOKEN} refused", None, None)
    assert MaskingFilter().filter(record) is True  # masked, never dropped
    assert record.getMessage() == f"token {MASK} refused"
    for handler in logging.getLogger().handlers:
        handler.handle(logging.LogRecord("gitlab", logging.WARNING, __file__, 1,
                                         f"token {TOKEN} refused", None, None))
    assert root_handler.getvalue() == f"WARNING gitlab: token {MASK} refused\n"


def test_a_cli_error_quoting_the_token_is_masked(monkeypatch: pytest.MonkeyPatch,
                                                 yaook_repo: Repo) -> None:
    """git's error names a remote whose path holds the token (git hides only credentials): the
    message relbot prints has it masked, with and without --debug's traceback."""
    monkeypatch.setenv("RELBOT_GITLAB_TOKEN", TOKEN)
    yaook_repo.git("remote", "set-url", "origin", f"http://127.0.0.1:9/{TOKEN}/k8s.git")
    for debug in ([], ["--debug"]):
        result = CliRunner().invoke(cli, ["cut", "--yes", "-C", str(yaook_repo.path), *debug],
                                    catch_exceptions=False)
        assert result.exit_code == 1, result.output
        assert TOKEN not in result.output + result.stderr
        assert (f"unable to access 'http://127.0.0.1:9/{MASK}/k8s.git/'"
                in result.stderr.splitlines()[-1])


def test_logging_filter_masks_records_of_the_root_logger(root_handler: io.StringIO) -> None:
    """A record logged on the root logger itself is masked by the filter on that logger, also
    for a handler added after the filter was installed."""
    register(TOKEN)
    install_logging_filter()
    late = io.StringIO()
    handler = logging.StreamHandler(late)
    logging.getLogger().addHandler(handler)
    try:
        logging.getLogger().warning("retrying with %s", TOKEN)
    finally:
        logging.getLogger().removeHandler(handler)
    assert late.getvalue() == f"retrying with {MASK}\n"
