"""Tests over the tests: no assertion may have an alternative that is always true.

``assert "resum" in out or "released" in out`` passes whatever the first half
says when the second one holds anyway; ``assert code in (0, 1)`` passes for
both outcomes a command has. Such assertions hid real bugs (issue 16). This
check flags, in every ``assert`` of ``tests/``:

* ``a or b`` as the asserted truth, also under ``and`` and ``not`` (an
  alternative: say which one holds, or assert both separately); ``x or default``
  as a value (a call argument, an operand of ``in`` or ``==``) is fine;
* a comparison of an exit code (``code``, ``returncode``, ``exit_code``) with
  ``in``/``not in`` a literal collection.

A justified case carries ``# hygiene: allow <reason>`` on the assert's first
line or alone on the line above it; the reason is required.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ALLOW = "# hygiene: allow"
EXIT_CODES = {"code", "returncode", "exit_code", "status"}


def _alternatives(node: ast.expr) -> list[ast.BoolOp]:
    """The ``or`` expressions whose truth the assertion rests on: the asserted expression and
    what ``and``, ``or`` and ``not`` combine; an ``or`` that computes a value (a call
    argument, an operand of ``in`` or ``==``) is not one."""
    if isinstance(node, ast.BoolOp):
        found = [node] if isinstance(node.op, ast.Or) else []
        return found + [sub for value in node.values for sub in _alternatives(value)]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _alternatives(node.operand)
    return []


def _is_exit_code(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
    return name in EXIT_CODES


def findings(source: str, filename: str = "<test>") -> list[str]:
    """The weak assertions of one test module, as ``file:line: why``."""
    tree = ast.parse(source, filename)
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assert):
            continue
        line = lines[node.lineno - 1]
        above = lines[node.lineno - 2] if node.lineno > 1 else ""
        if ALLOW not in line and above.strip().startswith(ALLOW):
            line = above
        if ALLOW in line:
            if not line.split(ALLOW, 1)[1].strip():
                found.append(f"{filename}:{node.lineno}: `{ALLOW}` needs a reason")
            continue
        found += [f"{filename}:{node.lineno}: `or` in an assertion: {ast.unparse(sub)[:80]}"
                  for sub in _alternatives(node.test)]
        for sub in ast.walk(node.test):
            if (isinstance(sub, ast.Compare) and _is_exit_code(sub.left)
                    and any(isinstance(op, ast.In | ast.NotIn) for op in sub.ops)
                    and isinstance(sub.comparators[0], ast.Tuple | ast.List | ast.Set)):
                found.append(f"{filename}:{node.lineno}: exit code compared with a set of "
                             f"outcomes: {ast.unparse(sub)[:80]}")
    return found


def test_no_assertion_has_an_always_true_alternative() -> None:
    """Every test module under tests/ passes the check."""
    found = [f for path in sorted(TESTS.rglob("*.py"))
             for f in findings(path.read_text(), str(path.relative_to(TESTS.parent)))]
    assert found == [], "weak assertions (see tests/test_test_hygiene.py):\n" + "\n".join(found)


@pytest.mark.parametrize("source", [
    'assert "resum" in out or "released v8.1.0" in out',
    'assert out == exact or "could not be reached" in err',
    'assert "*****@127.0.0.1" in joined or "127.0.0.1" in joined',
    "assert result.code in (0, 1)",
    "assert proc.returncode in [0, 1]",
    "assert ok and (a or b)",
    "assert not (a or b)",
    f"assert a or b  {ALLOW}",
])
def test_the_check_flags_weak_assertions(source: str) -> None:
    """The shapes that hid bugs are each flagged (an allow comment without reason too)."""
    assert len(findings(source)) == 1


@pytest.mark.parametrize("source", [
    'assert "resuming" in out',
    "assert result.code == 1",
    "assert set(theirs.ignore or []) <= ours",
    "assert [c.get('tag') or c['skipped'] for c in data] == expected",
    "assert json.loads(body or b'{}') == {}",
    "assert failure is not None and 'x' in (failure.text or '')",
    "assert value in (1, 2, 3)",  # not an exit code: a real membership test
    f"assert a or b  {ALLOW} both spellings are documented output",
    f"{ALLOW} the line above counts too\nassert a or b",
])
def test_the_check_lets_honest_assertions_pass(source: str) -> None:
    """Values computed with ``or``, exact exit codes and allowed cases pass."""
    assert findings(source) == []
