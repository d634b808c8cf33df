"""Fail on test modules that cannot fail and on skips that do not say why (run by `make test`).

- A test module (tests/**/test_*.py) must assert something: an ``assert`` statement, ``pytest.raises``,
  ``pytest.fail`` or ``pytest.warns`` somewhere in it. A module of tests that only call code passes even
  when the code is wrong.
- A skip or an expected failure must say why: ``pytest.skip(reason)``, ``pytest.mark.skip(reason=...)``,
  ``pytest.mark.skipif(condition, reason=...)``, ``pytest.mark.xfail(..., reason=...)`` with a non-empty
  reason. pytest prints one line per skip with that reason at the end of the run (``-rs``).

Usage: python tools/check_tests.py [DIR ...]   (default: tests/). Prints one line per problem.
"""

import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASSERTING_CALLS = {"raises", "fail", "warns", "deprecated_call"}
SKIP_MARKS = {"skip", "skipif", "xfail"}


def _dotted(node):
    """'pytest.mark.skip' for the expression pytest.mark.skip; None when it is not a plain dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _has_reason(call, positional_reason):
    """True when the call gives a non-empty reason (keyword ``reason``/``msg``, or the positional one)."""
    for keyword in call.keywords:
        if keyword.arg in ("reason", "msg"):
            return not (isinstance(keyword.value, ast.Constant) and not keyword.value.value)
        if keyword.arg is None:
            return True   # **kwargs: cannot tell, trust it
    if positional_reason is not None and len(call.args) > positional_reason:
        value = call.args[positional_reason]
        return not (isinstance(value, ast.Constant) and not value.value)
    return False


def problems(path):
    source = path.read_text()
    try:
        tree = ast.parse(source, str(path))
    except SyntaxError as err:
        return ["%s:%s: does not parse: %s" % (path, err.lineno, err.msg)]
    found = []
    asserts = False
    calls = set(id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            asserts = True
        elif isinstance(node, ast.Call):
            name = _dotted(node.func) or ""
            last = name.rsplit(".", 1)[-1]
            if name.startswith("pytest.") and last in ASSERTING_CALLS:
                asserts = True
            if name == "pytest.skip" and not _has_reason(node, 0):
                found.append("%s:%d: pytest.skip() without a reason" % (path, node.lineno))
            elif name in ("pytest.mark.skip", "pytest.mark.xfail") and not _has_reason(node, 0):
                found.append("%s:%d: %s without a reason" % (path, node.lineno, name))
            elif name == "pytest.mark.skipif" and not _has_reason(node, None):
                found.append("%s:%d: pytest.mark.skipif without reason=" % (path, node.lineno))
        elif isinstance(node, ast.Attribute) and id(node) not in calls:
            name = _dotted(node)
            if name in ("pytest.mark.%s" % m for m in SKIP_MARKS):
                found.append("%s:%d: bare %s (give a reason)" % (path, node.lineno, name))
    if not asserts:
        found.append("%s: a test module with no assertion (assert, pytest.raises, pytest.fail)" % path)
    return found


def main(argv):
    dirs = [pathlib.Path(a) for a in argv] or [ROOT / "tests"]
    modules = sorted(p for d in dirs for p in d.rglob("test_*.py"))
    if not modules:
        print("check_tests: no test module found under %s" % ", ".join(map(str, dirs)))
        return 1
    found = [line for path in modules for line in problems(path)]
    for line in found:
        print(line)
    print("check_tests: %d test module(s), %d problem(s)" % (len(modules), len(found)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
