"""Ready-made configurations written by ``relbot init --preset NAME``.

A preset is the relbot configuration a project of that kind needs, plus the
towncrier configuration and version file it expects, written only where the
repository does not have them yet (an existing towncrier.toml is the
project's and is never replaced).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from relbot.errors import UsageError


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


def apply_preset(root: Path, name: str, *, force: bool = False) -> list[str]:
    """Write the preset's files into ``root``; returns what was written.

    A project that already configures towncrier keeps its configuration:
    with ``[tool.towncrier]`` in pyproject.toml and no towncrier.toml, relbot
    is pointed at pyproject.toml instead of getting a second towncrier file.
    A missing version file starts at the newest release tag, else 0.0.0.
    """
    preset = get_preset(name)
    target = root / "relbot.toml"
    if target.exists() and not force:
        raise UsageError(f"{target.name} already exists; nothing was written "
                         "(use --force to replace it).")
    written = []
    relbot_toml = preset.relbot_toml
    towncrier = root / "towncrier.toml"
    existing: Path | None = towncrier if towncrier.exists() else None
    if existing is None and _pyproject_has_towncrier(root / "pyproject.toml"):
        existing = root / "pyproject.toml"
        relbot_toml = relbot_toml.replace('towncrier_config = "towncrier.toml"',
                                          'towncrier_config = "pyproject.toml"')
    if existing is None:
        towncrier.write_text(preset.towncrier_toml, encoding="utf-8")
        written.append("towncrier.toml")
    else:
        relbot_toml = _bump_for_declared_types(relbot_toml, existing, root)
    target.write_text(relbot_toml, encoding="utf-8")
    written.insert(0, "relbot.toml")
    version = root / preset.version_file
    if not version.exists():
        version.write_text(_latest_tag_version(root) + "\n", encoding="utf-8")
        written.append(preset.version_file)
    for directory in preset.gitignore_dirs:
        keep = root / directory / ".gitignore"
        if not keep.parent.exists():
            keep.parent.mkdir(parents=True)
            keep.write_text("!.gitignore\n", encoding="utf-8")
            written.append(f"{directory}/.gitignore")
    return written


MAJOR_TYPES = ("BREAKING", "breaking", "major")
MINOR_TYPES = ("feature", "features", "added", "feat")


def _bump_for_declared_types(relbot_toml: str, towncrier_config: Path, root: Path) -> str:
    """The preset's bump line, rewritten for the types the project's towncrier declares."""
    import re

    from relbot.towncrier_settings import load_towncrier_settings

    types = load_towncrier_settings(towncrier_config, root).types
    bumps = [f'{name} = "major"' for name in MAJOR_TYPES if name in types]
    bumps += [f'{name} = "minor"' for name in MINOR_TYPES if name in types]
    line = "bump = { " + ", ".join(bumps) + " }" if bumps else "bump = {}"
    return re.sub(r"^bump = .*$", line, relbot_toml, count=1, flags=re.MULTILINE)


def _pyproject_has_towncrier(path: Path) -> bool:
    from relbot.config import read_toml

    return path.is_file() and "towncrier" in read_toml(path).get("tool", {})


def _latest_tag_version(root: Path) -> str:
    """The newest ``vX.Y.Z`` tag's version, for a project that tagged releases before."""
    if not (root / ".git").exists():
        return "0.0.0"
    from relbot.errors import GitError
    from relbot.git import GitRepo
    from relbot.versions import Version

    try:
        tags = GitRepo(root).tags("v[0-9]*")
    except GitError:
        return "0.0.0"
    versions = []
    for tag in tags:
        try:
            versions.append(Version.parse(tag[1:]))
        except ValueError:
            continue
    finals = [v for v in versions if not v.prerelease]
    return str(max(finals, default=Version(0, 0, 0)))
