"""Versions: the current one, and the next one from the pending fragments' types.

semver does the parsing, comparing and bumping; this module only decides which
bump the fragments ask for (major > minor > patch) and where the current
version comes from.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import semver

from relbot.config import BUMPS, Component, rel
from relbot.errors import ConfigError, NothingPending, UsageError, VersionError
from relbot.fragments import Fragment

if TYPE_CHECKING:
    from relbot.git import GitRepo

Version = semver.Version
_RANK = {name: len(BUMPS) - index for index, name in enumerate(BUMPS)}  # major=3 ... patch=1


def parse_version(text: str, what: str = "version") -> Version:
    """A semantic version, with or without a leading ``v``."""
    value = text.strip()
    candidate = value[1:] if value[:1] in ("v", "V") else value
    try:
        return Version.parse(candidate)
    except (ValueError, TypeError):
        raise VersionError(f"{what} {value!r} is not a semantic version (like 8.1.0).") from None


def read_version_file(component: Component, root: Path) -> Version:
    """The version held by the component's version file."""
    if component.version_file is None:
        raise ConfigError(f"component {component.name!r} has no version_file.")
    where = rel(component.version_file, root)
    try:
        raw = component.version_file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"version file {where} cannot be read: {exc.strerror}.") from None
    from relbot.version_file import version_text

    text = version_text(component.version_file, raw, where)
    return parse_version(text, f"version file {where} holds")


def tag_pattern(component: Component) -> re.Pattern[str]:
    """A regular expression matching the component's release tags, version in group 1."""
    head, _, tail = component.tag_format.partition("{version}")
    return re.compile(re.escape(head) + r"(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)" + re.escape(tail))


def tag_glob(component: Component) -> str:
    """A ``git tag --list`` pattern for the component's tags."""
    head, _, tail = component.tag_format.partition("{version}")
    return f"{head}[0-9]*{tail}"


def versions_from_tags(component: Component, tags: Iterable[str]) -> list[Version]:
    """The versions of those ``tags`` that are release tags of the component."""
    pattern = tag_pattern(component)
    found = []
    for tag in tags:
        match = pattern.fullmatch(tag)
        if match:
            try:
                found.append(Version.parse(match.group(1)))
            except ValueError:
                continue
    return found


# How many of the highest release tags current_version asks git about one by one before
# it asks for all tags reachable from HEAD at once.
ANCESTRY_CHECKS = 3
# How many tags, highest version first, current_version reads to find those few.
TOP_TAGS = 64


def current_version(component: Component, root: Path, git: GitRepo | None) -> Version:
    """From the version file, else the highest final release tag reachable from HEAD."""
    if component.version_file is not None:
        return read_version_file(component, root)
    if git is None:
        raise ConfigError(f"component {component.name!r} has no version_file and "
                          f"{root} is not a git repository with release tags.")
    glob = tag_glob(component)
    # git sorts the tags by version and relbot reads only the highest: among final
    # versions (digits, no leading zeros, no suffix) git's order is semver's. Pre-release
    # and other tags the glob matches can crowd the top; with too few finals in a full
    # page, every tag is read (one for-each-ref either way, however many tags).
    listed = git.highest_tags(glob, TOP_TAGS)
    candidates = _highest_finals(component, listed, ANCESTRY_CHECKS + 1)
    if len(candidates) <= ANCESTRY_CHECKS and len(listed) >= TOP_TAGS:
        candidates = _highest_finals(component, git.tags(glob), ANCESTRY_CHECKS + 1)
    # `git tag --merged HEAD` walks the whole history; the highest release is nearly
    # always reachable, and asking about it walks back only as far as that tag.
    for version, tag in candidates[:ANCESTRY_CHECKS]:
        if git.is_ancestor(f"refs/tags/{tag}", "HEAD"):
            return version
    if len(candidates) <= ANCESTRY_CHECKS:
        return Version(0, 0, 0)  # none of them is reachable
    finals = [v for v in versions_from_tags(component, git.tags_merged(glob))
              if not v.prerelease]
    return max(finals, default=Version(0, 0, 0))


_FINAL = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")


def _highest_finals(component: Component, tags: Iterable[str], count: int
                    ) -> list[tuple[Version, str]]:
    """The ``count`` highest final releases among ``tags``, highest first.

    Compared as integer triples and parsed by semver only for the few returned:
    10,000 tags cost no more than 10 (a final version's order is its numbers').
    """
    pattern = tag_pattern(component)
    keyed = []
    for tag in tags:
        match = pattern.fullmatch(tag)
        final = _FINAL.fullmatch(match.group(1)) if match else None
        if final:
            keyed.append(((int(final[1]), int(final[2]), int(final[3])), tag))
    return [(Version(*key), tag) for key, tag in heapq.nlargest(count, keyed)]


def bump_of(component: Component, fragments: Iterable[Fragment]) -> str | None:
    """The highest bump the fragments' types ask for; ``None`` without fragments."""
    best: str | None = None
    for fragment in fragments:
        bump = component.bump.get(fragment.type, component.default_bump)
        if best is None or _RANK[bump] > _RANK[best]:
            best = bump
    return best


def bumped(current: Version, bump: str) -> Version:
    """``current`` bumped; a pre-release of the same target becomes its final version."""
    base = current.finalize_version() if current.prerelease else current
    if current.prerelease and _already(current, bump):
        return base
    if bump == "major":
        return base.bump_major()
    if bump == "minor":
        return base.bump_minor()
    if bump == "patch":
        return base.bump_patch()
    raise AssertionError(bump)


def _already(pre: Version, bump: str) -> bool:
    """Whether the pre-release ``pre`` already sits on the target of ``bump``."""
    if bump == "major":
        return pre.minor == 0 and pre.patch == 0
    if bump == "minor":
        return pre.patch == 0
    return True


def next_version(
    component: Component,
    current: Version,
    fragments: Iterable[Fragment],
    *,
    hotfix: bool = False,
) -> Version:
    """The version the pending fragments ask for."""
    if hotfix:
        return bumped(current, "patch")
    bump = bump_of(component, fragments)
    if bump is None:
        raise NothingPending("there are no pending fragments, so there is no next version; "
                         "add one with `relbot fragment new` or give --version.")
    return bumped(current, bump)


def prerelease(final: Version, token: str, existing: Iterable[Version]) -> Version:
    """``final-<token>.N``, N one more than the highest existing one."""
    if not re.fullmatch(r"[0-9A-Za-z-]+", token) or token.isdigit():
        raise UsageError(f"--pre {token!r} must be a word such as rc, beta or alpha.")
    numbers = []
    for version in existing:
        if version.finalize_version() != final or not version.prerelease:
            continue
        match = re.fullmatch(re.escape(token) + r"\.(\d+)", version.prerelease)
        if match:
            numbers.append(int(match.group(1)))
    return final.replace(prerelease=f"{token}.{max(numbers, default=0) + 1}")


def require_forward(current: Version, target: Version) -> None:
    """Refuse a release that does not move the version forward."""
    if target <= current:
        raise VersionError(f"version {target} does not come after the current version "
                           f"{current}; versions never go backwards.")
