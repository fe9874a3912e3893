"""relbot's command line: parse, call the core, print. No logic lives here.

Heavy libraries (gitpython, towncrier, python-gitlab) are imported inside the
commands that need them, so ``relbot fragment lint`` in an MR pipeline starts
in a few tens of milliseconds.
"""

from __future__ import annotations

import datetime
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from relbot.errors import RelbotError

F = TypeVar("F", bound=Callable[..., Any])


# Exit codes, one rule for every command (README.md's table; tests/test_exit_codes.py
# holds the two together): 0 done; 1 the repository, git or GitLab stopped the command
# (a check found problems, a precondition does not hold, nothing to release) and
# nothing was changed that a rerun cannot finish; 2 the command line or the
# configuration is wrong; 3 a bug in relbot; 130 interrupted (Ctrl-C); 141 the
# output was closed early (`| head`), as git does.
EXIT_OK = 0
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def _fail(message: str, code: int) -> None:
    from relbot.secrets import mask

    click.echo(f"relbot: {mask(message)}", err=True)
    sys.exit(code)


def _print_traceback() -> None:
    """The current exception's traceback for --debug, with secrets masked like every message."""
    import traceback  # only with --debug: it costs every command a few milliseconds

    from relbot.secrets import mask

    click.echo(mask(traceback.format_exc()).rstrip("\n"), err=True)


def _quiet_broken_pipe() -> None:
    """The reader went away (``| head -1``): stop without a word, as git does."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # no real stdout (tests): nothing left to silence
    sys.exit(EXIT_BROKEN_PIPE)


# git's ident.c: an identity it cannot guess, or may not (user.useConfigOnly)
_IDENTITY_HINTS = ("tell me who you are", "empty ident", "auto-detect email",
                   "identity unknown", "auto-detection is disabled")


def _with_hint(exc: RelbotError) -> str:
    """The error's sentence, with the fix for git failures a new user meets first."""
    from relbot.errors import GitError

    message = str(exc)
    if isinstance(exc, GitError) and any(h in message.lower() for h in _IDENTITY_HINTS):
        return (f"{message.rstrip('.')}: git does not know who you are; set "
                "`git config --global user.name 'Your Name'` and `git config --global "
                "user.email you@example.org`, then run the command again.")
    return message


def repository_root(directory: Path) -> Path:
    """The work tree that ``directory`` lies in, found as git finds it; else ``directory``.

    Only the nearest ``.git`` counts (a directory or a worktree's ``.git`` file).
    """
    from relbot.errors import UsageError

    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise UsageError(f"-C {directory}: the directory {what}.")
    start = directory.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def relbot_command(*, component: bool = True) -> Callable[[F], F]:
    """Add -C, --component and --debug; turn relbot's errors into messages and exit codes."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, debug: bool, directory: Path | None, **kwargs: Any) -> Any:
            from relbot.secrets import install_logging_filter, register_environment

            register_environment()
            install_logging_filter()
            try:
                return func(*args, root=repository_root(_directory(directory)), **kwargs)
            except BrokenPipeError:
                _quiet_broken_pipe()
            except RelbotError as exc:
                if debug:
                    _print_traceback()
                _fail(_with_hint(exc), exc.exit_code)
            except KeyboardInterrupt:
                _fail("interrupted; a rerun of the same command finishes what was started.",
                      EXIT_INTERRUPTED)
            except Exception as exc:  # the last line of defence: no traceback
                if debug:
                    _print_traceback()
                _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for "
                      "details, and please report it).", EXIT_INTERNAL)
            return None

        wrapper = click.option("--debug", is_flag=True,
                               help="Show tracebacks of errors.")(wrapper)
        wrapper = click.option(
            "-C", "directory", type=click.Path(path_type=Path), default=None,
            show_default=False,
            help="Run as if relbot was started in this directory (like git -C).")(wrapper)
        if component:
            wrapper = click.option("--component", "component_name", metavar="NAME",
                                   help="Component to act on (needed with several).")(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def _directory(directory: Path | None) -> Path:
    """``-C`` before the command (``relbot -C A``), then after it: each relative to the last."""
    context = click.get_current_context(silent=True)
    outer = context.find_root().params.get("directory") if context else None
    base = Path(outer) if outer else Path()
    if directory is not None:
        base = base / directory
    return base


def _today() -> str:
    """Today, or the day of ``SOURCE_DATE_EPOCH`` (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return datetime.date.today().isoformat()
    try:
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        raise click.UsageError(f"SOURCE_DATE_EPOCH={epoch[:40]!r} is not a time relbot can "
                               "use: give whole seconds since 1970 (before the year 10000), "
                               "or unset it.") from None


def _date(value: str | None) -> str:
    if value is None:
        return _today()
    try:
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2024-10-01.") from None


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    return _date(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True)
@click.version_option(package_name="relbot", prog_name="relbot")
@click.option("-C", "directory", type=click.Path(path_type=Path), default=None,
              help="Run as if relbot was started in this directory (like git -C).")
@click.pass_context
def cli(ctx: click.Context, directory: Path | None) -> None:
    """relbot: release notes, version policies and releases for the Yaook projects.

    Shell completion: eval "$(_RELBOT_COMPLETE=bash_source relbot)" (zsh_source,
    fish_source for the other shells).
    """
    if directory is not None and not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise click.UsageError(f"-C {directory}: the directory {what}.")
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(EXIT_OK)


@cli.group()
def fragment() -> None:
    """Write and check news fragments."""


@fragment.command("new")
@click.argument("type_name", metavar="TYPE")
@click.argument("text", required=False)
@click.option("--mr", type=int, help="MR number (default: x, which `mr check --fix` fills in).")
@click.option("--hotfix", is_flag=True, help="Write into the hotfix directory.")
@relbot_command()
def fragment_new(root: Path, component_name: str | None, type_name: str, text: str | None,
                 mr: int | None, hotfix: bool) -> None:
    """Write a fragment of TYPE; without TEXT, $EDITOR opens."""
    from relbot.fragments import copy_of, new_fragment, stage
    from relbot.project import Project

    project = Project(root, component_name)
    if text is None:
        text = _edit(f"\n# Describe the change for the release notes of "
                     f"{project.component.name} ({type_name}).\n"
                     "# Lines starting with # are dropped.\n", type_name)
        text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    copy = copy_of(project.fragments(hotfix=hotfix), text)
    if copy:
        click.echo(f"warning: {copy} already has this text; the notes would say it twice.",
                   err=True)
    path = new_fragment(project.settings, project.root, type_name, text, mr=mr,
                        directory=project.fragment_directory(hotfix))
    stage(project.root, path)
    click.echo(path.relative_to(project.root))


# Editors that need a terminal (click's default is one of them); a configured GUI
# editor or script (`code --wait`) works without one.
_TERMINAL_EDITORS = frozenset({"vi", "vim", "nvim", "nano", "emacs", "joe", "micro", "mcedit",
                               "ed", "ne", "kak", "hx", "sensible-editor", "editor"})


def _edit(template: str, type_name: str) -> str:
    """The text typed in $EDITOR; without a terminal or a working editor, one sentence."""
    from relbot.errors import UsageError

    example = f"`relbot fragment new {type_name} 'What changed, for the release notes'`"
    editor = (os.environ.get("VISUAL") or os.environ.get("EDITOR") or "").split()
    terminal_editor = not editor or Path(editor[0]).name in _TERMINAL_EDITORS
    if terminal_editor and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(f"no TEXT was given and there is no terminal to open an editor in: "
                         f"give the text as an argument, e.g. {example}.")
    try:
        return click.edit(template, extension=".txt") or ""
    except click.ClickException as exc:
        raise UsageError(f"the editor did not work ({exc.format_message()}): set EDITOR to "
                         f"one that does, or give the text as an argument, e.g. "
                         f"{example}.") from None


@fragment.command("lint")
@click.option("--hotfix", is_flag=True, help="Lint the hotfix directory.")
@relbot_command()
def fragment_lint(root: Path, component_name: str | None, hotfix: bool) -> None:
    """Check every pending fragment; exit 1 on errors."""
    from relbot.errors import CheckFailed
    from relbot.fragments import placeholder_warnings
    from relbot.project import Project

    project = Project(root, component_name)
    found = project.fragments(hotfix=hotfix)
    extra = placeholder_warnings(found, project.root, project.component.release_branch_format,
                                 project.config.default_branch)
    for finding in [*found.findings, *extra]:
        click.echo(str(finding))
    if found.problems:
        raise CheckFailed(f"{len(found.problems)} fragment problem(s) in "
                          f"{project.component.name}.")
    click.echo(f"{len(found.fragments)} fragment(s) ok.", err=True)


@cli.command("next-version")
@click.option("--hotfix", is_flag=True, help="A patch release from the hotfix directory.")
@relbot_command()
def next_version(root: Path, component_name: str | None, hotfix: bool) -> None:
    """Print the next version, nothing else."""
    from relbot.project import Project

    project = Project(root, component_name)
    project.prefetch_current_version()  # the tags are read while the fragments are listed
    found = project.fragments(hotfix=hotfix, names_only=True)  # the types decide, not texts
    click.echo(str(project.next_version(found, hotfix=hotfix)))


@cli.command()
@click.option("--draft", is_flag=True, help="Preview only (notes never write; accepted for "
              "towncrier's habit).")
@click.option("--version", "version_text", metavar="V", help="Version to show (default: next).")
@click.option("--date", callback=_date_option, metavar="YYYY-MM-DD",
              help="Release date (default: today).")
@click.option("--format", "fmt", type=click.Choice(["rst", "md"]),
              help="Markup (default: the changelog's).")
@click.option("--hotfix", is_flag=True, help="Notes of the hotfix fragments.")
@relbot_command()
def notes(root: Path, component_name: str | None, draft: bool, version_text: str | None,
          date: str, fmt: str | None, hotfix: bool) -> None:
    """Print the release notes of the pending fragments."""
    from relbot.project import Project
    from relbot.versions import parse_version

    project = Project(root, component_name)
    found = project.fragments(hotfix=hotfix)
    version = (parse_version(version_text, "--version") if version_text
               else project.next_version(found, hotfix=hotfix))
    click.echo(project.notes(found, version, date, fmt=fmt).text.rstrip("\n"))


@cli.command()
@click.option("--preset", required=True, metavar="NAME",
              help="yaook-k8s, yaook-operator or default.")
@click.option("--force", is_flag=True, help="Replace an existing relbot.toml.")
@relbot_command(component=False)
def init(root: Path, preset: str, force: bool) -> None:
    """Write a configuration for a kind of project."""
    from relbot.presets import apply_preset, get_preset

    result = apply_preset(root.resolve(), preset, force=force)
    for name in result.written:
        click.echo(f"wrote {name}")
    for fact in result.found:
        click.echo(fact, err=True)
    summary = get_preset(preset).summary if not result.found else "adopted what was found"
    click.echo(f"preset {preset}: {summary}", err=True)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print plan, version and notes; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--version", "version_text", metavar="V", help="Release this version.")
@click.option("--pre", metavar="TOKEN", help="A pre-release such as rc: X.Y.Z-rc.N.")
@click.option("--hotfix", is_flag=True, help="A patch release from the hotfix fragments, "
              "on a release branch.")
@click.option("--date", callback=_date_option, metavar="YYYY-MM-DD",
              help="Release date (default: today).")
@click.option("--no-push", is_flag=True, help="Stop after the tag.")
@click.option("--all", "all_components", is_flag=True,
              help="Release every component that has pending fragments, in order.")
@click.option("--prepare", is_flag=True, help="release_flow = \"prepare\": put the release "
              "commit on a prepare branch and push only that branch.")
@click.option("--finish", is_flag=True, help="release_flow = \"prepare\": on a prepare "
              "branch, merge it into the release branch, tag, push and publish.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@relbot_command()
def cut(root: Path, component_name: str | None, dry_run: bool, yes: bool,
        version_text: str | None, pre: str | None, hotfix: bool, date: str, no_push: bool,
        all_components: bool, prepare: bool, finish: bool, as_json: bool) -> None:
    """Cut a release: version, changelog, commit, tag, push, forge release."""
    import json

    from relbot.cut_command import run_cut

    out = (lambda text: click.echo(text, err=True)) if as_json else click.echo
    confirm = None if yes else _confirm
    try:
        data = run_cut(root, component_name, all_components=all_components, dry_run=dry_run,
                       confirm=confirm, say=out, date=date, version=version_text, pre=pre,
                       hotfix=hotfix, push=not no_push, prepare=prepare, finish=finish,
                       release_text=as_json)
    except RelbotError as exc:
        if as_json:  # a JSON reader gets an object on failure too; the sentence goes to stderr
            from relbot.secrets import mask

            click.echo(json.dumps({"error": mask(str(exc)), "exit_code": exc.exit_code}))
        raise
    if as_json:
        click.echo(json.dumps(data, indent=2))


def _confirm(description: str) -> bool:
    """Show the plan and ask; without a terminal there is no one to ask."""
    from relbot.errors import UsageError

    if not sys.stdin.isatty():
        raise UsageError("not a terminal, so relbot cannot ask: pass --yes to cut "
                         "without confirmation (or --dry-run to look first).")
    click.echo(description)
    try:
        return click.confirm("\nGo ahead?", default=False)
    except click.Abort:  # Ctrl-C or Ctrl-D at the prompt: the same as "no"
        click.echo("", err=True)
        return False


@cli.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Build the demo in this new directory and keep it (default: a temporary "
                   "directory, removed afterwards).")
@click.option("--date", callback=_date_option, metavar="YYYY-MM-DD",
              help="Release date (default: today).")
@relbot_command(component=False)
def demo(root: Path, keep: Path | None, date: str) -> None:
    """Show relbot's job on a throwaway Yaook/K8s-like repository with a local remote."""
    from relbot.demo import run_demo, workspace

    with workspace(keep) as base:
        run_demo(base, click.echo, date)


@cli.group()
def mr() -> None:
    """Merge-request pipeline commands."""


@mr.command("check")
@click.option("--fix", is_flag=True, help="Rename this MR's x.* fragments to its number, "
              "commit and push (same-project MRs only).")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a JUnit report for GitLab's MR widget.")
@click.option("--no-comment", is_flag=True, help="Do not comment on the MR.")
@click.option("--iid", type=int, help="MR number (default: CI_MERGE_REQUEST_IID).")
@click.option("--base", metavar="REV", help="Base commit (default: "
              "CI_MERGE_REQUEST_DIFF_BASE_SHA).")
@relbot_command()
def mr_check(root: Path, component_name: str | None, fix: bool, junit: Path | None,
             no_comment: bool, iid: int | None, base: str | None) -> None:
    """Check a merge request and keep relbot's one comment on it up to date."""
    from relbot.ci_env import CiEnv
    from relbot.errors import CheckFailed
    from relbot.findings import errors
    from relbot.mr_command import run_mr_check

    report, comment_status = run_mr_check(root, component_name, fix=fix, junit=junit,
                                          comment=not no_comment, iid=iid, base=base,
                                          ci=CiEnv.from_environ(os.environ))
    click.echo(report.describe())
    click.echo(comment_status, err=True)
    if not report.ok:
        raise CheckFailed(f"merge request !{report.mr.iid} has {len(errors(report.findings))} "
                          "problem(s).")

@cli.group()
def policy() -> None:
    """Check declared versions against the policies, find upgrade paths, print matrices."""


@policy.command("check")
@click.option("--base", metavar="REV", help="Also check the change since REV: upgrades in "
              "allowed steps, removals announced by a fragment.")
@click.option("--verbose", "-v", is_flag=True,
              help="Also print every declared version the probes found.")
@relbot_command()
def policy_check(root: Path, component_name: str | None, base: str | None,
                 verbose: bool) -> None:
    """Check declared versions against the policies.

    Exit 1 on errors (printed as file:line: message [rule]); warnings pass.
    """
    from relbot.errors import CheckFailed
    from relbot.findings import errors
    from relbot.policy.check import run_check
    from relbot.project import Project

    project = Project(root, component_name)
    pending = project.fragments().fragments if base is not None else ()
    report = run_check(project, base, pending)
    if verbose:
        for item in report.declared:
            click.echo(f"declared: {report.titles[item.policy]} {item.value} ({item.where()})")
    for finding in report.findings:
        click.echo(str(finding))
    bad = errors(list(report.findings))
    if bad:
        raise CheckFailed(f"{len(bad)} policy problem(s) in {project.component.name}.")
    click.echo(report.summary(project.component.name), err=True)


@policy.command("update")
@click.argument("subjects", nargs=-1, metavar="[SUBJECT]...")
@click.option("--from", "sources", multiple=True, metavar="FILE",
              type=click.Path(path_type=Path, exists=True),
              help="Read upstream's files from local copies (repeatable; a directory means "
                   "its *.md pages) instead of downloading them.")
@click.option("--url", "urls", multiple=True, metavar="URL",
              help="Download from URL instead of the policy's [upstream] urls (repeatable).")
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD",
              help="The day the upstream data was taken (default: today for a download).")
@click.option("--check", is_flag=True,
              help="Change nothing; exit 1 with a summary when a file is behind upstream.")
@relbot_command(component=False)
def policy_update(root: Path, subjects: tuple[str, ...], sources: tuple[Path, ...],
                  urls: tuple[str, ...], as_of: str | None, check: bool) -> None:
    """Regenerate the lifecycle part of policy files from upstream data.

    SUBJECT is a policy name (policies/NAME.toml) or a path; without one, every
    policies/*.toml with a [lifecycle] or [upstream] table. Decisions, comments
    and order are kept.
    """
    from relbot.errors import CheckFailed
    from relbot.policy.update import policy_files, update

    targets = policy_files(root, subjects)
    if (sources or urls) and len(targets) > 1:
        from relbot.errors import UsageError

        raise UsageError("--from and --url name one subject's files; give one SUBJECT.")
    behind = []
    for target in targets:
        result = update(target, sources=sources, urls=urls, as_of=as_of)
        click.echo(result.summary())
        if check:
            if result.behind:
                behind.append(result.label)
        elif result.new_text != result.old_text:
            target.write_text(result.new_text, encoding="utf-8")
            click.echo(f"wrote {target}", err=True)
    if behind:
        raise CheckFailed(", ".join(behind) + " behind upstream; run `relbot policy update`.")


@policy.command("path")
@click.argument("subject")
@click.argument("start", metavar="FROM")
@click.argument("goal", metavar="TO")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as a JSON object.")
@relbot_command(component=False)
def policy_path(root: Path, subject: str, start: str, goal: str, as_json: bool) -> None:
    """Print the shortest allowed upgrade path.

    From release FROM to TO of SUBJECT (a policy name or file), such as
    `relbot policy path openstack zed 2024.1`; exit 1 with the reason if none.
    """
    import json

    from relbot.errors import CheckFailed
    from relbot.policy.upgrade import upgrade_path

    answer = upgrade_path(root, subject, start, goal)
    if as_json:
        click.echo(json.dumps(answer.as_json(), indent=2))
    elif answer.found:
        click.echo(answer.text())
        for note in answer.notes:
            click.echo(f"note: {note}.", err=True)
    if not answer.found:
        raise CheckFailed(answer.reason)


@policy.command("show")
@click.argument("subjects", nargs=-1, metavar="[SUBJECT]...")
@click.option("--format", "fmt", type=click.Choice(["md", "rst", "json"]), default="md",
              show_default=True, help="Markup of the matrix.")
@relbot_command()
def policy_show(root: Path, component_name: str | None, subjects: tuple[str, ...],
                fmt: str) -> None:
    """Print the support matrix.

    Of the named SUBJECTs (policy names or files), else of the component's policies.
    """
    from relbot.policy.show import show

    click.echo(show(root, component_name, subjects, fmt).rstrip("\n"))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="relbot")
