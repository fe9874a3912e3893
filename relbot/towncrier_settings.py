"""The parts of a towncrier configuration that decide which files are fragments.

Light commands (``fragment lint``, ``next-version``, ``mr check``) must not pay
for importing towncrier and jinja2, so this module reads the few keys that
fragment discovery needs with towncrier's own semantics (defaults, the three
ways of declaring types, ignore lists). ``tests/test_towncrier_settings.py``
holds it to towncrier's loader so the two cannot drift; rendering always uses
towncrier's loader itself (``relbot.notes``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relbot.config import did_you_mean, read_toml, read_toml_in, rel
from relbot.errors import ConfigError

if TYPE_CHECKING:
    from relbot.tree import Tree

# towncrier._builder.find_fragments ignores these names (case-insensitively).
TOWNCRIER_IGNORED = (".gitignore", ".gitkeep", ".keep", "readme", "readme.md", "readme.rst")

# towncrier._settings.fragment_types.DefaultFragmentTypesLoader
DEFAULT_TYPES: tuple[tuple[str, str, bool], ...] = (
    ("feature", "Features", True),
    ("bugfix", "Bugfixes", True),
    ("doc", "Improved Documentation", True),
    ("removal", "Deprecations and Removals", True),
    ("misc", "Misc", False),
)


@dataclass(frozen=True)
class FragmentType:
    """A fragment type as towncrier declares it."""

    key: str
    name: str
    showcontent: bool


@dataclass(frozen=True)
class TowncrierSettings:
    """Where a component's fragments live and how their names are read."""

    config_file: Path
    base_directory: Path
    directory: Path
    sections: tuple[tuple[str, str], ...]
    types: Mapping[str, FragmentType]
    orphan_prefix: str
    ignore: tuple[str, ...]
    filename: str
    markdown: bool
    issue_pattern: str
    start_string: str

    def section_directories(self, directory: Path | None = None) -> list[tuple[str, Path]]:
        """(section name, directory) pairs below ``directory`` (default: the fragments dir)."""
        top = self.directory if directory is None else directory
        return [(name, top / path if path else top) for name, path in self.sections]


def load_towncrier_settings(config_file: Path, root: Path,
                            tree: Tree | None = None) -> TowncrierSettings:
    """Read the discovery-relevant part of ``config_file`` (towncrier.toml or pyproject).

    ``tree`` is where it is read (default: the work tree; ``mr check``: the base commit).
    """
    where = rel(config_file, root)
    data = read_toml(config_file) if tree is None else read_toml_in(tree, where)
    table = data.get("tool", {}).get("towncrier")
    if table is None:
        raise ConfigError(f"{where} has no [tool.towncrier] table: relbot needs the "
                          "component's towncrier configuration.")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [tool.towncrier] must be a table.")
    base = config_file.parent

    def text(key: str, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise ConfigError(f"{where}: tool.towncrier.{key} must be a string.")
        return value

    directory_value = table.get("directory")
    if directory_value is None:
        package = text("package", "")
        if not package:
            project = data.get("project", {})
            package = project.get("name", "") if isinstance(project, dict) else ""
        if not package:
            raise ConfigError(f"{where}: tool.towncrier.directory is not set (and no "
                              "package to derive it from): relbot cannot find the fragments.")
        directory = base / text("package_dir", ".") / package / "newsfragments"
    elif isinstance(directory_value, str):
        directory = base / directory_value
    else:
        raise ConfigError(f"{where}: tool.towncrier.directory must be a string.")
    directory = directory.resolve()
    if not directory.is_relative_to(root):
        raise ConfigError(f"{where}: tool.towncrier.directory points outside the repository.")

    sections = _sections(table, where)
    types = _types(table, where)
    ignore = [name for name in TOWNCRIER_IGNORED]
    template = text("template", "towncrier:default")
    filename = text("filename", "NEWS.rst")
    if _is_resource(template):
        resource = template.split(":", 1)[1]
        markdown = resource.endswith(".md") or (
            "." not in resource and filename.endswith(".md")
        )
    else:
        ignore.append(Path(template).name.lower())
        markdown = template.lower().endswith(".md")
    extra_ignore = table.get("ignore")
    if extra_ignore is not None:
        if not isinstance(extra_ignore, list) or not all(isinstance(i, str) for i in extra_ignore):
            raise ConfigError(f"{where}: tool.towncrier.ignore must be a list of strings.")
        ignore.extend(i.lower() for i in extra_ignore)
    return TowncrierSettings(
        config_file=config_file,
        base_directory=base,
        directory=directory,
        sections=sections,
        types=types,
        orphan_prefix=text("orphan_prefix", "+"),
        ignore=tuple(ignore),
        filename=filename,
        markdown=markdown,
        issue_pattern=text("issue_pattern", ""),
        start_string=text("start_string", "") or (
            "<!-- towncrier release notes start -->\n" if filename.endswith(".md")
            else ".. towncrier release notes start\n"),
    )


def check_type_names(settings: TowncrierSettings, names: list[str], what: str) -> None:
    """Refuse configuration (``what``) that names a type towncrier does not declare."""
    for name in names:
        if name not in settings.types:
            where = settings.config_file.name
            raise ConfigError(f"{what} names fragment type {name!r}, which {where} does not "
                              "declare" + did_you_mean(name, list(settings.types)) + ".")


def _is_resource(template: str) -> bool:
    return re.fullmatch(r"[-\w.]+:[-\w.]+", template) is not None


def _sections(table: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    raw = table.get("section")
    if raw is None:
        return (("", ""),)
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise ConfigError(f"{where}: tool.towncrier.section must be an array of tables.")
    sections = []
    for index, entry in enumerate(raw):
        path = entry.get("path")
        if not isinstance(path, str):
            raise ConfigError(f"{where}: tool.towncrier.section #{index + 1} needs a "
                              "string 'path'.")
        sections.append((str(entry.get("name", "")), path))
    return tuple(sections)


def _types(table: Mapping[str, Any], where: str) -> dict[str, FragmentType]:
    fragment = table.get("fragment")
    array = table.get("type")
    if fragment:
        if not isinstance(fragment, dict):
            raise ConfigError(f"{where}: tool.towncrier.fragment must be a table of tables.")
        types = {}
        for key in sorted(fragment):
            options = fragment[key]
            if not isinstance(options, dict):
                raise ConfigError(f"{where}: tool.towncrier.fragment.{key} must be a table.")
            types[key] = FragmentType(
                key=key,
                name=str(options.get("name", key.capitalize())),
                showcontent=bool(options.get("showcontent", True)),
            )
        return types
    if array:
        if not isinstance(array, list) or not all(isinstance(t, dict) for t in array):
            raise ConfigError(f"{where}: tool.towncrier.type must be an array of tables.")
        types = {}
        for index, entry in enumerate(array):
            name = entry.get("name")
            if not isinstance(name, str):
                raise ConfigError(f"{where}: tool.towncrier.type #{index + 1} needs a "
                                  "string 'name'.")
            key = entry.get("directory", name.lower())
            if not isinstance(key, str) or not key or "." in key or "/" in key:
                raise ConfigError(f"{where}: tool.towncrier.type {name!r}: directory must "
                                  "be a non-empty name without '.' or '/'.")
            types[key] = FragmentType(key, name, bool(entry.get("showcontent", True)))
        return types
    return {key: FragmentType(key, name, show) for key, name, show in DEFAULT_TYPES}
