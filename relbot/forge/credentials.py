"""The one place that decides which GitLab token relbot uses, and how it travels.

relbot needs two tokens, because one cannot serve both jobs (docs/ci.md):

* ``mr``: ``RELBOT_MR_TOKEN``: masked, hidden, **not** protected, role Developer,
  scope ``api``. GitLab gives protected variables only to pipelines of protected
  branches and tags ("CI/CD variables", *Protect a CI/CD variable*), and merge
  request pipelines of ordinary branches are not, so a protected MR token never
  reaches the check. Developer is the least role that may resolve a thread
  ("Roles and permissions": *Resolve a merge request thread*: Developer).
* ``release``: ``RELBOT_RELEASE_TOKEN``: protected, role Maintainer, scopes
  ``api`` and ``write_repository`` (push the release commit and the tag to a
  protected branch; create the Release).

``RELBOT_GITLAB_TOKEN``, relbot 0.1's single variable, is accepted for both. The
same :class:`Token` authenticates API calls (python-gitlab's ``private_token``)
and ``git push`` (:func:`git_auth_env`), so the token is never in a URL, an
argument list or a log line.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from relbot.errors import ConfigError
from relbot.secrets import register

Purpose = Literal["mr", "release"]

LEGACY_VARIABLE = "RELBOT_GITLAB_TOKEN"
VARIABLES: dict[Purpose, str] = {"mr": "RELBOT_MR_TOKEN", "release": "RELBOT_RELEASE_TOKEN"}
#: What each token needs (docs/ci.md); named in the sentence a 403 turns into.
NEEDS: dict[Purpose, tuple[str, tuple[str, ...]]] = {
    "mr": ("Developer", ("api",)),
    "release": ("Maintainer", ("api", "write_repository")),
}
# A job variable that refers to an unset variable: GitLab leaves ``$NAME`` in the value.
_UNEXPANDED = re.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$")
_TOKEN_CHARS = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class Token:
    """A GitLab access token, where it came from and what it is for; its repr hides it."""

    value: str = field(repr=False)
    variable: str
    purpose: Purpose

    def __repr__(self) -> str:
        return f"Token(variable={self.variable!r}, purpose={self.purpose!r}, value=*****)"

    __str__ = __repr__


def candidates(purpose: Purpose, variable: str | None = None) -> tuple[str, ...]:
    """The variables looked at, in order: the configured one, the purpose's, the legacy one."""
    names: list[str] = []
    for name in (variable if variable != LEGACY_VARIABLE else None, VARIABLES[purpose],
                 LEGACY_VARIABLE):
        if name and name not in names:
            names.append(name)
    return tuple(names)


def resolve_token(env: Mapping[str, str], purpose: Purpose,
                  variable: str | None = None) -> Token | None:
    """The token for ``purpose``, or ``None`` where no candidate variable holds one.

    Surrounding whitespace (a trailing newline pasted into the variable) is
    stripped; a value with whitespace or control characters inside is refused
    with a sentence that does not show it.
    """
    for name in candidates(purpose, variable):
        raw = env.get(name)
        if raw is None:
            continue
        register(raw)
        value = raw.strip()
        if not value or _UNEXPANDED.match(value):
            continue
        if not _TOKEN_CHARS.match(value):
            raise ConfigError(f"{name} holds whitespace or control characters inside the "
                              "token: store the token alone, on one line.")
        register(value)
        return Token(value, name, purpose)
    return None


def missing_token_reason(env: Mapping[str, str], purpose: Purpose,
                         variable: str | None = None) -> str:
    """Why no token was found, naming the variable, as one clause (no final full stop)."""
    names = candidates(purpose, variable)
    wanted = names[0]
    listed = " or ".join(names)
    target = env.get("CI_MERGE_REQUEST_PROJECT_ID")
    source = env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID")
    if target and source and target != source:
        return (f"no access token in {listed}: this is a fork's merge-request pipeline, which "
                "gets none of the target project's CI/CD variables (only CI_JOB_TOKEN, which "
                "cannot comment)")
    in_ci = env.get("GITLAB_CI") == "true" or env.get("CI") == "true"
    if in_ci and env.get("CI_COMMIT_REF_PROTECTED") != "true":
        ref = env.get("CI_COMMIT_REF_NAME") or env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
        where = f"branch {ref}" if ref else "this branch"
        if purpose == "mr":
            return (f"no access token in {listed}: {where} is not protected, so a protected "
                    f"{wanted} is not passed to its pipeline; make {wanted} masked and hidden "
                    "but not protected (role Developer, scope api)")
        return (f"no access token in {listed}: {where} is not protected, and the protected "
                f"{wanted} is only passed to pipelines of protected branches")
    role, scopes = NEEDS[purpose]
    return (f"no access token in {listed}: set {wanted} to a project access token (role "
            f"{role}, scope {' and '.join(scopes)}) in Settings > CI/CD > Variables")


def git_auth_env(token: Token | None) -> dict[str, str]:
    """Environment that makes ``git`` send ``token`` as an HTTP header, nothing else.

    ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` (git-config(1),
    *ENVIRONMENT*) set ``http.extraHeader`` for this process only: the token is
    in no URL, no argument list, no config file. GitLab accepts an access token
    over HTTPS as the password of any user name ("Project access tokens": *use
    the token as the password*); ``oauth2`` is the name GitLab's docs use.
    """
    if token is None:
        return {}
    basic = base64.b64encode(f"oauth2:{token.value}".encode()).decode()
    register(basic)
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        "GIT_TERMINAL_PROMPT": "0",
    }


def push_auth_env(push_url: str, server_url: str | None,
                  token: Token | None) -> dict[str, str]:
    """:func:`git_auth_env` for a push to the GitLab this job runs on, nothing otherwise.

    The token goes only to ``CI_SERVER_URL``'s scheme, host and port, the rule
    ``relbot.mr.push_target`` follows too: a remote elsewhere (a mirror, a local
    path, a URL with its own ``user:password@``) gets no header.
    """
    from urllib.parse import urlsplit

    if token is None or not server_url:
        return {}
    push, server = urlsplit(push_url), urlsplit(server_url)
    if push.scheme not in ("http", "https") or push.username or push.password:
        return {}
    try:
        same = ((push.scheme, push.hostname, push.port or _PORTS[push.scheme])
                == (server.scheme, server.hostname, server.port or _PORTS.get(server.scheme)))
    except ValueError:  # a port that is not a number
        return {}
    return git_auth_env(token) if same and push.hostname else {}


_PORTS = {"http": 80, "https": 443}


def lacks_sentence(purpose: Purpose, variable: str, action: str) -> str:
    """The one sentence a 403 becomes: which role or scope the token lacks."""
    role, scopes = NEEDS[purpose]
    return (f"GitLab refused {action} (403): the token in {variable} lacks the role or scope "
            f"this needs: role {role} or higher and scope {' and '.join(scopes)}.")


def origin(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of ``url`` (default ports filled in)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port
