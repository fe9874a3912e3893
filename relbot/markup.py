"""reStructuredText fragments shown as Markdown, for GitLab Releases and MR comments.

Yaook/K8s writes its fragments in RST; GitLab renders Markdown. A converter
that handles all of RST would need docutils plus pandoc, which is too heavy for
a job that runs in every pipeline, so this translates the constructs that
release notes use (inline literals, links, roles, code blocks, literal blocks,
admonitions) and leaves any other text as it is, which still reads fine.
"""

from __future__ import annotations

import re
import textwrap

_LINK = re.compile(r"`([^`<>]+?)\s*<([^`<>\s]+)>`__?")
_ANON_LINK_ONLY = re.compile(r"`<([^`<>\s]+)>`__?")
_ROLE_WITH_TARGET = re.compile(r":[\w:+-]+:`([^`<>]+?)\s*<[^`<>]+>`")
_ROLE = re.compile(r":[\w:+-]+:`([^`]+)`")
_LITERAL = re.compile(r"``(.+?)``")
_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\.\s+(?P<name>[\w-]+)::\s*(?P<arg>.*)$")
_CODE_DIRECTIVES = {"code", "code-block", "sourcecode"}


def rst_link_to_markdown(text: str) -> str:
    """```text <url>`_`` as ``[text](url)``; other text unchanged (for issue_format)."""
    return _LINK.sub(lambda m: f"[{m.group(1)}]({m.group(2)})", text)


def inline(text: str) -> str:
    """Translate RST inline markup in one line."""
    text = _LINK.sub(lambda m: f"[{m.group(1)}]({m.group(2)})", text)
    text = _ANON_LINK_ONLY.sub(lambda m: f"<{m.group(1)}>", text)
    text = _ROLE_WITH_TARGET.sub(lambda m: m.group(1), text)
    text = _ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    return _LITERAL.sub(lambda m: f"`{m.group(1)}`", text)


def rst_to_markdown(text: str) -> str:
    """A Markdown rendering of an RST fragment."""
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = _DIRECTIVE.match(line)
        if directive:
            body, index = _block(lines, index + 1, len(directive.group("indent")))
            name = directive.group("name").lower()
            indent = directive.group("indent")
            if name in _CODE_DIRECTIVES:
                out.extend(_fence(body, directive.group("arg").strip(), indent))
            else:
                label = name.capitalize()
                head = f"{indent}> **{label}:**"
                arg = directive.group("arg").strip()
                out.append(f"{head} {inline(arg)}" if arg else head)
                converted = rst_to_markdown(textwrap.dedent("\n".join(body))).splitlines()
                out.extend(f"{indent}> {c}".rstrip() for c in converted)
            continue
        stripped = line.rstrip()
        if stripped.endswith("::") and not stripped.lstrip().startswith(".."):
            indent = len(line) - len(line.lstrip())
            body, after = _block(lines, index + 1, indent)
            if any(b.strip() for b in body):
                lead = stripped[:-2].rstrip()
                if lead.strip():
                    out.append(inline(lead + ":"))
                out.extend(_fence(body, "", " " * indent))
                index = after
                continue
        out.append(inline(line))
        index += 1
    return "\n".join(out)


def _block(lines: list[str], start: int, indent: int) -> tuple[list[str], int]:
    """The indented block after a directive; returns it and the next line's index."""
    body: list[str] = []
    index = start
    while index < len(lines):
        line = lines[index]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
        index += 1
    while body and not body[-1].strip():
        body.pop()
        index -= 1
    while body and not body[0].strip():
        body.pop(0)
    return body, index


def _fence(body: list[str], language: str, indent: str) -> list[str]:
    code = textwrap.dedent("\n".join(body)).splitlines()
    fence = "```"
    while any(fence in line for line in code):
        fence += "`"
    return [f"{indent}{fence}{language}", *(f"{indent}{c}".rstrip() for c in code),
            f"{indent}{fence}"]
