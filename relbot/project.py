"""One component of one repository: configuration, fragments and versions together.

The CLI commands and the release plan all start from a :class:`Project`; it
loads each piece once, when first asked, so a light command such as
``next-version`` never touches git or towncrier unless it has to.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from relbot.config import Component, Config, load_config
from relbot.fragments import Fragment, FragmentSet, scan
from relbot.towncrier_settings import (
    TowncrierSettings,
    check_type_names,
    load_towncrier_settings,
)
from relbot.tree import Tree, WorkTree
from relbot.versions import Version, current_version, next_version

if TYPE_CHECKING:
    from relbot.git import GitRepo
    from relbot.notes import Notes


class Project:
    """A component of the repository at ``root``, as relbot sees it."""

    def __init__(self, root: Path, component: str | None = None,
                 config: Config | None = None, steering: Tree | None = None,
                 git: GitRepo | None = None) -> None:
        self.root = root.resolve()
        if git is not None:  # the caller's repository, so that its one cat-file batch serves
            self.__dict__["git"] = git
        # Where the files that steer relbot (configuration, towncrier's config and
        # template, policies) are read: the work tree, or for ``mr check`` the base commit.
        self.steering: Tree = steering or WorkTree(self.root)
        self.config = config or load_config(self.root, steering)
        self.component: Component = self.config.component(component)
        self._prefetch: _TagVersion | None = None

    @cached_property
    def settings(self) -> TowncrierSettings:
        """The component's towncrier settings (discovery part); ``bump`` must name its types."""
        settings = load_towncrier_settings(self.component.towncrier_config, self.root,
                                           self.component.towncrier_dir, tree=self.steering)
        check_type_names(settings, list(self.component.bump),
                         f"{self.config.source_name}: component {self.component.name!r}: bump")
        return settings

    @cached_property
    def git(self) -> GitRepo | None:
        """The repository, or ``None`` when ``root`` is not a git work tree."""
        from relbot.git import GitRepo

        return GitRepo.find(self.root)

    def fragments(self, *, hotfix: bool = False, names_only: bool = False) -> FragmentSet:
        """The pending fragments (of the hotfix directory with ``hotfix``); with
        ``names_only`` their files are not read (see :func:`relbot.fragments.scan`)."""
        return scan(self.settings, self.component, self.root, self.fragment_directory(hotfix),
                    names_only=names_only)

    def fragment_directory(self, hotfix: bool = False) -> Path:
        """Where the pending (or hotfix) fragments live."""
        if hotfix and self.component.hotfix_directory is not None:
            return self.component.hotfix_directory
        return self.settings.directory

    def prefetch_current_version(self) -> None:
        """Start reading the current version from the tags (git processes) in a thread, so
        that it comes while the fragments are scanned; only for commands that change
        nothing (``next-version``, ``mr check``). With a version file: nothing to do."""
        if self.component.version_file is not None or self._prefetch is not None:
            return
        git = self.git  # imported and found here, not in the thread
        if git is not None:
            self._prefetch = _TagVersion(self.component, self.root, git)

    def current_version(self) -> Version:
        """The version released last."""
        if self._prefetch is not None:
            return self._prefetch.version()
        return current_version(self.component, self.root,
                               None if self.component.version_file else self.git)

    def next_version(self, fragments: FragmentSet, *, hotfix: bool = False,
                     current: Version | None = None) -> Version:
        """The version the pending fragments ask for; refuses invalid fragments.

        ``current``: the current version, where the caller has it already (each
        reading of it from tags costs git processes).
        """
        fragments.require_valid("next-version")
        if current is None:
            current = self.current_version()
        version = next_version(self.component, current, fragments.fragments, hotfix=hotfix)
        return self._past_hotfixes(current, version)

    def _past_hotfixes(self, current: Version, version: Version) -> Version:
        """A patch bump past the patch releases a release branch already made (hotfixes),
        so ``next-version`` and ``cut`` on the default branch agree."""
        if (version.prerelease or version.patch == 0 or self.git is None
                or (version.major, version.minor) != (current.major, current.minor)):
            return version
        # One question to git's batch per tag taken (usually none), not every tag read.
        while self.git.rev(f"refs/tags/{self.component.tag(str(version))}") is not None:
            version = version.bump_patch()
        return version

    def notes(
        self,
        fragments: FragmentSet,
        version: Version,
        date: str,
        *,
        fmt: str | None = None,
        title: bool = True,
        only: Sequence[Fragment] | None = None,
    ) -> Notes:
        """The release notes of ``fragments`` for ``version`` (``only``: of those of them)."""
        from relbot.notes import render

        fragments.require_valid("notes")
        return render(self.component, self.settings,
                      fragments.fragments if only is None else only,
                      self.component.notes_version(str(version)), date, fmt=fmt,
                      title=title, tree=self.steering)


class _TagVersion:
    """The current version read from the release tags in a thread (see
    :meth:`Project.prefetch_current_version`); an error is raised where it is asked for."""

    def __init__(self, component: Component, root: Path, git: GitRepo) -> None:
        import threading

        self._args = (component, root, git)
        self._version: Version | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="relbot-tags", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        component, root, git = self._args
        try:
            self._version = current_version(component, root, git)
        except BaseException as exc:  # raised in the main thread, by version()
            self._error = exc

    def version(self) -> Version:
        """The current version (waits for the thread)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._version is not None  # noqa: S101 - set unless an error was
        return self._version
