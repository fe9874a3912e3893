"""Support windows: which status a version has, and how far one upgrade may go.

Matching uses ``packaging`` specifiers, so ``==1.25.*`` covers every patch of
1.25, present and future, without listing them. Upgrades are judged on minor
versions the way kubeadm judges them: never backwards, never to another
major, and at most ``max_minor_step`` minors at a time (Kubernetes: one).
"""

from __future__ import annotations

from packaging.version import Version

from relbot.policy.model import SupportWindow


def step_problem(window: SupportWindow, old: Version, new: Version) -> str | None:
    """Why upgrading from ``old`` to ``new`` in one step is not allowed, or ``None``."""
    if new < old:
        return f"{old} -> {new} is a downgrade; {window.title} versions only go forward"
    if new.major != old.major:
        return (f"{old} -> {new} changes the major version; {window.title} upgrades go one "
                "minor version at a time")
    step = new.minor - old.minor
    limit = window.max_minor_step
    if limit is not None and step > limit:
        skipped = ", ".join(f"{old.major}.{m}" for m in range(old.minor + 1, new.minor))
        unit = "minor version" if limit == 1 else "minor versions"
        return (f"{old} -> {new} skips {skipped}; one {window.title} upgrade may advance at "
                f"most {limit} {unit}")
    return None


def minor_path(window: SupportWindow, start: Version, goal: Version) -> tuple[list[str] | None,
                                                                                str]:
    """The versions to go through from ``start`` to ``goal`` (both ends as given), or why none.

    Intermediate steps are minor versions (``1.28``); each must be in the window,
    whatever its status, since upgrading through a dropped version is still an
    upgrade path.
    """
    ends = (str(start), str(goal))
    if goal < start:
        return None, (f"there is no upgrade path from {ends[0]} to {ends[1]}: it is a "
                      f"downgrade, and {window.title} versions only go forward.")
    if goal.major != start.major:
        return None, (f"there is no upgrade path from {ends[0]} to {ends[1]}: the policy "
                      "knows no upgrades across major versions.")
    limit = window.max_minor_step or max(goal.minor - start.minor, 1)
    steps = [ends[0]]
    minor = start.minor
    while goal.minor - minor > limit:
        minor += limit
        step = Version(f"{start.major}.{minor}")
        if window.entry_for(step) is None:
            return None, (f"there is no upgrade path from {ends[0]} to {ends[1]}: "
                          f"{start.major}.{minor} is not in the {window.title} support window.")
        steps.append(f"{start.major}.{minor}")
    if ends[1] != ends[0]:
        steps.append(ends[1])
    return steps, ""
