"""The MR comment (relbot.comment): exactly the Markdown relbot posts for typical reports."""

from __future__ import annotations

from relbot.comment import MARKER, render_comment
from relbot.findings import Finding
from relbot.markdown_safety import ZERO_WIDTH_SPACE as ZW
from relbot.mr import Check, ComponentReport, MergeRequest, MrReport

PASSING = MrReport(MergeRequest(7, "base"), "0123456789abcdef", (ComponentReport(
    "k8s", (Check("fragment present", "docs/_releasenotes/7.feature"), Check("MR number", "!7")),
    "8.0.2", "8.1.0", "### New Features\n\n- A thing. (!7)\n"),))

FAILING = MrReport(MergeRequest(8, "base"), "", (
    ComponentReport("k8s", (
        Check("fragment present", "none"),
        Check("policies", "2 finding(s)", (
            Finding("versions.yaml", "dropped", "Kubernetes 1.28 is dropped", 3),
            Finding("", "stale", "policy data is old", None, "warning"))))),
    ComponentReport("operator", (Check("fragment lint", "1 pending fragment(s)"),), None,
                    "1.0.1")), notices=("fragments renamed: x -> 8",))

PASSING_BODY = [
    '<!-- relbot:mr-check -->',
    '### :white_check_mark: relbot: release notes and policies are in order',
    '',
    '| check | result |',
    '| --- | --- |',
    '| fragment present | :white_check_mark: `docs/_releasenotes/7.feature` |',
    f'| MR number | :white_check_mark: \\!{ZW}7 |',
    '',
    '**If this merged now:** 8\\.0\\.2 → **8\\.1\\.0**',
    '',
    '<details><summary>Release notes preview</summary>',
    '',
    '```markdown',
    '### New Features',
    '',
    '- A thing. (!7)',
    '```',
    '',
    '</details>',
    '',
    f'<sub>relbot checked `0123456789ab` of \\!{ZW}7. This note is updated on every '
    'pipeline.</sub>',
]

FAILING_BODY = [
    '<!-- relbot:mr-check -->',
    '### :x: relbot: 1 problem(s) to fix before merging',
    '',
    '#### k8s',
    '| check | result |',
    '| --- | --- |',
    '| fragment present | :white_check_mark: none |',
    '| policies | :x: 2 finding\\(s\\) |',
    '',
    '**What to fix**',
    '',
    '- `versions.yaml`: Kubernetes 1\\.28 is dropped (`dropped`)',
    '- warning: policy data is old (`stale`)',
    '',
    '#### operator',
    '| check | result |',
    '| --- | --- |',
    '| fragment lint | :white_check_mark: 1 pending fragment\\(s\\) |',
    '',
    '**If this merged now:** ? → **1\\.0\\.1**',
    '',
    '- fragments renamed: x \\-&gt; 8',
    '',
    f'<sub>relbot checked `HEAD` of \\!{ZW}8. This note is updated on every pipeline.</sub>',
]


def test_a_passing_report() -> None:
    """One component: the table, the version it would release, the notes preview, the
    commit checked (shortened)."""
    assert render_comment(PASSING) == "\n".join(PASSING_BODY) + "\n"


def test_a_failing_report_of_two_components() -> None:
    """Only errors count as problems; a warning is labelled; each component has its heading;
    an unknown current version shows as ?; notices follow; no head commit says HEAD."""
    assert render_comment(FAILING) == "\n".join(FAILING_BODY) + "\n"


def test_every_comment_starts_with_the_marker() -> None:
    """The marker, on the first line, is how relbot finds its note again."""
    for report in (PASSING, FAILING):
        assert render_comment(report).split("\n", 1)[0] == MARKER


def test_file_names_are_code_and_only_errors_count() -> None:
    """A summary naming files (a / or a .) shows each file as code, others stay text; the
    heading counts the errors, not the warning; the notes keep their own indentation."""
    report = MrReport(MergeRequest(9, "base"), "fedcba9876543210", (ComponentReport("k8s", (
        Check("fragment present", "docs/_releasenotes/9.feature, docs/_releasenotes/9.fix"),
        Check("fragment lint", "9.fix"),
        Check("policies", "policies/kubernetes", (
            Finding("a.yaml", "dropped", "1.25 dropped"),
            Finding("b.yaml", "dropped", "1.26 dropped"),
            Finding("", "stale", "old data", None, "warning"))),
        Check("MR number", "2 checked, 1 renamed")), "1.0.0", "2.0.0",
        "\n  X marks the spot\nX\n"),))
    lines = render_comment(report).split("\n")
    assert lines[1] == "### :x: relbot: 2 problem(s) to fix before merging"
    assert lines[5:9] == [
        "| fragment present | :white_check_mark: `docs/_releasenotes/9.feature`, "
        "`docs/_releasenotes/9.fix` |",
        "| fragment lint | :white_check_mark: `9.fix` |",
        "| policies | :x: `policies/kubernetes` |",
        "| MR number | :white_check_mark: 2 checked, 1 renamed |",
    ]
    assert "```markdown\n  X marks the spot\nX\n```" in "\n".join(lines)
