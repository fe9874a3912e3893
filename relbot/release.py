"""Cutting a release: a plan of steps, each of which knows whether it is done.

:func:`plan_release` only reads (``--dry-run`` prints its result and stops);
:func:`execute` carries out the steps that are not done yet. The release
commit carries trailers naming component, version and date, so a rerun after
a crash at any point finds the half-made release and finishes it, and never
makes a second commit or tag. A push the remote refuses is atomic (nothing
moved there) and relbot undoes its own unpushed commit and tag, so the
repository is as before and the user can pull and run again.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from relbot.config import rel
from relbot.errors import GitError, ReleaseRefused, UsageError
from relbot.findings import Finding, errors
from relbot.fragments import Fragment, FragmentSet, scan
from relbot.notes import Notes
from relbot.versions import (
    Version,
    parse_version,
    prerelease,
    require_forward,
    tag_glob,
    versions_from_tags,
)

if TYPE_CHECKING:
    from relbot.forge import Forge
    from relbot.git import GitRepo
    from relbot.project import Project

TRAILER_COMPONENT = "Relbot-Component"
TRAILER_VERSION = "Relbot-Version"
TRAILER_DATE = "Relbot-Date"

STEP_TITLES = {
    "commit": "changelog, version file and fragment removal in one release commit",
    "tag": "annotated tag holding the notes",
    "branch": "release branch at the release commit",
    "push": "atomic push of branch and tag",
    "publish": "forge release with the notes as Markdown",
}


class NothingToRelease(ReleaseRefused):
    """No pending fragments: for one component a refusal, for ``--all`` a skip."""


@dataclass(frozen=True)
class CutOptions:
    """What the user asked for."""

    date: str
    version: str | None = None
    pre: str | None = None
    hotfix: bool = False
    push: bool = True


@dataclass(frozen=True)
class Step:
    """One step of the plan and whether it is already done."""

    key: str
    done: bool
    detail: str = ""

    @property
    def title(self) -> str:
        """What the step does, for people."""
        return STEP_TITLES[self.key]


@dataclass(frozen=True)
class ReleasePlan:
    """Everything a release will do, computed without changing anything."""

    component: str
    version: str
    tag: str
    branch: str
    base: str
    commit: str | None
    prerelease: bool
    hotfix: bool
    date: str
    notes: Notes
    release_notes: Notes
    fragments: tuple[str, ...]
    release_branch: str | None
    steps: tuple[Step, ...]
    resumed: bool = False
    forge: str = "none"

    @property
    def pending(self) -> list[Step]:
        """The steps still to do."""
        return [s for s in self.steps if not s.done]

    @property
    def complete(self) -> bool:
        """Nothing left to do."""
        return not self.pending

    def describe(self) -> str:
        """The plan as a maintainer reads it before saying yes."""
        kind = "pre-release" if self.prerelease else ("hotfix" if self.hotfix else "release")
        state = " (resuming an unfinished release)" if self.resumed and not self.complete else ""
        lines = [f"{kind} {self.tag} of {self.component} from {self.branch}{state}:"]
        for number, step in enumerate(self.steps, 1):
            mark = "done" if step.done else "todo"
            lines.append(f"  {number}. [{mark}] {step.title}: {step.detail}")
        if self.fragments:
            lines.append(f"  fragments: {len(self.fragments)}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        """The plan as JSON-ready data."""
        return {
            "component": self.component,
            "version": self.version,
            "tag": self.tag,
            "branch": self.branch,
            "prerelease": self.prerelease,
            "hotfix": self.hotfix,
            "resumed": self.resumed,
            "notes": self.notes.text,
            "release_notes": self.release_notes.text,
            "fragments": list(self.fragments),
            "steps": [{"step": s.key, "done": s.done, "detail": s.detail} for s in self.steps],
        }


@dataclass(frozen=True)
class ReleaseResult:
    """What a run did."""

    plan: ReleasePlan
    commit: str
    done: tuple[str, ...] = ()
    release_url: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The result as JSON-ready data: version, tag, commit, notes, steps done."""
        data = self.plan.as_dict()
        data.update(commit=self.commit, steps_done=list(self.done),
                    release_url=self.release_url)
        return data


# -- planning ---------------------------------------------------------------------------


def plan_release(project: Project, options: CutOptions, forge: Forge) -> ReleasePlan:
    """The release ``options`` ask for, or the unfinished one a rerun must finish."""
    git = _git(project)
    if options.pre and options.hotfix:
        raise UsageError("--pre and --hotfix do not go together; a hotfix is a final "
                         "patch release.")
    branch = _branch(git)
    remote = git.has_remote()
    remote_branch_sha = _remote_ref(git, f"refs/heads/{branch}") if remote else None
    resumed = _resumable(project, git, options, forge, branch, remote, remote_branch_sha)
    if resumed is not None:
        return resumed
    return _new_release(project, git, options, forge, branch, remote, remote_branch_sha)


def _git(project: Project) -> GitRepo:
    if project.git is None:
        raise ReleaseRefused(f"{project.root} is not a git repository; relbot cut needs one.")
    return project.git


def _branch(git: GitRepo) -> str:
    branch = git.current_branch()
    if branch:
        return branch
    ci_branch = os.environ.get("CI_COMMIT_BRANCH")
    if ci_branch:
        return ci_branch  # GitLab CI checks out a detached HEAD; execute() attaches it
    raise ReleaseRefused("HEAD is detached; check out the branch to release from.")


def _remote_ref(git: GitRepo, ref: str) -> str | None:
    return git.ls_remote([ref]).get(ref)


def _new_release(project: Project, git: GitRepo, options: CutOptions, forge: Forge,
                 branch: str, remote: bool, remote_sha: str | None) -> ReleasePlan:
    component = project.component
    _require_clean(git)
    _require_branch(project, git, branch, options.hotfix, remote)
    head = git.rev("HEAD")
    if head is None:
        raise ReleaseRefused("the repository has no commits yet.")
    _require_not_behind(git, branch, head, remote_sha)

    found = project.fragments(hotfix=options.hotfix)
    _require_fragments(project, found, options.hotfix)
    _require_policies(project, found.fragments)

    current = project.current_version()
    if options.version:
        target = parse_version(options.version, "--version")
    else:
        target = project.next_version(found, hotfix=options.hotfix)
    if options.hotfix:
        _require_hotfix_branch_matches(project, branch, target)
    if options.pre:
        existing = versions_from_tags(component, _all_tags(git, project, remote))
        target = prerelease(target.finalize_version(), options.pre, existing)
    require_forward(current, target)
    tag = component.tag(str(target))
    _require_tag_free(git, tag, remote)

    notes, release_notes = _render(project, found.fragments, target, options.date)
    release_branch = _release_branch(project, git, target, options, remote)
    steps = []
    if not options.pre:
        message = component.commit_message.format(version=target, tag=tag,
                                                  component=component.name)
        steps.append(Step("commit", False, message))
    steps.append(Step("tag", False, tag))
    if release_branch:
        steps.append(Step("branch", False, release_branch))
    if options.push and remote:
        steps.append(Step("push", False, f"{branch} and {tag} to origin"))
    if forge.name != "none":
        steps.append(Step("publish", False, f"{forge.name} release {tag}"))
    return ReleasePlan(
        component=component.name, version=str(target), tag=tag, branch=branch, base=head,
        commit=None, prerelease=bool(options.pre), hotfix=options.hotfix, date=options.date,
        notes=notes, release_notes=release_notes,
        fragments=tuple(f.relpath for f in found.fragments), release_branch=release_branch,
        steps=tuple(steps), forge=forge.name,
    )


def _render(project: Project, fragments: Sequence[Fragment], version: Version,
            date: str) -> tuple[Notes, Notes]:
    from relbot.notes import render_variants

    # Changelog notes and forge release text in one go: one towncrier run where both are
    # Markdown (they differ in the heading only).
    notes, release_notes = render_variants(
        project.component, project.settings, fragments,
        project.component.notes_version(str(version)), date, [(None, True), ("md", False)])
    if project.component.notes_supported_versions and project.component.policies:
        from relbot.policy.show import supported_versions_section

        notes = replace(notes, text=notes.text.rstrip("\n") + "\n\n"
                        + supported_versions_section(project, notes.fmt).strip("\n") + "\n")
        release_notes = replace(release_notes, text=release_notes.text.rstrip("\n") + "\n\n"
                                + supported_versions_section(project, "md").strip("\n") + "\n")
    return notes, release_notes


def _require_clean(git: GitRepo) -> None:
    dirty = git.status()
    if dirty:
        shown = ", ".join(line[3:] for line in dirty[:3]) + (" …" if len(dirty) > 3 else "")
        raise ReleaseRefused(f"the work tree is not clean ({shown}); commit or stash first.")


def _require_branch(project: Project, git: GitRepo, branch: str, hotfix: bool,
                    remote: bool) -> None:
    if hotfix:
        pattern = branch_pattern(project.component.release_branch_format)
        if not pattern.fullmatch(branch):
            example = project.component.release_branch_format.format(major="X", minor="Y")
            raise ReleaseRefused(f"a hotfix is cut on a release branch ({example}), not on "
                                 f"{branch!r}.")
        return
    default = default_branch(project, git, remote)
    if default is not None and branch != default:
        raise ReleaseRefused(f"releases are cut on the default branch {default!r}, not on "
                             f"{branch!r} (hotfixes: --hotfix on a release branch).")


def default_branch(project: Project, git: GitRepo, remote: bool) -> str | None:
    """The remote's HEAD, else ``default_branch`` from the configuration, else any branch."""
    if remote:
        try:
            out = git.run("ls-remote", "--symref", "origin", "HEAD")
        except GitError:  # an unreachable remote: fall back to what is known locally
            out = ""
        match = re.search(r"^ref: refs/heads/(\S+)\tHEAD$", out, re.MULTILINE)
        if match:
            return match.group(1)
        recorded = git.remote_default_branch()
        if recorded:
            return recorded
    return project.config.default_branch


def branch_pattern(fmt: str) -> re.Pattern[str]:
    """A regular expression for the branches ``release_branch_format`` names."""
    parts = re.split(r"(\{major\}|\{minor\})", fmt)
    return re.compile("".join(r"\d+" if p in ("{major}", "{minor}") else re.escape(p)
                              for p in parts))


def _require_hotfix_branch_matches(project: Project, branch: str, target: Version) -> None:
    expected = project.component.release_branch_format.format(major=target.major,
                                                              minor=target.minor)
    if branch != expected:
        raise ReleaseRefused(f"hotfix {target} belongs on {expected!r}, but {branch!r} is "
                             "checked out; check the version file on this branch.")


def _require_not_behind(git: GitRepo, branch: str, head: str, remote_sha: str | None) -> None:
    if remote_sha is None or remote_sha == head:
        return
    if not git.has_object(remote_sha) or not git.is_ancestor(remote_sha, head):
        raise ReleaseRefused(f"{branch!r} is behind origin/{branch}: someone pushed new "
                             "commits; pull them first (git pull --rebase), then cut again.")


def _require_fragments(project: Project, found: FragmentSet, hotfix: bool) -> None:
    bad = found.problems
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise ReleaseRefused(f"fragments do not pass lint: {bad[0]}{more}; "
                             "`relbot fragment lint` lists them all.")
    if not found.fragments:
        where = rel(found.directory, project.root)
        kind = "hotfix fragments" if hotfix else "pending fragments"
        raise NothingToRelease(f"there are no {kind} in {where}: nothing to release.")
    placeholders = [f.relpath for f in found.fragments if f.is_placeholder]
    if placeholders:
        raise ReleaseRefused(f"{placeholders[0]} still has the placeholder number 'x'; "
                             "`relbot mr check --fix` or a rename gives it its MR number.")


def _require_policies(project: Project, fragments: Sequence[Fragment]) -> None:
    if not project.component.policies:
        return
    from relbot.policy.check import check_policies

    findings: list[Finding] = errors(check_policies(project, None, fragments))
    if findings:
        more = f" and {len(findings) - 1} more" if len(findings) > 1 else ""
        raise ReleaseRefused(f"the policy check fails: {findings[0]}{more}; "
                             "`relbot policy check` lists them all.")


def _all_tags(git: GitRepo, project: Project, remote: bool) -> list[str]:
    glob = tag_glob(project.component)
    tags = set(git.tags(glob))
    if remote:
        tags |= {ref.removeprefix("refs/tags/").removesuffix("^{}")
                 for ref in git.ls_remote([f"refs/tags/{glob}"])}
    return sorted(tags)


def _require_tag_free(git: GitRepo, tag: str, remote: bool) -> None:
    local = git.rev(f"refs/tags/{tag}")
    if local is not None:
        raise ReleaseRefused(f"tag {tag} already exists (on commit {local[:12]}); the "
                             "version file may be out of date, or give --version.")
    if remote and _remote_ref(git, f"refs/tags/{tag}"):
        raise ReleaseRefused(f"tag {tag} already exists on the remote: someone released it "
                             "first; pull, then check the version file.")


def _release_branch(project: Project, git: GitRepo, target: Version, options: CutOptions,
                    remote: bool) -> str | None:
    component = project.component
    if not component.create_release_branch or options.pre or options.hotfix or target.patch:
        return None
    name = component.release_branch_format.format(major=target.major, minor=target.minor)
    if git.rev(f"refs/heads/{name}") is not None:
        return None
    if remote and _remote_ref(git, f"refs/heads/{name}"):
        return None
    return name


# -- resuming ---------------------------------------------------------------------------


def _resumable(project: Project, git: GitRepo, options: CutOptions, forge: Forge,
               branch: str, remote: bool, remote_sha: str | None) -> ReleasePlan | None:
    """A release of this component that an earlier run started and did not finish."""
    head = git.rev("HEAD")
    if head is None:
        return None
    base = remote_sha if remote_sha and git.has_object(remote_sha) else None
    candidates = git.commits_between(base)[:50] if base else [head]
    if head not in candidates:
        candidates.insert(0, head)
    for commit in candidates:
        if git.trailer(commit, TRAILER_COMPONENT) == [project.component.name]:
            plan = _resume_commit(project, git, options, forge, branch, remote, commit)
            if plan is not None and plan.complete and not _asks_for(plan, options):
                return None  # done, and the user asks for something else: plan that
            return plan
    return _resume_prerelease(project, git, options, forge, branch, remote, head)


def _asks_for(plan: ReleasePlan, options: CutOptions) -> bool:
    """Whether ``options`` ask for the release ``plan`` describes (a rerun of it)."""
    if options.pre or options.hotfix != plan.hotfix:
        return False
    return options.version is None or str(parse_version(options.version)) == plan.version


def _resume_commit(project: Project, git: GitRepo, options: CutOptions, forge: Forge,
                   branch: str, remote: bool, commit: str) -> ReleasePlan | None:
    component = project.component
    versions = git.trailer(commit, TRAILER_VERSION)
    if not versions:
        return None
    dates = git.trailer(commit, TRAILER_DATE)
    version = parse_version(versions[0], f"the {TRAILER_VERSION} trailer of {commit[:12]}")
    date = dates[0] if dates else options.date
    tag = component.tag(str(version))
    _finish_interrupted_checkout(git, commit)

    removed = set(git.run("diff", "--name-only", "--diff-filter=D", f"{commit}^",
                          commit).splitlines())
    fragments = _fragments_at(project, git, f"{commit}^", removed)
    hotfix = any(component.hotfix_directory is not None
                 and (project.root / f).parent == component.hotfix_directory
                 for f in removed)
    steps = _state(project, git, forge, branch, remote, commit, tag, options.push)
    notes, release_notes = _render(project, fragments, version, date)
    return ReleasePlan(
        component=component.name, version=str(version), tag=tag, branch=branch,
        base=f"{commit}^", commit=commit, prerelease=False, hotfix=hotfix, date=date,
        notes=notes, release_notes=release_notes,
        fragments=tuple(f.relpath for f in fragments), release_branch=None,
        steps=(Step("commit", True, commit[:12]), *steps), resumed=True, forge=forge.name,
    )


def _resume_prerelease(project: Project, git: GitRepo, options: CutOptions, forge: Forge,
                       branch: str, remote: bool, head: str) -> ReleasePlan | None:
    component = project.component
    pres = [(v, t) for t in git.tags_at(head, tag_glob(component))
            for v in versions_from_tags(component, [t]) if v.prerelease]
    if not pres:
        return None
    version, tag = max(pres)
    steps = _state(project, git, forge, branch, remote, head, tag, options.push,
                   push_branch=False)
    if all(s.done for s in steps):
        if options.pre:
            raise ReleaseRefused(f"HEAD is already released as {tag}; commit something new "
                                 "before the next pre-release.")
        return None  # a complete pre-release: the final release is a new one
    found = _fragments_at(project, git, head)
    notes, release_notes = _render(project, found, version, options.date)
    return ReleasePlan(
        component=component.name, version=str(version), tag=tag, branch=branch, base=head,
        commit=head, prerelease=True, hotfix=False, date=options.date, notes=notes,
        release_notes=release_notes, fragments=tuple(f.relpath for f in found),
        release_branch=None, steps=tuple(steps), resumed=True, forge=forge.name,
    )


def _state(project: Project, git: GitRepo, forge: Forge, branch: str, remote: bool,
           commit: str, tag: str, push: bool, *, push_branch: bool = True) -> list[Step]:
    """Which of tag, push and publish are done for the release at ``commit``."""
    local_tag = git.rev(f"refs/tags/{tag}")
    if local_tag is not None and local_tag != commit:
        raise ReleaseRefused(f"tag {tag} exists but points at {local_tag[:12]}, not at the "
                             f"release commit {commit[:12]}; delete or move it by hand.")
    steps = [Step("tag", local_tag == commit, tag)]
    if remote and push:
        refs = git.ls_remote([f"refs/heads/{branch}", f"refs/tags/{tag}"])
        remote_tag = refs.get(f"refs/tags/{tag}")
        remote_branch = refs.get(f"refs/heads/{branch}")
        tag_pushed = remote_tag is not None and remote_tag == git.object_id(f"refs/tags/{tag}")
        if remote_tag is not None and not tag_pushed and local_tag is not None:
            raise ReleaseRefused(f"the remote's tag {tag} is not this release's tag: someone "
                                 "released it first.")
        branch_pushed = not push_branch or (
            remote_branch is not None and git.has_object(remote_branch)
            and git.is_ancestor(commit, remote_branch))
        steps.append(Step("push", tag_pushed and branch_pushed,
                          f"{branch} and {tag} to origin" if push_branch else tag))
    if forge.name != "none":
        steps.append(Step("publish", forge.get_release(tag) is not None,
                          f"{forge.name} release {tag}"))
    return steps


def _fragments_at(project: Project, git: GitRepo, rev: str,
                  removed: set[str] | None = None) -> list[Fragment]:
    """The fragments at commit ``rev``: those of ``removed`` (a release commit's), or else
    the pending ones (a pre-release's, which never takes hotfix fragments)."""
    directories = {project.fragment_directory(False)}
    if removed is not None:
        directories.add(project.fragment_directory(True))
    fragments: list[Fragment] = []
    for directory in sorted(directories):
        found = scan(project.settings, project.component, project.root, directory,
                     tree=(git, rev))
        fragments.extend(f for f in found.fragments if removed is None or f.relpath in removed)
    return fragments


def _finish_interrupted_checkout(git: GitRepo, commit: str) -> None:
    """A crash between moving the branch and updating the files: finish the update."""
    if git.rev("HEAD") != commit or not git.status():
        return
    if git.ok("diff", "--quiet", f"{commit}^") and git.ok("diff", "--cached", "--quiet",
                                                          f"{commit}^"):
        git.checkout_tree(f"{commit}^", commit)


# -- executing ---------------------------------------------------------------------------


def execute(plan: ReleasePlan, project: Project, forge: Forge,
            report: Callable[[Step], None] = lambda step: None) -> ReleaseResult:
    """Do the steps of ``plan`` that are not done; each one reported when finished."""
    git = _git(project)
    commit = plan.commit or plan.base
    done: list[str] = []
    url = None
    for step in plan.pending:
        if step.key == "commit":
            if git.current_branch() is None:
                git.attach(plan.branch)
            commit = _make_commit(plan, project, git)
        elif step.key == "tag":
            git.tag_annotated(plan.tag, commit, tag_message(plan, project))
        elif step.key == "branch" and plan.release_branch:
            git.create_branch(plan.release_branch, commit)
        elif step.key == "push":
            _push(plan, git, commit)
        elif step.key == "publish":
            release = forge.ensure_release(plan.tag, plan.tag, plan.release_notes.text)
            url = release.url
        done.append(step.key)
        report(step)
    return ReleaseResult(plan, commit, tuple(done), url)


def tag_message(plan: ReleasePlan, project: Project) -> str:
    """A subject line (what ``git tag -n`` and GitLab show), then the notes."""
    component = project.component
    subject = component.commit_message.format(version=plan.version, tag=plan.tag,
                                              component=component.name)
    if plan.prerelease:
        subject = f"Pre-release {plan.tag}"
    return f"{subject}\n\n{plan.notes.text.strip(chr(10))}\n"


def _make_commit(plan: ReleasePlan, project: Project, git: GitRepo) -> str:
    from relbot.notes import changelog_at, write_changelog

    component = project.component
    settings = project.settings
    changelog = settings.base_directory / settings.filename
    existing = changelog_at(git, plan.base, settings, project.root)  # the commit's blob, no link
    with tempfile.TemporaryDirectory(prefix="relbot-changelog-") as tmp:
        scratch = Path(tmp) / settings.filename
        scratch.parent.mkdir(parents=True, exist_ok=True)
        if existing is not None:
            scratch.write_bytes(existing)
        write_changelog(component, settings, plan.notes, Path(tmp))
        new_changelog = scratch.read_bytes()
    writes = {rel(changelog, project.root): new_changelog}
    if component.version_file is not None:
        writes[rel(component.version_file, project.root)] = f"{plan.version}\n".encode()
    message = (component.commit_message.format(version=plan.version, tag=plan.tag,
                                               component=component.name)
               + f"\n\n{TRAILER_COMPONENT}: {component.name}\n{TRAILER_VERSION}: "
               f"{plan.version}\n{TRAILER_DATE}: {plan.date}\n")
    commit = git.commit_files(plan.base, writes, plan.fragments, message)
    git.move_branch(plan.branch, commit, plan.base)
    git.checkout_tree(plan.base, commit)
    return commit


def _push(plan: ReleasePlan, git: GitRepo, commit: str) -> None:
    refspecs = [f"refs/tags/{plan.tag}:refs/tags/{plan.tag}"]
    if not plan.prerelease:
        refspecs.insert(0, f"{commit}:refs/heads/{plan.branch}")
    if plan.release_branch:
        refspecs.append(f"refs/heads/{plan.release_branch}:refs/heads/{plan.release_branch}")
    result = git.push_atomic(refspecs)
    if result.ok:
        return
    reason = _rejection(plan, git, result.message)
    undone = _undo(plan, git, commit)
    raise ReleaseRefused(f"the remote refused the push ({reason}); nothing was released"
                         + (" and your branch is back where it was" if undone else "")
                         + f"; {_recovery(reason)}")


def _rejection(plan: ReleasePlan, git: GitRepo, message: str) -> str:
    refs = git.ls_remote([f"refs/tags/{plan.tag}"])
    if refs:
        return f"the remote already has tag {plan.tag}: someone released first"
    if any(word in message for word in ("fetch first", "non-fast-forward", "stale info")):
        return f"someone pushed to {plan.branch} first"
    hook = [line.removeprefix("remote:").strip() for line in message.splitlines()
            if line.startswith("remote:") and line.removeprefix("remote:").strip()]
    if hook:
        return "refused by the remote: " + hook[-1]
    return message.splitlines()[-1] if message else "no reason given"


def _recovery(reason: str) -> str:
    if "someone" in reason:
        return "pull (git pull --rebase) and run relbot cut again"
    return "fix what the remote objects to and run relbot cut again"


def _undo(plan: ReleasePlan, git: GitRepo, commit: str) -> bool:
    """Take back this release's unpushed commit, tag and branch: the repository is as before."""
    if git.rev(f"refs/tags/{plan.tag}") == commit:
        git.delete_tag(plan.tag)
    if plan.release_branch and git.rev(f"refs/heads/{plan.release_branch}") == commit:
        git.run("branch", "-D", plan.release_branch)
    if plan.prerelease:
        return True
    if git.rev("HEAD") != commit or git.current_branch() != plan.branch:
        return False
    parent = git.rev(f"{commit}^")
    if parent is None:
        return False
    git.move_branch(plan.branch, parent, commit)
    git.checkout_tree(commit, parent)
    return True


@dataclass(frozen=True)
class ComponentOutcome:
    """What ``cut --all`` did for one component."""

    component: str
    plan: ReleasePlan | None
    result: ReleaseResult | None
    skipped: str | None = None


def release_all(
    projects: Sequence[Project],
    options: CutOptions,
    forge_for: Callable[[Project], Forge],
    *,
    dry_run: bool,
    report: Callable[[ReleasePlan, Step], None] = lambda plan, step: None,
) -> list[ComponentOutcome]:
    """Release every component with pending fragments, one after the other.

    Each release is whole before the next starts, so a crash between two
    components leaves finished releases and untouched ones, and a rerun
    skips the finished ones and picks up where it stopped.
    """
    outcomes = []
    for project in projects:
        forge = forge_for(project)
        try:
            plan = plan_release(project, options, forge)
        except NothingToRelease as exc:
            outcomes.append(ComponentOutcome(project.component.name, None, None, str(exc)))
            continue
        if plan.complete:
            outcomes.append(ComponentOutcome(project.component.name, plan, None,
                                             f"{plan.tag} is already released completely"))
            continue
        if dry_run:
            outcomes.append(ComponentOutcome(project.component.name, plan, None))
            continue
        result = execute(plan, project, forge, functools.partial(report, plan))
        outcomes.append(ComponentOutcome(project.component.name, plan, result))
    return outcomes
