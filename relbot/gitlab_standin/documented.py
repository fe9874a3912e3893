"""The documented GitLab API examples the stand-in's responses are shaped after.

Each ``fixtures/<name>.json`` holds ``_source`` (documentation page, section,
repository and commit) and ``example`` (the documented response). See
``fixtures/README.md`` for the list.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

EXAMPLES = (
    "current_user",
    "merge_request",
    "merge_request_note",
    "merge_request_discussions",
    "tag",
    "tag_created",
    "release",
    "pagination_headers",
)


def _load(name: str) -> dict[str, Any]:
    if name not in EXAMPLES:
        raise KeyError(f"no documented example named {name!r}; known: {', '.join(EXAMPLES)}")
    fixtures = resources.files(__package__).joinpath("fixtures")
    text = fixtures.joinpath(f"{name}.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def documented_example(name: str) -> Any:
    """The documented response example ``name`` (a fresh copy): an object, or a list for
    a list endpoint."""
    return _load(name)["example"]


def documented_source(name: str) -> dict[str, Any]:
    """Where the example ``name`` comes from: page, section, repository, commit, edits."""
    source: dict[str, Any] = _load(name)["_source"]
    return source
