"""Reading upstream's own lifecycle files into :class:`LifecycleRelease` values.

Three formats, each the file upstream itself keeps (and nothing retyped):

* ``kubernetes``: kubernetes/website ``data/releases/schedule.yaml`` (active
  minors) and ``eol.yaml`` (ended minors), and endoflife.date's
  ``products/kubernetes.md``; given together, the official website files win
  field by field and endoflife.date fills what they lack (release dates of
  ended minors).
* ``openstack``: openstack/releases ``data/series_status.yaml``.
* ``ovn``: ovn-org/ovn-website ``src/content/releases/<series>.md`` pages,
  whose prose gives the dates ("initially released on 1 March, 2024").

Where upstream reports a phase as reached without giving its date (an
OpenStack series "unmaintained" since an unstated day), the release records
``reached``: phases only move forward, so that fact never goes stale.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from relbot.errors import PolicyError
from relbot.policy.lifecycle import ENDED, EXTENDED

FORMATS = ("kubernetes", "openstack", "ovn")


@dataclass(frozen=True, kw_only=True)
class Fact:
    """One upstream release as read, with the source of each field (for comments)."""

    name: str
    aliases: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()
    released: str | None = None
    maintenance: str | None = None
    end_of_life: str | None = None
    last_patch: str | None = None
    reached: str | None = None  # a phase upstream reports without a date
    cite: Mapping[str, str] | None = None  # field -> source tag


@dataclass(frozen=True)
class UpstreamFile:
    """One upstream file: its name (for messages and format detection) and text."""

    name: str
    text: str


def parse(fmt: str, files: Sequence[UpstreamFile]) -> list[Fact]:
    """The releases ``files`` describe, in the order the policy lists them."""
    if fmt == "kubernetes":
        return _kubernetes(files)
    if fmt == "openstack":
        return _openstack(files)
    if fmt == "ovn":
        return _ovn(files)
    raise PolicyError(f"upstream format {fmt!r} is not one of " + ", ".join(FORMATS) + ".")


def _yaml(file: UpstreamFile, text: str | None = None) -> Any:
    import yaml

    try:
        return yaml.safe_load(file.text if text is None else text)
    except (yaml.YAMLError, RecursionError) as exc:
        raise PolicyError(f"{file.name} is not valid YAML: "
                          f"{str(exc).splitlines()[0] if str(exc) else 'too deeply nested'}."
                          ) from None


def _date(value: Any, where: str) -> str | None:
    if value is None or value == "" or isinstance(value, bool):
        return None  # endoflife.date writes true/false where it knows no date
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise PolicyError(f"{where} is {text!r}, not a date such as 2026-04-22.") from None


def _minor(value: Any, where: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d+\.\d+", value.strip()):
        raise PolicyError(f"{where} is {value!r}, not a minor version such as \"1.36\".")
    return value.strip()


def _entries(data: Any, key: str, file: UpstreamFile) -> list[Mapping[str, Any]]:
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PolicyError(f"{file.name} has no list {key!r} of tables.")
    return items


def _kubernetes(files: Sequence[UpstreamFile]) -> list[Fact]:
    # field -> minor -> (rank, value, tag); the lowest rank (the official file) wins
    merged: dict[str, dict[str, Any]] = {}
    cites: dict[str, dict[str, tuple[int, str]]] = {}

    def put(minor: str, field: str, value: str | None, rank: int, tag: str) -> None:
        if value is None:
            return
        row = merged.setdefault(minor, {})
        cite = cites.setdefault(minor, {})
        if field not in cite or rank < cite[field][0]:
            row[field] = value
            cite[field] = (rank, tag)

    for file in files:
        if file.text.lstrip().startswith("---") and "releaseCycle" in file.text:
            front = file.text.split("---", 2)[1]
            for index, item in enumerate(_entries(_yaml(file, front), "releases", file)):
                where = f"{file.name}: releases[{index}]"
                minor = _minor(item.get("releaseCycle"), f"{where}.releaseCycle")
                put(minor, "released", _date(item.get("releaseDate"), where), 2, "endoflife")
                put(minor, "maintenance", _date(item.get("eoas"), where), 2, "endoflife")
                put(minor, "end_of_life", _date(item.get("eol"), where), 2, "endoflife")
            continue
        data = _yaml(file)
        if isinstance(data, dict) and "schedules" in data:
            for index, item in enumerate(_entries(data, "schedules", file)):
                where = f"{file.name}: schedules[{index}]"
                minor = _minor(item.get("release"), f"{where}.release")
                put(minor, "released", _date(item.get("releaseDate"), where), 0, "schedule")
                put(minor, "maintenance", _date(item.get("maintenanceModeStartDate"), where),
                    0, "schedule")
                put(minor, "end_of_life", _date(item.get("endOfLifeDate"), where), 0,
                    "schedule")
        elif isinstance(data, dict) and "branches" in data:
            for index, item in enumerate(_entries(data, "branches", file)):
                where = f"{file.name}: branches[{index}]"
                minor = _minor(item.get("release"), f"{where}.release")
                put(minor, "end_of_life", _date(item.get("endOfLifeDate"), where), 1, "eol")
                patch = item.get("finalPatchRelease")
                put(minor, "last_patch", None if patch is None else str(patch), 1, "eol")
        else:
            raise PolicyError(f"{file.name} is none of kubernetes/website's schedule.yaml "
                              "(schedules:), eol.yaml (branches:) or endoflife.date's "
                              "kubernetes.md (releases: in the front matter).")
    facts = [Fact(name=minor, cite={k: v[1] for k, v in cites[minor].items()}, **row)
             for minor, row in merged.items()]
    return sorted(facts, key=lambda f: tuple(int(p) for p in f.name.split(".")), reverse=True)


_OPENSTACK_PHASES = {"unmaintained": "maintenance", "end of life": "end_of_life"}


def _openstack(files: Sequence[UpstreamFile]) -> list[Fact]:
    if len(files) != 1:
        raise PolicyError("OpenStack's lifecycle comes from one file, openstack/releases "
                          f"data/series_status.yaml; got {len(files)}.")
    file = files[0]
    data = _yaml(file)
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise PolicyError(f"{file.name} is not openstack/releases' series_status.yaml (a list "
                          "of series).")
    facts = []
    for index, item in enumerate(data):
        where = f"{file.name}: [{index}]"
        code = item.get("name")
        if not isinstance(code, str) or not code:
            raise PolicyError(f"{where} has no name.")
        number = item.get("release-id")
        fields: dict[str, Any] = {"released": _date(item.get("initial-release"), where)}
        status = str(item.get("status", "")).strip()
        nxt = item.get("next-phase") or {}
        if status == "end of life":
            fields["end_of_life"] = _date(item.get("eol-date"), where)
            if fields["end_of_life"] is None:
                fields["reached"] = ENDED
        elif status == "unmaintained":
            fields["reached"] = EXTENDED
        if isinstance(nxt, dict):
            field = _OPENSTACK_PHASES.get(str(nxt.get("status", "")).strip())
            date = _date(nxt.get("date"), f"{where}.next-phase")
            if field is not None and date is not None:
                fields[field] = date
        name = code if number is None else str(number)
        facts.append(Fact(name=name, aliases=() if number is None else (code,),
                          marks=("slurp",) if item.get("slurp") is True else (),
                          cite=dict.fromkeys(fields, "series"), **fields))
    return sorted(facts, key=lambda f: f.released or "")


_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), start=1)}
_PROSE_DATE = r"(\d{1,2}) ([A-Za-z]+),? (\d{4})"


def _prose_date(match: re.Match[str] | None, where: str) -> str | None:
    if match is None:
        return None
    day, month, year = match.group(1), match.group(2).lower(), match.group(3)
    if month not in _MONTHS:
        raise PolicyError(f"{where}: {match.group(0)!r} has no month name I know.")
    return datetime.date(int(year), _MONTHS[month], int(day)).isoformat()


def _ovn_lts(name: str) -> bool:
    """ovn-upgrades.rst: "The first LTS version of OVN was 22.03. Subsequent LTS versions
    have been released every two years since then." """
    year, month = (int(p) for p in name.split("."))
    return month == 3 and year >= 22 and (year - 22) % 2 == 0


def _one_year_before(iso: str) -> str:
    day = datetime.date.fromisoformat(iso)
    return day.replace(year=day.year - 1).isoformat()


def _ovn(files: Sequence[UpstreamFile]) -> list[Fact]:
    facts = []
    newest_lts: str | None = None
    for file in files:
        heading = re.search(r"^## OVN (\d+\.\d+)\s*$", file.text, re.MULTILINE)
        if heading is None:
            index = re.search(r"most recent LTS series of OVN released is\s+(\d+\.\d+)",
                              file.text)
            if index is not None:
                newest_lts = index.group(1)
            continue  # _index.en.md, all_releases.md, changelogs: no series page
        name = heading.group(1)
        where = f"{file.name} (OVN {name})"
        text = " ".join(file.text.split())
        released = _prose_date(re.search(r"initially released on " + _PROSE_DATE, text), where)
        end = _prose_date(re.search(r"[Ss]upport (?:for this version )?(?:will end|ended) on "
                                    + _PROSE_DATE, text), where)
        critical = _prose_date(re.search(r"will enter critical fix mode on " + _PROSE_DATE,
                                         text), where)
        lts = _ovn_lts(name)
        cite = {"released": "page", "end_of_life": "page"}
        if critical is None and lts and end is not None:
            # _index.en.md: an LTS gets "one year of critical bug fixes and security fixes"
            # before its end, so critical-fix mode starts a year before the end of support.
            critical = _one_year_before(end)
            cite["maintenance"] = "lts"
        elif critical is not None:
            cite["maintenance"] = "page"
        if released is None:
            raise PolicyError(f"{where} does not say when the series was initially released.")
        patches = re.findall(r"^### v(\d+\.\d+\.\d+)\s*$", file.text, re.MULTILINE)
        ended = "no longer supported" in text
        last = patches[0] if ended and patches else None
        if last is not None:
            cite["last_patch"] = "page"
        facts.append(Fact(name=name, marks=("lts",) if lts else (), released=released,
                          maintenance=critical, end_of_life=end, last_patch=last, cite=cite))
    if not facts:
        raise PolicyError("no OVN release page among the files read (pages of ovn-org/"
                          "ovn-website src/content/releases/, such as 24.03.md).")
    if newest_lts is not None and not any(f.name == newest_lts and f.marks for f in facts):
        raise PolicyError(f"ovn.org names {newest_lts} the most recent LTS, which the rule "
                          "of ovn-upgrades.rst (22.03, then every two years) does not give.")
    return sorted(facts, key=lambda f: f.released or "")


def series_names(index_text: str) -> list[str]:
    """The series an ovn-website ``all_releases.md`` lists (for downloading their pages)."""
    return sorted(set(re.findall(r"^### OVN (\d+\.\d+)\s*$", index_text, re.MULTILINE)))

