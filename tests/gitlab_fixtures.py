"""pytest fixtures for the GitLab stand-in (registered by ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import gitlab
import pytest

from relbot.gitlab_standin import GitLabStandIn

CLIENT_TIMEOUT = 2.0  # seconds; every stand-in answer is local, so this is generous


@pytest.fixture
def gitlab_standin() -> Iterator[GitLabStandIn]:
    """A running GitLab stand-in seeded with the usual cast (``gitlab_standin.scenario``).

    Hung requests are bounded at 3 s and released when the test ends.
    """
    with GitLabStandIn(max_hang=3.0) as standin:
        standin.seed_scenario()
        yield standin


@pytest.fixture
def gitlab_client(gitlab_standin: GitLabStandIn) -> gitlab.Gitlab:
    """python-gitlab pointed at the stand-in with the bot's token, no retries, a 2 s timeout."""
    scenario = gitlab_standin.scenario
    assert scenario is not None
    return gitlab.Gitlab(gitlab_standin.url, private_token=scenario.bot_token,
                         timeout=CLIENT_TIMEOUT, retry_transient_errors=False)
