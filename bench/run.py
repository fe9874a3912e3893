"""Benchmark runner: relbot's commands beside ``towncrier build --draft`` and ``reno report``.

For each repository size it generates (or reuses) a synthetic repository
(``bench.generate``), then times whole processes, as a user or a CI job runs
them: wall time with ``time.perf_counter`` around ``subprocess.Popen`` and
``os.wait4``, whose resource usage gives the peak RSS of exactly that
process. Every command of every size runs once per round, rounds interleaved,
so drift of the machine spreads over all of them; the medians, the ratios
and a verdict on each of issue 7's targets are printed and written as
Markdown (``docs/benchmarks.md`` by default).

Run ``python -m bench.run --help``; ``bench/README.md`` explains the sizes.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.generate import Generated, Size, generate

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = PROJECT / "bench" / "out"
DEFAULT_REPORT = PROJECT / "docs" / "benchmarks.md"

PRESETS: dict[str, tuple[Size, ...]] = {
    "smoke": (Size(50, 20, 3),),
    "small": tuple(Size(1000, f) for f in (200, 2000, 10000)),
    "full": tuple(Size(c, f) for c in (1000, 20000, 100000) for f in (200, 2000, 10000)),
}

LINT = "relbot fragment lint"
NEXT = "relbot next-version"
NOTES = "relbot notes --draft"
CUT = "relbot cut --dry-run"
MR = "relbot mr check"
TOWNCRIER = "towncrier build --draft"
RENO = "reno report"
RELBOT_COMMANDS = (LINT, NEXT, NOTES, CUT, MR)
COMMANDS = (*RELBOT_COMMANDS, TOWNCRIER, RENO)


@dataclass(frozen=True)
class Job:
    """One command on one repository."""

    size: Size
    command: str
    argv: tuple[str, ...]
    cwd: Path


@dataclass
class Measurement:
    """The runs of one job: wall times (s) and peak RSS (KiB)."""

    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    failure: str | None = None

    @property
    def median(self) -> float:
        """Median wall time in seconds."""
        return statistics.median(self.times)

    @property
    def cpu_median(self) -> float:
        """Median CPU time (user + system) in seconds."""
        return statistics.median(self.cpu)

    @property
    def peak_mb(self) -> float:
        """Highest peak RSS of all runs, in MB (10^6 bytes, as the targets count)."""
        return max(self.rss_kib) * 1024 / 1e6


Results = dict[tuple[Size, str], Measurement]


@dataclass(frozen=True)
class Verdict:
    """One target of issue 7 and how this run did against it."""

    target: str
    verdict: str  # PASS, FAIL or n/a
    detail: str


def tool(name: str) -> str | None:
    """The console script ``name`` of this Python's environment, else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    return shutil.which(name)


def child_environment() -> dict[str, str]:
    """The environment of the timed commands: no CI or token variables of the host."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CI_", "GITLAB_", "RELBOT_")) and key != "CI"}
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


@dataclass(frozen=True)
class Run:
    """One process: wall and CPU seconds, peak RSS, exit code, the end of its stderr."""

    wall: float
    cpu: float
    rss_kib: int
    code: int
    stderr_tail: str


def measure(argv: Sequence[str], cwd: Path, env: dict[str, str],
            stdout: Path | None = None) -> Run:
    """Run ``argv`` once and measure that very process."""
    with tempfile.TemporaryFile() as err, (stdout or Path(os.devnull)).open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
    return Run(elapsed, usage.ru_utime + usage.ru_stime, int(usage.ru_maxrss),
               proc.returncode, " / ".join(tail))


def compile_relbot() -> str:
    """Compile relbot's modules to bytecode, as ``pip install`` does for the other tools.

    An editable install under ``PYTHONDONTWRITEBYTECODE`` (set in some CI images and
    development shells) would otherwise compile relbot's source in every timed run,
    while towncrier and reno load theirs from ``.pyc`` files.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("relbot")
    if spec is None or not spec.submodule_search_locations:
        return "relbot not found"
    for location in spec.submodule_search_locations:
        if not compileall.compile_dir(location, quiet=1):
            return f"compiling {location} failed"
    return "compiled before timing, as `pip install` does"


def jobs_for(repo: Generated, next_version: str, relbot: list[str], towncrier: str | None,
             reno: str | None) -> list[Job]:
    """The commands timed on one repository."""
    work = Path(repo.work)
    size = repo.size
    jobs = []
    # towncrier right before the relbot commands compared with it, so that each pair
    # runs back to back (see paired()).
    if towncrier:
        jobs.append(Job(size, TOWNCRIER, (towncrier, "build", "--draft", "--version",
                                          next_version, "--date", repo.date), work))
    jobs += [
        Job(size, NOTES, (*relbot, "notes", "--draft", "--date", repo.date), work),
        Job(size, CUT, (*relbot, "cut", "--dry-run", "--date", repo.date), work),
        Job(size, LINT, (*relbot, "fragment", "lint"), work),
        Job(size, NEXT, (*relbot, "next-version"), work),
        Job(size, MR, (*relbot, "mr", "check", "--no-comment", "--iid", str(repo.mr_iid),
                       "--base", repo.mr_base), work),
    ]
    if reno:
        jobs.append(Job(size, RENO, (reno, "report"), work))
    return jobs


def relbot_argv() -> list[str]:
    """How to start relbot: its console script, else ``python -m relbot``."""
    script = tool("relbot")
    return [script] if script else [sys.executable, "-m", "relbot"]


def check_outputs(repo: Generated, next_version: str, relbot: list[str],
                  towncrier: str | None, env: dict[str, str], scratch: Path) -> str:
    """Whether ``relbot notes --draft`` prints what ``towncrier build --draft`` prints."""
    if towncrier is None:
        return "towncrier not installed"
    work = Path(repo.work)
    ours, theirs = scratch / "relbot.md", scratch / "towncrier.md"
    measure([*relbot, "notes", "--draft", "--date", repo.date], work, env, ours)
    measure([towncrier, "build", "--draft", "--version", next_version, "--date", repo.date],
            work, env, theirs)
    same = (ours.read_text(encoding="utf-8").rstrip("\n")
            == theirs.read_text(encoding="utf-8").rstrip("\n"))
    return "identical" if same else "DIFFERENT"


def run(sizes: Sequence[Size], *, out: Path, repeat: int, warmup: int, seed: int,
        reno_max_fragments: int, reno_max_commits: int, use_reno: bool,
        log: Callable[[str], None]) -> tuple[Results, dict[Size, str], dict[str, str]]:
    """Generate the repositories and time every command; returns results and notes."""
    env = child_environment()
    relbot = relbot_argv()
    towncrier = tool("towncrier")
    reno = tool("reno") if use_reno else None
    facts: dict[str, str] = {"relbot bytecode": compile_relbot()}
    if use_reno and reno is None:
        facts["reno"] = "not installed: skipped"
    elif reno:
        facts["reno"] = (f"run up to {reno_max_fragments} notes and {reno_max_commits} "
                         "commits (its scan of the git history takes ~15 s at 2k notes)")
    jobs: list[Job] = []
    equal: dict[Size, str] = {}
    facts["load average before"] = _load()
    for size in sizes:
        started = time.perf_counter()
        repo = generate(out / size.name, size, seed)
        log(f"repository {size.label}: {repo.work} ({time.perf_counter() - started:.2f} s)")
        probe = subprocess.run([*relbot, "next-version"], cwd=repo.work, env=env,
                               capture_output=True, text=True, check=False)
        if probe.returncode != 0:
            raise SystemExit(f"relbot next-version failed on {size.label}: {probe.stderr}")
        next_version = probe.stdout.strip()
        with tempfile.TemporaryDirectory(prefix="relbot-bench-") as scratch:
            equal[size] = check_outputs(repo, next_version, relbot, towncrier, env,
                                        Path(scratch))
        with_reno = (reno if size.fragments <= reno_max_fragments
                     and size.commits <= reno_max_commits else None)
        jobs += jobs_for(repo, next_version, relbot, towncrier, with_reno)
    # Sizes with the same fragments next to each other in a round, so that the growth
    # with the number of commits compares runs made close together.
    jobs.sort(key=lambda job: (job.size.fragments, job.size.commits))
    results: Results = {(job.size, job.command): Measurement() for job in jobs}
    rounds = warmup + repeat
    for number in range(rounds):
        kind = "warm-up" if number < warmup else "timed"
        log(f"round {number + 1}/{rounds} ({kind}): {len(jobs)} commands")
        for job in jobs:
            entry = results[job.size, job.command]
            if entry.failure:
                continue
            done = measure(job.argv, job.cwd, env)
            if done.code != 0:
                entry.failure = f"exit {done.code}: {done.stderr_tail}"
                log(f"  {job.command} on {job.size.label} failed: {entry.failure}")
                continue
            if number >= warmup:
                entry.times.append(done.wall)
                entry.cpu.append(done.cpu)
                entry.rss_kib.append(done.rss_kib)
    facts["load average after"] = _load()
    return results, equal, facts


def _load() -> str:
    """The 1, 5 and 15 minute load averages (other work on the machine skews the times)."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


# -- verdicts ------------------------------------------------------------------------------


def _ok(results: Results, size: Size, command: str) -> Measurement | None:
    entry = results.get((size, command))
    if entry is None or entry.failure or not entry.times:
        return None
    return entry


def paired(a: Measurement, b: Measurement) -> float:
    """How many times ``a`` takes ``b``: the median of the ratios of each round's runs.

    The two ran in the same round, seconds apart, so a slow moment of a shared
    machine slows both and cancels out of their ratio.
    """
    return statistics.median(x / y for x, y in zip(a.times, b.times, strict=True))


def _verdict(target: str, values: list[tuple[str, float]], good: Callable[[float], bool],
             fmt: Callable[[float], str]) -> Verdict:
    if not values:
        return Verdict(target, "n/a", "size not in this run")
    passed = all(good(v) for _, v in values)
    detail = "; ".join(f"{where}: {fmt(v)}" for where, v in values)
    return Verdict(target, "PASS" if passed else "FAIL", detail)


def verdicts(results: Results, sizes: Sequence[Size]) -> list[Verdict]:
    """Issue 7's targets, judged on the sizes this run measured."""
    big = [s for s in sizes if s.fragments >= 10000]
    out: list[Verdict] = []

    def seconds(v: float) -> str:
        return f"{v:.3f} s"

    def ratio(v: float) -> str:
        return f"{v:.2f}x"

    for command in (NEXT, LINT):
        values = [(s.label, m.median) for s in big if (m := _ok(results, s, command))]
        out.append(_verdict(f"`{command}` at 10k fragments: at most 0.3 s", values,
                            lambda v: v <= 0.3, seconds))
    for command in (NEXT, LINT):
        values = []
        by_commits = sorted(big, key=lambda s: s.commits)
        if len(by_commits) >= 2 and by_commits[0].commits < by_commits[-1].commits:
            low, high = by_commits[0], by_commits[-1]
            a, b = _ok(results, low, command), _ok(results, high, command)
            if a and b:
                values.append((f"{_k(high.commits)} vs {_k(low.commits)} commits",
                               paired(b, a)))
        out.append(_verdict(f"`{command}`: no growth with commits (10k fragments, "
                            "within 10%)", values, lambda v: abs(v - 1) <= 0.10, ratio))
    values = [(s.label, paired(n, t)) for s in sizes
              if (n := _ok(results, s, NOTES)) and (t := _ok(results, s, TOWNCRIER))]
    out.append(_verdict(f"`{NOTES}` at every size: at most 1.1x `{TOWNCRIER}`", values,
                        lambda v: v <= 1.1, ratio))
    values = [(s.label, paired(c, t)) for s in sizes
              if s.commits >= 100000 and s.fragments >= 10000
              and (c := _ok(results, s, CUT)) and (t := _ok(results, s, TOWNCRIER))]
    out.append(_verdict(f"`{CUT}` at 100k commits, 10k fragments: at most 2x "
                        f"`{TOWNCRIER}`", values, lambda v: v <= 2.0, ratio))
    values = [(s.label, m.median) for s in sizes
              if s.commits >= 100000 and (m := _ok(results, s, MR))]
    out.append(_verdict(f"`{MR} --no-comment` at 100k commits: at most 1 s", values,
                        lambda v: v <= 1.0, seconds))
    # Issue 7 measured reno on notes that came one commit each; where the generator had
    # to put several notes in a commit (2k notes in 1k commits), reno has fewer commits
    # to walk: shown in the ratio table, not judged.
    values = [(s.label, paired(r, n)) for s in sizes
              if s.fragments == 2000 and s.one_commit_per_fragment
              and (r := _ok(results, s, RENO)) and (n := _ok(results, s, NOTES))]
    out.append(_verdict(f"`{NOTES}` at 2k notes (one commit each): at least 20x faster "
                        f"than `{RENO}`", values, lambda v: v >= 20, ratio))
    values = [(f"{s.label}, {c}", m.peak_mb) for s in big for c in RELBOT_COMMANDS
              if (m := _ok(results, s, c))]
    worst = max(values, key=lambda item: item[1], default=None)
    out.append(_verdict("peak RSS of relbot at 10k fragments: at most 100 MB",
                        [worst] if worst else [], lambda v: v <= 100,
                        lambda v: f"{v:.1f} MB (highest)"))
    return out


def _k(number: int) -> str:
    return f"{number // 1000}k" if number >= 1000 and number % 1000 == 0 else str(number)


# -- report --------------------------------------------------------------------------------


def machine() -> list[str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB memory"
    except OSError:
        pass
    git = subprocess.run(["git", "--version"], capture_output=True, text=True,
                         check=False).stdout.strip()
    versions = []
    for package in ("relbot", "towncrier", "reno", "GitPython", "click"):
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    return [
        f"{cpu}, {os.cpu_count()} cores{memory}",
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, {git}",
        ", ".join(versions),
    ]


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def report(results: Results, sizes: Sequence[Size], equal: dict[Size, str],
           facts: dict[str, str], *, repeat: int, warmup: int, command_line: str) -> str:
    """The Markdown report: machine, medians, memory, ratios and targets."""
    commands = [c for c in COMMANDS if any((s, c) in results for s in sizes)]

    def cell(size: Size, command: str, value: Callable[[Measurement], str]) -> str:
        entry = results.get((size, command))
        if entry is None:
            return "-"
        if entry.failure:
            return "error"
        return value(entry) if entry.times else "-"

    tags = " or ".join(sorted({str(s.tags) for s in sizes}))
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# relbot benchmarks",
        "",
        "Generated by `bench/run.py` (see `bench/README.md`); do not edit by hand.",
        "",
        f"- date: {now}",
        *(f"- machine: {line}" if index == 0 else f"- {line}"
          for index, line in enumerate(machine())),
        f"- command: `{command_line}`",
        f"- whole-process wall time, median of {repeat} (after {warmup} warm-up round(s)); "
        "peak RSS of the process itself (`wait4`), highest of the runs",
        f"- each repository: {tags} release tags, the fragments pending since the last "
        "one (towncrier fragments in Markdown, and the same notes for reno), a merge "
        "request of 3 commits for `mr check`, a bare remote for `cut --dry-run`'s remote "
        "checks, `forge = \"none\"`",
        *(f"- {key}: {value}" for key, value in facts.items()),
        *([f"- several fragments per commit (too few commits for one each): "
           f"{'; '.join(s.label for s in sizes if not s.one_commit_per_fragment)}"]
          if not all(s.one_commit_per_fragment for s in sizes) else []),
        "",
        "## Wall time (seconds, median)",
        "",
        _row(["repository", *(f"`{c}`" for c in commands)]),
        _row(["---", *("---:" for _ in commands)]),
    ]
    for size in sizes:
        lines.append(_row([size.label, *(cell(size, c, lambda m: f"{m.median:.3f}")
                                         for c in commands)]))
    lines += [
        "",
        "## CPU time (seconds of user + system time, median)",
        "",
        "Less sensitive than wall time to other work on the machine.",
        "",
        _row(["repository", *(f"`{c}`" for c in commands)]),
        _row(["---", *("---:" for _ in commands)]),
    ]
    for size in sizes:
        lines.append(_row([size.label, *(cell(size, c, lambda m: f"{m.cpu_median:.3f}")
                                         for c in commands)]))
    lines += [
        "",
        "## Peak memory (MB, highest RSS)",
        "",
        _row(["repository", *(f"`{c}`" for c in commands)]),
        _row(["---", *("---:" for _ in commands)]),
    ]
    for size in sizes:
        lines.append(_row([size.label, *(cell(size, c, lambda m: f"{m.peak_mb:.0f}")
                                         for c in commands)]))
    lines += [
        "",
        "## Ratios",
        "",
        "Each ratio is the median, over the timed rounds, of the two commands' wall-time "
        "ratio in that round: they run seconds apart, so a slow moment of the machine slows "
        "both and cancels out. It can differ a little from the ratio of the medians above.",
        "",
        _row(["repository", "notes / towncrier", "cut / towncrier", "reno / notes",
              "notes output"]),
        _row(["---", "---:", "---:", "---:", "---"]),
    ]
    for size in sizes:
        def over(a: str, b: str, size: Size = size) -> str:
            x, y = _ok(results, size, a), _ok(results, size, b)
            return f"{paired(x, y):.2f}x" if x and y else "-"
        lines.append(_row([size.label, over(NOTES, TOWNCRIER), over(CUT, TOWNCRIER),
                           over(RENO, NOTES),
                           f"{equal.get(size, '-')} to towncrier's"]))
    lines += ["", "## Targets (issue 7)", "", _row(["target", "verdict", "measured"]),
              _row(["---", "---", "---"])]
    lines += [_row([v.target, f"**{v.verdict}**", v.detail])
              for v in verdicts(results, sizes)]
    return "\n".join(lines) + "\n"


def parse_size(text: str) -> Size:
    """``COMMITS:FRAGMENTS[:TAGS]``."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not COMMITS:FRAGMENTS[:TAGS]")
    return Size(*(int(p) for p in parts))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; exit 1 when a command failed (or, with --check, a target)."""
    parser = argparse.ArgumentParser(prog="python -m bench.run",
                                     description="Time relbot beside towncrier and reno.")
    parser.add_argument("--sizes", choices=sorted(PRESETS), default="small",
                        help="preset of repository sizes (default: small)")
    parser.add_argument("--size", type=parse_size, action="append", metavar="C:F[:T]",
                        help="a size of your own, COMMITS:FRAGMENTS[:TAGS] (repeatable; "
                             "replaces --sizes)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (default: 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds (default: 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="where repositories are generated and kept (default: bench/out)")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT,
                        help="Markdown file to write (default: docs/benchmarks.md)")
    parser.add_argument("--no-report", action="store_true", help="only print")
    parser.add_argument("--no-reno", action="store_true", help="skip reno entirely")
    parser.add_argument("--reno-max-fragments", type=int, default=2000,
                        help="run reno only up to this many notes (default: 2000)")
    parser.add_argument("--reno-max-commits", type=int, default=20000,
                        help="run reno only up to this many commits (default: 20000)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")
    sizes = tuple(args.size) if args.size else PRESETS[args.sizes]

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results, equal, facts = run(
        sizes, out=args.out.resolve(), repeat=args.repeat, warmup=args.warmup,
        seed=args.seed, reno_max_fragments=args.reno_max_fragments,
        reno_max_commits=args.reno_max_commits, use_reno=not args.no_reno, log=log)
    shown = " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])])
    text = report(results, sizes, equal, facts, repeat=args.repeat, warmup=args.warmup,
                  command_line=shown)
    print(text, end="")
    if not args.no_report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text, encoding="utf-8")
        log(f"wrote {args.report}")
    failed = [key for key, m in results.items() if m.failure]
    if failed:
        return 1
    if args.check and any(v.verdict == "FAIL" for v in verdicts(results, sizes)):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
