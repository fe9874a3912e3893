"""Checks that a policy still matches the world: stale data and upstream drift.

Run by ``policy check``, ``mr check`` and ``cut`` on every run, because a
policy that rots fails good releases or passes bad ones. Each rule's severity
comes from the policy's ``[checks.severity]`` (``fail`` or ``warn``):

* ``policy-stale-data``: ``lifecycle.data_as_of`` is older than
  ``max_data_age`` days (default 120): run ``relbot policy update``.
* ``policy-upstream-ended``: the window supports (or deprecates) a minor that
  upstream has ended.
* ``policy-upstream-unmentioned``: upstream released a minor newer than any the
  window mentions more than ``unmentioned_after`` days ago (default 90).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from relbot.findings import Finding
from relbot.policy.lifecycle import ENDED, FUTURE, parse_date
from relbot.policy.model import DROPPED, Policy, SupportWindow, parse_version


def drift(policy: Policy, day: datetime.date) -> Iterator[Finding]:
    """The drift findings of ``policy`` on ``day``."""
    where = policy.relpath or policy.source
    life = policy.lifecycle
    if life is None:
        return
    taken = parse_date(life.data_as_of)
    checks = policy.checks
    if taken is not None and (day - taken).days > checks.max_data_age:
        yield Finding(where, "policy-stale-data",
                      f"the {policy.title} lifecycle data of {policy.source} is from "
                      f"{life.data_as_of}, {(day - taken).days} days old (more than "
                      f"max_data_age = {checks.max_data_age}); run `relbot policy update "
                      f"{policy.name}`", severity=checks.level("policy-stale-data"))
    if not isinstance(policy, SupportWindow):
        return
    for entry in policy.entries:
        if entry.status == DROPPED or entry.life is None:
            continue
        if entry.life.phase(day) == ENDED:
            yield Finding(where, "policy-upstream-ended",
                          f"the window still has {policy.title} {entry.label} as "
                          f"{entry.status}, but upstream ended it on {entry.end_of_life}; "
                          f"plan its removal (announced in a removal fragment)", entry.line,
                          severity=checks.level("policy-upstream-ended"))
    mentioned = [v for v in (parse_version(e.label) for e in policy.entries) if v is not None]
    newest = max(mentioned, default=None)
    for release in life.releases:
        version = parse_version(release.name)
        released = parse_date(release.released)
        if (version is None or released is None or release.phase(day) == FUTURE
                or (newest is not None and version <= newest)):
            continue
        age = (day - released).days
        if age > checks.unmentioned_after:
            yield Finding(where, "policy-upstream-unmentioned",
                          f"upstream released {policy.title} {release.name} on "
                          f"{release.released} ({age} days ago), and the window does not "
                          "mention it; decide whether it is supported",
                          severity=checks.level("policy-upstream-unmentioned"))
