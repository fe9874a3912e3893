"""relbot's configuration: ``relbot.toml`` or ``[tool.relbot]`` in ``pyproject.toml``.

Every option is declared once, in :data:`TOP_OPTIONS` or :data:`COMPONENT_OPTIONS`,
with its type, default and documentation; the loader validates against those
declarations and ``docs/configuration.md`` is generated from them, so the
documentation cannot drift from what the loader accepts.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relbot.errors import ConfigError

if TYPE_CHECKING:
    from relbot.tree import Tree

BUMPS = ("major", "minor", "patch")
FORGES = ("gitlab", "none")
CONFIG_FILE = "relbot.toml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Option:
    """One configuration key: how to check it and what it means."""

    key: str
    kind: str  # "str", "int", "bool", "list[str]", "table[str]", "list[table]"
    doc: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    path: bool = False  # a repository-relative path that must exist
    bounds: tuple[int, int] | None = None  # smallest and largest value of an "int"


TOP_OPTIONS: tuple[Option, ...] = (
    Option("forge", "str", "Where releases are published and MR comments go: `gitlab` "
           "(python-gitlab, token from the environment) or `none` (no API calls at all).",
           default="none", choices=FORGES),
    Option("default_branch", "str", "Branch that normal releases are cut from when the "
           "remote does not say (its HEAD is preferred). Without a remote and without this "
           "key, the checked-out branch is used."),
    Option("gitlab_url", "str", "GitLab server URL outside CI. In GitLab CI relbot always "
           "talks to `CI_SERVER_URL`, the instance the job runs on, and refuses a different "
           "`gitlab_url`.", default=None),
    Option("gitlab_project", "str", "GitLab project path or id for `cut`; in CI "
           "`CI_PROJECT_ID` is used when this is unset.", default=None),
    Option("gitlab_token_env", "str", "Name of an environment variable holding the GitLab "
           "token, looked at first; then `RELBOT_MR_TOKEN` (`mr check`) or "
           "`RELBOT_RELEASE_TOKEN` (`cut`), then `RELBOT_GITLAB_TOKEN` (see docs/ci.md). "
           "`relbot mr check` reads this key, like all configuration, from the MR's base "
           "commit: an MR cannot name another variable (docs/security.md).",
           default="RELBOT_GITLAB_TOKEN"),
    Option("gitlab_timeout", "int", "Seconds one GitLab operation may take, all its "
           "requests, retries and `Retry-After` waits included (1 to 3600).", default=30,
           bounds=(1, 3600)),
    Option("no_changelog_label", "str", "MR label that exempts a merge request from "
           "needing a fragment.", default="no-changelog"),
    Option("fragment_free_paths", "list[str]", "Glob patterns of paths whose changes need "
           "no fragment (an MR that changes only these passes without one), e.g. "
           "`[\".gitlab-ci.yml\", \"docs/*\"]`.", default=[]),
)

COMPONENT_OPTIONS: tuple[Option, ...] = (
    Option("name", "str", "Name used by `--component` and in messages; required when "
           "there are several components.", default="main"),
    Option("towncrier_config", "str", "The component's towncrier configuration: "
           "`towncrier.toml` or a `pyproject.toml` with `[tool.towncrier]`. Default: "
           "`towncrier.toml` if present, else `pyproject.toml`.", path=True),
    Option("version_file", "str", "File holding the bare current version (e.g. `8.1.4`). "
           "Without it the version comes from the newest release tag reachable from "
           "HEAD.", path=True),
    Option("tag_format", "str", "Git tag of a release; must contain `{version}`.",
           default="v{version}"),
    Option("notes_version_format", "str", "Version string towncrier prints in the "
           "release-notes heading; must contain `{version}`.", default="{version}"),
    Option("bump", "table[str]", "Fragment type to bump (`major`, `minor`, `patch`); "
           "types not listed bump by `default_bump`.", default={}),
    Option("default_bump", "str", "Bump for fragment types not listed in `bump`.",
           default="patch", choices=BUMPS),
    Option("hotfix_directory", "str", "Directory of the fragments for patch releases "
           "on release branches (`--hotfix`); without it the normal fragments directory "
           "is used."),
    Option("release_branch_format", "str", "Name of release branches; `{major}` and "
           "`{minor}` are filled in.", default="release/v{major}.{minor}"),
    Option("policies", "list[str]", "Policy files (repository paths) or names of shipped "
           "policies (`kubernetes`, `openstack`, `ovn`) that gate this component.",
           default=[]),
    Option("probes", "list[table]", "Where this repository declares versions that a policy "
           "checks, added to the policy's own probes: tables with `policy` (one of "
           "`policies`), `file` (a glob) and either `key` (a TOML/YAML/JSON key path) or "
           "`pattern` (a regular expression with a `version` group); see "
           "docs/policies.md.", default=[]),
    Option("commit_message", "str", "Message of the release commit; `{version}`, `{tag}` "
           "and `{component}` are filled in.", default="Release {tag}"),
    Option("max_fragment_bytes", "int", "Largest fragment file accepted, in bytes (at most "
           "16 MiB).", default=65536),
    Option("notes_supported_versions", "bool", "Append a \"Supported versions\" section, "
           "rendered from the component's policies, to the release notes.",
           default=False),
    Option("create_release_branch", "bool", "On the first release of a new minor "
           "version, create the release branch (`release_branch_format`) at the release "
           "commit and push it with the tag.", default=False),
    Option("forge_release", "bool", "Whether `cut` creates the forge (GitLab) release of the "
           "tag. `false` where a tag pipeline makes it instead, such as a job with GitLab's "
           "`release:` keyword, which the CI/CD Catalog needs (see docs/ci.md).",
           default=True),
    Option("release_flow", "str", "`direct`: `relbot cut` releases on the default branch. "
           "`prepare` (Tarook's flow): `cut --prepare` puts the release commit on a prepare "
           "branch, `cut --finish` merges it into the release branch, tags and publishes "
           "there.", default="direct", choices=("direct", "prepare")),
    Option("prepare_branch_format", "str", "Branch `cut --prepare` creates; `{version}` is "
           "filled in.", default="release-prepare/v{version}"),
    Option("hotfix_mode", "str", "`post-merge`: `cut --hotfix` on the release branch writes "
           "the hotfix release commit. `pre-merge`: `mr check --fix` writes it into the hotfix "
           "MR, and `cut --hotfix` only tags and publishes it.", default="post-merge",
           choices=("post-merge", "pre-merge")),
    Option("towncrier_dir", "str", "The directory towncrier runs in (towncrier's `--dir`), "
           "which its `directory` and `template` are relative to. Default: the directory of "
           "`towncrier_config`; Tarook's `ci/res/towncrier.toml` names paths from the "
           "repository root, so its preset sets `\".\"`."),
)


@dataclass(frozen=True)
class Component:
    """One separately released part of a repository."""

    name: str
    towncrier_config: Path
    version_file: Path | None
    tag_format: str
    notes_version_format: str
    bump: Mapping[str, str]
    default_bump: str
    hotfix_directory: Path | None
    release_branch_format: str
    policies: tuple[str, ...]
    probes: tuple[Mapping[str, Any], ...]
    commit_message: str
    max_fragment_bytes: int
    notes_supported_versions: bool
    create_release_branch: bool
    forge_release: bool = True
    release_flow: str = "direct"
    prepare_branch_format: str = "release-prepare/v{version}"
    hotfix_mode: str = "post-merge"
    towncrier_dir: Path | None = None

    def tag(self, version: str) -> str:
        """The git tag of ``version``."""
        return self.tag_format.format(version=version)

    def notes_version(self, version: str) -> str:
        """The version as the release-notes heading shows it."""
        return self.notes_version_format.format(version=version)


@dataclass(frozen=True)
class Config:
    """The whole configuration of one repository."""

    root: Path
    source: Path
    forge: str
    default_branch: str | None
    gitlab_url: str | None
    gitlab_project: str | None
    gitlab_token_env: str
    gitlab_timeout: int
    no_changelog_label: str
    fragment_free_paths: list[str]
    components: tuple[Component, ...] = field(default_factory=tuple)

    @property
    def source_name(self) -> str:
        """The configuration file as messages name it."""
        return rel(self.source, self.root)

    def component(self, name: str | None) -> Component:
        """The component called ``name``; with one component, ``None`` selects it."""
        if name is None:
            if len(self.components) == 1:
                return self.components[0]
            names = ", ".join(c.name for c in self.components)
            raise ConfigError(
                f"{self.source_name} has several components ({names}): "
                "choose one with --component."
            )
        for component in self.components:
            if component.name == name:
                return component
        raise ConfigError(
            f"{self.source_name}: there is no component {name!r}"
            + did_you_mean(name, [c.name for c in self.components])
            + "."
        )


def find_config_file(root: Path, tree: Tree | None = None) -> Path:
    """The file that holds relbot's configuration in ``root`` (read through ``tree``)."""
    tree = _tree(root, tree)
    for name in (CONFIG_FILE, PYPROJECT):
        if tree.kind(name) == "link":
            raise ConfigError(f"{name} is a symbolic link in {tree.label}; relbot reads its "
                              "configuration only from a regular file.")
    if tree.is_file(CONFIG_FILE):
        return root / CONFIG_FILE
    if tree.is_file(PYPROJECT) and "relbot" in _read(tree, PYPROJECT).get("tool", {}):
        return root / PYPROJECT
    where = f"{root} ({tree.label})" if tree.is_revision else root
    raise ConfigError(
        f"no relbot configuration in {where}: create {CONFIG_FILE} "
        "(`relbot init --preset NAME` writes one) or add [tool.relbot] to pyproject.toml."
    )


def _tree(root: Path, tree: Tree | None) -> Tree:
    if tree is not None:
        return tree
    from relbot.tree import WorkTree

    return WorkTree(root)


def _read(tree: Tree, relpath: str) -> dict[str, Any]:
    """A TOML file of ``tree``; every refusal becomes one ConfigError."""
    from relbot.tree import MAX_TOML_BYTES, Refused

    try:
        return tree.read_toml(relpath, MAX_TOML_BYTES)
    except Refused as refused:
        if refused.rule == "too-large":
            raise ConfigError(f"{relpath} is larger than {MAX_TOML_BYTES // 1024} KiB; that "
                              "is no configuration file relbot reads.") from None
        raise ConfigError(str(refused)) from None


def load_config(root: Path, tree: Tree | None = None) -> Config:
    """Load and validate the configuration of the repository at ``root``.

    ``tree`` is where the files are read: the work tree (default) or, for
    ``relbot mr check``, the MR's base commit (``relbot.tree.GitTree``), so
    that a merge request cannot steer the check of itself.
    """
    root = root.resolve()
    tree = _tree(root, tree)
    source = find_config_file(root, tree)
    data = _read(tree, source.name)
    where = rel(source, root)
    if source.name == PYPROJECT:
        table = data["tool"]["relbot"]
        prefix = "[tool.relbot]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [tool.relbot] must be a table.")
    else:
        table = data
        prefix = ""
    return parse_config(root, source, table, prefix, tree)


def parse_config(root: Path, source: Path, table: Mapping[str, Any], prefix: str = "",
                 tree: Tree | None = None) -> Config:
    """Validate a configuration table already read from ``source`` (in ``tree``)."""
    where = rel(source, root)
    tree = _tree(root, tree)

    def err(message: str) -> ConfigError:
        return ConfigError(f"{where}: {message}")

    known = [o.key for o in TOP_OPTIONS] + ["component"]
    for key in table:
        if key not in known:
            raise err(f"unknown key {_key(prefix, key)!r}" + did_you_mean(key, known) + ".")
    values = _validate(table, TOP_OPTIONS, lambda k: _key(prefix, k), err, root, tree)
    raw_components = table.get("component", [])
    if not isinstance(raw_components, list) or not all(
        isinstance(c, dict) for c in raw_components
    ):
        raise err(f"{_key(prefix, 'component')!r} must be an array of tables "
                  f"([[{_key(prefix, 'component')}]]).")
    if not raw_components:
        raise err(f"no component is configured: add a [[{_key(prefix, 'component')}]] table.")
    components = tuple(
        _parse_component(root, raw, index, len(raw_components), err, tree)
        for index, raw in enumerate(raw_components)
    )
    names = [c.name for c in components]
    for name in names:
        if names.count(name) > 1:
            raise err(f"two components are named {name!r}; each needs its own name.")
    config = Config(root=root, source=source, components=components, **values)
    from relbot.branches import validate_formats

    validate_formats(config)
    return config


def _parse_component(
    root: Path,
    raw: Mapping[str, Any],
    index: int,
    count: int,
    err: Callable[[str], ConfigError],
    tree: Tree,
) -> Component:
    label = f"component {raw['name']!r}" if isinstance(raw.get("name"), str) else (
        f"component #{index + 1}"
    )
    known = [o.key for o in COMPONENT_OPTIONS]
    for key in raw:
        if key not in known:
            raise err(f"{label}: unknown key {key!r}" + did_you_mean(key, known) + ".")
    if count > 1 and "name" not in raw:
        raise err(f"{label}: 'name' is required when there are several components.")
    values = _validate(raw, COMPONENT_OPTIONS, lambda k: f"{label}: {k}", err, root, tree)
    if values["towncrier_config"] is None:
        default = "towncrier.toml" if tree.is_file("towncrier.toml") else PYPROJECT
        if not tree.is_file(default):
            raise err(f"{label}: towncrier_config is not set and neither towncrier.toml "
                      "nor pyproject.toml exists.")
        values["towncrier_config"] = root / default
    _check_formats(values, label, err)
    if not 1 <= values["max_fragment_bytes"] <= MAX_FRAGMENT_LIMIT:
        raise err(f"{label}: max_fragment_bytes must be a number of bytes from 1 to "
                  f"{MAX_FRAGMENT_LIMIT} (16 MiB).")
    hotfix = values["hotfix_directory"]
    if hotfix is not None:
        values["hotfix_directory"] = _inside(root, hotfix, f"{label}: hotfix_directory", err,
                                             tree)
    if values["towncrier_dir"] is not None:
        base = _inside(root, values["towncrier_dir"], f"{label}: towncrier_dir", err, tree)
        from relbot.tree import normalize

        is_dir = base.is_dir() if not tree.is_revision else \
            tree.kind(normalize(base.relative_to(root).as_posix())) == "dir"
        if not is_dir:
            raise err(f"{label}: towncrier_dir {values['towncrier_dir']!r} is not a directory.")
        values["towncrier_dir"] = base
    values["policies"] = tuple(values["policies"])
    values["probes"] = tuple(values["probes"])
    values["bump"] = dict(values["bump"])
    return Component(**values)


def _check_formats(values: Mapping[str, Any], label: str,
                   err: Callable[[str], ConfigError]) -> None:
    """Format strings may only use the placeholders relbot fills in, plainly.

    No attribute or index (``{version.major}``, ``{0}``), no conversion and no
    format spec (``{version:>999999999}`` would build a gigabyte string).
    """
    for key in ("tag_format", "notes_version_format"):
        fmt = values[key]
        if not _formats(fmt, ("version",)) or "version" not in _fields(fmt):
            raise err(f"{label}: {key} {fmt!r} must contain {{version}} and no other "
                      "placeholder.")
    if not _formats(values["release_branch_format"], ("major", "minor")):
        raise err(f"{label}: release_branch_format {values['release_branch_format']!r} may "
                  "only use {major} and {minor}.")
    if not _formats(values["commit_message"], ("version", "tag", "component")):
        raise err(f"{label}: commit_message may only use {{version}}, {{tag}} and "
                  "{component}.")
    for type_name, bump in values["bump"].items():
        if bump not in BUMPS:
            raise err(f"{label}: bump.{type_name} is {bump!r}; allowed: "
                      + ", ".join(BUMPS) + did_you_mean(bump, list(BUMPS)) + ".")


def _validate(
    table: Mapping[str, Any],
    options: tuple[Option, ...],
    name: Callable[[str], str],
    err: Callable[[str], ConfigError],
    root: Path,
    tree: Tree,
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for option in options:
        if option.key not in table:
            if option.required:
                raise err(f"{name(option.key)} is required.")
            default = option.default
            values[option.key] = default.copy() if isinstance(default, dict | list) else default
            continue
        value = table[option.key]
        if not _has_kind(value, option.kind):
            raise err(f"{name(option.key)} must be {_KIND_TEXT[option.kind]}, "
                      f"not {type(value).__name__} {value!r}.")
        if option.choices and value not in option.choices:
            raise err(f"{name(option.key)} is {value!r}; allowed: "
                      + ", ".join(option.choices)
                      + did_you_mean(value, list(option.choices)) + ".")
        if option.bounds is not None and not option.bounds[0] <= value <= option.bounds[1]:
            raise err(f"{name(option.key)} is {value}; it must lie between "
                      f"{option.bounds[0]} and {option.bounds[1]}.")
        if option.path:
            path = _inside(root, value, name(option.key), err, tree)
            kind = _kind_of(tree, root, path)
            if kind is None:
                raise err(f"{name(option.key)} {value!r} does not exist.")
            if kind != "file":
                raise err(f"{name(option.key)} {value!r} is not a file.")
            value = path
        values[option.key] = value
    return values


_KIND_TEXT = {
    "str": "a string",
    "int": "an integer",
    "bool": "true or false",
    "list[str]": "a list of strings",
    "table[str]": "a table of strings",
    "list[table]": "a list of tables",
}


def _has_kind(value: object, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "table[str]":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if kind == "list[table]":
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    raise AssertionError(kind)


def _inside(root: Path, value: str, name: str, err: Callable[[str], ConfigError],
            tree: Tree | None = None) -> Path:
    """Resolve a configured path, refusing one that leaves the repository.

    In the work tree a link that stays inside the repository is followed; in a
    git revision (the MR's base) a link is refused: relbot reads steering
    files there only as regular files.
    """
    from relbot.tree import Refused, WorkTree, normalize

    if not value or "\0" in value:
        raise err(f"{name} must be a non-empty path.")
    try:
        norm = normalize(value)
    except Refused:
        raise err(f"{name} {value!r} points outside the repository.") from None
    if tree is None or isinstance(tree, WorkTree):
        path = (root / value).resolve()
        if not path.is_relative_to(root):
            raise err(f"{name} {value!r} points outside the repository.")
        return path
    if not norm:  # the repository root itself ("."): nothing to pass through
        return root
    try:
        tree.check_path(norm)
    except Refused:
        raise err(f"{name} {value!r} passes through a symbolic link in {tree.label}; "
                  "relbot reads configuration only from regular files.") from None
    if tree.kind(norm) == "link":
        raise err(f"{name} {value!r} is a symbolic link in {tree.label}; relbot reads "
                  "configuration only from regular files.")
    return root / norm


def _kind_of(tree: Tree, root: Path, path: Path) -> str | None:
    """``file``, ``dir``, ... of an absolute ``path`` below ``root``, as ``tree`` has it."""
    from relbot.tree import WorkTree

    if isinstance(tree, WorkTree):
        if not path.exists():
            return None
        return "file" if path.is_file() else "other"
    return tree.kind(path.relative_to(root).as_posix())


def _fields(fmt: str) -> list[str]:
    """The field names of a format string (:class:`ValueError` if it is malformed)."""
    return [name for _, name, _, _ in string.Formatter().parse(fmt) if name is not None]


def _formats(fmt: str, allowed: tuple[str, ...]) -> bool:
    """Only plain ``{name}`` fields from ``allowed``: no attribute, index, spec, conversion."""
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return False
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            return False
    return True


def read_toml_in(tree: Tree, relpath: str) -> dict[str, Any]:
    """A TOML file of ``tree`` (bounded in size and nesting), or one ConfigError."""
    return _read(tree, relpath)


MAX_FRAGMENT_LIMIT = 16 * 1024 * 1024  # a fragment is a paragraph; more is a mistake


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file of the work tree (at most 1 MiB, bounded nesting) or one ConfigError."""
    from relbot.tree import WorkTree

    return _read(WorkTree(path.parent), path.name)


def _key(prefix: str, key: str) -> str:
    return f"{prefix[1:-1]}.{key}" if prefix else key


def did_you_mean(value: str, candidates: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    import difflib  # only for a misspelt name

    close = difflib.get_close_matches(value, candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def rel(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` for messages, or as it is when outside."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)



def reference_markdown() -> str:
    """``docs/configuration.md``: every key, generated from the declarations above."""
    def table(options: tuple[Option, ...]) -> list[str]:
        rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for option in options:
            default = "required" if option.required else (
                "—" if option.default is None else f"`{_toml(option.default)}`")
            kind = option.kind + (" (" + " \\| ".join(option.choices) + ")"
                                  if option.choices else "")
            rows.append(f"| `{option.key}` | {kind} | {default} | {option.doc} |")
        return rows

    lines = [
        "# Configuration reference",
        "",
        "<!-- generated by `python -m relbot.config`; tests/test_docs.py checks it -->",
        "",
        f"relbot reads `{CONFIG_FILE}` at the repository root, or `[tool.relbot]` in "
        f"`{PYPROJECT}` (the same keys; components are `[[tool.relbot.component]]`). "
        "Unknown keys, wrong types and missing files are errors that name the file and the "
        "key, with a suggestion for misspelt keys. Paths are relative to the repository "
        "root and may not leave it.",
        "",
        "## Top-level keys",
        "",
        *table(TOP_OPTIONS),
        "",
        "## `[[component]]`",
        "",
        "One table per separately released part of the repository. With one component, "
        "`--component` may be omitted.",
        "",
        *table(COMPONENT_OPTIONS),
        "",
        "## Example (Yaook/K8s)",
        "",
        "```toml",
    ]
    from relbot.presets import YAOOK_K8S

    lines += [YAOOK_K8S.relbot_toml.rstrip(), "```", ""]
    return "\n".join(lines)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)


if __name__ == "__main__":
    print(reference_markdown(), end="")
