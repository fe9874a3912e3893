"""``relbot mr check`` from end to end: check, JUnit report, and the one bot comment.

Kept apart from ``relbot.mr`` (the checks themselves) so that the checks stay
free of GitLab and files, and apart from the CLI so that no logic lives there.
"""

from __future__ import annotations

from pathlib import Path

from relbot.config import Config, load_config
from relbot.errors import ForgeError
from relbot.git import GitRepo
from relbot.mr import MergeRequest, MrReport, check_mr
from relbot.project import Project


def run_mr_check(root: Path, component: str | None, *, fix: bool, junit: Path | None,
                 comment: bool, iid: int | None, base: str | None) -> tuple[MrReport, str]:
    """Run the check; returns the report and one line on what happened to the comment."""
    config = load_config(root.resolve())
    names = [component] if component else [c.name for c in config.components]
    projects = [Project(root, name, config) for name in names]
    git = GitRepo(config.root)
    mr = MergeRequest.from_environment(iid=iid, base=base)
    report = check_mr(config, projects, mr, git, fix=fix)
    if junit is not None:
        from relbot.junit import write_junit

        write_junit(report, junit)
    if not comment:
        return report, "comment: not posted (--no-comment)."
    if config.forge != "gitlab":
        return report, "comment: not posted (forge = \"none\")."
    return report, _comment(config, report)


def _comment(config: Config, report: MrReport) -> str:
    from relbot.comment import MARKER, render_comment
    from relbot.forge import upsert_comment
    from relbot.forge.gitlab import gitlab_merge_requests

    forge = gitlab_merge_requests(config)
    try:
        outcome = upsert_comment(forge, report.mr.iid, render_comment(report), marker=MARKER,
                                 ok=report.ok)
    except ForgeError as exc:
        return f"comment: not updated: {exc}"
    if outcome is None:
        return f"comment: skipped: {forge.missing_token}; the check ran fully."
    return f"comment: {outcome.action} note {outcome.note.id} on !{report.mr.iid}."
