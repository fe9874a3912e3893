"""Where a component's current version lives: a bare version file, or ``pyproject.toml``.

A file named ``pyproject.toml`` holds the version in ``[project].version``; it is
read with tomllib and written with tomlkit, so that the rest of the file, which
people wrote (comments, order, quoting), stays byte for byte as it was. Any
other file holds the bare version and nothing else.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from relbot.errors import ConfigError, VersionError

PYPROJECT = "pyproject.toml"


def version_text(path: Path, raw: bytes, where: str) -> str:
    """The version string the file's bytes hold (``where`` names it in messages)."""
    if path.name != PYPROJECT and len(raw) > 1024:
        raise VersionError(f"version file {where} should hold only a version, but it is "
                           f"{len(raw)} bytes long.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise VersionError(f"version file {where} is not UTF-8 text.") from None
    if path.name != PYPROJECT:
        return text
    try:
        project = tomllib.loads(text).get("project")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}.") from None
    version = project.get("version") if isinstance(project, dict) else None
    if not isinstance(version, str):
        dynamic = isinstance(project, dict) and "version" in project.get("dynamic", [])
        hint = (" (it is dynamic: let relbot write a version file instead)" if dynamic
                else "")
        raise ConfigError(f"{where} has no [project].version string{hint}.")
    return version


def render_version_file(path: Path, old_bytes: bytes | None, version: str) -> bytes:
    """The file's new bytes holding ``version``; ``old_bytes`` is what it holds now."""
    if path.name != PYPROJECT:
        return f"{version}\n".encode()
    import tomlkit

    if old_bytes is None:
        raise ConfigError(f"{path.name} does not exist, so relbot cannot set its "
                          "[project].version.")
    document = tomlkit.parse(old_bytes.decode("utf-8"))
    project = document.get("project")
    if project is None or "version" not in project:
        raise ConfigError(f"{path.name} has no [project].version to set.")
    project["version"] = version
    return tomlkit.dumps(document).encode("utf-8")


def current_bytes(path: Path) -> bytes | None:
    """What the version file holds now (``None``: it does not exist yet)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
