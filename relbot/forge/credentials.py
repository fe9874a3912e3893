"""Which token relbot uses for what, and how it travels: one place, pure functions.

Minimal version written by the trust helper with the agreed signatures; the
GitLab helper owns this module and the lead reconciles the two.

An MR pipeline uses ``RELBOT_MR_TOKEN`` (unprotected, masked, Developer,
``api``), a release job ``RELBOT_RELEASE_TOKEN`` (protected, Maintainer,
``api`` + ``write_repository``); ``RELBOT_GITLAB_TOKEN`` is accepted for both.
``variable`` names another variable, and must come from trusted configuration
(the target branch's, never the merge request's).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from relbot.errors import ConfigError

DEFAULT_VARIABLES: Mapping[str, tuple[str, ...]] = {
    "mr": ("RELBOT_MR_TOKEN", "RELBOT_GITLAB_TOKEN"),
    "release": ("RELBOT_RELEASE_TOKEN", "RELBOT_GITLAB_TOKEN"),
}


@dataclass(frozen=True)
class Token:
    """A token and the variable it came from; its value never shows in a repr."""

    variable: str
    value: str = field(repr=False)


def resolve_token(env: Mapping[str, str], purpose: Literal["mr", "release"],
                  variable: str | None = None) -> Token | None:
    """The token for ``purpose`` from ``env``, or ``None`` when no variable holds one.

    Surrounding whitespace (a newline pasted with the token) is stripped; a
    token with whitespace or control characters inside is refused in one
    sentence that names the variable, never the value.
    """
    names = (variable,) if variable else DEFAULT_VARIABLES[purpose]
    for name in names:
        raw = env.get(name)
        if raw is None or not raw.strip():
            continue
        value = raw.strip()
        if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7f for ch in value):
            from relbot.secrets import register

            register(raw)
            register(value)
            raise ConfigError(f"the token in {name} holds whitespace or control characters "
                              "inside it; set the variable to the token alone.")
        from relbot.secrets import register

        register(value)
        return Token(name, value)
    return None


def git_auth_env(token: Token) -> dict[str, str]:
    """Environment for ``git push`` that sends ``token`` in an HTTP header.

    Through ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``
    (git-config "ENVIRONMENT"), never in a URL or on a command line that could
    be printed or logged.
    """
    basic = base64.b64encode(f"oauth2:{token.value}".encode()).decode()
    from relbot.secrets import register

    register(basic)
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"}
