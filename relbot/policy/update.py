"""``relbot policy update``: regenerate a policy file's lifecycle part from upstream.

Only the ``[lifecycle]`` table is ever rewritten, through ``tomlkit``, so the
project's decisions, its comments and their order survive untouched. The
upstream files are downloaded from the URLs of the policy's ``[upstream]``
table (or ``--url``), or read from local copies (``--from``). ``--check``
writes nothing and reports what upstream has that the file lacks.

``data_as_of`` is the day the data was taken: today for a download; for local
copies ``--as-of``, else the file's own date while the data is unchanged (so
regenerating changes nothing), else today.
"""

from __future__ import annotations

import datetime
import re
import tomllib
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relbot.errors import PolicyError, UsageError
from relbot.policy import files, upstream
from relbot.policy.lifecycle import Clock, today
from relbot.policy.upstream import Fact, UpstreamFile

MAX_DOWNLOAD_BYTES = 5 * 1024 * 1024
MAX_PAGES = 200
DOWNLOAD_TIMEOUT = 30.0

_LEGENDS = {
    "kubernetes": (
        "maintenance mode",
        "kubernetes/website data/releases/schedule.yaml and eol.yaml; endoflife.date "
        "products/kubernetes.md",
        ["[schedule] kubernetes/website data/releases/schedule.yaml (active minors)",
         "[eol]      kubernetes/website data/releases/eol.yaml (ended minors, final patch)",
         "[endoflife] endoflife.date products/kubernetes.md (dates the website files lack)",
         "maintenance = start of maintenance mode (end of standard support)"]),
    "openstack": (
        "unmaintained",
        "openstack/releases data/series_status.yaml",
        ["[series] openstack/releases data/series_status.yaml: initial-release, slurp,",
         "         next-phase dates, eol-date; reached = a phase the file reports without",
         "         its date (unmaintained: extended, end of life: ended)",
         "maintenance = the day the series becomes unmaintained"]),
    "ovn": (
        "critical fixes only",
        "ovn-org/ovn-website src/content/releases/*.md",
        ["[page] ovn-org/ovn-website src/content/releases/<series>.md: initial release,",
         "       end of support, critical-fix mode, last patch of an ended series",
         "[lts]  _index.en.md there: an LTS gets one year of critical and security fixes",
         "       before its end, so critical-fix mode starts one year before it",
         "lts per ovn-upgrades.rst: 22.03, then an LTS every two years",
         "maintenance = start of critical-fix-only mode"]),
}

DEFAULT_URLS = {
    "kubernetes": [
        "https://raw.githubusercontent.com/kubernetes/website/main/data/releases/schedule.yaml",
        "https://raw.githubusercontent.com/kubernetes/website/main/data/releases/eol.yaml",
        "https://raw.githubusercontent.com/endoflife-date/endoflife.date/master/products/"
        "kubernetes.md",
    ],
    "openstack": [
        "https://raw.githubusercontent.com/openstack/releases/master/data/series_status.yaml",
    ],
    "ovn": [
        "https://raw.githubusercontent.com/ovn-org/ovn-website/main/src/content/releases/",
    ],
}


@dataclass(frozen=True)
class UpdateResult:
    """What an update found: the new file text and how its lifecycle part changed."""

    label: str
    old_text: str
    new_text: str
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    data_as_of: str

    @property
    def behind(self) -> bool:
        """Whether upstream knows something the file does not say."""
        return bool(self.added or self.changed or self.removed)

    def summary(self) -> str:
        """One line per kind of difference, or that the file is current."""
        if not self.behind:
            return f"{self.label}: lifecycle data is current (upstream as of {self.data_as_of})."
        lines = [f"{self.label} is behind upstream:"]
        if self.added:
            lines.append("  missing releases: " + ", ".join(self.added))
        if self.changed:
            lines.extend(f"  changed: {c}" for c in self.changed)
        if self.removed:
            lines.append("  no longer listed upstream: " + ", ".join(self.removed))
        return "\n".join(lines)


def upstream_format(data: Mapping[str, Any], label: str, name: str) -> str:
    """The upstream format a policy file names (``[upstream] format``), else its name's."""
    table = data.get("upstream", {})
    fmt = table.get("format", name) if isinstance(table, dict) else name
    if fmt not in upstream.FORMATS:
        raise PolicyError(f"{label}: it names no upstream format ([upstream] format = "
                          + " or ".join(repr(f) for f in upstream.FORMATS) + ").")
    return str(fmt)


def render_lifecycle(fmt: str, facts: Sequence[Fact], data_as_of: str) -> str:
    """The ``[lifecycle]`` table as TOML text, every fact tagged with its source."""
    extended, source, legend = _LEGENDS[fmt]
    out = ["[lifecycle]",
           "# Generated by `relbot policy update` from upstream's own files; every update",
           "# rewrites this table and nothing else. Sources, cited by tag:",
           *(f"# {line}" for line in legend),
           f"data_as_of = {data_as_of}",
           f"source = {_string(source)}",
           f"extended_label = {_string(extended)}"]
    for fact in facts:
        cite = dict(fact.cite or {})
        out += ["", "[[lifecycle.release]]", f"name = {_string(fact.name)}"]
        if fact.aliases:
            out.append("aliases = [" + ", ".join(_string(a) for a in fact.aliases) + "]")
        if fact.marks:
            out.append("marks = [" + ", ".join(_string(m) for m in fact.marks) + "]")
        for field in ("released", "maintenance", "end_of_life"):
            value = getattr(fact, field)
            if value is not None:
                out.append(_tagged(f"{field} = {value}", cite.get(field)))
        if fact.last_patch is not None:
            out.append(_tagged(f"last_patch = {_string(fact.last_patch)}",
                               cite.get("last_patch")))
        if fact.reached is not None:
            out.append(_tagged(f"reached = {_string(fact.reached)}", cite.get("reached")))
    return "\n".join(out) + "\n"


def _tagged(line: str, tag: str | None) -> str:
    return line if tag is None else f"{line.ljust(28)} # [{tag}]"


def _string(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def read_local(paths: Sequence[Path]) -> list[UpstreamFile]:
    """Local copies; a directory stands for the ``*.md`` pages in it (OVN's releases)."""
    found: list[UpstreamFile] = []
    for path in paths:
        targets = sorted(path.glob("*.md")) if path.is_dir() else [path]
        for target in targets:
            try:
                data = files.read_regular(target, MAX_DOWNLOAD_BYTES, "upstream files")
            except FileNotFoundError:
                raise UsageError(f"--from {target}: no such file.") from None
            except files.NotReadable as exc:
                raise UsageError(f"--from {target} {exc.reason}.") from None
            found.append(UpstreamFile(target.name, _text(data, str(target))))
    if not found:
        raise UsageError("--from names no file to read.")
    return found


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{where} is not UTF-8 text.") from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Upstream files are fetched from the URL given, never from where a redirect points."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        raise PolicyError(f"{req.full_url} redirects to {newurl}; relbot follows no redirect "
                          "for upstream data (give the final URL).")


def _fetch(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise UsageError(f"upstream URL {url!r} must use https.")
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(url, timeout=DOWNLOAD_TIMEOUT) as response:
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except PolicyError:
        raise
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc
        raise PolicyError(f"cannot download {url}: {reason}.") from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise PolicyError(f"{url} is larger than {MAX_DOWNLOAD_BYTES} bytes; not read.")
    return _text(data, url)


def download(fmt: str, urls: Sequence[str]) -> list[UpstreamFile]:
    """The upstream files behind ``urls``; for OVN a URL ending in ``/`` is the releases
    directory, whose ``all_releases.md`` lists the series pages to fetch."""
    found: list[UpstreamFile] = []
    for url in urls:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        if fmt == "ovn" and url.endswith("/"):
            index = _fetch(url + "all_releases.md")
            series = upstream.series_names(index)[:MAX_PAGES]
            found.append(UpstreamFile("all_releases.md", index))
            for item in ("_index.en.md", *(f"{s}.md" for s in series)):
                found.append(UpstreamFile(item, _fetch(url + item)))
        else:
            found.append(UpstreamFile(name, _fetch(url)))
    return found


def update(policy_path: Path, *, sources: Sequence[Path] = (), urls: Sequence[str] = (),
           as_of: str | None = None, clock: Clock = today) -> UpdateResult:
    """Regenerate the lifecycle part of the policy file at ``policy_path`` (not written)."""
    import tomlkit

    label = policy_path.name
    try:
        raw = files.read_regular(policy_path, files.MAX_POLICY_BYTES, "policy files")
    except FileNotFoundError:
        raise UsageError(f"policy file {policy_path} does not exist.") from None
    except files.NotReadable as exc:
        raise PolicyError(f"{policy_path} {exc.reason}.") from None
    old_text = _text(raw, label)
    try:
        data = tomllib.loads(old_text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{label} is not valid TOML: {exc}.") from None
    except RecursionError:
        raise PolicyError(f"{label} is nested too deeply to be a policy file.") from None
    fmt = upstream_format(data, label, policy_path.stem)
    if sources:
        got = read_local(sources)
    else:
        table = data.get("upstream", {})
        wanted = list(urls) or list(table.get("urls", []) if isinstance(table, dict) else [])
        got = download(fmt, wanted or DEFAULT_URLS[fmt])
    facts = upstream.parse(fmt, got)
    old_life = data.get("lifecycle", {}) if isinstance(data.get("lifecycle"), dict) else {}
    old_releases = _plain_releases(old_life.get("release", []))
    probe = tomllib.loads(render_lifecycle(fmt, facts, "2000-01-01"))["lifecycle"]
    new_releases = _plain_releases(probe["release"])
    added, changed, removed = _diff(old_releases, new_releases)
    if as_of is not None:
        stamp = _as_of(as_of)
    elif sources and not (added or changed or removed) and "data_as_of" in old_life:
        stamp = str(old_life["data_as_of"])
    else:
        stamp = clock().isoformat()
    document = tomlkit.parse(old_text)
    document["lifecycle"] = tomlkit.parse(render_lifecycle(fmt, facts, stamp))["lifecycle"]
    new_text = _keep_heading_comments(old_text, tomlkit.dumps(document))
    return UpdateResult(label, old_text, new_text, tuple(added), tuple(changed),
                        tuple(removed), stamp)


_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(?:#.*)?$")


def _keep_heading_comments(old: str, new: str) -> str:
    """Comments just above the first table after [lifecycle] belong to that table; TOML
    counts them into [lifecycle], so they are put back above it after the rewrite."""
    def following(lines: list[str]) -> int | None:
        inside = False
        for index, line in enumerate(lines):
            match = _HEADER.match(line)
            if match is None:
                continue
            name = match.group(1).strip("\"' ")
            if name == "lifecycle" or name.startswith("lifecycle."):
                inside = True
            elif inside:
                return index
        return None

    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    at_old, at_new = following(old_lines), following(new_lines)
    if at_old is None or at_new is None:
        return new
    start = at_old
    while start > 0 and (old_lines[start - 1].lstrip().startswith("#")
                         or not old_lines[start - 1].strip()):
        start -= 1
    block = old_lines[start:at_old]
    if not any(line.lstrip().startswith("#") for line in block):
        return new
    while not block[0].strip():
        block.pop(0)
    head = new_lines[:at_new]
    while head and not head[-1].strip():
        head.pop()
    return "".join([*head, "\n", *block, *new_lines[at_new:]])



def _as_of(text: str) -> str:
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise UsageError(f"--as-of {text!r} is not a date such as 2026-08-21.") from None


def _plain_releases(raw: Any) -> dict[str, dict[str, str]]:
    if not isinstance(raw, list):
        return {}
    result: dict[str, dict[str, str]] = {}
    for item in raw:
        if isinstance(item, dict) and "name" in item:
            result[str(item["name"])] = {k: str(v) for k, v in item.items() if k != "name"}
    return result


def _diff(old: Mapping[str, Mapping[str, str]], new: Mapping[str, Mapping[str, str]]
          ) -> tuple[list[str], list[str], list[str]]:
    added = [name for name in new if name not in old]
    removed = [name for name in old if name not in new]
    changed = []
    for name, fields in new.items():
        before = old.get(name)
        if before is None or before == fields:
            continue
        parts = [f"{key} {before.get(key, '(none)')} -> {fields.get(key, '(none)')}"
                 for key in sorted(set(before) | set(fields))
                 if before.get(key) != fields.get(key)]
        changed.append(f"{name} ({'; '.join(parts)})")
    return added, changed, removed


def policy_files(root: Path, subjects: Sequence[str]) -> list[Path]:
    """The files ``relbot policy update`` rewrites: each SUBJECT (a path, or
    policies/NAME.toml), else every policies/*.toml with a lifecycle or upstream table."""
    if not subjects:
        directory = root / files.POLICY_DIR
        found = []
        for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
            text = path.read_text(encoding="utf-8", errors="replace")
            if "[lifecycle]" in text or "[upstream]" in text:
                found.append(path)
        if not found:
            raise UsageError(f"{directory} holds no policy file with a [lifecycle] or "
                             "[upstream] table; name one (relbot policy update kubernetes).")
        return found
    result = []
    for subject in subjects:
        if files.is_path(subject):
            result.append(root / subject)
            continue
        own = root / files.POLICY_DIR / f"{subject}.toml"
        if not (own.exists() or own.is_symlink()):
            raise UsageError(f"there is no {files.POLICY_DIR}/{subject}.toml in {root}; "
                             "`policy update` rewrites a repository's own policy file (copy "
                             "the shipped one first, or give a path).")
        result.append(own)
    return result
