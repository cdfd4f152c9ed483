"""wsgiref-rs on every CPython 3.9+ this machine has (``python3 -m nox``).

* ``nox -s tests``: the whole suite (ruff, ``cargo test``, the fuzz crate's check, pytest) on
  each interpreter, each in a virtual environment of its own with wsgiref-rs built for it.
* ``nox -s conformance``: CPython's own ``test.test_wsgiref`` (each interpreter's own) and the
  differential property tests (tests/test_{util,headers,handlers,simple_server,validate}.py,
  which compare wsgiref-rs with that interpreter's standard library) on each interpreter, with a
  tenth of their examples (``WSGIREF_TESTS_EXAMPLES_SCALE``; the whole suite runs them all). The
  README's test command ends with it. Each session ends with one line of counts.

The interpreters are found on ``PATH`` (``python3.9``, ``python3.10``, ...) and among pyenv's
versions, one per minor version (the first found); none that is present is left out, and no
interpreter is downloaded. ``nox -s conformance -p 3.12`` picks one.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import nox

nox.options.sessions = ["tests"]
nox.options.download_python = "never"
nox.options.default_venv_backend = "virtualenv"

ROOT = os.path.dirname(os.path.abspath(__file__))
OLDEST = (3, 9)
DIFFERENTIAL = [
    "tests/test_conformance.py",
    "tests/test_util.py",
    "tests/test_headers.py",
    "tests/test_handlers.py",
    "tests/test_simple_server.py",
    "tests/test_validate.py",
]


def _version(executable):
    """(major, minor) of a CPython at ``executable``, or None for anything else."""
    try:
        proc = subprocess.run(
            [executable, "-c", "import sys, platform; "
             "print(platform.python_implementation(), *sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=False,
        )
    except OSError:
        return None
    words = proc.stdout.split()
    if proc.returncode != 0 or len(words) != 3 or words[0] != "CPython":
        return None
    return int(words[1]), int(words[2])


def _candidates():
    for minor in range(OLDEST[1], 40):
        found = shutil.which(f"python3.{minor}")
        if found:
            yield found
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    yield from sorted(glob.glob(os.path.join(pyenv_root, "versions", "*", "bin", "python3")))


def interpreters():
    """{"3.9": its directory, ...}: each CPython 3.9+ found, one per minor version."""
    found = {}
    for executable in _candidates():
        version = _version(executable)
        if version is None or version < OLDEST:
            continue
        found.setdefault(f"{version[0]}.{version[1]}", os.path.dirname(executable))
    return dict(sorted(found.items(), key=lambda item: tuple(map(int, item[0].split(".")))))


INTERPRETERS = interpreters()
# nox finds "3.9" as python3.9 on PATH: put the directories found at its end, so that nothing
# already on PATH is shadowed.
os.environ["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), *INTERPRETERS.values()])


def _install(session):
    """wsgiref-rs built for this session's interpreter, with what the tests need, in the
    `tests` profile (release's optimisation without its LTO; see Cargo.toml), as the README's
    test command builds it. Every interpreter shares the one cargo target folder: the crates that
    do not depend on Python (rustls, ring, mio, ...) are built once, and only PyO3 and
    wsgiref-rs again for each version. `cargo test` builds and runs against this interpreter
    (its libpython found where it is installed)."""
    session.env["MATURIN_PEP517_ARGS"] = "--profile tests"
    session.env["PYO3_PYTHON"] = os.path.join(session.bin, "python")
    libdir = session.run("python", "-c",
                         "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))",
                         silent=True).strip()
    for variable in ("LD_LIBRARY_PATH", "DYLD_FALLBACK_LIBRARY_PATH"):
        session.env[variable] = os.pathsep.join(filter(None, [libdir, os.environ.get(variable)]))
    session.install("-e", ".[test]")


def _counts(session, junit):
    root = ElementTree.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = {key: sum(int(s.get(key, 0)) for s in suites)
             for key in ("tests", "failures", "errors", "skipped")}
    version = session.run("python", "-c", "import sys; print(sys.version.split()[0])",
                          silent=True).strip()
    return version, total


@nox.session(python=list(INTERPRETERS))
def tests(session):
    """The README's whole test command, on each interpreter."""
    _install(session)
    session.run("python", "-m", "ruff", "check", "python", "tests", "benches", "noxfile.py")
    session.run("cargo", "test", "--quiet", external=True)
    session.run("cargo", "check", "--quiet", "--manifest-path", "fuzz/Cargo.toml",
                "--no-default-features", "--features", "fuzz-targets", external=True)
    junit = os.path.join(session.create_tmp(), "tests.xml")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}",
                *session.posargs)
    version, total = _counts(session, junit)
    session.log(f"Python {version}: {total['tests']} tests, {total['failures']} failed, "
                f"{total['errors']} errors, {total['skipped']} skipped")


@nox.session(python=list(INTERPRETERS))
def conformance(session):
    """CPython's test_wsgiref and the differential property tests, on each interpreter."""
    _install(session)
    session.env.setdefault("WSGIREF_TESTS_EXAMPLES_SCALE", "0.1")
    junit = os.path.join(session.create_tmp(), "conformance.xml")
    output = session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "-q",
                         f"--junitxml={junit}", *DIFFERENTIAL, *session.posargs,
                         silent=True)
    session.log(output.strip().splitlines()[-1])
    cpython = re.search(r"CPython test_wsgiref \(([^)]*)\) against wsgiref-rs: (\d+) passed of "
                        r"(\d+) defined", output)
    if cpython is None:
        session.error("test_conformance did not report CPython's test_wsgiref")
    version, total = _counts(session, junit)
    session.log(f"Python {version}: CPython test_wsgiref {cpython.group(2)} of "
                f"{cpython.group(3)} passed; differential tests {total['tests']} run, "
                f"{total['failures'] + total['errors']} failed, {total['skipped']} skipped")


if __name__ == "__main__":
    for version, directory in INTERPRETERS.items():
        print(version, directory, file=sys.stdout)
