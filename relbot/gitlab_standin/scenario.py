"""The usual cast for tests and ``relbot demo``: a bot, people, a project, a fork, two MRs.

Token values are fixed so that a human can paste them into ``curl``; they are
fakes that only this stand-in accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from relbot.gitlab_standin.permissions import DEVELOPER, MAINTAINER, OWNER
from relbot.gitlab_standin.state import MergeRequest, Project, User

if TYPE_CHECKING:
    from relbot.gitlab_standin.server import GitLabStandIn

BOT_TOKEN = "glpat-standin-relbot-bot"  # noqa: S105 - a fake only the stand-in accepts
RELEASE_TOKEN = "glpat-standin-relbot-release"  # noqa: S105 - a fake only the stand-in accepts
MAINTAINER_TOKEN = "glpat-standin-maria"  # noqa: S105 - a fake only the stand-in accepts
CONTRIBUTOR_TOKEN = "glpat-standin-carl"  # noqa: S105 - a fake only the stand-in accepts
JOB_TOKEN = "glcbt-standin-job"  # noqa: S105 - a fake only the stand-in accepts


@dataclass(frozen=True)
class Scenario:
    """What :func:`seed_scenario` created.

    * ``project``: ``yaook/k8s`` (public), ``fork``: ``carl/k8s``, a fork of it;
    * ``bot``: the bot user of a project access token of ``project``, as GitLab
      names it (``project_<id>_bot_relbot``), with ``bot_token``: role Developer,
      scope ``api``, what the MR check's token needs (docs/ci.md);
    * ``release_bot``: the release token's bot user, role Maintainer, scopes
      ``api`` and ``write_repository``, with ``release_token``;
    * ``maintainer`` (maria, Maintainer) and ``contributor`` (carl, no role in the
      project, Owner of his fork), each with a personal token;
    * ``job_token``: a CI/CD job token of a pipeline maria started;
    * ``mr``: ``yaook/k8s!1`` by maria from a branch of the project itself;
    * ``fork_mr``: ``yaook/k8s!2`` by carl from his fork, labelled ``community``.
    """

    project: Project
    fork: Project
    bot: User
    bot_token: str
    release_bot: User
    release_token: str
    maintainer: User
    maintainer_token: str
    contributor: User
    contributor_token: str
    job_token: str
    mr: MergeRequest
    fork_mr: MergeRequest


def seed_scenario(standin: GitLabStandIn) -> Scenario:
    """Create the usual cast in ``standin``."""
    project = standin.add_project("yaook/k8s", name="k8s", visibility="public",
                                  description="Yaook Kubernetes")
    bot = standin.add_user(f"project_{project.id}_bot_relbot", name="relbot", bot=True)
    release_bot = standin.add_user(f"project_{project.id}_bot_relbot_release",
                                   name="relbot release", bot=True)
    maintainer = standin.add_user("maria", name="Maria Maintainer")
    contributor = standin.add_user("carl", name="Carl Contributor")
    fork = standin.add_project("carl/k8s", name="k8s", visibility="public", forked_from=project)
    standin.add_member(project, bot, DEVELOPER)
    standin.add_member(project, release_bot, MAINTAINER)
    standin.add_member(project, maintainer, MAINTAINER)
    standin.add_member(fork, contributor, OWNER)
    mr = standin.add_merge_request(project, author=maintainer, title="Add a feature",
                                   source_branch="feature/upgrade", labels=["feature"])
    fork_mr = standin.add_merge_request(project, author=contributor, title="Fix a typo",
                                        source_project=fork, source_branch="fix-typo",
                                        labels=["community"])
    return Scenario(
        project=project,
        fork=fork,
        bot=bot,
        bot_token=standin.add_token(bot, BOT_TOKEN, kind="project"),
        release_bot=release_bot,
        release_token=standin.add_token(release_bot, RELEASE_TOKEN, kind="project",
                                        scopes=("api", "write_repository")),
        maintainer=maintainer,
        maintainer_token=standin.add_token(maintainer, MAINTAINER_TOKEN),
        contributor=contributor,
        contributor_token=standin.add_token(contributor, CONTRIBUTOR_TOKEN),
        job_token=standin.add_job_token(maintainer, JOB_TOKEN),
        mr=mr,
        fork_mr=fork_mr,
    )
