"""The trust boundary (issue 11): a hostile merge request cannot steer relbot.

Each test plays a contributor who changes what relbot reads: the configuration,
the towncrier template, a committed link, a policy title, a token with a
newline, a nested TOML bomb. Real repositories with a bare remote; the GitLab
stand-in over HTTP; a second HTTP server on 127.0.0.1 plays the attacker's host.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relbot.gitlab_standin import GitLabStandIn
from tests.conftest import Repo, git, make_repo, run, yaook_like_files
from tests.gitlab_fixtures import (
    FRAGMENTS,
    CutRepo,
    MrRepo,
    cast,
    ci,
    fragment,
    mr_repo,
    relbot_toml,
)

hostile = pytest.mark.reliability("Hostile configuration and policies")
secrets_case = pytest.mark.reliability("Secrets")


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str]

    def _any(self) -> None:
        self.seen.append(f"{self.command} {self.path} {dict(self.headers)}")
        body = b'{"id": 1, "username": "attacker"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _any

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def attacker() -> Iterator[tuple[str, list[str]]]:
    """A second HTTP server on 127.0.0.1 that records every request it gets."""
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _comment_bodies(job: MrRepo) -> str:
    return "\n".join(note.body for d in job.discussions() for note in d.notes)


# -- 11.1: only the fragments come from the MR ---------------------------------------------


@hostile
def test_mr_retargeting_gitlab_url_and_token_env_sends_nothing_elsewhere(
        tmp_path: Path, gitlab_standin: GitLabStandIn, monkeypatch: pytest.MonkeyPatch,
        attacker: tuple[str, list[str]]) -> None:
    """An MR that points gitlab_url at its host and gitlab_token_env at another variable:
    no request reaches that host, and neither the token nor the variable shows anywhere."""
    url, seen = attacker
    job = mr_repo(tmp_path, gitlab_standin, monkeypatch)
    secret = "deploy-secret-0123456789"
    monkeypatch.setenv("DEPLOY_KEY", secret)
    config = (job.repo.path / "relbot.toml").read_text()
    job.commit({"relbot.toml": f'gitlab_url = "{url}"\ngitlab_token_env = "DEPLOY_KEY"\n'
                + config, **fragment()}, "Retarget relbot")
    result = job.check()
    assert seen == []
    token = cast(gitlab_standin).bot_token
    everything = result.out + result.err + _comment_bodies(job)
    assert secret not in everything and token not in everything
    assert "DEPLOY_KEY" not in everything and url not in everything
    assert result.code == 0, everything
    assert len(job.relbot_threads()) == 1  # the comment went to the job's own GitLab
    assert "takes effect after merge" in result.out


@hostile
def test_mr_template_running_os_popen_never_runs(tmp_path: Path, gitlab_standin: GitLabStandIn,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A towncrier template added by the MR is never rendered: nothing runs, nothing shows."""
    job = mr_repo(tmp_path, gitlab_standin, monkeypatch)
    witness = tmp_path / "pwned"
    towncrier = (job.repo.path / "towncrier.toml").read_text()
    evil = ("{{ cycler.__init__.__globals__.os.popen('touch " + str(witness)
            + "; echo POPEN-OUTPUT-$RELBOT_GITLAB_TOKEN').read() }}\n")
    # A Markdown changelog, so that the comment's Markdown preview would use the template.
    towncrier = towncrier.replace("[tool.towncrier]", '[tool.towncrier]\ntemplate = "evil.md"',
                                  1).replace('filename = "CHANGELOG.rst"',
                                             'filename = "CHANGELOG.md"')
    job.commit({"towncrier.toml": towncrier, "evil.md": evil, **fragment()}, "Template")
    result = job.check()
    assert not witness.exists()
    everything = result.out + result.err + _comment_bodies(job)
    assert "POPEN-OUTPUT" not in everything
    assert cast(gitlab_standin).bot_token not in everything
    assert result.code == 0, everything
    assert "A new thing." in _comment_bodies(job)  # rendered with the target's template


@hostile
def test_trusted_template_is_sandboxed_too(yaook_repo: Repo, tmp_path: Path) -> None:
    """Even the project's own template cannot reach Python: one sentence, exit 2."""
    witness = tmp_path / "pwned"
    towncrier = (yaook_repo.path / "towncrier.toml").read_text().replace(
        "[tool.towncrier]", '[tool.towncrier]\ntemplate = "changelog.rst.j2"', 1)
    yaook_repo.write("towncrier.toml", towncrier)
    yaook_repo.write("changelog.rst.j2", "{{ cycler.__init__.__globals__.os.popen('touch "
                     + str(witness) + "').read() }}\n")
    yaook_repo.write(f"{FRAGMENTS}/1.feature", "Thing.\n")
    yaook_repo.git("add", "-A")  # only tracked fragments are pending
    result = run(["notes"], yaook_repo.path)
    assert result.code == 2, result.out + result.err
    assert not witness.exists()
    assert "the sandbox forbids" in result.err and "Traceback" not in result.err


@hostile
@pytest.mark.parametrize(("template", "says"), [
    ("../outside.j2", "template '../outside.j2' points outside the repository"),
    ("linked.j2", "template 'linked.j2' is a symbolic link"),
])
def test_template_outside_the_repository_is_a_configuration_error(
        yaook_repo: Repo, tmp_path: Path, template: str, says: str) -> None:
    """A template path that leaves the repository, or a link out of it, is refused."""
    outside = tmp_path / "outside.j2"
    outside.write_text("{{ versiondata.version }}\n")
    (yaook_repo.path / "linked.j2").symlink_to(outside)
    towncrier = (yaook_repo.path / "towncrier.toml").read_text().replace(
        "[tool.towncrier]", f'[tool.towncrier]\ntemplate = "{template}"', 1)
    yaook_repo.write("towncrier.toml", towncrier)
    yaook_repo.write(f"{FRAGMENTS}/1.feature", "Thing.\n")
    yaook_repo.git("add", "-A")  # only tracked fragments are pending
    result = run(["notes"], yaook_repo.path)
    assert result.code == 2, result.out + result.err
    assert says in result.err, result.err
    assert "Traceback" not in result.err


@hostile
def test_broken_trusted_template_is_one_sentence(yaook_repo: Repo) -> None:
    """A template with a syntax error: exit 2, one sentence naming the line."""
    towncrier = (yaook_repo.path / "towncrier.toml").read_text().replace(
        "[tool.towncrier]", '[tool.towncrier]\ntemplate = "broken.j2"', 1)
    yaook_repo.write("towncrier.toml", towncrier)
    yaook_repo.write("broken.j2", "line one\n{% for x in %}\n")
    yaook_repo.write(f"{FRAGMENTS}/1.feature", "Thing.\n")
    yaook_repo.git("add", "-A")  # only tracked fragments are pending
    result = run(["notes"], yaook_repo.path)
    assert result.code == 2
    assert result.err.startswith("relbot: the towncrier template broken.j2 cannot be "
                                 "rendered: it is broken:")
    assert "(line 2)" in result.err and "internal error" not in result.err


@hostile
def test_mr_that_breaks_a_steering_file_fails_with_the_old_one_in_force(
        yaook_repo: Repo) -> None:
    """An invalid new relbot.toml is reported; the check itself ran on the target's config."""
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "feature")
    config = (yaook_repo.path / "relbot.toml").read_text()
    yaook_repo.write("relbot.toml", config + "colour = 1\n")
    yaook_repo.write(f"{FRAGMENTS}/7.feature", "Thing.\n")
    yaook_repo.commit_all("Break the config")
    result = run(["mr", "check", "--no-comment", "--iid", "7", "--base", base], yaook_repo.path)
    assert result.code == 1, result.out + result.err
    assert "[FAIL] steering files: relbot.toml" in result.out
    assert "unknown key 'colour'" in result.out
    assert "[ok  ] fragment present: docs/_releasenotes/7.feature" in result.out


def test_base_without_configuration_is_one_sentence(tmp_path: Path) -> None:
    """An MR that introduces relbot is checked by nothing it brings itself."""
    files = yaook_like_files()
    config = files.pop("relbot.toml")
    repo = make_repo(tmp_path, files)
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "adopt")
    repo.write("relbot.toml", config)
    repo.commit_all("Adopt relbot")
    result = run(["mr", "check", "--no-comment", "--iid", "3", "--base", base], repo.path)
    assert result.code == 2
    assert "has no relbot configuration" in result.err
    assert "an MR cannot configure its own check" in result.err


# -- 11.4: outputs never follow links ------------------------------------------------------


@hostile
def test_symlinked_junit_report_leaves_its_target_alone(yaook_repo: Repo,
                                                        tmp_path: Path) -> None:
    """A committed relbot-junit.xml -> outside file: the report replaces the link."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "feature")
    (yaook_repo.path / "relbot-junit.xml").symlink_to(victim)
    yaook_repo.write(f"{FRAGMENTS}/9.fix", "Fix.\n")
    yaook_repo.commit_all("Link")
    report = yaook_repo.path / "relbot-junit.xml"
    result = run(["mr", "check", "--no-comment", "--iid", "9", "--base", base,
                  "--junit", str(report)], yaook_repo.path)
    assert result.code == 0, result.out + result.err
    assert victim.read_text() == "precious\n"
    assert not report.is_symlink()
    assert "<testsuites" in report.read_text()


@hostile
def test_release_commit_reads_the_changelog_from_git_not_through_a_link(
        yaook_repo: Repo, tmp_path: Path) -> None:
    """A changelog committed as a link to a secret: the cut refuses; the secret is in no commit."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT\n")
    (yaook_repo.path / "CHANGELOG.rst").unlink()
    (yaook_repo.path / "CHANGELOG.rst").symlink_to(secret)
    yaook_repo.write(f"{FRAGMENTS}/1.feature", "Thing.\n")
    yaook_repo.commit_all("Link the changelog")
    result = run(["cut", "--yes", "--no-push", "--date", "2024-10-01"], yaook_repo.path)
    assert result.code == 2, result.out + result.err
    assert "symbolic link" in result.err
    log = yaook_repo.git("log", "--all", "-p")
    assert "TOP-SECRET-CONTENT" not in log
    assert secret.read_text() == "TOP-SECRET-CONTENT\n"


# -- 11.6: untrusted text stays text -------------------------------------------------------


@hostile
def test_injected_start_marker_is_inert_in_the_changelog(yaook_repo: Repo,
                                                         tmp_path: Path) -> None:
    """A policy title (or anything in the notes) carrying the start marker cannot move it."""
    from relbot.notes import Notes, write_changelog
    from relbot.project import Project

    project = Project(yaook_repo.path)
    marker = ".. towncrier release notes start"
    text = ("Supported versions\n------------------\n\n"
            f"Kubernetes\n{marker}\n\n- 1.30\n")
    (tmp_path / "CHANGELOG.rst").write_text(
        (yaook_repo.path / "CHANGELOG.rst").read_text())
    changelog = write_changelog(project.component, project.settings,
                                Notes("v9.0.0", text, "rst"), tmp_path)
    assert changelog.read_text().count(marker) == 1


@hostile
def test_fragment_underline_cannot_open_a_section(yaook_repo: Repo) -> None:
    """A fragment whose second line underlines the first renders as text, not a section."""
    yaook_repo.write(f"{FRAGMENTS}/1.feature", "Pwned\n=====\n\nMore text.\n")
    yaook_repo.git("add", "-A")  # only tracked fragments are pending
    result = run(["notes"], yaook_repo.path)
    assert result.code == 0, result.err
    assert all(line.strip() != "=====" for line in result.out.splitlines()), result.out
    assert "\\=====" in result.out


@pytest.mark.reliability("Hostile fragments")
def test_quick_actions_in_untrusted_text_are_inert() -> None:
    """A fragment line starting with / cannot become a GitLab quick action in the comment."""
    from relbot import markdown_safety as safe

    block = safe.code_block("Fix.\n```\n/close\n  /assign @me\n")
    assert not any(line.lstrip().startswith("/") for line in block.splitlines())


# -- 11.7: secrets ---------------------------------------------------------------------------


@secrets_case
def test_masking_covers_repr_escapes_and_url_encoding() -> None:
    """A registered token is hidden raw, in repr, JSON-escaped and percent-encoded."""
    import json
    from urllib.parse import quote, quote_plus

    from relbot import secrets

    token = "glpat-a+b/c d\n"
    secrets.register(token)
    for shown in (token, token.strip(), repr(token), json.dumps(token), quote(token, safe=""),
                  quote_plus(token), repr(token.strip())):
        assert "glpat-a" not in secrets.mask(f"header value {shown} refused")


@secrets_case
def test_token_with_trailing_newline_is_stripped_and_never_shown(
        tmp_path: Path, gitlab_standin: GitLabStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    """RELBOT_GITLAB_TOKEN pasted with a newline still comments, and never leaks."""
    job = mr_repo(tmp_path, gitlab_standin, monkeypatch)
    token = cast(gitlab_standin).bot_token
    monkeypatch.setenv("RELBOT_GITLAB_TOKEN", token + "\n")
    job.commit(fragment())
    result = job.check()
    assert token not in result.out + result.err
    assert result.code == 0, result.out + result.err
    assert "internal error" not in result.err
    assert len(job.relbot_threads()) == 1


@secrets_case
def test_token_resolution_and_git_header() -> None:
    """MR and release tokens, the trusted override, and a header that is no URL."""
    from relbot.errors import ConfigError
    from relbot.forge.credentials import git_auth_env, resolve_token

    env = {"RELBOT_MR_TOKEN": " mr-token-1 ", "RELBOT_GITLAB_TOKEN": "shared-token",
           "RELBOT_RELEASE_TOKEN": "", "OTHER": "other-token"}
    mr = resolve_token(env, "mr")
    assert mr is not None and (mr.variable, mr.value) == ("RELBOT_MR_TOKEN", "mr-token-1")
    release = resolve_token(env, "release")
    assert release is not None and release.variable == "RELBOT_GITLAB_TOKEN"
    other = resolve_token(env, "mr", "OTHER")
    assert other is not None and other.value == "other-token"
    assert resolve_token({}, "release") is None
    assert "mr-token-1" not in repr(mr)
    with pytest.raises(ConfigError, match="RELBOT_MR_TOKEN holds whitespace"):
        resolve_token({"RELBOT_MR_TOKEN": "two words"}, "mr")
    header = git_auth_env(mr)
    assert header["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert "mr-token-1" not in "".join(header.values())  # base64 inside a header, no URL


# -- 11.8: bounded input ------------------------------------------------------------------


def _with_config(repo: Repo, extra_top: str = "", extra_component: str = "") -> None:
    import re

    config = (repo.path / "relbot.toml").read_text()
    if extra_component:
        key = extra_component.split("=", 1)[0].strip()
        config = re.sub(rf"^{key} = .*\n", "", config, flags=re.MULTILINE)
        config = config.replace("[[component]]\n", "[[component]]\n" + extra_component, 1)
    repo.write("relbot.toml", extra_top + config)


@hostile
@pytest.mark.parametrize(("top", "component", "says"), [
    ("bomb = " + "[" * 5000 + "]" * 5000 + "\n", "", "nests tables or arrays too deeply"),
    ("bomb = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", "",
     "nests tables or arrays too deeply"),
    ("x." + ".".join(["a"] * 200) + " = 1\n", "", "nests tables or arrays too deeply"),
    ("gitlab_timeout = 1000000000000000000000\n", "", "gitlab_timeout is"),
    ("", "max_fragment_bytes = 9223372036854775807\n",
     "max_fragment_bytes must be a number of bytes from 1 to"),
    ("", 'tag_format = "v{version}-{version.major}"\n', "tag_format 'v{version}-{version"),
    ("", 'notes_version_format = "{version}{version.__class__}"\n',
     "notes_version_format '{version}{version.__class__}' must contain {version} and no"),
    ("", 'tag_format = "v{0}{version}"\n', "must contain {version} and no other"),
    ("", 'tag_format = "{version:>999999999}"\n', "must contain {version} and no other"),
    ("", 'commit_message = "Release {tag.__class__}"\n', "commit_message may only use"),
    ("", 'release_branch_format = "release/{major[0]}"\n', "may only use {major} and {minor}"),
])
def test_absurd_configuration_is_one_sentence(yaook_repo: Repo, top: str, component: str,
                                              says: str) -> None:
    """Bombs, huge numbers and format strings with attributes: exit 2, one sentence."""
    _with_config(yaook_repo, top, component)
    result = run(["next-version"], yaook_repo.path)
    assert result.code == 2, result.out + result.err
    assert says in result.err, result.err
    assert "internal error" not in result.err and len(result.err.splitlines()) == 1


@hostile
def test_nested_towncrier_configuration_is_one_sentence(yaook_repo: Repo) -> None:
    """The same bound holds for towncrier's configuration."""
    path = yaook_repo.path / "towncrier.toml"
    path.write_text("bomb = " + "[" * 5000 + "]" * 5000 + "\n" + path.read_text())
    result = run(["fragment", "lint"], yaook_repo.path)
    assert result.code == 2
    assert "nests tables or arrays too deeply" in result.err


# -- 12.3 / 13.3 / 15.16 / 16: the MR check's own logic ---------------------------------------


def _branch(repo: Repo, name: str, files: dict[str, str], message: str,
            start: str = "main") -> str:
    repo.git("checkout", "-q", "-b", name, start)
    for path, text in files.items():
        repo.write(path, text)
    return repo.commit_all(message)


def _merged_result(repo: Repo, source: str, target: str = "main") -> str:
    """GitLab's temporary merge commit of ``source`` into ``target``, checked out detached."""
    repo.git("checkout", "-q", "--detach", target)
    repo.git("merge", "-q", "--no-ff", "-m", "merge result", source)
    return repo.git("rev-parse", "HEAD")


def _merged_env(monkeypatch: pytest.MonkeyPatch, iid: int, base: str, source_sha: str,
                branch: str) -> None:
    for key, value in {"CI_MERGE_REQUEST_IID": str(iid),
                       "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
                       "CI_MERGE_REQUEST_EVENT_TYPE": "merged_result",
                       "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": source_sha,
                       "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": branch,
                       "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}.items():
        monkeypatch.setenv(key, value)


def test_merged_result_pipeline_reports_only_the_mrs_own_fragments(
        yaook_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The target gained another MR's fragment: only this MR's fragment is its own."""
    base = yaook_repo.git("rev-parse", "HEAD")
    source = _branch(yaook_repo, "mine", {f"{FRAGMENTS}/20.feature": "Mine.\n"}, "Mine")
    yaook_repo.git("checkout", "-q", "main")
    yaook_repo.write(f"{FRAGMENTS}/19.fix", "Theirs.\n")
    yaook_repo.commit_all("Another MR, merged meanwhile")
    _merged_result(yaook_repo, source)
    _merged_env(monkeypatch, 20, base, source, "mine")
    result = run(["mr", "check", "--no-comment"], yaook_repo.path)
    assert result.code == 0, result.out + result.err
    assert "[ok  ] fragment present: docs/_releasenotes/20.feature\n" in result.out
    assert "wrong-number" not in result.out
    assert "relbot mr check of !20" in result.out


def test_fix_in_a_merged_result_pipeline_commits_on_the_mrs_head(
        yaook_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """--fix pushes a commit whose parent is the MR's head, never the merge commit."""
    base = yaook_repo.git("rev-parse", "HEAD")
    source = _branch(yaook_repo, "mine", {f"{FRAGMENTS}/x.feature.thing": "Mine.\n"}, "Mine")
    yaook_repo.push("mine")
    yaook_repo.git("checkout", "-q", "main")
    yaook_repo.write("other.txt", "other\n")
    yaook_repo.commit_all("Another MR, merged meanwhile")
    merge = _merged_result(yaook_repo, source)
    _merged_env(monkeypatch, 21, base, source, "mine")
    result = run(["mr", "check", "--no-comment", "--fix"], yaook_repo.path)
    assert result.code == 0, result.out + result.err
    pushed = git(yaook_repo.remote, "rev-parse", "mine")
    assert git(yaook_repo.remote, "rev-parse", "mine^") == source
    assert pushed != merge
    assert git(yaook_repo.remote, "ls-tree", "--name-only", "mine",
               f"{FRAGMENTS}/") .splitlines().count(f"{FRAGMENTS}/21.feature.thing") == 1
    assert "other.txt" not in git(yaook_repo.remote, "ls-tree", "--name-only", "mine")


def test_only_added_fragments_count(mr_repo_fixture: tuple[Repo, str]) -> None:
    """Deleting or editing another MR's fragment is no fragment of this MR (issue 16)."""
    repo, base = mr_repo_fixture
    repo.write(f"{FRAGMENTS}/30.feature", "Edited.\n")
    (repo.path / FRAGMENTS / "31.fix").unlink()
    repo.commit_all("Touch other fragments")
    result = run(["mr", "check", "--no-comment", "--iid", "40", "--base", base], repo.path)
    assert result.code == 1, result.out
    assert "[FAIL] fragment present: missing" in result.out


@pytest.fixture
def mr_repo_fixture(yaook_repo: Repo) -> tuple[Repo, str]:
    """main holds fragments 30.feature and 31.fix; branch feature starts there."""
    yaook_repo.write(f"{FRAGMENTS}/30.feature", "Thirty.\n")
    yaook_repo.write(f"{FRAGMENTS}/31.fix", "Thirty-one.\n")
    base = yaook_repo.commit_all("Two fragments")
    yaook_repo.git("checkout", "-q", "-b", "feature")
    yaook_repo.write("roles/thing.yaml", "thing: 1\n")
    return yaook_repo, base


def test_mr_to_another_branch_needs_no_fragment(mr_repo_fixture: tuple[Repo, str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Only MRs to the default branch and hotfix MRs need a fragment."""
    repo, base = mr_repo_fixture
    repo.commit_all("Thing")
    monkeypatch.setenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "staging")
    result = run(["mr", "check", "--no-comment", "--iid", "41", "--base", base], repo.path)
    assert result.code == 0, result.out
    assert "not needed: the MR targets staging" in result.out
    monkeypatch.setenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
    result = run(["mr", "check", "--no-comment", "--iid", "41", "--base", base], repo.path)
    assert result.code == 1 and "fragment present: missing" in result.out


def test_hotfix_mr_keeps_the_original_number_as_a_warning(
        mr_repo_fixture: tuple[Repo, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """In a hotfix MR a fragment of the original MR is a warning; elsewhere an error."""
    repo, base = mr_repo_fixture
    repo.write(f"{FRAGMENTS}/hotfix/12.fix", "Backported fix.\n")
    repo.commit_all("Backport")
    monkeypatch.setenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "release/v8.0")
    result = run(["mr", "check", "--no-comment", "--iid", "42", "--base", base], repo.path)
    assert result.code == 0, result.out
    assert "warning: the fragment names MR 12, not this hotfix MR 42" in result.out
    monkeypatch.setenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
    result = run(["mr", "check", "--no-comment", "--iid", "42", "--base", base], repo.path)
    assert result.code == 1
    assert "the fragment names MR 12, but this is MR 42 [wrong-number]" in result.out


def test_mr_changing_the_changelog_needs_no_fragment(mr_repo_fixture: tuple[Repo, str]) -> None:
    """A merge-back or a hand correction edits the changelog itself: no fragment needed."""
    repo, base = mr_repo_fixture
    with (repo.path / "CHANGELOG.rst").open("a") as handle:
        handle.write("\nv8.0.3\n------\n\n- A hotfix.\n")
    repo.commit_all("Sync the changelog")
    result = run(["mr", "check", "--no-comment", "--iid", "43", "--base", base], repo.path)
    assert result.code == 0, result.out
    assert "not needed: the MR changes CHANGELOG.rst itself" in result.out


def test_fix_renames_any_non_numeric_number(mr_repo_fixture: tuple[Repo, str]) -> None:
    """--fix renames `abc.feature` as it renames `x.feature`."""
    repo, base = mr_repo_fixture
    repo.write(f"{FRAGMENTS}/my-change.feature.md", "Thing.\n")
    repo.commit_all("Thing")
    repo.git("push", "-q", "-u", "origin", "feature")
    result = run(["mr", "check", "--no-comment", "--iid", "44", "--base", base], repo.path)
    assert result.code == 1 and "placeholder 'my-change' must become the MR number" in result.out
    result = run(["mr", "check", "--no-comment", "--fix", "--iid", "44", "--base", base],
                 repo.path)
    assert result.code == 0, result.out + result.err
    assert (repo.path / FRAGMENTS / "44.feature.md").is_file()


def test_local_run_with_a_gitlab_preset_prints_checks_then_why_no_comment(
        mr_repo_fixture: tuple[Repo, str], tmp_path: Path) -> None:
    """`mr check --iid N --base REF` outside CI: the checks, then why no comment (15.16)."""
    repo, base = mr_repo_fixture
    config = (repo.path / "relbot.toml").read_text().replace('forge = "none"',
                                                              'forge = "gitlab"')
    repo.git("checkout", "-q", "main")
    repo.write("relbot.toml", config)
    base = repo.commit_all("GitLab")
    repo.git("checkout", "-q", "-b", "local")
    repo.write(f"{FRAGMENTS}/45.feature", "Thing.\n")
    repo.commit_all("Thing")
    junit = tmp_path / "report.xml"
    result = run(["mr", "check", "--iid", "45", "--base", base, "--junit", str(junit)],
                 repo.path)
    assert result.code == 0, result.out + result.err
    assert "verdict: all checks passed" in result.out
    assert "comment: not posted: no GitLab URL outside CI" in result.err
    assert 'failures="0"' in junit.read_text()


# -- constant number of git processes ---------------------------------------------------------


def test_git_tree_reads_many_blobs_with_two_processes(yaook_repo: Repo,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """ls-tree once, cat-file --batch once, whatever the number of files read."""
    from relbot.tree import GitTree

    for number in range(40):
        yaook_repo.write(f"{FRAGMENTS}/{number + 1}.fix", f"Fix {number}.\n")
    rev = yaook_repo.commit_all("Many")
    started: list[list[str]] = []
    real_popen = subprocess.Popen.__init__

    def counting(self: subprocess.Popen[bytes], args: list[str], *rest: Any,
                 **kwargs: Any) -> None:
        started.append(list(args))
        real_popen(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", counting)
    with GitTree(yaook_repo.path, rev) as tree:
        texts = [tree.read_text(f"{FRAGMENTS}/{n + 1}.fix", 1000) for n in range(40)]
    assert texts[39] == "Fix 39.\n"
    assert len(started) == 2, started


def test_mr_check_runs_without_python_gitlab_and_the_work_tree_config_unread(
        mr_repo_fixture: tuple[Repo, str]) -> None:
    """The MR's relbot.toml is not even opened: replace it by a link to nowhere."""
    repo, base = mr_repo_fixture
    repo.write(f"{FRAGMENTS}/46.feature", "Thing.\n")
    repo.commit_all("Thing")
    (repo.path / "relbot.toml").unlink()
    (repo.path / "relbot.toml").symlink_to("/nonexistent/relbot.toml")
    code = ("import sys\nfrom relbot.cli import main\n"
            f"sys.argv = ['relbot', 'mr', 'check', '--no-comment', '--iid', '46', "
            f"'--base', {base!r}]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    print('EXIT', exc.code)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=repo.path, capture_output=True,
                            text=True, check=False)
    assert "EXIT 0" in result.stdout, result.stdout + result.stderr


@hostile
@pytest.mark.parametrize("bomb", [
    "bomb = " + "[" * 5000 + "]" * 5000 + "\n",
    "x." + ".".join(["a"] * 3000) + " = 1\n",
])
def test_nested_policy_file_is_one_sentence(tmp_path: Path, bomb: str) -> None:
    """A policy file built to exhaust the parser's recursion: exit 2, one sentence."""
    (tmp_path / "relbot.toml").write_text('[[component]]\nname = "k"\n'
                                          'policies = ["policies/bomb.toml"]\n')
    (tmp_path / "towncrier.toml").write_text('[tool.towncrier]\ndirectory = "changes"\n')
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "bomb.toml").write_text('kind = "support-window"\n' + bomb)
    result = run(["policy", "check"], tmp_path)
    assert result.code == 2, result.out + result.err
    assert result.err == "relbot: policies/bomb.toml is nested too deeply to be a policy file.\n"


@pytest.mark.reliability("Hostile fragments")
@pytest.mark.parametrize(("name", "text"), [
    ("data.json", '{"a": ' + "[" * 100000 + "]" * 100000 + "}\n"),
    ("data.yaml", "a: " + "[" * 100000 + "]" * 100000 + "\n"),
])
def test_nested_probed_file_is_a_finding(tmp_path: Path, name: str, text: str) -> None:
    """A probed file (data from the MR) nested to exhaust recursion: a finding, no crash."""
    (tmp_path / "relbot.toml").write_text(
        '[[component]]\nname = "k"\npolicies = ["kubernetes"]\n'
        f'probes = [{{ policy = "kubernetes", file = "{name}", key = "a" }}]\n')
    (tmp_path / "towncrier.toml").write_text('[tool.towncrier]\ndirectory = "changes"\n')
    (tmp_path / name).write_text(text)
    result = run(["policy", "check"], tmp_path)
    assert result.code == 1, result.out + result.err
    assert f"{name}: is {name[-4:].upper()} nested too deeply" in result.out


@hostile
def test_policy_title_cannot_inject_the_start_marker_through_a_cut(yaook_repo: Repo) -> None:
    """A policy title carrying the marker: the released changelog still has exactly one."""
    from tests.conftest import PROJECT

    shipped = (PROJECT / "policies" / "kubernetes.toml").read_text()
    marker = ".. towncrier release notes start"
    hostile_title = 'title = "Kubernetes\\n' + marker + '\\nInjected"'
    assert 'title = "Kubernetes"' in shipped
    yaook_repo.write("policies/kubernetes.toml",
                     shipped.replace('title = "Kubernetes"', hostile_title, 1))
    import re

    config = re.sub(r"^probes = \[\n.*?\n\]\n", "",
                    (yaook_repo.path / "relbot.toml").read_text(), flags=re.M | re.S)
    config = config.replace(
        "policies = []", 'policies = ["kubernetes"]\nnotes_supported_versions = true\n'
        'probes = [{ policy = "kubernetes", file = "k8s.toml", key = "kubernetes.version" }]')
    yaook_repo.write("relbot.toml", config)
    yaook_repo.write("k8s.toml", '[kubernetes]\nversion = "1.35.1"\n')
    yaook_repo.write(f"{FRAGMENTS}/1.feature", "Thing.\n")
    yaook_repo.commit_all("Hostile policy title")
    result = run(["cut", "--yes", "--no-push", "--date", "2024-10-01"], yaook_repo.path)
    assert result.code == 0, result.out + result.err
    changelog = (yaook_repo.path / "CHANGELOG.rst").read_text()
    assert "Kubernetes" in changelog and "Injected" in changelog
    assert changelog.count(marker) == 1


@secrets_case
def test_fix_never_sends_the_token_to_another_host() -> None:
    """The --fix push carries the token only to CI_SERVER_URL's host."""
    from relbot.errors import UsageError
    from relbot.forge.credentials import Token
    from relbot.mr import MergeRequest, push_target

    token = Token("mr-token-value", "RELBOT_MR_TOKEN", "mr")
    mr = MergeRequest(5, "base", source_project_url="https://gitlab.example/group/app")
    remote, env = push_target(mr, token, "https://gitlab.example")
    assert remote == "https://gitlab.example/group/app.git"
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    with pytest.raises(UsageError, match="only to the GitLab this job runs on"):
        push_target(mr, token, "https://other.example")
    assert push_target(mr, None, "https://gitlab.example") == ("origin", {})



def test_merged_result_without_source_sha_uses_the_merge_commits_second_parent(
        yaook_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where GitLab leaves CI_MERGE_REQUEST_SOURCE_BRANCH_SHA empty, HEAD^2 is the MR's head."""
    base = yaook_repo.git("rev-parse", "HEAD")
    source = _branch(yaook_repo, "mine", {f"{FRAGMENTS}/22.feature": "Mine.\n"}, "Mine")
    yaook_repo.git("checkout", "-q", "main")
    yaook_repo.write(f"{FRAGMENTS}/19.fix", "Theirs.\n")
    yaook_repo.commit_all("Another MR, merged meanwhile")
    _merged_result(yaook_repo, source)
    _merged_env(monkeypatch, 22, base, source, "mine")
    monkeypatch.delenv("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA")
    result = run(["mr", "check", "--no-comment"], yaook_repo.path)
    assert result.code == 0, result.out + result.err
    assert "[ok  ] fragment present: docs/_releasenotes/22.feature\n" in result.out
    assert "wrong-number" not in result.out


def test_git_tree_refuses_large_blobs_and_links_and_keeps_reading(yaook_repo: Repo) -> None:
    """A blob over the bound is refused without being held; a link is refused; the next
    read through the same cat-file process still answers correctly."""
    from relbot.tree import GitTree, Refused

    yaook_repo.write("big.txt", "x" * 300_000)
    yaook_repo.write("small.txt", "small\n")
    (yaook_repo.path / "link.txt").symlink_to("small.txt")
    rev = yaook_repo.commit_all("Big, small, link")
    with GitTree(yaook_repo.path, rev) as tree:
        with pytest.raises(Refused, match=r"big\.txt is 300000 bytes, more than relbot reads"):
            tree.read_bytes("big.txt", 1000)
        with pytest.raises(Refused, match=r"link\.txt is a symbolic link"):
            tree.read_bytes("link.txt", 1000)
        with pytest.raises(Refused, match="lies outside the repository"):
            tree.read_bytes("../small.txt", 1000)
        assert tree.read_bytes("small.txt", 1000) == b"small\n"
        assert tree.kind("docs") == "dir" and tree.kind("nope") is None


def test_git_tree_reads_directories_as_git_lists_them(yaook_repo: Repo) -> None:
    """Nested directories, an executable, a submodule, a non-ASCII name and a path below a
    file: the same answers from one ``ls-tree`` of the revision and from its tree objects
    read directory by directory through a clone's batch (as ``mr check`` reads them)."""
    from relbot.git import GitRepo
    from relbot.tree import GitTree, Refused

    yaook_repo.write("deep/er/café.txt", "café\n")
    yaook_repo.write("deep/run.sh", "#!/bin/sh\n")
    (yaook_repo.path / "deep" / "run.sh").chmod(0o755)
    yaook_repo.git("add", "-A")
    head = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("update-index", "--add", "--cacheinfo", f"160000,{head},deep/sub")
    yaook_repo.git("commit", "-q", "-m", "Nested")
    rev = yaook_repo.git("rev-parse", "HEAD")
    git = GitRepo(yaook_repo.path)
    for tree in (GitTree(yaook_repo.path, rev),
                 GitTree(yaook_repo.path, rev, git.read_blob, git.tree_entries)):
        assert [(e.name, e.kind) for e in tree.entries("deep")] == [
            ("er", "dir"), ("run.sh", "file"), ("sub", "other")]
        assert tree.read_text("deep/er/café.txt", 100) == "café\n"
        assert tree.kind("deep/run.sh/x") is None and tree.entries("deep/run.sh") == []
        assert tree.entries("nowhere") == [] and tree.kind("deep/sub") == "other"
        with pytest.raises(Refused, match="not a regular file"):
            tree.read_bytes("deep/sub", 100)
        assert tree.files("deep") == ["deep/er/café.txt", "deep/run.sh", "deep/sub"]
        tree.close()
    git.close()


@secrets_case
def test_release_token_with_trailing_newline_publishes_and_never_leaks(
        release_repo: CutRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The release path strips the token too: the release is published, nothing leaks."""
    token = cast(release_repo.standin).bot_token
    monkeypatch.setenv("RELBOT_GITLAB_TOKEN", token + "\n")
    result = release_repo.cut()
    assert token not in result.out + result.err
    assert "internal error" not in result.err
    assert result.code == 0, result.out + result.err
    assert release_repo.releases() == ["v8.1.0"]


@hostile
def test_mr_cannot_bless_a_dropped_version_through_its_own_policy_file(
        yaook_repo: Repo) -> None:
    """The MR declares a dropped Kubernetes and marks it supported in policies/: the check
    judges it with the target branch's policy, and the policy change waits for the merge."""
    from tests.conftest import PROJECT

    policy = (PROJECT / "policies" / "kubernetes.toml").read_text()
    yaook_repo.write("policies/kubernetes.toml", policy)
    yaook_repo.write("k8s.toml", '[kubernetes]\nversion = "1.35.1"\n')
    import re

    config = re.sub(r"^probes = \[\n.*?\n\]\n", "",
                    (yaook_repo.path / "relbot.toml").read_text(), flags=re.M | re.S)
    config = config.replace(
        "policies = []", 'policies = ["kubernetes"]\nprobes = [{ policy = "kubernetes", '
        'file = "k8s.toml", key = "kubernetes.version" }]')
    yaook_repo.write("relbot.toml", config)
    base = yaook_repo.commit_all("Gate on Kubernetes")
    yaook_repo.git("checkout", "-q", "-b", "old-k8s")
    yaook_repo.write("k8s.toml", '[kubernetes]\nversion = "1.32.4"\n')
    blessed = policy.replace('versions = "==1.32.*"\nstatus = "dropped"',
                             'versions = "==1.32.*"\nstatus = "supported"')
    assert blessed != policy
    yaook_repo.write("policies/kubernetes.toml", blessed)
    yaook_repo.write(f"{FRAGMENTS}/50.change", "Back to 1.32.\n")
    yaook_repo.commit_all("Downgrade, and bless it")
    result = run(["mr", "check", "--no-comment", "--iid", "50", "--base", base],
                 yaook_repo.path)
    assert result.code == 1, result.out + result.err
    assert "[policy-dropped]" in result.out
    assert "policies/kubernetes.toml: changed by this MR and valid; the change takes effect" \
        in result.out


@hostile
def test_an_edit_of_the_target_template_is_reported_not_used(
        tmp_path: Path, gitlab_standin: GitLabStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    """The target branch has a template; the MR edits it: the comment's preview is rendered
    with the target's template, and the check reports the edit."""
    files = yaook_like_files()
    files["relbot.toml"] = relbot_toml()
    files["towncrier.toml"] = files["towncrier.toml"].replace(
        "[tool.towncrier]", '[tool.towncrier]\ntemplate = "changelog_template.md"', 1).replace(
        'filename = "CHANGELOG.rst"', 'filename = "CHANGELOG.md"')
    files["changelog_template.md"] = "TARGET-TEMPLATE {{ versiondata.version }}\n"
    repo = make_repo(tmp_path, files)
    base = repo.git("rev-parse", "HEAD")
    scenario = cast(gitlab_standin)
    repo.git("checkout", "-q", "-b", scenario.mr.source_branch)
    repo.write("changelog_template.md", "MR-TEMPLATE {{ versiondata.version }}\n")
    for path, text in fragment(scenario.mr.iid).items():
        repo.write(path, text)
    repo.commit_all("Change the template")
    ci(monkeypatch, gitlab_standin, scenario.mr, base, token=scenario.bot_token)
    result = run(["mr", "check"], repo.path)
    assert result.code == 0, result.out + result.err
    assert "changelog_template.md: changed by this MR and valid" in result.out
    body = "".join(n.body for d in gitlab_standin.discussions(scenario.mr) for n in d.notes
                   if n.author_id == scenario.bot.id)
    assert "TARGET-TEMPLATE" in body and "MR-TEMPLATE" not in body
