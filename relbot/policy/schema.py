"""JSON Schema validation of policy data, with errors a person can act on.

The schemas in ``relbot/policy/schemas/`` are the single description of the
file format: the loader validates against them and editors can use them. A
jsonschema error is turned into one sentence that names the file and the key
path (``window[0].status``), lists allowed values, and suggests the closest
known key for an unknown one, like relbot's configuration errors do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from relbot.config import did_you_mean
from relbot.errors import PolicyError

if TYPE_CHECKING:
    import jsonschema

SCHEMAS = ("lifecycle", "probe", "support-window", "upgrade-graph")

_TYPE_TEXT = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "an array",
    "object": "a table",
}


def schema_text(name: str) -> str:
    """The JSON text of the schema ``name`` (``probe``, ``support-window``, ``upgrade-graph``)."""
    return resources.files("relbot.policy.schemas").joinpath(f"{name}.schema.json").read_text(
        encoding="utf-8")


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    import jsonschema
    from referencing import Registry, Resource

    schemas = {n: json.loads(schema_text(n)) for n in SCHEMAS}
    # The schemas refer to each other by file name, as editors resolve them next to
    # each other; the registry makes the same names resolve here, without a network.
    registry: Registry[Any] = Registry().with_resources(
        (f"{n}.schema.json", Resource.from_contents(s)) for n, s in schemas.items()
    )
    cls = jsonschema.validators.validator_for(schemas[name])
    return cls(schemas[name], registry=registry)


def validate(data: Any, name: str, where: str, prefix: str = "") -> None:
    """Raise one PolicyError for the first problem of ``data`` against schema ``name``.

    ``where`` names the file (``policies/ovn.toml``); ``prefix`` is the key
    path of ``data`` inside it (``probes[0]`` for a probe of the configuration).
    """
    errors = list(_validator(name).iter_errors(data))
    if not errors:
        return
    first = min(errors, key=lambda e: (_order(e.absolute_path), -len(e.absolute_path)))
    raise PolicyError(f"{where}: {message(first, prefix)}")


def _order(path: Iterable[object]) -> list[tuple[int, str]]:
    return [(0, f"{p:09d}") if isinstance(p, int) else (1, str(p)) for p in path]


def key_path(parts: Iterable[object], prefix: str = "") -> str:
    """``window[0].status`` from ``["window", 0, "status"]``, below ``prefix``."""
    text = prefix
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def message(error: jsonschema.ValidationError, prefix: str = "") -> str:
    """One sentence for one jsonschema error."""
    path = key_path(error.absolute_path, prefix)
    explain = _EXPLAIN.get(str(error.validator))
    if explain is not None:
        text = explain(error, path)
        if text is not None:
            return text
    schema = error.schema if isinstance(error.schema, dict) else {}
    where = path or "the file"
    description = schema.get("description")
    if description:
        return f"{where} is {error.instance!r}, which is not {description}."
    return f"{where}: {error.message}."


def _unknown_key(error: jsonschema.ValidationError, path: str) -> str | None:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if not isinstance(error.instance, dict):
        return None
    known = list(schema.get("properties", {}))
    extra = next(k for k in error.instance if k not in known)
    return (f"unknown key {key_path([extra], path)!r}" + did_you_mean(extra, known)
            + (f"; known: {', '.join(known)}." if known else "."))


def _required(error: jsonschema.ValidationError, path: str) -> str:
    wanted: Any = error.validator_value
    instance: Any = error.instance
    missing = next(k for k in wanted if k not in instance)
    if not path:
        return f"the top-level key {missing!r} is missing."
    return f"{path} needs the key {missing!r}."


def _type(error: jsonschema.ValidationError, path: str) -> str:
    wanted = _TYPE_TEXT.get(str(error.validator_value), str(error.validator_value))
    value = error.instance
    return f"{path or 'the file'} must be {wanted}, not {type(value).__name__} {value!r}."


def _choice(error: jsonschema.ValidationError, path: str) -> str:
    wanted: Any = error.validator_value
    allowed = [wanted] if error.validator == "const" else list(wanted)
    texts = [str(a) for a in allowed]
    return (f"{path} is {error.instance!r}; allowed: {', '.join(texts)}"
            + did_you_mean(str(error.instance), texts) + ".")


def _one_of(error: jsonschema.ValidationError, path: str) -> str | None:
    if not isinstance(error.instance, dict):
        return None
    branches: Any = error.validator_value
    keys = [k for s in branches for k in s.get("required", [])]
    has = "both" if sum(k in error.instance for k in keys) > 1 else "neither"
    return (f"{path or 'the file'} needs exactly one of "
            + " and ".join(repr(k) for k in keys) + f", but has {has}.")


def _empty(error: jsonschema.ValidationError, path: str) -> str:
    return f"{path} must not be empty."


def _minimum(error: jsonschema.ValidationError, path: str) -> str:
    return f"{path} is {error.instance!r}; it must be at least {error.validator_value}."


def _unique(error: jsonschema.ValidationError, path: str) -> str:
    return f"{path} lists the same value twice."


_EXPLAIN: dict[str, Callable[[jsonschema.ValidationError, str], str | None]] = {
    "additionalProperties": _unknown_key,
    "required": _required,
    "type": _type,
    "enum": _choice,
    "const": _choice,
    "oneOf": _one_of,
    "minItems": _empty,
    "minLength": _empty,
    "minimum": _minimum,
    "uniqueItems": _unique,
}
