"""The CI environment as one value: the only place relbot reads GitLab CI's variables.

The command layer builds a :class:`CiEnv` from ``os.environ`` once and passes it
down; the core never reads the environment itself. Everything here is input
from the pipeline, and much of it from the merge request (its title, its
branch names, its labels): it is data, never a URL or a variable name to
follow, except ``CI_SERVER_URL``, which the runner sets and which is where
tokens may go.

Variables, as GitLab documents them ("Predefined CI/CD variables reference",
https://docs.gitlab.com/ci/variables/predefined_variables/):
``CI_MERGE_REQUEST_EVENT_TYPE`` is ``detached``, ``merged_result`` or
``merge_train``; ``CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`` is "the HEAD SHA of the
source branch of the merge request", set only in merged results pipelines
(there the job's commit is GitLab's temporary merge commit, not the MR's head).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field

MERGED_EVENTS = ("merged_result", "merge_train")


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value else None


@dataclass(frozen=True)
class CiEnv:
    """What GitLab CI says about the job (all ``None`` outside CI)."""

    in_ci: bool = False
    server_url: str | None = None
    project_id: str | None = None
    project_url: str | None = None
    default_branch: str | None = None
    commit_branch: str | None = None
    commit_sha: str | None = None
    mr_iid: str | None = None
    mr_project_id: str | None = None
    mr_source_project_id: str | None = None
    mr_source_project_url: str | None = None
    mr_source_branch: str | None = None
    mr_source_branch_sha: str | None = None
    mr_target_branch: str | None = None
    mr_diff_base_sha: str | None = None
    mr_event_type: str | None = None
    mr_title: str | None = None
    mr_labels: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> CiEnv:
        """Read GitLab CI's predefined variables from ``env`` (``os.environ``)."""
        labels = tuple(label.strip() for label in
                       (env.get("CI_MERGE_REQUEST_LABELS") or "").split(",") if label.strip())
        return cls(
            in_ci=(env.get("GITLAB_CI") == "true" or env.get("CI") == "true"),
            server_url=_get(env, "CI_SERVER_URL"),
            project_id=_get(env, "CI_PROJECT_ID"),
            project_url=_get(env, "CI_PROJECT_URL"),
            default_branch=_get(env, "CI_DEFAULT_BRANCH"),
            commit_branch=_get(env, "CI_COMMIT_BRANCH"),
            commit_sha=_get(env, "CI_COMMIT_SHA"),
            mr_iid=_get(env, "CI_MERGE_REQUEST_IID"),
            mr_project_id=_get(env, "CI_MERGE_REQUEST_PROJECT_ID"),
            mr_source_project_id=_get(env, "CI_MERGE_REQUEST_SOURCE_PROJECT_ID"),
            mr_source_project_url=_get(env, "CI_MERGE_REQUEST_SOURCE_PROJECT_URL"),
            mr_source_branch=_get(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"),
            mr_source_branch_sha=_get(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"),
            mr_target_branch=_get(env, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
            mr_diff_base_sha=_get(env, "CI_MERGE_REQUEST_DIFF_BASE_SHA"),
            mr_event_type=_get(env, "CI_MERGE_REQUEST_EVENT_TYPE"),
            mr_title=_get(env, "CI_MERGE_REQUEST_TITLE"),
            mr_labels=labels,
            environ=types.MappingProxyType(dict(env)),
        )

    @property
    def merged_result(self) -> bool:
        """A merged-results or merge-train pipeline: the job runs on a temporary merge."""
        return self.mr_event_type in MERGED_EVENTS

    @property
    def mr_project(self) -> str | None:
        """The MR's (target) project, else the job's project."""
        return self.mr_project_id or self.project_id
