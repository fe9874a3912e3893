"""Untrusted text stays text: the rules applied before it lands anywhere relbot writes.

Fragments come from merge requests; policy titles and notes, probe values and
MR titles come from files and CI variables a contributor can change. Before
any of it reaches the changelog, the tag message, the GitLab Release or the
bot comment, the same rules make it inert:

* the changelog's start marker cannot appear (else the next release inserts
  its notes wherever the text put the marker);
* a line made only of one repeated punctuation character (a reStructuredText
  section underline, a Markdown setext underline) is escaped, so untrusted
  text cannot open a section of its own;
* a title (policy title, MR title) is one line;
* in the comment, no line starts with ``/`` (older GitLab versions run quick
  actions found after a line that closes a code fence).

Markdown and HTML in the comment are ``relbot.markdown_safety``'s business;
it calls :func:`no_quick_actions` for every block of untrusted text.
"""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"
DEFAULT_MARKERS = (".. towncrier release notes start", "<!-- towncrier release notes start -->")
# RST adornment characters; backticks and tildes also fence code in Markdown and stay.
_ADORNMENT_RST = re.compile(r"^([ \t]*)([!-/:-@\[-_{-}~`])\2{2,}[ \t]*$", re.MULTILINE)
_ADORNMENT_MD = re.compile(r"^([ \t]*)([!-/:-@\[-_{-}])\2{2,}[ \t]*$", re.MULTILINE)
_SLASH_LINE = re.compile(r"^([ \t>]*)/", re.MULTILINE)


def without_marker(text: str, start_string: str | None = None) -> str:
    """``text`` in which the changelog's start marker (and the default ones) is broken up."""
    markers = {m for m in (*DEFAULT_MARKERS, (start_string or "").strip()) if m}
    for marker in sorted(markers, key=len, reverse=True):
        if marker in text:
            text = text.replace(marker, marker[0] + ZERO_WIDTH_SPACE + marker[1:])
    return text


def without_underlines(text: str, *, markdown: bool = False) -> str:
    """``text`` in which no line can underline (and so open) a section."""
    pattern = _ADORNMENT_MD if markdown else _ADORNMENT_RST
    return pattern.sub(lambda m: m.group(1) + "\\" + m.group(0)[len(m.group(1)):], text)


def fragment_text(text: str, start_string: str | None = None, *, markdown: bool = False) -> str:
    """A fragment's text as it may enter the notes."""
    return without_marker(without_underlines(text, markdown=markdown), start_string)


def one_line(text: str, start_string: str | None = None) -> str:
    """A title (policy title, MR title): one line, no marker."""
    return without_marker(" ".join(text.split()), start_string)


def no_quick_actions(text: str) -> str:
    """``text`` in which no line starts with ``/`` (GitLab quick actions)."""
    return _SLASH_LINE.sub(lambda m: m.group(1) + ZERO_WIDTH_SPACE + "/", text)
