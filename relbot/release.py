"""Cutting a release: one description, and the steps derived from it and the repository.

A release is a :class:`~relbot.release_commit.Spec` (component, version, date, flow and
the branches it lands on), recorded in the trailers of its release commit. :func:`derive_steps`
turns a spec and the repository's state into the steps still to do, the same way
for a fresh plan and for a resumed one, so a rerun after a crash (or a CI job
retry) finishes exactly what the first run started. :func:`plan_release` only
reads; :func:`execute` changes things.

A commit counts as relbot's release commit only when its content proves it
(:func:`relbot.release_commit.prove_release_commit`); trailers in a message prove
nothing, since anyone who can get a commit merged can write them.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING

from relbot import branches
from relbot.config import rel
from relbot.errors import GitError, ReleaseRefused, UsageError
from relbot.findings import Finding, errors
from relbot.fragments import Fragment, FragmentSet, scan
from relbot.notes import Notes
from relbot.release_commit import (
    DIRECT,
    FINISH,
    HOTFIX,
    PRE,
    PREPARE,
    ProvenRelease,
    Spec,
    blob,
    changelog_with,
    make_release_commit,
    prove_release_commit,
    release_paths,
)
from relbot.version_file import version_text
from relbot.versions import (
    Version,
    parse_version,
    prerelease,
    require_forward,
    tag_glob,
    versions_from_tags,
)

if TYPE_CHECKING:
    from relbot.config import Component
    from relbot.forge import Forge
    from relbot.git import GitRepo, RemoteRefs
    from relbot.project import Project


ZERO = "0" * 40


class StepKind(Enum):
    """What a step does; :data:`STEP_TITLES` says it for people."""

    COMMIT = "commit"
    MERGE = "merge"
    TAG = "tag"
    BRANCH = "branch"
    PUSH = "push"
    PUBLISH = "publish"
    MERGE_BACK = "merge-back"
    SYNC = "sync"


STEP_TITLES = {
    StepKind.COMMIT: "changelog, version file and fragment removal in one release commit",
    StepKind.MERGE: "prepare branch merged into the release branch",
    StepKind.TAG: "annotated tag holding the notes",
    StepKind.BRANCH: "release branch at the release commit",
    StepKind.PUSH: "atomic push of branch and tag",
    StepKind.PUBLISH: "forge release with the notes as Markdown",
    StepKind.MERGE_BACK: "merge request from the release branch back to the default branch",
    StepKind.SYNC: "the hotfix's changelog section and version file, offered to the default "
                   "branch",
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
    prepare: bool = False
    finish: bool = False
    ci_branch: str | None = None  # CI_COMMIT_BRANCH (relbot.ci_env): the detached job's branch
    # A run that will change the repository (no --dry-run): the plan's status may save the
    # index's refreshed stat data, which spares the checkout re-hashing every file.
    save_stat: bool = False


@dataclass(frozen=True)
class Step:
    """One step of the plan and whether it is already done.

    A push step carries its refspecs as (source, destination ref) pairs; the source
    is ``release`` (the release commit), ``target`` (the commit the tag names) or
    ``tag``, resolved when the step runs.
    """

    kind: StepKind
    done: bool
    detail: str = ""
    pushes: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """The step's name in JSON and messages."""
        return self.kind.value

    @property
    def title(self) -> str:
        """What the step does, for people."""
        return STEP_TITLES[self.kind]


@dataclass(frozen=True)
class ReleasePlan:
    """Everything a release will do, computed without changing anything."""

    spec: Spec
    stage: str  # the flow's part this run does: direct, hotfix, pre, prepare or finish
    tag: str
    base: str  # the parent of the release commit (pre-release: the commit tagged)
    commit: str | None  # the release commit once made
    target: str | None  # the commit the tag names, where already known
    merge_from: str | None  # prepare: the release branch to merge the default branch into
    notes: Notes
    render_release_notes: Callable[[], Notes] = field(repr=False, compare=False)
    fragments: tuple[str, ...]
    steps: tuple[Step, ...]
    default_branch: str | None = None
    resumed: bool = False
    forge: str = "none"

    @functools.cached_property
    def release_notes(self) -> Notes:
        """The forge release's text (Markdown), rendered when first asked for: a cut that
        makes no forge release (``forge = "none"``, ``--no-push``) never renders it."""
        return self.render_release_notes()

    @property
    def component(self) -> str:
        """The component released."""
        return self.spec.component

    @property
    def version(self) -> str:
        """The version released."""
        return self.spec.version

    @property
    def branch(self) -> str:
        """The branch the release commit lands on."""
        return self.spec.branch

    @property
    def release_branch(self) -> str | None:
        """The release branch this release creates or finishes into."""
        return self.spec.release_branch

    @property
    def prerelease(self) -> bool:
        """A pre-release: a tag only, no release commit."""
        return self.spec.flow == PRE

    @property
    def hotfix(self) -> bool:
        """A patch release from the hotfix fragments on a release branch."""
        return self.spec.flow == HOTFIX

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
        kind = {PRE: "pre-release", HOTFIX: "hotfix", PREPARE: "prepared release",
                FINISH: "release"}.get(self.stage, "release")
        state = " (resuming an unfinished release)" if self.resumed and not self.complete else ""
        where = self.spec.release_branch if self.stage == FINISH else self.spec.branch
        lines = [f"{kind} {self.tag} of {self.component} from {where}{state}:"]
        for number, step in enumerate(self.steps, 1):
            mark = "done" if step.done else "todo"
            lines.append(f"  {number}. [{mark}] {step.title}: {step.detail}")
        if self.fragments:
            lines.append(f"  fragments: {len(self.fragments)}")
        return "\n".join(lines)

    def as_dict(self, *, done: Sequence[StepKind] = (), commit: str | None = None,
                release_url: str | None = None, dry_run: bool = False,
                messages: Sequence[str] = (), release_text: bool = True) -> dict[str, object]:
        """The plan (and what a run did of it) as JSON: the same keys for every run.

        Without ``release_text``, ``release_notes`` is None: nobody reads it (the CLI
        without ``--json``), so it is not rendered for them.
        """
        return {
            "component": self.component,
            "version": self.version,
            "tag": self.tag,
            "branch": self.branch,
            "flow": self.stage,
            "prerelease": self.prerelease,
            "hotfix": self.hotfix,
            "resumed": self.resumed,
            "dry_run": dry_run,
            "commit": commit or self.commit,
            "release_url": release_url,
            "notes": self.notes.text,
            "release_notes": self.release_notes.text if release_text else None,
            "fragments": list(self.fragments),
            "steps": [{"step": s.key, "done": s.done or s.kind in done, "detail": s.detail}
                      for s in self.steps],
            "steps_done": [kind.value for kind in done],
            "messages": list(messages),
        }


@dataclass(frozen=True)
class ReleaseResult:
    """What a run did."""

    plan: ReleasePlan
    commit: str
    done: tuple[StepKind, ...] = ()
    release_url: str | None = None
    messages: tuple[str, ...] = ()

    def as_dict(self, *, release_text: bool = True) -> dict[str, object]:
        """The result as JSON-ready data (see :meth:`ReleasePlan.as_dict`)."""
        return self.plan.as_dict(done=self.done, commit=self.commit,
                                 release_url=self.release_url, messages=self.messages,
                                 release_text=release_text)


# -- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    project: Project
    git: GitRepo
    forge: Forge
    options: CutOptions
    branch: str
    remote: bool
    remote_sha: str | None
    head: str
    listing: RemoteRefs | None = None  # the plan's one ls-remote: HEAD, heads, release tags
    detached: bool = False


def plan_release(project: Project, options: CutOptions, forge: Forge) -> ReleasePlan:
    """The release ``options`` ask for, or the unfinished one a rerun must finish."""
    git = _git(project)
    _check_options(project, options)
    _require_no_operation_in_progress(git)
    current = git.current_branch()
    branch = _branch(current, options.ci_branch)
    head = git.rev("HEAD")
    if head is None:
        raise ReleaseRefused("the repository has no commits yet.")
    try:
        return _plan(project, git, options, forge, current, branch, head)
    finally:
        git.drop_started()


def start_questions(project: Project, git: GitRepo, options: CutOptions,
                    head: str | None = None) -> None:
    """Start the git processes every plan asks, together, so that they run side by side
    and beside what Python does meanwhile; each is read where the plan asks it."""
    if not options.finish:
        git.start_status(save_stat=options.save_stat)
    if git.has_remote():  # started by relbot cut before its imports: answered by now
        git.start_remote_refs(_plan_refs(project.component))
    if head is not None and not options.finish:
        git.start_tags_at(head, _prerelease_glob(project.component))


def _plan_refs(component: Component) -> list[str]:
    """What the plan's one ls-remote asks (one network round trip): the remote's HEAD for
    the default branch, every branch, the component's release tags."""
    glob = tag_glob(component)
    return ["refs/heads/*", f"refs/tags/{glob}", f"refs/tags/{glob}^{{}}"]


def _plan(project: Project, git: GitRepo, options: CutOptions, forge: Forge,
          current: str | None, branch: str, head: str) -> ReleasePlan:
    start_questions(project, git, options, head)
    remote = git.has_remote()
    listing = git.remote_refs(_plan_refs(project.component)) if remote else None
    remote_sha = _remote_ref(git, f"refs/heads/{branch}", listing) if remote else None
    if remote_sha is not None and not git.has_object(remote_sha):
        _fetch(git, f"refs/heads/{branch}")  # objects only: planning moves no ref of yours
    ctx = _Context(project, git, forge, options, branch, remote, remote_sha, head, listing,
                   current is None)
    if options.finish:
        return _plan_finish(ctx)
    resumed = _resumable(ctx)
    if resumed is not None:
        return resumed
    return _new_release(ctx)


def _check_options(project: Project, options: CutOptions) -> None:
    component = project.component
    if options.pre and options.hotfix:
        raise UsageError("--pre and --hotfix do not go together; a hotfix is a final "
                         "patch release.")
    if options.prepare and options.finish:
        raise UsageError("--prepare and --finish are two runs: prepare first, finish after "
                         "the soak.")
    if (options.prepare or options.finish) and (options.pre or options.hotfix):
        raise UsageError("--prepare and --finish do not go with --pre or --hotfix.")
    staged = options.prepare or options.finish
    if staged and component.release_flow != PREPARE:
        raise UsageError(f"component {component.name!r} releases directly (release_flow = "
                         "\"direct\"); --prepare and --finish need release_flow = "
                         "\"prepare\".")
    if component.release_flow == PREPARE and not (staged or options.hotfix):
        raise UsageError(f"component {component.name!r} uses the prepare flow: run `relbot "
                         "cut --prepare` on the default branch, then `relbot cut --finish` on "
                         "the prepare branch.")
    if options.version and options.pre and parse_version(options.version).prerelease:
        raise UsageError("--version names a pre-release already; leave out --pre.")


def _git(project: Project) -> GitRepo:
    if project.git is None:
        raise ReleaseRefused(f"{project.root} is not a git repository; relbot cut needs one.")
    return project.git


def _branch(branch: str | None, ci_branch: str | None) -> str:
    if branch:
        return branch
    if ci_branch:
        return ci_branch  # GitLab CI checks out a detached HEAD; execute() attaches it
    raise ReleaseRefused("HEAD is detached; check out the branch to release from.")


def _remote_ref(git: GitRepo, ref: str, listing: RemoteRefs | None = None) -> str | None:
    """The remote's ``ref``: from the plan's listing where it covers the ref, else asked."""
    if listing is not None and listing.covers(ref):
        return listing.refs.get(ref)
    return git.ls_remote([ref]).get(ref)


def _fetch(git: GitRepo, ref: str) -> None:
    """The objects of the remote's ``ref``, and nothing else: an empty ``--refmap`` keeps
    git from updating the remote-tracking branch on the way (git-fetch(1), --refmap), so
    a plan, dry run or not, moves no ref of the clone."""
    with contextlib.suppress(GitError):  # what cannot be fetched is treated as unknown
        git.run("fetch", "-q", "--no-tags", "--no-write-fetch-head", "--refmap=", "origin",
                ref)


def _require_no_operation_in_progress(git: GitRepo) -> None:
    for ref, what in (("MERGE_HEAD", "a merge"), ("CHERRY_PICK_HEAD", "a cherry-pick"),
                      ("REVERT_HEAD", "a revert")):
        if git.rev(ref) is not None:
            raise ReleaseRefused(f"{what} is in progress; finish it (git commit) or abort it "
                                 "first, then cut.")
    gitdir = git.git_dir()
    if (gitdir / "rebase-merge").exists() or (gitdir / "rebase-apply").exists():
        raise ReleaseRefused("a rebase is in progress; finish it (git rebase --continue) or "
                             "abort it first, then cut.")


def _require_full_history(project: Project, git: GitRepo) -> None:
    if project.component.version_file is not None:
        return
    if git.run("rev-parse", "--is-shallow-repository") == "true":
        raise ReleaseRefused("this clone is shallow, so relbot cannot see every release tag "
                             "that gives the current version; fetch the whole history (git "
                             "fetch --unshallow; in GitLab CI set GIT_DEPTH: 0) or set "
                             "version_file.")


def _new_release(ctx: _Context) -> ReleasePlan:
    project, git, options = ctx.project, ctx.git, ctx.options
    component = project.component
    _require_clean(git, save_stat=options.save_stat)
    explicit = parse_version(options.version, "--version") if options.version else None
    flow = (HOTFIX if options.hotfix else
            PRE if options.pre or (explicit is not None and explicit.prerelease) else
            PREPARE if options.prepare else DIRECT)
    default = _require_branch(ctx, flow)
    _require_not_behind(git, ctx.branch, ctx.head, ctx.remote_sha)
    _require_full_history(project, git)

    found = project.fragments(hotfix=options.hotfix)
    _require_fragments(project, found, options.hotfix)
    _require_policies(project, found.fragments)

    current = project.current_version()
    target = explicit if explicit is not None else project.next_version(
        found, hotfix=options.hotfix)
    if options.hotfix:
        _require_hotfix_branch_matches(project, ctx.branch, target)
    if options.pre:
        existing = versions_from_tags(component, _all_tags(git, project, ctx.remote,
                                                           ctx.listing))
        target = prerelease(target.finalize_version(), options.pre, existing)
    require_forward(current, target)
    tag = component.tag(str(target))
    _require_tag_free(git, tag, ctx.remote, ctx.listing)

    merge_from = None
    release_branch = None
    branch = ctx.branch
    if flow == PREPARE:
        branch = branches.prepare_branch(component, str(target))
        release_branch = branches.release_branch(component, target.major, target.minor)
        _require_branch_free(git, branch, ctx.remote, ctx.listing)
        if target.patch:
            merge_from = _branch_tip(git, release_branch, ctx.remote, ctx.listing)
    elif flow == DIRECT:
        release_branch = _new_release_branch(project, git, target, ctx.remote, ctx.listing)
    spec = Spec(component.name, str(target), options.date, flow, branch, release_branch)
    notes, release_notes = _render(project, found.fragments, target, options.date,
                                   _publishes(ctx))
    steps = derive_steps(ctx, spec, flow, None, ctx.head if flow == PRE else None, default)
    return ReleasePlan(
        spec=spec, stage=flow, tag=tag, base=ctx.head, commit=None,
        target=ctx.head if flow == PRE else None, merge_from=merge_from, notes=notes,
        render_release_notes=release_notes,
        fragments=tuple(f.relpath for f in found.fragments),
        steps=steps, default_branch=default, forge=ctx.forge.name,
    )


def derive_steps(ctx: _Context, spec: Spec, stage: str, commit: str | None,
                 target: str | None, default: str | None) -> tuple[Step, ...]:
    """The steps of ``stage`` of the release ``spec``, each marked done or not from what the
    repository, the remote and the forge hold: one derivation for fresh and resumed plans.

    ``commit`` is the release commit (None: still to make), ``target`` the commit the
    tag names (None: the release commit, or, when finishing, not merged yet).
    """
    git, component, forge = ctx.git, ctx.project.component, ctx.forge
    tag = component.tag(spec.version)
    if stage in (DIRECT, HOTFIX):
        target = target or commit
    steps: list[Step] = []
    if stage in (DIRECT, HOTFIX, PREPARE):
        message = component.commit_message.format(version=spec.version, tag=tag,
                                                  component=component.name)
        steps.append(Step(StepKind.COMMIT, commit is not None,
                          commit[:12] if commit else message))
    if stage == FINISH:
        steps.append(Step(StepKind.MERGE, target is not None,
                          f"{spec.branch} into {spec.release_branch}"))
    pushes = _pushes(ctx, spec, stage, tag)
    wanted = [dst for _, dst in pushes] + [f"{dst}^{{}}" for _, dst in pushes
                                            if dst.startswith("refs/tags/")]
    listing = ctx.listing
    if not pushes:
        remote_refs: dict[str, str] = {}
    elif listing is not None and all(listing.covers(ref) for ref in wanted):
        remote_refs = {ref: listing.refs[ref] for ref in wanted if ref in listing.refs}
    else:
        remote_refs = git.ls_remote(wanted)
    if stage != PREPARE:
        steps.append(_tag_step(git, tag, target, remote_refs))
    if stage == DIRECT and spec.release_branch:
        local_branch = git.rev(f"refs/heads/{spec.release_branch}")
        steps.append(Step(StepKind.BRANCH, local_branch is not None and local_branch == commit,
                          spec.release_branch))
    if pushes:
        sources = {"release": commit, "target": target}
        done = all(_on_remote(git, remote_refs, src, dst, sources) for src, dst in pushes)
        shown = ", ".join(dst.removeprefix("refs/heads/").removeprefix("refs/tags/")
                          for _, dst in pushes)
        steps.append(Step(StepKind.PUSH, done, f"{shown} to origin", tuple(pushes)))
    if forge.name != "none" and stage != PREPARE:
        tagged = any(s.kind is StepKind.TAG and s.done for s in steps)
        # no tag, no release: a fresh plan asks the forge nothing
        steps.append(Step(StepKind.PUBLISH, tagged and forge.get_release(tag) is not None,
                          f"{forge.name} release {tag}"))
    if stage == HOTFIX and pushes and default and _newest_line(ctx, spec.version):
        steps.append(_sync_step(ctx, spec, default))
    if stage == FINISH and forge.name != "none" and default and spec.release_branch:
        found = forge.find_merge_request(spec.release_branch, default)
        steps.append(Step(StepKind.MERGE_BACK, found is not None,
                          f"{spec.release_branch} into {default}"))
    return tuple(steps)


def sync_branch(component_tag: str, default: str) -> str:
    """The branch that carries a hotfix's changelog and version to the default branch
    (Tarook's ``hotfix/devel/<name>``)."""
    return f"hotfix/{default}/{component_tag}"


def _newest_line(ctx: _Context, version: str) -> bool:
    """Whether ``version`` belongs to the newest release line (no higher X.Y is tagged)."""
    mine = parse_version(version)
    others = versions_from_tags(ctx.project.component,
                                _all_tags(ctx.git, ctx.project, ctx.remote, ctx.listing))
    return all((v.major, v.minor) <= (mine.major, mine.minor) for v in others)


def _sync_step(ctx: _Context, spec: Spec, default: str) -> Step:
    """Done when the default branch has the section, or the sync branch (and its MR) exist."""
    git, project = ctx.git, ctx.project
    tag = project.component.tag(spec.version)
    branch = sync_branch(tag, default)
    wanted = [f"refs/heads/{default}", f"refs/heads/{branch}"]
    listing = ctx.listing
    if listing is not None and all(listing.covers(ref) for ref in wanted):
        refs = {ref: listing.refs[ref] for ref in wanted if ref in listing.refs}
    else:
        refs = git.ls_remote(wanted)
    tip = refs.get(f"refs/heads/{default}")
    done = False
    if tip is not None:
        if not git.has_object(tip):
            _fetch(git, f"refs/heads/{default}")
        changelog, _, _ = release_paths(project)
        heading = project.component.notes_version(spec.version)
        if git.has_object(tip) and heading in blob(git, tip, changelog).decode("utf-8",
                                                                                 "replace"):
            done = True
    if not done and f"refs/heads/{branch}" in refs:
        done = ctx.forge.name == "none" or ctx.forge.find_merge_request(branch,
                                                                        default) is not None
    return Step(StepKind.SYNC, done, f"{branch} into {default}")


def _pushes(ctx: _Context, spec: Spec, stage: str, tag: str) -> list[tuple[str, str]]:
    """What the push step sends, as (source, destination ref) pairs."""
    if not (ctx.options.push and ctx.remote):
        return []
    pushes: list[tuple[str, str]] = []
    if stage in (DIRECT, HOTFIX):
        pushes.append(("target", f"refs/heads/{spec.branch}"))
        if stage == DIRECT and spec.release_branch:
            pushes.append(("release", f"refs/heads/{spec.release_branch}"))
    elif stage == PREPARE:
        pushes.append(("release", f"refs/heads/{spec.branch}"))
    elif stage == FINISH:
        pushes.append(("target", f"refs/heads/{spec.release_branch}"))
    if stage != PREPARE:
        pushes.append(("tag", f"refs/tags/{tag}"))
    return pushes


def _tag_step(git: GitRepo, tag: str, target: str | None, remote_refs: dict[str, str]) -> Step:
    """The tag step; refuses a tag of that name that is not this release's."""
    remote_tag = remote_refs.get(f"refs/tags/{tag}")
    remote_peeled = remote_refs.get(f"refs/tags/{tag}^{{}}", remote_tag)
    local_tag = git.rev(f"refs/tags/{tag}")
    if local_tag is not None and target is not None and local_tag != target:
        raise ReleaseRefused(f"tag {tag} exists but points at {local_tag[:12]}, not at "
                             f"the release commit {target[:12]}; delete or move it by hand.")
    if remote_tag is not None and remote_peeled != (target or local_tag):
        raise ReleaseRefused(f"the remote's tag {tag} is not this release's tag: someone "
                             "released it first; compare with git ls-remote origin "
                             f"{tag}, then delete your local release or theirs.")
    return Step(StepKind.TAG, local_tag is not None or remote_tag is not None, tag)


def _on_remote(git: GitRepo, remote_refs: dict[str, str], source: str, dst: str,
               sources: dict[str, str | None]) -> bool:
    there = remote_refs.get(dst)
    if there is None:
        return False
    if source == "tag":
        return True  # derive_steps refused a tag that is not this release's
    commit = sources[source]
    return commit is not None and git.has_object(there) and git.is_ancestor(commit, there)


def _render(project: Project, fragments: Sequence[Fragment], version: Version, date: str,
            publish: bool) -> tuple[Notes, Callable[[], Notes]]:
    """The changelog's notes, and how to get the forge release's Markdown text.

    With ``publish`` (a forge release will be made) both in one go: one towncrier run
    where both are Markdown (they differ in the heading only). Without, the release
    text is rendered only if something asks for it (``cut --dry-run --json`` shows it).
    """
    from relbot.notes import render_variants

    component = project.component
    heading = component.notes_version(str(version))
    with_versions = bool(component.notes_supported_versions and component.policies)

    def supported(notes: Notes) -> Notes:
        if not with_versions:
            return notes
        from relbot.policy.show import supported_versions_section

        return replace(notes, text=notes.text.rstrip("\n") + "\n\n"
                       + supported_versions_section(project, notes.fmt).strip("\n") + "\n")

    if publish:
        notes, release_notes = render_variants(component, project.settings, fragments,
                                               heading, date, [(None, True), ("md", False)])
        ready = supported(release_notes)
        return supported(notes), lambda: ready

    (notes,) = render_variants(component, project.settings, fragments, heading, date,
                               [(None, True)])

    def later() -> Notes:
        (release_notes,) = render_variants(component, project.settings, fragments, heading,
                                           date, [("md", False)])
        return supported(release_notes)

    return supported(notes), later


def _publishes(ctx: _Context) -> bool:
    """Whether this run may make a forge release (the only user of its Markdown text)."""
    return ctx.forge.name != "none" and not ctx.options.prepare


def _require_clean(git: GitRepo, *, save_stat: bool = False) -> None:
    dirty = git.status(save_stat=save_stat)
    if dirty:
        shown = ", ".join(line[3:] for line in dirty[:3]) + (" …" if len(dirty) > 3 else "")
        raise ReleaseRefused(f"the work tree is not clean ({shown}); commit or stash first.")


def _require_branch(ctx: _Context, flow: str) -> str | None:
    """Refuse a branch this flow may not release from; returns the default branch."""
    project, branch = ctx.project, ctx.branch
    component = project.component
    if flow == HOTFIX:
        if branches.release_branch_line(component, branch) is None:
            example = component.release_branch_format.format(major="X", minor="Y")
            raise ReleaseRefused(f"a hotfix is cut on a release branch ({example}), not on "
                                 f"{branch!r}.")
        return _default_or_none(ctx)
    default = branches.default_branch(project.config, component, ctx.git, ctx.remote, branch,
                                      ctx.listing)
    if branch != default:
        raise ReleaseRefused(f"releases are cut on the default branch {default!r}, not on "
                             f"{branch!r} (hotfixes: --hotfix on a release branch).")
    return default


def _default_or_none(ctx: _Context) -> str | None:
    try:
        return branches.default_branch(ctx.project.config, ctx.project.component, ctx.git,
                                       ctx.remote, ctx.branch, ctx.listing)
    except ReleaseRefused:
        return None


def _require_hotfix_branch_matches(project: Project, branch: str, target: Version) -> None:
    expected = branches.release_branch(project.component, target.major, target.minor)
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


def _all_tags(git: GitRepo, project: Project, remote: bool,
              listing: RemoteRefs | None = None) -> list[str]:
    glob = tag_glob(project.component)
    tags = set(git.tags(glob))
    if remote:
        if listing is not None and f"refs/tags/{glob}" in listing.patterns:
            seen = [ref for ref in listing.refs if ref.startswith("refs/tags/")]
        else:
            seen = list(git.ls_remote([f"refs/tags/{glob}"]))
        tags |= {ref.removeprefix("refs/tags/").removesuffix("^{}") for ref in seen}
    return sorted(tags)


def _require_tag_free(git: GitRepo, tag: str, remote: bool,
                      listing: RemoteRefs | None = None) -> None:
    local = git.rev(f"refs/tags/{tag}")
    if local is not None:
        raise ReleaseRefused(f"tag {tag} already exists (on commit {local[:12]}); the "
                             "version file may be out of date, or give --version.")
    if remote and _remote_ref(git, f"refs/tags/{tag}", listing):
        raise ReleaseRefused(f"tag {tag} already exists on the remote: someone released it "
                             "first; pull, then check the version file.")


def _require_branch_free(git: GitRepo, branch: str, remote: bool,
                         listing: RemoteRefs | None = None) -> None:
    if git.rev(f"refs/heads/{branch}") is not None or (
            remote and _remote_ref(git, f"refs/heads/{branch}", listing)):
        raise ReleaseRefused(f"branch {branch} exists already but holds no release commit "
                             "relbot can finish; delete it or give --version.")


def _branch_tip(git: GitRepo, branch: str, remote: bool,
                listing: RemoteRefs | None = None) -> str | None:
    there = _remote_ref(git, f"refs/heads/{branch}", listing) if remote else None
    if there is not None:
        if not git.has_object(there):
            _fetch(git, f"refs/heads/{branch}")
        return there if git.has_object(there) else None
    return git.rev(f"refs/heads/{branch}")


def _new_release_branch(project: Project, git: GitRepo, target: Version,
                        remote: bool, listing: RemoteRefs | None = None) -> str | None:
    component = project.component
    if not component.create_release_branch or target.patch or target.prerelease:
        return None
    name = branches.release_branch(component, target.major, target.minor)
    if git.rev(f"refs/heads/{name}") is not None:
        return None
    if remote and _remote_ref(git, f"refs/heads/{name}", listing):
        return None
    return name


# -- resuming --------------------------------------------------------------------------------


def _resumable(ctx: _Context) -> ReleasePlan | None:
    """A release of this component that an earlier run started and did not finish."""
    git, options = ctx.git, ctx.options
    stage = HOTFIX if options.hotfix else PREPARE if options.prepare else DIRECT
    candidates = _candidates(ctx, stage)
    for commit, parent, target in candidates:
        proven = prove_release_commit(ctx.project, git, commit, parent=parent)
        if proven is None or proven.spec.flow != stage:
            continue
        if not proven.spec.branch:  # made before relbot recorded the branch
            proven = replace(proven, spec=replace(proven.spec, branch=ctx.branch))
        if stage == PREPARE:
            if parent is None and not _starts_from(git, proven.parent, ctx.head):
                continue
        elif proven.spec.branch != ctx.branch:
            continue
        plan = _resume_plan(ctx, proven, stage, target)
        if plan.complete and not _asks_for(plan, options):
            return None  # done, and the user asks for something else: plan that
        return plan
    return _resume_prerelease(ctx)


def _candidates(ctx: _Context, stage: str) -> list[tuple[str, str | None, str | None]]:
    """Commits that may be this component's unfinished release: (commit, parent, target)."""
    git = ctx.git
    if stage == PREPARE:
        listed = git.run("for-each-ref", "--format=%(objectname) %(refname:short)",
                         "refs/heads/").splitlines()
        return [(tip, None, None) for tip, _, name in (line.partition(" ") for line in listed)
                if branches.is_prepare_branch(ctx.project.component, name)]
    base = ctx.remote_sha if ctx.remote_sha and git.has_object(ctx.remote_sha) else None
    chain = git.commits_between(base)[:50] if base and base != ctx.head else []
    if ctx.head not in chain:
        chain.insert(0, ctx.head)
    candidates: list[tuple[str, str | None, str | None]] = [(c, None, None) for c in chain]
    retry = ctx.detached  # CI checks out the pipeline's commit detached
    if retry and base and base != ctx.head and git.is_ancestor(ctx.head, base):
        ahead = git.commits_between(ctx.head, base)
        if len(ahead) == 1:  # a retried CI job: the remote holds the release commit
            candidates.append((ahead[0], ctx.head, None))
    if stage == HOTFIX and ctx.project.component.hotfix_mode == "pre-merge":
        candidates += _merged_hotfix(git, ctx.head)
    return candidates


def _merged_hotfix(git: GitRepo, head: str) -> list[tuple[str, str | None, str | None]]:
    """A merged hotfix MR: HEAD merges the MR's branch, whose tip is the release commit."""
    parents = git.run("rev-list", "--parents", "-n", "1", head).split()[1:]
    if len(parents) != 2:
        return []
    if git.run("rev-parse", f"{head}^{{tree}}") != git.run("rev-parse",
                                                           f"{parents[1]}^{{tree}}"):
        return []  # the merge brought more than the hotfix: no release commit to tag as is
    return [(parents[1], None, head)]


def _starts_from(git: GitRepo, parent: str, head: str) -> bool:
    """Whether a prepare commit's parent is HEAD, or a merge of HEAD into a release branch."""
    if parent == head:
        return True
    return head in git.run("rev-list", "--parents", "-n", "1", parent).split()[1:]


def _asks_for(plan: ReleasePlan, options: CutOptions) -> bool:
    """Whether ``options`` ask for the release ``plan`` describes (a rerun of it)."""
    if options.pre or options.hotfix != plan.hotfix:
        return False
    return options.version is None or str(parse_version(options.version)) == plan.version


def _resume_plan(ctx: _Context, proven: ProvenRelease, stage: str,
                 target: str | None) -> ReleasePlan:
    project = ctx.project
    spec = proven.spec
    if not spec.date:
        spec = replace(spec, date=ctx.options.date)
    version = parse_version(spec.version)
    fragments = _fragments_at(project, ctx.git, proven.parent, set(proven.removed))
    notes, release_notes = _render(project, fragments, version, spec.date, _publishes(ctx))
    default = _default_or_none(ctx)
    steps = derive_steps(ctx, spec, stage, proven.commit, target, default)
    return ReleasePlan(
        spec=spec, stage=stage, tag=project.component.tag(spec.version), base=proven.parent,
        commit=proven.commit, target=target or (proven.commit if stage != FINISH else None),
        merge_from=None, notes=notes, render_release_notes=release_notes,
        fragments=tuple(f.relpath for f in fragments), steps=steps, default_branch=default,
        resumed=True, forge=ctx.forge.name,
    )


def _plan_finish(ctx: _Context) -> ReleasePlan:
    """``cut --finish`` on a prepare branch: the prepared release, merged, tagged, published."""
    git, component = ctx.git, ctx.project.component
    if not branches.is_prepare_branch(component, ctx.branch):
        example = component.prepare_branch_format.format(version="X.Y.Z")
        raise ReleaseRefused(f"--finish runs on a prepare branch ({example}), not on "
                             f"{ctx.branch!r}.")
    _require_not_behind(git, ctx.branch, ctx.head, ctx.remote_sha)
    proven = None
    for commit in git.run("rev-list", "--first-parent", "-n", "20", ctx.head).splitlines():
        found = prove_release_commit(ctx.project, git, commit)
        if found is not None and found.spec.flow == PREPARE:
            proven = found
            break
    if proven is None or proven.spec.branch != ctx.branch or not proven.spec.release_branch:
        raise ReleaseRefused(f"{ctx.branch!r} holds no release commit of {component.name!r} "
                             "made by `relbot cut --prepare`; nothing to finish.")
    release_branch = proven.spec.release_branch
    tag = component.tag(proven.spec.version)
    target = git.rev(f"refs/tags/{tag}")
    if target is None:
        for tip in (git.rev(f"refs/heads/{release_branch}"),
                    _branch_tip(git, release_branch, ctx.remote, ctx.listing)
                    if ctx.remote else None):
            if tip is not None and git.is_ancestor(ctx.head, tip):
                target = tip
                break
    return _resume_plan(ctx, proven, FINISH, target)


def _resume_prerelease(ctx: _Context) -> ReleasePlan | None:
    project, git, options = ctx.project, ctx.git, ctx.options
    component = project.component
    pres = [(v, t) for t in git.tags_at(ctx.head, _prerelease_glob(component))
            for v in versions_from_tags(component, [t]) if v.prerelease]
    if not pres or options.prepare or options.hotfix:
        return None
    version, tag = max(pres)
    spec = Spec(component.name, str(version), options.date, PRE, ctx.branch)
    steps = derive_steps(ctx, spec, PRE, None, ctx.head, None)
    if all(s.done for s in steps):
        if options.pre:
            raise ReleaseRefused(f"HEAD is already released as {tag}; commit something new "
                                 "before the next pre-release.")
        return None  # a complete pre-release: the final release is a new one
    found = _fragments_at(project, git, ctx.head)
    notes, release_notes = _render(project, found, version, options.date, _publishes(ctx))
    return ReleasePlan(
        spec=spec, stage=PRE, tag=tag, base=ctx.head, commit=None, target=ctx.head,
        merge_from=None, notes=notes, render_release_notes=release_notes,
        fragments=tuple(f.relpath for f in found), steps=steps, resumed=True,
        forge=ctx.forge.name,
    )


def _prerelease_glob(component: Component) -> str:
    """A glob that matches every pre-release tag of the component (``v[0-9]*-*``) and no
    final one: a tag at HEAD of the release just made needs no look at every tag."""
    head, _, tail = component.tag_format.partition("{version}")
    return f"{head}[0-9]*-*{tail}"


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


# -- executing -------------------------------------------------------------------------------


@dataclass
class _Progress:
    """What execute has made so far (the plan itself stays frozen)."""

    commit: str | None
    target: str | None
    url: str | None = None
    messages: list[str] = field(default_factory=list)
    push_env: Mapping[str, str] = field(default_factory=dict)


_Action = Callable[["ReleasePlan", "Project", "GitRepo", "Forge", _Progress, Step], None]


def check_release_access(plan: ReleasePlan, forge: Forge) -> None:
    """The forge's one cheap look-up before anything is pushed, for a plan that pushes.

    A wrong token or an unreachable GitLab must not leave a pushed tag without its
    release; a dry run asks the same (15.17), so both fail alike, with one sentence.
    """
    verify = getattr(forge, "verify_release_access", None)
    if verify is not None and any(s.kind is StepKind.PUSH for s in plan.pending):
        verify()


def execute(plan: ReleasePlan, project: Project, forge: Forge,
            report: Callable[[Step], None] = lambda step: None, *,
            push_env: Mapping[str, str] | None = None) -> ReleaseResult:
    """Do the steps of ``plan`` that are not done; each one reported when finished.

    ``push_env`` is what every ``git push`` gets besides the environment: the release
    token's header where the push goes to the GitLab the job runs on
    (:func:`relbot.forge.credentials.push_auth_env`).
    """
    git = _git(project)
    progress = _Progress(plan.commit, plan.target, push_env=dict(push_env or {}))
    if plan.commit is not None and plan.stage in (DIRECT, HOTFIX):
        _finish_interrupted_checkout(git, plan.commit, plan.base)
    check_release_access(plan, forge)
    done: list[StepKind] = []
    for step in plan.pending:
        try:
            _ACTIONS[step.kind](plan, project, git, forge, progress, step)
        except GitError as exc:
            raise _concurrent(exc, plan) from None
        done.append(step.kind)
        report(step)
    if plan.stage == FINISH and forge.name == "none" and plan.default_branch:
        rb = plan.spec.release_branch
        progress.messages.append(
            f"merge {rb} back into {plan.default_branch} by hand: git checkout "
            f"{plan.default_branch} && git merge {rb} && git push origin "
            f"{plan.default_branch}")
    commit = progress.commit or progress.target or plan.base
    return ReleaseResult(plan, commit, tuple(done), progress.url, tuple(progress.messages))


def _concurrent(exc: GitError, plan: ReleasePlan) -> Exception:
    text = str(exc)
    if "cannot lock ref" in text or ".lock" in text:
        return ReleaseRefused(f"another git command or relbot cut is changing this clone at "
                              f"the same time (a ref or the index is locked); let it finish, "
                              f"then run relbot cut again to finish {plan.tag}.")
    return exc


def _do_commit(plan: ReleasePlan, project: Project, git: GitRepo, forge: Forge,
               progress: _Progress, step: Step) -> None:
    base = plan.base
    if plan.merge_from is not None:
        base = _merge(git, plan.merge_from, plan.base,
                      f"Merge {plan.default_branch or plan.base[:12]} into {plan.branch}")
    commit = make_release_commit(project, git, plan.spec, base, plan.notes, plan.fragments)
    if plan.stage == PREPARE:
        git.run("update-ref", f"refs/heads/{plan.spec.branch}", commit, ZERO)
    else:
        if git.current_branch() is None:
            git.attach(plan.spec.branch)
        git.move_branch(plan.spec.branch, commit, base)
        git.checkout_tree(base, commit)
    progress.commit = commit
    progress.target = commit


def _do_merge(plan: ReleasePlan, project: Project, git: GitRepo, forge: Forge,
              progress: _Progress, step: Step) -> None:
    rb = plan.spec.release_branch
    if rb is None or plan.commit is None:
        raise AssertionError("a finish plan names its release branch and commit")
    head = git.rev("HEAD") or plan.commit
    local = git.rev(f"refs/heads/{rb}")
    tip = _branch_tip(git, rb, git.has_remote()) or local
    if tip is None:
        target = head  # X.Y.0: the release branch starts at the prepared release
    elif git.is_ancestor(head, tip):
        target = tip
    elif git.is_ancestor(tip, head):
        target = head
    else:
        target = _merge(git, tip, head, f"Merge {plan.spec.branch} into {rb}")
    git.run("update-ref", f"refs/heads/{rb}", target, local or ZERO)
    progress.target = target


def _merge(git: GitRepo, ours: str, theirs: str, message: str) -> str:
    """A merge commit of ``theirs`` into ``ours``, made without touching the work tree."""
    try:
        tree = git.run("merge-tree", "--write-tree", ours, theirs).splitlines()[0]
    except GitError:
        raise ReleaseRefused(f"{message} has conflicts; merge by hand, push, and run "
                             "relbot cut again.") from None
    return git.run("commit-tree", tree, "-p", ours, "-p", theirs, "-m", message)


def _do_tag(plan: ReleasePlan, project: Project, git: GitRepo, forge: Forge,
            progress: _Progress, step: Step) -> None:
    target = progress.target or progress.commit or plan.base
    git.tag_annotated(plan.tag, target, tag_message(plan, project))


def _do_branch(plan: ReleasePlan, project: Project, git: GitRepo, forge: Forge,
               progress: _Progress, step: Step) -> None:
    if plan.spec.release_branch is None or progress.commit is None:
        raise AssertionError("a branch step follows the commit of a release-branch release")
    git.create_branch(plan.spec.release_branch, progress.commit)


def _do_push(plan: ReleasePlan, project: Project, git: GitRepo, forge: Forge,
             progress: _Progress, step: Step) -> None:
    sources = {"release": progress.commit, "target": progress.target or progress.commit,
               "tag": f"refs/tags/{plan.tag}"}
    refspecs = [f"{sources[src]}:{dst}" for src, dst in step.pushes]
    result = git.push_atomic(refspecs, env=progress.push_env)
    if result.ok:
        return
    reason = _rejection(plan, git, result.message)
    undone = plan.stage in (DIRECT, HOTFIX, PRE) and _undo(plan, git, progress)
    raise ReleaseRefused(f"the remote refused the push ({reason}); nothing was released"
                         + (" and your branch is back where it was" if undone else "")
                         + f"; {_recovery(reason)}")


def _do_publish(plan: ReleasePlan, project: Project, git: GitRepo, forge: Forge,
                progress: _Progress, step: Step) -> None:
    progress.url = forge.ensure_release(plan.tag, plan.tag, plan.release_notes.text).url


def _do_merge_back(plan: ReleasePlan, project: Project, git: GitRepo, forge: Forge,
                   progress: _Progress, step: Step) -> None:
    rb, default = plan.spec.release_branch, plan.default_branch
    if rb is None or default is None:
        raise AssertionError("a merge-back step has a release and a default branch")
    forge.ensure_merge_request(rb, default, f"Merge {rb} ({plan.tag}) back into {default}",
                               f"relbot released {plan.tag} on {rb}; this brings its "
                               f"changelog and version file to {default}.", ("Release",))


def _do_sync(plan: ReleasePlan, project: Project, git: GitRepo, forge: Forge,
             progress: _Progress, step: Step) -> None:
    default = plan.default_branch
    if default is None:
        raise AssertionError("a sync step has a default branch")
    branch = sync_branch(plan.tag, default)
    if _remote_ref(git, f"refs/heads/{branch}") is None:
        _fetch(git, f"refs/heads/{default}")
        tip = _remote_ref(git, f"refs/heads/{default}")
        if tip is None or not git.has_object(tip):
            raise ReleaseRefused(f"the default branch {default!r} cannot be fetched, so the "
                                 f"hotfix {plan.tag} cannot be offered to it; fetch it and run "
                                 "relbot cut --hotfix again.")
        writes = {release_paths(project)[0]: changelog_with(project, git, tip, plan.notes)}
        version_file = release_paths(project)[1]
        if version_file is not None:
            writes[version_file] = f"{plan.version}\n".encode()
        commit = git.commit_files(tip, writes, (), f"Update changelog and version for "
                                  f"hotfix release {plan.tag}\n")
        result = git.push_atomic([f"{commit}:refs/heads/{branch}"], env=progress.push_env)
        if not result.ok:
            raise ReleaseRefused(f"the remote refused the sync branch {branch} ("
                                 f"{_refusal_reason(branch, result.message)}); {plan.tag} itself "
                                 "is released; run relbot cut --hotfix again.")
    found = forge.ensure_merge_request(
        branch, default, f"Sync hotfix {plan.tag} to {default}",
        f"relbot released {plan.tag} on {plan.branch}; this brings its changelog section and "
        f"version file to {default}.", ("Release",))
    if found is None:
        progress.messages.append(
            f"merge {branch} into {default} by hand: git fetch origin {branch} && git "
            f"checkout {default} && git merge FETCH_HEAD && git push origin {default}")


_ACTIONS: dict[StepKind, _Action] = {
    StepKind.COMMIT: _do_commit,
    StepKind.MERGE: _do_merge,
    StepKind.TAG: _do_tag,
    StepKind.BRANCH: _do_branch,
    StepKind.PUSH: _do_push,
    StepKind.PUBLISH: _do_publish,
    StepKind.MERGE_BACK: _do_merge_back,
    StepKind.SYNC: _do_sync,
}


def _finish_interrupted_checkout(git: GitRepo, commit: str, parent: str) -> None:
    """A crash between moving the branch and updating the files: finish the update."""
    if git.rev("HEAD") != commit or not git.status():
        return
    if git.ok("diff", "--quiet", parent) and git.ok("diff", "--cached", "--quiet", parent):
        git.checkout_tree(parent, commit)


def tag_message(plan: ReleasePlan, project: Project) -> str:
    """A subject line (what ``git tag -n`` and GitLab show), then the notes."""
    component = project.component
    subject = component.commit_message.format(version=plan.version, tag=plan.tag,
                                              component=component.name)
    if plan.prerelease:
        subject = f"Pre-release {plan.tag}"
    return f"{subject}\n\n{plan.notes.text.strip(chr(10))}\n"


def write_hotfix_commit(project: Project, base: str, date: str, target_branch: str) -> str:
    """The pre-merge hotfix release commit on ``base`` (a hotfix MR's head); returns its id.

    Patch bump of the version file at ``base``, changelog section from the hotfix
    fragments at ``base``, those fragments removed. No ref moves: the caller (``mr
    check --fix``) pushes it to the MR's branch. ``cut --hotfix`` on the release branch
    later finds it by :func:`prove_release_commit` and only tags and publishes it.
    """
    git = _git(project)
    component = project.component
    if component.version_file is None:
        raise ReleaseRefused(f"component {component.name!r} has no version_file; a "
                             "pre-merge hotfix commit needs one.")
    directory = project.fragment_directory(True)
    found = scan(project.settings, component, project.root, directory, tree=(git, base))
    _require_fragments(project, found, True)
    version_path = rel(component.version_file, project.root)
    current = parse_version(version_text(component.version_file,
                                         blob(git, base, version_path), version_path),
                            f"version file {version_path} holds")
    version = current.bump_patch()
    expected = branches.release_branch(component, version.major, version.minor)
    if target_branch != expected:
        raise ReleaseRefused(f"hotfix {version} belongs on {expected!r}, but the merge "
                             f"request targets {target_branch!r}.")
    spec = Spec(component.name, str(version), date, HOTFIX, target_branch)
    notes, _ = _render(project, found.fragments, version, date, False)
    return make_release_commit(project, git, spec, base, notes,
                               [f.relpath for f in found.fragments])


def _rejection(plan: ReleasePlan, git: GitRepo, message: str) -> str:
    """Why the release's push was refused: its tag on the remote, else the push's words."""
    refs = git.ls_remote([f"refs/tags/{plan.tag}"])
    if refs:
        return f"the remote already has tag {plan.tag}: someone released first"
    return _refusal_reason(plan.branch, message)


def _refusal_reason(branch: str, message: str) -> str:
    """Why a push to ``branch`` was refused, from what the remote said (a push that did not
    carry the release's tag, such as a hotfix's sync branch, must not blame that tag)."""
    if any(word in message for word in ("fetch first", "non-fast-forward", "stale info")):
        return f"someone pushed to {branch} first"
    hook = [line.removeprefix("remote:").strip() for line in message.splitlines()
            if line.startswith("remote:") and line.removeprefix("remote:").strip()]
    if hook:
        return "refused by the remote: " + hook[-1]
    return message.splitlines()[-1] if message else "no reason given"


def _recovery(reason: str) -> str:
    if "someone" in reason:
        return "pull (git pull --rebase) and run relbot cut again"
    return "fix what the remote objects to and run relbot cut again"


def _undo(plan: ReleasePlan, git: GitRepo, progress: _Progress) -> bool:
    """Take back this release's unpushed commit, tag and branch: the repository is as before."""
    commit = progress.commit or plan.base
    if git.rev(f"refs/tags/{plan.tag}") == (progress.target or commit):
        git.delete_tag(plan.tag)
    rb = plan.spec.release_branch
    if plan.stage == DIRECT and rb and git.rev(f"refs/heads/{rb}") == commit:
        git.run("branch", "-D", rb)
    if plan.prerelease:
        return True
    if git.rev("HEAD") != commit or git.current_branch() != plan.branch:
        return False
    parent = git.rev(f"{commit}^")
    if parent is None or parent != plan.base:
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
    push_env: Mapping[str, str] | None = None,
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
            check_release_access(plan, forge)
            outcomes.append(ComponentOutcome(project.component.name, plan, None))
            continue
        result = execute(plan, project, forge, functools.partial(report, plan),
                         push_env=push_env)
        outcomes.append(ComponentOutcome(project.component.name, plan, result))
    return outcomes
