"""``relbot mr check`` from end to end: trusted configuration, check, fix, JUnit, comment.

This is where the trust boundary of the MR pipeline is drawn (``docs/security.md``):
the configuration, towncrier's configuration and template and the policies are
read from the MR's base commit through a ``relbot.tree.GitTree``, never from
the work tree the MR controls; the token is chosen by that trusted
configuration and goes only to the GitLab the job runs on. Kept apart from
``relbot.mr`` (the checks themselves) so that the checks stay free of GitLab
and files, and apart from the CLI so that no logic lives there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from relbot.ci_env import CiEnv
from relbot.config import Config, load_config
from relbot.errors import ConfigError, ForgeError
from relbot.git import GitRepo
from relbot.mr import MergeRequest, MrReport, check_mr, fix_fragments, require_commit
from relbot.project import Project

if TYPE_CHECKING:
    from relbot.forge import PrefetchedNotes
    from relbot.forge.credentials import Token
    from relbot.forge.gitlab import GitLabMergeRequests
    from relbot.tree import Tree

DEFAULT_TOKEN_VARIABLE = "RELBOT_GITLAB_TOKEN"  # noqa: S105 - a name, not a token


def run_mr_check(root: Path, component: str | None, *, fix: bool, junit: Path | None,
                 comment: bool, iid: int | None, base: str | None,
                 ci: CiEnv | None = None) -> tuple[MrReport, str]:
    """Run the check; returns the report and one line on what happened to the comment."""
    from relbot.forge.credentials import resolve_token
    from relbot.tree import GitTree

    ci = ci if ci is not None else CiEnv.from_environ(os.environ)
    root = root.resolve()
    git = GitRepo(root)
    mr = MergeRequest.from_ci(ci, iid=iid, base=base)
    require_commit(git, mr.base, "base commit")
    base_sha = git.rev(mr.base) or mr.base
    # The target branch's files, read through the clone's one cat-file --batch.
    with GitTree(git.root, base_sha, git.read_blob, git.tree_entries) as trusted:
        config = trusted_config(git.root, trusted, base_sha)
        names = [component] if component else [c.name for c in config.components]
        projects = [Project(git.root, name, config, steering=trusted, git=git)
                    for name in names]
        token = resolve_token(ci.environ, "mr", token_variable(config))
        # GitLab's answers to the comment's two look-ups come in while the check runs.
        notes = _notes_forge(config, ci, token, mr.iid) \
            if comment and config.forge == "gitlab" else None
        fixed = fix_fragments(projects, mr, git, token, ci.server_url) if fix else None
        from relbot.comment import PREVIEW_ENTRIES

        # The notes are rendered for the comment only, as far as its preview shows them.
        report = check_mr(config, projects, mr, git, fixed=fixed,
                          preview=isinstance(notes, tuple), preview_entries=PREVIEW_ENTRIES)
    if junit is not None:  # written only now, with the real verdict
        from relbot.junit import write_junit

        write_junit(report, junit, git.root)
    if not comment:
        return report, "comment: not posted (--no-comment)."
    if notes is None:
        return report, "comment: not posted (forge = \"none\")."
    return report, _comment(report, notes)


def trusted_config(root: Path, trusted: Tree, base_sha: str) -> Config:
    """The configuration as the target branch (the MR's base commit) holds it."""
    try:
        return load_config(root, trusted)
    except ConfigError as exc:
        if str(exc).startswith("no relbot configuration"):
            raise ConfigError(f"the MR's base commit {base_sha[:12]} has no relbot "
                              "configuration; relbot checks a merge request only with the "
                              "target branch's configuration (an MR cannot configure its own "
                              "check), so merge relbot.toml first.") from None
        raise ConfigError(f"the target branch's configuration (commit {base_sha[:12]}) is "
                          f"invalid: {exc}") from None


def token_variable(config: Config) -> str | None:
    """The variable the trusted configuration names for the token (``None``: the defaults)."""
    return None if config.gitlab_token_env == DEFAULT_TOKEN_VARIABLE else \
        config.gitlab_token_env


_TOKEN_CONTEXT = ("CI", "GITLAB_CI", "CI_COMMIT_REF_PROTECTED", "CI_COMMIT_REF_NAME",
                  "CI_MERGE_REQUEST_PROJECT_ID", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID",
                  "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")


def _notes_forge(config: Config, ci: CiEnv, token: Token | None,
                 iid: int) -> tuple[GitLabMergeRequests, PrefetchedNotes] | str:
    """The GitLab side of the comment, its look-ups started; or why there is none (the
    sentence :func:`_comment` prints after the check)."""
    from relbot.comment import MARKER
    from relbot.forge import PrefetchedNotes
    from relbot.forge.gitlab import gitlab_merge_requests

    if not (config.gitlab_url or ci.server_url):
        return ("comment: not posted: no GitLab URL outside CI (set gitlab_url, or run in a "
                "merge-request pipeline, which sets CI_SERVER_URL); the checks above ran "
                "fully.")
    project = config.gitlab_project or ci.mr_project
    if not project:
        return ("comment: not posted: the MR's project is unknown outside CI (set "
                "gitlab_project); the checks above ran fully.")
    # The forge sees only what this boundary hands it: the job's GitLab, the chosen token.
    # The token under the name it was found in, so that messages name the right variable,
    # and the pipeline's non-secret context, so that a missing token is explained rightly.
    context = {name: ci.environ.get(name) or "" for name in _TOKEN_CONTEXT}
    env = {key: value for key, value in {
        **context,
        "CI_SERVER_URL": ci.server_url or "",
        (token.variable if token else config.gitlab_token_env): token.value if token else "",
        "CI_JOB_TOKEN": (ci.environ.get("CI_JOB_TOKEN") or "").strip(),
    }.items() if value}
    try:
        forge = gitlab_merge_requests(config, project, env, ci)
        forge.prepare()
    except (ForgeError, ConfigError) as exc:
        return f"comment: not updated: {exc}"
    return forge, PrefetchedNotes(forge, iid, MARKER)


def _comment(report: MrReport,
             notes: tuple[GitLabMergeRequests, PrefetchedNotes] | str) -> str:
    from relbot.comment import MARKER, render_comment
    from relbot.forge import upsert_comment

    if isinstance(notes, str):
        return notes
    forge, prefetched = notes
    try:
        outcome = upsert_comment(prefetched, report.mr.iid, render_comment(report),
                                 marker=MARKER, ok=report.ok)
    except (ForgeError, ConfigError) as exc:
        return f"comment: not updated: {exc}"
    if outcome is None:
        return f"comment: skipped: {forge.missing_token}; the check ran fully."
    return f"comment: {outcome.action} note {outcome.note.id} on !{report.mr.iid}."
