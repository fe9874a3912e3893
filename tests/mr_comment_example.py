"""Writes ``docs/mr-comment-example.md``: relbot's MR comment, as posted in a real run.

    python -m tests.mr_comment_example           # rewrite docs/mr-comment-example.md
    python -m tests.mr_comment_example --check   # exit 1 if the file is out of date

A Yaook/K8s-like repository gets a merge request (!1 of ``yaook/k8s`` in the
GitLab stand-in) whose first pipeline fails and whose second, after the fix,
passes. ``relbot mr check`` runs for real in both, and the page shows the note
bodies exactly as the stand-in stored them: nothing here is typed by hand but
the prose around them. Commit dates are fixed, so the commit ids in the notes
are stable; the release-notes preview carries the day of the run, which
:func:`normalised` ignores when comparing.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from click.testing import CliRunner

from relbot.cli import cli
from relbot.comment import MARKER
from relbot.gitlab_standin import GitLabStandIn
from relbot.markdown_safety import code_block
from tests.conftest import GIT_ENV, make_repo, yaook_like_files

PROJECT = Path(__file__).resolve().parent.parent
TARGET = PROJECT / "docs" / "mr-comment-example.md"
FRAGMENTS = "docs/_releasenotes"
COMMIT_DATE = "2024-09-30T12:00:00+00:00"

CALICO = ("Calico is updated to v3.28.1. Clusters pick it up on their next ``k8s-core`` "
          "rollout.\n")
KUBE_VIP = ("kube-vip's leader election now uses a 15 s lease instead of 5 s, which avoids "
            "needless fail-overs on busy control planes.\n")

INTRO = """\
# What relbot's merge-request comment looks like

`relbot mr check` keeps **one** comment on each merge request, written by the
bot user of the project access token in `RELBOT_MR_TOKEN`. It is the first
note of a resolvable thread: relbot leaves the thread open while the check
fails, so a project that requires resolved threads cannot merge past a failing
check, and resolves it when the check passes. Every pipeline rewrites the same
note in place; relbot never posts a second one.

What a reviewer sees, from top to bottom:

- a heading with the verdict: a green check mark and "release notes and
  policies are in order", or a red cross and how many problems block the merge;
- a table with one row per check (fragment present, fragment lint, MR number,
  and the policies where a component has any), each with its mark and a short
  result such as the fragment files found;
- when something is wrong, **What to fix**: one line per finding with the file
  in code style, the message, and the rule name (for example
  `placeholder-number`), including the command that fixes it where there is one;
- when the fragments are in order, **If this merged now**: the current and the
  next version (for Yaook/K8s a feature fragment bumps the minor version);
- a collapsed *Release notes preview* holding the notes of the release this MR
  would be part of, as a Markdown code block, so that fragment text can never
  mention people, inject HTML or break out of the block; it shows the first 200
  entries (at most 50,000 characters) and says how many more there are; only the
  sections and types the preview reaches are rendered, in towncrier's order;
- a small footer naming the commit that was checked.

Everything taken from the merge request (file names, fragment text, messages
quoting them) is shown as code or with Markdown, HTML and GitLab references
escaped. The hidden marker `<!-- relbot:mr-check -->` at the top is how relbot
finds its note again, together with the bot user's id, so a human who pastes
the marker does not capture relbot's note.

The two comments below are the bodies relbot posted on a Yaook/K8s-like merge
request in a run against relbot's GitLab stand-in: first with a fragment that
still has the placeholder number `x` and another whose type is misspelt, then
after both were fixed. Regenerate this page with
`python -m tests.mr_comment_example`.
"""


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with CI, GitLab and relbot variables removed and ``values`` set."""
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key.startswith(("CI_", "GITLAB_", "RELBOT_")) or key == "CI":
                del os.environ[key]
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _run_pipelines(base: Path) -> list[str]:
    """Run the MR's two pipelines; returns the note body after each."""
    files = yaook_like_files()
    files["relbot.toml"] = files["relbot.toml"].replace('forge = "none"', 'forge = "gitlab"')
    repo = make_repo(base, files)
    target = repo.git("rev-parse", "HEAD")
    with GitLabStandIn() as standin:
        scenario = standin.seed_scenario()
        repo.git("checkout", "-q", "-b", scenario.mr.source_branch)
        repo.write("roles/calico/defaults/main.yaml", "calico_version: v3.28.1\n")
        repo.write(f"{FRAGMENTS}/x.feature.calico", CALICO)
        repo.write(f"{FRAGMENTS}/1.chnage.kube-vip", KUBE_VIP)
        repo.commit_all("Update Calico to v3.28.1 and lengthen the kube-vip lease")
        env = standin.ci_environment(scenario.mr, token=scenario.bot_token)
        env["CI_MERGE_REQUEST_DIFF_BASE_SHA"] = target
        bodies = []
        for fixed in (False, True):
            if fixed:
                repo.git("mv", f"{FRAGMENTS}/x.feature.calico", f"{FRAGMENTS}/1.feature.calico")
                repo.git("mv", f"{FRAGMENTS}/1.chnage.kube-vip",
                         f"{FRAGMENTS}/1.change.kube-vip")
                repo.commit_all("Name the news fragments after the MR")
            result = CliRunner().invoke(cli, ["mr", "check", "-C", str(repo.path)], env=env,
                                        catch_exceptions=False)
            if result.exit_code != (0 if fixed else 1):
                raise RuntimeError(f"unexpected mr check result {result.exit_code}:\n"
                                   f"{result.stdout}{result.stderr}")
            (thread,) = standin.discussions(scenario.mr)
            if thread.resolved != fixed:
                raise RuntimeError("the thread is not resolved as the verdict says")
            bodies.append(thread.notes[0].body)
    return bodies


def render() -> str:
    """The page: the prose above and the two note bodies from a real run."""
    with tempfile.TemporaryDirectory(prefix="relbot-comment-example-") as tmp:
        base = Path(tmp)
        home = base / "home"
        home.mkdir()
        env = {**GIT_ENV, "HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
               "GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE}
        with _environment(env):
            failing, passing = _run_pipelines(base)
    parts = [INTRO]
    for title, body in (("The first pipeline: two problems", failing),
                        ("The next pipeline, after the fix", passing)):
        if not body.startswith(MARKER):
            raise RuntimeError("the note does not start with relbot's marker")
        parts += ["---", "", f"## {title}", "", body.rstrip("\n"), "",
                  "<details><summary>Markdown source of this comment</summary>", "",
                  code_block(body, "markdown"), "", "</details>", ""]
    return "\n".join(parts)


def normalised(text: str) -> str:
    """``text`` with calendar dates replaced (the preview shows the day of the run)."""
    return re.sub(r"\b\d{4}-\d{2}-\d{2}\b", "YYYY-MM-DD", text)


def main(argv: list[str]) -> int:
    """Rewrite the page, or with ``--check`` report whether it is current."""
    page = render()
    if "--check" in argv:
        current = TARGET.read_text("utf-8") if TARGET.exists() else ""
        if normalised(current) != normalised(page):
            print(f"{TARGET.relative_to(PROJECT)} is out of date: run "
                  "python -m tests.mr_comment_example", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
