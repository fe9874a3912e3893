"""Untrusted text in a comment (relbot.markdown_safety): exactly what each helper writes, and
that CommonMark reads it back as one inert piece."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from relbot.markdown_safety import ZERO_WIDTH_SPACE as ZW
from relbot.markdown_safety import code_block, code_span, text

R = "\N{REPLACEMENT CHARACTER}"
BAR = "\N{BOX DRAWINGS LIGHT VERTICAL}"
MD = MarkdownIt("commonmark")


@pytest.mark.parametrize(("raw", "shown"), [
    ("plain", "`plain`"),
    ("a`b", "``a`b``"),
    ("`x`", "`` `x` ``"),  # a span that starts or ends with a backtick is padded
    ("x``y`", "``` x``y` ```"),
    ("```", "```` ``` ````"),
    ("", "`  `"),  # an empty or blank span is padded, or it would not be a span
    ("   ", "`     `"),
    ("a\r\nb", "`a  b`"),  # one line
    ("a|b", f"`a{BAR}b`"),  # a table cell cannot be split
    ("a\x1bb\u202e", f"`a{R}b{R}`"),  # terminal escapes and bidi overrides
    ("a\x00\x08\x0b\x1f\x7f", f"`a{R * 5}`"),
    ("a\u2066\u2069", f"`a{R * 2}`"),
    ("a\tb", "`a\tb`"),  # a tab is harmless
])
def test_code_span(raw: str, shown: str) -> None:
    """The span's fence is one backtick longer than any run inside; nothing breaks the line."""
    assert code_span(raw) == shown


@pytest.mark.parametrize(("raw", "shown"), [
    ("a\r\nb", "```\na\nb\n```"),
    ("x ```` y", "`````\nx ```` y\n`````"),
    ("x\n\n  ", "```\nx\n```"),
    ("a\rb\x00", f"```\na{R}b{R}\n```"),
    ("\ta", "```\n\ta\n```"),  # leading indentation is the text's own
])
def test_code_block(raw: str, shown: str) -> None:
    """The fence is at least three backticks and longer than any run inside."""
    assert code_block(raw) == shown
    assert code_block(raw, "markdown") == shown.replace("\n", "markdown\n", 1)


@pytest.mark.parametrize(("raw", "shown"), [
    ("@all", f"@{ZW}all"),
    ("x@y @@a", f"x@{ZW}y @{ZW}@{ZW}a"),
    ("@ all", "@ all"),  # not a mention: nothing follows the @
    ("#12 !5 ~l %m $s", f"\\#{ZW}12 \\!{ZW}5 \\~{ZW}l %{ZW}m ${ZW}s"),
    ("&<>", f"&amp;{ZW}&lt;&gt;"),  # &epic references too
    ("a & b", "a &amp; b"),
    ("a*b_c", "a\\*b\\_c"),
    ("[x](y) `z` {a} +-.|>", "\\[x\\]\\(y\\) \\`z\\` \\{a\\} \\+\\-\\.\\|&gt;"),
    ("back\\slash", "back\\\\slash"),
    ("a\nb\rc", "a b c"),
    ("\x07x\u202e", f"{R}x{R}"),
])
def test_text(raw: str, shown: str) -> None:
    """Running text: HTML escaped, Markdown escaped, GitLab references broken by a zero-width
    space after their sigil."""
    assert text(raw) == shown


untrusted = st.text(st.sampled_from("ab `|@#!<>&*_\\\n\r\t\x1b~$%[]()"), max_size=30)


@settings(max_examples=60, deadline=None)
@given(untrusted)
def test_a_code_span_renders_as_one_code_span(raw: str) -> None:
    """Whatever the text, CommonMark reads the span as one <code> holding it (flattened)."""
    rendered = MD.render(code_span(raw)).strip()
    match = re.fullmatch(r"<p><code>(.*)</code></p>", rendered, re.S)
    assert match is not None, rendered
    flat = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", R, raw.replace("\r", " ").replace("\n", " "))
    flat = flat.replace("|", BAR)
    # CommonMark strips one space each side of a span that has both, unless it is all spaces
    padded = f" {flat} " if flat.startswith("`") or flat.endswith("`") or not flat.strip() \
        else flat
    shown = padded[1:-1] if padded[:1] == padded[-1:] == " " and padded.strip(" ") else padded
    assert html.unescape(match[1]) == shown


@settings(max_examples=60, deadline=None)
@given(untrusted)
def test_a_code_block_renders_as_one_block(raw: str) -> None:
    """Whatever the text, CommonMark reads the block as one <pre><code> and nothing after."""
    rendered = MD.render(code_block(raw, "markdown")).strip()
    match = re.fullmatch(r'<pre><code class="language-markdown">(.*)</code></pre>', rendered,
                         re.S)
    assert match is not None, rendered
    body = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", R, raw.replace("\r\n", "\n")).rstrip()
    assert html.unescape(match[1]) == body + "\n"
