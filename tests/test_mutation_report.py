"""docs/mutation.md is generated from the stored mutmut results, and those meet the target."""

from __future__ import annotations

from pathlib import Path

from tools.mutation import (
    CAUGHT,
    EQUIVALENTS,
    MODULES,
    REPORT,
    TARGET,
    load_equivalents,
    load_reasons,
    load_results,
    render,
    summarise,
)


def test_the_report_is_generated_from_the_results() -> None:
    """docs/mutation.md is exactly what `python -m tools.mutation report` writes."""
    assert REPORT.read_text() == render(load_results(), load_equivalents()), (
        "regenerate with: python -m tools.mutation report")


def test_every_module_run_meets_the_target_with_each_survivor_accounted_for() -> None:
    """At least 85% of the non-equivalent mutants are killed in each module whose run is
    complete, and every survivor has a reason (equivalent, or why it is left); the others
    got tests. A partial run (a budget stopped it) claims nothing yet: the report marks it
    (test_a_partial_run_is_marked_in_the_report) until `run --resume` finishes it."""
    equivalents = load_equivalents()
    accepted = load_reasons("accepted")
    for name, entry in load_results().items():
        assert name in MODULES, f"results for a module tools/mutation.py does not list: {name}"
        statuses = dict(entry["mutants"])  # type: ignore[call-overload]
        counts = summarise(statuses, equivalents)
        if counts["unchecked"]:
            continue
        assert counts["score"] >= TARGET * 100, (name, counts)
        unaccounted = sorted(m for m, s in statuses.items() if s not in CAUGHT
                             and m not in equivalents and m not in accepted)
        assert unaccounted == [], f"{name}: add a test, or a reason to {EQUIVALENTS.name}"


def test_every_reason_belongs_to_a_survivor() -> None:
    """A reason for a mutant that no longer survives (or no longer exists) is stale."""
    survivors = {m for entry in load_results().values()
                 for m, s in dict(entry["mutants"]).items()  # type: ignore[call-overload]
                 if s not in CAUGHT}
    assert set(load_equivalents()) | set(load_reasons("accepted")) <= survivors


def test_a_partial_run_is_marked_in_the_report() -> None:
    """A run with unchecked mutants says so on its row, with how many."""
    report = REPORT.read_text()
    for name, entry in load_results().items():
        statuses = dict(entry["mutants"])  # type: ignore[call-overload]
        unchecked = sum(1 for s in statuses.values() if s == "not checked")
        if unchecked:
            row = next(line for line in report.splitlines()
                       if line.startswith(f"| `{MODULES[name].path}` |"))
            assert f"(partial run: {unchecked} of {len(statuses)} mutants not checked)" in row


def test_a_resumed_scratch_copy_gets_the_current_docs_and_tests(tmp_path: Path) -> None:
    """A resumed run refreshes every file the tests read, in the copy and in mutants/."""
    from tools.mutation import refresh

    project, work = tmp_path / "project", tmp_path / "work"
    for where in (project, work, work / "mutants"):
        (where / "docs").mkdir(parents=True)
        (where / "tests").mkdir()
        (where / "relbot").mkdir()
        (where / "docs" / "page.md").write_text("old\n")
    (project / "docs" / "page.md").write_text("new\n")
    (project / "tests" / "test_new.py").write_text("def test_x() -> None: ...\n")
    (project / "relbot" / "mod.py").write_text("X = 1\n")
    (project / ".git").mkdir()
    refresh(work, project)
    for where in (work, work / "mutants"):
        assert (where / "docs" / "page.md").read_text() == "new\n"
        assert (where / "tests" / "test_new.py").exists()
        assert not (where / ".git").exists()
    assert (work / "relbot" / "mod.py").read_text() == "X = 1\n"
    assert not (work / "mutants" / "relbot" / "mod.py").exists()  # mutmut writes that one


def test_survivors_are_forgotten_before_their_rerun(tmp_path: Path) -> None:
    """The survivors a resumed run tries again are unknown until mutmut has run them: a
    budget that cuts the rerun leaves them "not checked", not "survived" from before."""
    import json

    from tools.mutation import forget_outcomes

    module = MODULES["versions"]
    meta = tmp_path / "mutants" / f"{module.path}.meta"
    meta.parent.mkdir(parents=True)
    codes = {"relbot.versions.x_a__mutmut_1": 0, "relbot.versions.x_a__mutmut_2": 1,
             "relbot.versions.x_a__mutmut_3": 0}
    meta.write_text(json.dumps({"exit_code_by_key": codes, "durations_by_key": {}}))
    forget_outcomes(tmp_path, module, ["relbot.versions.x_a__mutmut_1", "relbot.x_gone"])
    data = json.loads(meta.read_text())
    assert data["exit_code_by_key"] == {"relbot.versions.x_a__mutmut_1": None,
                                        "relbot.versions.x_a__mutmut_2": 1,
                                        "relbot.versions.x_a__mutmut_3": 0}
    assert data["durations_by_key"] == {}


def test_an_unchecked_equivalent_mutant_is_counted_once() -> None:
    """A mutant with a reason that a partial run did not reach counts as unchecked only, so
    the survivors are not undercounted."""
    statuses = {"m1": "killed", "m2": "survived", "m3": "survived", "m4": "not checked",
                "m5": "not checked"}
    counts = summarise(statuses, {"m3": "same", "m4": "same"})
    assert counts == {"mutants": 5, "killed": 1, "equivalent": 1, "survived": 1,
                      "unchecked": 2, "score": 50}
