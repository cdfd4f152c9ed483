"""The suite's set-up: Debian's wrk, nginx-light and libev-dev (for bjoern) through apt-get when
missing, and a virtual environment of its own (benches/.venv) with the peers, matplotlib, Flask,
Django and wsgiref-rs, built from this checkout in release mode and reinstalled on every run."""

import os
import shutil
import subprocess
import sys

__all__ = ["PEERS", "VENV", "ensure_system_packages", "ensure_venv", "venv_python"]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(HERE, ".venv")
PEERS = ["bjoern", "fastwsgi", "granian", "gunicorn", "waitress", "matplotlib", "flask", "django"]
BUILD_LOG = os.path.join(VENV, "wsgiref-rs-build.log")


def venv_python(venv=VENV):
    return os.path.join(venv, "bin", "python")


def _dpkg_installed(package):
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                            capture_output=True, text=True)
    return result.returncode == 0 and "install ok installed" in result.stdout


def ensure_system_packages():
    """apt-get installs what is missing, non-interactively (needs root on a Debian-like system)."""
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk")
    if not any(os.path.exists(p) for p in ("/usr/sbin/nginx", "/usr/bin/nginx")):
        missing.append("nginx-light")
    if shutil.which("dpkg-query") and not _dpkg_installed("libev-dev"):
        missing.append("libev-dev")
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        sys.exit(f"the benchmark needs these Debian packages: {' '.join(missing)} "
                 "(run the suite as root on a Debian-like system, or install them)")
    print(f"+ apt-get install {' '.join(missing)}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                   check=True, env=env)


def _pip(python, *args, log=None):
    cmd = [python, "-m", "pip", "install", "--disable-pip-version-check", *args]
    print("+ " + " ".join(cmd[2:]), flush=True)
    if log is None:
        subprocess.run(cmd, check=True)
        return
    with open(log, "w") as f:
        result = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        sys.exit(f"pip failed: see {log}")


def ensure_venv():
    """Creates benches/.venv if missing (no system site-packages), installs the peers there, and
    reinstalls wsgiref-rs from this checkout so the current commit is measured. Returns its
    Python."""
    python = venv_python()
    if not os.path.exists(python):
        print(f"+ {sys.executable} -m venv {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    _pip(python, "-q", *PEERS)
    # maturin's PEP 517 backend builds the release profile; the log is checked to be sure.
    _pip(python, "-v", "--force-reinstall", "--no-deps", ROOT, log=BUILD_LOG)
    with open(BUILD_LOG) as f:
        log = f.read()
    if "Finished `release` profile" not in log:
        sys.exit(f"wsgiref-rs was not built in release mode: see {BUILD_LOG}")
    return python
