"""Reading one policy file into the model, and the checks a schema cannot express.

The JSON Schema catches unknown keys and wrong types; this module adds what
needs the whole file: specifiers that parse, windows that do not overlap,
release names that are unique, rules that use declared marks, edges between
known releases that are neither contradictory nor cyclic, probes whose glob
stays in the repository and whose pattern has a ``version`` group. Every
error names the file and the key path and is one sentence.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from relbot.config import did_you_mean
from relbot.errors import PolicyError
from relbot.policy import files, graph, patterns, schema
from relbot.policy.lifecycle import Lifecycle, LifecycleRelease
from relbot.policy.model import (
    DEFAULT_MAX_DATA_AGE,
    DEFAULT_SEVERITY,
    DEFAULT_UNMENTIONED_AFTER,
    Checks,
    Edge,
    Policy,
    Probe,
    Procedure,
    Release,
    Rule,
    SupportWindow,
    UpgradeGraph,
    WindowEntry,
    parse_version,
)
from relbot.tree import Refused, parse_toml

if TYPE_CHECKING:
    from relbot.config import Component
    from relbot.tree import Tree

KINDS = ("support-window", "upgrade-graph")
_SPECIFIER_HINT = "a version specifier such as ==1.25.* or >=24.03"


def load_file(policy_file: files.PolicyFile) -> Policy:
    """Parse, validate and build the policy held by ``policy_file``."""
    where = policy_file.label
    try:
        text = policy_file.data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{where} is not UTF-8 text.") from None
    try:
        return _load_text(policy_file, text)
    except RecursionError:
        raise PolicyError(f"{where} is nested too deeply to be a policy file.") from None


def _load_text(policy_file: files.PolicyFile, text: str) -> Policy:
    where = policy_file.label
    try:
        data = _plain(parse_toml(text, where))
    except Refused as refused:  # invalid TOML, or nested deeper than relbot reads
        if "too deeply" in refused.reason:
            raise PolicyError(f"{where} is nested too deeply to be a policy file.") from None
        raise PolicyError(str(refused)) from None
    kind = data.get("kind")
    if kind not in KINDS:
        if kind is None:
            raise PolicyError(f"{where} needs the key 'kind' (" + " or ".join(KINDS) + ").")
        raise PolicyError(f"{where}: kind is {kind!r}; allowed: " + ", ".join(KINDS)
                          + did_you_mean(str(kind), list(KINDS)) + ".")
    if kind == "upgrade-graph" and "release" not in data and "lifecycle" not in data:
        raise PolicyError(f"{where}: the top-level key 'release' is missing (the releases "
                          "come from [[release]] tables or a generated [lifecycle] table).")
    schema.validate(data, kind, where)
    common: dict[str, Any] = {
        "name": policy_file.name,
        "title": data.get("title", policy_file.name),
        "source": where,
        "relpath": policy_file.relpath,
        "description": data.get("description", ""),
        "url": data.get("url", ""),
        "note": data.get("note", ""),
        "probes": tuple(_probe(raw, where, f"probe[{i}]")
                        for i, raw in enumerate(data.get("probe", []))),
        "compatibility": _compatibility(data.get("compatibility", {}), where),
        "lifecycle": _lifecycle(data.get("lifecycle"), where),
        "checks": _checks(data.get("checks", {})),
    }
    if kind == "support-window":
        return _window(data, common, text)
    return _graph(data, common)


def load(entry: str, root: Path, where: str = "", tree: Tree | None = None) -> Policy:
    """The policy a ``policies`` entry or a subject name means."""
    return load_file(files.find(entry, root, where, tree))


def component_policies(root: Path, component: Component, config_label: str,
                       tree: Tree | None = None) -> list[Policy]:
    """The component's policies, with the probes its configuration adds to them."""
    label = f"{config_label}: component {component.name!r}"
    policies: list[Policy] = []
    for index, entry in enumerate(component.policies):
        policy = load(entry, root, f"{label}: policies[{index}]", tree)
        if any(p.name == policy.name for p in policies):
            raise PolicyError(f"{label}: policies[{index}] names the policy {policy.name!r} "
                              "a second time.")
        policies.append(policy)
    names = [p.name for p in policies]
    extra: dict[str, list[Probe]] = {name: [] for name in names}
    for index, raw in enumerate(component.probes):
        key = f"probes[{index}]"
        body = dict(raw)
        target = body.pop("policy", None)
        if not isinstance(target, str):
            raise PolicyError(f"{label}: {key} needs the key 'policy' (the policy it feeds: "
                              + ", ".join(names) + ").")
        if target not in extra:
            raise PolicyError(f"{label}: {key}.policy is {target!r}, which is not one of the "
                              "component's policies" + did_you_mean(target, names) + "; "
                              "policies: " + (", ".join(names) or "none") + ".")
        extra[target].append(_probe(body, label, key))
    policies = [replace(p, probes=p.probes + tuple(extra[p.name])) for p in policies]
    by_name = {p.name: p for p in policies}
    for policy in policies:
        for other in policy.compatibility:
            if other in by_name:
                compatibility_ranges(policy, by_name[other])
    return policies


def compatibility_ranges(policy: Policy, other: Policy) -> dict[str, SpecifierSet]:
    """``policy``'s ranges towards ``other``, keyed by the canonical release names of ``other``."""
    ranges = policy.compatibility.get(other.name, {})
    if not ranges:
        return {}
    if not isinstance(other, UpgradeGraph):
        raise PolicyError(f"{policy.source}: compatibility.{other.name} needs {other.name} to be "
                          "an upgrade-graph policy (its keys are release names).")
    result: dict[str, SpecifierSet] = {}
    for written, spec in ranges.items():
        release = other.release(written)
        if release is None:
            raise PolicyError(f"{policy.source}: compatibility.{other.name}.{written} names no "
                              f"release of {other.name}"
                              + did_you_mean(written, other.all_names()) + ".")
        if release.name in result:
            raise PolicyError(f"{policy.source}: compatibility.{other.name} gives "
                              f"{release.name} twice ({written!r} is another name of it).")
        result[release.name] = spec
    return result


def _plain(value: Any) -> Any:
    """TOML dates become ISO strings, so the schema (and JSON) can describe them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return value.isoformat()
    return value


def _lifecycle(raw: Mapping[str, Any] | None, where: str) -> Lifecycle | None:
    if raw is None:
        return None
    releases = []
    seen: set[str] = set()
    for index, item in enumerate(raw["release"]):
        names = [item["name"], *item.get("aliases", [])]
        for name in names:
            if name.lower() in seen:
                raise PolicyError(f"{where}: lifecycle.release[{index}] names {name!r} a second "
                                  "time; run `relbot policy update` to regenerate the table.")
            seen.add(name.lower())
        releases.append(LifecycleRelease(
            name=item["name"], aliases=tuple(item.get("aliases", [])),
            marks=frozenset(item.get("marks", [])), released=item.get("released"),
            maintenance=item.get("maintenance"), end_of_life=item.get("end_of_life"),
            last_patch=item.get("last_patch"), reached=item.get("reached")))
    return Lifecycle(data_as_of=raw["data_as_of"], source=raw.get("source", ""),
                     releases=tuple(releases),
                     extended_label=raw.get("extended_label", "extended support"))


def _checks(raw: Mapping[str, Any]) -> Checks:
    return Checks(max_data_age=raw.get("max_data_age", DEFAULT_MAX_DATA_AGE),
                  unmentioned_after=raw.get("unmentioned_after", DEFAULT_UNMENTIONED_AFTER),
                  severity={**DEFAULT_SEVERITY, **raw.get("severity", {})})


def _specifier(text: str, where: str, key: str) -> SpecifierSet:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise PolicyError(f"{where}: {key} is {text!r}, which is not {_SPECIFIER_HINT}.") from None


def _compatibility(raw: Mapping[str, Mapping[str, str]],
                   where: str) -> dict[str, dict[str, SpecifierSet]]:
    return {
        other: {release: _specifier(spec, where, f"compatibility.{other}.{release}")
                for release, spec in ranges.items()}
        for other, ranges in raw.items()
    }


def _probe(raw: Mapping[str, Any], where: str, key: str) -> Probe:
    """Validate one probe table (of a policy file or of the configuration)."""
    schema.validate(raw, "probe", where, key)
    file = raw["file"]
    parts = file.replace("\\", "/").split("/")
    if file.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", file) or ".." in parts:
        raise PolicyError(f"{where}: {key}.file {file!r} must be a glob inside the repository "
                          "(relative, without '..').")
    pattern = raw.get("pattern")
    if pattern is not None:
        groups = patterns.compile_pattern(pattern, f"{where}: {key}.pattern").groupindex
        if "version" not in groups and not {"major", "minor"} <= set(groups):
            raise PolicyError(f"{where}: {key}.pattern needs a named group (?P<version>...) "
                              "around the version, or groups (?P<major>...) and "
                              "(?P<minor>...).")
    within = raw.get("within")
    if within is not None:
        if pattern is None:
            raise PolicyError(f"{where}: {key}.within needs a pattern to read inside it.")
        patterns.compile_pattern(within, f"{where}: {key}.within")
    probe_key = raw.get("key")
    if probe_key is not None and any(not part for part in probe_key.split(".")):
        raise PolicyError(f"{where}: {key}.key {probe_key!r} has an empty part; write key "
                          "paths like kubernetes.version.")
    return Probe(file=file, key=probe_key, pattern=pattern, within=within,
                 format=raw.get("format"),
                 required=raw.get("required", True), description=raw.get("description", ""),
                 origin=f"{where}: {key}")


def _window(data: Mapping[str, Any], common: dict[str, Any], text: str) -> SupportWindow:
    where = common["source"]
    lifecycle: Lifecycle | None = common["lifecycle"]
    entries = []
    for index, raw in enumerate(data["window"]):
        key = f"window[{index}]"
        spec = _specifier(raw["versions"], where, f"{key}.versions")
        entry = WindowEntry(versions=spec, text=raw["versions"], status=raw["status"],
                            note=raw.get("note", ""), line=_line_of(text, raw["versions"]))
        own = {k: raw[k] for k in ("released", "maintenance", "end_of_life") if k in raw}
        life = None if lifecycle is None else lifecycle.get(entry.label)
        if own:  # dates written into a hand-made window (without a [lifecycle] table)
            life = LifecycleRelease(name=entry.label, **own)
        entries.append(replace(entry, life=life))
    _no_overlap(entries, where)
    return SupportWindow(entries=tuple(entries), max_minor_step=data.get("max_minor_step"),
                         **common)


def _no_overlap(entries: Sequence[WindowEntry], where: str) -> None:
    """Two entries covering the same version would contradict each other."""
    for index, entry in enumerate(entries):
        for spec in entry.versions:
            sample = parse_version(spec.version.removesuffix(".*"))
            if sample is None or not entry.contains(sample):
                continue
            for other_index, other in enumerate(entries):
                if other_index != index and other.contains(sample):
                    first, second = sorted((index, other_index))
                    raise PolicyError(f"{where}: window[{first}] and window[{second}] both cover "
                                      f"{sample}; each version may have one status only.")


def _line_of(text: str, value: str) -> int | None:
    """The line of ``versions = "VALUE"`` (for findings about a window entry)."""
    pattern = re.compile(r"""^\s*versions\s*=\s*["']""" + re.escape(value) + """["']""")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _graph(data: Mapping[str, Any], common: dict[str, Any]) -> UpgradeGraph:
    where = common["source"]
    lifecycle: Lifecycle | None = common["lifecycle"]
    if "release" in data and lifecycle is not None:
        raise PolicyError(f"{where} has both [[release]] and [lifecycle]; the releases of an "
                          "upgrade graph come from one of them (the generated [lifecycle]).")
    if lifecycle is not None:
        releases = [Release(name=r.name, index=index, aliases=r.aliases, marks=r.marks,
                            life=r, versions=_default_versions(r.name))
                    for index, r in enumerate(lifecycle.releases)]
    else:
        releases = _releases(data["release"], where)
    lookup = {name.lower(): release for release in releases for name in release.names}
    marks = sorted({mark for release in releases for mark in release.marks})
    rules = []
    for index, raw in enumerate(data.get("rule", [])):
        rule = Rule(start=raw["from"], to=raw["to"], note=raw.get("note", ""))
        for part, word in (("from", rule.start), ("to", rule.to)):
            mark = word.split()[-1]
            if mark not in ("any", "next") and mark not in marks:
                raise PolicyError(f"{where}: rule[{index}].{part} uses the mark {mark!r}, which "
                                  "no release carries" + did_you_mean(mark, marks)
                                  + "; marks: " + (", ".join(marks) or "none") + ".")
        rules.append(rule)
    edges = []
    seen: dict[tuple[str, str], Edge] = {}
    for index, raw in enumerate(data.get("edge", [])):
        key = f"edge[{index}]"
        ends = []
        for part in ("from", "to"):
            release = lookup.get(raw[part].lower())
            if release is None:
                raise PolicyError(f"{where}: {key}.{part} {raw[part]!r} is not a release of "
                                  "this policy" + did_you_mean(raw[part], list(lookup)) + ".")
            ends.append(release.name)
        if ends[0] == ends[1]:
            raise PolicyError(f"{where}: {key} goes from {ends[0]} to itself.")
        edge = Edge(start=ends[0], goal=ends[1], allowed=raw["allowed"],
                    reason=raw.get("reason", ""), url=raw.get("url", ""), key=key)
        earlier = seen.get((edge.start, edge.goal))
        if earlier is not None:
            verdict = ("contradicts" if earlier.allowed != edge.allowed else "repeats")
            raise PolicyError(f"{where}: {key} {verdict} {earlier.key}: both are about "
                              f"{edge.start} -> {edge.goal}" + (
                                  ", once allowed and once blocked." if verdict == "contradicts"
                                  else "."))
        seen[(edge.start, edge.goal)] = edge
        edges.append(edge)
    raw_fallback = data.get("fallback")
    fallback = None if raw_fallback is None else Procedure(
        name=raw_fallback["name"], steps=tuple(raw_fallback["steps"]),
        url=raw_fallback.get("url", ""))
    policy = UpgradeGraph(releases=tuple(releases), rules=tuple(rules), edges=tuple(edges),
                          fallback=fallback, **common)
    cycle = graph.find_cycle(policy)
    if cycle:
        raise PolicyError(f"{where}: the upgrade graph has a cycle, "
                          + " -> ".join(cycle)
                          + "; upgrades must only go forward (check the allowed edges).")
    return policy


def _releases(raw_releases: Sequence[Mapping[str, Any]], where: str) -> list[Release]:
    releases: list[Release] = []
    owner: dict[str, str] = {}
    last_date: tuple[str, str] | None = None
    for index, raw in enumerate(raw_releases):
        key = f"release[{index}]"
        names = [raw["name"], *raw.get("aliases", [])]
        for position, name in enumerate(names):
            if name.lower() in owner:
                name_key = f"{key}.name" if position == 0 else f"{key}.aliases[{position - 1}]"
                raise PolicyError(f"{where}: {name_key} {name!r} is already a name of "
                                  f"{owner[name.lower()]}; release names must be unique.")
            owner[name.lower()] = f"{key} ({raw['name']})"
        released = raw.get("released")
        if released is not None:
            if last_date is not None and released < last_date[0]:
                raise PolicyError(f"{where}: {key} ({raw['name']}, released {released}) is "
                                  f"listed after {last_date[1]} (released {last_date[0]}); "
                                  "list releases in the order they came out.")
            last_date = (released, raw["name"])
        versions = raw.get("versions")
        spec = (_specifier(versions, where, f"{key}.versions") if versions is not None
                else _default_versions(raw["name"]))
        releases.append(Release(
            name=raw["name"], index=index, aliases=tuple(raw.get("aliases", [])),
            marks=frozenset(raw.get("marks", [])),
            life=None if released is None else LifecycleRelease(name=raw["name"],
                                                                released=released),
            versions=spec, note=raw.get("note", ""),
        ))
    return releases


def _default_versions(name: str) -> SpecifierSet | None:
    """``==24.03.*`` for a release named like a version, so ``24.03.2`` finds it."""
    if parse_version(name) is None or name[:1] in ("v", "V"):
        return None
    return SpecifierSet(f"=={name}.*")
