"""relbot/forge/credentials.py: which token, from which variable, masked, and where it may go.

Each sentence a user reads when a token is missing or refused is pinned here, because it
is the whole of the help they get in a failed pipeline; and every form a token takes
(as stored, stripped, as the Basic header) must be masked before anything prints.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from relbot.errors import ConfigError
from relbot.forge.credentials import (
    Token,
    candidates,
    git_auth_env,
    lacks_sentence,
    missing_token_reason,
    origin,
    push_auth_env,
    resolve_token,
)
from relbot.secrets import MASK, mask

secrets = pytest.mark.reliability("Secrets")


@pytest.fixture(autouse=True)
def _no_secret_known_before() -> Iterator[None]:
    """Each test starts with no registered secret (the registry is process-wide), so what
    a test finds masked was registered by the call it makes."""
    from relbot import secrets as registry

    saved = set(registry._registered)
    registry._registered.clear()
    yield
    registry._registered.clear()
    registry._registered.update(saved)


def test_candidates_in_order_without_repeats() -> None:
    assert candidates("mr") == ("RELBOT_MR_TOKEN", "RELBOT_GITLAB_TOKEN")
    assert candidates("release") == ("RELBOT_RELEASE_TOKEN", "RELBOT_GITLAB_TOKEN")
    assert candidates("mr", "OWN") == ("OWN", "RELBOT_MR_TOKEN", "RELBOT_GITLAB_TOKEN")
    assert candidates("mr", "RELBOT_GITLAB_TOKEN") == ("RELBOT_MR_TOKEN", "RELBOT_GITLAB_TOKEN")
    assert candidates("mr", "RELBOT_MR_TOKEN") == ("RELBOT_MR_TOKEN", "RELBOT_GITLAB_TOKEN")


def test_the_first_variable_with_a_token_wins() -> None:
    env = {"RELBOT_GITLAB_TOKEN": "legacy-1", "RELBOT_MR_TOKEN": "mr-token-1"}
    assert resolve_token(env, "mr") == Token("mr-token-1", "RELBOT_MR_TOKEN", "mr")
    assert resolve_token(env, "release") == Token("legacy-1", "RELBOT_GITLAB_TOKEN", "release")
    assert resolve_token({}, "mr") is None


@pytest.mark.parametrize("value", ["", "   \n", "$RELBOT_MR_TOKEN", "${UNSET_VARIABLE}"])
def test_empty_or_unexpanded_values_are_no_token(value: str) -> None:
    env = {"RELBOT_MR_TOKEN": value, "RELBOT_GITLAB_TOKEN": "fallback-token"}
    assert resolve_token(env, "mr") == Token("fallback-token", "RELBOT_GITLAB_TOKEN", "mr")


@secrets
def test_a_pasted_newline_is_stripped_and_both_forms_are_masked() -> None:
    token = resolve_token({"RELBOT_MR_TOKEN": "  glpat-Strip3d-Value\n"}, "mr")
    assert token == Token("glpat-Strip3d-Value", "RELBOT_MR_TOKEN", "mr")
    assert mask("token glpat-Strip3d-Value here") == f"token {MASK} here"
    assert "glpat-Strip3d-Value" not in mask("  glpat-Strip3d-Value\n")


@secrets
def test_a_token_with_whitespace_inside_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_token({"RELBOT_MR_TOKEN": "glpat-two words"}, "mr")
    assert str(caught.value) == ("RELBOT_MR_TOKEN holds whitespace or control characters "
                                 "inside the token: store the token alone, on one line.")
    assert mask("glpat-two words") == MASK  # registered before it was refused


def test_the_repr_hides_the_token() -> None:
    token = Token("glpat-Hidden-Repr", "RELBOT_MR_TOKEN", "mr")
    assert "glpat-Hidden-Repr" not in repr(token)
    assert str(token) == "Token(variable='RELBOT_MR_TOKEN', purpose='mr', value=*****)"


def test_missing_in_a_forks_pipeline() -> None:
    env = {"CI_MERGE_REQUEST_PROJECT_ID": "1", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "2",
           "GITLAB_CI": "true"}
    assert missing_token_reason(env, "mr") == (
        "no access token in RELBOT_MR_TOKEN or RELBOT_GITLAB_TOKEN: this is a fork's "
        "merge-request pipeline, which gets none of the target project's CI/CD variables "
        "(only CI_JOB_TOKEN, which cannot comment)")


@pytest.mark.parametrize("ci", [{"GITLAB_CI": "true"}, {"CI": "true"}])
def test_missing_on_an_unprotected_branch(ci: dict[str, str]) -> None:
    env = {**ci, "CI_MERGE_REQUEST_PROJECT_ID": "1", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "1",
           "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/x"}
    assert missing_token_reason(env, "mr", "OWN_TOKEN") == (
        "no access token in OWN_TOKEN or RELBOT_MR_TOKEN or RELBOT_GITLAB_TOKEN: branch "
        "feature/x is not protected, so a protected OWN_TOKEN is not passed to its pipeline; "
        "make OWN_TOKEN masked and hidden but not protected (role Developer, scope api)")
    env["CI_COMMIT_REF_NAME"] = "main"
    assert missing_token_reason(env, "release") == (
        "no access token in RELBOT_RELEASE_TOKEN or RELBOT_GITLAB_TOKEN: branch main is not "
        "protected, and the protected RELBOT_RELEASE_TOKEN is only passed to pipelines of "
        "protected branches")
    assert "this branch is not protected" in missing_token_reason(ci, "release")


@pytest.mark.parametrize("env", [{}, {"CI": "TRUE"}, {"CI": "1"},
                                 {"GITLAB_CI": "true", "CI_COMMIT_REF_PROTECTED": "true"}])
def test_missing_elsewhere_names_what_to_set(env: dict[str, str]) -> None:
    """Outside CI (only GitLab's exact `true` counts), or on a protected branch."""
    assert missing_token_reason(env, "release") == (
        "no access token in RELBOT_RELEASE_TOKEN or RELBOT_GITLAB_TOKEN: set "
        "RELBOT_RELEASE_TOKEN to a project access token (role Maintainer, scope api and "
        "write_repository) in Settings > CI/CD > Variables")


def test_the_403_sentence_names_role_and_scopes() -> None:
    assert lacks_sentence("release", "RELBOT_RELEASE_TOKEN", "creating the Release") == (
        "GitLab refused creating the Release (403): the token in RELBOT_RELEASE_TOKEN lacks "
        "the role or scope this needs: role Maintainer or higher and scope api and "
        "write_repository.")


@secrets
def test_git_gets_the_token_as_a_header_only() -> None:
    token = Token("glpat-Header-Token", "RELBOT_RELEASE_TOKEN", "release")
    basic = base64.b64encode(b"oauth2:glpat-Header-Token").decode()
    assert git_auth_env(token) == {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        "GIT_TERMINAL_PROMPT": "0",
    }
    assert mask(f"header {basic}") == f"header {MASK}"  # the encoded form is masked too
    assert git_auth_env(None) == {}


@pytest.mark.parametrize(("push", "server"), [
    ("https://gitlab.example/group/p.git", "https://gitlab.example"),
    ("https://gitlab.example:443/group/p.git", "https://gitlab.example/"),
    ("http://gitlab.example:8080/p.git", "http://gitlab.example:8080"),
])
def test_the_header_goes_to_the_jobs_own_instance(push: str, server: str) -> None:
    token = Token("glpat-Same-Host", "RELBOT_RELEASE_TOKEN", "release")
    assert push_auth_env(push, server, token) == git_auth_env(token)


@pytest.mark.parametrize(("push", "server"), [
    ("https://mirror.example/p.git", "https://gitlab.example"),
    ("https://gitlab.example:8443/p.git", "https://gitlab.example"),
    ("http://gitlab.example/p.git", "https://gitlab.example"),
    ("ssh://git@gitlab.example/p.git", "https://gitlab.example"),
    ("/srv/git/p.git", "https://gitlab.example"),
    ("https://user@gitlab.example/p.git", "https://gitlab.example"),
    ("https://:secret@gitlab.example/p.git", "https://gitlab.example"),
    ("https://user:secret@gitlab.example/p.git", "https://gitlab.example"),
    ("https://gitlab.example:port/p.git", "https://gitlab.example"),
    ("https://gitlab.example/p.git", ""),
])
def test_no_header_anywhere_else(push: str, server: str) -> None:
    token = Token("glpat-Other-Host", "RELBOT_RELEASE_TOKEN", "release")
    assert push_auth_env(push, server or None, token) == {}


def test_no_token_no_header() -> None:
    assert push_auth_env("https://gitlab.example/p.git", "https://gitlab.example", None) == {}


def test_origin_fills_in_default_ports_and_lowercases() -> None:
    assert origin("HTTPS://GitLab.Example/api/v4") == ("https", "gitlab.example", 443)
    assert origin("http://gitlab.example") == ("http", "gitlab.example", 80)
    assert origin("https://gitlab.example:8443/") == ("https", "gitlab.example", 8443)
    assert origin("not a url") == ("", "", 80)
