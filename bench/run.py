"""Benchmark runner: what users run, beside ``towncrier build`` and ``reno report``.

For each repository size it generates (or reuses) a synthetic repository
(``bench.generate``), then times whole processes, as a user or a CI job runs
them: wall time with ``time.perf_counter`` around ``subprocess.Popen`` and
``os.wait4``, whose resource usage gives the peak RSS of exactly that
process. The real release (``relbot cut --yes``, with and without a push) and
``towncrier build --yes`` each run on a fresh copy of the repository, made
before the clock starts; ``mr check`` posts its comment to the GitLab
stand-in, which counts the write requests. Every command of every size runs
once per round, rounds interleaved, so drift of the machine spreads over all
of them; the medians, the ratios and a verdict on each of the targets of
issues 7 and 17 are printed and written as Markdown (``docs/benchmarks.md``).

Run ``python -m bench.run --help``; ``bench/README.md`` explains the sizes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.metadata
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.generate import DEFAULT_TAGS, Generated, Probed, Size, generate, generate_probed

if TYPE_CHECKING:
    from relbot.gitlab_standin import GitLabStandIn

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = PROJECT / "bench" / "out"
DEFAULT_REPORT = PROJECT / "docs" / "benchmarks.md"

PRESETS: dict[str, tuple[Size, ...]] = {
    "smoke": (Size(50, 20, 3),),
    "small": tuple(Size(1000, f) for f in (200, 2000, 10000)),
    # The last two: next-version from the tags, from 10 to 10,000 of them.
    "full": (*(Size(c, f) for c in (1000, 20000, 100000) for f in (200, 2000, 10000)),
             Size(20000, 2000, 10), Size(20000, 2000, 10000)),
}
PROBED_FILES = {"smoke": 20, "small": 2000, "full": 2000}

LINT = "relbot fragment lint"
NEXT = "relbot next-version"
NEXT_TAGS = "relbot next-version (from tags)"
NOTES = "relbot notes --draft"
CUT = "relbot cut --dry-run"
CUT_REAL = "relbot cut --yes --no-push"
CUT_PUSH = "relbot cut --yes"
MR = "relbot mr check --no-comment"
MR_COMMENT = "relbot mr check (comment posted)"
POLICY = "relbot policy check --base"
TOWNCRIER = "towncrier build --draft"
TOWNCRIER_BUILD = "towncrier build --yes"
RENO = "reno report"
RELBOT_COMMANDS = (LINT, NEXT, NEXT_TAGS, NOTES, CUT, CUT_REAL, CUT_PUSH, MR, MR_COMMENT)
COMMANDS = (*RELBOT_COMMANDS, TOWNCRIER, TOWNCRIER_BUILD, RENO)
PROBED_COMMANDS = (POLICY,)


@dataclass(frozen=True)
class Job:
    """One command on one repository.

    ``fresh`` makes a fresh copy of the repository before each run, untimed; the
    command runs in it, and the copy is removed afterwards. ``writes`` counts the
    stand-in's write requests so far.
    """

    size: Size | Probed
    command: str
    argv: tuple[str, ...]
    cwd: Path
    fresh: Callable[[], Path] | None = None
    env: Mapping[str, str] | None = None
    writes: Callable[[], int] | None = None
    mr: Any = None  # the stand-in's merge request of an MR_COMMENT job


@dataclass
class Measurement:
    """The runs of one job: wall times (s) and peak RSS (KiB)."""

    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    writes: list[int] = field(default_factory=list)  # every run's, warm-up included
    stale_writes: int | None = None  # the run after the comment was made stale
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


Results = dict[tuple[Size | Probed, str], Measurement]


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
    # The real cut commits and tags: an identity, the same for every run.
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    return env


@dataclass(frozen=True)
class Run:
    """One process: wall and CPU seconds, peak RSS, exit code, the end of its stderr."""

    wall: float
    cpu: float
    rss_kib: int
    code: int
    stderr_tail: str
    writes: int | None = None  # the stand-in's write requests during the run


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
             reno: str | None, copies: Copies, tags_work: Path | None) -> list[Job]:
    """The commands timed on one repository."""
    work = Path(repo.work)
    size = repo.size
    date = ("--date", repo.date)
    fresh = copies.maker(repo)
    jobs = []
    # towncrier right before the relbot commands compared with it, so that each pair
    # runs back to back (see paired()).
    if towncrier:
        jobs.append(Job(size, TOWNCRIER, (towncrier, "build", "--draft", "--version",
                                          next_version, *date), work))
    jobs += [
        Job(size, NOTES, (*relbot, "notes", "--draft", *date), work),
        Job(size, CUT, (*relbot, "cut", "--dry-run", *date), work),
    ]
    if towncrier:
        jobs.append(Job(size, TOWNCRIER_BUILD, (towncrier, "build", "--yes", "--version",
                                                next_version, *date), work, fresh))
    jobs += [
        Job(size, CUT_REAL, (*relbot, "cut", "--yes", "--no-push", *date), work, fresh),
        Job(size, CUT_PUSH, (*relbot, "cut", "--yes", *date), work, fresh),
        Job(size, LINT, (*relbot, "fragment", "lint"), work),
        Job(size, NEXT, (*relbot, "next-version"), work),
    ]
    if tags_work is not None:
        jobs.append(Job(size, NEXT_TAGS, (*relbot, "next-version"), tags_work))
    jobs.append(Job(size, MR, (*relbot, "mr", "check", "--no-comment", "--iid",
                               str(repo.mr_iid), "--base", repo.mr_base), work))
    if reno:
        jobs.append(Job(size, RENO, (reno, "report"), work))
    return jobs


def mr_comment_job(repo: Generated, relbot: list[str], standin: GitLabStandIn) -> Job:
    """``mr check`` as the MR pipeline runs it: CI variables of the stand-in, comment posted."""
    from relbot.gitlab_standin import MergeRequest

    cast = standin.scenario
    assert cast is not None
    mr: MergeRequest = standin.add_merge_request(
        cast.project, author=cast.maintainer, iid=repo.mr_iid, title="A benchmark MR",
        source_branch=f"bench-{repo.mr_iid}", sha=repo.head, base_sha=repo.mr_base)
    env = standin.ci_environment(mr, token=cast.bot_token)
    env["CI_MERGE_REQUEST_DIFF_BASE_SHA"] = repo.mr_base
    return Job(repo.size, MR_COMMENT, (*relbot, "mr", "check"), Path(repo.work), env=env,
               writes=lambda: sum(1 for r in standin.requests.all() if r.method != "GET"),
               mr=mr)


class Copies:
    """Fresh copies of generated repositories (a bare remote and its clone), untimed.

    ``git clone`` of a local repository hard-links the objects, so a copy costs the
    check-out of its files; what it cost is recorded, not subtracted, as no clock
    runs while it is made.
    """

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.seconds: list[float] = []
        self._numbers = itertools.count()

    def maker(self, repo: Generated) -> Callable[[], Path]:
        """A function that makes one fresh copy of ``repo`` and returns its work tree."""
        def make() -> Path:
            started = time.perf_counter()
            where = self.scratch / f"copy-{next(self._numbers)}"
            where.mkdir(parents=True)
            _git(where, "clone", "-q", "--bare", repo.remote, "remote.git")
            _git(where, "clone", "-q", "remote.git", "work")
            self.seconds.append(time.perf_counter() - started)
            return where / "work"
        return make


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, env=child_environment())
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def tags_only_clone(repo: Generated, scratch: Path) -> Path:
    """A clone whose configuration has no ``version_file``: the version comes from tags."""
    where = scratch / f"tags-{repo.size.name}"
    _git(scratch, "clone", "-q", repo.remote, str(where))
    config = where / "relbot.toml"
    text = config.read_text(encoding="utf-8")
    if 'version_file = "version"\n' not in text:
        raise SystemExit(f"{config} has no version_file line to drop")
    config.write_text(text.replace('version_file = "version"\n', ""), encoding="utf-8")
    return where


def policy_jobs(relbot: list[str], files: int, scratch: Path, env: dict[str, str]) -> list[Job]:
    """``relbot policy check --base HEAD~1`` on a tree of ``files`` probed files."""
    old, new = supported_kubernetes(relbot, env, scratch)
    where = generate_probed(scratch / "probed", files, old, new)
    return [Job(Probed(files), POLICY, (*relbot, "policy", "check", "--base", "HEAD~1"),
                where)]


def supported_kubernetes(relbot: list[str], env: dict[str, str], scratch: Path
                         ) -> tuple[str, str]:
    """Two adjacent Kubernetes minors the shipped window supports today (an upgrade)."""
    (scratch / "empty").mkdir(exist_ok=True)
    proc = subprocess.run([*relbot, "policy", "show", "kubernetes", "--format", "json"],
                          cwd=scratch / "empty", env=env, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"relbot policy show failed: {proc.stderr.strip()}")
    (policy,) = json.loads(proc.stdout)["policies"]
    supported = [w["label"] for w in policy["window"] if w["status"] == "supported"]
    if len(supported) < 2:
        raise SystemExit("the shipped Kubernetes window supports fewer than two minors")
    return f"{supported[1]}.1", f"{supported[0]}.1"


@contextmanager
def gitlab_standin(wanted: bool) -> Iterator[GitLabStandIn | None]:
    """The GitLab stand-in, seeded with its usual cast, while the rounds run."""
    if not wanted:
        yield None
        return
    from relbot.gitlab_standin import GitLabStandIn

    with GitLabStandIn() as standin:
        standin.seed_scenario()
        yield standin


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
        reno_max_fragments: int, reno_max_commits: int, use_reno: bool, probed_files: int,
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
    # mr check posts its comment where the history is longest (one MR per fragment count).
    # (Its MR number comes from the fragment count, so one size per count.)
    commenting = {max((s for s in sizes if s.fragments == f),
                      key=lambda s: (s.commits, s.tags == DEFAULT_TAGS))
                  for f in {s.fragments for s in sizes}}
    with tempfile.TemporaryDirectory(prefix="relbot-bench-") as tmp, \
            gitlab_standin(bool(sizes)) as standin:
        scratch = Path(tmp)
        copies = Copies(scratch / "copies")
        jobs: list[Job] = []
        equal: dict[Size, str] = {}
        tags_same: list[str] = []
        facts["load average before"] = _load()
        for size in sizes:
            started = time.perf_counter()
            repo = generate(out / size.name, size, seed)
            log(f"repository {size.label}: {repo.work} ({time.perf_counter() - started:.2f} s)")
            next_version = _next_version(relbot, Path(repo.work), env, size)
            equal[size] = check_outputs(repo, next_version, relbot, towncrier, env, scratch)
            tags_work = tags_only_clone(repo, scratch)
            if _next_version(relbot, tags_work, env, size) != next_version:
                tags_same.append(size.label)
            with_reno = (reno if size.fragments <= reno_max_fragments
                         and size.commits <= reno_max_commits else None)
            jobs += jobs_for(repo, next_version, relbot, towncrier, with_reno, copies,
                             tags_work)
            if standin is not None and size in commenting:
                started = time.perf_counter()
                variant = generate(out / f"{size.name}-gitlab", size, seed, forge="gitlab")
                log(f"repository {size.label} (forge gitlab): {variant.work} "
                    f"({time.perf_counter() - started:.2f} s)")
                assert standin is not None
                jobs.append(mr_comment_job(variant, relbot, standin))
        facts["next-version from tags"] = (
            "prints what it prints from the version file at every size" if not tags_same
            else "DIFFERENT from the version file's at " + "; ".join(tags_same))
        if probed_files:
            jobs += policy_jobs(relbot, probed_files, scratch, env)
        # Sizes with the same fragments next to each other in a round, so that the growth
        # with the number of commits compares runs made close together.
        jobs.sort(key=lambda job: (_order(job.size)))
        results = rounds(jobs, env, warmup=warmup, repeat=repeat, log=log)
        facts["load average after"] = _load()
        if copies.seconds:
            facts["fresh copies"] = (
                f"{len(copies.seconds)} made (bare remote and clone, objects hard-linked), "
                f"median {statistics.median(copies.seconds):.2f} s each, outside the timed "
                "process: neither tool pays for its copy")
        if standin is not None:
            facts.update(_stale_comment(jobs, results, standin, env))
    return results, equal, facts


def rounds(jobs: Sequence[Job], env: dict[str, str], *, warmup: int, repeat: int,
           log: Callable[[str], None]) -> Results:
    """Every job once per round, ``warmup`` untimed rounds first."""
    results: Results = {(job.size, job.command): Measurement() for job in jobs}
    total = warmup + repeat
    for number in range(total):
        kind = "warm-up" if number < warmup else "timed"
        log(f"round {number + 1}/{total} ({kind}): {len(jobs)} commands")
        for job in jobs:
            entry = results[job.size, job.command]
            if entry.failure:
                continue
            done = _run_job(job, env)
            if done.code != 0:
                entry.failure = f"exit {done.code}: {done.stderr_tail}"
                log(f"  {job.command} on {job.size.label} failed: {entry.failure}")
                continue
            if done.writes is not None:
                entry.writes.append(done.writes)
            if number >= warmup:
                entry.times.append(done.wall)
                entry.cpu.append(done.cpu)
                entry.rss_kib.append(done.rss_kib)
    return results


def _order(size: Size | Probed) -> tuple[int, int, int]:
    if isinstance(size, Probed):
        return (1 << 62, size.files, 0)
    return (size.fragments, size.tags, size.commits)


def _next_version(relbot: list[str], cwd: Path, env: dict[str, str], size: Size) -> str:
    probe = subprocess.run([*relbot, "next-version"], cwd=cwd, env=env, capture_output=True,
                           text=True, check=False)
    if probe.returncode != 0:
        raise SystemExit(f"relbot next-version failed on {size.label}: {probe.stderr}")
    return probe.stdout.strip()


def _run_job(job: Job, env: dict[str, str]) -> Run:
    """One run of ``job``: a fresh copy first where it needs one, the writes counted."""
    cwd = job.fresh() if job.fresh else job.cwd
    before = job.writes() if job.writes else 0
    try:
        done = measure(job.argv, cwd, {**env, **(job.env or {})})
    finally:
        if job.fresh:
            shutil.rmtree(cwd.parent)
    if job.writes:
        done = dataclasses.replace(done, writes=job.writes() - before)
    return done


def _rewrite_note(standin: GitLabStandIn, mr: Any, note: Any, body: str) -> None:
    """Edit the bot's note through the API, with the bot's token, as an older relbot did."""
    import urllib.request

    assert standin.scenario is not None
    url = (f"{standin.api_url}/projects/{mr.project_id}/merge_requests/{mr.iid}/notes/"
           f"{note.id}")
    request = urllib.request.Request(  # noqa: S310 -- the stand-in on 127.0.0.1
        url, data=json.dumps({"body": body}).encode(), method="PUT",
        headers={"PRIVATE-TOKEN": standin.scenario.bot_token,
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        answer.read()


def _bot_threads(standin: GitLabStandIn, mr: Any) -> list[Any]:
    bot = standin.scenario.bot.id if standin.scenario else None
    return [d for d in standin.discussions(mr) if d.notes and d.notes[0].author_id == bot]


def _stale_comment(jobs: list[Job], results: Results, standin: GitLabStandIn,
                   env: dict[str, str]) -> dict[str, str]:
    """Each MR's bot note made stale by hand, then one more run: how many writes fix it."""
    found = {}
    for job in jobs:
        if job.command != MR_COMMENT or results[job.size, job.command].failure:
            continue
        threads = _bot_threads(standin, job.mr)
        if len(threads) != 1:
            found[f"mr check on {job.size.label}"] = f"{len(threads)} bot threads, not one"
            continue
        _rewrite_note(standin, job.mr, threads[0].notes[0],
                      threads[0].notes[0].body + "\n(an older version of this comment)")
        done = _run_job(job, env)
        entry = results[job.size, job.command]
        entry.stale_writes = done.writes
        found[f"mr check on {job.size.label}"] = (
            f"{len(_bot_threads(standin, job.mr))} bot thread after {len(entry.writes) + 1} "
            f"runs; writes per run {entry.writes}; a stale comment took {done.writes} "
            "write request(s) to bring up to date")
    return found


def _load() -> str:
    """The 1, 5 and 15 minute load averages (other work on the machine skews the times)."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


# -- verdicts ------------------------------------------------------------------------------


def _ok(results: Results, size: Size | Probed, command: str) -> Measurement | None:
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
                            "at most 10% slower)", values, _no_growth, ratio))
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
    out.append(_verdict(f"`{MR}` at 100k commits: at most 1 s", values,
                        lambda v: v <= 1.0, seconds))
    # Issue 7 measured reno on notes that came one commit each; where the generator had
    # to put several notes in a commit (2k notes in 1k commits), reno has fewer commits
    # to walk: shown in the ratio table, not judged.
    values = [(s.label, paired(r, n)) for s in sizes
              if s.fragments == 2000 and s.one_commit_per_fragment
              and (r := _ok(results, s, RENO)) and (n := _ok(results, s, NOTES))]
    out.append(_verdict(f"`{NOTES}` at 2k notes (one commit each): at least 20x faster "
                        f"than `{RENO}`", values, lambda v: v >= 20, ratio))
    out += issue17_verdicts(results, sizes)
    probed = [key for key in results if isinstance(key[0], Probed)]
    values = [(f"{s.label}, {c}", m.peak_mb) for s in big for c in RELBOT_COMMANDS
              if (m := _ok(results, s, c))]
    values += [(f"{size.label}, {c}", m.peak_mb) for size, c in probed
               if (m := _ok(results, size, c))]
    worst = max(values, key=lambda item: item[1], default=None)
    out.append(_verdict("peak RSS of every relbot command at 10k fragments (and of "
                        "`policy check`): at most 100 MB",
                        [worst] if worst else [], lambda v: v <= 100,
                        lambda v: f"{v:.1f} MB (highest)"))
    return out


def paired_cpu(a: Measurement, b: Measurement) -> float:
    """:func:`paired` on CPU time: what the ratio would be on an idle machine."""
    return statistics.median(x / y for x, y in zip(a.cpu, b.cpu, strict=True))


def cpu_beyond(a: Measurement, b: Measurement) -> float:
    """CPU seconds ``a`` spends beyond ``b``: the median of each round's difference."""
    return statistics.median(x - y for x, y in zip(a.cpu, b.cpu, strict=True))


def _no_growth(ratio: float) -> bool:
    """The larger repository's time over the smaller's: "flat" means it does not grow; being
    faster at the larger size (another pack layout, a warmer cache) is no failure."""
    return ratio <= 1.10


def _flat(results: Results, low: Size, high: Size, command: str
          ) -> list[tuple[str, float]]:
    a, b = _ok(results, low, command), _ok(results, high, command)
    if not (a and b):
        return []
    what = (f"{_k(high.tags)} vs {_k(low.tags)} tags" if low.tags != high.tags
            else f"{_k(high.commits)} vs {_k(low.commits)} commits")
    return [(what, paired(b, a))]


def issue17_verdicts(results: Results, sizes: Sequence[Size]) -> list[Verdict]:
    """Issue 17's targets: the real cut, next-version in both modes, the comment posted."""
    big = [s for s in sizes if s.fragments >= 10000]
    out: list[Verdict] = []

    def ratio(v: float) -> str:
        return f"{v:.2f}x"

    def seconds(v: float) -> str:
        return f"{v:.3f} s"

    values = [(s.label, paired(c, t)) for s in big
              if (c := _ok(results, s, CUT_REAL)) and (t := _ok(results, s, TOWNCRIER_BUILD))]
    out.append(_verdict(f"`{CUT_REAL}` at 10k fragments: at most 1.0x `{TOWNCRIER_BUILD}`",
                        values, lambda v: v <= 1.0, ratio))
    values = [(s.label, cpu_beyond(c, t)) for s in big
              if (c := _ok(results, s, CUT_REAL)) and (t := _ok(results, s, TOWNCRIER))]
    out.append(_verdict(f"`{CUT_REAL}` at 10k fragments: at most 1.0 s of CPU beyond "
                        f"towncrier's rendering (`{TOWNCRIER}`)", values, lambda v: v <= 1.0,
                        seconds))
    values = [(s.label, paired(c, t)) for s in sizes if s.fragments == 200
              if (c := _ok(results, s, CUT_REAL)) and (t := _ok(results, s, TOWNCRIER_BUILD))]
    out.append(_verdict(f"`{CUT_REAL}` at 200 fragments: at most 1.2x `{TOWNCRIER_BUILD}`",
                        values, lambda v: v <= 1.2, ratio))
    for command in (NEXT, NEXT_TAGS):
        values = [(s.label, paired(n, t)) for s in big
                  if (n := _ok(results, s, command)) and (t := _ok(results, s, TOWNCRIER))]
        out.append(_verdict(f"`{command}` at 10k fragments: at most 0.35x `{TOWNCRIER}`",
                            values, lambda v: v <= 0.35, ratio))
    by_commits = sorted((s for s in big if s.tags == DEFAULT_TAGS), key=lambda s: s.commits)
    values = []
    if len(by_commits) >= 2 and by_commits[0].commits < by_commits[-1].commits:
        values = _flat(results, by_commits[0], by_commits[-1], NEXT_TAGS)
    out.append(_verdict(f"`{NEXT_TAGS}`: no growth with commits (10k fragments, at most 10% "
                        "slower)", values, _no_growth, ratio))
    by_tags = sorted(sizes, key=lambda s: s.tags)
    values = []
    for low in by_tags:
        for high in by_tags:
            if (low.tags <= 10 and high.tags >= 10000 and low.commits == high.commits
                    and low.fragments == high.fragments):
                values += _flat(results, low, high, NEXT_TAGS)
    out.append(_verdict(f"`{NEXT_TAGS}`: no growth from 10 to 10k tags (at most 10% slower)",
                        values, _no_growth, ratio))
    values = [(s.label, m.median) for s in sizes
              if s.commits >= 100000 and (m := _ok(results, s, MR_COMMENT))]
    out.append(_verdict(f"`{MR_COMMENT}` at 100k commits: at most 1 s", values,
                        lambda v: v <= 1.0, seconds))
    values = [(s.label, float(max(m.writes[1:]))) for s in sizes
              if (m := _ok(results, s, MR_COMMENT)) and len(m.writes) > 1]
    out.append(_verdict(f"`{MR_COMMENT}`, nothing changed since the last run: no write "
                        "request", values, lambda v: v == 0,
                        lambda v: f"at most {v:.0f} write(s) a run"))
    values = [(s.label, float(m.stale_writes)) for s in sizes
              if (m := _ok(results, s, MR_COMMENT)) and m.stale_writes is not None]
    out.append(_verdict(f"`{MR_COMMENT}`, the comment out of date: at most one write "
                        "request", values, lambda v: v <= 1,
                        lambda v: f"{v:.0f} write(s)"))
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

    def cell(size: Size | Probed, command: str, value: Callable[[Measurement], str]) -> str:
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
        "request of 3 commits for `mr check`, a bare remote for the cut's remote "
        "checks and push, `forge = \"none\"`",
        f"- `{CUT_REAL}`, `{CUT_PUSH}` and `{TOWNCRIER_BUILD}`: each run on a fresh copy "
        "(a bare remote and its clone) made before the clock starts; the push goes to the "
        "copy's bare remote",
        f"- `{NEXT_TAGS}`: a clone whose relbot.toml has no `version_file`, so the current "
        "version comes from the release tags",
        f"- `{MR_COMMENT}`: in the CI environment of a merge request of the GitLab stand-in "
        "(`relbot.gitlab_standin`, in the runner's process, over HTTP on 127.0.0.1), on a "
        "copy of the repository with `forge = \"gitlab\"` at the largest number of commits "
        "of each fragment count; the first run posts the comment, the later ones find it "
        "unchanged",
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
        "both and cancels out. It can differ a little from the ratio of the medians above. "
        "In brackets: the same ratio of CPU times, which other work on the machine "
        "disturbs less (the targets are judged on wall time).",
        "",
        _row(["repository", "notes / towncrier", "cut --dry-run / towncrier",
              "cut --yes --no-push / towncrier build --yes",
              "cut --yes --no-push CPU beyond towncrier's rendering",
              "next-version / towncrier", "next-version (tags) / towncrier", "reno / notes",
              "notes output"]),
        _row(["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---"]),
    ]
    for size in sizes:
        def over(a: str, b: str, size: Size = size) -> str:
            x, y = _ok(results, size, a), _ok(results, size, b)
            return f"{paired(x, y):.2f}x ({paired_cpu(x, y):.2f}x)" if x and y else "-"

        def beyond(size: Size = size) -> str:
            x, y = _ok(results, size, CUT_REAL), _ok(results, size, TOWNCRIER)
            return f"{cpu_beyond(x, y):.3f} s" if x and y else "-"
        lines.append(_row([size.label, over(NOTES, TOWNCRIER), over(CUT, TOWNCRIER),
                           over(CUT_REAL, TOWNCRIER_BUILD), beyond(),
                           over(NEXT, TOWNCRIER), over(NEXT_TAGS, TOWNCRIER),
                           over(RENO, NOTES), f"{equal.get(size, '-')} to towncrier's"]))
    probed = sorted({key[0] for key in results if isinstance(key[0], Probed)},
                    key=lambda p: p.files)
    if probed:
        lines += ["", f"## `{POLICY}`", "",
                  "A repository of cluster configurations, each a file the Kubernetes "
                  "policy probes (`clusters/*/config.toml`, key `kubernetes.version`), "
                  "upgraded by one minor in its last commit: `policy check --base HEAD~1` "
                  "reads every probed file in the work tree and at the base.", "",
                  _row(["repository", "wall (s)", "CPU (s)", "peak memory (MB)"]),
                  _row(["---", "---:", "---:", "---:"])]
        lines += [_row([p.label, cell(p, POLICY, lambda m: f"{m.median:.3f}"),
                        cell(p, POLICY, lambda m: f"{m.cpu_median:.3f}"),
                        cell(p, POLICY, lambda m: f"{m.peak_mb:.0f}")]) for p in probed]
    lines += ["", "## Targets (issues 7 and 17)", "", _row(["target", "verdict", "measured"]),
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
    parser.add_argument("--probed-files", type=int, default=None, metavar="N",
                        help="probed files of the `policy check` repository (default: 2000; "
                             "20 with --sizes smoke; 0 skips it)")
    parser.add_argument("--note", action="append", default=[], metavar="TEXT",
                        help="a line for the report, such as why a run was cut short")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")
    sizes = tuple(args.size) if args.size else PRESETS[args.sizes]
    probed_files = (args.probed_files if args.probed_files is not None
                    else 20 if args.size and all(s.fragments <= 20 for s in args.size)
                    else PROBED_FILES[args.sizes])

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results, equal, facts = run(
        sizes, out=args.out.resolve(), repeat=args.repeat, warmup=args.warmup,
        seed=args.seed, reno_max_fragments=args.reno_max_fragments,
        reno_max_commits=args.reno_max_commits, use_reno=not args.no_reno,
        probed_files=probed_files, log=log)
    for number, note in enumerate(args.note, 1):
        facts[f"note {number}"] = note
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
