"""Fragment discovery and lint: towncrier's names, relbot's rules, hostile files."""

from __future__ import annotations

import os
from fnmatch import fnmatch
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from relbot.config import load_config
from relbot.errors import FragmentError, UsageError
from relbot.findings import Finding
from relbot.fragments import is_ignored, new_fragment, parse_name, read_text, scan
from relbot.project import Project
from relbot.towncrier_settings import FragmentType, TowncrierSettings, load_towncrier_settings

TYPES = ["BREAKING", "feature", "change", "fix", "docs", "removal", "chore", "misc"]
TOWNCRIER = '[tool.towncrier]\ndirectory = "notes"\ntemplate = "notes/template.rst"\n' + "".join(
    f'[[tool.towncrier.type]]\ndirectory = "{t}"\nname = "{t.title()}"\nshowcontent = true\n'
    for t in TYPES
)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "towncrier.toml").write_text(TOWNCRIER)
    (tmp_path / "relbot.toml").write_text(
        '[[component]]\nname = "k8s"\nmax_fragment_bytes = 1024\n'
        'hotfix_directory = "notes/hotfix"\n')
    (tmp_path / "notes" / "hotfix").mkdir(parents=True)
    (tmp_path / "notes" / "template.rst").write_text("{{ sections }}")
    return Project(tmp_path)


def put(project: Project, name: str, data: bytes | str = "Some change.\n") -> Path:
    path = project.root / "notes" / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("1455.feature.announce-service-ips.rst", ("1455", "feature", 0)),
        ("930.feature.2.binary-cache", ("930", "feature", 2)),
        ("1487.chore.2024-09-20T00:10:03+00:00", ("1487", "chore", 0)),
        ("0042.fix", ("42", "fix", 0)),
        ("+.misc", ("+", "misc", 0)),
        ("x.docs.typo", ("x", "docs", 0)),
        ("1.feature.fix", ("1.feature", "fix", 0)),  # towncrier: the last type wins
        ("README", None),
        ("1234.feture", None),
    ],
)
def test_names_parse_as_towncrier_parses_them(name: str,
                                              expected: tuple[str, str, int] | None) -> None:
    """relbot reads a file name exactly as towncrier's parse_newfragment_basename does."""
    from towncrier._builder import parse_newfragment_basename

    parsed = parse_name(name, TYPES)
    got = None if parsed is None else (parsed.issue, parsed.type, parsed.counter)
    assert got == expected
    theirs = parse_newfragment_basename(name, TYPES)
    assert (None if theirs[1] is None else theirs) == got


@pytest.mark.reliability("Property tests")
@given(
    issue=st.one_of(st.integers(1, 10**6).map(str), st.just("+"), st.just("x")),
    type_=st.sampled_from(TYPES),
    counter=st.integers(0, 50),
    rest=st.lists(st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True), max_size=3),
)
def test_name_round_trip(issue: str, type_: str, counter: int, rest: list[str]) -> None:
    """A name built from issue, type, counter and a free tail parses back to the same parts."""
    tail = [part for part in rest if part not in TYPES]
    parts = [issue, type_, *([str(counter)] if counter else []), *tail]
    parsed = parse_name(".".join(parts), TYPES)
    assert parsed is not None
    expected_counter = counter if counter else (int(tail[0]) if tail and tail[0].isdigit()
                                                else 0)
    assert (parsed.issue, parsed.type, parsed.counter) == (issue, type_, expected_counter)


ODD_PARTS = ["md", "rst", "1", "01", "0", "12", "²", "x", "+", "+a", "0a", "a b", " 7", "", "-",
             "~1", "é"]
# Mostly what a name starts with (an issue, then a type), then anything: every part a
# corner case of towncrier's reading somewhere.
NAMES = st.tuples(st.sampled_from(ODD_PARTS), st.sampled_from([*TYPES, *TYPES, *ODD_PARTS]),
                  st.lists(st.sampled_from([*TYPES, *ODD_PARTS]), max_size=3)
                  ).map(lambda t: [t[0], t[1], *t[2]])


@pytest.mark.reliability("Property tests")
@examples(max_examples=600)
@given(parts=NAMES,
       orphan=st.sampled_from(["+", "~", "x", "0", "1", "+."]),
       issue_pattern=st.sampled_from(["", r"\d+", r"[0-9]{2,}"]))
def test_the_plain_name_shortcut_reads_as_the_general_rules(
        parts: list[str], orphan: str, issue_pattern: str) -> None:
    """The scan's one-regex reading of plain names gives what the general rules give, and
    only for names those rules have nothing to say about."""
    from relbot.fragments import _checked_name, _plain_name, _plain_name_pattern

    settings = TowncrierSettings(
        config_file=Path("towncrier.toml"), base_directory=Path(), directory=Path("notes"),
        sections=(("", ""),), types={t: FragmentType(t, t.title(), True) for t in TYPES},
        orphan_prefix=orphan, ignore=(), filename="NEWS.rst", markdown=False,
        issue_pattern=issue_pattern,
        start_string=".. towncrier release notes start\n")
    name = ".".join(parts)
    shortcut = _plain_name(_plain_name_pattern(settings), name, settings.types)
    if shortcut is None:
        return  # the general rules read it; every other test covers them
    findings: list[Finding] = []
    general = _checked_name(name, name, settings, settings.types, findings)
    assert findings == []
    assert general is not None
    assert shortcut == (general.issue, general.type, general.counter)


@pytest.mark.parametrize(("name", "read"), [("0123.feature.md", ("123", "feature", 0)),
                                            ("+cleanup.chore.md", ("+cleanup", "chore", 0)),
                                            ("7.fix.2", ("7", "fix", 2)),
                                            ("7.fix", ("7", "fix", 0))])
def test_plain_names_take_the_shortcut(project: Project, name: str,
                                      read: tuple[str, str, int]) -> None:
    """The common names are read by the one regex (the property above needs them to)."""
    from relbot.fragments import _plain_name, _plain_name_pattern

    settings = project.settings
    assert _plain_name(_plain_name_pattern(settings), name, settings.types) == read


@pytest.mark.parametrize("name", ["7.feature.fix", "7.fix.1.md", "7².fix", "x.fix",
                                  " 7.fix", "7.feature.BREAKING.md"])
def test_names_with_corner_cases_take_the_general_rules(project: Project, name: str) -> None:
    """A name the general rules have something to say about is not read by the regex."""
    from relbot.fragments import _plain_name, _plain_name_pattern

    settings = project.settings
    assert _plain_name(_plain_name_pattern(settings), name, settings.types) is None


def test_scan_ignores_what_towncrier_ignores(project: Project) -> None:
    """.gitignore, READMEs, the template and sub-directories such as hotfix/ are no fragments."""
    put(project, ".gitignore", "!.gitignore\n")
    put(project, "README.md", "What goes here.\n")
    put(project, "1.feature", "A feature.\n")
    put(project, "+.chore.cleanup", "Cleanup.\n")
    (project.root / "notes" / "hotfix" / "2.fix").write_text("A hotfix.\n")
    found = project.fragments()
    assert found.ok and not found.findings
    assert [(f.issue, f.type) for f in found.fragments] == [("", "chore"), ("1", "feature")]
    hotfix = project.fragments(hotfix=True)
    assert [(f.issue, f.type, f.text) for f in hotfix.fragments] == [("2", "fix",
                                                                       "A hotfix.\n")]


IGNORE_PATTERNS = st.lists(st.sampled_from(
    ["*.tmpl", "draft-?.md", "[ab]*.txt", "notes.[!x]", "keep", "*", "readme.md", "[", "a[b"]),
    max_size=4)


@given(patterns=IGNORE_PATTERNS,
       name=st.text(alphabet="abdknoprstxAKmpel.-?*[]!", min_size=1, max_size=12))
def test_ignore_patterns_match_as_fnmatch_does(patterns: list[str], name: str) -> None:
    """A configured ignore pattern skips exactly the names towncrier's fnmatch skips."""
    settings = TowncrierSettings(
        config_file=Path("towncrier.toml"), base_directory=Path(), directory=Path("notes"),
        sections=(("", ""),), types={}, orphan_prefix="+", ignore=tuple(patterns),
        filename="NEWS.rst", markdown=False, issue_pattern="",
        start_string=".. towncrier release notes start\n")
    expected = any(fnmatch(name.lower(), pattern) for pattern in patterns)
    assert is_ignored(name, settings) == expected


@pytest.mark.reliability("Hostile fragments")
@pytest.mark.parametrize(
    ("name", "data", "rule", "text"),
    [
        ("1234.feture", "x", "unknown-type",
         "type 'feture' is not declared in towncrier.toml (did you mean 'feature'?)"),
        ("notes.txt", "x", "unknown-type", "type 'txt' is not declared"),
        ("1².fix", "x", "bad-number", "digits other than 0-9"),
        ("12.fix", b"\xff\xfe broken", "not-utf8", "is not UTF-8 text (invalid byte at "
         "offset 0)"),
        ("13.fix", b"text\x00more", "binary", "is binary"),
        ("14.fix", "a" * 1025, "too-large", "is 1025 bytes, larger than the limit of 1024"),
        ("15.fix\nrm -rf", "x", "bad-name", "control characters"),
    ],
)
def test_lint_rules(project: Project, name: str, data: str | bytes, rule: str,
                    text: str) -> None:
    """Each broken fragment yields one finding with its rule and a clear message."""
    put(project, name, data)
    found = project.fragments()
    assert not found.ok
    assert [f.rule for f in found.findings] == [rule]
    assert text in found.findings[0].message
    with pytest.raises(FragmentError, match="relbot fragment lint"):
        found.require_valid("notes")


@pytest.mark.reliability("Hostile fragments")
def test_symlink_is_reported_and_never_read(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A fragment that is a link to a secret outside the repository is refused unread."""
    secret = tmp_path_factory.mktemp("outside") / "secret"
    secret.write_text("TOP-SECRET-CONTENT\n")
    (project.root / "notes" / "16.feature").symlink_to(secret)
    found = project.fragments()
    assert [f.rule for f in found.findings] == ["symlink"]
    assert "TOP-SECRET" not in repr(found)
    with pytest.raises(FragmentError, match="symbolic link"):
        read_text(project.root / "notes" / "16.feature", 100)


def test_duplicate_entry(project: Project) -> None:
    """Two files towncrier would read as the same entry are reported, not silently merged."""
    put(project, "7.fix", "One.\n")
    put(project, "7.fix.rst", "Two.\n")
    found = project.fragments()
    assert [f.rule for f in found.findings] == ["duplicate"]
    assert "7.fix.N" in found.findings[0].message


def test_fragments_directory_outside_repository_is_refused(tmp_path: Path) -> None:
    """A towncrier directory that climbs out of the repository is a configuration error."""
    (tmp_path / "towncrier.toml").write_text('[tool.towncrier]\ndirectory = "../elsewhere"\n')
    (tmp_path / "relbot.toml").write_text("[[component]]\n")
    with pytest.raises(Exception, match="points outside the repository"):
        load_towncrier_settings(tmp_path / "towncrier.toml", tmp_path)


def test_new_fragment_writes_and_never_overwrites(project: Project) -> None:
    """`fragment new` writes x.<type>.<slug>; a second one of the same type gets a counter."""
    first = new_fragment(project.settings, project.root, "feature", "Add a *cool* thing")
    second = new_fragment(project.settings, project.root, "feature", "Add a *cool* thing")
    assert first.name == "x.feature.add-a-cool-thing.rst"
    assert second.name == "x.feature.1.add-a-cool-thing.rst"
    numbered = new_fragment(project.settings, project.root, "fix", "Fix it", mr=1234)
    assert numbered.name.startswith("1234.fix.")
    found = project.fragments()
    assert found.ok and len(found.fragments) == 3
    assert found.fragments[1].is_placeholder


def test_new_fragment_refuses_unknown_type_and_empty_text(project: Project) -> None:
    """Unknown types get a suggestion; empty text writes nothing."""
    with pytest.raises(UsageError, match="did you mean 'feature'"):
        new_fragment(project.settings, project.root, "feat", "x")
    with pytest.raises(UsageError, match="empty"):
        new_fragment(project.settings, project.root, "fix", "  \n")
    assert list((project.root / "notes").glob("*.fix*")) == []


def test_scan_reads_each_file_once(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery opens every fragment exactly once (it runs in every MR pipeline)."""
    for number in range(1, 21):
        put(project, f"{number}.fix", f"Fix {number}.\n")
    opened: list[str] = []
    real_open = os.open

    def counting_open(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        opened.append(str(path))
        return real_open(path, flags, *args)

    config = load_config(project.root)  # configuration files are read through the same reader
    settings = project.settings
    monkeypatch.setattr(os, "open", counting_open)
    found = scan(settings, config.component(None), project.root)
    assert len(found.fragments) == 20
    assert len(opened) == 20 and len(set(opened)) == 20


def test_fragments_at_the_repository_root_are_named_from_there(tmp_path: Path) -> None:
    """With the fragments directory at the root, findings name the bare file names."""
    (tmp_path / "towncrier.toml").write_text('[tool.towncrier]\ndirectory = "."\n')
    (tmp_path / "relbot.toml").write_text("[[component]]\n")
    (tmp_path / "5.feature").write_text("A feature.\n")
    found = Project(tmp_path).fragments()
    assert [f.relpath for f in found.fragments] == ["5.feature"]
    assert sorted(f.path for f in found.findings) == ["relbot.toml", "towncrier.toml"]


def test_fifo_and_link_in_the_listing_are_refused_unopened(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """A named pipe or a link among the fragments is reported from the listing, never opened."""
    os.mkfifo(project.root / "notes" / "17.fix")
    (project.root / "notes" / "18.fix").symlink_to(project.root / "notes" / "template.rst")
    put(project, "19.fix", "A fix.\n")
    opened: list[str] = []
    real_open = os.open

    def counting_open(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        opened.append(Path(path).name)
        return real_open(path, flags, *args)

    assert project.settings.types  # towncrier's configuration goes through the same reader
    monkeypatch.setattr(os, "open", counting_open)
    found = project.fragments()
    assert [(f.path, f.rule) for f in found.findings] == [("notes/17.fix", "not-a-file"),
                                                         ("notes/18.fix", "symlink")]
    assert [f.relpath for f in found.fragments] == ["notes/19.fix"]
    assert opened == ["19.fix"]


def test_read_text_refuses_fifo_and_oversized_files(project: Project) -> None:
    """read_text on a path checks the file type and size before it opens anything."""
    os.mkfifo(project.root / "notes" / "20.fix")
    with pytest.raises(FragmentError, match="not a regular file"):
        read_text(project.root / "notes" / "20.fix", 100)
    with pytest.raises(FragmentError, match="is 101 bytes, larger than the limit of 100"):
        read_text(put(project, "21.fix", "a" * 101), 100)
    assert read_text(put(project, "22.fix", "a" * 100), 100) == "a" * 100
