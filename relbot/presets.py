"""Ready-made configurations written by ``relbot init --preset NAME``.

A preset is the relbot configuration a project of that kind needs, plus the
towncrier configuration and version file it expects, written only where the
repository does not have them yet (an existing towncrier.toml is the
project's and is never replaced).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from relbot.config import rel
from relbot.errors import ConfigError, UsageError
from relbot.towncrier_settings import TowncrierSettings, load_towncrier_settings
from relbot.versions import Version


@dataclass(frozen=True)
class Preset:
    """Files a preset writes: relbot's configuration and, if missing, the rest."""

    name: str
    summary: str
    relbot_toml: str
    towncrier_toml: str
    version: str = "0.0.0"
    version_file: str = "version"
    gitignore_dirs: tuple[str, ...] = ()


_YAOOK_TYPES = (
    ("BREAKING", "Breaking changes", True),
    ("feature", "New Features", True),
    ("change", "Changed functionality", True),
    ("fix", "Bugfixes", True),
    ("docs", "Changes in the Documentation", True),
    ("removal", "Deprecations and Removals", True),
    ("chore", "Other Tasks", True),
    ("security", "Security", True),
    ("dependency", "Dependency updates", True),
    ("misc", "Misc", False),
)


def _types(types: tuple[tuple[str, str, bool], ...]) -> str:
    return "".join(
        f'\n[[tool.towncrier.type]]\ndirectory = "{key}"\nname = "{name}"\n'
        f"showcontent = {'true' if show else 'false'}\n"
        for key, name, show in types
    )


# One TOML line per probe (inline tables cannot span lines), kept in `probes = [...]` rather
# than [[component.probes]] tables so that keys appended to the component stay in it.
# Literal strings ('...') keep the regular expressions free of TOML escapes.
_YAOOK_K8S_PROBES = (
    # Today (2025-): the supported minors in nix/yk8s/kubernetes/default.nix, written
    # `kubernetesVersions [[1 33] [1 34] [1 35]]` or, earlier, `k8sVersion [ [1 31] ... ]`;
    '{ policy = "kubernetes", file = "nix/yk8s/kubernetes/default.nix", '
    "within = '(?:kubernetesVersions|k8sVersion)"
    "\\s*\\[(?:\\s*\\[\\s*\\d+\\s+\\d+\\s*\\])+\\s*\\]', "
    "pattern = '\\[\\s*(?P<major>\\d+)\\s+(?P<minor>\\d+)\\s*\\]', required = false, "
    'description = "supported Kubernetes minors" },',
    # ... and the default version a new cluster gets (`default = "1.35.5";`).
    '{ policy = "kubernetes", file = "nix/yk8s/kubernetes/default.nix", '
    "pattern = '\\bdefault\\s*=\\s*\"(?P<version>\\d+\\.\\d+\\.\\d+)\"\\s*;', required = false, "
    'description = "default Kubernetes version" },',
    # Before Nix: the Ansible list (up to v3, then v4 to v8) and the config template's default.
    '{ policy = "kubernetes", file = "k8s-base/roles/k8s-config/defaults/main.yaml", '
    'key = "supported_k8s_versions", required = false },',
    '{ policy = "kubernetes", file = '
    '"k8s-core/ansible/roles/config/k8s-config/defaults/main.yaml", '
    'key = "supported_k8s_versions", required = false },',
    '{ policy = "kubernetes", file = "templates/config.template.toml", '
    'key = "kubernetes.version", required = false },',
)
_YAOOK_K8S_PROBE = "\n    ".join(_YAOOK_K8S_PROBES)


def _yaook(name: str, title: str, summary: str, component: str, policies: str,
           extra: str = "") -> Preset:
    """A Yaook project: the same layout and versioning policy, its own MR links and policies."""
    relbot_toml = f"""\
# relbot configuration for {title} (written by `relbot init --preset {name}`).
# Reference: docs/configuration.md in relbot's repository.
forge = "gitlab"

[[component]]
name = "{component}"
towncrier_config = "towncrier.toml"
version_file = "version"
tag_format = "v{{version}}"
notes_version_format = "v{{version}}"
# Yaook's versioning policy: BREAKING -> major, feature -> minor, anything else -> patch.
bump = {{ BREAKING = "major", feature = "minor" }}
default_bump = "patch"
hotfix_directory = "docs/_releasenotes/hotfix"
release_branch_format = "release/v{{major}}.{{minor}}"
policies = {policies}
{extra}"""
    towncrier_toml = f"""\
[tool.towncrier]
directory = "docs/_releasenotes/"
filename = "CHANGELOG.rst"
title_format = "{{version}} ({{project_date}})"
issue_format = "`!{{issue}} <https://gitlab.com/yaook/{component}/-/merge_requests/{{issue}}>`_"
underlines = ["-", "~", "^"]
""" + _types(_YAOOK_TYPES)
    return Preset(name=name, summary=summary, relbot_toml=relbot_toml,
                  towncrier_toml=towncrier_toml, version_file="version",
                  gitignore_dirs=("docs/_releasenotes", "docs/_releasenotes/hotfix"))


YAOOK_K8S = _yaook(
    "yaook-k8s", "Yaook/K8s",
    "Yaook/K8s (Tarook): RST changelog, fragments in docs/_releasenotes/, vX.Y.Z tags, "
    "release/vX.Y branches, Kubernetes support window",
    "k8s", '["kubernetes"]',
    """\
# Where Tarook (Yaook/K8s) declares its Kubernetes versions, today (Nix) and in older
# layouts; `relbot policy check` holds them to the Kubernetes support window
# (docs/policies.md). Each probe is optional (one that finds nothing is a warning), but
# at least one must find a declaration, or the check fails naming the probes it tried.
probes = [
    """ + _YAOOK_K8S_PROBE + """
]
""")

YAOOK_OPERATOR = _yaook(
    "yaook-operator", "Yaook/Operator",
    "Yaook/Operator: like Yaook/K8s; no policy gating until its version declarations are "
    "known (docs/decisions.md)",
    "operator", "[]",
    """\
# No policy gates Yaook/Operator's releases: where its repository declares OpenStack, OVN
# and Kubernetes versions is not known, and a policy without probes would check nothing.
# Once it is, name the policies and add probes, for example:
#   policies = ["openstack", "ovn"]
#   probes = [{ policy = "openstack", file = "deploy/*.yaml", key = "spec.targetRelease" }]
# `relbot policy path openstack 2025.1 2026.1` and `relbot policy show openstack ovn` work
# without any configuration.
""")

DEFAULT = Preset(
    name="default",
    summary="a new project: Markdown changelog, fragments in changelog.d/, "
            "keep-a-changelog types",
    relbot_toml='''\
# relbot configuration (written by `relbot init --preset default`).
forge = "none"   # "gitlab" publishes GitLab Releases and comments on MRs

[[component]]
name = "main"
towncrier_config = "towncrier.toml"
version_file = "VERSION"
tag_format = "v{version}"
notes_version_format = "{version}"
bump = { breaking = "major", added = "minor" }
default_bump = "patch"
''',
    towncrier_toml='''\
[tool.towncrier]
directory = "changelog.d"
filename = "CHANGELOG.md"
title_format = "## {version} ({project_date})"
issue_format = "!{issue}"
''' + _types((
        ("breaking", "Breaking changes", True),
        ("added", "Added", True),
        ("changed", "Changed", True),
        ("deprecated", "Deprecated", True),
        ("removed", "Removed", True),
        ("fixed", "Fixed", True),
        ("security", "Security", True),
    )),
    version_file="VERSION",
    gitignore_dirs=("changelog.d",),
)

PRESETS = {preset.name: preset for preset in (YAOOK_K8S, YAOOK_OPERATOR, DEFAULT)}


def get_preset(name: str) -> Preset:
    """The preset called ``name``."""
    from relbot.config import did_you_mean

    try:
        return PRESETS[name]
    except KeyError:
        raise UsageError(f"there is no preset {name!r}" + did_you_mean(name, list(PRESETS))
                         + "; presets: " + ", ".join(PRESETS) + ".") from None


@dataclass(frozen=True)
class InitResult:
    """What ``relbot init`` wrote, and what it found in the repository and adopted."""

    written: tuple[str, ...]
    found: tuple[str, ...]


def apply_preset(root: Path, name: str, *, force: bool = False) -> InitResult:
    """Write the preset's configuration into ``root``, adopting what the project has.

    An existing towncrier configuration, wherever it lies (Tarook keeps it at
    ``ci/res/towncrier.toml``), is used as it is: its types, titles and links
    steer relbot and no second one is written. The current version is taken from
    where it lives (version file, ``[project].version``, release tags), and the
    tag style from the tags.
    """
    preset = get_preset(name)
    target = root / "relbot.toml"
    if target.exists() and not force:
        raise UsageError(f"{target.name} already exists; nothing was written "
                         "(use --force to replace it).")
    written: list[str] = []
    found: list[str] = []
    relbot_toml = preset.relbot_toml
    existing = find_towncrier_config(root)
    if existing is None:
        (root / "towncrier.toml").write_text(preset.towncrier_toml, encoding="utf-8")
        written.append("towncrier.toml")
        directories = [root / d for d in preset.gitignore_dirs]
    else:
        config_file, base = existing
        where = rel(config_file, root)
        settings = load_towncrier_settings(config_file, root, base)
        label = f"{where} [tool.towncrier]" if config_file.name == "pyproject.toml" else where
        found.append(f"found {label}: fragments in {rel(settings.directory, root)}/, "
                     f"types {', '.join(settings.types)}")
        relbot_toml = _set_key(relbot_toml, "towncrier_config", f'"{where}"')
        if base is not None:
            relbot_toml = _insert_after(relbot_toml, "towncrier_config",
                                        f'towncrier_dir = "{rel(base, root)}"')
        relbot_toml = _bump_for_declared_types(relbot_toml, settings)
        directories = [settings.directory]
        hotfix = settings.directory / "hotfix"
        if "hotfix_directory" in relbot_toml and hotfix.is_dir():
            relbot_toml = _set_key(relbot_toml, "hotfix_directory", f'"{rel(hotfix, root)}"')
    relbot_toml, version_files = _adopt_versions(root, preset, relbot_toml, found)
    for directory in directories:
        keep = directory / ".gitignore"
        if not directory.exists():
            directory.mkdir(parents=True)
            keep.write_text("!.gitignore\n", encoding="utf-8")
            written.append(f"{rel(directory, root)}/.gitignore")
    target.write_text(relbot_toml, encoding="utf-8")
    return InitResult(("relbot.toml", *written, *version_files), tuple(found))


def _adopt_versions(root: Path, preset: Preset, relbot_toml: str,
                    found: list[str]) -> tuple[str, list[str]]:
    """Tag style and where the current version lives; returns the files to write."""
    tags = _release_tags(root)
    newest = max(tags, default=None)
    if newest is not None:
        version, tag = newest
        if not tag.startswith("v"):
            relbot_toml = _set_key(relbot_toml, "tag_format", '"{version}"')
        found.append(f"tags like {tag} (newest {version})")
    version_file = root / preset.version_file
    pyproject = _static_project_version(root / "pyproject.toml")
    if version_file.is_file():
        found.append(f"version {version_file.read_text(encoding='utf-8').strip()} in "
                     f"{preset.version_file}")
        return relbot_toml, []
    if pyproject is not None:
        found.append(f"version {pyproject} in pyproject.toml [project].version")
        return _set_key(relbot_toml, "version_file", '"pyproject.toml"'), []
    if newest is not None and preset.name == "default":
        found.append(f"version {newest[0]} from the tags (no version file)")
        return _drop_key(relbot_toml, "version_file"), []
    start = str(newest[0]) if newest is not None else "0.0.0"
    version_file.write_text(start + "\n", encoding="utf-8")
    return relbot_toml, [preset.version_file]


def find_towncrier_config(root: Path) -> tuple[Path, Path | None] | None:
    """The repository's towncrier configuration and, if it needs one, towncrier's ``--dir``.

    The root's ``towncrier.toml`` or ``pyproject.toml`` (as towncrier looks),
    else the shallowest tracked one elsewhere. A configuration kept in a
    sub-directory whose paths only make sense from the root (Tarook runs towncrier
    with ``--config ci/res/towncrier.toml`` at the root) gets the root as base.
    """
    for candidate in (root / "towncrier.toml", root / "pyproject.toml"):
        if _declares_towncrier(candidate):
            return candidate, None
    for relpath in sorted(_repository_files(root), key=lambda p: (p.count("/"), p)):
        path = root / relpath
        if path.name not in ("towncrier.toml", "pyproject.toml") or not _declares_towncrier(path):
            continue
        for base in (None, root):
            try:
                settings = load_towncrier_settings(path, root, base)
            except ConfigError:
                continue
            if settings.directory.is_dir():
                return path, base
        return path, root
    return None


def _repository_files(root: Path) -> list[str]:
    """Tracked files (one ``git ls-files -z``), or a bounded walk outside git."""
    import os
    import subprocess

    if (root / ".git").exists():
        proc = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True,
                              check=False)
        if proc.returncode == 0:
            return [os.fsdecode(p) for p in proc.stdout.split(b"\0") if p]
    files = []
    for current, dirs, names in os.walk(root):
        depth = Path(current).relative_to(root).parts
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in
                   ("node_modules", "venv", "__pycache__") and len(depth) < 6]
        files += [str((Path(current) / n).relative_to(root)) for n in names
                  if n in ("towncrier.toml", "pyproject.toml")]
    return files


def _declares_towncrier(path: Path) -> bool:
    from relbot.config import read_toml

    if not path.is_file():
        return False
    if path.name == "towncrier.toml":
        return True
    try:
        return "towncrier" in read_toml(path).get("tool", {})
    except ConfigError:
        return False


def _static_project_version(path: Path) -> str | None:
    """``[project].version`` of ``pyproject.toml`` where it is written there (not dynamic)."""
    from relbot.config import read_toml

    if not path.is_file():
        return None
    project = read_toml(path).get("project")
    if not isinstance(project, dict) or not isinstance(project.get("version"), str):
        return None
    return str(project["version"])


def _set_key(toml: str, key: str, value: str) -> str:
    import re

    return re.sub(rf"^{key} = .*$", lambda _: f"{key} = {value}", toml, count=1,
                  flags=re.MULTILINE)


def _insert_after(toml: str, key: str, line: str) -> str:
    import re

    return re.sub(rf"^({key} = .*)$", lambda m: f"{m[1]}\n{line}", toml, count=1,
                  flags=re.MULTILINE)


def _drop_key(toml: str, key: str) -> str:
    import re

    return re.sub(rf"^{key} = .*\n", "", toml, count=1, flags=re.MULTILINE)


MAJOR_TYPES = ("BREAKING", "breaking", "major")
MINOR_TYPES = ("feature", "features", "added", "feat")


def _bump_for_declared_types(relbot_toml: str, settings: TowncrierSettings) -> str:
    """The preset's bump line, rewritten for the types the project's towncrier declares."""
    types = settings.types
    bumps = [f'{name} = "major"' for name in MAJOR_TYPES if name in types]
    bumps += [f'{name} = "minor"' for name in MINOR_TYPES if name in types]
    line = "{ " + ", ".join(bumps) + " }" if bumps else "{}"
    return _set_key(relbot_toml, "bump", line)


def _release_tags(root: Path) -> list[tuple[Version, str]]:
    """Final release tags ``X.Y.Z`` or ``vX.Y.Z`` and their versions (one ``git tag``)."""
    import subprocess

    if not (root / ".git").exists():
        return []
    proc = subprocess.run(["git", "tag", "--list"], cwd=root, capture_output=True, text=True,
                          check=False)
    found = []
    for tag in proc.stdout.split() if proc.returncode == 0 else ():
        try:
            version = Version.parse(tag[1:] if tag.startswith("v") else tag)
        except ValueError:
            continue
        if not version.prerelease:
            found.append((version, tag))
    return found
