"""What a release commit is: its :class:`Spec` in trailers, how relbot makes one, and the
proof (:func:`prove_release_commit`) that a commit is one.

The proof reads content, never trust in a message: trailers are text anyone can write in a
merge request's commit. The release plan, CI retries and pre-merge hotfixes (``mr check
--fix``) all ask the same question here.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from relbot.config import rel
from relbot.errors import ConfigError, VersionError
from relbot.version_file import render_version_file, version_text
from relbot.versions import Version, parse_version

if TYPE_CHECKING:
    from relbot.git import GitRepo
    from relbot.notes import Notes
    from relbot.project import Project


TRAILER_COMPONENT = "Relbot-Component"
TRAILER_VERSION = "Relbot-Version"
TRAILER_DATE = "Relbot-Date"
TRAILER_FLOW = "Relbot-Flow"
TRAILER_BRANCH = "Relbot-Branch"
TRAILER_RELEASE_BRANCH = "Relbot-Release-Branch"


DIRECT, HOTFIX, PRE, PREPARE, FINISH = "direct", "hotfix", "pre", "prepare", "finish"


@dataclass(frozen=True)
class Spec:
    """One release as its release commit records it."""

    component: str
    version: str
    date: str
    flow: str  # direct | hotfix | pre | prepare
    branch: str  # the branch the release commit is made for (prepare: the prepare branch)
    release_branch: str | None = None  # direct: a new release branch; prepare: the target

    def trailers(self) -> str:
        """The trailer block of the release commit."""
        lines = [f"{TRAILER_COMPONENT}: {self.component}", f"{TRAILER_VERSION}: {self.version}",
                 f"{TRAILER_DATE}: {self.date}", f"{TRAILER_FLOW}: {self.flow}",
                 f"{TRAILER_BRANCH}: {self.branch}"]
        if self.release_branch:
            lines.append(f"{TRAILER_RELEASE_BRANCH}: {self.release_branch}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ProvenRelease:
    """A commit whose content shows it is relbot's release commit of ``spec``."""

    commit: str
    parent: str
    spec: Spec
    removed: tuple[str, ...]


def prove_release_commit(project: Project, git: GitRepo, commit: str, *,
                         parent: str | None = None) -> ProvenRelease | None:
    """``commit`` as relbot's release commit of this component, if its content proves it.

    Proof: one parent (``parent`` when given: the previous state), trailers naming
    this component and one version, the version file holding that version, the
    changelog gaining that version's heading and losing nothing, and every other
    change the removal of a fragment. Anything else is an ordinary commit.
    """
    component = project.component
    # Trailer keys are written out in the message: without the word no trailer, and no
    # `git log` process for the ordinary commit a plan looks at first (HEAD).
    if (not git.mentions(commit, TRAILER_COMPONENT)
            or git.trailer(commit, TRAILER_COMPONENT) != [component.name]):
        return None
    version = _trailer_version(git, commit)
    parents = git.run("rev-list", "--parents", "-n", "1", commit).split()[1:]
    if version is None or len(parents) != 1 or parent not in (None, parents[0]):
        return None
    base = parents[0]
    removed = _only_release_changes(project, git, base, commit)
    if removed is None or not _content_matches(project, git, base, commit, version):
        return None
    spec = Spec(component.name, str(version), _one(git, commit, TRAILER_DATE) or "",
                _one(git, commit, TRAILER_FLOW) or DIRECT, _one(git, commit, TRAILER_BRANCH)
                or "", _one(git, commit, TRAILER_RELEASE_BRANCH))
    return ProvenRelease(commit, base, spec, removed)


def _trailer_version(git: GitRepo, commit: str) -> Version | None:
    versions = git.trailer(commit, TRAILER_VERSION)
    if len(versions) != 1:
        return None
    try:
        return parse_version(versions[0])
    except VersionError:
        return None


def release_paths(project: Project) -> tuple[str, str | None, set[str]]:
    """Changelog, version file and fragment directories, as repository paths."""
    component = project.component
    changelog = rel(project.settings.base_directory / project.settings.filename, project.root)
    version_file = (rel(component.version_file, project.root)
                    if component.version_file is not None else None)
    fragment_dirs = {rel(directory, project.root)
                     for top in {project.fragment_directory(False),
                                 project.fragment_directory(True)}
                     for _, directory in project.settings.section_directories(top)}
    return changelog, version_file, fragment_dirs


def _only_release_changes(project: Project, git: GitRepo, base: str,
                          commit: str) -> tuple[str, ...] | None:
    """The fragments ``commit`` removes, if it changes nothing but changelog, version file
    and fragments (and changes the first two); else None."""
    changelog, version_file, fragment_dirs = release_paths(project)
    out = git.run("diff-tree", "-r", "-z", "--no-renames", "--name-status", base, commit,
                  strip=False)
    fields = [f for f in out.split("\0") if f]
    removed, touched = [], set()
    for status, path in zip(fields[0::2], fields[1::2], strict=False):
        if path in (changelog, version_file) and status in ("A", "M"):
            touched.add(path)
        elif status == "D" and path.rsplit("/", 1)[0] in fragment_dirs:
            removed.append(path)
        else:
            return None
    if not removed or touched != {changelog, version_file} - {None}:
        return None
    return tuple(removed)


def _content_matches(project: Project, git: GitRepo, base: str, commit: str,
                     version: Version) -> bool:
    """The version file holds ``version`` and the changelog gained its section."""
    changelog, version_file, _ = release_paths(project)
    if version_file is not None:
        try:
            held = parse_version(version_text(Path(version_file), blob(git, commit,
                                                                       version_file),
                                              version_file))
        except (VersionError, ConfigError, UnicodeDecodeError):
            return False
        if held != version:
            return False
    return _gained_section(git, base, commit, changelog,
                           project.component.notes_version(str(version)))


def _one(git: GitRepo, commit: str, key: str) -> str | None:
    values = git.trailer(commit, key)
    return values[0] if len(values) == 1 else None


def blob(git: GitRepo, rev: str, path: str) -> bytes:
    data = git.file_at(rev, path)
    return b"" if data is None else data


def _gained_section(git: GitRepo, base: str, commit: str, path: str, heading: str) -> bool:
    numstat = git.run("diff", "--numstat", base, commit, "--", path).split()
    if len(numstat) < 2 or numstat[1] != "0":
        return False  # a release only adds to the changelog
    token = re.compile(r"(?<![0-9A-Za-z.+-])" + re.escape(heading) + r"(?![0-9A-Za-z+-]|\.\w)")
    before = blob(git, base, path).decode("utf-8", "replace")
    after = blob(git, commit, path).decode("utf-8", "replace")
    return len(token.findall(after)) > len(token.findall(before))


def make_release_commit(project: Project, git: GitRepo, spec: Spec, base: str, notes: Notes,
                        fragments: Sequence[str]) -> str:
    """The release commit of ``spec`` on ``base``; moves no ref, touches no work tree.

    The changelog is read from ``base``'s blob, never through the work tree.
    """
    component = project.component
    changelog = release_paths(project)[0]
    writes = {changelog: changelog_with(project, git, base, notes)}
    if component.version_file is not None:
        path = rel(component.version_file, project.root)
        writes[path] = render_version_file(component.version_file,
                                           blob(git, base, path) or None, spec.version)
    tag = component.tag(spec.version)
    message = (component.commit_message.format(version=spec.version, tag=tag,
                                               component=component.name)
               + "\n\n" + spec.trailers())
    return git.commit_files(base, writes, fragments, message)


def changelog_with(project: Project, git: GitRepo, base: str, notes: Notes) -> bytes:
    """``base``'s changelog (its blob, never the work tree) with ``notes`` inserted."""
    from relbot.notes import changelog_at, write_changelog

    settings = project.settings
    with tempfile.TemporaryDirectory(prefix="relbot-changelog-") as tmp:
        scratch = Path(tmp) / settings.filename
        scratch.parent.mkdir(parents=True, exist_ok=True)
        # The blob through relbot.tree: a changelog committed as a link is refused.
        scratch.write_bytes(changelog_at(git, base, settings, project.root) or b"")
        write_changelog(project.component, settings, notes, Path(tmp))
        return scratch.read_bytes()
