"""Probes: finding the versions a repository declares, with file and line.

A probe is a file glob plus either a key path into TOML, YAML or JSON
(``kubernetes.version``; ``*`` matches any key or list item) or a regular
expression with a ``version`` group. A value that is a list declares several
versions (``supported_k8s_versions``); a single value is one setting, whose
change between two revisions is an upgrade.

Probes read a :class:`~relbot.policy.trees.Tree`: the work tree or, for
``--base``, a git revision. Line numbers come from YAML's own node marks, from
the match offset for patterns, and from a light text search for TOML and JSON
(the key path's parts in order, then the value).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relbot.findings import Finding
from relbot.policy import patterns
from relbot.policy.model import Probe
from relbot.policy.trees import Tree, Unreadable, matching

if TYPE_CHECKING:
    import yaml

_FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}


@dataclass(frozen=True)
class Declared:
    """One version a repository declares, and where."""

    policy: str
    probe: Probe
    path: str
    line: int | None
    value: str
    slot: str  # where in the file: "kubernetes.version", "versions[2]", "match 1"
    group: str  # the setting it belongs to: the list's key path for a listed value
    listed: bool  # one of several versions (a list), not a single setting

    def where(self) -> str:
        """``path:line`` for messages."""
        return self.path if self.line is None else f"{self.path}:{self.line}"


def read_probe(probe: Probe, policy: str, tree: Tree, *,
               require: bool = True) -> tuple[list[Declared], list[Finding]]:
    """The versions ``probe`` finds in ``tree``, and the problems it met.

    With ``require`` (the work tree), a required probe that finds nothing is a
    finding; at a base revision the file may simply not have existed yet.
    """
    paths = matching(tree, probe.file)
    declared: list[Declared] = []
    findings: list[Finding] = []
    for path in paths:
        try:
            text = tree.read(path)
            declared.extend(_declared_in(probe, policy, path, text))
        except Unreadable as exc:
            findings.append(Finding(path, exc.rule, f"{exc.message} ({probe.origin})"))
    if require and not declared and not findings:
        why = ("no file matches" if not paths
               else f"{', '.join(paths[:3])} {'has' if len(paths) == 1 else 'have'} no "
                    + (f"key {probe.key}" if probe.key else "match"))
        if probe.required:
            findings.append(Finding(probe.file, "probe-found-nothing",
                                    f"the {policy} probe {probe.label} found no version: "
                                    f"{why}; fix the probe ({probe.origin}) or set "
                                    "required = false"))
        else:
            findings.append(Finding(probe.file, "probe-found-nothing",
                                    f"the optional {policy} probe {probe.label} found nothing: "
                                    f"{why} ({probe.origin})", severity="warning"))
    return declared, findings


def _declared_in(probe: Probe, policy: str, path: str, text: str) -> list[Declared]:
    if probe.pattern is not None:
        return _pattern_values(probe, policy, path, text)
    fmt = probe.format or _FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise Unreadable("probe-format", "has no .toml, .yaml, .yml or .json suffix; set the "
                                         "probe's format")
    assert probe.key is not None  # noqa: S101 (the schema requires key or pattern)
    parts = probe.key.split(".")
    if fmt == "yaml":
        return list(_yaml_values(probe, policy, path, text, parts))
    data = _parse(fmt, text)
    lines = text.splitlines()
    found = []
    for concrete, value in _walk(data, parts, []):
        found.extend(_values(probe, policy, path, concrete, value, lines))
    return found


def _pattern_values(probe: Probe, policy: str, path: str, text: str) -> list[Declared]:
    """Matches of the probe's pattern; inside ``within`` regions they form a list each."""
    assert probe.pattern is not None  # noqa: S101 (the caller checked)
    regions: list[tuple[int, str, str | None]]
    if probe.within is None:
        regions = [(0, text, None)]
    else:
        regions = [(m.start(), m.group(0), f"within match {n}") for n, m in enumerate(
            patterns.finditer(probe.within, text, f"{probe.origin}.within", path), start=1)]
    found = []
    for offset, region, group in regions:
        for number, match in enumerate(
                patterns.finditer(probe.pattern, region, f"{probe.origin}.pattern", path),
                start=1):
            groups = match.groupdict()
            if groups.get("version") is not None:
                value, start = str(groups["version"]).strip(), match.start("version")
            elif groups.get("major") is not None and groups.get("minor") is not None:
                value = f"{groups['major']}.{groups['minor']}"
                start = match.start("major")
            else:
                continue
            line = text.count("\n", 0, offset + start) + 1
            slot = f"match {number}" if group is None else f"{group}[{number - 1}]"
            found.append(Declared(policy, probe, path, line, value, slot, group or slot,
                                  group is not None))
    return found


def _parse(fmt: str, text: str) -> Any:
    try:
        if fmt == "toml":
            return tomllib.loads(text, parse_float=str)
        return json.loads(text, parse_float=str)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise Unreadable("probe-unreadable", f"is not valid {fmt.upper()}: {exc}") from None
    except RecursionError:
        raise Unreadable("probe-unreadable", f"is {fmt.upper()} nested too deeply") from None


def _walk(data: Any, parts: list[str], concrete: list[str | int]) -> Iterator[
        tuple[list[str | int], Any]]:
    """Every (concrete key path, value) the key path ``parts`` reaches."""
    if not parts:
        yield concrete, data
        return
    head, rest = parts[0], parts[1:]
    if isinstance(data, dict):
        keys = list(data) if head == "*" else [head] if head in data else []
        for key in keys:
            yield from _walk(data[key], rest, [*concrete, key])
    elif isinstance(data, list):
        if head == "*":
            indexes = range(len(data))
        elif head.isdigit() and int(head) < len(data):
            indexes = range(int(head), int(head) + 1)
        else:
            indexes = range(0)
        for index in indexes:
            yield from _walk(data[index], rest, [*concrete, index])


def _slot(concrete: list[str | int]) -> str:
    text = ""
    for part in concrete:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _values(probe: Probe, policy: str, path: str, concrete: list[str | int], value: Any,
            lines: list[str]) -> list[Declared]:
    group = _slot(concrete)
    keys = [p for p in concrete if isinstance(p, str)]
    if not isinstance(value, list):
        text = _scalar(value, group)
        return [Declared(policy, probe, path, _locate(lines, keys, text), text, group, group,
                         False)]
    found = []
    start = (_locate(lines, keys, None) or 1) - 1  # items follow their key, in order
    for index, item in enumerate(value):
        slot = f"{group}[{index}]"
        text = _scalar(item, slot)
        line = _locate(lines, [], text, start)
        start = start if line is None else line - 1
        found.append(Declared(policy, probe, path, line, text, slot, group, True))
    return found


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    kind = "table" if isinstance(value, dict) else type(value).__name__
    raise Unreadable("probe-not-a-version", f"{where} is a {kind}, not a version")


def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(r"""(?:^|[\s\[{,."'])""" + re.escape(key) + r"""["']?\s*(?:[=:\].]|$)""")


def _locate(lines: list[str], keys: list[str], value: str | None, start: int = 0) -> int | None:
    """1-based line of ``value`` (or of the last key) after the key path ``keys``.

    A light text search: each key in turn, from where the previous one was found,
    skipping comment lines; then the first line from there that holds the value.
    """
    position = start
    found_key = False
    for key in keys:
        pattern = _key_pattern(key)
        for index in range(position, len(lines)):
            if not _comment(lines[index]) and pattern.search(lines[index]):
                position = index
                found_key = True
                break
    if value is not None:
        for index in range(position, len(lines)):
            if value in lines[index] and not _comment(lines[index]):
                return index + 1
    return position + 1 if found_key else None


def _comment(line: str) -> bool:
    return line.lstrip().startswith(("#", "//"))


def _yaml_values(probe: Probe, policy: str, path: str, text: str,
                 parts: list[str]) -> Iterator[Declared]:
    """YAML keeps every scalar as written (``1.30`` stays ``1.30``) and knows its line."""
    import yaml

    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise Unreadable("probe-unreadable", f"is not valid YAML: {exc}") from None
    except RecursionError:
        raise Unreadable("probe-unreadable", "is YAML nested too deeply") from None
    for number, document in enumerate(documents):
        if document is None:
            continue
        suffix = f" (document {number + 1})" if len(documents) > 1 else ""
        for concrete, node in _walk_nodes(document, parts, []):
            base = _slot(concrete)
            if isinstance(node, yaml.SequenceNode):
                for index, item in enumerate(node.value):
                    slot = f"{base}[{index}]{suffix}"
                    yield Declared(policy, probe, path, item.start_mark.line + 1,
                                   _yaml_scalar(item, slot), slot, base + suffix, True)
            else:
                yield Declared(policy, probe, path, node.start_mark.line + 1,
                               _yaml_scalar(node, base + suffix), base + suffix, base + suffix,
                               False)


def _yaml_scalar(node: yaml.Node, where: str) -> str:
    import yaml

    if isinstance(node, yaml.ScalarNode) and node.tag in _YAML_SCALARS:
        return str(node.value).strip()
    kind = ("table" if isinstance(node, yaml.MappingNode)
            else "list" if isinstance(node, yaml.SequenceNode)
            else node.tag.rsplit(":", 1)[-1])
    raise Unreadable("probe-not-a-version", f"{where} is a {kind}, not a version")


_YAML_SCALARS = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _walk_nodes(node: yaml.Node, parts: list[str],
                concrete: list[str | int]) -> Iterator[tuple[list[str | int], yaml.Node]]:
    import yaml

    if not parts:
        yield concrete, node
        return
    head, rest = parts[0], parts[1:]
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and head in ("*", key.value):
                yield from _walk_nodes(value, rest, [*concrete, str(key.value)])
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            if head == "*" or head == str(index):
                yield from _walk_nodes(item, rest, [*concrete, index])
