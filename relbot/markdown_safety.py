"""Showing untrusted text (fragments, file names from forks) in a GitLab comment, inertly.

GitLab acts on what a comment says: ``@all`` notifies everyone, HTML renders,
``</details>`` closes relbot's own block, a closing fence ends a code block.
Text from a merge request is therefore only ever shown as a code span or a
fenced block whose fence is longer than any backtick run in the text (GitLab
neither renders nor resolves references inside code), or, in running text,
with every character that means something to Markdown, HTML or GitLab escaped.
No line of it starts with ``/``: older GitLab versions run quick actions found
after a line that closes a fence (``relbot.untrusted.no_quick_actions``).
"""

from __future__ import annotations

import re

from relbot.untrusted import no_quick_actions

_BACKTICKS = re.compile(r"`+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
ZERO_WIDTH_SPACE = "\u200b"


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in _BACKTICKS.findall(text)), default=0)


def code_span(text: str) -> str:
    """``text`` as an inline code span that it cannot close, on one line."""
    flat = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text.replace("\r", " ").replace("\n", " "))
    flat = flat.replace("|", "\N{BOX DRAWINGS LIGHT VERTICAL}")  # tables split on "|"
    fence = "`" * (_longest_backticks(flat) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def code_block(text: str, language: str = "") -> str:
    """``text`` as a fenced code block that it cannot close."""
    body = no_quick_actions(_CONTROL.sub("\N{REPLACEMENT CHARACTER}",
                                         text.replace("\r\n", "\n")))
    fence = "`" * max(3, _longest_backticks(body) + 1)
    return f"{fence}{language}\n{body.rstrip()}\n{fence}"


def text(value: str) -> str:
    """Running text with Markdown, HTML and GitLab references made inert."""
    flat = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", value.replace("\r", " ").replace("\n", " "))
    flat = no_quick_actions(flat)
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    flat = _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    # @mentions, #issues, !MRs, ~labels, %milestones, $snippets, &epics stay plain text
    return re.sub(r"([@#!~%$]|&amp;)(?=\S)", lambda m: m.group(1) + ZERO_WIDTH_SPACE, flat)
