"""Synthetic repositories for relbot's benchmark, built with ``git fast-import``.

One repository holds ``commits`` commits on ``main`` (a bare remote ``origin``
and a clone of it as the work tree), ``tags`` annotated release tags spread
over the older history, and ``fragments`` pending towncrier fragments
(Markdown) added after the last release, each with an equivalent reno note in
the same commit, so that relbot, ``towncrier build`` and ``reno report`` all
get the same work. The last three commits are a merge request (``mr_iid``)
that adds one fragment, on top of ``mr_base``.

Everything is derived from ``seed``: the same arguments give the same commit
ids. Run ``python -m bench.generate --help`` for the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

START_EPOCH = 1_600_000_000
DATE = "2025-01-01"
MR_COMMITS = 3
SOURCE_FILES = 200
FRAGMENT_DIR = "changelog.d"
NOTES_DIR = "releasenotes/notes"
START_STRING = "<!-- towncrier release notes start -->"
DEFAULT_TAGS = 20
GENERATOR_VERSION = 1  # bump when the layout changes, so cached repositories are rebuilt

# (towncrier type, heading, reno section, weight)
TYPES: tuple[tuple[str, str, str, int], ...] = (
    ("BREAKING", "Breaking changes", "upgrade", 1),
    ("feature", "New features", "features", 20),
    ("change", "Changed functionality", "other", 15),
    ("fix", "Bug fixes", "fixes", 40),
    ("docs", "Documentation", "other", 8),
    ("security", "Security", "security", 4),
    ("chore", "Other tasks", "other", 12),
)

_VOCABULARY = (
    "cluster node kubernetes openstack upgrade rollout calico cilium ingress etcd "
    "certificate rotation monitoring prometheus loki vault secret terraform inventory "
    "ansible role variable default timeout retry backoff image registry mirror proxy "
    "storage ceph rook volume snapshot backup restore network policy firewall gateway "
    "load balancer health check probe readiness liveness daemonset deployment helm chart "
    "version release pipeline template documentation guide reference example fixed added "
    "removed changed deprecated improved faster safer now no longer correctly when with"
)
WORDS = tuple(_VOCABULARY.split())


@dataclass(frozen=True)
class Size:
    """How big a synthetic repository is."""

    commits: int
    fragments: int
    tags: int = 20  # DEFAULT_TAGS

    def __post_init__(self) -> None:
        if self.fragments < 1:
            raise ValueError("a benchmark repository needs at least one fragment")
        if self.tags < 1:
            raise ValueError("a benchmark repository needs at least one release tag")
        if self.commits < self.tags + MR_COMMITS + 2 or _layout(self)[0] <= self.tags:
            raise ValueError(f"{self.commits} commits are too few for {self.tags} tags")

    @property
    def name(self) -> str:
        """A directory name: ``c1000-f200-t20``."""
        return f"c{self.commits}-f{self.fragments}-t{self.tags}"

    @property
    def one_commit_per_fragment(self) -> bool:
        """Whether each pending fragment (and reno note) came in a commit of its own."""
        _, pending = _layout(self)
        return pending >= self.fragments - 1

    @property
    def label(self) -> str:
        """For tables: ``1k commits, 200 fragments`` (and the tags, where not the default)."""
        tags = "" if self.tags == DEFAULT_TAGS else f", {_short(self.tags)} tags"
        return f"{_short(self.commits)} commits, {_short(self.fragments)} fragments{tags}"


def _short(number: int) -> str:
    if number >= 1000 and number % 1000 == 0:
        return f"{number // 1000}k"
    return str(number)


@dataclass(frozen=True)
class Generated:
    """A generated repository and what the runner needs to know about it."""

    commits: int
    fragments: int
    tags: int
    seed: int
    work: str
    remote: str
    current_version: str
    mr_iid: int
    mr_base: str
    head: str
    date: str
    generator_version: int = GENERATOR_VERSION
    forge: str = "none"

    @property
    def size(self) -> Size:
        """The size it was generated at."""
        return Size(self.commits, self.fragments, self.tags)


RELBOT_TOML = """\
# relbot configuration of a synthetic benchmark repository (bench/generate.py).
forge = "{forge}"

[[component]]
name = "bench"
towncrier_config = "towncrier.toml"
version_file = "version"
tag_format = "v{version}"
notes_version_format = "{version}"
bump = { BREAKING = "major", feature = "minor" }
default_bump = "patch"
"""
FORGES = ("none", "gitlab")  # "gitlab": for `mr check` posting its comment to the stand-in


def towncrier_toml() -> str:
    """A Markdown towncrier configuration with the benchmark's fragment types."""
    types = "".join(
        f'\n[[tool.towncrier.type]]\ndirectory = "{key}"\nname = "{name}"\nshowcontent = true\n'
        for key, name, _, _ in TYPES
    )
    return (
        "[tool.towncrier]\n"
        f'directory = "{FRAGMENT_DIR}"\n'
        'filename = "CHANGELOG.md"\n'
        f'start_string = "{START_STRING}\\n"\n'
        'title_format = "## {version} ({project_date})"\n'
        'issue_format = "!{issue}"\n' + types
    )


def reno_config() -> str:
    """reno's configuration: the same sections, ``main`` as the default branch."""
    sections: list[str] = []
    for _, _, section, _ in TYPES:
        if section not in sections:
            sections.append(section)
    titles = {"upgrade": "Upgrade Notes", "features": "New Features", "other": "Other Notes",
              "fixes": "Bug Fixes", "security": "Security Issues"}
    lines = ["---", "default_branch: main", "sections:"]
    lines += [f"  - [{s}, {titles[s]}]" for s in sections]
    return "\n".join(lines) + "\n"


class _Stream:
    """Writes a ``git fast-import`` stream."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.mark = 0

    def commit(self, when: int, message: str, changes: dict[str, str | None]) -> int:
        """A commit on main with files written (text) and removed (``None``); its mark."""
        self.mark += 1
        data = message.encode()
        parts = [f"commit refs/heads/main\nmark :{self.mark}\n"
                 f"author Bench Author <author@example.invalid> {when} +0000\n"
                 f"committer Bench Committer <committer@example.invalid> {when} +0000\n"
                 f"data {len(data)}\n".encode(), data, b"\n"]
        if self.mark > 1:
            parts.append(f"from :{self.mark - 1}\n".encode())
        for path, text in changes.items():
            if text is None:
                parts.append(f"D {path}\n".encode())
                continue
            blob = text.encode()
            parts.append(f"M 100644 inline {path}\ndata {len(blob)}\n".encode())
            parts += [blob, b"\n"]
        parts.append(b"\n")
        self.out.write(b"".join(parts))
        return self.mark

    def tag(self, name: str, mark: int, when: int, message: str) -> None:
        """An annotated tag of the commit ``mark``."""
        data = message.encode()
        self.out.write(f"tag {name}\nfrom :{mark}\n"
                       f"tagger Bench Committer <committer@example.invalid> {when} +0000\n"
                       f"data {len(data)}\n".encode() + data + b"\n")


def _text(rng: random.Random, number: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 40))]
    words[0] = words[0].capitalize()
    if rng.random() < 0.3:
        words.insert(rng.randint(1, len(words) - 1), f"`option_{number}`")
    return " ".join(words) + "."


def _layout(size: Size) -> tuple[int, int]:
    """(history commits, pending commits) before the merge request's commits."""
    rest = size.commits - MR_COMMITS
    # One fragment per pending commit where there are enough commits; at least half of
    # the history stays before the last release.
    pending = max(1, min(size.fragments - 1, rest // 2))
    if size.fragments == 1:
        pending = 0
    return rest - pending, pending


def _spread(total: int, buckets: int) -> Iterator[int]:
    """``total`` items over ``buckets`` as evenly as possible."""
    for index in range(buckets):
        yield total * (index + 1) // buckets - total * index // buckets


def _release_commits(history: int, tags: int) -> dict[int, int]:
    """{commit number: release index}: evenly in commits 2..history, the last one ends it.

    Commit 1 is the initial commit, never a release: where the plain spread would
    put the first release there (fewer than two history commits per tag, as at 20k
    commits and 10k tags), the releases spread over commits 2..history instead, so
    that every one of ``tags`` is made and the cached repository passes
    :func:`_untouched`'s tag count. The other sizes keep their layout (and cache).
    """
    if history // tags >= 2:
        return {history * (t + 1) // tags: t for t in range(tags)}
    return {1 + (history - 1) * (t + 1) // tags: t for t in range(tags)}


def _release_version(index: int) -> str:
    return f"{1 + index // 5}.{index % 5}.0"


def _fragment(rng: random.Random, index: int, types: list[str],
              weights: list[int]) -> tuple[str, str, str, str]:
    """(towncrier path, reno path, reno text, towncrier text) of pending fragment ``index``."""
    kind = rng.choices(types, weights)[0]
    text = _text(rng, index)
    orphan = rng.random() < 0.05  # towncrier's "+" fragments, without an MR number
    name = f"+bench-{index}.{kind}.md" if orphan else f"{1000 + index}.{kind}.md"
    section = next(s for key, _, s, _ in TYPES if key == kind)
    uid = f"{rng.getrandbits(64):016x}"
    note = f"---\n{section}:\n  - |\n    {text}\n"
    return f"{FRAGMENT_DIR}/{name}", f"{NOTES_DIR}/change-{index}-{uid}.yaml", note, text + "\n"


def write_stream(out: IO[bytes], size: Size, seed: int, forge: str = "none"
                 ) -> tuple[int, str]:
    """The whole history as a fast-import stream; returns (MR iid, current version)."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible test data, not secrets
    stream = _Stream(out)
    history, pending = _layout(size)
    types = [key for key, _, _, _ in TYPES]
    weights = [weight for _, _, _, weight in TYPES]
    when = START_EPOCH

    def tick() -> int:
        nonlocal when
        when += 600
        return when

    changelog = f"# Changelog\n\n{START_STRING}\n"
    initial: dict[str, str | None] = {
        "README.md": "# bench\n\nA synthetic repository for relbot's benchmark.\n",
        "relbot.toml": RELBOT_TOML.replace("{forge}", forge),
        "towncrier.toml": towncrier_toml(),
        "version": "0.1.0\n",
        "CHANGELOG.md": changelog,
        f"{FRAGMENT_DIR}/.gitkeep": "",
        "releasenotes/config.yaml": reno_config(),
    }
    initial.update({f"src/mod{i:03d}.txt": f"module {i}\n" for i in range(SOURCE_FILES)})
    stream.commit(tick(), "Initial commit\n", initial)

    release_at = _release_commits(history, size.tags)
    version = "0.1.0"
    for number in range(2, history + 1):
        if number in release_at:
            index = release_at[number]
            version = _release_version(index)
            changelog = changelog.replace(
                START_STRING + "\n",
                f"{START_STRING}\n\n## {version} ({DATE})\n\n### Bug fixes\n\n"
                f"- Release {version} of the benchmark.\n", 1)
            mark = stream.commit(tick(), f"Release v{version}\n",
                                 {"version": f"{version}\n", "CHANGELOG.md": changelog})
            stream.tag(f"v{version}", mark, when, f"Release v{version}\n")
            continue
        module = rng.randrange(SOURCE_FILES)
        stream.commit(tick(), f"Change {number}\n",
                      {f"src/mod{module:03d}.txt": f"module {module}\nchange {number}\n"})

    counts = list(_spread(size.fragments - 1, pending)) if pending else []
    index = 0
    for number, count in enumerate(counts, history + 1):
        changes: dict[str, str | None] = {}
        for _ in range(count):
            fragment, note, note_text, text = _fragment(rng, index, types, weights)
            changes[fragment] = text
            changes[note] = note_text
            index += 1
        module = rng.randrange(SOURCE_FILES)
        changes[f"src/mod{module:03d}.txt"] = f"module {module}\nchange {number}\n"
        stream.commit(tick(), f"Change {number} ({count} fragments)\n", changes)

    iid = 1000 + size.fragments + 1
    for step in range(1, MR_COMMITS + 1):
        module = rng.randrange(SOURCE_FILES)
        changes = {f"src/mod{module:03d}.txt": f"module {module}\nmr {iid} step {step}\n"}
        if step == MR_COMMITS:
            text = _text(rng, iid)
            changes[f"{FRAGMENT_DIR}/{iid}.feature.md"] = text + "\n"
            uid = f"{rng.getrandbits(64):016x}"
            changes[f"{NOTES_DIR}/mr-{iid}-{uid}.yaml"] = f"---\nfeatures:\n  - |\n    {text}\n"
        stream.commit(tick(), f"MR !{iid}, step {step}\n", changes)
    out.write(b"done\n")
    return iid, version


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env=_git_env())
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _git_env() -> dict[str, str]:
    return {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}


def _untouched(repo: Generated) -> bool:
    """Whether work tree, HEAD and remote are still as generated (no real cut ran)."""
    try:
        return (_git(Path(repo.work), "status", "--porcelain") == ""
                and _git(Path(repo.work), "rev-parse", "HEAD") == repo.head
                and _git(Path(repo.remote), "rev-parse", "main") == repo.head
                and len(_git(Path(repo.work), "tag", "--list").splitlines()) == repo.tags)
    except RuntimeError:
        return False


def _pack_refs(remote: Path) -> None:
    """The remote's refs packed with their peeled ids, as a served repository keeps them
    (GitLab's housekeeping packs refs; the fresh copies' ``git clone --bare`` does too).

    ``git fast-import`` leaves every tag a loose ref, and for loose refs ``upload-pack``
    reads each tag object to peel it: with 10,000 tags every ``ls-remote`` of the work
    clone read the whole 260 MB pack and showed as relbot's own peak memory.
    """
    tags = remote / "refs" / "tags"
    if tags.is_dir() and any(tags.iterdir()):
        _git(remote, "pack-refs", "--all")


def generate(dest: Path, size: Size, seed: int = 0, *, reuse: bool = True,
             forge: str = "none") -> Generated:
    """Build (or, with ``reuse``, find) the repository of ``size`` below ``dest``.

    ``forge = "gitlab"`` differs only in relbot.toml's ``forge`` (another history).
    """
    if forge not in FORGES:
        raise ValueError(f"forge must be one of {FORGES}")
    manifest = dest / "manifest.json"
    if reuse and manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        found = Generated(**data)
        if (found.size == size and found.seed == seed and found.forge == forge
                and found.generator_version == GENERATOR_VERSION
                and Path(found.work).is_dir() and _untouched(found)):
            _pack_refs(Path(found.remote))  # kept from before the remote's refs were packed
            return found
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    remote = dest / "remote.git"
    work = dest / "work"
    _git(dest, "init", "-q", "--bare", "-b", "main", str(remote))
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=remote,
                            stdin=subprocess.PIPE, env=_git_env())
    assert proc.stdin is not None
    try:
        iid, version = write_stream(proc.stdin, size, seed, forge)
    finally:
        proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    # Objects in git's own pack order, as a served repository's housekeeping leaves them:
    # fast-import's pack interleaves the tag objects with the blobs, so any command that
    # peels every tag (a push's negotiation at 10k tags) read the whole 260 MB pack.
    _git(remote, "repack", "-a", "-d", "-q")
    _pack_refs(remote)
    _git(dest, "clone", "-q", str(remote), str(work))
    head = _git(work, "rev-parse", "HEAD")
    generated = Generated(
        commits=size.commits, fragments=size.fragments, tags=size.tags, seed=seed,
        work=str(work), remote=str(remote), current_version=version, mr_iid=iid,
        mr_base=_git(work, "rev-parse", f"HEAD~{MR_COMMITS}"), head=head, date=DATE,
        forge=forge,
    )
    manifest.write_text(json.dumps(asdict(generated), indent=2) + "\n", encoding="utf-8")
    return generated


PROBED_RELBOT_TOML = """\
# relbot configuration of the benchmark's policy repository (bench/generate.py).
forge = "none"

[[component]]
name = "probed"
towncrier_config = "towncrier.toml"
version_file = "version"
policies = ["kubernetes"]
probes = [
    {{ policy = "kubernetes", file = "clusters/*/config.toml", key = "kubernetes.version" }},
]
"""


@dataclass(frozen=True)
class Probed:
    """The policy repository: ``files`` cluster configurations, each a probed file."""

    files: int

    @property
    def label(self) -> str:
        """For tables."""
        return f"{_short(self.files)} probed files"


def generate_probed(dest: Path, files: int, old: str, new: str) -> Path:
    """A repository of ``files`` probed files declaring Kubernetes ``old``, then ``new``.

    Two commits: ``relbot policy check --base HEAD~1`` reads every file in the work
    tree and at the base, and judges each upgrade. Rebuilt every time (seconds).
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    _git(dest, "init", "-q", "-b", "main")
    (dest / "relbot.toml").write_text(PROBED_RELBOT_TOML.format(), encoding="utf-8")
    (dest / "towncrier.toml").write_text(towncrier_toml(), encoding="utf-8")
    (dest / "version").write_text("1.0.0\n", encoding="utf-8")
    (dest / FRAGMENT_DIR).mkdir()
    (dest / FRAGMENT_DIR / ".gitkeep").write_text("", encoding="utf-8")
    for version, message in ((old, "Clusters"), (new, "Upgrade the clusters")):
        for number in range(files):
            config = dest / "clusters" / f"c{number:05d}" / "config.toml"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(f'name = "c{number}"\n\n[kubernetes]\nversion = "{version}"\n',
                              encoding="utf-8")
        _git(dest, "add", "-A")
        _git(dest, "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
             "commit", "-q", "-m", message)
    return dest


def main(argv: list[str] | None = None) -> int:
    """Command line: generate one repository and print its manifest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dest", type=Path, help="directory to build the repository in")
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--fragments", type=int, default=200)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="rebuild even if present")
    args = parser.parse_args(argv)
    generated = generate(args.dest, Size(args.commits, args.fragments, args.tags), args.seed,
                         reuse=not args.force)
    print(json.dumps(asdict(generated), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
