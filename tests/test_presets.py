"""`relbot init`: the yaook-k8s preset fits today's Tarook tree; `default` adopts a project."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.conftest import Repo, make_repo, run

# Built from ../shared/real-world/tarook-2026/README.md: the configuration moved to
# ci/res/towncrier.toml (paths from the repository root, as CI runs it), MR links point to
# gitlab.com/alasca.cloud/tarook/tarook since v10.1.0, and v14.0.0 added "Dependencies" and
# retitled "Breaking Changes" and "Changed Functionality" (the key of the new type is not
# in the sources; "dependency" is assumed).
TAROOK_LINK = "https://gitlab.com/alasca.cloud/tarook/tarook/-/merge_requests/{issue}"
TAROOK_TYPES = [
    ("BREAKING", "Breaking Changes", True),
    ("feature", "New Features", True),
    ("change", "Changed Functionality", True),
    ("fix", "Bugfixes", True),
    ("docs", "Changes in the Documentation", True),
    ("removal", "Deprecations and Removals", True),
    ("dependency", "Dependencies", True),
    ("chore", "Other Tasks", True),
    ("security", "Security", True),
    ("misc", "Misc", False),
]
TAROOK_TOWNCRIER = (
    '[tool.towncrier]\ndirectory = "docs/_releasenotes/"\nfilename = "CHANGELOG.rst"\n'
    'title_format = "{version} ({project_date})"\n'
    f'issue_format = "`!{{issue}} <{TAROOK_LINK}>`_"\n'
    'underlines = ["-", "~", "^"]\n'
    + "".join(f'\n[[tool.towncrier.type]]\ndirectory = "{key}"\nname = "{name}"\n'
              f"showcontent = {'true' if show else 'false'}\n"
              for key, name, show in TAROOK_TYPES))


def tarook_tree(base: Path) -> Repo:
    """Tarook's 2026 layout: no root towncrier.toml, version 15.0.0, hotfix directory."""
    return make_repo(base, {
        "ci/res/towncrier.toml": TAROOK_TOWNCRIER,
        "version": "15.0.0\n",
        "CHANGELOG.rst": "Releasenotes\n============\n\n.. towncrier release notes start\n\n"
                         "v15.0.0 (2026-09-28)\n--------------------\n\nMisc\n~~~~\n\n- x\n",
        "docs/_releasenotes/.gitignore": "!.gitignore\n",
        "docs/_releasenotes/hotfix/.gitignore": "!.gitignore\n",
        "docs/_releasenotes/2601.BREAKING.drop-1-33": "Support for Kubernetes v1.33 has been "
                                                      "dropped.\n",
        "docs/_releasenotes/2602.dependency.helm": "Update the Helm charts.\n",
        "docs/_releasenotes/2603.change.thing": "Change a thing.\n",
    })


def test_yaook_k8s_preset_uses_tarooks_towncrier_configuration(tmp_path: Path) -> None:
    """init writes only relbot.toml, for ci/res/towncrier.toml; titles and links are Tarook's."""
    repo = tarook_tree(tmp_path)
    init = run(["init", "--preset", "yaook-k8s"], repo.path)
    assert init.code == 0, init.err
    assert init.out == "wrote relbot.toml\n"
    assert "found ci/res/towncrier.toml" in init.err
    assert repo.git("status", "--porcelain") == "?? relbot.toml"
    assert not (repo.path / "towncrier.toml").exists()
    config = tomllib.loads((repo.path / "relbot.toml").read_text())
    component = config["component"][0]
    assert component["towncrier_config"] == "ci/res/towncrier.toml"
    assert component["towncrier_dir"] == "."
    assert component["version_file"] == "version"
    assert component["hotfix_directory"] == "docs/_releasenotes/hotfix"
    assert component["bump"] == {"BREAKING": "major", "feature": "minor"}
    repo.commit_all("relbot")
    assert run(["next-version"], repo.path).out == "16.0.0\n"
    notes = run(["notes", "--version", "16.0.0", "--date", "2026-10-01"], repo.path)
    assert notes.code == 0, notes.err
    assert "Breaking Changes\n~~~~~~~~~~~~~~~~\n" in notes.out
    assert "Changed Functionality\n~~~~~~~~~~~~~~~~~~~~~\n" in notes.out
    assert "Dependencies\n~~~~~~~~~~~~\n\n- Update the Helm charts. (`!2602 <https://gitlab.com" \
        "/alasca.cloud/tarook/tarook/-/merge_requests/2602>`_)" in notes.out
    assert "gitlab.com/yaook" not in notes.out


def test_default_preset_adopts_an_existing_towncrier_project(tmp_path: Path) -> None:
    """Fragment directory, tag style and version come from the project; nothing unused is made."""
    repo = make_repo(tmp_path, {
        "pyproject.toml": '[project]\nname = "myproj"\nversion = "3.4.5"\n\n'
                          '[tool.towncrier]\ndirectory = "newsfragments"\n',
        "newsfragments/.gitignore": "!.gitignore\n",
        "NEWS.rst": ".. towncrier release notes start\n",
    })
    repo.git("tag", "-a", "-m", "3.4.5", "3.4.5")
    init = run(["init", "--preset", "default"], repo.path)
    assert init.code == 0, init.err
    assert init.out == "wrote relbot.toml\n"
    assert not (repo.path / "changelog.d").exists() and not (repo.path / "VERSION").exists()
    assert not (repo.path / "towncrier.toml").exists()
    for fact in ("found pyproject.toml [tool.towncrier]", "fragments in newsfragments/",
                 "tags like 3.4.5", "version 3.4.5 in pyproject.toml [project].version"):
        assert fact in init.err
    component = tomllib.loads((repo.path / "relbot.toml").read_text())["component"][0]
    assert component["towncrier_config"] == "pyproject.toml"
    assert component["tag_format"] == "{version}"
    assert component["version_file"] == "pyproject.toml"
    assert component["bump"] == {"feature": "minor"}
    repo.write("newsfragments/7.feature", "A feature.\n")
    repo.commit_all("feature and relbot")
    assert run(["next-version"], repo.path).out == "3.5.0\n"


def test_default_preset_reads_the_version_from_tags_without_v(tmp_path: Path) -> None:
    """No version anywhere but the tags (`2.0.1`, no `v`): the tags are the version."""
    repo = make_repo(tmp_path, {
        "towncrier.toml": '[tool.towncrier]\ndirectory = "changes"\n',
        "changes/.gitignore": "!.gitignore\n",
    })
    repo.git("tag", "-a", "-m", "r", "2.0.1")
    init = run(["init", "--preset", "default"], repo.path)
    assert init.code == 0, init.err
    component = tomllib.loads((repo.path / "relbot.toml").read_text())["component"][0]
    assert "version_file" not in component
    assert component["tag_format"] == "{version}"
    assert "version 2.0.1 from the tags" in init.err
    repo.write("changes/3.bugfix", "A fix.\n")
    repo.commit_all("relbot")
    assert run(["next-version"], repo.path).out == "2.0.2\n"


def test_cut_keeps_pyproject_version_in_step(tmp_path: Path) -> None:
    """`version_file = "pyproject.toml"`: the cut sets [project].version, nothing else changes."""
    pyproject = ('[project]\nname = "myproj"  # the distribution\nversion = "3.4.5"\n'
                 "dependencies = [\n    'click',  # keep\n]\n\n"
                 '[tool.towncrier]\ndirectory = "newsfragments"\n')
    repo = make_repo(tmp_path, {"pyproject.toml": pyproject,
                                "newsfragments/.gitignore": "!.gitignore\n"})
    assert run(["init", "--preset", "default"], repo.path).code == 0
    repo.write("newsfragments/8.bugfix", "A fix.\n")
    repo.commit_all("fix")
    cut = run(["cut", "--yes", "--no-push", "--date", "2024-05-01"], repo.path)
    assert cut.code == 0, cut.err
    assert (repo.path / "pyproject.toml").read_text() == pyproject.replace('"3.4.5"', '"3.4.6"')
    assert repo.git("tag", "--list", "v3.4.6") == "v3.4.6"  # no tags yet: the preset's style
    assert run(["next-version"], repo.path).code != 0  # nothing pending any more


def test_migration_guide_shows_what_init_writes(tmp_path: Path) -> None:
    """docs/migration.md's relbot.toml agrees with what init writes for the Tarook tree."""
    from tests.conftest import PROJECT

    guide = (PROJECT / "docs" / "migration.md").read_text(encoding="utf-8")
    block = guide.split("```toml\n", 1)[1].split("```", 1)[0]
    documented = tomllib.loads(block)["component"][0]
    repo = tarook_tree(tmp_path)
    assert run(["init", "--preset", "yaook-k8s"], repo.path).code == 0
    written = tomllib.loads((repo.path / "relbot.toml").read_text())["component"][0]
    for key, value in written.items():
        if key != "probes":  # the probes are the policy's business (docs/policies.md)
            assert documented[key] == value, key
    assert (documented["release_flow"], documented["hotfix_mode"]) == ("prepare", "pre-merge")
    for name in ("yaook/rdm", "ci/release.yaml", "ci/hotfix-prepare.yaml",
                 "check-releasenote-file.py", "relbot cut --prepare", "relbot cut --finish",
                 "flow: prepare", "soak: 1 week", "relbot mr check --fix", "RELBOT_MR_TOKEN",
                 "RELBOT_RELEASE_TOKEN"):
        assert name in guide, name
