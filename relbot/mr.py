"""The merge-request check: what an MR pipeline asks of relbot.

The check is a pure function of trusted configuration and the MR's
fragments. Everything that steers it (relbot.toml or ``[tool.relbot]``,
towncrier's configuration and template, policy files) is read from the MR's
base commit (the command layer hands in a ``Project`` built on a
``relbot.tree.GitTree`` of it); the work tree supplies only fragments and
probed files, which are data. When the MR changes a steering file, the new
version is validated and reported as taking effect after merge, never used.

The changed files come from git (``git diff --name-status BASE...HEAD``), where
HEAD is the MR's own head: in merged-results and merge-train pipelines that is
``CI_MERGE_REQUEST_SOURCE_BRANCH_SHA``, not the job's temporary merge commit.
Per component it checks: a fragment is present where one is required (MRs to
the default branch and hotfix MRs; not with the no-changelog label, when only
fragment-free paths changed, or when the MR edits the changelog itself), all
fragments lint clean, the MR's fragments carry its number, the policies hold
against the base. ``--fix`` is :func:`fix_fragments`, a separate step that
writes (rename, commit, push). Nothing here talks to GitLab.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from relbot.ci_env import CiEnv
from relbot.config import Config, rel
from relbot.errors import GitError, RelbotError, UsageError
from relbot.findings import Finding, errors
from relbot.fragments import Fragment, FragmentName, read_name, taken_counters

if TYPE_CHECKING:
    from relbot.forge.credentials import Token
    from relbot.git import GitRepo
    from relbot.project import Project
    from relbot.release_commit import ProvenRelease
    from relbot.tree import Tree


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
    target_branch: str | None = None
    default_branch: str | None = None
    merged_result: bool = False
    source_project_url: str | None = None

    @property
    def from_fork(self) -> bool:
        """Source and target project differ: relbot never pushes to it."""
        return bool(self.source_project_id and self.project_id
                    and self.source_project_id != self.project_id)

    @classmethod
    def from_ci(cls, ci: CiEnv, *, iid: int | None = None,
                base: str | None = None) -> MergeRequest:
        """The MR of this pipeline; ``iid`` and ``base`` override CI's (local runs)."""
        raw_iid = str(iid) if iid is not None else ci.mr_iid
        if not raw_iid:
            raise UsageError("relbot mr check needs a merge request: run it in a GitLab "
                             "merge-request pipeline (CI_MERGE_REQUEST_IID) or pass --iid and "
                             "--base.")
        if not raw_iid.isdigit() or len(raw_iid) > 12:
            raise UsageError(f"CI_MERGE_REQUEST_IID {raw_iid[:20]!r} is not a number.")
        base_sha = base or ci.mr_diff_base_sha
        if not base_sha:
            raise UsageError("relbot mr check needs the MR's base commit: "
                             "CI_MERGE_REQUEST_DIFF_BASE_SHA is not set (or pass --base).")
        head = "HEAD"
        if ci.merged_result:
            # The job runs on GitLab's temporary merge commit; the MR's own head is its
            # second parent, which GitLab also names in CI_MERGE_REQUEST_SOURCE_BRANCH_SHA.
            head = ci.mr_source_branch_sha or "HEAD^2"
        return cls(
            iid=int(raw_iid), base=base_sha,
            project_id=ci.mr_project_id, source_project_id=ci.mr_source_project_id,
            labels=ci.mr_labels, source_branch=ci.mr_source_branch, head=head,
            target_branch=ci.mr_target_branch, default_branch=ci.default_branch,
            merged_result=ci.merged_result, source_project_url=ci.mr_source_project_url,
        )

    @classmethod
    def from_environment(cls, env: Mapping[str, str], *, iid: int | None = None,
                         base: str | None = None) -> MergeRequest:
        """:meth:`from_ci` of the variables in ``env``."""
        return cls.from_ci(CiEnv.from_environ(env), iid=iid, base=base)


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
    hotfix_version: str | None = None  # pre-merge hotfix MR: the version it will release
    notes_left: int = 0  # entries of the notes beyond ``notes_md`` (not rendered)

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
            if component.hotfix_version:
                lines.append(f"    this hotfix will release {component.hotfix_version}")
        lines.extend(f"  {notice}" for notice in self.notices)
        lines.append("  verdict: " + ("all checks passed" if self.ok else "problems found"))
        return "\n".join(lines)


def changed_files(git: GitRepo, base: str, head: str = "HEAD") -> list[tuple[str, str]]:
    """(status, path) of every file the MR changes, from ``git diff BASE...HEAD``."""
    require_commit(git, base, "base commit")
    if head != "HEAD":
        require_commit(git, head, "head (CI_MERGE_REQUEST_SOURCE_BRANCH_SHA)")
    out = git.run("diff", "--name-status", "--no-renames", "-z", f"{base}...{head}",
                  strip=False)
    parts = [p for p in out.split("\0") if p]
    return [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


def require_commit(git: GitRepo, rev: str, what: str) -> None:
    """Make sure the clone has ``rev`` (fetching it once), or say so in one sentence."""
    if git.has_object(rev):
        return
    with contextlib.suppress(GitError):  # reported below, in one sentence
        git.run("fetch", "--quiet", "--no-tags", "origin", rev)
    if not git.has_object(rev):
        raise UsageError(f"the MR's {what} {rev[:12]} is not in this clone (a shallow "
                         "clone?); set GIT_DEPTH: 0 for the job or fetch it.")


@dataclass(frozen=True)
class FixResult:
    """What ``mr check --fix`` wrote: renamed fragments, the MR's new head, what it said."""

    renamed: tuple[tuple[str, str], ...] = ()
    notices: tuple[str, ...] = ()
    head: str | None = None  # the new commit, when one was made


def check_mr(config: Config, projects: Sequence[Project], mr: MergeRequest, git: GitRepo,
             *, fixed: FixResult | None = None, preview: bool = True,
             preview_entries: int | None = None) -> MrReport:
    """Check the merge request for each of ``projects`` (one per component); reads only.

    ``config`` and ``projects`` must be the trusted ones (read from the MR's
    base commit); ``fixed`` is what :func:`fix_fragments` did before. The notes are
    rendered only for a ``preview`` (the comment shows them), and then only as far as
    ``preview_entries`` entries need (None: all).
    """
    head = fixed.head if fixed is not None and fixed.head else mr.head
    changed = changed_files(git, mr.base, head)
    notices = list(fixed.notices) if fixed is not None else []
    steering = steering_changes(config, projects, git, head, changed)
    if steering:
        notices.extend(_steering_notices(steering))
    reports = tuple(_check_component(config, project, mr, changed, git, steering, head,
                                     preview=preview, preview_entries=preview_entries)
                    for project in projects)
    head_sha = git.rev(head) or ""
    return MrReport(mr, head_sha, reports,
                    fixed.renamed if fixed is not None else (), tuple(notices))


def _check_component(config: Config, project: Project, mr: MergeRequest,
                     changed: list[tuple[str, str]], git: GitRepo,
                     steering: Sequence[SteeringChange], head: str = "HEAD", *,
                     preview: bool = True,
                     preview_entries: int | None = None) -> ComponentReport:
    component = project.component
    dirs = sorted({rel(project.fragment_directory(hotfix), project.root)
                   for hotfix in (False, True)})
    own = mr_fragments(project, changed)
    hotfix = is_hotfix_mr(project, mr)
    checks = [_presence(config, project, mr, changed,
                        [rel(path, project.root) for path, _ in own], dirs, git, hotfix)]

    project.prefetch_current_version()  # without a version file: tags read meanwhile
    found = project.fragments()
    lint_findings = list(found.findings)
    if component.hotfix_directory is not None:
        lint_findings += list(project.fragments(hotfix=True).findings)
    checks.append(Check("fragment lint", f"{len(found.fragments)} pending fragment(s)",
                        tuple(lint_findings)))
    checks.append(_numbers(project, mr, own, hotfix))
    mine = [c for c in steering if c.component in (None, component.name)]
    if mine:
        checks.append(Check("steering files", ", ".join(c.path for c in mine),
                            tuple(f for c in mine for f in c.findings)))

    pending: Sequence[Fragment] = found.fragments
    if component.policies:
        from relbot.policy.check import check_policies

        policy = check_policies(project, mr.base, pending)
        checks.append(Check("policies", ", ".join(component.policies), tuple(policy)))

    current = next_version = notes = None
    left = 0
    if found.ok and found.fragments:
        try:
            current_version = project.current_version()
            upcoming = project.next_version(found, current=current_version)
            current, next_version = str(current_version), str(upcoming)
            if preview:
                shown: Sequence[Fragment] = found.fragments
                if preview_entries is not None:
                    from relbot.notes import leading_groups

                    shown, left = leading_groups(project.settings, shown, preview_entries)
                notes = project.notes(found, upcoming, datetime.date.today().isoformat(),
                                      fmt="md", title=False, only=shown).text
        except RelbotError as exc:  # the preview is a courtesy, not a check
            notes, left = f"(no preview: {exc})", 0
    coming = hotfix_version(project, mr, git, head) if pre_merge_hotfix(project, mr) else None
    return ComponentReport(component.name, tuple(checks), current, next_version, notes,
                           coming, left)


def pre_merge_hotfix(project: Project, mr: MergeRequest) -> bool:
    """A hotfix MR of a component whose hotfix release commit is made in the MR."""
    return project.component.hotfix_mode == "pre-merge" and is_hotfix_mr(project, mr)


def hotfix_release(project: Project, git: GitRepo, base: str,
                   head: str) -> ProvenRelease | None:
    """The content-proven release commit of this component among the MR's commits.

    Only commits carrying relbot's trailer are candidates (one ``rev-list``), so
    the proof runs on a handful at most, however long the MR.
    """
    from relbot.release_commit import TRAILER_COMPONENT, prove_release_commit

    candidates = git.run("rev-list", "--fixed-strings", f"--grep={TRAILER_COMPONENT}: ",
                         f"{base}..{head}").split()
    for commit in candidates:
        proven = prove_release_commit(project, git, commit)
        if proven is not None and proven.spec.flow == "hotfix":
            return proven
    return None


def hotfix_version(project: Project, mr: MergeRequest, git: GitRepo,
                   head: str) -> str | None:
    """The version this pre-merge hotfix MR releases: its release commit's, or the patch
    bump of the version file at its head (what ``--fix`` will write)."""
    from relbot.release_commit import blob
    from relbot.version_file import version_text
    from relbot.versions import parse_version

    proven = hotfix_release(project, git, mr.base, head)
    if proven is not None:
        return proven.spec.version
    version_file = project.component.version_file
    if version_file is None:
        return None
    path = rel(version_file, project.root)
    try:
        current = parse_version(version_text(version_file, blob(git, head, path), path),
                                f"version file {path} holds")
    except RelbotError:
        return None  # the lint and the release say why; the preview stays silent
    return str(current.bump_patch())


@dataclass(frozen=True)
class SteeringChange:
    """A file that steers relbot and that the MR changes: checked, never used."""

    path: str
    component: str | None  # None: the whole configuration
    findings: tuple[Finding, ...] = ()


def steering_files(config: Config, projects: Sequence[Project]) -> dict[str, str | None]:
    """Repository path -> component (``None``: all) of every file that steers relbot."""
    from relbot.policy import files as policy_files

    found: dict[str, str | None] = {"relbot.toml": None, config.source_name: None}
    for project in projects:
        component = project.component
        found.setdefault(rel(component.towncrier_config, project.root), component.name)
        template = _template_path(project)
        if template is not None:
            found.setdefault(template, component.name)
        for entry in component.policies:
            path = entry if policy_files.is_path(entry) else \
                f"{policy_files.POLICY_DIR}/{entry}.toml"
            found.setdefault(path, component.name)
    return found


def _template_path(project: Project) -> str | None:
    """The repository path of the component's towncrier template file, if it has one."""
    import posixpath

    from relbot.tree import Refused

    try:
        table = project.steering.read_toml(rel(project.component.towncrier_config,
                                               project.root))
    except Refused:
        return None  # reported where the configuration is loaded
    template = table.get("tool", {}).get("towncrier", {}).get("template")
    if not isinstance(template, str) or re.fullmatch(r"[-\w.]+:[-\w.]+", template):
        return None
    base = rel(project.settings.base_directory, project.root)
    return posixpath.normpath(posixpath.join("" if base == "." else base, template))


def steering_changes(config: Config, projects: Sequence[Project], git: GitRepo, head: str,
                     changed: list[tuple[str, str]]) -> list[SteeringChange]:
    """The steering files the MR changes, each with what is wrong with its new version."""
    steering = steering_files(config, projects)
    touched = [(path, steering[path]) for _, path in changed if path in steering]
    if not touched:
        return []

    from relbot.tree import GitTree

    with GitTree(git.root, git.rev(head) or head) as tree:
        return [SteeringChange(path, component,
                               tuple(_validate_steering(config, projects, tree, path,
                                                        component)))
                for path, component in touched]


def _validate_steering(config: Config, projects: Sequence[Project], tree: Tree, path: str,
                       component: str | None) -> list[Finding]:
    """Load the MR's version of a steering file the way relbot will after the merge."""
    from relbot.config import load_config
    from relbot.notes import check_template
    from relbot.policy import files as policy_files
    from relbot.policy import load as policy_load
    from relbot.towncrier_settings import load_towncrier_settings
    from relbot.tree import Refused

    def invalid(problem: str) -> Finding:
        return Finding(path, "steering-invalid",
                       f"the MR's new version would break relbot after the merge: {problem}")

    try:
        new_config = load_config(config.root, tree)
    except RelbotError as exc:
        return [invalid(str(exc))]
    problems: list[Finding] = []
    for project in projects:
        if component not in (None, project.component.name):
            continue
        try:
            new_component = new_config.component(project.component.name)
        except RelbotError:
            continue  # a component the MR removes or renames: the config itself loaded
        try:
            settings = load_towncrier_settings(new_component.towncrier_config, config.root,
                                               new_component.towncrier_dir, tree=tree)
            template = tree.read_toml(rel(new_component.towncrier_config, config.root)) \
                .get("tool", {}).get("towncrier", {}).get("template")
            if isinstance(template, str) and ":" not in template:
                relpath = rel((settings.base_directory / template).resolve(), config.root)
                problem = check_template(tree.read_text(relpath, 256 * 1024))
                if problem:
                    problems.append(invalid(f"the towncrier template is broken: {problem}"))
            for index, entry in enumerate(new_component.policies):
                policy_load.load_file(policy_files.find(
                    entry, config.root, f"policies[{index}]", tree))
        except (RelbotError, Refused) as exc:
            problems.append(invalid(str(exc)))
    return problems


def _steering_notices(changes: Sequence[SteeringChange]) -> list[str]:
    ok = [c.path for c in changes if not c.findings]
    notices = []
    if ok:
        notices.append(", ".join(ok) + ": changed by this MR and valid; the change takes "
                       "effect after merge (this check used the target branch's version)")
    return notices


def is_hotfix_mr(project: Project, mr: MergeRequest) -> bool:
    """The MR targets a release branch (``release_branch_format``): a hotfix MR."""
    if not mr.target_branch:
        return False
    return branch_regex(project.component.release_branch_format).fullmatch(
        mr.target_branch) is not None


def branch_regex(fmt: str) -> re.Pattern[str]:
    """The branches ``release_branch_format`` names (``{major}``/``{minor}``: digits)."""
    parts = re.split(r"(\{major\}|\{minor\})", fmt)
    return re.compile("".join(r"\d+" if p in ("{major}", "{minor}") else re.escape(p)
                              for p in parts))


def _default_branch(config: Config, mr: MergeRequest, git: GitRepo) -> str | None:
    return mr.default_branch or config.default_branch or git.remote_default_branch()


def mr_fragments(project: Project,
                 changed: list[tuple[str, str]]) -> list[tuple[Path, FragmentName]]:
    """The fragments the MR adds in the component's (hotfix) fragment directory.

    Only added files count: a fragment the MR edits was another MR's, and one it
    deletes is gone.
    """
    homes = {project.fragment_directory(False), project.fragment_directory(True)}
    found = []
    for status, path in changed:
        candidate = project.root / path
        if status == "A" and candidate.parent in homes:
            parsed = read_name(candidate.name, project.settings.types)
            if parsed is not None:
                found.append((candidate, parsed))
    return found


def _presence(config: Config, project: Project, mr: MergeRequest,
              changed: list[tuple[str, str]], own: list[str], dirs: list[str], git: GitRepo,
              hotfix: bool) -> Check:
    if own:
        return Check("fragment present", ", ".join(own))
    if config.no_changelog_label in mr.labels:
        return Check("fragment present", f"not needed: label {config.no_changelog_label!r}")
    default = _default_branch(config, mr, git)
    if mr.target_branch and not hotfix and default and mr.target_branch != default:
        return Check("fragment present", f"not needed: the MR targets {mr.target_branch}, "
                     "neither the default branch nor a release branch")
    settings = project.settings
    changelog = rel(settings.base_directory / settings.filename, project.root)
    if any(path == changelog for _, path in changed):
        return Check("fragment present", f"not needed: the MR changes {changelog} itself")
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
             own: list[tuple[Path, FragmentName]], hotfix: bool) -> Check:
    findings = []
    orphan = project.settings.orphan_prefix
    for absolute, parsed in own:
        path = rel(absolute, project.root)
        if parsed.issue.startswith(orphan):
            continue
        if not parsed.issue.isdigit():
            findings.append(Finding(path, "placeholder-number",
                                    f"the placeholder {parsed.issue!r} must become the MR "
                                    f"number {mr.iid} (`relbot mr check --fix` renames it)"))
        elif parsed.issue != str(mr.iid):
            if hotfix:
                findings.append(Finding(path, "wrong-number",
                                        f"the fragment names MR {parsed.issue}, not this "
                                        f"hotfix MR {mr.iid} (fine for a fragment kept from "
                                        "the original MR)", severity="warning"))
            else:
                findings.append(Finding(path, "wrong-number",
                                        f"the fragment names MR {parsed.issue}, but this is "
                                        f"MR {mr.iid}"))
    return Check("MR number", f"!{mr.iid}", tuple(findings))


def fix_fragments(projects: Sequence[Project], mr: MergeRequest, git: GitRepo,
                  token: Token | None = None, server_url: str | None = None,
                  date: str | None = None) -> FixResult:
    """``mr check --fix``: rename this MR's non-numeric fragment numbers to its IID and, in
    a pre-merge hotfix MR, add the hotfix release commit.

    Both are commits on the MR's own head (in a merged-results pipeline:
    ``CI_MERGE_REQUEST_SOURCE_BRANCH_SHA``, never the temporary merge commit),
    pushed in one push to the source branch, with ``token`` in an HTTP header,
    and only when the source project lies on ``server_url`` (the GitLab the job
    runs on). Never for a fork. A branch that already holds a content-proven
    hotfix release commit gets none again.
    """
    changed = changed_files(git, mr.base, mr.head)
    orphan = {id(p): p.settings.orphan_prefix for p in projects}
    todo = [(project, path) for project in projects
            for path, parsed in mr_fragments(project, changed)
            if not parsed.issue.isdigit() and not parsed.issue.startswith(orphan[id(project)])]
    hotfixes = [project for project in projects if pre_merge_hotfix(project, mr)]
    if not todo and not hotfixes:
        return FixResult()
    branch, refusal = _fix_branch(mr, git, hotfix_only=bool(hotfixes and not todo))
    if branch is None:
        return FixResult(notices=(refusal,))
    renames: list[tuple[str, str]] = []
    notices: list[str] = []
    start = git.rev(mr.head) or mr.head
    commit = start
    if todo:
        commit = _rename_commit(todo, mr, git, renames)
        notices.append(f"renamed {len(renames)} fragment(s)")
    for project in hotfixes:
        commit, said = _hotfix_commit(project, mr, git, commit,
                                      date or datetime.date.today().isoformat())
        notices.append(said)
    if commit == start:
        return FixResult(tuple(renames), tuple(notices), None)
    remote, env = push_target(mr, token, server_url)
    push = git.push_atomic([f"{commit}:refs/heads/{branch}"], remote=remote, env=env)
    if not push.ok:
        reason = push.message.splitlines()[-1] if push.message else "refused"
        what = "the renamed fragments" if not hotfixes else f"the fixes ({'; '.join(notices)})"
        return FixResult(tuple(renames), (f"{what} could not be pushed to {branch}: {reason}",),
                         None)
    done = f"{'; '.join(notices)}; pushed to {branch}" if hotfixes else \
        f"renamed {len(renames)} fragment(s) and pushed them to {branch}"
    return FixResult(tuple(renames), (done,), commit)


def _fix_branch(mr: MergeRequest, git: GitRepo, *, hotfix_only: bool) -> tuple[str | None, str]:
    """(the branch --fix pushes to, "") or (None, the one sentence why it pushes nowhere)."""
    if mr.from_fork:
        if hotfix_only:
            return None, ("--fix does not push to forks: a pre-merge hotfix needs its MR "
                          "from a branch of the project itself, where relbot can add the "
                          "release commit.")
        return None, (f"--fix does not push to forks: rename the fragments to {mr.iid}.* "
                      "in your branch.")
    branch = mr.source_branch or (None if mr.merged_result else git.current_branch())
    if not branch:
        return None, "--fix needs the MR's source branch (CI_MERGE_REQUEST_SOURCE_BRANCH_NAME)."
    return branch, ""


def _rename_commit(todo: list[tuple[Project, Path]], mr: MergeRequest, git: GitRepo,
                   renames: list[tuple[str, str]]) -> str:
    """The commit with ``todo``'s fragments renamed to the IID (``renames`` is filled)."""
    reserved: dict[Path, set[tuple[str, int]]] = {}
    for project, source in todo:
        target = source.with_name(renumbered(source, project, mr.iid,
                                             reserved.setdefault(source.parent, set())))
        renames.append((rel(source, git.root), rel(target, git.root)))
    message = f"Give the news fragments of !{mr.iid} their MR number"
    body = "Renamed by relbot mr check --fix."
    if mr.head == "HEAD":
        for source_rel, target_rel in renames:
            git.run("mv", "--", source_rel, target_rel)
        git.run("commit", "--quiet", "-m", message, "-m", body)
        return git.rev("HEAD") or "HEAD"
    return _commit_renames(git, mr.head, renames, f"{message}\n\n{body}\n")


def _hotfix_commit(project: Project, mr: MergeRequest, git: GitRepo, head: str,
                   date: str) -> tuple[str, str]:
    """(new head, what happened): the hotfix release commit on ``head``, unless the MR
    already holds one (a rerun)."""
    from relbot.release import write_hotfix_commit

    name = project.component.name
    proven = hotfix_release(project, git, mr.base, head)
    if proven is not None:
        return head, (f"{name}: the branch already holds the release commit of "
                      f"{proven.spec.version} ({proven.commit[:12]}); nothing to add")
    assert mr.target_branch is not None  # noqa: S101 - pre_merge_hotfix checked it
    try:
        commit = write_hotfix_commit(project, head, date, mr.target_branch)
    except RelbotError as exc:
        return head, f"{name}: no hotfix release commit: {exc}"
    version = git.trailer(commit, "Relbot-Version")
    return commit, (f"{name}: added the release commit of hotfix "
                    f"{version[0] if version else '?'}")


def _commit_renames(git: GitRepo, parent: str, renames: list[tuple[str, str]],
                    message: str) -> str:
    """A commit on ``parent`` (not on the work tree's merge commit) with ``renames`` done."""

    from relbot.tree import GitTree

    with GitTree(git.root, parent) as tree:
        writes = {target: tree.read_bytes(source, 16 * 1024 * 1024)
                  for source, target in renames}
    return git.commit_files(parent, writes, [source for source, _ in renames], message)


def renumbered(path: Path, project: Project, iid: int,
               reserved: set[tuple[str, int]] | None = None) -> str:
    """``path``'s name with the MR number ``iid``; a counter is added where one is taken.

    ``reserved`` holds (type, counter) pairs already given to other renamed fragments.
    """
    types = project.settings.types
    parts = path.name.split(".")
    index = next(i for i in range(len(parts) - 1, 0, -1) if parts[i] in types)
    after = parts[index + 1:]
    counter = int(after[0]) if after and after[0].isdigit() else 0
    rest = after[1:] if after and after[0].isdigit() else after
    taken = taken_counters(path.parent, project.settings, str(iid), parts[index])
    taken |= {n for t, n in (reserved or set()) if t == parts[index]}
    if counter in taken:
        counter = max(taken) + 1
    if reserved is not None:
        reserved.add((parts[index], counter))
    return ".".join([str(iid), parts[index], *([str(counter)] if counter else []), *rest])


def push_target(mr: MergeRequest, token: Token | None,
                server_url: str | None = None) -> tuple[str, dict[str, str]]:
    """Where --fix pushes: the MR's source project with the MR token, else origin.

    The token travels in an HTTP header set through git's environment
    (``relbot.forge.credentials.git_auth_env``), never in a URL or command line,
    and only to the host of ``server_url`` (``CI_SERVER_URL``).
    """
    from urllib.parse import urlsplit

    from relbot.forge.credentials import git_auth_env

    if not mr.source_project_url or token is None:
        return "origin", {}
    source, server = urlsplit(mr.source_project_url), urlsplit(server_url or "")
    if (source.scheme, source.netloc) != (server.scheme, server.netloc):
        raise UsageError("--fix sends the token only to the GitLab this job runs on, and "
                         "CI_MERGE_REQUEST_SOURCE_PROJECT_URL lies elsewhere; nothing was "
                         "pushed.")
    return f"{mr.source_project_url}.git", git_auth_env(token)
