"""relbot's CI/CD components as an older GitLab reads them: allowed header keys, inputs.

GitLab validates a component's header (``spec:``) against the keys its version
knows and rejects the whole include on any other, so a key added in a newer
GitLab breaks every pipeline of an older instance. :data:`SPEC_KEYS` lists each
key with the GitLab version and the documentation that introduced it; relbot
supports GitLab 17.0 and later (DESIGN.md), so only keys of 17.0 or older may be
used. :func:`render` interpolates ``$[[ inputs.* ]]`` as the "CI/CD inputs" page
describes (defaults, mandatory inputs, ``type``, ``options``, ``regex``, unknown
inputs refused), for tests that do not need gitlab-ci-local.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

OLDEST_GITLAB = (17, 0)
INPUTS_DOC = "https://docs.gitlab.com/ci/inputs/ (CI/CD inputs), History"
YAML_DOC = "https://docs.gitlab.com/ci/yaml/ (CI/CD YAML syntax reference): spec"


@dataclass(frozen=True)
class SpecKey:
    """A ``spec`` header key, the GitLab version that introduced it, and where that is said."""

    introduced: tuple[int, int]
    source: str


SPEC_KEYS: dict[str, SpecKey] = {
    "inputs": SpecKey((15, 11), f"{INPUTS_DOC}: spec:inputs introduced in GitLab 15.11"),
    "inputs.default": SpecKey((15, 11), f"{INPUTS_DOC}: spec:inputs:default, 15.11"),
    "inputs.description": SpecKey((16, 5), f"{INPUTS_DOC}: spec:inputs:description, 16.5 "
                                           "(gitlab-org/gitlab!132040)"),
    "inputs.regex": SpecKey((16, 5), f"{INPUTS_DOC}: spec:inputs:regex, 16.5 "
                                     "(gitlab-org/gitlab#410836)"),
    "inputs.options": SpecKey((16, 6), f"{INPUTS_DOC}: spec:inputs:options, 16.6"),
    "inputs.type": SpecKey((16, 6), f"{INPUTS_DOC}: spec:inputs:type, 16.6 "
                                    "(gitlab-org/gitlab#390458)"),
    "include": SpecKey((17, 11), f"{YAML_DOC}:include, inputs from external files, 17.11"),
    "inputs.rules": SpecKey((18, 5), f"{INPUTS_DOC}: spec:inputs:rules, conditional "
                                     "inputs, 18.5 (gitlab-org/gitlab!206891 and after)"),
    "component": SpecKey((18, 6), f"{YAML_DOC}:component, component context, 18.6"),
    "description": SpecKey((18, 10), f"{YAML_DOC}:description, the component's own "
                                     "description, 18.10 (gitlab-org/gitlab#588286)"),
}


def header_keys(header: Any) -> list[str]:
    """The dotted ``spec`` keys a header uses (``inputs.<name>.<key>`` as ``inputs.<key>``)."""
    if not isinstance(header, dict) or set(header) != {"spec"}:
        return ["<a header other than one spec: mapping>"]
    spec = header["spec"]
    if not isinstance(spec, dict):
        return ["<spec that is not a mapping>"]
    keys: list[str] = []
    for key, value in spec.items():
        keys.append(str(key))
        if key == "inputs" and isinstance(value, dict):
            for options in value.values():
                if isinstance(options, dict):
                    keys.extend(f"inputs.{option}" for option in options)
    return keys


def too_new(header: Any, oldest: tuple[int, int] = OLDEST_GITLAB) -> list[str]:
    """Header keys that GitLab ``oldest`` rejects: unknown ones, or introduced later."""
    problems = []
    for key in dict.fromkeys(header_keys(header)):
        known = SPEC_KEYS.get(key)
        if known is None:
            problems.append(f"{key}: not in SPEC_KEYS (add it with the GitLab version and the "
                            "documentation that introduced it)")
        elif known.introduced > oldest:
            version = ".".join(map(str, known.introduced))
            problems.append(f"spec:{key.replace('.', ':')} needs GitLab {version} "
                            f"({known.source})")
    return problems


def documents(path: Path) -> tuple[dict[str, Any], str]:
    """A component file's header and its jobs as text (split at GitLab's ``---``)."""
    text = path.read_text("utf-8")
    head, _, body = text.partition("\n---\n")
    header = yaml.safe_load(head)
    assert isinstance(header, dict)
    return header, body


class InputError(ValueError):
    """An include's inputs that GitLab refuses."""


_INTERPOLATION = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")


def input_values(header: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The inputs' values as GitLab computes them, or InputError as GitLab refuses them."""
    spec = header["spec"]["inputs"]
    unknown = set(given) - set(spec)
    if unknown:
        raise InputError(f"unknown input arguments: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name, declared in spec.items():
        options = declared or {}
        if name in given:
            value = given[name]
        elif "default" in options:
            value = options["default"]
        else:
            raise InputError(f"`{name}` input: required value has not been provided")
        kind = options.get("type", "string")
        expected = {"string": str, "boolean": bool, "number": (int, float), "array": list}
        if not isinstance(value, expected[kind]):  # type: ignore[arg-type]
            raise InputError(f"`{name}` input: provided value is not a {kind}")
        if "options" in options and value not in options["options"]:
            raise InputError(f"`{name}` input: `{value}` cannot be used because it is not in "
                             "the list of allowed options")
        if "regex" in options and kind == "string" and not re.search(options["regex"], value):
            raise InputError(f"`{name}` input: provided value does not match required RegEx")
        values[name] = value
    return values


def render(path: Path, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The jobs a component adds to a pipeline with ``given`` inputs."""
    header, body = documents(path)
    values = input_values(header, given or {})

    def interpolate(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise InputError(f"unknown interpolation key: `{name}`")
        value = values[name]
        return str(value).lower() if isinstance(value, bool) else str(value)

    jobs = yaml.safe_load(_INTERPOLATION.sub(interpolate, body))
    assert isinstance(jobs, dict)
    return jobs


def include(*components: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    """Jobs of several includes merged as GitLab merges them (a later job of the same name
    is deep-merged into the earlier one)."""
    merged: dict[str, Any] = {}
    for path, given in components:
        for name, job in render(path, given).items():
            if name in merged and isinstance(job, dict):
                merged[name] = {**merged[name], **job}
            else:
                merged[name] = job
    return merged
