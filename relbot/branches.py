"""Which branch is which: the default branch, release branches, prepare branches, ref names.

The release plan, its flows and the configuration check all ask this module,
so that "may a release be cut here?" has one answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from relbot.errors import ConfigError, GitError, ReleaseRefused

if TYPE_CHECKING:
    from relbot.config import Component, Config
    from relbot.git import GitRepo, RemoteRefs

_SAMPLE = {"version": "1.2.3", "major": 1, "minor": 2}
_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def ref_name_problem(name: str) -> str | None:
    """Why ``name`` is no valid branch or tag name (``git check-ref-format`` rules), or None."""
    if not name or name == "@":
        return "it is empty or '@'"
    if _BAD_REF_CHARS.search(name):
        return "it contains a space, a control character or one of ~ ^ : ? * [ \\"
    if ".." in name or "@{" in name or "//" in name:
        return "it contains '..', '@{' or '//'"
    if name.startswith(("/", "-")) or name.endswith(("/", ".")):
        return "it starts with '/' or '-', or ends with '/' or '.'"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "a part of it starts with '.' or ends with '.lock'"
    return None


def validate_formats(config: Config) -> None:
    """Refuse formats that make invalid ref names, and components whose tags collide.

    Called once, when the configuration is loaded: before anything is committed.
    """
    where = config.source_name
    for component in config.components:
        for key in ("tag_format", "release_branch_format", "prepare_branch_format"):
            fmt = getattr(component, key)
            try:
                sample = fmt.format(**_SAMPLE)
            except (KeyError, IndexError, ValueError, AttributeError):
                raise ConfigError(f"{where}: component {component.name!r}: {key} {fmt!r} may "
                                  "only use {version}, {major} and {minor}.") from None
            problem = ref_name_problem(sample)
            if problem:
                raise ConfigError(f"{where}: component {component.name!r}: {key} {fmt!r} "
                                  f"gives the ref name {sample!r}, which git refuses: "
                                  f"{problem}.")
        if "{version}" not in component.prepare_branch_format:
            raise ConfigError(f"{where}: component {component.name!r}: prepare_branch_format "
                              "must contain {version}.")
    _refuse_colliding_tags(config.components, where)


def _refuse_colliding_tags(components: Sequence[Component], where: str) -> None:
    from relbot.versions import tag_pattern

    for index, first in enumerate(components):
        for second in components[index + 1:]:
            for a, b in ((first, second), (second, first)):
                if tag_pattern(b).fullmatch(a.tag("1.2.3")):
                    raise ConfigError(
                        f"{where}: components {first.name!r} and {second.name!r} have tag "
                        f"formats whose tags collide ({a.tag('1.2.3')!r} is a tag of both); "
                        "give each its own tag_format.")


def release_branch(component: Component, major: int, minor: int) -> str:
    """The release branch of the line ``major.minor``."""
    return component.release_branch_format.format(major=major, minor=minor)


def release_branch_line(component: Component, branch: str) -> tuple[int, int] | None:
    """(major, minor) of a release branch, or None when ``branch`` is none."""
    parts = re.split(r"(\{major\}|\{minor\})", component.release_branch_format)
    pattern = "".join(f"(?P<{p[1:-1]}>\\d+)" if p in ("{major}", "{minor}") else re.escape(p)
                      for p in parts)
    match = re.fullmatch(pattern, branch)
    if not match:
        return None
    found = match.groupdict()
    return int(found.get("major") or 0), int(found.get("minor") or 0)


def prepare_branch(component: Component, version: str) -> str:
    """The branch ``cut --prepare`` puts the release commit of ``version`` on."""
    return component.prepare_branch_format.format(version=version)


def is_prepare_branch(component: Component, branch: str) -> bool:
    """Whether ``branch`` is named like a prepare branch of the component."""
    head, _, tail = component.prepare_branch_format.partition("{version}")
    return (branch.startswith(head) and branch.endswith(tail)
            and len(branch) > len(head) + len(tail))


def default_branch(config: Config, component: Component, git: GitRepo, remote: bool,
                   current: str, listing: RemoteRefs | None = None) -> str:
    """The branch normal releases are cut from, known for certain, or a refusal that says how.

    The remote's HEAD counts only when the branch it names exists there (a bare
    repository made by ``git init --bare`` points HEAD at a ``master`` nobody pushed).
    ``listing`` is the plan's one ``ls-remote`` (HEAD and ``refs/heads/*``), where it has one.
    """
    if remote:
        out = listing
        if out is None:
            try:
                out = git.remote_refs(["refs/heads/*"])
            except GitError:
                out = None
        if out is not None:
            head = out.head
            if head is not None and head.startswith("refs/heads/") and head in out.refs:
                return head.removeprefix("refs/heads/")
        if config.default_branch:
            return config.default_branch
        if out is None:
            recorded = git.remote_default_branch()
            if recorded:
                return recorded  # unreachable remote: the push will say so
        raise ReleaseRefused("relbot cannot tell the default branch: the remote's HEAD names "
                             "no branch that exists there; set default_branch = \"main\" (your "
                             f"default branch) in {config.source_name}, or fix the remote's "
                             "HEAD.")
    if config.default_branch:
        return config.default_branch
    if release_branch_line(component, current) or is_prepare_branch(component, current):
        raise ReleaseRefused(f"{current!r} is a release or prepare branch, not the default "
                             f"branch; set default_branch in {config.source_name} or check "
                             "out the default branch.")
    return current
