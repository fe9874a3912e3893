"""relbot's exceptions: each carries the exit code the CLI turns it into.

The core raises these and never calls ``sys.exit`` or imports click, so the
same functions serve the CLI, CI and tests.
"""

from __future__ import annotations


class RelbotError(Exception):
    """Base class: a message meant for the user, and an exit code."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(RelbotError):
    """relbot's or towncrier's configuration is wrong or missing (exit 2)."""


class UsageError(RelbotError):
    """The command line asks for something that cannot be done (exit 2)."""


class FragmentError(RelbotError):
    """A fragment cannot be read or written (exit 1: the repository's content, as in `cut`)."""

    exit_code = 1


class VersionError(RelbotError):
    """A version string cannot be parsed or would go backwards (exit 2)."""


class PolicyError(RelbotError):
    """A policy file is malformed (exit 2)."""


class CheckFailed(RelbotError):
    """A check found problems; the findings were reported (exit 1)."""

    exit_code = 1


class NothingPending(RelbotError):
    """No pending fragments: nothing to version, render or release (exit 1, as `cut`)."""

    exit_code = 1


class ReleaseRefused(RelbotError):
    """A precondition of a release does not hold; nothing was changed (exit 1)."""

    exit_code = 1


class GitError(RelbotError):
    """A git command failed; the message says which and why (exit 1)."""

    exit_code = 1


class ForgeError(RelbotError):
    """The forge (GitLab) refused or failed a request (exit 1)."""

    exit_code = 1
