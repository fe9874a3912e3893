"""What a policy is, once read and validated: frozen values, no I/O.

Two kinds share a base: a :class:`SupportWindow` says which versions are
supported, deprecated or dropped (Kubernetes); an :class:`UpgradeGraph` orders
releases and says which upgrades between them are allowed (OpenStack, OVN).
Both may carry probes (where a repository declares versions of the subject)
and compatibility ranges towards other subjects. The loader guarantees the
invariants (known release names, valid specifiers, no cycles), so the code
that uses these values does not check them again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from relbot.policy.lifecycle import Lifecycle, LifecycleRelease

SUPPORTED = "supported"
DEPRECATED = "deprecated"
DROPPED = "dropped"
STATUSES = (SUPPORTED, DEPRECATED, DROPPED)

FAIL = "fail"
WARN = "warn"
# Rules whose severity a policy file's [checks.severity] may set, and their defaults: a
# declared version the window drops or does not know fails; the rest warns.
DEFAULT_SEVERITY = {
    "policy-dropped": FAIL,
    "policy-unknown-version": FAIL,
    "policy-unknown-release": FAIL,
    "policy-deprecated": WARN,
    "policy-stale-data": WARN,
    "policy-upstream-ended": WARN,
    "policy-upstream-unmentioned": WARN,
    "policy-not-released": WARN,
}
DEFAULT_MAX_DATA_AGE = 120  # days
DEFAULT_UNMENTIONED_AFTER = 90  # days

_MINOR_SPEC = re.compile(r"==\s*(\d+(?:\.\d+)*)\.\*")


def parse_version(text: str) -> Version | None:
    """A version as users write it (``1.29.5``, ``v1.29.5``, ``24.03``), or ``None``."""
    value = text.strip()
    if value[:1] in ("v", "V"):
        value = value[1:]
    try:
        return Version(value)
    except InvalidVersion:
        return None


@dataclass(frozen=True, kw_only=True)
class Probe:
    """Where a repository declares versions: a file glob and a key path or a pattern."""

    file: str
    key: str | None = None
    pattern: str | None = None
    within: str | None = None  # a pattern selecting the part of the file ``pattern`` reads
    format: str | None = None
    required: bool = True
    description: str = ""
    origin: str = ""  # where the probe is declared, for messages ("relbot.toml: probes[0]")

    @property
    def label(self) -> str:
        """The probe as messages name it: ``file: key`` or ``file: /pattern/``."""
        return f"{self.file}: {self.key}" if self.key else f"{self.file}: /{self.pattern}/"


@dataclass(frozen=True, kw_only=True)
class Checks:
    """The project's choices about the drift checks: limits and each rule's severity."""

    max_data_age: int = DEFAULT_MAX_DATA_AGE
    unmentioned_after: int = DEFAULT_UNMENTIONED_AFTER
    severity: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SEVERITY))

    def level(self, rule: str) -> str:
        """The Finding severity of ``rule``: ``error`` where it fails, else ``warning``."""
        return "error" if self.severity.get(rule, FAIL) == FAIL else "warning"


@dataclass(frozen=True, kw_only=True)
class Procedure:
    """What to do where no allowed path exists (OVN's fail-safe upgrade), as upstream says."""

    name: str
    steps: tuple[str, ...]
    url: str = ""


@dataclass(frozen=True, kw_only=True)
class Policy:
    """What both kinds have: a name (the file's stem), a title, where it came from."""

    name: str
    title: str
    source: str  # how messages name the file
    relpath: str | None  # repository-relative path when the repository holds the file
    description: str = ""
    url: str = ""
    note: str = ""
    probes: tuple[Probe, ...] = ()
    lifecycle: Lifecycle | None = None
    checks: Checks = field(default_factory=Checks)
    # other subject -> (release of that subject, as written) -> versions of this subject
    compatibility: Mapping[str, Mapping[str, SpecifierSet]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``support-window`` or ``upgrade-graph``."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class WindowEntry:
    """One row of a support window: the versions a specifier matches, and their status."""

    versions: SpecifierSet
    text: str  # the specifier as written
    status: str
    life: LifecycleRelease | None = None  # upstream's facts about these versions
    note: str = ""
    line: int | None = None  # line of ``versions`` in the policy file

    @property
    def released(self) -> str | None:
        """Upstream's release date."""
        return None if self.life is None else self.life.released

    @property
    def maintenance(self) -> str | None:
        """Upstream's end of standard support."""
        return None if self.life is None else self.life.maintenance

    @property
    def end_of_life(self) -> str | None:
        """Upstream's end of life."""
        return None if self.life is None else self.life.end_of_life

    @property
    def label(self) -> str:
        """``1.25`` for ``==1.25.*``, else the specifier as written."""
        match = _MINOR_SPEC.fullmatch(self.text.strip())
        return match.group(1) if match else self.text

    def contains(self, version: Version) -> bool:
        """Whether the entry covers ``version`` (pre-releases included)."""
        return self.versions.contains(version, prereleases=True)


@dataclass(frozen=True, kw_only=True)
class SupportWindow(Policy):
    """Supported, deprecated and dropped versions, and the largest minor step of one upgrade."""

    entries: tuple[WindowEntry, ...]
    max_minor_step: int | None = None

    @property
    def kind(self) -> str:
        """``support-window``."""
        return "support-window"

    def entry_for(self, version: Version) -> WindowEntry | None:
        """The entry covering ``version``; entries never overlap (the loader checks)."""
        return next((e for e in self.entries if e.contains(version)), None)


@dataclass(frozen=True, kw_only=True)
class Release:
    """One node of an upgrade graph, at its place in the release order."""

    name: str
    index: int
    aliases: tuple[str, ...] = ()
    marks: frozenset[str] = frozenset()
    life: LifecycleRelease | None = None
    versions: SpecifierSet | None = None
    note: str = ""

    @property
    def released(self) -> str | None:
        """Upstream's release date (in the future for a planned release)."""
        return None if self.life is None else self.life.released

    @property
    def names(self) -> tuple[str, ...]:
        """The name and every alias."""
        return (self.name, *self.aliases)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Edges generated for each release matching ``start`` (``any``, ``slurp``, ``not lts``)."""

    start: str
    to: str  # "next", "next MARK", "through next MARK"
    note: str = ""

    def text(self) -> str:
        """The rule as the policy file writes it."""
        return f"from {self.start} to {self.to}"


@dataclass(frozen=True, kw_only=True)
class Edge:
    """An explicit edge: an upgrade added (allowed) or removed (blocked), with a reason."""

    start: str  # canonical release names
    goal: str
    allowed: bool
    reason: str = ""
    url: str = ""
    key: str = ""  # key path in the policy file, such as ``edge[2]``


@dataclass(frozen=True, kw_only=True)
class UpgradeGraph(Policy):
    """Ordered releases; upgrades from rules and explicit edges; blocked edges with reasons."""

    releases: tuple[Release, ...]
    rules: tuple[Rule, ...] = ()
    edges: tuple[Edge, ...] = ()
    fallback: Procedure | None = None

    @property
    def kind(self) -> str:
        """``upgrade-graph``."""
        return "upgrade-graph"

    def release(self, text: str) -> Release | None:
        """The release a user means: by name or alias (any case), else by version."""
        wanted = text.strip().lower()
        for release in self.releases:
            if wanted in (n.lower() for n in release.names):
                return release
        version = parse_version(text)
        if version is None:
            return None
        return next((r for r in self.releases
                     if r.versions is not None and r.versions.contains(version,
                                                                       prereleases=True)),
                    None)

    def all_names(self) -> list[str]:
        """Every name and alias, for did-you-mean suggestions."""
        return [name for release in self.releases for name in release.names]
