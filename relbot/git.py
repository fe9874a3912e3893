"""Git, behind one class: gitpython runs the commands, failures become GitError.

Every call goes through :meth:`GitRepo.run`, so git's exit status is never
ignored and no message can carry a credential from a remote URL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from relbot.errors import GitError
from relbot.secrets import mask

if TYPE_CHECKING:
    import git


class GitRepo:
    """A repository's work tree, driven through gitpython's command interface."""

    def __init__(self, root: Path) -> None:
        import git as gitpython

        try:
            self.repo: git.Repo = gitpython.Repo(root)
        except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
            raise GitError(f"{root} is not a git repository.") from None
        self.root = Path(self.repo.working_tree_dir or root)

    @classmethod
    def find(cls, root: Path) -> GitRepo | None:
        """The repository at ``root``, or ``None`` where there is none."""
        if not (root / ".git").exists():
            return None
        return cls(root)

    def run(self, *args: str, strip: bool = True, env: dict[str, str] | None = None) -> str:
        """Run ``git ARGS``; a non-zero exit raises GitError naming the command."""
        import git as gitpython

        try:
            out: str = self.repo.git.execute(
                ["git", *args], strip_newline_in_stdout=strip, env=env
            )
        except gitpython.GitCommandError as exc:
            stderr = (exc.stderr or "").strip()
            stderr = re.sub(r"^\s*stderr: ", "", stderr).strip().strip("'").strip()
            detail = stderr.splitlines()[-1] if stderr else f"exit status {exc.status}"
            raise GitError(mask(f"git {args[0]} failed: {detail}")) from None
        return out

    def ok(self, *args: str) -> bool:
        """Whether ``git ARGS`` succeeds (for questions git answers by exit status)."""
        try:
            self.run(*args)
        except GitError:
            return False
        return True

    def tags_merged(self, glob: str, rev: str = "HEAD") -> list[str]:
        """Tags matching ``glob`` that are reachable from ``rev``."""
        if not self.ok("rev-parse", "--verify", "--quiet", rev):
            return []
        out = self.run("tag", "--merged", rev, "--list", glob)
        return out.splitlines()

    def tags(self, glob: str) -> list[str]:
        """All local tags matching ``glob``."""
        return self.run("tag", "--list", glob).splitlines()
