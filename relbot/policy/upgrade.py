"""``relbot policy path SUBJECT FROM TO``: the allowed upgrade path, or why there is none.

Works for both kinds: through an upgrade graph (shortest path, names as users
mean them: ``antelope`` and ``2023.1`` are the same release) and through a
support window (one minor step at a time). It needs no relbot configuration
and imports neither git nor towncrier, so it answers in a shell anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from relbot.config import did_you_mean
from relbot.errors import UsageError
from relbot.policy import graph, load, window
from relbot.policy.lifecycle import FUTURE, Clock, today
from relbot.policy.model import Policy, Release, SupportWindow, UpgradeGraph, parse_version


@dataclass(frozen=True)
class PathAnswer:
    """The answer to one path question."""

    subject: str
    start: str
    goal: str
    steps: tuple[str, ...] | None
    reason: str = ""
    notes: tuple[str, ...] = ()  # such as a release on the path that is not out yet

    @property
    def found(self) -> bool:
        """Whether an allowed path exists."""
        return self.steps is not None

    def text(self) -> str:
        """``zed -> 2023.1 -> 2024.1``, or the reason there is no path."""
        return " -> ".join(self.steps) if self.steps is not None else self.reason

    def as_json(self) -> dict[str, Any]:
        """The answer as a JSON object."""
        return {"subject": self.subject, "from": self.start, "to": self.goal,
                "path": list(self.steps) if self.steps is not None else None,
                "upgrades": len(self.steps) - 1 if self.steps is not None else None,
                "reason": self.reason or None, "notes": list(self.notes)}


def upgrade_path(root: Path, subject: str, start: str, goal: str,
                 clock: Clock = today) -> PathAnswer:
    """The shortest allowed upgrade path of ``subject`` (a policy name or file)."""
    policy = load.load(subject, root.resolve())
    return path_in(policy, start, goal, clock)


def path_in(policy: Policy, start: str, goal: str, clock: Clock = today) -> PathAnswer:
    """The shortest allowed upgrade path from ``start`` to ``goal`` within ``policy``."""
    if isinstance(policy, UpgradeGraph):
        first, last = (_release(policy, text) for text in (start, goal))
        route = graph.shortest_path(policy, first, last)
        reason = route.reason
        if route.steps is None and policy.fallback is not None and last.index > first.index:
            reason += (f"\n{policy.fallback.name[:1].upper()}{policy.fallback.name[1:]}"
                       + (f" ({policy.fallback.url})" if policy.fallback.url else "") + ":\n"
                       + "\n".join(f"{n}. {step}" for n, step in enumerate(
                           policy.fallback.steps, start=1)))
            if first.life is not None and first.life.last_patch is not None:
                reason += (f"\nThe most recent point release of {first.name} upstream lists "
                           f"is {first.life.last_patch}.")
        day = clock()
        notes = tuple(
            f"{policy.title} {r.name} is not released yet (planned for {r.released})"
            for r in (policy.release(name) for name in (route.steps or ()))
            if r is not None and r.life is not None and r.life.phase(day) == FUTURE)
        return PathAnswer(policy.name, first.name, last.name, route.steps, reason, notes)
    if isinstance(policy, SupportWindow):
        versions = [_version(policy, text) for text in (start, goal)]
        steps, reason = window.minor_path(policy, versions[0], versions[1])
        return PathAnswer(policy.name, str(versions[0]), str(versions[1]),
                          tuple(steps) if steps is not None else None, reason)
    raise TypeError(f"unknown policy kind {policy.kind}")


def _release(policy: UpgradeGraph, text: str) -> Release:
    release = policy.release(text)
    if release is None:
        raise UsageError(f"{policy.title} has no release {text!r}"
                         + did_you_mean(text.strip().lower(), policy.all_names())
                         + f" in {policy.source}; releases: "
                         + ", ".join(r.name for r in policy.releases) + ".")
    return release


def _version(policy: SupportWindow, text: str) -> Version:
    version = parse_version(text)
    if version is None:
        raise UsageError(f"{text!r} is not a {policy.title} version (like 1.29 or 1.29.5).")
    if policy.entry_for(version) is None:
        known = ", ".join(e.label for e in policy.entries)
        raise UsageError(f"{policy.title} {version} is not in the support window of "
                         f"{policy.source}; it knows {known}.")
    return version
