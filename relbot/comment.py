"""The bot comment on a merge request: one note, rewritten on every pipeline.

The hidden marker finds the note again (together with the bot user's id, so
a human who pastes the marker does not capture relbot's note). Everything
that comes from the merge request (file names, fragment text, messages that
quote them) goes through ``relbot.markdown_safety``.
"""

from __future__ import annotations

from relbot import markdown_safety as safe
from relbot.mr import Check, ComponentReport, MrReport

MARKER = "<!-- relbot:mr-check -->"

# GitLab refuses a note over 1,000,000 characters (Notes API, "body": "Limited to
# 1,000,000 characters", https://docs.gitlab.com/api/notes/), and 10,000 pending
# fragments render to more: the comment shows a bounded preview, the rest is one line.
PREVIEW_ENTRIES = 200
PREVIEW_CHARS = 50_000
FINDINGS_SHOWN = 200


def render_comment(report: MrReport) -> str:
    """The Markdown body of the bot note."""
    failing = [f for f in report.findings if f.severity == "error"]
    if report.ok:
        lines = [MARKER, "### :white_check_mark: relbot: release notes and policies are in "
                 "order"]
    else:
        lines = [MARKER, f"### :x: relbot: {len(failing)} problem(s) to fix before merging"]
    for component in report.components:
        lines += ["", *_component(component, len(report.components) > 1)]
    if report.notices:
        lines += ["", *(f"- {safe.text(n)}" for n in report.notices)]
    head = report.head[:12] if report.head else "HEAD"
    lines += ["", f"<sub>relbot checked {safe.code_span(head)} of "
                  f"{safe.text('!' + str(report.mr.iid))}. This note is updated on every "
                  "pipeline.</sub>"]
    return "\n".join(lines) + "\n"


def _component(component: ComponentReport, several: bool) -> list[str]:
    lines = [f"#### {safe.text(component.component)}"] if several else []
    lines += ["| check | result |", "| --- | --- |"]
    lines += [_row(check) for check in component.checks]
    problems = [f for check in component.checks for f in check.findings]
    if problems:
        lines += ["", "**What to fix**", ""]
        for finding in problems[:FINDINGS_SHOWN]:
            where = safe.code_span(finding.path) + ": " if finding.path else ""
            level = "" if finding.severity == "error" else f"{finding.severity}: "
            lines.append(f"- {where}{level}{safe.text(finding.message)} "
                         f"({safe.code_span(finding.rule)})")
        if len(problems) > FINDINGS_SHOWN:
            lines.append(f"- … and {len(problems) - FINDINGS_SHOWN} more; all of them: "
                         "`relbot mr check` in the job log")
    if component.next_version:
        lines += ["", f"**If this merged now:** {safe.text(component.current_version or '?')} "
                      f"→ **{safe.text(component.next_version)}**"]
    if component.hotfix_version:
        lines += ["", f"**This hotfix will release** {safe.code_span(component.hotfix_version)} "
                      "(the release commit is on the MR's branch after `relbot mr check --fix`; "
                      "`relbot cut --hotfix` tags it after the merge)"]
    if component.notes_md:
        lines += ["", "<details><summary>Release notes preview</summary>", "",
                  *_preview(component.notes_md.strip("\n"), component.notes_left),
                  "</details>"]
    return lines


def preview(notes: str, entries: int = PREVIEW_ENTRIES,
            chars: int = PREVIEW_CHARS) -> tuple[str, int]:
    """The head of ``notes`` (whole lines, at most ``entries`` entries and ``chars``
    characters) and how many entries it leaves out. A cut head ends with its last
    entry, not with the heading of a section it shows nothing of."""
    shown: list[str] = []
    size = count = 0
    lines = notes.splitlines()
    for index, line in enumerate(lines):
        entry = line.lstrip().startswith(("- ", "* "))
        if (entry and count == entries) or size + len(line) + 1 > chars:
            rest = lines[index:]
            left = sum(1 for rest_line in rest if rest_line.lstrip().startswith(("- ", "* ")))
            while shown and (not shown[-1].strip() or shown[-1].startswith("#")):
                shown.pop()
            if not shown:  # one line longer than the whole budget: cut it
                shown.append(line[:chars] + " …")
            return "\n".join(shown), max(left, 1)
        shown.append(line)
        size += len(line) + 1
        count += entry
    return notes.rstrip("\n"), 0


def _preview(notes: str, beyond: int = 0) -> list[str]:
    head, left = preview(notes)
    left += beyond  # entries that were not even rendered (relbot.notes.leading_groups)
    lines = [safe.code_block(head, "markdown"), ""]
    if left:
        lines += [f"… and {left} more {'entry' if left == 1 else 'entries'}; full notes: "
                  "`relbot notes --draft`", ""]
    return lines


def _row(check: Check) -> str:
    mark = ":white_check_mark:" if check.ok else ":x:"
    summary = check.summary
    if "/" in summary or "." in summary:  # file names: each in its own code span
        shown = ", ".join(safe.code_span(part) for part in summary.split(", "))
    else:
        shown = safe.text(summary)
    return f"| {safe.text(check.name)} | {mark} {shown} |"
