"""How relbot drives git: a constant number of processes, stale stat data, non-ASCII paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.test_cut import add_fragments, kill_relbot_when

FRAGMENTS = "docs/_releasenotes"
DATE = "2024-10-01"


def relbot(repo: Repo, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "relbot", *args], cwd=repo.path,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})


def git_logger(directory: Path) -> tuple[dict[str, str], Path]:
    """A ``git`` first on PATH that logs each call's arguments, then runs the real git."""
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True,
                          check=True).stdout.strip()
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True)
    log = directory / "git-calls.log"
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$1 $2" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, log


def test_cut_runs_a_constant_number_of_git_processes(tmp_path: Path, yaook_repo: Repo) -> None:
    """One cut starts as many git processes at 1,000 fragments as at 10."""
    counts = {}
    for count in (10, 1000):
        repo = yaook_repo.clone(tmp_path / f"clone-{count}")
        repo.git("checkout", "-q", "-B", "main", "origin/main")
        repo.git("remote", "set-head", "origin", "main")
        names = {f"{n}.fix": f"Fix number {n}.\n" for n in range(1, count + 1)}
        add_fragments(repo, names)
        env, log = git_logger(tmp_path / f"log-{count}")
        done = relbot(repo, "cut", "--yes", "--no-push", "--date", DATE, env=env)
        assert done.returncode == 0, done.stderr
        assert list((repo.path / FRAGMENTS).glob("*.fix")) == []
        assert repo.git("status", "--porcelain") == ""
        counts[count] = log.read_text().splitlines()
    assert len(counts[1000]) == len(counts[10]), (counts[10], counts[1000])
    # 12 (35, then 22, then 13 before): 6 while planning (the batch, remote, ls-remote,
    # describe, status, ls-files), 3 to commit (hash-object, mktree, commit-tree), 3 to
    # move the branch, update the files (read-tree: the status refreshed the stat data)
    # and tag. HEAD and the git directory are read from .git.
    assert len(counts[10]) <= 12, counts[10]
    assert sum(call.startswith("ls-remote") for call in counts[10]) == 1, counts[10]
    assert counts[10].count("cat-file --batch") == 1, counts[10]
    assert not [call for call in counts[10] if call.startswith(("rev-parse --verify",
                                                                "cat-file -e"))], counts[10]


def test_pushing_cut_asks_the_remote_once_before_pushing(tmp_path: Path,
                                                         yaook_repo: Repo) -> None:
    """Branch, remote HEAD, tag, then the push step's refs: one ls-remote answers them all."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    yaook_repo.git("remote", "set-head", "origin", "main")
    env, log = git_logger(tmp_path / "log")
    done = relbot(yaook_repo, "cut", "--yes", "--date", DATE, env=env)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert [call.split()[0] for call in calls].count("ls-remote") == 1, calls
    assert [call.split()[0] for call in calls].count("push") == 1, calls
    assert yaook_repo.git("ls-remote", "origin", "refs/tags/v8.1.0") != ""
    assert yaook_repo.git("ls-remote", "origin", "refs/heads/main").split()[0] == \
        yaook_repo.git("rev-parse", "HEAD")


def test_cut_without_a_forge_renders_the_notes_once(yaook_repo: Repo,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """forge = "none": no forge release, so its Markdown text is never rendered."""
    import relbot.notes
    from tests.conftest import run

    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    renders = []
    real = relbot.notes._sandboxed_render

    def counting(*args: object, **kwargs: object) -> str:
        renders.append(args[1])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(relbot.notes, "_sandboxed_render", counting)
    done = run(["cut", "--yes", "--no-push", "--date", DATE], yaook_repo.path)
    assert done.code == 0, done.err
    assert len(renders) == 1, renders
    assert "A shiny feature." in yaook_repo.git("tag", "-l", "--format=%(contents)", "v8.1.0")


@pytest.mark.reliability("Faults")
def test_resumed_cut_runs_a_constant_number_of_git_processes(tmp_path: Path,
                                                             yaook_repo: Repo) -> None:
    """A rerun after a crash reads the removed fragments' texts in one batch, not one each."""
    counts = {}
    for count in (10, 300):
        repo = yaook_repo.clone(tmp_path / f"clone-{count}")
        repo.git("checkout", "-q", "-B", "main", "origin/main")
        repo.git("remote", "set-head", "origin", "main")
        add_fragments(repo, {f"{n}.fix": f"Fix number {n}.\n" for n in range(1, count + 1)})
        hook = kill_relbot_when(repo, "refs/heads/main")
        killed = relbot(repo, "cut", "--yes", "--no-push", "--date", DATE)
        assert killed.returncode == -9, killed.stderr
        hook.unlink()
        env, log = git_logger(tmp_path / f"log-{count}")
        done = relbot(repo, "cut", "--yes", "--no-push", "--date", DATE, env=env)
        assert done.returncode == 0, done.stderr
        message = repo.git("tag", "--list", "--format=%(contents)", "v8.0.3")
        assert f"Fix number {count}." in message
        counts[count] = log.read_text().splitlines()
    assert len(counts[300]) == len(counts[10]), (counts[10], counts[300])
    assert counts[10].count("cat-file --batch") == 1


@pytest.mark.reliability("Faults")
def test_cut_after_touching_the_version_file(yaook_repo: Repo) -> None:
    """Stale stat data in the index (an editor save, a cache restore) never breaks a cut."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    base = yaook_repo.git("rev-parse", "HEAD")
    version = yaook_repo.path / "version"
    stat = version.stat()
    os.utime(version, (stat.st_atime + 100, stat.st_mtime + 100))
    done = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert done.returncode == 0, done.stderr
    assert yaook_repo.git("rev-parse", "HEAD^") == base
    assert version.read_text() == "8.1.0\n"
    assert yaook_repo.git("status", "--porcelain") == ""
    assert not (yaook_repo.path / FRAGMENTS / "101.feature.shiny").exists()


@pytest.mark.reliability("Faults")
def test_rerun_after_a_crash_and_a_touched_file(yaook_repo: Repo) -> None:
    """Killed after the branch moved, then a file touched: the rerun still finishes it."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    base = yaook_repo.git("rev-parse", "HEAD")
    hook = kill_relbot_when(yaook_repo, "refs/heads/main")
    killed = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert killed.returncode == -9, killed.stderr
    hook.unlink()
    for name in ("version", "CHANGELOG.rst"):
        path = yaook_repo.path / name
        stat = path.stat()
        os.utime(path, (stat.st_atime + 100, stat.st_mtime + 100))
    rerun = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert rerun.returncode == 0, rerun.stderr
    assert yaook_repo.git("rev-parse", "HEAD^") == base
    assert (yaook_repo.path / "version").read_text() == "8.1.0\n"
    assert yaook_repo.git("status", "--porcelain") == ""
    assert yaook_repo.git("tag", "--list") == "v8.1.0"


@pytest.mark.reliability("Faults")
def test_resumed_release_keeps_non_ascii_fragment_names(yaook_repo: Repo) -> None:
    """Killed after the commit, the rerun's tag message holds every entry, café included."""
    add_fragments(yaook_repo, {"2.feature.café": "Café support.\n",
                               "3.fix.plain": "A plain fix.\n"})
    hook = kill_relbot_when(yaook_repo, "refs/heads/main")
    killed = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert killed.returncode == -9, killed.stderr
    hook.unlink()
    preview = relbot(yaook_repo, "cut", "--dry-run", "--json", "--date", DATE)
    assert preview.returncode == 0, preview.stderr
    plan = json.loads(preview.stdout)
    assert plan["resumed"] is True
    assert "Café support." in plan["notes"]  # the tag message's notes
    assert "Café support." in plan["release_notes"]  # the forge release's text
    assert f"{FRAGMENTS}/2.feature.café" in plan["fragments"]
    rerun = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert rerun.returncode == 0, rerun.stderr
    message = yaook_repo.git("tag", "--list", "--format=%(contents)", "v8.1.0")
    assert "Café support." in message
    assert "A plain fix." in message


def test_next_version_from_tags_without_gitpython(yaook_repo: Repo) -> None:
    """Without version_file, next-version reads the tags without importing gitpython."""
    config = yaook_repo.path / "relbot.toml"
    config.write_text(config.read_text().replace('version_file = "version"\n', ""))
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    yaook_repo.git("tag", "-a", "-m", "Release v8.0.2", "v8.0.2", "HEAD~1")
    yaook_repo.git("tag", "-a", "-m", "Release v9.0.0-rc.1", "v9.0.0-rc.1")
    code = ("import sys\nfrom relbot.cli import main\nsys.argv=['relbot', 'next-version']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', [m for m in ('git', 'towncrier._builder', 'jinja2', 'gitlab')"
            " if m in sys.modules], file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=yaook_repo.path,
                          capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "8.1.0", done.stderr
    assert "HEAVY []" in done.stderr, done.stderr


def test_next_version_reads_fragment_names_not_contents(yaook_repo: Repo) -> None:
    """next-version needs only the types: a fragment's bytes are lint's business."""
    (yaook_repo.path / FRAGMENTS / "102.fix.latin1").write_bytes(b"Caf\xe9 fix.\n")
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    done = relbot(yaook_repo, "next-version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "8.1.0\n"
    lint = relbot(yaook_repo, "fragment", "lint")
    assert lint.returncode == 1
    assert "not UTF-8" in lint.stdout


def test_policy_check_at_a_base_runs_a_constant_number_of_git_processes(
        tmp_path: Path) -> None:
    """policy check --base reads the probed files of the base in one batch, not one each."""
    from bench.generate import generate_probed
    from bench.run import supported_kubernetes

    relbot_argv = [sys.executable, "-m", "relbot"]
    old, new = supported_kubernetes(relbot_argv, dict(os.environ), tmp_path)
    counts = {}
    for files in (3, 60):
        where = generate_probed(tmp_path / f"probed-{files}", files, old, new)
        env, log = git_logger(tmp_path / f"log-{files}")
        done = subprocess.run([*relbot_argv, "policy", "check", "--base", "HEAD~1"],
                              cwd=where, capture_output=True, text=True, check=False,
                              env={**os.environ, **env})
        assert done.returncode == 0, done.stderr
        counts[files] = log.read_text().splitlines()
    assert len(counts[60]) == len(counts[3]), (counts[3], counts[60])


def test_batch_questions_see_refs_moved_meanwhile_and_names_with_spaces(
        yaook_repo: Repo) -> None:
    """rev() asks the long-lived batch: a ref another process moved reads anew, and a
    missing path with spaces is "missing", not a broken answer."""
    from relbot.git import GitRepo

    add_fragments(yaook_repo, {"101.fix": "A fix.\n"})
    git = GitRepo(yaook_repo.path)
    head = git.rev("HEAD")
    assert head == yaook_repo.git("rev-parse", "HEAD")
    assert git.rev("refs/heads/elsewhere") is None
    yaook_repo.git("branch", "elsewhere", "HEAD~1")
    assert git.rev("refs/heads/elsewhere") == yaook_repo.git("rev-parse", "HEAD~1")
    yaook_repo.git("pack-refs", "--all")
    yaook_repo.git("update-ref", "refs/heads/elsewhere", "HEAD")
    assert git.rev("refs/heads/elsewhere") == head
    assert git.file_at("HEAD", "no file.txt") is None  # "HEAD:no file.txt missing"
    assert git.file_at("HEAD", "version") == b"8.0.2\n"
    assert git.has_object(head or "")
    git.close()


def test_mr_check_runs_a_constant_number_of_git_processes(tmp_path: Path,
                                                          yaook_repo: Repo) -> None:
    """mr check on a base with 10 and with 300 fragments starts the same git processes:
    one cat-file --batch for the trusted configuration and the revisions, no listing of
    the base's whole tree, and (without a version file) the tags listed once and one
    ancestry question, though the preview asks for the current version twice."""
    config = yaook_repo.path / "relbot.toml"
    config.write_text(config.read_text().replace('version_file = "version"\n', ""))
    yaook_repo.commit_all("Versions from tags")
    yaook_repo.git("tag", "-a", "-m", "Release v8.0.2", "v8.0.2")
    yaook_repo.push("HEAD", "v8.0.2")
    counts = {}
    for count in (10, 300):
        repo = yaook_repo.clone(tmp_path / f"clone-{count}")
        repo.git("checkout", "-q", "-B", "main", "origin/main")
        add_fragments(repo, {f"{n}.fix": f"Fix number {n}.\n" for n in range(1, count + 1)})
        base = repo.git("rev-parse", "HEAD")
        repo.git("checkout", "-q", "-b", f"mr-{count}")
        add_fragments(repo, {"999.fix": "The MR's own fix.\n"})
        env, log = git_logger(tmp_path / f"log-{count}")
        done = relbot(repo, "mr", "check", "--no-comment", "--iid", "999", "--base", base,
                      env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "if merged now: 8.0.2 -> 8.0.3" in done.stdout, done.stdout
        counts[count] = log.read_text().splitlines()
    assert sorted(counts[300]) == sorted(counts[10]), (counts[10], counts[300])
    calls = [call.split()[0] for call in counts[10]]
    assert calls.count("cat-file") == 1 and "ls-tree" not in calls, "\n".join(counts[10])
    assert calls.count("for-each-ref") == 1 and calls.count("merge-base") == 1, counts[10]


def test_next_version_of_a_patch_release_lists_the_tags_once(yaook_repo: Repo,
                                                              tmp_path: Path) -> None:
    """From tags, a patch bump (which looks past hotfix tags) lists the tags once."""
    config = yaook_repo.path / "relbot.toml"
    config.write_text(config.read_text().replace('version_file = "version"\n', ""))
    yaook_repo.git("tag", "-a", "-m", "Release v8.0.2", "v8.0.2")
    add_fragments(yaook_repo, {"101.fix": "A fix.\n"})
    env, log = git_logger(tmp_path / "log")
    done = relbot(yaook_repo, "next-version", env=env)
    assert done.stdout == "8.0.3\n", done.stderr
    calls = [call.split()[0] for call in log.read_text().splitlines()]
    assert calls.count("for-each-ref") == 1, calls
def test_cut_reads_no_tag_object_of_earlier_releases(yaook_repo: Repo) -> None:
    """At 10,000 release tags a cut costs what it costs at 10: it opens none of the old
    releases' tag objects (their peeled ids are in packed-refs), shown here by a tag
    whose object is gone. (`for-each-ref --points-at` read every one: 263 MB at 10k.)"""
    yaook_repo.git("tag", "-a", "-m", "Release v8.0.2", "v8.0.2")
    yaook_repo.push("refs/tags/v8.0.2")
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    yaook_repo.git("pack-refs", "--all")  # as every clone has them
    tag = yaook_repo.git("rev-parse", "refs/tags/v8.0.2")
    (yaook_repo.path / ".git" / "objects" / tag[:2] / tag[2:]).unlink()
    done = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert done.returncode == 0, done.stderr
    assert yaook_repo.git("rev-parse", "v8.1.0^{commit}") == yaook_repo.git("rev-parse", "HEAD")
    preview = relbot(yaook_repo, "cut", "--dry-run", "--date", DATE)  # HEAD tagged v8.1.0
    assert preview.returncode == 0, preview.stderr
    assert "[done] annotated tag holding the notes: v8.1.0" in preview.stdout


def test_tree_read_through_the_batch_answers_as_the_whole_listing(yaook_repo: Repo) -> None:
    """A commit's files read one directory at a time through the batch (no ls-tree process)
    say what the recursive listing says: kinds, entries, links, nested and odd names."""
    from relbot.git import GitRepo
    from relbot.tree import GitTree, Refused

    yaook_repo.write("docs/a b/café.md", "Café.\n")
    yaook_repo.write("docs/deep/er/file", "deep\n")
    (yaook_repo.path / "docs" / "link").symlink_to("deep")
    (yaook_repo.path / "run.sh").write_text("#!/bin/sh\n")
    (yaook_repo.path / "run.sh").chmod(0o755)
    commit = yaook_repo.commit_all("Odd files")
    git = GitRepo(yaook_repo.path)
    listing = GitTree(yaook_repo.path, commit)
    batched = GitTree(yaook_repo.path, commit, git.read_blob, git.tree_entries)
    paths = ["", "docs", "docs/a b", "docs/a b/café.md", "docs/deep/er/file", "docs/link",
             "docs/link/er", "run.sh", "version", "missing", "version/x", "docs/deep/er"]
    for path in paths:
        assert batched.kind(path) == listing.kind(path), path
        assert batched.entries(path) == listing.entries(path), path
    assert batched.read_bytes("docs/a b/café.md", 100) == b"Caf\xc3\xa9.\n"
    for path in ("docs/link", "docs/link/er/file", "docs"):
        with pytest.raises(Refused) as theirs:
            listing.read_bytes(path, 100)
        with pytest.raises(Refused) as ours:
            batched.read_bytes(path, 100)
        assert str(ours.value) == str(theirs.value)
    listing.close()
    batched.close()
    git.close()


def test_release_tree_from_mktree_is_the_tree_a_temporary_index_writes(
        tmp_path: Path, yaook_repo: Repo) -> None:
    """The release commit's tree, made by rewriting only the changed directories, is the
    very tree read-tree, update-index and write-tree make of the same changes."""
    from relbot.git import GitRepo, _changed_directories

    yaook_repo.write("docs/_releasenotes/1.fix", "One.\n")
    yaook_repo.write("docs/_releasenotes/2.feature.café", "Two.\n")
    yaook_repo.write("docs/_releasenotes/hotfix/3.fix", "Three.\n")
    yaook_repo.write("only/these/gone.txt", "gone\n")
    yaook_repo.write("kept/a b.txt", "kept\n")
    (yaook_repo.path / "kept" / "link").symlink_to("a b.txt")
    (yaook_repo.path / "run.sh").write_text("#!/bin/sh\n")
    (yaook_repo.path / "run.sh").chmod(0o755)
    yaook_repo.commit_all("Files")
    sub = yaook_repo.git("rev-parse", "HEAD")
    yaook_repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub},vendor/sub")
    yaook_repo.git("commit", "-q", "-m", "A submodule")
    parent = yaook_repo.git("rev-parse", "HEAD")
    git = GitRepo(yaook_repo.path)
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=yaook_repo.path,
                          input=b"new\n", capture_output=True, check=True).stdout.decode().strip()
    changes: dict[str, str | None] = {
        "docs/_releasenotes/1.fix": None, "docs/_releasenotes/2.feature.café": None,
        "only/these/gone.txt": None,  # the directories it leaves empty go
        "docs/_releasenotes/hotfix": None,  # a directory: no index entry to remove
        "not/there": None,
        "CHANGELOG.rst": blob, "version": blob, "new/deep/file.md": blob,
    }
    directories = _changed_directories(changes)
    assert directories[-1] == ""
    ours = git._edit_tree(parent, changes, directories)
    theirs = git._tree_with_index(parent, changes, tmp_path)
    assert ours == theirs
    listing = yaook_repo.git("ls-tree", "-r", "--name-only", ours).splitlines()
    assert "docs/_releasenotes/hotfix/3.fix" in listing
    assert "vendor/sub" in listing
    assert not [p for p in listing if p.startswith("only/")]
    git.close()


def test_cut_without_policies_imports_no_policy_module(yaook_repo: Repo) -> None:
    """A component without policies never loads the policy modules (nor packaging) in a
    cut: 40 ms of imports that a release of such a component does not use."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    code = ("import sys\nfrom relbot.cli import main\n"
            f"sys.argv=['relbot', 'cut', '--yes', '--no-push', '--date', {DATE!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('LOADED', sorted(m for m in sys.modules if m.startswith("
            "('relbot.policy', 'packaging', 'gitlab', 'git.'))), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=yaook_repo.path,
                          capture_output=True, text=True, check=False)
    assert "released v8.1.0" in done.stdout, done.stderr
    assert "LOADED []" in done.stderr, done.stderr


def test_real_cut_saves_the_stat_data_its_status_refreshed(yaook_repo: Repo) -> None:
    """The real cut's status keeps the stat data it refreshed (a fresh CI clone's files
    are all "racily clean"), so the checkout after the branch moved need not hash every
    file again; seen here right when the branch moves, before that checkout."""
    add_fragments(yaook_repo, {"101.feature.shiny": "A shiny feature.\n"})
    version = yaook_repo.path / "version"
    stat = version.stat()
    os.utime(version, (stat.st_atime + 100, stat.st_mtime + 100))  # stat-dirty, same bytes
    index = (yaook_repo.path / ".git" / "index").read_bytes()
    dry = relbot(yaook_repo, "cut", "--dry-run", "--date", DATE)
    assert dry.returncode == 0, dry.stderr
    assert (yaook_repo.path / ".git" / "index").read_bytes() == index  # a dry run: untouched
    hook = kill_relbot_when(yaook_repo, "refs/heads/main")
    killed = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert killed.returncode == -9, killed.stderr
    hook.unlink()
    assert (yaook_repo.path / ".git" / "index").read_bytes() != index
    listed = yaook_repo.git("ls-files", "--debug", "version")
    assert f"mtime: {int(stat.st_mtime) + 100}:" in listed, listed
    rerun = relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE)
    assert rerun.returncode == 0, rerun.stderr
    assert yaook_repo.git("status", "--porcelain") == ""


@pytest.mark.parametrize("case", ["new", "dirty", "resumed"])
def test_a_plan_leaves_no_started_git_process_behind(yaook_repo: Repo, case: str) -> None:
    """The plan starts its questions together; whatever it did not read (a refusal came
    first, a resumed release needs no status) is dropped when it ends, so that nothing
    later reads a stale answer."""
    from relbot.errors import ReleaseRefused
    from relbot.forge import NoForge
    from relbot.project import Project
    from relbot.release import CutOptions, plan_release

    add_fragments(yaook_repo, {"1.fix": "A fix.\n"})
    if case == "resumed":  # the release commit and tag are made, the push is not
        assert relbot(yaook_repo, "cut", "--yes", "--no-push", "--date", DATE).returncode == 0
    if case == "dirty":
        yaook_repo.write("version", "9.9.9\n")
    project = Project(yaook_repo.path)
    git = project.git
    assert git is not None
    git.start_status(save_stat=True)
    git.start_has_remote()
    options = CutOptions(date=DATE, save_stat=True)
    if case == "dirty":
        with pytest.raises(ReleaseRefused, match="not clean"):
            plan_release(project, options, NoForge())
    else:
        plan = plan_release(project, options, NoForge())
        assert (plan.tag, plan.resumed) == ("v8.0.3", case == "resumed")
    assert git._started == {}
