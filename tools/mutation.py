"""Mutation testing of the modules where a silent bug costs most, with mutmut 3.

    python -m tools.mutation run [MODULE ...] [--max-children N] [--budget SECONDS] [--resume]
    python -m tools.mutation collect [MODULE ...]   # store what a stopped run reached
    python -m tools.mutation report          # docs/mutation.md from the stored results
    python -m tools.mutation list            # the modules and the tests that cover each

``run`` mutates one module at a time in a scratch copy of the project
(``build/mutation/<module>/``), runs only the test files that cover that module
(mutmut picks, per mutant, the tests that reach the mutated function), and
stores each mutant's outcome in ``docs/mutation-results.json``; modules not
named keep their earlier results. ``report`` joins those results with the
hand-kept reasons why a surviving mutant is equivalent
(``tools/mutation_equivalents.toml``, keyed by mutant name) and writes
``docs/mutation.md``. Neither is part of ``.ci/run``: the GitLab job
``mutation`` runs both, by hand or on a schedule (docs/decisions.md).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT / "docs" / "mutation-results.json"
REPORT = PROJECT / "docs" / "mutation.md"
EQUIVALENTS = PROJECT / "tools" / "mutation_equivalents.toml"
SCRATCH = PROJECT / "build" / "mutation"
TARGET = 0.85  # the share of non-equivalent mutants each module's tests must kill
# A mutant that makes a test fail, or hang until mutmut's timeout, was noticed by the tests.
CAUGHT = frozenset({"killed", "timeout", "caught by type check"})


@dataclass(frozen=True)
class Module:
    """A module to mutate and the test files that exercise it."""

    path: str
    tests: tuple[str, ...]
    why: str


def _key(path: str) -> str:
    """A module's short name: its file's stem, or its package's name for an __init__.py."""
    file = Path(path)
    return file.parent.name if file.stem == "__init__" else file.stem


MODULES: dict[str, Module] = {_key(m.path): m for m in (
    Module("relbot/secrets.py", ("tests/test_secrets.py",), "secret masking"),
    Module("relbot/safe_files.py", ("tests/test_safe_files.py", "tests/test_fragments.py"),
           "the one reader of files from a merge request"),
    Module("relbot/markdown_safety.py", ("tests/test_markdown_safety.py",
                                         "tests/test_mr_check.py"),
           "untrusted text in the MR comment"),
    Module("relbot/comment.py", ("tests/test_comment.py", "tests/test_mr_check.py",
                                 "tests/test_comment_posting.py"),
           "the MR comment"),
    Module("relbot/versions.py", ("tests/test_versions.py", "tests/test_notes.py"),
           "version computation"),
    Module("relbot/release.py", ("tests/test_cut.py", "tests/test_faults_and_races.py",
                                 "tests/test_gitlab_faults.py", "tests/test_multicomponent.py",
                                 "tests/test_release_resume.py", "tests/test_release_rules.py",
                                 "tests/test_prepare_flow.py", "tests/test_hotfix_flow.py",
                                 "tests/test_premerge_hotfix.py",
                                 "tests/test_release_proof.py", "tests/test_release_plan.py",
                                 "tests/test_release_messages.py",
                                 "tests/test_policy_integration.py",
                                 "tests/test_release_push_auth.py"),
           "the release plan and its execution"),
    Module("relbot/release_commit.py", ("tests/test_release_proof.py",
                                        "tests/test_release_resume.py",
                                        "tests/test_hotfix_flow.py", "tests/test_cut.py"),
           "the release commit: what proves a release, and its trailers"),
    Module("relbot/branches.py", ("tests/test_release_rules.py", "tests/test_hotfix_flow.py",
                                  "tests/test_prepare_flow.py"),
           "which branch a release lands on"),
    Module("relbot/git.py", ("tests/test_git_plumbing.py", "tests/test_git_processes.py",
                             "tests/test_cut.py",
                             "tests/test_faults_and_races.py", "tests/test_release_proof.py"),
           "git plumbing"),
    Module("relbot/mr.py", ("tests/test_mr_check.py", "tests/test_gitlab_forge.py",
                            "tests/test_premerge_hotfix.py", "tests/test_trust.py",
                            "tests/test_mr_steering.py", "tests/test_mr_fix.py",
                            "tests/test_mr_hotfix.py", "tests/test_mr_policies.py",
                            "tests/test_mr_presence.py", "tests/test_mr_push_refusal.py",
                            "tests/test_mr_tarook_layout.py", "tests/test_mr_details.py",
                            "tests/test_comment_bounds.py"),
           "the MR check"),
    Module("relbot/tree.py", ("tests/test_tree.py", "tests/test_trust.py", "tests/test_mr_check.py",
                              "tests/test_hostile_input.py"),
           "the trust boundary: what is read from which commit"),
    Module("relbot/untrusted.py", ("tests/test_untrusted.py", "tests/test_markdown_safety.py",
                                   "tests/test_trust.py",
                                   "tests/test_mr_check.py"),
           "the trust boundary: rules for text from a merge request"),
    Module("relbot/forge/credentials.py", ("tests/test_credentials.py",
                                           "tests/test_gitlab_tokens.py",
                                           "tests/test_release_push_auth.py",
                                           "tests/test_trust.py"),
           "the trust boundary: which token goes to which host"),
    Module("relbot/forge/http.py", ("tests/test_gitlab_hostile.py", "tests/test_gitlab_tokens.py",
                                    "tests/test_gitlab_faults.py", "tests/test_gitlab_forge.py",
                                    "tests/test_http_guard.py"),
           "the trust boundary: one host, no redirects, bounded answers"),
    Module("relbot/ci_env.py", ("tests/test_ci_env_reader.py", "tests/test_trust.py"),
           "the trust boundary: what the CI job says it is"),
    Module("relbot/forge/__init__.py", ("tests/test_comment_posting.py",
                                        "tests/test_mr_check.py", "tests/test_gitlab_tokens.py",
                                        "tests/test_gitlab_forge.py"),
           "which note is relbot's"),
)}

_COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "mutants", "__pycache__",
                                      "*.egg-info", ".pytest_cache", ".mypy_cache",
                                      ".ruff_cache", ".hypothesis", "out")


def _scratch_project(name: str, module: Module) -> Path:
    """A copy of the project whose pyproject tells mutmut what to mutate and which tests run."""
    work = SCRATCH / name
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(PROJECT, work, ignore=_COPY_IGNORE, symlinks=True)
    _configure(work, module)
    return work


def refresh(work: Path, project: Path = PROJECT) -> None:
    """Bring a scratch copy up to the project's current files for a resumed run: relbot
    (mutmut writes the mutated copy itself), and the tests and every other file the tests
    read (docs, policies, templates) both in the copy and in mutmut's ``mutants/``, where
    the tests run; a stale generated page would fail the clean run before any mutant."""
    shutil.copytree(project / "relbot", work / "relbot", dirs_exist_ok=True, ignore=_COPY_IGNORE)
    for entry in project.iterdir():
        if entry.name in {"relbot", "pyproject.toml"} or _COPY_IGNORE(str(project),
                                                                     [entry.name]):
            continue
        for where in (work, work / "mutants"):
            target = where / entry.name
            if entry.is_dir():
                shutil.copytree(entry, target, dirs_exist_ok=True, ignore=_COPY_IGNORE,
                                symlinks=True)
            else:
                shutil.copy2(entry, target)


def _configure(work: Path, module: Module) -> None:
    """Tell mutmut, in the scratch copy's pyproject, what to mutate and which tests run."""
    tests = [t for t in module.tests if (PROJECT / t).exists()]
    also = sorted(p.name for p in PROJECT.iterdir()
                  if p.name not in {"relbot", "tests", "pyproject.toml", ".git", ".venv",
                                    "build", "dist", "mutants"})
    config = {
        "source_paths": ["relbot"],
        "only_mutate": [module.path],
        "also_copy": also,
        "pytest_add_cli_args_test_selection": tests,
        # one process per mutant, no plugins that reorder or parallelise
        "pytest_add_cli_args": ["-p", "no:xdist", "-p", "no:randomly", "-p", "no:cacheprovider",
                                "-q", "-x"],
        "timeout_multiplier": 5.0,
        # mypy --strict gates every merge (.ci/run): a mutant it rejects cannot ship, so it
        # counts as caught without running a test
        "type_check_command": [sys.executable, "-m", "mypy", "--strict",
                               "--no-warn-unused-ignores", "--output", "json", "relbot"],
    }
    lines = ["", "[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in
                                     config.items()]
    pyproject = work / "pyproject.toml"
    own = (PROJECT / "pyproject.toml").read_text()
    pyproject.write_text(own + "\n".join(lines) + "\n")


_RESULT_LINE = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+): (?P<status>.+?)\s*$")


def run_module(name: str, max_children: int, budget: float,
               resume: bool = False, survivors_only: bool = False) -> dict[str, str]:
    """Mutate one module; each mutant's status (killed, survived, timeout, no tests, ...).

    ``resume`` continues in the module's scratch copy with the project's current code and
    tests: mutmut keeps the outcome of every function whose code did not change (it hashes
    each function), runs the mutants of changed functions and those a budget left
    unfinished, and then the survivors once more, so that new tests show what they kill.
    A slow module can so be finished in several goes.
    """
    module = MODULES[name]
    work = SCRATCH / name
    resuming = resume and (work / "mutants" / "mutmut-stats.json").exists()
    if resuming:
        refresh(work)
        _configure(work, module)
        _keep_outcomes_of_new_tests(work, module)
    else:
        work = _scratch_project(name, module)
    # Only tests that call relbot in-process can kill a mutant: mutmut's trampolines do not
    # work in a relbot subprocess (they look for mutmut's configuration in its directory), so
    # such tests run relbot as installed and mutmut counts only what it saw in-process.
    env = {**os.environ, "RELBOT_SHARED_DIR": str(PROJECT.parent / "shared")}
    started = time.monotonic()
    log = work / "mutmut.log"

    def mutmut(*names: str) -> None:
        with log.open("ab") as out:
            subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children",
                            str(max_children), *names], cwd=work, env=env, check=False,
                           timeout=max(1.0, budget - (time.monotonic() - started)),
                           stdout=out, stderr=subprocess.STDOUT)

    try:
        log.write_bytes(b"")
        if not (resuming and survivors_only):
            mutmut()  # the mutants without an outcome
        if resuming:
            known = load_equivalents()  # an equivalent mutant survives any test: not again
            survivors = [m for m, s in _statuses(work).items()
                         if s not in CAUGHT and s != "not checked" and m not in known]
            if survivors:
                # forgotten first, so that a budget cutting this rerun leaves those it did
                # not reach "not checked" (a partial run), not "survived" from before
                forget_outcomes(work, module, survivors)
                mutmut(*survivors)  # once more, against the current tests
    except subprocess.TimeoutExpired:
        print(f"{name}: stopped after the budget of {budget:.0f} s; unfinished mutants are "
              "reported as not checked", file=sys.stderr)
    statuses = _statuses(work)
    print(f"{name}: {len(statuses)} mutants in {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    return statuses


def forget_outcomes(work: Path, module: Module, mutants: list[str]) -> None:
    """Set the stored outcome of ``mutants`` back to unknown in mutmut's record of the
    module (``mutants/<path>.meta``, its ``exit_code_by_key``): mutmut then shows them
    as not checked until it has run them again."""
    meta = work / "mutants" / f"{module.path}.meta"
    data = json.loads(meta.read_text())
    codes = data["exit_code_by_key"]
    for mutant in mutants:
        if mutant in codes:
            codes[mutant] = None
    meta.write_text(json.dumps(data))


def _keep_outcomes_of_new_tests(work: Path, module: Module) -> None:
    """Let the earlier outcomes stand when only the module's list of test files changed.

    mutmut forgets every outcome when its test selection changes; but added test files
    hold only new tests, which mutmut then finds and maps to the functions they reach (its
    incremental statistics), and the survivors run again against them. So the stored
    fingerprint of the selection is brought up to date, computed as mutmut computes it
    (``Config.config_fingerprint``: the first 12 hex digits of the SHA-256 of the repr of
    the tuple); were that scheme to change, mutmut would simply start over.
    """
    stats = work / "mutants" / "mutmut-stats.json"
    data = json.loads(stats.read_text())
    selection = tuple(t for t in module.tests if (PROJECT / t).exists())
    fingerprint = data.get("config_fingerprint") or {}
    fingerprint["test_selection"] = hashlib.sha256(repr(selection).encode()).hexdigest()[:12]
    data["config_fingerprint"] = fingerprint
    stats.write_text(json.dumps(data))


def _statuses(work: Path) -> dict[str, str]:
    """Each mutant's outcome as mutmut stored it in the scratch copy ``work``."""
    env = {**os.environ, "RELBOT_SHARED_DIR": str(PROJECT.parent / "shared")}
    listing = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"],
                             cwd=work, env=env, capture_output=True, text=True, check=False)
    statuses = {}
    for line in listing.stdout.splitlines():
        match = _RESULT_LINE.match(line)
        if match:
            statuses[match["name"]] = match["status"]
    return statuses


def survivor_diffs(name: str, statuses: dict[str, str]) -> dict[str, str]:
    """The changed lines of each mutant that was not killed, from the scratch copy."""
    return {mutant: diff_of(name, mutant) for mutant, status in statuses.items()
            if status not in CAUGHT and status != "not checked"}


def load_results() -> dict[str, dict[str, object]]:
    """The stored results: per module, when it ran and each mutant's status."""
    if not RESULTS.exists():
        return {}
    data: dict[str, dict[str, object]] = json.loads(RESULTS.read_text())
    return data


def load_reasons(kind: str) -> dict[str, str]:
    """The hand-kept reasons of one kind, keyed by mutant: ``equivalent`` (it behaves exactly
    like the original) or ``accepted`` (it differs, but no test is worth it: say why)."""
    if not EQUIVALENTS.exists():
        return {}
    data = tomllib.loads(EQUIVALENTS.read_text())
    return {str(key): str(value) for key, value in data.get(kind, {}).items()}


def load_equivalents() -> dict[str, str]:
    """Why each listed surviving mutant cannot be told apart from the original."""
    return load_reasons("equivalent")


def diff_of(name: str, mutant: str) -> str:
    """The mutant's diff, from the scratch copy of its last run (empty when that is gone)."""
    work = SCRATCH / name
    if not (work / "mutants").exists():
        return ""
    shown = subprocess.run([sys.executable, "-m", "mutmut", "show", mutant], cwd=work,
                           capture_output=True, text=True, check=False)
    return "\n".join(line for line in shown.stdout.splitlines()
                     if line[:1] in "+-" and not line.startswith(("+++", "---")))


def summarise(statuses: dict[str, str], equivalents: dict[str, str]) -> dict[str, int]:
    """Counts of one module's mutants; ``score`` in percent of the non-equivalent ones that
    were checked (``unchecked``: those a partial run did not reach)."""
    unchecked = sum(1 for s in statuses.values() if s == "not checked")
    killed = sum(1 for s in statuses.values() if s in CAUGHT)
    # an equivalent mutant a partial run did not reach is counted once, as unchecked
    equivalent = sum(1 for m, s in statuses.items()
                     if s not in CAUGHT and s != "not checked" and m in equivalents)
    relevant = len(statuses) - equivalent - unchecked
    return {"mutants": len(statuses), "killed": killed, "equivalent": equivalent,
            "survived": relevant - killed, "unchecked": unchecked,
            "score": round(100 * killed / relevant) if relevant else 100}


def render(results: dict[str, dict[str, object]], equivalents: dict[str, str]) -> str:
    """docs/mutation.md."""
    lines = [
        "# Mutation testing: do the tests notice a wrong line?",
        "",
        "<!-- generated by `python -m tools.mutation report` from docs/mutation-results.json "
        "and tools/mutation_equivalents.toml; do not edit by hand -->",
        "",
        "mutmut 3 changed each line of these modules in small ways (an operator, a constant, a "
        "condition, a dropped call) and ran the tests that reach the changed function. A "
        "*killed* mutant made a test fail (or hang until mutmut's timeout, counted as killed); "
        "a *survivor* did not. Survivors that behave differently from the original got a new "
        "test (the next run shows them killed); those left are listed below, each with the "
        "reason it is equivalent (it behaves exactly like the original) or why it is left. "
        "Only tests that run relbot in-process can kill a mutant. Run: "
        "`python -m tools.mutation run MODULE` then `python -m tools.mutation report` "
        "(`run --resume MODULE` continues a run its budget stopped, keeping the outcomes of "
        "the functions whose code did not change, and reruns the survivors against the "
        "current tests; `run --resume --survivors MODULE` reruns only the survivors; "
        "`collect MODULE` stores what a stopped run reached). A *partial run* counts only "
        "the mutants it checked, and claims nothing about the others. "
        f"Target: at least {TARGET:.0%} of the non-equivalent mutants killed in each "
        "module.",
        "",
        "| module | what a silent bug breaks | tests run | run | mutants | killed | equivalent "
        "| survived | killed of non-equivalent |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, module in MODULES.items():
        entry = results.get(name)
        used = entry.get("tests", module.tests) if entry else module.tests
        tests = ", ".join(f"`{Path(t).name}`" for t in used)  # type: ignore[attr-defined]
        if entry is None:
            lines.append(f"| `{module.path}` | {module.why} | {tests} | not run yet | | | | | |")
            continue
        statuses = dict(entry["mutants"])  # type: ignore[call-overload]
        counts = summarise(statuses, equivalents)
        mark = "" if counts["score"] >= TARGET * 100 else " (below target)"
        if counts["unchecked"]:
            mark += (f" (partial run: {counts['unchecked']} of {counts['mutants']} mutants "
                     "not checked)")
        lines.append(f"| `{module.path}` | {module.why} | {tests} | {entry['date']} "
                     f"| {counts['mutants']} "
                     f"| {counts['killed']} | {counts['equivalent']} | {counts['survived']} "
                     f"| {counts['score']}%{mark} |")
    lines += ["", "## Survivors", ""]
    for name, module in MODULES.items():
        entry = results.get(name)
        if entry is None:
            continue
        statuses = dict(entry["mutants"])  # type: ignore[call-overload]
        diffs = dict(entry.get("diffs", {}))  # type: ignore[call-overload]
        survivors = sorted((m, s) for m, s in statuses.items()
                           if s not in CAUGHT and s != "not checked")
        if not survivors:
            continue
        lines += [f"### {module.path}", ""]
        for mutant, status in survivors:
            reason, accepted = equivalents.get(mutant), load_reasons("accepted").get(mutant)
            verdict = (f"equivalent: {reason}" if reason else
                       f"left, not equivalent: {accepted}" if accepted else
                       "NOT ACCOUNTED FOR")
            lines.append(f"- `{mutant}` ({status}): {verdict}")
            if diffs.get(mutant):
                lines += ["", "  ```diff", *(f"  {d}" for d in diffs[mutant].splitlines()),
                          "  ```", ""]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="mutate modules and store the results")
    run.add_argument("modules", nargs="*", metavar="MODULE",
                     help=f"default: all of {', '.join(MODULES)}")
    run.add_argument("--max-children", type=int, default=2,
                     help="mutants tested at once (default 2)")
    run.add_argument("--budget", type=float, default=1800.0,
                     help="seconds per module before mutmut is stopped (default 1800)")
    run.add_argument("--resume", action="store_true",
                     help="continue the last run of each module in its scratch copy: the "
                     "unfinished mutants, then the survivors again with the current tests")
    collect = sub.add_parser("collect", help="store what the scratch copies hold now (a run "
                             "stopped by hand, or still going), then write the report")
    collect.add_argument("modules", nargs="*", metavar="MODULE")
    run.add_argument("--survivors", action="store_true",
                     help="with --resume: only run the survivors again (against new tests), "
                     "not the mutants still unchecked")
    sub.add_parser("report", help="write docs/mutation.md from the stored results")
    sub.add_parser("list", help="show the modules and their tests")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, module in MODULES.items():
            print(f"{name}: {module.path} <- {' '.join(module.tests)}")
        return 0
    if args.command in ("run", "collect"):
        unknown = [m for m in args.modules if m not in MODULES]
        if unknown:
            parser.error(f"unknown module(s) {', '.join(unknown)}; known: {', '.join(MODULES)}")
        for name in args.modules or list(MODULES):
            if not (PROJECT / MODULES[name].path).exists():
                print(f"{name}: {MODULES[name].path} does not exist; skipped", file=sys.stderr)
                continue
            if args.command == "collect":
                if not (SCRATCH / name / "mutants").exists():
                    print(f"{name}: no scratch copy to collect from", file=sys.stderr)
                    continue
                statuses = _statuses(SCRATCH / name)
            else:
                statuses = run_module(name, args.max_children, args.budget, args.resume,
                                      args.survivors)
            unfinished = sum(1 for status in statuses.values() if status == "not checked")
            if not statuses:
                print(f"{name}: mutmut found no mutants; results not stored", file=sys.stderr)
                continue
            if unfinished:
                # stored as a partial run: the report counts only the checked mutants
                print(f"{name}: {unfinished} of {len(statuses)} mutants not checked; stored as "
                      f"a partial run, continue with: python -m tools.mutation run --resume "
                      f"{name}", file=sys.stderr)
            diffs = survivor_diffs(name, statuses)  # slow: before reading the results
            results = load_results()  # another run may have stored other modules meanwhile
            results[name] = {"date": datetime.date.today().isoformat(),
                             "tests": [t for t in MODULES[name].tests
                                       if (PROJECT / t).exists()],
                             "mutants": dict(sorted(statuses.items())),
                             "diffs": diffs}
            RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    REPORT.write_text(render(load_results(), load_equivalents()))
    print(f"wrote {REPORT.relative_to(PROJECT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
