"""A stateful GitLab REST v4 stand-in served over HTTP on 127.0.0.1.

The test suite and ``relbot demo`` talk to it instead of a GitLab, through
python-gitlab exactly as relbot talks to GitLab. Its responses are shaped after
the examples in GitLab's API documentation (kept in ``fixtures/``); it checks
tokens, enforces GitLab's documented roles per endpoint, protected tags and the
CI/CD job token's allowlist (``permissions.py``, each rule citing its page),
GitLab's size limits, paginates with ``Link``
headers, keeps notes in discussions (resolvable threads, or individual notes)
as GitLab does, and fails on request (500, 502 after the write was committed,
429 with ``Retry-After``, hangs, connection resets). It does not import python-gitlab:
the client is what is under test.

    with GitLabStandIn() as gitlab:
        cast = gitlab.seed_scenario()
        client = gitlab_client(gitlab.url, private_token=cast.bot_token)
        ...
        gitlab.faults.error_after_commit(502, method="POST", path="/notes$")
        assert gitlab.requests.count("POST", "/notes$") == 1
"""

from relbot.gitlab_standin.api import JOB_TOKEN_WRITES
from relbot.gitlab_standin.documented import documented_example, documented_source
from relbot.gitlab_standin.faults import Fault, FaultPlan
from relbot.gitlab_standin.requestlog import RequestLog, RequestRecord
from relbot.gitlab_standin.scenario import Scenario
from relbot.gitlab_standin.server import GitLabStandIn
from relbot.gitlab_standin.state import (
    ApiError,
    Commit,
    Discussion,
    MergeRequest,
    Note,
    Project,
    Release,
    State,
    Tag,
    User,
)

__all__ = [
    "JOB_TOKEN_WRITES",
    "ApiError",
    "Commit",
    "Discussion",
    "Fault",
    "FaultPlan",
    "GitLabStandIn",
    "MergeRequest",
    "Note",
    "Project",
    "Release",
    "RequestLog",
    "RequestRecord",
    "Scenario",
    "State",
    "Tag",
    "User",
    "documented_example",
    "documented_source",
]
