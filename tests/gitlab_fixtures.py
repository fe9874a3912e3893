"""pytest fixtures for the GitLab stand-in (registered by ``tests/conftest.py``).

Besides the stand-in itself: ``mr``, a repository whose branch is the source of
a merge request in the stand-in, and ``release_repo``, a repository whose
releases the stand-in publishes; the GitLab tests of relbot build on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import gitlab
import pytest

from relbot.gitlab_standin import GitLabStandIn, MergeRequest, Scenario
from relbot.gitlab_standin.permissions import MAINTAINER
from relbot.gitlab_standin.state import Discussion
from tests.conftest import Repo, Run, make_repo, run, yaook_like_files

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


FRAGMENTS = "docs/_releasenotes"
TIMEOUT = 2  # gitlab_timeout in the test repositories, in seconds (a Retry-After: 1 fits)
DATE = "2024-10-01"


def cast(standin: GitLabStandIn) -> Scenario:
    """The seeded scenario of ``standin``."""
    assert standin.scenario is not None
    return standin.scenario


def relbot_toml(extra: str = "") -> str:
    """The Yaook/K8s-like configuration with ``forge = "gitlab"`` and a 1 s timeout."""
    toml = yaook_like_files()["relbot.toml"]
    assert 'forge = "none"' in toml
    return toml.replace('forge = "none"',
                        f'forge = "gitlab"\ngitlab_timeout = {TIMEOUT}\n{extra}'.rstrip())


# -- merge requests -------------------------------------------------------------------------


@dataclass
class MrRepo:
    """A repository whose branch is the source of a merge request in the stand-in."""

    repo: Repo
    base: str
    standin: GitLabStandIn
    mr: MergeRequest

    def commit(self, files: dict[str, str], message: str = "Change") -> str:
        """Commit ``files`` on the MR branch."""
        for path, text in files.items():
            self.repo.write(path, text)
        return self.repo.commit_all(message)

    def check(self, *args: str) -> Run:
        """``relbot mr check`` in the repository, as the MR pipeline runs it."""
        return run(["mr", "check", *args], self.repo.path)

    def discussions(self) -> list[Discussion]:
        """The MR's discussions as the stand-in stores them."""
        return self.standin.discussions(self.mr)

    def relbot_threads(self) -> list[Discussion]:
        """The discussions the bot started."""
        bot = cast(self.standin).bot.id
        return [d for d in self.discussions() if d.notes[0].author_id == bot]

    def writes(self) -> list[tuple[str, str]]:
        """(method, path after the MR) of every request that is not a read."""
        return [(r.method, r.path.split(f"/merge_requests/{self.mr.iid}", 1)[-1])
                for r in self.standin.requests.all() if r.method != "GET"]


def ci(monkeypatch: pytest.MonkeyPatch, standin: GitLabStandIn, mr: MergeRequest, base: str,
       *, token: str | None = None, job_token: str | None = None) -> None:
    """Set the variables of ``mr``'s pipeline, with the real base commit of the test branch."""
    env = standin.ci_environment(mr, token=token, job_token=job_token)
    env["CI_MERGE_REQUEST_DIFF_BASE_SHA"] = base
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def mr_repo(tmp_path: Path, standin: GitLabStandIn, monkeypatch: pytest.MonkeyPatch, *,
            fork: bool = False, token: bool = True, job_token: bool = True) -> MrRepo:
    """A Yaook/K8s-like repository on the MR's source branch, in the MR's CI environment."""
    scenario = cast(standin)
    files = yaook_like_files()
    files["relbot.toml"] = relbot_toml()
    repo = make_repo(tmp_path, files)
    base = repo.git("rev-parse", "HEAD")
    mr = scenario.fork_mr if fork else scenario.mr
    repo.git("checkout", "-q", "-b", mr.source_branch)
    repo.write("roles/thing.yaml", "thing: 1\n")
    repo.commit_all("Add a thing")
    ci(monkeypatch, standin, mr, base, token=scenario.bot_token if token else None,
       job_token=scenario.job_token if job_token else None)
    return MrRepo(repo, base, standin, mr)


@pytest.fixture
def mr(tmp_path: Path, gitlab_standin: GitLabStandIn,
       monkeypatch: pytest.MonkeyPatch) -> MrRepo:
    """A same-project MR (!1) without a fragment yet, with the bot's token and a job token."""
    return mr_repo(tmp_path, gitlab_standin, monkeypatch)


def fragment(iid: int | str = 1, text: str = "A new thing.\n") -> dict[str, str]:
    """A feature fragment of MR ``iid``."""
    return {f"{FRAGMENTS}/{iid}.feature.thing": text}


# -- relbot cut ---------------------------------------------------------------------------


@dataclass
class CutRepo:
    """A repository on main with a pending fragment, published through the stand-in."""

    repo: Repo
    standin: GitLabStandIn
    project_path: str

    def cut(self, *args: str) -> Run:
        """``relbot cut --yes`` with a fixed date."""
        return run(["cut", "--yes", "--date", DATE, *args], self.repo.path)

    def releases(self) -> list[str]:
        """Tag names of the project's releases in the stand-in."""
        project = self.standin.state.project(self.project_path)
        return [r.tag_name for r in self.standin.state.list_releases(project)]

    def history(self) -> tuple[str, str, str]:
        """Commits on main, tags, and the remote's refs: what a rerun must not change."""
        return (self.repo.git("log", "--format=%H %s", "main"), self.repo.git("tag", "-l"),
                self.repo.refs(self.repo.remote))


@pytest.fixture
def release_repo(tmp_path: Path, gitlab_standin: GitLabStandIn,
                 monkeypatch: pytest.MonkeyPatch) -> CutRepo:
    """A Yaook/K8s-like repository at 8.0.2 with one feature fragment; its bare remote backs
    the stand-in project ``yaook/k8s-releases`` (private), and RELBOT_RELEASE_TOKEN is the
    release bot's (a Maintainer of that project, scopes api and write_repository)."""
    files = yaook_like_files()
    path = "yaook/k8s-releases"
    files["relbot.toml"] = relbot_toml(f'gitlab_url = "{gitlab_standin.url}"\n'
                                       f'gitlab_project = "{path}"')
    files.update(fragment(1500))
    repo = make_repo(tmp_path, files)
    project = gitlab_standin.add_project(path, repository=repo.remote)
    gitlab_standin.add_member(project, cast(gitlab_standin).release_bot, MAINTAINER)
    monkeypatch.setenv("RELBOT_RELEASE_TOKEN", cast(gitlab_standin).release_token)
    return CutRepo(repo, gitlab_standin, path)


class _OutsideCode(HTMLParser):
    """Collects the text and tags of rendered HTML that are not inside <code>."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.outside: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "code":
            self.depth += 1
        elif self.depth == 0:
            self.outside.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth == 0:
            self.outside.append(data)


def outside_code(html: str) -> str:
    """The text and tags of ``html`` outside <code>, where GitLab would resolve a mention."""
    parser = _OutsideCode()
    parser.feed(html)
    return "".join(parser.outside)
