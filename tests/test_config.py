"""Configuration loading: relbot.toml, [tool.relbot], and errors that name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from relbot.config import COMPONENT_OPTIONS, TOP_OPTIONS, Component, Config, load_config
from relbot.errors import ConfigError

TOWNCRIER = '[tool.towncrier]\ndirectory = "changes"\n'


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_relbot_toml_with_several_components(tmp_path: Path) -> None:
    """Each [[component]] becomes a Component with its own paths, formats and bumps."""
    write(tmp_path, {
        "towncrier.toml": TOWNCRIER,
        "op/towncrier.toml": TOWNCRIER,
        "version": "1.2.3\n",
        "op/version": "0.4.0\n",
        "relbot.toml": """
forge = "gitlab"
[[component]]
name = "k8s"
version_file = "version"
bump = { BREAKING = "major", feature = "minor" }
[[component]]
name = "operator"
towncrier_config = "op/towncrier.toml"
version_file = "op/version"
tag_format = "operator/v{version}"
""",
    })
    config = load_config(tmp_path)
    assert config.forge == "gitlab"
    assert [c.name for c in config.components] == ["k8s", "operator"]
    k8s = config.component("k8s")
    assert k8s.towncrier_config == tmp_path / "towncrier.toml"
    assert k8s.bump == {"BREAKING": "major", "feature": "minor"}
    operator = config.component("operator")
    assert operator.tag("1.0.0") == "operator/v1.0.0"
    assert operator.version_file == tmp_path / "op" / "version"


def test_pyproject_tool_relbot(tmp_path: Path) -> None:
    """[tool.relbot] in pyproject.toml takes the same keys as relbot.toml."""
    write(tmp_path, {"pyproject.toml": TOWNCRIER + """
[tool.relbot]
forge = "none"
[[tool.relbot.component]]
name = "app"
notes_version_format = "v{version}"
"""})
    config = load_config(tmp_path)
    component = config.component(None)
    assert component.name == "app"
    assert component.towncrier_config == tmp_path / "pyproject.toml"
    assert component.notes_version("2.0.0") == "v2.0.0"


@pytest.mark.parametrize(
    ("relbot_toml", "message"),
    [
        ('forgee = "gitlab"\n[[component]]\n',
         "relbot.toml: unknown key 'forgee' (did you mean 'forge'?)."),
        ('forge = "github"\n[[component]]\n',
         "relbot.toml: forge is 'github'; allowed: gitlab, none"),
        ('[[component]]\nname = "k8s"\nversion_file = "versoin"\n',
         "relbot.toml: component 'k8s': version_file 'versoin' does not exist."),
        ('[[component]]\nname = "k8s"\ntag_fromat = "v{version}"\n',
         "relbot.toml: component 'k8s': unknown key 'tag_fromat' (did you mean 'tag_format'?)."),
        ('[[component]]\nname = "k8s"\ndefault_bump = "minro"\n',
         "relbot.toml: component 'k8s': default_bump is 'minro'; allowed: major, minor, "
         "patch (did you mean 'minor'?)."),
        ('[[component]]\nname = "k8s"\npolicies = "kubernetes"\n',
         "relbot.toml: component 'k8s': policies must be a list of strings, not str "
         "'kubernetes'."),
        ('[[component]]\nname = "k8s"\ntag_format = "release"\n',
         "relbot.toml: component 'k8s': tag_format 'release' must contain {version} and no "
         "other placeholder."),
        ('[[component]]\nname = "k8s"\nbump = { feature = "huge" }\n',
         "relbot.toml: component 'k8s': bump.feature is 'huge'; allowed: major, minor, patch."),
        ('[[component]]\nname = "k8s"\ntowncrier_config = "../../etc/passwd"\n',
         "relbot.toml: component 'k8s': towncrier_config '../../etc/passwd' points outside "
         "the repository."),
        ('[[component]]\nname = "a"\n[[component]]\nname = "a"\n',
         "relbot.toml: two components are named 'a'; each needs its own name."),
        ('[[component]]\nname = "a"\n[[component]]\n',
         "relbot.toml: component #2: 'name' is required when there are several components."),
        ("forge = \"none\"\n", "relbot.toml: no component is configured: add a [[component]] "
         "table."),
        ("forge = \n", "relbot.toml is not valid TOML"),
        ('[[component]]\nmax_fragment_bytes = true\n',
         "relbot.toml: component #1: max_fragment_bytes must be an integer, not bool True."),
    ],
)
@pytest.mark.reliability("Hostile configuration and policies")
def test_errors_name_file_and_key(tmp_path: Path, relbot_toml: str, message: str) -> None:
    """Every configuration error is one sentence naming the file and the key."""
    write(tmp_path, {"towncrier.toml": TOWNCRIER, "relbot.toml": relbot_toml})
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(message)
    assert info.value.exit_code == 2


def test_no_configuration_says_how_to_get_one(tmp_path: Path) -> None:
    """A repository without configuration is told about `relbot init`."""
    with pytest.raises(ConfigError, match="relbot init --preset"):
        load_config(tmp_path)


def test_choosing_a_component(tmp_path: Path) -> None:
    """Several components need --component; a misspelt name gets a suggestion."""
    write(tmp_path, {"towncrier.toml": TOWNCRIER, "relbot.toml":
                     '[[component]]\nname = "k8s"\n[[component]]\nname = "operator"\n'
                     'tag_format = "operator-v{version}"\n'})
    config = load_config(tmp_path)
    with pytest.raises(ConfigError, match=r"several components \(k8s, operator\)"):
        config.component(None)
    with pytest.raises(ConfigError, match="did you mean 'operator'"):
        config.component("opertor")


def test_every_option_is_a_field_and_documented() -> None:
    """The option tables and the dataclasses agree, and every option has a doc string."""
    component_fields = set(Component.__dataclass_fields__)
    assert {o.key for o in COMPONENT_OPTIONS} == component_fields
    config_fields = set(Config.__dataclass_fields__) - {"root", "source", "components"}
    assert {o.key for o in TOP_OPTIONS} == config_fields
    for option in (*TOP_OPTIONS, *COMPONENT_OPTIONS):
        assert len(option.doc) > 20, option.key
