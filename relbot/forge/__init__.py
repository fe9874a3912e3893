"""Where releases are published and MR comments go: a Protocol and its implementations.

The release plan and the MR check talk to a :class:`Forge`; ``forge = "none"``
gives :class:`NoForge` (no API calls at all), ``forge = "gitlab"`` the
python-gitlab implementation in ``relbot.forge.gitlab``, imported only when used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Release:
    """A forge release of one tag."""

    tag: str
    name: str
    description: str
    url: str | None = None


class Forge(Protocol):
    """What relbot needs from a forge to publish a release."""

    name: str

    def get_release(self, tag: str) -> Release | None:
        """The release of ``tag``, or ``None`` when there is none."""
        ...

    def ensure_release(self, tag: str, name: str, description: str) -> Release:
        """Create the release of ``tag``, or update it to this name and text; rerun-safe."""
        ...


class NoForge:
    """``forge = "none"``: releases are git tags only; nothing is published."""

    name = "none"

    def get_release(self, tag: str) -> Release | None:
        """There are no forge releases."""
        return None

    def ensure_release(self, tag: str, name: str, description: str) -> Release:
        """Nothing to publish: the tag is the release."""
        return Release(tag, name, description)
