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
    project_name: str = ""

    def section_directories(self, directory: Path | None = None) -> list[tuple[str, Path]]:
        """(section name, directory) pairs below ``directory`` (default: the fragments dir)."""
        top = self.directory if directory is None else directory
        return [(name, top / path if path else top) for name, path in self.sections]


def load_towncrier_settings(config_file: Path, root: Path,
                            base: Path | None = None, *,
                            tree: Tree | None = None) -> TowncrierSettings:
    """Read ``config_file`` (towncrier.toml or pyproject) with towncrier's own loader.

    ``base`` is towncrier's base directory (its ``--dir``; default: the directory
    holding the configuration). relbot checks the shape first, so that mistakes
    get one sentence naming the key, then lets towncrier's ``parse_toml`` fill in
    its defaults (``newsfragments/``, types, start marker, templates). ``tree`` is
    where the file is read (default: the work tree; ``mr check``: the base commit).
    """
    where = rel(config_file, root)
    data = read_toml(config_file) if tree is None else read_toml_in(tree, where)
    table = data.get("tool", {}).get("towncrier")
    if table is None:
        raise ConfigError(f"{where} has no [tool.towncrier] table: relbot needs the "
                          "component's towncrier configuration.")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [tool.towncrier] must be a table.")
    base = (config_file.parent if base is None else base).resolve()

    for key in ("directory", "package", "package_dir", "template", "filename", "name",
                "orphan_prefix", "issue_pattern", "start_string"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{where}: tool.towncrier.{key} must be a string.")
    _sections(table, where)
    _types(table, where)
    extra_ignore = table.get("ignore")
    if extra_ignore is not None and (
            not isinstance(extra_ignore, list)
            or not all(isinstance(i, str) for i in extra_ignore)):
        raise ConfigError(f"{where}: tool.towncrier.ignore must be a list of strings.")
    config = towncrier_config(data, base, where)

    if config.directory is not None:
        directory = base / config.directory
    else:  # towncrier's FragmentsPath: <package_dir>/<package>/newsfragments
        directory = base / config.package_dir / config.package / "newsfragments"
    directory = directory.resolve()
    if not directory.is_relative_to(root):
        raise ConfigError(f"{where}: tool.towncrier.directory points outside the repository.")

    ignore = list(TOWNCRIER_IGNORED)
    template = config.template
    if isinstance(template, tuple):
        markdown = template[1].lower().endswith(".md")
    else:
        ignore.append(Path(template).name.lower())
        markdown = template.lower().endswith(".md")
    ignore.extend(i.lower() for i in config.ignore or ())
    return TowncrierSettings(
        config_file=config_file,
        base_directory=base,
        directory=directory,
        sections=tuple(config.sections.items()),
        types={key: FragmentType(key, str(value["name"]), bool(value["showcontent"]))
               for key, value in config.types.items()},
        orphan_prefix=config.orphan_prefix,
        ignore=tuple(ignore),
        filename=config.filename,
        markdown=markdown,
        issue_pattern=config.issue_pattern,
        start_string=config.start_string,
        project_name=project_name(config),
    )


def towncrier_config(data: Mapping[str, Any], base: Path, where: str) -> Any:
    """towncrier's ``Config`` of the parsed file ``data``, as ``towncrier build`` loads it.

    Like towncrier's ``load_config``, a ``[project].name`` in ``pyproject.toml``
    beside the configuration stands in for ``package`` and ``name``.
    """
    from click import ClickException
    from towncrier._settings.load import parse_toml

    try:
        config = parse_toml(str(base), data)
    except ClickException as exc:
        raise ConfigError(f"{where}: {exc.format_message()}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{where}: towncrier cannot read it ({exc}).") from None
    pyproject = base / "pyproject.toml"
    project = data.get("project") if where.endswith("pyproject.toml") else None
    if project is None and pyproject.is_file():
        project = read_toml(pyproject).get("project")
    name = project.get("name", "") if isinstance(project, dict) else ""
    if isinstance(name, str) and name:
        if not config.package:
            config.package = name
        if not config.name:
            config.name = config.package
    return config


def project_name(config: Any) -> str:
    """The name towncrier prints in the heading: ``name``, else the package, title-cased.

    towncrier imports the package to look for an incremental version's
    ``package`` attribute; relbot never imports the project's code, so it takes
    towncrier's answer for every other package: ``package.title()``.
    """
    if config.name:
        return str(config.name)
    return str(config.package).title() if config.package else ""


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
