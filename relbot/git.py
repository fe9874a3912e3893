"""Git, behind one class: gitpython runs the commands, failures become GitError.

Every call goes through :meth:`GitRepo.run`, so git's exit status is never
ignored and no message can carry a credential from a remote URL. Release
commits are built with plumbing (a temporary index, ``commit-tree``,
``update-ref`` with the expected old value) so that a crash at any point leaves
either the old state or the new one, never a half-written work tree.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from relbot.errors import GitError
from relbot.secrets import mask

if TYPE_CHECKING:
    import git

REMOTE = "origin"


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a git tree: its mode, type, object id, size and name."""

    mode: str
    kind: str
    oid: str
    size: int
    name: str

    @property
    def is_symlink(self) -> bool:
        """Mode 120000: a symbolic link."""
        return self.mode == "120000"

    @property
    def is_regular(self) -> bool:
        """A plain (possibly executable) file."""
        return self.kind == "blob" and self.mode in ("100644", "100755")


@dataclass(frozen=True)
class PushResult:
    """What the remote said to a push."""

    ok: bool
    rejected: tuple[str, ...]
    message: str


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

    # -- running ---------------------------------------------------------------

    def run(self, *args: str, strip: bool = True, env: Mapping[str, str] | None = None,
            stdin: str | None = None) -> str:
        """Run ``git ARGS``; a non-zero exit raises GitError naming the command."""
        import git as gitpython

        try:
            if stdin is not None:
                out = self._run_with_input(args, stdin, env)
            else:
                out = self.repo.git.execute(["git", *args], strip_newline_in_stdout=strip,
                                            env=dict(env) if env else None)
        except gitpython.GitCommandError as exc:
            raise GitError(mask(f"git {args[0]} failed: {_last_line(exc)}")) from None
        return str(out)

    def _run_with_input(self, args: tuple[str, ...], stdin: str,
                        env: Mapping[str, str] | None) -> str:
        import subprocess

        import git as gitpython

        proc = subprocess.run(["git", *args], cwd=self.root, input=stdin, text=True,
                              capture_output=True, env={**os.environ, **(env or {})},
                              check=False)
        if proc.returncode != 0:
            raise gitpython.GitCommandError(["git", *args], proc.returncode, proc.stderr)
        return proc.stdout.rstrip("\n")

    def ok(self, *args: str) -> bool:
        """Whether ``git ARGS`` succeeds (for questions git answers by exit status)."""
        try:
            self.run(*args)
        except GitError:
            return False
        return True

    # -- questions -------------------------------------------------------------

    def rev(self, rev: str) -> str | None:
        """The commit id of ``rev``, or ``None`` when it does not resolve."""
        try:
            return self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        except GitError:
            return None

    def object_id(self, rev: str) -> str | None:
        """The object id ``rev`` names (a tag object for annotated tags), or ``None``."""
        try:
            return self.run("rev-parse", "--verify", "--quiet", rev)
        except GitError:
            return None

    def has_object(self, oid: str) -> bool:
        """Whether the object exists locally."""
        return self.ok("cat-file", "-e", oid)

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether ``older`` is reachable from ``newer``."""
        return self.ok("merge-base", "--is-ancestor", older, newer)

    def current_branch(self) -> str | None:
        """The checked-out branch, or ``None`` on a detached HEAD."""
        try:
            return self.run("symbolic-ref", "--quiet", "--short", "HEAD")
        except GitError:
            return None

    def status(self) -> list[str]:
        """``git status --porcelain`` lines, without touching the index file."""
        out = self.run("--no-optional-locks", "status", "--porcelain", "--untracked-files=all",
                       strip=False)
        return [line for line in out.splitlines() if line]

    def has_remote(self, remote: str = REMOTE) -> bool:
        """Whether the remote is configured."""
        return remote in self.run("remote").split()

    def remote_default_branch(self, remote: str = REMOTE) -> str | None:
        """The branch the remote's HEAD points to, as last recorded locally."""
        try:
            ref = self.run("symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD")
        except GitError:
            return None
        return ref.removeprefix(f"refs/remotes/{remote}/")

    def ls_remote(self, refs: Iterable[str], remote: str = REMOTE) -> dict[str, str]:
        """Remote ref -> object id for those of ``refs`` that exist (annotated tags: the tag)."""
        wanted = list(refs)
        out = self.run("ls-remote", remote, *wanted)
        found = {}
        for line in out.splitlines():
            oid, _, name = line.partition("\t")
            found[name] = oid
        return found

    def tags_merged(self, glob: str, rev: str = "HEAD") -> list[str]:
        """Tags matching ``glob`` that are reachable from ``rev``."""
        if self.rev(rev) is None:
            return []
        return self.run("tag", "--merged", rev, "--list", glob).splitlines()

    def tags(self, glob: str) -> list[str]:
        """All local tags matching ``glob``."""
        return self.run("tag", "--list", glob).splitlines()

    def tags_at(self, rev: str, glob: str) -> list[str]:
        """Local tags matching ``glob`` that point at ``rev``."""
        return self.run("tag", "--points-at", rev, "--list", glob).splitlines()

    def trailer(self, rev: str, key: str) -> list[str]:
        """The values of trailer ``key`` in the message of commit ``rev``."""
        out = self.run("log", "-1", f"--format=%(trailers:key={key},valueonly,unfold)", rev)
        return [line.strip() for line in out.splitlines() if line.strip()]

    def commits_between(self, base: str | None, head: str = "HEAD") -> list[str]:
        """Commits reachable from ``head`` but not ``base``, newest first (all without base)."""
        args = ["rev-list", head] if base is None else ["rev-list", f"{base}..{head}"]
        return self.run(*args).splitlines()

    def ls_tree(self, rev: str, directory: str) -> list[TreeEntry]:
        """Entries directly inside ``directory`` of ``rev`` (empty when it does not exist)."""
        path = directory.rstrip("/") + "/" if directory not in ("", ".") else ""
        out = self.run("ls-tree", "-z", "--long", rev, "--", path, strip=False)
        entries = []
        for record in out.split("\0"):
            if not record:
                continue
            meta, _, name = record.partition("\t")
            mode, kind, oid, size = meta.split()
            entries.append(TreeEntry(mode, kind, oid, int(size) if size.isdigit() else 0,
                                     name.rsplit("/", 1)[-1]))
        return entries

    def read_blob(self, oid: str) -> bytes:
        """The content of a blob."""
        import subprocess

        proc = subprocess.run(["git", "cat-file", "blob", oid], cwd=self.root,
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise GitError(f"git cat-file failed for {oid}.")
        return proc.stdout

    # -- changes ---------------------------------------------------------------

    def commit_files(
        self,
        parent: str,
        writes: Mapping[str, bytes],
        removes: Iterable[str],
        message: str,
    ) -> str:
        """A new commit on ``parent`` with files written and removed; returns its id.

        Built in a temporary index, so neither the work tree nor the real index
        changes: until the branch is moved, nothing is visible.
        """
        with tempfile.TemporaryDirectory(prefix="relbot-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.run("read-tree", parent, env=env)
            for path, data in writes.items():
                oid = self._hash_object(data)
                mode = "100644"
                self.run("update-index", "--add", "--cacheinfo", f"{mode},{oid},{path}",
                         env=env)
            for path in removes:
                self.run("update-index", "--force-remove", "--", path, env=env)
            tree = self.run("write-tree", env=env)
        return self.run("commit-tree", tree, "-p", parent, "-F", "-", stdin=message)

    def _hash_object(self, data: bytes) -> str:
        import subprocess

        proc = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=self.root,
                              input=data, capture_output=True, check=False)
        if proc.returncode != 0:
            raise GitError("git hash-object failed: " + proc.stderr.decode(errors="replace"))
        return proc.stdout.decode().strip()

    def move_branch(self, branch: str, new: str, old: str) -> None:
        """Point ``branch`` at ``new`` only if it still points at ``old`` (compare-and-swap)."""
        self.run("update-ref", "-m", f"relbot: release commit {new[:12]}",
                 f"refs/heads/{branch}", new, old)

    def checkout_tree(self, old: str, new: str) -> None:
        """Move index and work tree from ``old``'s tree to ``new``'s (a safe two-way merge)."""
        self.run("read-tree", "-m", "-u", old, new)

    def attach(self, branch: str) -> None:
        """Check out ``branch`` at the current commit (for detached CI checkouts)."""
        self.run("checkout", "-q", "-B", branch)

    def create_branch(self, branch: str, commit: str) -> None:
        """Create ``branch`` at ``commit`` (it must not exist)."""
        self.run("branch", branch, commit)

    def tag_annotated(self, tag: str, commit: str, message: str) -> None:
        """An annotated tag holding ``message`` verbatim (Markdown headings survive)."""
        self.run("tag", "-a", "--cleanup=verbatim", "-F", "-", tag, commit, stdin=message)

    def delete_tag(self, tag: str) -> None:
        """Remove a local tag."""
        self.run("tag", "-d", tag)

    def push_atomic(self, refspecs: list[str], remote: str = REMOTE,
                    env: Mapping[str, str] | None = None) -> PushResult:
        """``git push --atomic``: all refs move, or none; the refusal is reported, not raised."""
        import subprocess

        proc = subprocess.run(["git", "push", "--atomic", "--porcelain", remote, *refspecs],
                              cwd=self.root, capture_output=True, text=True, check=False,
                              env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})})
        rejected = tuple(line.split("\t")[1].split(":")[-1] for line in proc.stdout.splitlines()
                         if line.startswith("!") and "\t" in line)
        text = mask((proc.stderr + proc.stdout).strip())
        if proc.returncode == 0:
            return PushResult(True, (), text)
        if not rejected and "rejected" not in text and "denied" not in text:
            detail = _last_meaningful(text)
            raise GitError(f"git push to {remote} failed: {detail}")
        return PushResult(False, rejected, text)


def _last_line(exc: Exception) -> str:
    stderr = str(getattr(exc, "stderr", "") or "").strip()
    stderr = re.sub(r"^\s*stderr: ", "", stderr).strip().strip("'").strip()
    return _last_meaningful(stderr) or f"exit status {getattr(exc, 'status', '?')}"


def _last_meaningful(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith(("To ", "Done", "hint:"))]
    errors = [line for line in lines if line.startswith(("fatal:", "error:", "remote:"))]
    return (errors or lines or [""])[-1]
