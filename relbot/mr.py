"""The merge-request check: what an MR pipeline asks of relbot.

It reads GitLab CI's merge-request variables, takes the changed files from git
(``git diff --name-status BASE...HEAD``), and checks, per component: a fragment
is present (unless the no-changelog label is set or only fragment-free paths
changed), all fragments lint clean, the MR's fragments carry its number, and
the policies hold against the base. It also previews the next version and the
release notes. Nothing here talks to GitLab; the comment is ``relbot.comment``
and ``relbot.forge``'s business.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from relbot.config import Config, rel
from relbot.errors import GitError, RelbotError, UsageError
from relbot.findings import Finding, errors
from relbot.fragments import PLACEHOLDER, Fragment, FragmentName, parse_name, taken_counters

if TYPE_CHECKING:
    from relbot.git import GitRepo
    from relbot.project import Project


@dataclass(frozen=True)
class MergeRequest:
    """The merge request under check, from GitLab CI's predefined variables."""

    iid: int
    base: str
    project_id: str | None = None
    source_project_id: str | None = None
    labels: tuple[str, ...] = ()
    source_branch: str | None = None
    head: str = "HEAD"

    @property
    def from_fork(self) -> bool:
        """Source and target project differ: relbot never pushes to it."""
        return bool(self.source_project_id and self.project_id
                    and self.source_project_id != self.project_id)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, *, iid: int | None = None,
                         base: str | None = None) -> MergeRequest:
        """Read ``CI_MERGE_REQUEST_*``; ``iid`` and ``base`` override them (local runs)."""
        environ = os.environ if env is None else env
        raw_iid = str(iid) if iid is not None else environ.get("CI_MERGE_REQUEST_IID")
        if not raw_iid:
            raise UsageError("relbot mr check needs a merge request: run it in a GitLab "
                             "merge-request pipeline (CI_MERGE_REQUEST_IID) or pass --iid and "
                             "--base.")
        if not raw_iid.isdigit():
            raise UsageError(f"CI_MERGE_REQUEST_IID {raw_iid!r} is not a number.")
        base_sha = base or environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA")
        if not base_sha:
            raise UsageError("relbot mr check needs the MR's base commit: "
                             "CI_MERGE_REQUEST_DIFF_BASE_SHA is not set (or pass --base).")
        labels = tuple(label.strip() for label in
                       environ.get("CI_MERGE_REQUEST_LABELS", "").split(",") if label.strip())
        return cls(
            iid=int(raw_iid), base=base_sha,
            project_id=environ.get("CI_MERGE_REQUEST_PROJECT_ID") or None,
            source_project_id=environ.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID") or None,
            labels=labels,
            source_branch=environ.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or None,
        )


@dataclass(frozen=True)
class Check:
    """One named check of one component, and what it found."""

    name: str
    summary: str
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """No error among the findings."""
        return not errors(list(self.findings))


@dataclass(frozen=True)
class ComponentReport:
    """The checks of one component and the release they preview."""

    component: str
    checks: tuple[Check, ...]
    current_version: str | None = None
    next_version: str | None = None
    notes_md: str | None = None

    @property
    def ok(self) -> bool:
        """Every check passed."""
        return all(check.ok for check in self.checks)


@dataclass(frozen=True)
class MrReport:
    """The whole verdict on one merge request."""

    mr: MergeRequest
    head: str
    components: tuple[ComponentReport, ...]
    renamed: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    notices: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Every component passed."""
        return all(component.ok for component in self.components)

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every check."""
        return [f for c in self.components for check in c.checks for f in check.findings]

    def describe(self) -> str:
        """The console report."""
        lines = [f"relbot mr check of !{self.mr.iid}:"]
        for component in self.components:
            lines.append(f"  {component.component}:")
            for check in component.checks:
                mark = "ok  " if check.ok else "FAIL"
                lines.append(f"    [{mark}] {check.name}: {check.summary}")
                lines.extend(f"           {finding}" for finding in check.findings)
            if component.next_version:
                lines.append(f"    if merged now: {component.current_version} -> "
                             f"{component.next_version}")
        lines.extend(f"  {notice}" for notice in self.notices)
        lines.append("  verdict: " + ("all checks passed" if self.ok else "problems found"))
        return "\n".join(lines)


def changed_files(git: GitRepo, base: str, head: str = "HEAD") -> list[tuple[str, str]]:
    """(status, path) of every file the MR changes, from ``git diff BASE...HEAD``."""
    if not git.has_object(base):
        with contextlib.suppress(GitError):  # reported below, in one sentence
            git.run("fetch", "--quiet", "--no-tags", "origin", base)
        if not git.has_object(base):
            raise UsageError(f"the MR's base commit {base[:12]} is not in this clone (a "
                             "shallow clone?); set GIT_DEPTH: 0 for the job or fetch it.")
    out = git.run("diff", "--name-status", "--no-renames", "-z", f"{base}...{head}",
                  strip=False)
    parts = [p for p in out.split("\0") if p]
    return [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


def check_mr(config: Config, projects: Sequence[Project], mr: MergeRequest, git: GitRepo,
             *, fix: bool = False) -> MrReport:
    """Check the merge request for each of ``projects`` (one per component)."""
    changed = changed_files(git, mr.base, mr.head)
    renamed: list[tuple[str, str]] = []
    notices: list[str] = []
    if fix:
        renamed, fix_notices = _fix_placeholders(projects, mr, git, changed)
        notices.extend(fix_notices)
        if renamed:
            changed = changed_files(git, mr.base, mr.head)
    reports = tuple(_check_component(config, project, mr, changed) for project in projects)
    return MrReport(mr, git.rev("HEAD") or "", reports, tuple(renamed), tuple(notices))


def _check_component(config: Config, project: Project, mr: MergeRequest,
                     changed: list[tuple[str, str]]) -> ComponentReport:
    component = project.component
    dirs = sorted({rel(project.fragment_directory(hotfix), project.root)
                   for hotfix in (False, True)})
    own = mr_fragments(project, changed)
    checks = [_presence(config, mr, changed, [rel(path, project.root) for path, _ in own],
                        dirs)]

    found = project.fragments()
    lint_findings = list(found.findings)
    if component.hotfix_directory is not None:
        lint_findings += list(project.fragments(hotfix=True).findings)
    checks.append(Check("fragment lint", f"{len(found.fragments)} pending fragment(s)",
                        tuple(lint_findings)))
    checks.append(_numbers(project, mr, own))

    pending: Sequence[Fragment] = found.fragments
    if component.policies:
        from relbot.policy.check import check_policies

        policy = check_policies(project, mr.base, pending)
        checks.append(Check("policies", ", ".join(component.policies), tuple(policy)))

    current = next_version = notes = None
    if found.ok and found.fragments:
        try:
            current_version = project.current_version()
            upcoming = project.next_version(found)
            current, next_version = str(current_version), str(upcoming)
            notes = project.notes(found, upcoming, datetime.date.today().isoformat(),
                                  fmt="md", title=False).text
        except RelbotError as exc:  # the preview is a courtesy, not a check
            notes = f"(no preview: {exc})"
    return ComponentReport(component.name, tuple(checks), current, next_version, notes)


def mr_fragments(project: Project,
                 changed: list[tuple[str, str]]) -> list[tuple[Path, FragmentName]]:
    """The fragments the MR adds or changes in the component's (hotfix) fragment directory."""
    homes = {project.fragment_directory(False), project.fragment_directory(True)}
    found = []
    for status, path in changed:
        candidate = project.root / path
        if status in ("A", "M") and candidate.parent in homes:
            parsed = parse_name(candidate.name, project.settings.types)
            if parsed is not None:
                found.append((candidate, parsed))
    return found


def _presence(config: Config, mr: MergeRequest, changed: list[tuple[str, str]],
              own: list[str], dirs: list[str]) -> Check:
    if own:
        return Check("fragment present", ", ".join(own))
    if config.no_changelog_label in mr.labels:
        return Check("fragment present", f"not needed: label {config.no_changelog_label!r}")
    relevant = [path for _, path in changed
                if not any(fnmatch(path, pattern) for pattern in config.fragment_free_paths)]
    if not relevant:
        return Check("fragment present", "not needed: only fragment-free paths changed")
    where = " or ".join(dirs)
    return Check("fragment present", "missing", (Finding(
        "", "fragment-missing",
        f"this MR adds no news fragment: add one in {where} (`relbot fragment new --mr "
        f"{mr.iid} TYPE 'text'`) or set the label {config.no_changelog_label!r}"),))


def _numbers(project: Project, mr: MergeRequest,
             own: list[tuple[Path, FragmentName]]) -> Check:
    findings = []
    orphan = project.settings.orphan_prefix
    for absolute, parsed in own:
        path = rel(absolute, project.root)
        if parsed.issue.startswith(orphan):
            continue
        if parsed.issue == PLACEHOLDER:
            findings.append(Finding(path, "placeholder-number",
                                    f"the placeholder 'x' must become the MR number {mr.iid} "
                                    "(`relbot mr check --fix` renames it)"))
        elif parsed.issue != str(mr.iid):
            findings.append(Finding(path, "wrong-number",
                                    f"the fragment names MR {parsed.issue}, but this is MR "
                                    f"{mr.iid}"))
    return Check("MR number", f"!{mr.iid}", tuple(findings))


def _fix_placeholders(projects: Sequence[Project], mr: MergeRequest, git: GitRepo,
                      changed: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """Rename this MR's ``x.`` fragments to its number, commit and push (same project only)."""
    todo = [(project, path) for project in projects
            for path, parsed in mr_fragments(project, changed) if parsed.issue == PLACEHOLDER]
    if not todo:
        return [], []
    if mr.from_fork:
        return [], ["--fix does not push to forks: rename the x.* fragments to "
                    f"{mr.iid}.* in your branch."]
    branch = mr.source_branch or git.current_branch()
    if not branch:
        return [], ["--fix needs the MR's source branch (CI_MERGE_REQUEST_SOURCE_BRANCH_NAME)."]
    renamed = []
    for project, source in todo:
        target = source.with_name(renumbered(source, project, mr.iid))
        git.run("mv", "--", rel(source, git.root), rel(target, git.root))
        renamed.append((rel(source, git.root), rel(target, git.root)))
    git.run("commit", "--quiet", "-m", f"Give the news fragments of !{mr.iid} their MR number",
            "-m", "Renamed by relbot mr check --fix.")
    remote, env = push_target()
    push = git.push_atomic([f"HEAD:refs/heads/{branch}"], remote=remote, env=env)
    if not push.ok:
        reason = push.message.splitlines()[-1] if push.message else "refused"
        return renamed, [f"the renamed fragments could not be pushed to {branch}: {reason}"]
    return renamed, [f"renamed {len(renamed)} fragment(s) and pushed them to {branch}"]


def renumbered(path: Path, project: Project, iid: int) -> str:
    """``path``'s name with the MR number ``iid``; a counter is added where one is taken."""
    types = project.settings.types
    parts = path.name.split(".")
    index = next(i for i in range(len(parts) - 1, 0, -1) if parts[i] in types)
    after = parts[index + 1:]
    counter = int(after[0]) if after and after[0].isdigit() else 0
    rest = after[1:] if after and after[0].isdigit() else after
    taken = taken_counters(path.parent, project.settings, str(iid), parts[index])
    if counter in taken:
        counter = max(taken) + 1
    return ".".join([str(iid), parts[index], *([str(counter)] if counter else []), *rest])


def push_target() -> tuple[str, dict[str, str]]:
    """Where --fix pushes: the MR's source project with the relbot token, else origin.

    The token travels in an HTTP header set through git's environment, never
    in a command line or a URL that could be printed.
    """
    from relbot.forge.credentials import git_auth_env, resolve_token

    url = os.environ.get("CI_MERGE_REQUEST_SOURCE_PROJECT_URL")
    token = resolve_token(os.environ, "mr")
    if not url or token is None:
        return "origin", {}
    return f"{url}.git", git_auth_env(token)
