"""Support matrices: ``relbot policy show`` and the "Supported versions" release-notes block.

One description of each policy as rows of cells, rendered three ways: a
Markdown table (GitLab, docs), an reStructuredText ``list-table`` (Sphinx
docs, RST changelogs) and JSON (other tools). The release-notes block is
shorter: one line per policy naming the versions that are supported now.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relbot.errors import UsageError
from relbot.policy import graph, load
from relbot.policy.model import DEPRECATED, SUPPORTED, Policy, SupportWindow, UpgradeGraph

if TYPE_CHECKING:
    from relbot.project import Project

FORMATS = ("md", "rst", "json")
_EMPTY = "\N{EN DASH}"  # an empty cell would end a list-table row early


def show(root: Path, component: str | None, subjects: Sequence[str], fmt: str) -> str:
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
    return render(policies, fmt)


def render(policies: Sequence[Policy], fmt: str) -> str:
    """The support matrix of ``policies`` as ``md``, ``rst`` or ``json``."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r} is not one of " + ", ".join(FORMATS) + ".")
    if fmt == "json":
        return json.dumps({"policies": [as_json(p, policies) for p in policies]}, indent=2)
    return "\n".join(_section(p, policies, fmt) for p in policies).rstrip("\n") + "\n"


def supported_versions_section(project: Project, fmt: str) -> str:
    """A "Supported versions" block for release notes (``rst`` or ``md``); empty without
    policies. ``relbot cut`` appends it where ``notes_supported_versions`` is set."""
    policies = load.component_policies(project.root, project.component,
                                       project.config.source_name)
    if not policies:
        return ""
    from relbot.untrusted import one_line

    items = [one_line(f"{p.title}: {_supported(p)}") for p in policies]  # titles are untrusted
    title = "Supported versions"
    if fmt == "md":
        return f"### {title}\n\n" + "".join(f"- {item}\n" for item in items)
    if fmt == "rst":
        underline = _section_underline(project)
        return (f"{title}\n{underline * len(title)}\n\n"
                + "".join(f"- {item}\n" for item in items))
    raise UsageError(f"the supported-versions section is rst or md, not {fmt!r}.")


def _supported(policy: Policy) -> str:
    if isinstance(policy, SupportWindow):
        supported = [e.label for e in policy.entries if e.status == SUPPORTED]
        deprecated = [e.label for e in policy.entries if e.status == DEPRECATED]
        text = ", ".join(supported) or "none"
        return text + (f" (deprecated: {', '.join(deprecated)})" if deprecated else "")
    assert isinstance(policy, UpgradeGraph)  # noqa: S101 (the two kinds)
    return ", ".join(
        release.name + (f" ({', '.join(m.upper() for m in sorted(release.marks))})"
                        if release.marks else "")
        for release in policy.releases if release.status != "eol"
    ) or "none"


def _section_underline(project: Project) -> str:
    """The underline towncrier gives sections below the version title (default ``-``)."""
    from relbot.config import read_toml

    table = read_toml(project.component.towncrier_config).get("tool", {}).get("towncrier", {})
    underlines = table.get("underlines", ["=", "-", "~"])
    return str(underlines[1]) if isinstance(underlines, list) and len(underlines) > 1 else "-"


def _section(policy: Policy, policies: Sequence[Policy], fmt: str) -> str:
    kind = "support window" if isinstance(policy, SupportWindow) else "upgrade graph"
    parts = [_heading(policy.title, fmt, 1)]
    if policy.description:
        parts.append(policy.description)
    facts = f"Policy {_code(policy.source, fmt)} ({kind})."
    if isinstance(policy, SupportWindow) and policy.max_minor_step:
        step = policy.max_minor_step
        facts += (f" One upgrade may advance at most {step} minor "
                  + ("version." if step == 1 else "versions."))
    parts.append(facts)
    header, rows = _rows(policy)
    parts.append(_table(header, rows, fmt))
    if isinstance(policy, UpgradeGraph):
        if policy.rules:
            parts.append("Rules: " + "; ".join(r.text() for r in policy.rules) + ".")
        blocked = [e for e in policy.edges if not e.allowed]
        if blocked:
            parts.append("Blocked upgrades:\n\n" + "".join(
                f"- {e.start} -> {e.goal}: {e.reason}" + (f" ({e.url})" if e.url else "")
                + "\n" for e in blocked).rstrip("\n"))
    for other, ranges in _ranges(policy, policies).values():
        parts.append(_heading(f"{policy.title} versions per {other} release", fmt, 2))
        parts.append(_table([f"{other} release", f"{policy.title} versions"],
                            [[name, str(spec)] for name, spec in ranges.items()], fmt))
    return "\n\n".join(parts) + "\n"


def _rows(policy: Policy) -> tuple[list[str], list[list[str]]]:
    if isinstance(policy, SupportWindow):
        return (["Versions", "Status", "Released", "Maintenance", "End of life", "Note"],
                [[e.label, e.status, e.released or "", e.maintenance or "",
                  e.end_of_life or "", e.note] for e in policy.entries])
    assert isinstance(policy, UpgradeGraph)  # noqa: S101 (the two kinds)
    edges = graph.allowed_edges(policy)
    return (["Release", "Also called", "Marks", "Released", "Status", "Upgrades to"],
            [[r.name, ", ".join(r.aliases), ", ".join(sorted(r.marks)), r.released or "",
              r.status or "", ", ".join(edges[r.name])] for r in policy.releases])


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


def _code(text: str, fmt: str) -> str:
    return f"`{text}`" if fmt == "md" else f"``{text}``"


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


def as_json(policy: Policy, policies: Sequence[Policy] = ()) -> dict[str, Any]:
    """Everything about ``policy`` as plain JSON values."""
    data: dict[str, Any] = {
        "name": policy.name, "title": policy.title, "kind": policy.kind,
        "source": policy.source, "description": policy.description, "url": policy.url,
        "note": policy.note,
    }
    if isinstance(policy, SupportWindow):
        data["max_minor_step"] = policy.max_minor_step
        data["window"] = [
            {"versions": e.text, "label": e.label, "status": e.status, "released": e.released,
             "maintenance": e.maintenance, "end_of_life": e.end_of_life, "note": e.note}
            for e in policy.entries
        ]
    elif isinstance(policy, UpgradeGraph):
        edges = graph.allowed_edges(policy)
        data["releases"] = [
            {"name": r.name, "aliases": list(r.aliases), "marks": sorted(r.marks),
             "released": r.released, "status": r.status, "note": r.note,
             "upgrades_to": edges[r.name]}
            for r in policy.releases
        ]
        data["rules"] = [{"from": r.start, "to": r.to, "note": r.note} for r in policy.rules]
        data["edges"] = [{"from": e.start, "to": e.goal, "allowed": e.allowed,
                          "reason": e.reason, "url": e.url} for e in policy.edges]
    data["compatibility"] = {
        other: {name: str(spec) for name, spec in ranges.items()}
        for other, (_, ranges) in _ranges(policy, policies).items()
    }
    data["probes"] = [{"file": p.file, "key": p.key, "pattern": p.pattern, "format": p.format,
                       "required": p.required} for p in policy.probes]
    return data
