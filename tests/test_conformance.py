"""CPython's own test suite for wsgiref, run unmodified against wsgiref-rs.

``test.test_wsgiref`` is imported in place from this interpreter's ``test`` package (never
copied) in a fresh interpreter where ``wsgiref_rs.install()`` ran first, so its ``from wsgiref...``
imports get wsgiref-rs. Every test it defines must run and pass: no failure, no error, no skip.
"""

import ast
import importlib.util
import json
import subprocess
import sys

import pytest

RUNNER = r"""
import json, sys, unittest
import wsgiref_rs
wsgiref_rs.install()
import test.test_wsgiref as suite_module
import wsgiref_rs.handlers, wsgiref_rs.headers, wsgiref_rs.simple_server
import wsgiref_rs.util, wsgiref_rs.validate

# The suite must really be exercising wsgiref-rs.
uses_ours = {
    "util": suite_module.util is wsgiref_rs.util,
    "setup_testing_defaults": suite_module.setup_testing_defaults
        is wsgiref_rs.util.setup_testing_defaults,
    "Headers": suite_module.Headers is wsgiref_rs.headers.Headers,
    "BaseHandler": suite_module.BaseHandler is wsgiref_rs.handlers.BaseHandler,
    "BaseCGIHandler": suite_module.BaseCGIHandler is wsgiref_rs.handlers.BaseCGIHandler,
    "SimpleHandler": suite_module.SimpleHandler is wsgiref_rs.handlers.SimpleHandler,
    "validator": suite_module.validator is wsgiref_rs.validate.validator,
    "WSGIServer": suite_module.WSGIServer is wsgiref_rs.simple_server.WSGIServer,
    "WSGIRequestHandler": suite_module.WSGIRequestHandler
        is wsgiref_rs.simple_server.WSGIRequestHandler,
    "make_server": suite_module.make_server is wsgiref_rs.simple_server.make_server,
}

suite = unittest.defaultTestLoader.loadTestsFromModule(suite_module)
result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
print(json.dumps({
    "file": suite_module.__file__,
    "uses_ours": uses_ours,
    "loaded": suite.countTestCases(),
    "run": result.testsRun,
    "failures": [(str(t), tb) for t, tb in result.failures],
    "errors": [(str(t), tb) for t, tb in result.errors],
    "skipped": [(str(t), reason) for t, reason in result.skipped],
    "expected_failures": [str(t) for t, _ in result.expectedFailures],
    "unexpected_successes": [str(t) for t in result.unexpectedSuccesses],
}))
"""


def defined_tests(path):
    """Count the test methods that the module's TestCase classes define, from its source."""
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    count = 0
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
        if "TestCase" not in bases:
            continue
        count += sum(
            1
            for item in node.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            and item.name.startswith("test")
        )
    return count


def test_cpython_test_wsgiref_passes_in_full(capsys):
    spec = importlib.util.find_spec("test.test_wsgiref")
    assert spec is not None and spec.origin, "this interpreter has no test.test_wsgiref"
    expected = defined_tests(spec.origin)
    assert expected > 0

    proc = subprocess.run(
        [sys.executable, "-c", RUNNER],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])

    assert report["file"] == spec.origin  # in place, from the interpreter's own test package
    assert all(report["uses_ours"].values()), report["uses_ours"]
    assert report["failures"] == [], report["failures"]
    assert report["errors"] == [], report["errors"]
    assert report["skipped"] == [], report["skipped"]
    assert report["expected_failures"] == [] and report["unexpected_successes"] == []
    assert report["run"] == report["loaded"] == expected, (report["run"], expected)
    with capsys.disabled():
        print(
            f"\nCPython test_wsgiref ({sys.version.split()[0]}) against wsgiref-rs: "
            f"{report['run']} passed of {expected} defined"
        )


@pytest.mark.parametrize(
    "source,expected",
    [
        ("class A(TestCase):\n def test_a(self): pass\n def helper(self): pass\n", 1),
        ("class A(unittest.TestCase):\n def testB(self): pass\n", 1),
        ("class Helper:\n def test_x(self): pass\n", 0),
    ],
)
def test_defined_tests_counter(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert defined_tests(str(path)) == expected
