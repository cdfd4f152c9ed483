"""Programs the tests need from Debian's packages (curl, lighttpd, nginx), installed with apt-get
when missing, so the README's test command works on a fresh machine with no step done by hand."""

import os
import shutil
import subprocess

import pytest


def _found(name):
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )


def program(name, package):
    """The path of `name`, from Debian's `package` installed with apt-get (as root) if needed.
    Fails with a clear message where it cannot be installed: the tests need it."""
    found = _found(name)
    if found:
        return found
    apt_get = shutil.which("apt-get")
    if apt_get is None or os.geteuid() != 0:
        pytest.fail(
            f"these tests need {name}: run them as root on a Debian-like system (they install "
            f"{package} with apt-get) or install {package} first"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for args in (["update"], ["install", "-y", "--no-install-recommends", package]):
        proc = subprocess.run(
            [apt_get, *args], check=False, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"apt-get {args[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    found = _found(name)
    assert found, f"apt-get installed {package} but there is no {name} program"
    return found
