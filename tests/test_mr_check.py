"""`relbot mr check`: the checks of a merge request on a real repository, report, JUnit, comment."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from relbot.comment import MARKER, render_comment
from relbot.forge import upsert_comment
from relbot.mr import Check, ComponentReport, MergeRequest, MrReport
from tests.conftest import Repo, git, run
from tests.memory_forge import MemoryNotes

FRAGMENTS = "docs/_releasenotes"


@pytest.fixture
def mr_repo(yaook_repo: Repo) -> tuple[Repo, str]:
    """A branch `feature` off main, pushed; returns the repository and the MR's base."""
    base = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("checkout", "-q", "-b", "feature")
    yaook_repo.write("roles/thing.yaml", "thing: 1\n")
    return yaook_repo, base


def check(repo: Repo, base: str, *args: str) -> tuple[int, str, str]:
    result = run(["mr", "check", "--iid", "1500", "--base", base, *args], repo.path)
    return result.code, result.out, result.err


def test_mr_with_its_fragment_passes(mr_repo: tuple[Repo, str]) -> None:
    """An MR that adds a fragment named after it passes and previews the next version."""
    repo, base = mr_repo
    repo.write(f"{FRAGMENTS}/1500.feature.thing", "A new thing.\n")
    repo.commit_all("Thing")
    code, out, err = check(repo, base, "--no-comment")
    assert code == 0, out + err
    assert "[ok  ] fragment present: docs/_releasenotes/1500.feature.thing" in out
    assert "if merged now: 8.0.2 -> 8.1.0" in out
    assert "comment: not posted (--no-comment)." in err


def test_mr_without_fragment(mr_repo: tuple[Repo, str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """No fragment fails the check, unless the no-changelog label is set."""
    repo, base = mr_repo
    repo.commit_all("Thing without notes")
    code, out, err = check(repo, base, "--no-comment")
    assert code == 1
    assert "this MR adds no news fragment" in out
    assert "relbot: merge request !1500 has 1 problem(s)." in err
    monkeypatch.setenv("CI_MERGE_REQUEST_LABELS", "ci,no-changelog")
    code, out, _ = check(repo, base, "--no-comment")
    assert code == 0 and "not needed: label 'no-changelog'" in out


def test_fragment_free_paths(yaook_repo: Repo) -> None:
    """An MR that changes only fragment-free paths (of the target's config) needs no fragment."""
    config = (yaook_repo.path / "relbot.toml").read_text()
    yaook_repo.write("relbot.toml", 'fragment_free_paths = [".gitlab-ci.yml"]\n' + config)
    base = yaook_repo.commit_all("Configure fragment-free paths")
    yaook_repo.git("checkout", "-q", "-b", "ci-only")
    yaook_repo.write(".gitlab-ci.yml", "stages: [test]\n")
    yaook_repo.commit_all("CI only")
    code, out, _ = check(yaook_repo, base, "--no-comment")
    assert code == 0, out
    assert "only fragment-free paths changed" in out


@pytest.mark.reliability("Hostile configuration and policies")
def test_an_mr_cannot_exempt_itself_through_its_own_relbot_toml(
        mr_repo: tuple[Repo, str]) -> None:
    """The MR's relbot.toml is checked, not used: declaring its own paths fragment-free fails."""
    repo, base = mr_repo
    (repo.path / "roles" / "thing.yaml").unlink()
    repo.write(".gitlab-ci.yml", "stages: [test]\n")
    config = (repo.path / "relbot.toml").read_text()
    repo.write("relbot.toml", 'fragment_free_paths = [".gitlab-ci.yml", "relbot.toml"]\n'
               + config)
    repo.commit_all("CI only, and exempt myself")
    code, out, _ = check(repo, base, "--no-comment")
    assert code == 1, out
    assert "this MR adds no news fragment" in out
    assert ("relbot.toml: changed by this MR and valid; the change takes effect after merge"
            in out)


def test_wrong_number(mr_repo: tuple[Repo, str]) -> None:
    """A fragment that names another MR is reported with both numbers."""
    repo, base = mr_repo
    repo.write(f"{FRAGMENTS}/1499.fix", "Fix.\n")
    repo.commit_all("Thing")
    code, out, _ = check(repo, base, "--no-comment")
    assert code == 1
    assert "the fragment names MR 1499, but this is MR 1500 [wrong-number]" in out


def test_fix_renames_placeholders_and_pushes(mr_repo: tuple[Repo, str]) -> None:
    """--fix renames x.* to the MR number (with a free counter), commits and pushes."""
    repo, base = mr_repo
    repo.write(f"{FRAGMENTS}/x.fix.one", "One.\n")
    repo.write(f"{FRAGMENTS}/x.fix.two", "Two.\n")
    repo.commit_all("Placeholders")
    repo.git("push", "-q", "-u", "origin", "feature")
    code, out, _ = check(repo, base, "--no-comment")
    assert code == 1 and "placeholder 'x' must become the MR number 1500" in out
    code, out, err = check(repo, base, "--no-comment", "--fix")
    assert code == 0, out + err
    names = sorted(p.name for p in (repo.path / FRAGMENTS).iterdir())
    assert names == [".gitignore", "1500.fix.1.two", "1500.fix.one", "hotfix"]
    assert "renamed 2 fragment(s) and pushed them to feature" in out
    assert git(repo.remote, "log", "-1", "--format=%s", "feature") == (
        "Give the news fragments of !1500 their MR number")


def test_fix_never_pushes_to_a_fork(mr_repo: tuple[Repo, str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork MR gets no --fix push; the placeholder stays an error with a hint."""
    repo, base = mr_repo
    repo.write(f"{FRAGMENTS}/x.fix.one", "One.\n")
    repo.commit_all("Placeholder")
    monkeypatch.setenv("CI_MERGE_REQUEST_PROJECT_ID", "10")
    monkeypatch.setenv("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "99")
    before = git(repo.remote, "for-each-ref")
    head = repo.git("rev-parse", "HEAD")
    code, out, _ = check(repo, base, "--no-comment", "--fix")
    assert code == 1
    assert "--fix does not push to forks" in out
    assert git(repo.remote, "for-each-ref") == before
    assert repo.git("rev-parse", "HEAD") == head


def test_junit_report(mr_repo: tuple[Repo, str], tmp_path: Path) -> None:
    """--junit writes a JUnit file with one case per check and the findings as failures."""
    repo, base = mr_repo
    repo.write(f"{FRAGMENTS}/1500.feture", "Typo.\n")
    repo.commit_all("Typo")
    report = tmp_path / "relbot.xml"
    code, _, _ = check(repo, base, "--no-comment", "--junit", str(report))
    assert code == 1
    suite = ET.fromstring(report.read_text()).find("testsuite")  # noqa: S314 - our own file
    assert suite is not None
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"fragment present", "fragment lint", "MR number"}
    failure = cases["fragment lint"].find("failure")
    assert failure is not None and "type 'feture' is not declared" in (failure.text or "")
    assert suite.get("failures") == "2"


def test_environment_from_gitlab_ci(mr_repo: tuple[Repo, str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """In a merge-request pipeline the MR comes from CI_MERGE_REQUEST_* variables."""
    repo, base = mr_repo
    repo.write(f"{FRAGMENTS}/77.fix", "Fix.\n")
    repo.commit_all("Fix")
    missing = run(["mr", "check", "--no-comment"], repo.path)
    assert missing.code == 2 and "CI_MERGE_REQUEST_IID" in missing.err
    monkeypatch.setenv("CI_MERGE_REQUEST_IID", "77")
    monkeypatch.setenv("CI_MERGE_REQUEST_DIFF_BASE_SHA", base)
    result = run(["mr", "check", "--no-comment"], repo.path)
    assert result.code == 0, result.out


def test_unknown_base_commit(mr_repo: tuple[Repo, str]) -> None:
    """A base commit the clone lacks is one clear sentence, not a git traceback."""
    repo, _ = mr_repo
    result = run(["mr", "check", "--no-comment", "--iid", "1", "--base", "1" * 40], repo.path)
    assert result.code == 2
    assert "is not in this clone (a shallow clone?)" in result.err


HOSTILE = (
    "@all please look <img src=x onerror=alert(1)> and </details> here\n\n"
    "```\nclosing fence\n```\n\n<script>alert(2)</script> [click](javascript:alert(3)) "
    "#1 !2 ~label"
)


def hostile_report() -> MrReport:
    component = ComponentReport(
        "k8s",
        (Check("fragment present", "docs/_releasenotes/1500.feature.@all`x"),
         Check("fragment lint", "1", ()),),
        "8.0.2", "8.1.0", "### New Features\n\n- " + HOSTILE)
    from relbot.findings import Finding

    bad = ComponentReport("k8s", (Check("MR number", "!1500", (
        Finding("docs/_releasenotes/@all</details>.fix", "bad-number",
                "'@all</details>' is not an MR number <img src=x onerror=alert(1)>"),)),))
    return MrReport(MergeRequest(1500, "base"), "abc", (component, bad))


@pytest.mark.reliability("Hostile fragments")
def test_hostile_fragment_renders_inert() -> None:
    """@all, HTML, </details> and closing fences in MR content cannot take effect."""
    body = render_comment(hostile_report())
    html = MarkdownIt("commonmark").render(body)
    assert "<img" not in html and "<script" not in html
    assert 'href="javascript' not in html
    assert html.count("<details>") == 1 and html.count("</details>") == 1
    outside_code = html
    while "<code" in outside_code:
        start = outside_code.index("<code")
        end = outside_code.index("</code>", start) + len("</code>")
        outside_code = outside_code[:start] + outside_code[end:]
    assert "@all" not in outside_code
    assert "closing fence" in html  # shown, but inside the code block
    assert body.startswith(MARKER)


def test_no_token_skips_the_comment() -> None:
    """Without a user to post as (job token), nothing is written and None says so."""
    forge = MemoryNotes(user_id=None)
    assert upsert_comment(forge, 1, "x", marker=MARKER, ok=True) is None
    assert forge.writes == []


def test_mr_check_without_comment_never_imports_python_gitlab(
        mr_repo: tuple[Repo, str]) -> None:
    """`mr check --no-comment` runs in every pipeline: python-gitlab stays unloaded."""
    import subprocess
    import sys

    repo, base = mr_repo
    repo.write(f"{FRAGMENTS}/1500.feature.thing", "A new thing.\n")
    repo.commit_all("Thing")
    code = ("import sys\nfrom relbot.cli import main\n"
            f"sys.argv = ['relbot', 'mr', 'check', '--no-comment', '--iid', '1500', "
            f"'--base', {base!r}]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    print('EXIT', exc.code)\n"
            "print('GITLAB', 'gitlab' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=repo.path, capture_output=True,
                            text=True, check=False)
    assert "EXIT 0" in result.stdout and "GITLAB False" in result.stdout, result


def test_two_type_fragment_name_counts_as_its_mr(mr_repo: tuple[Repo, str]) -> None:
    """`939.feature.BREAKING.x` (real Yaook/K8s v2.0.0) is MR 939's fragment, as the release
    reads it (relbot.fragments.read_name), not a wrong or placeholder number."""
    repo, base = mr_repo
    repo.write(f"{FRAGMENTS}/939.feature.BREAKING.x", "Rotate the root CA.\n")
    repo.commit_all("Root CA rotation")
    result = run(["mr", "check", "--iid", "939", "--base", base, "--no-comment"], repo.path)
    assert result.code == 0, result.out
    assert "[ok  ] MR number: !939" in result.out
    assert "[ok  ] fragment present: docs/_releasenotes/939.feature.BREAKING.x" in result.out
