"""wsgiref_rs.types on every interpreter it serves: mypy must see the same errors in the same
programs whether they import it or Python 3.11's wsgiref.types (typeshed's, whatever runs the
tests), and the module must import and resolve its annotations on Python 3.9 and 3.10, which have
no wsgiref.types. test_types_stdlib.py compares it with the running standard library's module
where there is one (3.11 on).
"""

import glob
import os
import shutil
import subprocess
import sys
import textwrap
import typing

import wsgiref_rs.types as ours

PROTOCOLS = ["StartResponse", "InputStream", "ErrorStream", "FileWrapper", "_Readable"]
# Python 3.11's wsgiref.types.__all__ (test_types_stdlib.py checks it against the stdlib's).
STDLIB_ALL = [
    "StartResponse", "WSGIEnvironment", "WSGIApplication", "InputStream", "ErrorStream",
    "FileWrapper",
]
TYPES_FILE = os.path.abspath(ours.__file__)
PYTHON_DIR = os.path.dirname(os.path.dirname(TYPES_FILE))


def protocol_methods(cls):
    return sorted(
        name
        for name, value in vars(cls).items()
        if callable(value) and (not name.startswith("_") or name in ("__call__", "__iter__"))
    )


def test_all_names_the_stdlib_names():
    assert ours.__all__ == STDLIB_ALL
    for name in ours.__all__:
        assert hasattr(ours, name), name


def test_annotations_resolve_with_the_module_globals():
    for name in PROTOCOLS:
        for method in protocol_methods(getattr(ours, name)):
            hints = typing.get_type_hints(getattr(getattr(ours, name), method))
            assert "return" in hints


# --------------------------------------------------------------------------------------------
# Static checking: the same programs, the same mypy verdicts

GOOD_PROGRAM = """\
    import io
    import sys
    from {mod} import (
        ErrorStream, FileWrapper, InputStream, StartResponse, WSGIApplication, WSGIEnvironment,
    )

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        stream: InputStream = environ["wsgi.input"]
        errors: ErrorStream = environ["wsgi.errors"]
        errors.write("x")
        errors.writelines(["a", "b"])
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(stream.read(10) + stream.readline() + b"".join(stream.readlines()))
        start_response("500 Oops", [], sys.exc_info())
        return [b"ok"]

    application: WSGIApplication = app
    inp: InputStream = io.BytesIO()
    err: ErrorStream = sys.stderr

    def send(fw: FileWrapper) -> int:
        return sum(len(chunk) for chunk in fw(io.BytesIO(b"x"), 8192))
"""

BAD_PROGRAM = """\
    from {mod} import InputStream, StartResponse, WSGIApplication, WSGIEnvironment

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[str]:
        start_response(200, {{"Content-Type": "text/plain"}})
        start_response("200 OK", [], "not exc_info")
        start_response(status="200 OK", headers=[])
        return ["not bytes"]

    application: WSGIApplication = app
    stream: InputStream = open("x")
"""


def mypy(tmp_path, program, mod, version):
    path = tmp_path / f"prog_{mod.replace('.', '_')}_{version.replace('.', '')}.py"
    path.write_text(textwrap.dedent(program.format(mod=mod)))
    env = dict(os.environ, MYPYPATH=PYTHON_DIR)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--no-error-summary",
            "--hide-error-context",
            "--python-version",
            version,
            str(path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    # The verdicts; mypy's notes (where a definition is) are worded differently by its versions.
    lines = [line.split(":", 1)[1] for line in proc.stdout.splitlines() if ": error:" in line]
    return proc.returncode, [line.replace(mod, "<types>") for line in lines]


def test_mypy_sees_the_same_errors_as_with_the_stdlib_module(tmp_path):
    for program in (GOOD_PROGRAM, BAD_PROGRAM):
        assert mypy(tmp_path, program, "wsgiref_rs.types", "3.11") == mypy(
            tmp_path, program, "wsgiref.types", "3.11"
        )
    code, errors = mypy(tmp_path, GOOD_PROGRAM, "wsgiref_rs.types", "3.11")
    assert (code, errors) == (0, [])
    code, errors = mypy(tmp_path, BAD_PROGRAM, "wsgiref_rs.types", "3.11")
    assert code == 1 and len(errors) >= 6, errors


def test_mypy_on_python_3_10_where_the_stdlib_has_no_such_module(tmp_path):
    assert mypy(tmp_path, GOOD_PROGRAM, "wsgiref_rs.types", "3.10") == (0, [])
    code, errors = mypy(tmp_path, BAD_PROGRAM, "wsgiref_rs.types", "3.10")
    assert code == 1
    assert errors == mypy(tmp_path, BAD_PROGRAM, "wsgiref_rs.types", "3.11")[1]


# --------------------------------------------------------------------------------------------
# Run time on other interpreters

RUNTIME_CHECK = """\
import importlib.util, io, sys, typing
spec = importlib.util.spec_from_file_location("wsgiref_rs_types", {path!r})
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
assert m.__all__ == {all!r}, m.__all__
for cls in (m.StartResponse, m.InputStream, m.ErrorStream, m.FileWrapper):
    for name, value in vars(cls).items():
        if callable(value) and not name.startswith("_abc"):
            typing.get_type_hints(value)
hints = typing.get_type_hints(m.StartResponse.__call__)
assert hints["status"] is str and hints["headers"] == list[tuple[str, str]], hints
assert type(None) in typing.get_args(hints["exc_info"]), hints
assert m.WSGIEnvironment == dict[str, typing.Any]
assert typing.get_args(m.WSGIApplication)[0] == [dict[str, typing.Any], m.StartResponse]

def app(environ: m.WSGIEnvironment, start_response: m.StartResponse) -> "list[bytes]":
    start_response("200 OK", [])
    return [b""]
wsgi_app: m.WSGIApplication = app
print("ok", sys.version_info[:2])
"""


def other_interpreters():
    """Python 3.9 and 3.10 interpreters on this machine (pyenv versions beside this one)."""
    found = {}
    candidates = glob.glob(os.path.join(os.path.dirname(sys.base_prefix), "3.*", "bin", "python3"))
    candidates += [p for p in (shutil.which("python3.9"), shutil.which("python3.10")) if p]
    for exe in candidates:
        try:
            proc = subprocess.run(
                [exe, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except OSError:
            continue
        if proc.returncode == 0 and proc.stdout.split() in (["3", "9"], ["3", "10"]):
            found.setdefault(tuple(proc.stdout.split()), exe)
    return sorted(found.values())


def run_check(exe, prelude=""):
    code = prelude + RUNTIME_CHECK.format(path=TYPES_FILE, all=STDLIB_ALL)
    return subprocess.run(
        [exe, "-I", "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_runs_on_python_3_9_and_3_10():
    # Always: this interpreter made to look like 3.9 (no typing.TypeAlias, the 3.9 branch).
    simulated = run_check(
        sys.executable,
        prelude=textwrap.dedent(
            """\
            import builtins, sys
            _import = builtins.__import__
            def _no_type_alias(name, globals=None, locals=None, fromlist=(), level=0):
                if name == "typing" and fromlist and "TypeAlias" in fromlist:
                    raise ImportError("cannot import name 'TypeAlias' from 'typing'")
                return _import(name, globals, locals, fromlist, level)
            builtins.__import__ = _no_type_alias
            sys.version_info = (3, 9, 0, "final", 0)
            """
        ),
    )
    assert simulated.returncode == 0, simulated.stderr
    # And every real 3.9 / 3.10 interpreter that this machine has (pyenv keeps several).
    for exe in other_interpreters():
        proc = run_check(exe)
        assert proc.returncode == 0, (exe, proc.stderr)
        assert proc.stdout.startswith("ok (3, "), proc.stdout
