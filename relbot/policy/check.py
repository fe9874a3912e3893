"""``relbot policy check``: the repository's declared versions against its policies.

Without a base revision it judges what the repository declares now: a dropped
or unknown version is an error, a deprecated one a warning, and versions of
two subjects must fit each other's compatibility ranges (OVN for the declared
OpenStack release). With a base (the merge request's base, the last release)
it also judges the change: each single setting that changed must be an
allowed upgrade in one step, and a version that leaves a declared list or the
support window needs a ``removal`` or ``BREAKING`` fragment that names it, as
Yaook/K8s's deprecation policy asks. ``relbot cut`` and ``relbot mr check``
call :func:`check_policies` and refuse on errors.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from relbot.config import did_you_mean
from relbot.errors import PolicyError, UsageError
from relbot.findings import Finding
from relbot.policy import files, graph, load, window
from relbot.policy.drift import drift
from relbot.policy.lifecycle import FUTURE, Clock, today
from relbot.policy.model import (
    DEPRECATED,
    DROPPED,
    Policy,
    SupportWindow,
    UpgradeGraph,
    parse_version,
)
from relbot.policy.probes import Declared, read_probe
from relbot.policy.trees import GitTree, Tree, WorkTree

if TYPE_CHECKING:
    from relbot.fragments import Fragment
    from relbot.git import GitRepo
    from relbot.project import Project

# Fragment types that may announce a removal (compared case-insensitively): Yaook's
# `removal` and `BREAKING`, and keep-a-changelog's `removed` of the default preset.
ANNOUNCING_TYPES = ("removal", "breaking", "removed")


@dataclass(frozen=True)
class PolicyReport:
    """What a policy check found: the findings, and every version it checked."""

    findings: tuple[Finding, ...]
    declared: tuple[Declared, ...]
    titles: Mapping[str, str]  # policy name -> title, for people

    def summary(self, component: str) -> str:
        """One line for the console: what was checked, so an "ok" is never empty."""
        if not self.titles:
            return f"component {component} has no policies: nothing was checked."
        if not self.declared:
            state = "fail" if any(f.severity == "error" for f in self.findings) else "ok"
            return (f"policies of {component} {state}, but nothing was checked: no probe found "
                    "a declared version.")
        titles: dict[str, list[str]] = {}
        for item in self.declared:
            titles.setdefault(self.titles.get(item.policy, item.policy), []).append(item.value)
        checked = "; ".join(f"{name} {', '.join(values)}" for name, values in titles.items())
        state = "fail" if any(f.severity == "error" for f in self.findings) else "ok"
        return f"policies of {component} {state} (checked {checked})."


def check_policies(project: Project, base: str | None = None,
                   fragments: Sequence[Fragment] = (), clock: Clock = today) -> list[Finding]:
    """Findings of the component's policies; no error finding means the check passes.

    The same as :func:`run_check`, for callers that need only the findings (``mr check``,
    ``cut``); warnings are findings with severity ``warning``.
    """
    return list(run_check(project, base, fragments, clock).findings)


def policy_warnings(project: Project, *, hotfix: bool = False) -> list[str]:
    """The warnings of the policy check (stale data, upstream ends, ...), for ``cut`` to
    show before it refuses or releases; the errors are ``cut``'s own precondition."""
    if not project.component.policies:
        return []
    fragments = project.fragments(hotfix=hotfix).fragments
    return [str(f) for f in check_policies(project, None, fragments)
            if f.severity == "warning"]


def run_check(project: Project, base: str | None = None,
              fragments: Sequence[Fragment] = (), clock: Clock = today) -> PolicyReport:
    """The policy check of the component: findings and the versions it read.

    ``base`` adds the checks of the change since that revision; ``fragments``
    (the pending ones) are where removals must be announced; ``clock`` gives
    the day the upstream statuses are derived for. Raises PolicyError for a
    malformed policy file or probe.
    """
    component = project.component
    if not component.policies:
        return PolicyReport((), (), {})
    policies = load.component_policies(project.root, component, project.config.source_name,
                                       project.steering)
    day = clock()
    findings: list[Finding] = []
    now = _declared(policies, WorkTree(project.root), findings, require=True)
    for policy in policies:
        findings.extend(_coverage(policy, now[policy.name]))
        findings.extend(_judge(policy, now[policy.name], day))
        findings.extend(drift(policy, day))
    findings.extend(_compatibility(policies, now))
    if base is not None:
        findings.extend(_since(project, policies, now, base, fragments))
    declared = tuple(item for policy in policies for item in now[policy.name])
    return PolicyReport(tuple(sorted(findings, key=lambda f: (f.path, f.line or 0, f.rule,
                                                               f.message))), declared,
                        {p.name: p.title for p in policies})


def _declared(policies: Sequence[Policy], tree: Tree, findings: list[Finding], *,
              require: bool) -> dict[str, list[Declared]]:
    found: dict[str, list[Declared]] = {}
    for policy in policies:
        found[policy.name] = []
        for probe in policy.probes:
            declared, problems = read_probe(probe, policy.name, tree, require=require)
            found[policy.name].extend(declared)
            findings.extend(problems)
    return found


def _coverage(policy: Policy, declared: Sequence[Declared]) -> Iterator[Finding]:
    """A policy that found nothing to check says so: no silent "ok"."""
    where = policy.relpath or policy.source
    if not policy.probes:
        yield Finding(where, "policy-checked-nothing",
                      f"the {policy.title} policy has no probes, so nothing in the repository "
                      "was checked against it; add probes (docs/policies.md) or drop the "
                      "policy from the component", severity="warning")
    elif not declared:
        tried = "; ".join(p.label for p in policy.probes)
        yield Finding(where, "probe-found-nothing",
                      f"none of the {len(policy.probes)} {policy.title} probe(s) found a "
                      f"declared version, so nothing was checked (tried: {tried})")


def _judge(policy: Policy, declared: Sequence[Declared],
           day: datetime.date) -> Iterator[Finding]:
    """Each declared version on its own: known, and not dropped."""
    for item in declared:
        if isinstance(policy, SupportWindow):
            yield from _judge_window(policy, item)
            continue
        if not isinstance(policy, UpgradeGraph):
            continue
        release = policy.release(item.value)
        if release is None:
            yield Finding(item.path, "policy-unknown-release",
                          f"{item.slot} is {item.value!r}, which is no {policy.title} release "
                          f"of {policy.source}"
                          + did_you_mean(item.value.lower(), policy.all_names()), item.line,
                          severity=policy.checks.level("policy-unknown-release"))
        elif release.life is not None and release.life.phase(day) == FUTURE:
            yield Finding(item.path, "policy-not-released",
                          f"{item.slot} is {policy.title} {release.name}, which is not "
                          f"released yet (planned for {release.released})", item.line,
                          severity=policy.checks.level("policy-not-released"))


def _judge_window(policy: SupportWindow, item: Declared) -> Iterator[Finding]:
    version = parse_version(item.value)
    if version is None:
        yield Finding(item.path, "policy-not-a-version",
                      f"{item.slot} is {item.value!r}, not a {policy.title} version "
                      "(like 1.29.5)", item.line)
        return
    entry = policy.entry_for(version)
    subject = f"{policy.title} {item.value} ({item.slot})"
    if entry is None:
        known = ", ".join(e.label for e in policy.entries)
        yield Finding(item.path, "policy-unknown-version",
                      f"{subject} is not in the support window of {policy.source} ({known})",
                      item.line, severity=policy.checks.level("policy-unknown-version"))
    elif entry.status == DROPPED:
        eol = f", end of life {entry.end_of_life}" if entry.end_of_life else ""
        yield Finding(item.path, "policy-dropped",
                      f"{subject} is dropped by {policy.source}{eol}; move to a supported "
                      "version", item.line, severity=policy.checks.level("policy-dropped"))
    elif entry.status == DEPRECATED:
        yield Finding(item.path, "policy-deprecated",
                      f"{subject} is deprecated by {policy.source} and will be dropped; plan "
                      "the move to a supported version", item.line,
                      severity=policy.checks.level("policy-deprecated"))


def _compatibility(policies: Sequence[Policy],
                   now: Mapping[str, Sequence[Declared]]) -> Iterator[Finding]:
    """Declared versions of one subject against the ranges another subject's release needs."""
    by_name = {p.name: p for p in policies}
    for policy in policies:
        for other_name in policy.compatibility:
            other = by_name.get(other_name)
            if not isinstance(other, UpgradeGraph):
                continue
            ranges = load.compatibility_ranges(policy, other)
            for needs in now[other.name]:
                release = other.release(needs.value)
                if release is None or release.name not in ranges:
                    continue
                wanted = ranges[release.name]
                for item in now[policy.name]:
                    version = parse_version(item.value)
                    if version is None or wanted.contains(version, prereleases=True):
                        continue
                    yield Finding(item.path, "policy-compatibility",
                                  f"{policy.title} {item.value} ({item.slot}) does not fit "
                                  f"{other.title} {release.name} ({needs.where()}), which "
                                  f"runs with {policy.title} {wanted}", item.line)


def _since(project: Project, policies: Sequence[Policy], now: Mapping[str, list[Declared]],
           base: str, fragments: Sequence[Fragment]) -> Iterator[Finding]:
    """The change since ``base``: upgrades in one allowed step, removals announced."""
    git = project.git
    if git is None:
        raise UsageError(f"--base needs a git repository, and {project.root} is not one.")
    if not git.ok("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"):
        raise UsageError(f"--base {base!r} is not a commit of this repository.")
    tree = GitTree(git, base)
    before = _declared(policies, tree, [], require=False)
    for policy in policies:
        yield from _upgrades(policy, before[policy.name], now[policy.name], base)
        yield from _dropped_declared(policy, before[policy.name], now[policy.name], base,
                                     fragments)
        old = _policy_at(policy, git, base)
        if isinstance(old, SupportWindow) and isinstance(policy, SupportWindow):
            yield from _dropped_window(old, policy, base, fragments)


def _upgrades(policy: Policy, before: Sequence[Declared], after: Sequence[Declared],
              base: str) -> Iterator[Finding]:
    """A single setting that changed must change by one allowed upgrade."""
    old = {(d.path, d.slot): d for d in before if not d.listed}
    for item in after:
        prior = old.get((item.path, item.slot))
        if item.listed or prior is None or prior.value == item.value:
            continue
        problem = _upgrade_problem(policy, prior.value, item.value)
        if problem is not None:
            yield Finding(item.path, problem[0],
                          f"{item.slot} changes since {base}: {problem[1]}", item.line)


def _upgrade_problem(policy: Policy, old_text: str, new_text: str) -> tuple[str, str] | None:
    if isinstance(policy, SupportWindow):
        old, new = parse_version(old_text), parse_version(new_text)
        if old is None or new is None:
            return None  # not a version: reported on its own
        problem = window.step_problem(policy, old, new)
        return None if problem is None else ("policy-upgrade-step", problem)
    if not isinstance(policy, UpgradeGraph):
        return None
    start, goal = policy.release(old_text), policy.release(new_text)
    if start is None or goal is None or start == goal or graph.allows(policy, start, goal):
        return None
    route = graph.shortest_path(policy, start, goal)
    if route.steps is None:
        return "policy-upgrade-path", route.reason
    return ("policy-upgrade-path",
            f"{start.name} -> {goal.name} is not one allowed {policy.title} upgrade; "
            "upgrade along " + " -> ".join(route.steps) + ", one step per release")


def _identity(policy: Policy, value: str) -> str:
    """What makes two declared values the same version (``antelope`` is ``2023.1``)."""
    if isinstance(policy, UpgradeGraph):
        release = policy.release(value)
        return value if release is None else release.name
    version = parse_version(value)
    return value if version is None else str(version)


def _names(policy: Policy, value: str) -> list[str]:
    """The words a fragment may use for ``value``: its names, or the version and its minor."""
    if isinstance(policy, UpgradeGraph):
        release = policy.release(value)
        return [value] if release is None else list(release.names)
    version = parse_version(value)
    if version is None:
        return [value]
    return [value, f"{version.major}.{version.minor}"]


def _dropped_declared(policy: Policy, before: Sequence[Declared], after: Sequence[Declared],
                      base: str, fragments: Sequence[Fragment]) -> Iterator[Finding]:
    """A version that leaves a declared list (``supported_k8s_versions``) must be announced."""
    remaining: dict[tuple[str, str], list[Declared]] = {}
    for item in after:
        if item.listed:
            remaining.setdefault((item.path, item.group), []).append(item)
    for item in before:
        kept = remaining.get((item.path, item.group))
        if not item.listed or kept is None:
            continue  # the list itself is gone: a probe to fix, reported at HEAD
        if any(_identity(policy, k.value) == _identity(policy, item.value) for k in kept):
            continue
        names = _names(policy, item.value)
        if not announced(names, fragments):
            yield Finding(item.path, "policy-drop-unannounced",
                          f"{policy.title} {item.value} left {item.group} since {base}; "
                          f"announce it in a removal or BREAKING fragment that names "
                          f"{names[-1]}", min(k.line or 0 for k in kept) or None)


def _dropped_window(old: SupportWindow, new: SupportWindow, base: str,
                    fragments: Sequence[Fragment]) -> Iterator[Finding]:
    """A version the window supported or deprecated and now drops must be announced."""
    for entry in old.entries:
        if entry.status == DROPPED:
            continue
        now = next((e for e in new.entries if e.versions == entry.versions), None)
        if now is not None and now.status != DROPPED:
            continue
        if announced([entry.label], fragments):
            continue
        how = "dropped from" if now is not None else "removed from"
        yield Finding(new.relpath or new.source, "policy-drop-unannounced",
                      f"{new.title} {entry.label} is {how} the support window since {base} "
                      f"(it was {entry.status}); announce it in a removal or BREAKING fragment "
                      f"that names {entry.label}", now.line if now is not None else None)


def announced(names: Sequence[str], fragments: Sequence[Fragment]) -> bool:
    """Whether a ``removal`` or ``BREAKING`` fragment names one of ``names``."""
    patterns = [_mention(name) for name in names]
    return any(
        fragment.type.lower() in ANNOUNCING_TYPES
        and any(p.search(fragment.text) for p in patterns)
        for fragment in fragments
    )


def _mention(name: str) -> re.Pattern[str]:
    """``1.24`` matches ``v1.24`` and ``1.24.x`` but not ``1.240``; ``zed`` matches ``Zed``."""
    if name[:1].isdigit():
        return re.compile(r"(?<![\d.])" + re.escape(name) + r"(?!\d)")
    return re.compile(r"\b" + re.escape(name) + r"\b", re.IGNORECASE)


def _policy_at(policy: Policy, git: GitRepo, base: str) -> Policy | None:
    """The policy as it was at ``base``, or ``None`` where there was none.

    A policy file that exists at ``base`` but cannot be read is an error, never
    "no policy": that would skip the check that drops are announced.
    """
    from relbot.tree import GitTree

    relpath = policy.relpath or f"{files.POLICY_DIR}/{policy.name}.toml"
    named = relpath == f"{files.POLICY_DIR}/{policy.name}.toml"
    with GitTree(git.root, base) as tree:
        if tree.kind(relpath) is not None:
            label = f"{relpath} at {base}"
            try:
                return load.load_file(files.PolicyFile(
                    policy.name, label, relpath, files.read_tree_file(tree, relpath, label)))
            except PolicyError as exc:
                raise PolicyError(f"the policy as it was at {base} cannot be read, so the "
                                  f"drops since then cannot be checked: {exc.message}"
                                  ) from None
    if not named:
        return None
    if policy.relpath is None:
        return policy
    shipped = files.shipped_file(policy.name)
    return None if shipped is None else load.load_file(shipped)
