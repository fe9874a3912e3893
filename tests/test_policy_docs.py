"""docs/policies.md keeps up with the schemas and the check's rules."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.conftest import PROJECT

DOC = (PROJECT / "docs" / "policies.md").read_text(encoding="utf-8")


def _properties(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        yield from schema.get("properties", {})
        for value in schema.values():
            yield from _properties(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _properties(value)


def test_every_schema_key_is_documented() -> None:
    """Each key a policy file or probe may hold appears in the reference as code."""
    keys: set[str] = set()
    for path in (PROJECT / "relbot" / "policy" / "schemas").glob("*.schema.json"):
        keys.update(_properties(json.loads(path.read_text(encoding="utf-8"))))
    assert {"versions", "max_minor_step", "aliases", "allowed", "pattern"} <= keys
    missing = sorted(k for k in keys if f"`{k}`" not in DOC and f".{k}`" not in DOC)
    assert missing == []


def test_every_finding_rule_is_documented() -> None:
    """Each rule name the check and the probes report is explained in the reference."""
    source = "".join((PROJECT / "relbot" / "policy" / name).read_text(encoding="utf-8")
                     for name in ("check.py", "probes.py"))
    rules = set(re.findall(r'"((?:policy|probe)-[a-z-]+)"', source))
    assert {"policy-dropped", "policy-upgrade-step", "probe-found-nothing"} <= rules
    assert sorted(r for r in rules if f"`{r}`" not in DOC) == []


def test_the_support_matrix_in_the_docs_is_generated() -> None:
    """The matrix in docs/policies.md is `relbot policy show` of the shipped files, on the
    day it names: regenerate it (see the section) when the policies change."""
    import datetime

    from relbot.policy import load
    from relbot.policy.show import render

    start, end = "<!-- support-matrix:start -->\n", "<!-- support-matrix:end -->"
    block = DOC[DOC.index(start) + len(start):DOC.index(end)]
    day = re.search(r"upstream status as of (\d{4}-\d{2}-\d{2})", block)
    assert day is not None
    policies = [load.load(name, PROJECT / "tests") for name in ("kubernetes", "openstack", "ovn")]
    assert block == render(policies, "md", datetime.date.fromisoformat(day.group(1)))
    assert day.group(1) == "2026-12-01"
