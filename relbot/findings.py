"""A problem that a check found, located in a file where possible.

Fragment lint, policy checks and the MR check all report findings of this one
shape, so the console report, the JUnit file and the bot comment render them
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: where (file, line), which rule, and what is wrong."""

    path: str
    rule: str
    message: str
    line: int | None = None
    severity: str = "error"  # "error" fails the check, "warning" does not

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        prefix = f"{where}: " if where else ""
        tag = "" if self.severity == "error" else f"{self.severity}: "
        return f"{prefix}{tag}{self.message} [{self.rule}]"


def errors(findings: list[Finding]) -> list[Finding]:
    """The findings that fail a check."""
    return [f for f in findings if f.severity == "error"]
