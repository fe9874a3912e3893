"""Choosing the forge from the configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relbot.config import Component, Config
from relbot.forge import Forge, NoForge

if TYPE_CHECKING:
    from relbot.ci_env import CiEnv


def make_forge(config: Config, component: Component, ci: CiEnv) -> Forge:
    """The forge ``config`` asks for (GitLab is imported only when configured)."""
    if config.forge == "none" or not component.forge_release:
        return NoForge()  # forge_release = false: a tag pipeline publishes it (docs/ci.md)
    from relbot.forge.gitlab import gitlab_forge_for_release

    return gitlab_forge_for_release(config, component, ci)
