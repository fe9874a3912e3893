"""Upgrade graphs: the edges rules generate, cycles, and shortest upgrade paths.

Like OpenShift's Cincinnati graph, an upgrade graph is a directed acyclic graph
whose nodes are releases: rules generate the regular edges (next release,
SLURP to next SLURP, LTS through the next LTS), explicit edges add or block
single upgrades, and a blocked edge carries the reason a user sees when it is
the one in the way. Paths are found breadth-first, so the path printed is the
one with the fewest upgrades.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from relbot.policy.model import Release, Rule, UpgradeGraph


@dataclass(frozen=True)
class Route:
    """The shortest upgrade path (release names), or why there is none."""

    steps: tuple[str, ...] | None
    reason: str = ""


def _starts(rule: Rule, release: Release) -> bool:
    if rule.start == "any":
        return True
    if rule.start.startswith("not "):
        return rule.start[4:] not in release.marks
    return rule.start in release.marks


def _targets(rule: Rule, releases: tuple[Release, ...], index: int) -> list[int]:
    """Indexes of the releases ``rule`` lets ``releases[index]`` upgrade to."""
    if not _starts(rule, releases[index]):
        return []
    later = range(index + 1, len(releases))
    if rule.to == "next":
        return list(later)[:1]
    words = rule.to.split()
    mark = words[-1]
    marked = next((i for i in later if mark in releases[i].marks), None)
    if words[0] == "next":
        return [] if marked is None else [marked]
    # "through next MARK": every later release up to and including the next marked one
    end = len(releases) - 1 if marked is None else marked
    return list(range(index + 1, end + 1))


def allowed_edges(policy: UpgradeGraph) -> dict[str, list[str]]:
    """Every release's allowed direct upgrades, in release order."""
    releases = policy.releases
    blocked = {(e.start, e.goal) for e in policy.edges if not e.allowed}
    targets: dict[str, set[int]] = {r.name: set() for r in releases}
    for index, release in enumerate(releases):
        for rule in policy.rules:
            targets[release.name].update(_targets(rule, releases, index))
    position = {r.name: r.index for r in releases}
    for edge in policy.edges:
        if edge.allowed:
            targets[edge.start].add(position[edge.goal])
    return {
        name: [releases[i].name for i in sorted(found)
               if (name, releases[i].name) not in blocked]
        for name, found in targets.items()
    }


def allows(policy: UpgradeGraph, start: Release, goal: Release) -> bool:
    """Whether ``start`` may upgrade to ``goal`` in one step."""
    return goal.name in allowed_edges(policy)[start.name]


def find_cycle(policy: UpgradeGraph) -> list[str] | None:
    """A cycle of allowed upgrades (first node repeated at the end), or ``None``."""
    edges = allowed_edges(policy)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in edges:
        if root in state:
            continue
        path = [root]
        stack = [iter(edges[root])]
        state[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if state.get(child) == 1:
                return [*path[path.index(child):], child]
            if child not in state:
                state[child] = 1
                path.append(child)
                stack.append(iter(edges[child]))
    return None


def shortest_path(policy: UpgradeGraph, start: Release, goal: Release) -> Route:
    """The path with the fewest upgrades from ``start`` to ``goal``, or the reason for none."""
    edges = allowed_edges(policy)
    previous: dict[str, str | None] = {start.name: None}
    queue = deque([start.name])
    while queue:
        current = queue.popleft()
        if current == goal.name:
            steps = [current]
            while (before := previous[steps[-1]]) is not None:
                steps.append(before)
            return Route(tuple(reversed(steps)))
        for child in edges[current]:
            if child not in previous:
                previous[child] = current
                queue.append(child)
    return Route(None, _explain(policy, start, goal, set(previous), edges))


def _explain(policy: UpgradeGraph, start: Release, goal: Release, reachable: set[str],
             edges: dict[str, list[str]]) -> str:
    """Why ``goal`` cannot be reached: the blocked edge in the way, else what can be reached."""
    head = f"there is no upgrade path from {start.name} to {goal.name}"
    leads_to_goal = _reaching(edges, goal.name)
    for edge in policy.edges:
        if (not edge.allowed and edge.start in reachable
                and (edge.goal == goal.name or edge.goal in leads_to_goal)):
            url = f" ({edge.url})" if edge.url else ""
            return _with_note(policy, f"{head}: the upgrade {edge.start} -> {edge.goal} is "
                                      f"blocked ({edge.key}): {edge.reason}{url}")
    if goal.index < start.index:
        return (f"{head}: {goal.name} is older than {start.name}, and {policy.title} "
                "upgrades only go forward.")
    onward = [r.name for r in policy.releases if r.name in reachable and r.name != start.name]
    if not onward:
        return _with_note(policy, f"{head}: no rule or edge allows any upgrade from "
                                  f"{start.name}")
    return _with_note(policy, f"{head}: from {start.name} the allowed upgrades reach only "
                              + ", ".join(onward) + f", and none of them leads to {goal.name}")


def _reaching(edges: dict[str, list[str]], goal: str) -> set[str]:
    """The releases from which ``goal`` can be reached."""
    parents: dict[str, list[str]] = {name: [] for name in edges}
    for name, children in edges.items():
        for child in children:
            parents[child].append(name)
    found = {goal}
    queue = deque([goal])
    while queue:
        for parent in parents[queue.popleft()]:
            if parent not in found:
                found.add(parent)
                queue.append(parent)
    return found


def _with_note(policy: UpgradeGraph, text: str) -> str:
    return f"{text}. {policy.note.strip()}" if policy.note.strip() else f"{text}."
