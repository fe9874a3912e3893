"""Support matrices: ``relbot policy show`` and the "Supported versions" release-notes block.

The matrix is the page Tarook links its docs to: the versions the project
supports, each with upstream's status (derived from the lifecycle dates on the
day it is printed) and end-of-life dates, and the upgrade paths. One
description of each policy as rows of cells, rendered three ways: a Markdown
table (GitLab, docs), an reStructuredText ``list-table`` (Sphinx docs, RST
changelogs) and JSON (other tools). The release-notes block is shorter: one
line per policy naming the versions that are supported now.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relbot.errors import UsageError
from relbot.policy import graph, load
from relbot.policy.lifecycle import ENDED, Clock, Lifecycle, LifecycleRelease, today
from relbot.policy.model import (
    DEPRECATED,
    DROPPED,
    SUPPORTED,
    Policy,
    SupportWindow,
    UpgradeGraph,
)

if TYPE_CHECKING:
    from relbot.project import Project

FORMATS = ("md", "rst", "json")
_EMPTY = "\N{EN DASH}"  # an empty cell would end a list-table row early


def show(root: Path, component: str | None, subjects: Sequence[str], fmt: str,
         clock: Clock = today) -> str:
    """The matrix of ``subjects`` (names or files), else of the component's policies."""
    root = root.resolve()
    if subjects:
        policies = [load.load(subject, root) for subject in subjects]
    else:
        from relbot.config import load_config

        config = load_config(root)
        chosen = config.component(component)
        policies = load.component_policies(root, chosen, config.source_name)
        if not policies:
            raise UsageError(f"component {chosen.name!r} has no policies; name one "
                             "(relbot policy show kubernetes) or add `policies` to "
                             f"{config.source_name}.")
    return render(policies, fmt, clock())


def render(policies: Sequence[Policy], fmt: str, day: datetime.date | None = None) -> str:
    """The support matrix of ``policies`` as ``md``, ``rst`` or ``json``, on ``day``."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r} is not one of " + ", ".join(FORMATS) + ".")
    when = day or today()
    if fmt == "json":
        return json.dumps({"date": when.isoformat(),
                           "policies": [as_json(p, policies, when) for p in policies]},
                          indent=2)
    return "\n".join(_section(p, policies, fmt, when) for p in policies).rstrip("\n") + "\n"


def _upstream(life: LifecycleRelease | None, lifecycle: Lifecycle | None,
              day: datetime.date) -> str:
    """Upstream's status on ``day`` in words, or empty where the policy has no dates."""
    if life is None:
        return ""
    phase = life.phase(day)
    if lifecycle is not None:
        return lifecycle.label(phase)
    return Lifecycle(data_as_of=day.isoformat()).label(phase)


def supported_versions_section(project: Project, fmt: str, clock: Clock = today) -> str:
    """A "Supported versions" block for release notes (``rst`` or ``md``); empty without
    policies. ``relbot cut`` appends it where ``notes_supported_versions`` is set."""
    policies = load.component_policies(project.root, project.component,
                                       project.config.source_name)
    if not policies:
        return ""
    from relbot.untrusted import one_line

    day = clock()
    items = [one_line(f"{p.title}: {_supported(p, day)}") for p in policies]  # untrusted titles
    title = "Supported versions"
    if fmt == "md":
        return f"### {title}\n\n" + "".join(f"- {item}\n" for item in items)
    if fmt == "rst":
        underline = _section_underline(project)
        return (f"{title}\n{underline * len(title)}\n\n"
                + "".join(f"- {item}\n" for item in items))
    raise UsageError(f"the supported-versions section is rst or md, not {fmt!r}.")


def _supported(policy: Policy, day: datetime.date) -> str:
    if isinstance(policy, SupportWindow):
        supported = [e.label for e in policy.entries if e.status == SUPPORTED]
        deprecated = [e.label for e in policy.entries if e.status == DEPRECATED]
        text = ", ".join(supported) or "none"
        return text + (f" (deprecated: {', '.join(deprecated)})" if deprecated else "")
    assert isinstance(policy, UpgradeGraph)  # noqa: S101 (the two kinds)
    return ", ".join(
        release.name + (f" ({', '.join(m.upper() for m in sorted(release.marks))})"
                        if release.marks else "")
        for release in policy.releases
        if release.life is not None and release.life.phase(day) not in (ENDED, "future")
    ) or "none"


def _section_underline(project: Project) -> str:
    """The underline towncrier gives sections below the version title (default ``-``)."""
    from relbot.config import read_toml

    table = read_toml(project.component.towncrier_config).get("tool", {}).get("towncrier", {})
    underlines = table.get("underlines", ["=", "-", "~"])
    return str(underlines[1]) if isinstance(underlines, list) and len(underlines) > 1 else "-"


def _section(policy: Policy, policies: Sequence[Policy], fmt: str,
             day: datetime.date) -> str:
    kind = "a support window" if isinstance(policy, SupportWindow) else "an upgrade graph"
    parts = [_heading(policy.title, fmt, 1)]
    if policy.description:
        parts.append(policy.description)
    facts = f"Policy: {policy.source}, {kind}; upstream status as of {day.isoformat()}"
    if policy.lifecycle is not None:
        facts += (f", from upstream data of {policy.lifecycle.data_as_of}"
                  + (f" ({policy.lifecycle.source})" if policy.lifecycle.source else ""))
    facts += "."
    if isinstance(policy, SupportWindow) and policy.max_minor_step:
        step = policy.max_minor_step
        facts += (f" One upgrade may advance at most {step} minor "
                  + ("version." if step == 1 else "versions."))
    parts.append(facts)
    header, rows, rest = _rows(policy, day)
    parts.append(_table(header, rows, fmt))
    if rest:
        parts.append(rest)
    if isinstance(policy, SupportWindow):
        path = _window_path(policy)
        if path:
            parts.append(f"Upgrade path through the supported versions: {path}.")
    if isinstance(policy, UpgradeGraph):
        if policy.rules:
            parts.append("Upgrades: " + " ".join(
                (r.note if r.note.endswith(".") else f"{r.note}.") if r.note
                else f"{r.text()}." for r in policy.rules))
        blocked = [e for e in policy.edges if not e.allowed]
        if blocked:
            parts.append("Blocked upgrades:\n\n" + "".join(
                f"- {e.start} -> {e.goal}: {e.reason}" + (f" ({e.url})" if e.url else "")
                + "\n" for e in blocked).rstrip("\n"))
        if policy.fallback is not None:
            parts.append(f"Where no upgrade path exists, the {policy.fallback.name}"
                         + (f" ({policy.fallback.url})" if policy.fallback.url else "")
                         + ":\n\n" + "".join(f"{n}. {step}\n" for n, step in enumerate(
                             policy.fallback.steps, start=1)).rstrip("\n"))
    for other, ranges in _ranges(policy, policies).values():
        parts.append(_heading(f"{policy.title} versions per {other} release", fmt, 2))
        parts.append(_table([f"{other} release", f"{policy.title} versions"],
                            [[name, str(spec)] for name, spec in ranges.items()], fmt))
    return "\n\n".join(parts) + "\n"


def _window_path(policy: SupportWindow) -> str:
    """``1.33 -> 1.34 -> 1.35 -> 1.36`` for a window of consecutive supported minors."""
    from relbot.policy.model import parse_version

    found = sorted(v for v in (parse_version(e.label) for e in policy.entries
                               if e.status in (SUPPORTED, DEPRECATED)) if v is not None)
    if len(found) < 2 or policy.max_minor_step is None:
        return ""
    if any((b.major, b.minor) != (a.major, a.minor + 1) for a, b in pairwise(found)):
        return ""  # a gap: no path through the supported versions alone
    return " -> ".join(f"{v.major}.{v.minor}" for v in found)


_RECENT = datetime.timedelta(days=366)  # ended releases the matrix still shows in full


def _rows(policy: Policy, day: datetime.date) -> tuple[list[str], list[list[str]], str]:
    """The table of what matters now, and one line naming the rest."""
    life = policy.lifecycle
    if isinstance(policy, SupportWindow):
        shown = [e for e in policy.entries if e.status != DROPPED]
        dropped = [e.label for e in policy.entries if e.status == DROPPED]
        rows = [[e.label, e.status, _upstream(e.life, life, day), e.released or "",
                 e.maintenance or "", e.end_of_life or "", e.note] for e in shown]
        rest = ("Dropped: " + ", ".join(dropped) + ".") if dropped else ""
        return (["Versions", "Status", "Upstream", "Released", "End of standard support",
                 "End of life", "Note"], rows, rest)
    assert isinstance(policy, UpgradeGraph)  # noqa: S101 (the two kinds)
    edges = graph.allowed_edges(policy)
    rows = []
    old = []
    for r in policy.releases:
        end = r.life.end_of_life if r.life is not None else None
        ended = r.life is not None and r.life.phase(day) == ENDED
        if ended and (end is None or datetime.date.fromisoformat(end) < day - _RECENT):
            old.append(r.name)
            continue
        rows.append([r.name, ", ".join(r.aliases), ", ".join(sorted(r.marks)),
                     r.released or "", _upstream(r.life, life, day),
                     (r.life.maintenance or "") if r.life else "", end or "",
                     ", ".join(edges[r.name])])
    rest = (f"Ended upstream more than a year before {day.isoformat()}: "
            + ", ".join(old) + ".") if old else ""
    return (["Release", "Also called", "Marks", "Released", "Upstream",
             "End of standard support", "End of life", "Upgrades to"], rows, rest)


def _ranges(policy: Policy,
            policies: Sequence[Policy]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Compatibility ranges per other subject (name -> title, ranges), with canonical
    release names where the other policy is among ``policies``."""
    by_name = {p.name: p for p in policies}
    result: dict[str, tuple[str, dict[str, Any]]] = {}
    for other_name, ranges in policy.compatibility.items():
        other = by_name.get(other_name)
        if other is None:
            result[other_name] = (other_name, dict(ranges))
        else:
            result[other_name] = (other.title, dict(load.compatibility_ranges(policy, other)))
    return result


def _heading(text: str, fmt: str, level: int) -> str:
    if fmt == "md":
        return "#" * (level + 1) + " " + text
    return f"{text}\n" + ("-" if level == 1 else "~") * len(text)


def _table(header: list[str], rows: list[list[str]], fmt: str) -> str:
    if fmt == "md":
        def line(cells: list[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        return "\n".join([line(header), line(["---"] * len(header)),
                          *(line(row) for row in rows)])
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append(f"   * - {row[0] or _EMPTY}")
        out.extend(f"     - {cell or _EMPTY}" for cell in row[1:])
    return "\n".join(out)


def as_json(policy: Policy, policies: Sequence[Policy] = (),
            day: datetime.date | None = None) -> dict[str, Any]:
    """Everything about ``policy`` as plain JSON values, statuses as of ``day``."""
    when = day or today()
    life = policy.lifecycle
    data: dict[str, Any] = {
        "name": policy.name, "title": policy.title, "kind": policy.kind,
        "source": policy.source, "description": policy.description, "url": policy.url,
        "note": policy.note,
        "data_as_of": None if life is None else life.data_as_of,
    }
    if isinstance(policy, SupportWindow):
        data["max_minor_step"] = policy.max_minor_step
        data["window"] = [
            {"versions": e.text, "label": e.label, "status": e.status,
             "upstream": _upstream(e.life, life, when) or None, "released": e.released,
             "maintenance": e.maintenance, "end_of_life": e.end_of_life, "note": e.note}
            for e in policy.entries
        ]
    elif isinstance(policy, UpgradeGraph):
        edges = graph.allowed_edges(policy)
        data["releases"] = [
            {"name": r.name, "aliases": list(r.aliases), "marks": sorted(r.marks),
             "released": r.released, "upstream": _upstream(r.life, life, when) or None,
             "maintenance": r.life.maintenance if r.life else None,
             "end_of_life": r.life.end_of_life if r.life else None,
             "note": r.note, "upgrades_to": edges[r.name]}
            for r in policy.releases
        ]
        data["rules"] = [{"from": r.start, "to": r.to, "note": r.note} for r in policy.rules]
        data["edges"] = [{"from": e.start, "to": e.goal, "allowed": e.allowed,
                          "reason": e.reason, "url": e.url} for e in policy.edges]
        data["fallback"] = None if policy.fallback is None else {
            "name": policy.fallback.name, "url": policy.fallback.url,
            "steps": list(policy.fallback.steps)}
    data["compatibility"] = {
        other: {name: str(spec) for name, spec in ranges.items()}
        for other, (_, ranges) in _ranges(policy, policies).items()
    }
    data["probes"] = [{"file": p.file, "key": p.key, "pattern": p.pattern, "within": p.within,
                       "format": p.format, "required": p.required} for p in policy.probes]
    return data
