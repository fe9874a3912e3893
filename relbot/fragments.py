"""Pending news fragments: finding, reading (safely, once), linting and writing them.

Names are parsed exactly as towncrier parses them, so relbot and towncrier agree
on what a fragment is; relbot adds the rules towncrier lacks (declared type, MR
number, regular UTF-8 file of bounded size inside the repository). Fragment
files come from merge requests, possibly from forks: a symlink is never
followed, and nothing larger than the limit is read.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from fnmatch import translate
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

from relbot.config import Component, did_you_mean, rel
from relbot.errors import FragmentError, UsageError
from relbot.findings import Finding, errors
from relbot.safe_files import Refused, read_bounded
from relbot.towncrier_settings import TowncrierSettings

if TYPE_CHECKING:
    from relbot.git import GitRepo
    from relbot.tree import Tree

PLACEHOLDER = "x"
_SYMLINK = "is a symbolic link; relbot never reads through links, commit the text itself"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class FragmentName:
    """A fragment file name as towncrier reads it: ``<issue>.<type>[.<counter>][.<rest>]``.

    ``other_types`` holds declared types that relbot found inside towncrier's issue
    part (``939.feature.BREAKING.x``: towncrier files it under BREAKING with issue
    ``939.feature``; the real Yaook/K8s v2.0.0 notes show ``!939``, so relbot reads
    MR 939 and warns). ``odd_digits`` marks a number towncrier cannot convert
    (``²``): ``str.isdigit`` accepts it, ``int`` does not.
    """

    issue: str
    type: str
    counter: int
    other_types: tuple[str, ...] = ()
    odd_digits: bool = False


@dataclass(frozen=True)
class Fragment:
    """One pending fragment, read and checked; ``relpath`` is its path from the repository
    root (no absolute path: 10,000 of them cost more than the rest of the scan)."""

    relpath: str
    section: str
    issue: str
    type: str
    counter: int
    text: str

    @property
    def is_orphan(self) -> bool:
        """No MR number (``+`` names)."""
        return self.issue == ""

    @property
    def is_placeholder(self) -> bool:
        """``x`` stands in for an MR number that CI fills in."""
        return self.issue == PLACEHOLDER


@dataclass(frozen=True)
class FragmentSet:
    """The pending fragments of one directory, and what is wrong with the others."""

    directory: Path
    fragments: tuple[Fragment, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def problems(self) -> list[Finding]:
        """The findings that are errors."""
        return errors(list(self.findings))

    @property
    def ok(self) -> bool:
        """No finding is an error."""
        return not self.problems

    def require_valid(self, command: str) -> None:
        """Refuse to go on with invalid fragments: one sentence, the first problem."""
        bad = self.problems
        if not bad:
            return
        more = f" ({len(bad) - 1} more)" if len(bad) > 1 else ""
        raise FragmentError(
            f"{command} stopped at an invalid fragment: {bad[0]}{more}; "
            "`relbot fragment lint` lists them all."
        )


def parse_name(basename: str, types: Iterable[str]) -> FragmentName | None:
    """towncrier's ``parse_newfragment_basename``: the last part that is a type wins."""
    return _parse_name(basename, set(types))


def read_name(basename: str, types: Iterable[str]) -> FragmentName | None:
    """The name as relbot releases it: towncrier's reading, with the MR of two-type names."""
    return _read_name(basename, set(types))


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _odd_digits(text: str) -> bool:
    """Digits other than 0-9 (``²``, ``٣``): ``isdigit`` says yes, ``int`` may not."""
    return not text.isascii() and any(char.isdigit() and not char.isascii() for char in text)


def _parse_name(basename: str, type_names: Container[str]) -> FragmentName | None:
    """:func:`parse_name` with the type names ready for ``in`` (scan's loop calls this).

    towncrier 26's rules (``towncrier._builder.parse_newfragment_basename``), except
    that a number towncrier would crash on (``int("²")``) is kept as text and marked.
    """
    parts = basename.split(".")
    for index in range(len(parts) - 1, 0, -1):
        if parts[index] in type_names:
            issue = ".".join(parts[:index]).strip()
            odd = _odd_digits(issue)
            if _ascii_digits(issue):
                issue = str(int(issue))
            counter = 0
            if len(parts) > index + 1 and parts[index + 1].isdigit():
                if _ascii_digits(parts[index + 1]):
                    counter = int(parts[index + 1])
                else:
                    odd = True
            return FragmentName(issue, parts[index], counter, odd_digits=odd)
    return None


def _read_name(basename: str, type_names: Container[str]) -> FragmentName | None:
    """:func:`read_name`; ``939.feature.BREAKING`` is MR 939, type BREAKING."""
    parsed = _parse_name(basename, type_names)
    if parsed is None or "." not in parsed.issue:
        return parsed
    head, *rest = parsed.issue.split(".")
    others = tuple(part for part in rest if part in type_names)
    if not others or not (_ascii_digits(head) or head == PLACEHOLDER):
        return parsed
    issue = str(int(head)) if _ascii_digits(head) else head
    return FragmentName(issue, parsed.type, parsed.counter, others, parsed.odd_digits)


def is_ignored(basename: str, settings: TowncrierSettings) -> bool:
    """Files towncrier skips: .gitignore, READMEs, the template, configured patterns."""
    return _ignore_matcher(settings.ignore)(basename.lower())


@functools.lru_cache(maxsize=16)
def _ignore_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """``fnmatch`` against each of ``patterns``, compiled once: a set and one regex."""
    literal = frozenset(p for p in patterns if not any(c in p for c in "*?["))
    wild = [p for p in patterns if p not in literal]
    regex = re.compile("|".join(translate(p) for p in wild)) if wild else None

    def matches(name: str) -> bool:
        return name in literal or (regex is not None and regex.match(name) is not None)

    return matches


def scan(
    settings: TowncrierSettings,
    component: Component,
    root: Path,
    directory: Path | None = None,
    *,
    tree: tuple[GitRepo, str] | None = None,
    track: bool = True,
    names_only: bool = False,
) -> FragmentSet:
    """Read every pending fragment of ``directory`` (default: towncrier's directory).

    With ``tree=(git, rev)`` the fragments are read from that commit instead of
    the work tree: a resumed release renders the notes of the fragments its
    release commit removed. In a git work tree only tracked files are pending
    (``track``): a git-ignored or new file is a finding, never released. With
    ``names_only`` no file is opened (texts are empty, and only the name rules
    are checked): the next version depends on the fragment types alone, and
    10,000 reads would dominate ``next-version``.
    """
    top = settings.directory if directory is None else directory
    fragments: list[Fragment] = []
    findings: list[Finding] = []
    sections = settings.section_directories(top)
    tracked = None
    if tree is None and track:
        tracked = tracked_paths(root, [rel(d, root) for _, d in sections])
    revision = None
    if tree is not None:
        from relbot.tree import GitTree

        revision = GitTree(tree[0].root, tree[1], tree[0].read_blob,  # git's one batch
                           tree[0].tree_entries)
    for section, section_dir in sections:
        if revision is None:
            if section_dir.is_symlink() or not section_dir.resolve().is_relative_to(root):
                findings.append(Finding(rel(section_dir, root), "outside-repository",
                                        "the fragments directory is a link or lies outside "
                                        "the repository; it is not read"))
                continue
            entries = _work_tree_entries(section_dir)
        else:
            entries = _tree_entries(revision, rel(section_dir, root))
        _scan_entries(settings, component, root, section, section_dir, entries, fragments,
                      findings, tracked, names_only)
    if revision is not None:
        revision.close()
    findings += _same_text(fragments)
    return FragmentSet(top, tuple(sorted(fragments, key=_order)), tuple(findings))


def tracked_paths(root: Path, directories: list[str]) -> frozenset[str] | None:
    """The files git tracks below ``directories`` (paths from ``root``); ``None``: no git.

    One ``git ls-files -z`` whatever the number of fragments; ``-z`` because
    git quotes unusual names (``café``) otherwise.
    """
    import subprocess

    if not (root / ".git").exists():
        return None
    try:
        proc = subprocess.run(["git", "-c", "core.quotePath=false", "ls-files", "-z", "--",
                               *directories], cwd=root, capture_output=True, check=False)
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    # One decode of the whole listing (as os.fsdecode decodes each name: UTF-8, with
    # surrogate escapes for bytes that are not), not 10,000 calls.
    listing = proc.stdout.decode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
    return frozenset(listing.split("\0")) - {""}


_order = attrgetter("section", "type", "counter", "relpath")  # C's speed at 10k fragments


@dataclass(frozen=True)
class _Listing:
    """A directory's entries, from the work tree or from a commit, and how to read each.

    Names in one list and the entry's kind and text behind two functions of its index,
    not an object per entry: the scan's loop runs 10,000 times in large repositories.
    """

    names: list[str]
    is_dir: Callable[[int], bool]
    load: Callable[[int, int], str]  # (index, byte limit) -> text


_NO_ENTRIES = _Listing([], lambda index: False, lambda index, limit: "")


def _work_tree_entries(directory: Path) -> _Listing:
    try:
        listing = sorted(os.scandir(directory), key=attrgetter("name"))
    except (FileNotFoundError, NotADirectoryError):
        return _NO_ENTRIES
    return _Listing([entry.name for entry in listing],
                    lambda index: listing[index].is_dir(follow_symlinks=False),
                    lambda index, limit: _read_listed(listing[index], limit))


def _read_listed(entry: os.DirEntry[str], limit: int) -> str:
    """:func:`read_text` for a file just listed: the listing's file type spares an lstat."""
    try:
        link = entry.is_symlink()
        regular = entry.is_file(follow_symlinks=False)
    except OSError as exc:
        raise UnsafeFragment(f"cannot be read: {exc.strerror}", "unreadable") from None
    if link:
        raise UnsafeFragment(_SYMLINK, "symlink")
    if not regular:
        raise UnsafeFragment("is not a regular file", "not-a-file")
    return _read(entry.path, limit, looked_at=True)


def _tree_entries(revision: Tree, directory: str) -> _Listing:
    """The entries of a directory of a git revision, read through ``relbot.tree``."""
    from relbot.tree import Refused

    prefix = "" if directory in ("", ".") else directory.rstrip("/")
    entries = revision.entries(prefix)
    names = [entry.name for entry in entries]

    def load(index: int, limit: int) -> str:
        name = names[index]
        try:
            data = revision.read_bytes(f"{prefix}/{name}" if prefix else name, limit)
        except Refused as refused:
            if refused.rule == "symlink":
                raise UnsafeFragment(_SYMLINK, "symlink") from None
            if refused.rule == "too-large":
                raise UnsafeFragment(_too_large(refused.size or limit + 1, limit),
                                     "too-large") from None
            if refused.rule == "not-a-file":
                raise UnsafeFragment("is not a regular file", "not-a-file") from None
            raise UnsafeFragment(f"cannot be read: {refused.reason}", "unreadable") \
                from None
        return decode(data, limit)

    return _Listing(names, lambda index: entries[index].kind == "dir", load)


# Printable ASCII but the dot and the space: one part of a name that needs none of
# towncrier's corner cases (no other digits, no control characters, nothing to strip).
_PLAIN_PART = r"[!-\-/-~]"


def _plain_name_pattern(settings: TowncrierSettings) -> re.Pattern[str] | None:
    """The names that are plainly ``<MR>.<type>[.<one part>]`` or an orphan's, as a regex.

    Such a name is read exactly as :func:`_checked_name` reads it, and has nothing to
    report; the scan reads it with one match instead of the general rules, which cost
    more than the rest of ``next-version`` at 10,000 fragments. Any other name (four
    parts, a type in the last part, other digits, an issue_pattern to check an MR number
    against) takes the general way; a property test holds the two to the same answer.
    """
    orphan = settings.orphan_prefix
    types = sorted((t for t in settings.types if re.fullmatch(f"{_PLAIN_PART}+", t)),
                   key=len, reverse=True)
    if not types or not re.fullmatch(f"{_PLAIN_PART}+", orphan) or orphan[0].isdigit():
        return None  # an orphan prefix of digits: the general way tells it from an MR
    # an MR number is checked against an issue_pattern the general way: never matched here
    number = "(?!)" if settings.issue_pattern else "[0-9]+"
    return re.compile(f"(?:(?P<number>{number})|(?P<orphan>{re.escape(orphan)}{_PLAIN_PART}*))"
                      f"\\.(?P<type>{'|'.join(map(re.escape, types))})"
                      f"(?:\\.(?P<rest>{_PLAIN_PART}*))?")


def _plain_name(pattern: re.Pattern[str] | None, name: str, types: Container[str]
                ) -> tuple[str, str, int] | None:
    """(issue, type, counter) of a plain name (:func:`_plain_name_pattern`), else ``None``."""
    match = pattern.fullmatch(name) if pattern is not None else None
    if match is None:
        return None
    number, orphan, type_name, rest = match.groups()  # one call, not four lookups
    if rest is not None and rest in types:
        return None  # towncrier takes the last type: the general way reads it
    counter = int(rest) if rest is not None and rest.isdigit() else 0
    if number is None:
        return orphan, type_name, counter
    return (str(int(number)) if number[0] == "0" else number), type_name, counter


def _scan_entries(
    settings: TowncrierSettings,
    component: Component,
    root: Path,
    section: str,
    directory: Path,
    entries: _Listing,
    fragments: list[Fragment],
    findings: list[Finding],
    tracked: frozenset[str] | None = None,
    names_only: bool = False,
) -> None:
    seen: dict[tuple[str, str, int], str] = {}
    orphans: dict[str, int] = {}
    # Looked up once, not per file: this loop runs 10k times in large repositories.
    prefix = rel(directory, root)
    ignored = _ignore_matcher(settings.ignore)
    types = settings.types
    plain = _plain_name_pattern(settings)
    limit = component.max_fragment_bytes
    for index, name in enumerate(entries.names):
        relpath = name if prefix == "." else f"{prefix}/{name}"
        if ignored(name.lower()) or entries.is_dir(index):
            continue  # sub-directories such as hotfix/ are not fragments
        read = _plain_name(plain, name, types)
        if read is None:
            parsed = _checked_name(relpath, name, settings, types, findings)
            if parsed is None:
                continue
            read = (parsed.issue, parsed.type, parsed.counter)
        issue, type_name, counter = read
        if tracked is not None and relpath not in tracked:
            findings.append(Finding(relpath, "untracked", "the file is not tracked by git "
                                    "(new or git-ignored), so it is not released: `git add` "
                                    "it, or remove it"))
            continue
        try:
            text = "" if names_only else entries.load(index, limit)
        except UnsafeFragment as exc:
            findings.append(Finding(relpath, exc.rule, str(exc)))
            continue
        checked = ("" if names_only
                   else _checked_text(relpath, text, settings, type_name, findings))
        if checked is None:
            continue
        if issue.startswith(settings.orphan_prefix):
            issue = ""
            counter = orphans.get(type_name, 0)
            orphans[type_name] = counter + 1
        key = (issue, type_name, counter)
        if key in seen:
            findings.append(Finding(relpath, "duplicate",
                                    f"{seen[key]} already holds the {type_name} entry "
                                    f"{counter} of MR {issue}; give one a counter "
                                    f"({issue}.{type_name}.N)"))
            continue
        seen[key] = relpath
        fragments.append(Fragment(relpath, section, issue, type_name, counter, checked))


def _checked_name(relpath: str, name: str, settings: TowncrierSettings,
                  types: Container[str], findings: list[Finding]) -> FragmentName | None:
    """The name as relbot releases it, or ``None`` (and the reason in ``findings``)."""
    if _CONTROL.search(name):
        findings.append(Finding(repr(relpath)[1:-1], "bad-name",
                                "the file name holds control characters"))
        return None
    parsed = _read_name(name, types)
    if parsed is None:
        findings.append(Finding(relpath, "unknown-type", _unknown_type(name, settings)))
        return None
    problem, severity = _number_problem(parsed, settings)
    if problem:
        findings.append(Finding(relpath, "bad-number", problem, severity=severity))
        if severity == "error":
            return None
    if parsed.other_types:
        findings.append(Finding(
            relpath, "two-types",
            f"the name carries two types ({', '.join(parsed.other_types)} and "
            f"{parsed.type}); towncrier files it under {parsed.type}, as MR "
            f"{parsed.issue}; rename it to {parsed.issue}.{parsed.type}."
            f"{name.rsplit('.' + parsed.type, 1)[1][1:]} to say so", severity="warning"))
    return parsed


def _checked_text(relpath: str, text: str, settings: TowncrierSettings, type_name: str,
                  findings: list[Finding]) -> str | None:
    """The text as towncrier reads it (LF line ends), or ``None`` where it is refused."""
    directive = unsafe_directive(text)
    if directive:
        findings.append(Finding(relpath, "rst-directive", directive))
        return None
    if "\r" in text:
        # towncrier reads fragments with universal newlines: \r\n and \r become \n.
        if "\r\n" in text:
            findings.append(Finding(relpath, "crlf", "the file has Windows (CRLF) line "
                                    "endings; relbot and towncrier release it with LF",
                                    severity="warning"))
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if settings.start_string and settings.start_string.strip() in text:
        findings.append(Finding(relpath, "start-marker",
                                "the fragment holds the changelog's start marker "
                                f"{settings.start_string.strip()!r}, which would move "
                                "where towncrier inserts the next releases"))
        return None
    fragment_type = settings.types.get(type_name)
    if not text.strip() and fragment_type is not None and fragment_type.showcontent:
        findings.append(Finding(relpath, "empty", f"the fragment is empty, but "
                                f"{fragment_type.name!r} shows each entry's text: the notes "
                                "get an entry without text", severity="warning"))
    return text


def _same_text(fragments: Iterable[Fragment]) -> list[Finding]:
    """Warnings for fragments whose text is exactly another's (a copy, or a double MR)."""
    first: dict[str, str] = {}
    found = []
    # names_only scans leave every text empty: then there is nothing to sort
    for fragment in sorted((f for f in fragments if f.text), key=attrgetter("relpath")):
        text = fragment.text.strip()
        if not text:
            continue
        if text in first:
            found.append(Finding(fragment.relpath, "same-text",
                                 f"the text is exactly that of {first[text]}; the notes "
                                 "would say it twice", severity="warning"))
        else:
            first[text] = fragment.relpath
    return found


def _unknown_type(name: str, settings: TowncrierSettings) -> str:
    parts = name.split(".")
    where = settings.config_file.name
    declared = ", ".join(settings.types)
    if len(parts) < 2:
        return (f"not a fragment name (<MR>.<type>[.<anything>]); declared types in "
                f"{where}: {declared}; if the file is deliberate, add it to towncrier's "
                "'ignore' list")
    guess = parts[1]
    return (f"type {guess!r} is not declared in {where}"
            + did_you_mean(guess, list(settings.types))
            + f"; declared: {declared}")


def _number_problem(name: FragmentName, settings: TowncrierSettings) -> tuple[str, str]:
    """What is wrong with the issue part, and how bad: ("", "") when nothing.

    Only what towncrier itself refuses (its issue_pattern, a number it cannot
    convert) is an error; any other issue towncrier renders as it is, so it is a
    warning: it must not block a release.
    """
    issue = name.issue
    if name.odd_digits:
        return (f"the name holds digits other than 0-9 ({issue!r}); towncrier cannot read "
                "it as a number: write the MR number with the digits 0-9", "error")
    if issue.startswith(settings.orphan_prefix) or issue == PLACEHOLDER:
        return "", ""
    if settings.issue_pattern and not re.fullmatch(settings.issue_pattern, issue):
        return (f"{issue!r} does not match towncrier's issue_pattern "
                f"{settings.issue_pattern!r}", "error")
    if not issue[:1].isalnum():
        return (f"{issue!r} is not an MR number, and a name that starts with "
                f"{issue[:1] or '.'!r} reads as an option or a hidden file; use the MR number, "
                f"'{settings.orphan_prefix}' for an entry without MR, or "
                f"'{PLACEHOLDER}' for CI to fill in", "error")
    if not issue.isdigit():
        return (f"{issue!r} is not an MR number; towncrier shows it as it is; use the MR "
                f"number, '{settings.orphan_prefix}' for an entry without MR, or "
                f"'{PLACEHOLDER}' for CI to fill in", "warning")
    return "", ""


# Directives that read files, fetch URLs, run programs or pass raw output through
# (docutils "Directives" reference; Sphinx; sphinxcontrib-programoutput). A
# fragment comes from a merge request: it must not pull the build machine's files
# or raw HTML into the changelog that Sphinx renders.
_UNSAFE_DIRECTIVES = frozenset({
    "include", "literalinclude", "raw", "program-output", "command-output", "exec",
    "runblock", "jinja", "ipython", "kroki", "uml", "plantuml", "mermaid", "graphviz",
    "bibliography", "automodule", "autoclass", "autofunction",
})
_DIRECTIVE = re.compile(r"^[ \t]*\.\.[ \t]+(?:\|[^|\n]+\|[ \t]+)?([\w:.+-]+?)::(.*)$",
                        re.MULTILINE)
_FILE_OPTION = re.compile(r"^[ \t]+:(file|url|source):", re.MULTILINE | re.IGNORECASE)


def unsafe_directive(text: str) -> str | None:
    """Why ``text`` may not be released as it is, if it uses a directive that reads files."""
    for match in _DIRECTIVE.finditer(text):
        name = match[1].lower()
        if name in _UNSAFE_DIRECTIVES:
            return (f"the reStructuredText directive '.. {name}::' reads files, runs programs "
                    "or passes raw markup; fragments may not use it")
        if name == "role" and re.search(r"\(\s*raw\s*\)", match[2]):
            return ("a '.. role::' based on 'raw' passes raw markup; fragments may not "
                    "define one")
        block = text[match.end():]
        end = re.search(r"^\S", block, re.MULTILINE)
        option = _FILE_OPTION.search(block[: end.start() if end else len(block)])
        if option:
            return (f"the directive '.. {name}::' reads a file or URL through its "
                    f"':{option[1].lower()}:' option; fragments may not do that")
    return None


class UnsafeFragment(Refused, FragmentError):
    """A fragment file that relbot refuses to read, and the lint rule it breaks."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(rule, message=message)


def read_text(path: str | os.PathLike[str], limit: int) -> str:
    """Read a fragment without following links, at most ``limit`` bytes, as strict UTF-8."""
    return _read(path, limit)


def _read(path: str | os.PathLike[str], limit: int, *, looked_at: bool = False) -> str:
    """:func:`relbot.safe_files.read_bounded`, its refusals worded as lint findings."""
    try:
        data = read_bounded(path, limit, looked_at=looked_at)
    except Refused as refused:
        if refused.rule == "symlink":
            message = _SYMLINK
        elif refused.rule == "not-a-file":
            message = "is not a regular file"
        elif refused.rule == "too-large":
            message = _too_large(refused.size or limit + 1, limit)
        else:
            message = f"cannot be read: {refused.detail}"
        raise UnsafeFragment(message, refused.rule) from None
    return decode(data, limit)


def _too_large(size: int, limit: int) -> str:
    return f"is {size} bytes, larger than the limit of {limit} bytes (max_fragment_bytes)"


def decode(data: bytes, limit: int) -> str:
    """Fragment bytes as text: bounded, no NUL bytes, strict UTF-8."""
    if len(data) > limit:
        raise UnsafeFragment(f"is larger than the limit of {limit} bytes "
                             "(max_fragment_bytes)", "too-large")
    if b"\0" in data:
        raise UnsafeFragment("is binary (it holds NUL bytes), not text", "binary")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeFragment(f"is not UTF-8 text (invalid byte at offset {exc.start})",
                             "not-utf8") from None


def new_fragment(
    settings: TowncrierSettings,
    root: Path,
    type_name: str,
    text: str,
    *,
    mr: int | None = None,
    directory: Path | None = None,
) -> Path:
    """Write a fragment ``<mr or x>.<type>.<slug>`` and return its path; never overwrite."""
    if type_name not in settings.types:
        raise UsageError(f"fragment type {type_name!r} is not declared in "
                         f"{settings.config_file.name}"
                         + did_you_mean(type_name, list(settings.types))
                         + "; declared: " + ", ".join(settings.types) + ".")
    if not text.strip():
        raise UsageError("the fragment text is empty; nothing was written.")
    if mr is not None and mr < 1:
        raise UsageError(f"--mr {mr} is not an MR number.")
    target = settings.directory if directory is None else directory
    number = str(mr) if mr is not None else PLACEHOLDER
    slug = _slug(text)
    suffix = ".md" if settings.markdown else ".rst"
    target.mkdir(parents=True, exist_ok=True)
    taken = taken_counters(target, settings, number, type_name)
    counter = "" if not taken else f"{max(taken) + 1}."
    for attempt in range(1, 1000):
        extra = "" if attempt == 1 else f"-{attempt}"
        path = target / f"{number}.{type_name}.{counter}{slug}{extra}{suffix}"
        try:
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text.strip() + "\n")
        except FileExistsError:
            continue
        return path
    raise FragmentError(f"could not find a free file name for {number}.{type_name}.{slug}.")


def taken_counters(directory: Path, settings: TowncrierSettings, issue: str,
                   type_name: str) -> set[int]:
    """Counters already used by ``issue``'s fragments of ``type_name`` in ``directory``.

    towncrier keys entries by (issue, type, counter): a second fragment of the
    same MR and type needs a counter of its own or towncrier refuses to build.
    """
    taken = set()
    for path in directory.iterdir() if directory.is_dir() else ():
        parsed = parse_name(path.name, settings.types)
        if parsed and parsed.issue == issue and parsed.type == type_name:
            taken.add(parsed.counter)
    return taken


def copy_of(found: FragmentSet, text: str) -> str | None:
    """The pending fragment that already has exactly ``text``, if one does."""
    wanted = text.strip()
    return next((f.relpath for f in found.fragments if wanted and f.text.strip() == wanted),
                None)


def stage(root: Path, path: Path) -> bool:
    """``git add`` a new fragment: only tracked fragments are pending. False: no git here."""
    import subprocess

    if not (root / ".git").exists():
        return False
    proc = subprocess.run(["git", "add", "--", str(path.relative_to(root))], cwd=root,
                          capture_output=True, check=False)
    return proc.returncode == 0


def placeholder_warnings(found: FragmentSet, root: Path, release_branch_format: str,
                         default_branch: str | None) -> list[Finding]:
    """``x`` fragments on a branch releases are cut from: `cut` will refuse them there.

    Looks at the branch only when there is a placeholder, so a clean lint stays
    at one git process.
    """
    placeholders = [f for f in found.fragments if f.is_placeholder]
    if not placeholders:
        return []
    branch = _git_line(root, "symbolic-ref", "-q", "--short", "HEAD")
    if not branch:
        return []
    default = default_branch or _git_line(root, "symbolic-ref", "-q", "--short",
                                          "refs/remotes/origin/HEAD").removeprefix("origin/")
    release = re.fullmatch(
        re.escape(release_branch_format).replace(r"\{major\}", "[0-9]+")
        .replace(r"\{minor\}", "[0-9]+"), branch)
    if branch != default and release is None:
        return []
    return [Finding(f.relpath, "placeholder-number",
                    f"the placeholder number 'x' is still there on {branch}, where releases "
                    "are cut: `relbot cut` refuses it; give it its MR number",
                    severity="warning") for f in placeholders]


def _git_line(root: Path, *args: str) -> str:
    import subprocess

    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=False)
    except OSError:
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _slug(text: str) -> str:
    """Words of ``text``, lower case, letters of any script kept (``über-größe``)."""
    words = re.findall(r"[^\W_]+", text.lower())
    slug = "-".join(words)[:40].strip("-")
    if not slug or slug.isdigit():
        return f"entry-{slug}".strip("-")  # a bare number would read as a counter
    return slug
