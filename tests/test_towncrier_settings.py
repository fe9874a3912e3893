"""relbot's light reader of towncrier's configuration agrees with towncrier's own loader."""

from __future__ import annotations

from pathlib import Path

import pytest
from towncrier._settings.load import load_config_from_file

from relbot.errors import ConfigError
from relbot.towncrier_settings import load_towncrier_settings

CASES = {
    "array-of-types": """
[tool.towncrier]
directory = "docs/_releasenotes/"
filename = "CHANGELOG.rst"
[[tool.towncrier.type]]
directory = "BREAKING"
name = "Breaking changes"
showcontent = true
[[tool.towncrier.type]]
name = "Misc"
showcontent = false
""",
    "fragment-tables": """
[tool.towncrier]
directory = "changes"
[tool.towncrier.fragment.feature]
[tool.towncrier.fragment.chore]
name = "Chores"
showcontent = false
""",
    "defaults": """
[tool.towncrier]
directory = "newsfragments"
filename = "NEWS.md"
""",
    "sections-and-ignore": """
[tool.towncrier]
directory = "changes"
ignore = ["*.draft", "NOTES.txt"]
orphan_prefix = "~"
[[tool.towncrier.section]]
name = ""
path = ""
[[tool.towncrier.section]]
name = "Web"
path = "web"
""",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_types_and_directory_match_towncrier(tmp_path: Path, name: str) -> None:
    """Types (key, name, showcontent), directory, sections and orphan prefix match towncrier."""
    config_file = tmp_path / "towncrier.toml"
    config_file.write_text(CASES[name])
    ours = load_towncrier_settings(config_file, tmp_path)
    theirs = load_config_from_file(str(tmp_path), str(config_file))
    assert list(ours.types) == list(theirs.types)
    for key, fragment_type in ours.types.items():
        assert fragment_type.name == theirs.types[key]["name"]
        assert fragment_type.showcontent == theirs.types[key]["showcontent"]
    assert ours.directory == (tmp_path / theirs.directory).resolve()
    assert dict(ours.sections) == dict(theirs.sections)
    assert ours.orphan_prefix == theirs.orphan_prefix
    assert ours.start_string == theirs.start_string
    assert set(i.lower() for i in (theirs.ignore or [])) <= set(ours.ignore)
    template = theirs.template[1] if isinstance(theirs.template, tuple) else theirs.template
    assert ours.markdown == template.endswith(".md")


def test_pyproject_without_towncrier_table(tmp_path: Path) -> None:
    """A pyproject.toml without [tool.towncrier] is an error, not towncrier's silent defaults."""
    config_file = tmp_path / "pyproject.toml"
    config_file.write_text('[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"has no \[tool.towncrier\] table"):
        load_towncrier_settings(config_file, tmp_path)


def test_type_without_name(tmp_path: Path) -> None:
    """A [[tool.towncrier.type]] without a name is one clear error (towncrier: KeyError)."""
    config_file = tmp_path / "towncrier.toml"
    config_file.write_text('[tool.towncrier]\ndirectory = "c"\n[[tool.towncrier.type]]\n'
                           'directory = "feature"\n')
    with pytest.raises(ConfigError, match=r"type #1 needs a string 'name'"):
        load_towncrier_settings(config_file, tmp_path)
