"""Git, behind one class: each call one ``git`` process, failures become GitError.

Every call goes through :meth:`GitRepo.run`, so git's exit status is never
ignored and no message can carry a credential from a remote URL. Release
commits are built with plumbing (a temporary index, ``commit-tree``,
``update-ref`` with the expected old value) so that a crash at any point leaves
either the old state or the new one, never a half-written work tree. The number
of processes never grows with the number of files: paths go to git in one batch
(``update-index --index-info``, ``hash-object --stdin-paths``), blobs come back
through one ``cat-file --batch``, and every path list is read NUL-separated
(``-z``), as git writes names such as ``café`` quoted otherwise.

git runs through :mod:`subprocess` directly: gitpython's command wrapper cost a
tenth of a second of imports in every light command and added nothing.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import subprocess
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from relbot.errors import GitError
from relbot.secrets import mask

REMOTE = "origin"
# What gitpython set, so that git's messages (which some refusals quote) stay English.
_LOCALE = {"LC_ALL": "C", "LANGUAGE": "C"}
_OID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")

@dataclass(frozen=True)
class RemoteRefs:
    """What one ``ls-remote`` saw: ref -> object id (``^{}``: a tag's commit), the ref the
    remote's HEAD names, and the patterns asked, so that a ref they do not cover is known
    to be unknown rather than absent."""

    refs: Mapping[str, str]
    head: str | None
    patterns: tuple[str, ...]

    def covers(self, ref: str) -> bool:
        """Whether the listing answers for ``ref`` (git matches patterns as globs)."""
        return any(fnmatch.fnmatchcase(ref, pattern) for pattern in self.patterns)


@dataclass(frozen=True)
class PushResult:
    """What the remote said to a push."""

    ok: bool
    rejected: tuple[str, ...]
    message: str


class GitRepo:
    """A repository's work tree; each method one (or, in a batch, a fixed few) git processes."""

    def __init__(self, root: Path) -> None:
        root = Path(root).absolute()
        if not (root / ".git").exists():
            raise GitError(f"{root} is not a git repository.")
        self.root = root
        self._batch: subprocess.Popen[bytes] | None = None
        self._remotes: tuple[str, ...] | None = None
        self._started: dict[tuple[str, ...], subprocess.Popen[bytes]] = {}

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
        out = self._exec(args, None if stdin is None else stdin.encode("utf-8"), env)
        text = out.decode("utf-8", errors="replace")
        if strip and text.endswith("\n"):
            text = text[:-1]
        return text

    def start(self, *args: str) -> None:
        """Start ``git ARGS`` now, to run beside what relbot does meanwhile; the next
        :meth:`run` with the same arguments reads its answer instead of starting it
        (the same one process, its wait overlapped with other work)."""
        if args in self._started:
            return
        try:
            proc = subprocess.Popen(["git", *args], cwd=self.root, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env={**os.environ, **_LOCALE})
        except OSError:
            return  # run() starts it again and says what is wrong
        self._started[args] = proc
        weakref.finalize(self, _reap, proc)

    def _exec(self, args: Iterable[str], stdin: bytes | None,
              env: Mapping[str, str] | None = None) -> bytes:
        argv = ["git", *args]
        started = (self._started.pop(tuple(argv[1:]), None)
                   if stdin is None and env is None else None)
        try:
            if started is not None:
                out, err = started.communicate()
                proc = subprocess.CompletedProcess(argv, started.returncode, out, err)
            else:
                proc = subprocess.run(argv, cwd=self.root, input=stdin, capture_output=True,
                                      env={**os.environ, **_LOCALE, **(env or {})},
                                      check=False,
                                      stdin=subprocess.DEVNULL if stdin is None else None)
        except FileNotFoundError:
            if not self.root.is_dir():
                raise GitError(f"{self.root} does not exist (any more).") from None
            raise GitError("git is not installed (no `git` on PATH).") from None
        if proc.returncode != 0:
            stderr = proc.stderr.decode("utf-8", errors="replace")
            detail = _last_meaningful(stderr) or f"exit status {proc.returncode}"
            raise GitError(mask(f"git {argv[1]} failed: {detail}"))
        return proc.stdout

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
        found = self._lookup(f"{rev}^{{commit}}")
        return None if found is None else found[0]

    def has_object(self, oid: str) -> bool:
        """Whether the object exists locally."""
        return self._lookup(oid) is not None

    def file_at(self, rev: str, path: str) -> bytes | None:
        """The content of file ``path`` at ``rev`` (one question to the batch), or ``None``."""
        found = self._lookup(f"{rev}:{path}")
        if found is None:
            return None
        if found[1] != "blob":
            raise GitError(f"{path} at {rev[:12]} is a {found[1]}, not a file.")
        return found[2]

    def tree_entries(self, rev: str, directory: str) -> dict[str, tuple[str, str]] | None:
        """``directory``'s entries at ``rev`` (name -> (mode, object id)), one question to
        the batch; ``None`` where it is no directory there (or a name the batch cannot
        carry: :func:`batch_can_ask`).

        One directory's tree object, parsed here, instead of a recursive ``ls-tree`` of
        the whole revision: reading one file of a commit costs no process.
        """
        name = f"{rev}:{directory}" if directory else f"{rev}^{{tree}}"
        if not batch_can_ask(name):
            return None
        found = self._lookup(name)
        if found is None or found[1] != "tree":
            return None
        return _parse_tree(found[2], len(found[0]) // 2)

    def _lookup(self, name: str) -> tuple[str, str, bytes] | None:
        """(id, type, content) of what ``name`` names, or ``None`` where it names nothing.

        Asked of the one ``cat-file --batch`` process (it resolves revisions as
        ``rev-parse`` does, and reads refs afresh for each question), so the many small
        questions of a release plan start no process each. A name git's batch protocol
        cannot carry (a line break, a leading option dash) goes to ``rev-parse``.
        """
        if not batch_can_ask(name):
            try:
                oid = self.run("rev-parse", "--verify", "--quiet", name)
            except GitError:
                return None
            kind = self.run("cat-file", "-t", oid)
            return oid, kind, b"" if kind != "blob" else self.read_blob(oid)
        batch = self._cat_file()
        stdin, stdout = _pipes(batch)
        try:
            stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
            stdin.flush()
            line = stdout.readline()
            if not line:
                raise OSError("git cat-file ended early")
            header = line.split()
            # "<id> <type> <size>", or "<name> missing" / "<name> ambiguous" (a name
            # may hold spaces: only a header of an id, a type and a size is an answer)
            if not (len(header) == 3 and _OID.fullmatch(header[0].decode())
                    and header[2].isdigit()):
                return None
            data = _read_exactly(stdout, int(header[2]) + 1)[:-1]
        except (OSError, ValueError):
            self.close()
            raise GitError(f"git cat-file failed for {name!r}.") from None
        return header[0].decode(), header[1].decode(), data

    def git_dir(self) -> Path:
        """The repository's git directory: ``.git`` itself where it is one (no process),
        else (a linked work tree's ``.git`` file) as git names it."""
        dot_git = self.root / ".git"
        if dot_git.is_dir() and not dot_git.is_symlink() and "GIT_DIR" not in os.environ:
            return dot_git
        return Path(self.run("rev-parse", "--absolute-git-dir"))

    def mentions(self, rev: str, word: str) -> bool:
        """Whether commit ``rev``'s object holds ``word`` (any case): one question to the
        batch, so a commit that cannot hold a trailer is passed over without ``git log``."""
        found = self._lookup(f"{rev}^{{commit}}")
        return found is not None and word.lower().encode() in found[2].lower()

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether ``older`` is reachable from ``newer``."""
        return self.ok("merge-base", "--is-ancestor", older, newer)

    def current_branch(self) -> str | None:
        """The checked-out branch, or ``None`` on a detached HEAD.

        Read from ``.git/HEAD`` where it is the plain file gitrepository-layout(5)
        describes (``ref: refs/heads/NAME``, or an object id when detached): no process
        for a question a cut asks twice. Anything else (a linked work tree, reftable's
        placeholder, ``GIT_DIR``) is asked of ``git symbolic-ref``.
        """
        dot_git = self.root / ".git"
        if dot_git.is_dir() and not dot_git.is_symlink() and "GIT_DIR" not in os.environ:
            try:
                # bytes, not text mode: universal newlines would hide a "\r"
                text = (dot_git / "HEAD").read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                text = ""
            name = text.removeprefix("ref: refs/heads/").rstrip("\n")
            # a branch name holds no white space (git-check-ref-format(1)): anything else
            # (a line end written by another tool, a second line) is git's to read
            if (text.startswith("ref: refs/heads/") and text.endswith("\n")
                    and name and name != ".invalid" and not any(c.isspace() for c in name)):
                return name
            if _OID.fullmatch(text.rstrip("\n")) and text.endswith("\n"):
                return None
        try:
            return self.run("symbolic-ref", "--quiet", "--short", "HEAD")
        except GitError:
            return None

    def status(self, *, save_stat: bool = False) -> list[str]:
        """``git status --porcelain`` lines, without touching the index file unless
        ``save_stat``: then git keeps the stat data it refreshed, as a plain ``git status``
        does (a fresh clone's files are all "racily clean": hashed once, not again by the
        checkout that follows)."""
        out = self.run(*_status_args(save_stat), strip=False)
        records = iter(out.split("\0"))
        lines = []
        for record in records:
            if not record:
                continue
            lines.append(record)
            if record[:1] in ("R", "C"):
                next(records, None)  # a rename's or copy's source path follows
        return lines

    def start_status(self, *, save_stat: bool = False) -> None:
        """Start :meth:`status`'s process now (a release plan asks the remote first)."""
        self.start(*_status_args(save_stat))

    def start_has_remote(self) -> None:
        """Start :meth:`has_remote`'s process now, unless it was answered already."""
        if self._remotes is None:
            self.start("remote")

    def start_remote_refs(self, patterns: Iterable[str], remote: str = REMOTE) -> None:
        """Start :meth:`remote_refs`'s ``ls-remote`` now: its network round trip then runs
        beside the rest of the plan. Started before :meth:`has_remote` answers, it is
        simply never read where the remote is not configured."""
        self.start(*_remote_refs_args(remote, tuple(patterns)))

    def start_tags_at(self, rev: str, glob: str) -> None:
        """Start :meth:`tags_at`'s first question now."""
        self.start(*_describe_args(rev, glob))

    def drop_started(self) -> None:
        """Forget the processes started early and not read: their answers describe the
        repository as it was, and what follows may change it."""
        started, self._started = self._started, {}
        for proc in started.values():
            _reap(proc)

    def has_remote(self, remote: str = REMOTE) -> bool:
        """Whether the remote is configured (asked once: a run never adds one)."""
        if self._remotes is None:
            self._remotes = tuple(self.run("remote").split())
        return remote in self._remotes

    def remote_refs(self, patterns: Iterable[str], remote: str = REMOTE) -> RemoteRefs:
        """The remote's HEAD and the refs matching ``patterns``: one ``ls-remote``, one
        network round trip, for every question a release plan asks the remote."""
        wanted = tuple(patterns)
        out = self.run(*_remote_refs_args(remote, wanted))
        refs: dict[str, str] = {}
        head = None
        for line in out.splitlines():
            left, _, name = line.partition("\t")
            if left.startswith("ref: "):
                if name == "HEAD":
                    head = left.removeprefix("ref: ")
                continue
            refs[name] = left
        return RemoteRefs(refs, head, wanted)

    def push_url(self, remote: str = REMOTE) -> str:
        """Where ``git push`` to ``remote`` goes (``pushurl`` if set, else ``url``)."""
        return self.run("remote", "get-url", "--push", remote).strip()

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
        """Tags matching ``glob`` that are reachable from ``rev`` (none where it is unborn)."""
        try:
            return self._tag_names("--merged", rev, glob)
        except GitError:
            if self.rev(rev) is None:
                return []
            raise

    def tags(self, glob: str) -> list[str]:
        """All local tags matching ``glob``: one ``for-each-ref``, whatever their number."""
        return self._tag_names(None, None, glob)

    def highest_tags(self, glob: str, count: int) -> list[str]:
        """At most ``count`` local tags matching ``glob``, highest version first, as git's
        version sort orders them (``for-each-ref --sort=-version:refname``): git sorts
        10,000 tags, relbot reads a few."""
        return self.run("for-each-ref", "--sort=-version:refname", f"--count={count}",
                        "--format=%(refname:strip=2)", f"refs/tags/{glob}").splitlines()

    def tags_at(self, rev: str, glob: str) -> list[str]:
        """Local tags matching ``glob`` that point at ``rev``.

        ``for-each-ref --points-at`` reads the object of every tag it looks at (git
        2.39 ignores the peeled values that packed-refs keeps), so at 10,000 release
        tags it walks the whole pack: a quarter of a gigabyte of memory, growing with
        the tags. ``describe --exact-match`` answers from those peeled values, so it
        asks first whether any such tag points at ``rev``; only then are they listed.
        """
        try:
            self.run(*_describe_args(rev, glob))
        except GitError:
            return []  # no tag matching glob points at rev
        return self._tag_names("--points-at", rev, glob)

    def _tag_names(self, option: str | None, rev: str | None, glob: str) -> list[str]:
        args = ["for-each-ref", "--format=%(refname:strip=2)"]
        if option is not None and rev is not None:
            args.append(f"{option}={rev}")
        return self.run(*args, f"refs/tags/{glob}").splitlines()

    def trailer(self, rev: str, key: str) -> list[str]:
        """The values of trailer ``key`` in the message of commit ``rev``."""
        out = self.run("log", "-1", f"--format=%(trailers:key={key},valueonly,unfold)", rev)
        return [line.strip() for line in out.splitlines() if line.strip()]

    def commits_between(self, base: str | None, head: str = "HEAD") -> list[str]:
        """Commits reachable from ``head`` but not ``base``, newest first (all without base)."""
        args = ["rev-list", head] if base is None else ["rev-list", f"{base}..{head}"]
        return self.run(*args).splitlines()

    def read_blob(self, oid: str) -> bytes:
        """The content of a blob, through one ``cat-file --batch`` kept open for all of them."""
        if not _OID.fullmatch(oid):
            raise GitError(f"{oid!r} is not an object id.")
        batch = self._cat_file()
        stdin, stdout = _pipes(batch)
        try:
            stdin.write(oid.encode() + b"\n")
            stdin.flush()
            header = stdout.readline().split()
            if len(header) != 3:
                raise GitError(f"git cat-file found no object {oid}.")
            data = _read_exactly(stdout, int(header[2]) + 1)[:-1]
        except (OSError, ValueError):
            self.close()
            raise GitError(f"git cat-file failed for {oid}.") from None
        if header[1] != b"blob":
            raise GitError(f"object {oid} is a {header[1].decode()}, not a file.")
        return data

    def _cat_file(self) -> subprocess.Popen[bytes]:
        if self._batch is None or self._batch.poll() is not None:
            self._batch = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.root,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           stderr=subprocess.DEVNULL,
                                           env={**os.environ, **_LOCALE})
            weakref.finalize(self, _end, self._batch)
        return self._batch

    def close(self) -> None:
        """End the ``cat-file --batch`` process, if one runs (it also ends with the object)."""
        if self._batch is not None:
            _end(self._batch)
            self._batch = None

    # -- changes ---------------------------------------------------------------

    def commit_files(
        self,
        parent: str,
        writes: Mapping[str, bytes],
        removes: Iterable[str],
        message: str,
    ) -> str:
        """A new commit on ``parent`` with files written and removed; returns its id.

        Neither the work tree nor the real index changes: until the branch is moved,
        nothing is visible. Three git processes whatever the number of files: one
        ``hash-object`` for all new blobs, one ``mktree --batch`` for the directories
        that change (their old entries read through the batch), ``commit-tree``. The
        rest of the tree is reused as it is, never read. (Where a changed directory's
        name cannot go to the batch, a temporary index does it: ``read-tree``,
        ``update-index --index-info``, ``write-tree``.)
        """
        if not _OID.fullmatch(parent):
            parent = self.run("rev-parse", "--verify", "--quiet", f"{parent}^{{commit}}")
        import tempfile  # here: a cut starts its first git processes before it is loaded

        changes: dict[str, str | None] = dict.fromkeys(removes)
        with tempfile.TemporaryDirectory(prefix="relbot-index-") as tmp:
            oids = self._hash_objects(list(writes.values()), Path(tmp))
            changes.update(zip(writes, oids, strict=True))  # a write wins over a removal
            directories = _changed_directories(changes)
            if all(batch_can_ask(f"{parent}:{d}") for d in directories if d):
                tree = self._edit_tree(parent, changes, directories)
            else:
                tree = self._tree_with_index(parent, changes, Path(tmp))
        return self.run("commit-tree", tree, "-p", parent, "-F", "-", stdin=message)

    def _edit_tree(self, parent: str, changes: Mapping[str, str | None],
                   directories: list[str]) -> str:
        """``parent``'s tree with ``changes`` (path -> new blob id, ``None``: removed): the
        changed directories rewritten deepest first by one ``mktree --batch``, as
        ``update-index`` and ``write-tree`` would (a directory left empty goes)."""
        by_directory: dict[str, dict[str, str | None]] = {}
        for path, oid in changes.items():
            directory, _, name = path.rpartition("/")
            by_directory.setdefault(directory, {})[name] = oid
        written: dict[str, str | None] = {}
        proc = subprocess.Popen(["git", "mktree", "--batch", "-z"], cwd=self.root,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env={**os.environ, **_LOCALE})
        stdin, stdout = _pipes(proc)
        try:
            for directory in directories:  # deepest first, the root last
                subtrees = {child.rpartition("/")[2]: oid for child, oid in written.items()
                            if child.rpartition("/")[0] == directory}
                entries = _edited(self.tree_entries(parent, directory) or {},
                                  by_directory.get(directory, {}), subtrees)
                if not entries and directory:
                    written[directory] = None
                    continue
                kinds = {"040000": "tree", "160000": "commit"}
                stdin.write(b"".join(
                    f"{mode} {kinds.get(mode, 'blob')} {oid}\t".encode()
                    + name.encode("utf-8", "surrogateescape") + b"\0"
                    for name, (mode, oid) in entries.items()) + b"\0")
                stdin.flush()
                line = stdout.readline().decode().strip()
                if not _OID.fullmatch(line):
                    raise OSError("git mktree gave no tree")
                written[directory] = line
            stdin.close()
            errors = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        except OSError:
            proc.kill()
            proc.wait()
            err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
            raise GitError(mask(f"git mktree failed: {_last_meaningful(err) or 'no tree'}")
                           ) from None
        if proc.wait() != 0:
            raise GitError(mask(f"git mktree failed: {_last_meaningful(errors)}"))
        root = written.get("")
        if root is None:
            raise GitError("git mktree wrote no root tree.")
        return root

    def _tree_with_index(self, parent: str, changes: Mapping[str, str | None],
                         scratch: Path) -> str:
        """The tree of ``parent`` with ``changes``, through a temporary index."""
        env = {"GIT_INDEX_FILE": str(scratch / "index")}
        self.run("read-tree", parent, env=env)
        zero = "0" * len(parent)
        records = [f"0 {zero}\t{path}" if oid is None else f"100644 {oid}\t{path}"
                   for path, oid in changes.items()]
        if records:
            self.run("update-index", "-z", "--index-info", env=env,
                     stdin="".join(f"{record}\0" for record in records))
        return self.run("write-tree", env=env)

    def _hash_objects(self, blobs: list[bytes], scratch: Path) -> list[str]:
        """Write ``blobs`` into the object store with one ``hash-object``; their ids."""
        if not blobs:
            return []
        paths = []
        for number, data in enumerate(blobs):
            path = scratch / f"blob-{number}"
            path.write_bytes(data)
            paths.append(str(path))
        out = self.run("hash-object", "-w", "--no-filters", "--stdin-paths",
                       stdin="".join(f"{path}\n" for path in paths))
        oids = out.split()
        if len(oids) != len(blobs):
            raise GitError("git hash-object did not write every file.")
        return oids

    def move_branch(self, branch: str, new: str, old: str) -> None:
        """Point ``branch`` at ``new`` only if it still points at ``old`` (compare-and-swap)."""
        self.run("update-ref", "-m", f"relbot: release commit {new[:12]}",
                 f"refs/heads/{branch}", new, old)

    def checkout_tree(self, old: str, new: str) -> None:
        """Move index and work tree from ``old``'s tree to ``new``'s (a safe two-way merge).

        A file whose stat data alone changed (a ``touch``, a CI cache restore)
        counts as modified and makes ``read-tree`` refuse before it changes
        anything; then the index is refreshed and the merge tried once more.
        """
        if self.ok("read-tree", "-m", "-u", old, new):
            return  # the usual case: the plan's ``status`` saved fresh stat data already
        self.refresh_index()
        self.run("read-tree", "-m", "-u", old, new)

    def refresh_index(self) -> None:
        """``update-index --refresh``: stat data catches up with unchanged files."""
        self.ok("update-index", "-q", "--refresh")

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
            raise GitError(mask(f"git push to {remote} failed: {detail}"))
        return PushResult(False, rejected, mask(_refusal_text(proc.stderr, proc.stdout)))


def _refusal_text(stderr: str, stdout: str) -> str:
    """What git said about a refused push, ending with why: porcelain's frame (``To <url>``,
    ``Done``) dropped and each refused ref as ``<ref>: <git's verdict>``, so that the last
    line is the reason (``mr check --fix`` shows it), not ``Done``."""
    lines = []
    for line in (stderr + stdout).strip().splitlines():
        fields = line.split("\t")
        if line == "Done" or line.startswith("To "):
            continue
        refused = line.startswith("!") and len(fields) == 3
        lines.append(f"{fields[1].split(':')[-1]}: {fields[2]}" if refused else line)
    return "\n".join(lines)


def _edited(old: Mapping[str, tuple[str, str]], files: Mapping[str, str | None],
            subtrees: Mapping[str, str | None]) -> dict[str, tuple[str, str]]:
    """One directory's entries after its files were written or removed (``None``) and its
    changed sub-directories rewritten (``None``: left empty, so gone)."""
    entries = dict(old)
    for name, oid in files.items():
        if oid is not None:
            entries[name] = ("100644", oid)
        elif name in entries and entries[name][0] != "040000":
            del entries[name]  # only files are index entries that a removal takes
    for name, tree in subtrees.items():
        if tree is None:
            entries.pop(name, None)
        else:
            entries[name] = ("040000", tree)
    return entries


def _changed_directories(changes: Mapping[str, object]) -> list[str]:
    """Every directory holding a changed path, and their parents up to the root (``""``),
    deepest first."""
    found = {""}
    for path in changes:
        directory = path.rpartition("/")[0]
        while directory not in found:
            found.add(directory)
            directory = directory.rpartition("/")[0]
    return sorted(found, key=lambda d: (-(d.count("/") + 1) if d else 0, d))


def batch_can_ask(name: str) -> bool:
    """Whether ``git cat-file --batch`` can take ``name`` as one question (its protocol
    is one line, trimmed; a leading dash would read as an option)."""
    return not ("\n" in name or name.startswith("-") or not name.strip()
                or name != name.strip())


def _parse_tree(data: bytes, oid_bytes: int) -> dict[str, tuple[str, str]]:
    """A raw tree object (``<mode> <name>\\0<binary id>`` entries): name -> (mode, id),
    the mode as ``ls-tree`` prints it (six digits)."""
    entries: dict[str, tuple[str, str]] = {}
    at = 0
    while at < len(data):
        space = data.index(b" ", at)
        nul = data.index(b"\0", space)
        mode = data[at:space].decode("ascii").zfill(6)
        name = data[space + 1:nul].decode("utf-8", "surrogateescape")
        entries[name] = (mode, data[nul + 1:nul + 1 + oid_bytes].hex())
        at = nul + 1 + oid_bytes
    return entries


def _pipes(proc: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    if proc.stdin is None or proc.stdout is None:
        raise GitError("git cat-file has no pipes.")
    return proc.stdin, proc.stdout


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            raise OSError("git cat-file ended early")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Close the batch process's input (it then exits) and reap it."""
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _status_args(save_stat: bool) -> tuple[str, ...]:
    return (*(() if save_stat else ("--no-optional-locks",)), "status", "--porcelain", "-z",
            "--untracked-files=all")


def _remote_refs_args(remote: str, patterns: tuple[str, ...]) -> tuple[str, ...]:
    return ("ls-remote", "--symref", remote, "HEAD", *patterns)


def _describe_args(rev: str, glob: str) -> tuple[str, ...]:
    return ("describe", "--tags", "--exact-match", f"--match={glob}", rev)


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Reap a process started early whose answer nobody read (the plan stopped before)."""
    if proc.returncode is not None:
        return  # read, or reaped already
    with contextlib.suppress(OSError, ValueError, subprocess.TimeoutExpired):
        proc.communicate(timeout=5)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _last_meaningful(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith(("To ", "Done", "hint:"))]
    errors = [line for line in lines if line.startswith(("fatal:", "error:", "remote:"))]
    return (errors or lines or [""])[-1]
