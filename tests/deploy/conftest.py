"""Fixtures of the deployment tests: a real nginx in front, configured with the README's snippet
(deploy/nginx.conf), and wsgiref-rs started from its command line.

``nginx(upstream, https=False)`` runs Debian's nginx (``nginx-light``, installed with apt-get when
it is missing) as a child of the test, with ``deploy/nginx.conf`` included into a minimal
configuration of its own (foreground, one worker, every path in tmp_path) and listening on a free
127.0.0.1 port. ``https=True`` makes nginx say ``X-Forwarded-Proto: https``, as it does when it
terminates TLS. ``nginx(site="nginx-hosts.conf", HOST_A=..., HOST_B=...)`` includes another
recipe of deploy/ instead, with those placeholders filled in (``@LISTEN@`` always is). It is
stopped with SIGQUIT, then SIGKILL, by pid.

``wsgiref_rs_cli(*options)`` runs ``python -m wsgiref_rs deploy_app:app --workers 2 ...`` (the app
is deploy_app.py beside this file) on 127.0.0.1 port 0 unless the options say ``--bind`` or
``--uds``, and learns the address and the supervisor's pid from the line it logs once it
listens, ``Listening at: http://127.0.0.1:PORT (PID)`` or ``Listening at: unix:PATH (PID)``. Its
stderr is collected (``Served.log()``). ``prefix`` goes before that command line: ``("ip",
"netns", "exec", NAME)`` runs it in a network namespace (ip execs it, so the pid is still the
supervisor's). At the end it gets SIGTERM, then SIGKILL (it and every worker it was seen to
have), by pid.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import debian
import pytest
from deploy_support import (
    ROOT,
    children,
    connects,
    deploy_env,
    free_port,
    is_gone,
    recipe,
    wait_until,
)

LISTENING = re.compile(r"Listening at: (?:http://(?P<host>[^\s:]+):(?P<port>\d+)|unix:(?P<path>\S+))"
                       r" \((?P<pid>\d+)\)")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def _end(pid, first_signal, timeout):
    """first_signal, then SIGKILL after timeout, to one process we started; True if it needed
    the SIGKILL."""
    if is_gone(pid):
        return False
    try:
        os.kill(pid, first_signal)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_gone(pid):
            return False
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


# ----------------------------------------------------------------------------------------------
# nginx


@pytest.fixture(scope="session")
def nginx_binary():
    """nginx's path, from Debian's nginx-light installed with apt-get when it is missing."""
    return debian.program("nginx", "nginx-light")


@dataclass
class Nginx:
    proc: subprocess.Popen
    port: int
    prefix: Path

    @property
    def address(self):
        return ("127.0.0.1", self.port)

    def error_log(self):
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def nginx_config(prefix: Path, port: int, https: bool, name: str, placeholders: dict) -> Path:
    """The wrapper around deploy/<name> (nginx.conf unless told): what /etc/nginx/nginx.conf
    would say, kept in prefix."""
    site = recipe(name, LISTEN=f"127.0.0.1:{port}", **placeholders)
    if https:
        # What $scheme is when nginx terminates TLS (a certificate would only add a handshake).
        assert site.count("X-Forwarded-Proto $scheme;") == 1, site
        site = site.replace("X-Forwarded-Proto $scheme;", "X-Forwarded-Proto https;")
    (prefix / "site.conf").write_text(site)
    # As root, nginx's workers would switch to "nobody", who may not enter tmp_path (mode 0700)
    # to reach a Unix socket there.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"{user}daemon off;\nmaster_process on;\nworker_processes 1;\n"
        f"pid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n    access_log off;\n{temp}\n    include {prefix / 'site.conf'};\n}}\n"
    )
    return conf


@pytest.fixture
def nginx(nginx_binary, tmp_path):
    started = []

    def start(upstream=None, https=False, site="nginx.conf", **placeholders):
        if upstream is not None:
            placeholders["UPSTREAM"] = upstream
        prefix = tmp_path / f"nginx{len(started)}"
        prefix.mkdir()
        port = free_port()
        conf = nginx_config(prefix, port, https, site, placeholders)
        with open(prefix / "output.log", "wb") as output:
            proc = subprocess.Popen(
                [nginx_binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        server = Nginx(proc, port, prefix)
        started.append(server)
        deadline = time.monotonic() + START_TIMEOUT
        while not connects(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                output = (prefix / "output.log").read_text(errors="replace")
                pytest.fail(f"nginx did not listen on 127.0.0.1:{port} (exit {proc.poll()}):\n"
                            f"{output}\n{server.error_log()}")
            time.sleep(0.02)
        return server

    yield start
    for server in started:
        workers = children(server.proc.pid)
        _end(server.proc.pid, signal.SIGQUIT, STOP_TIMEOUT)
        server.proc.wait(timeout=STOP_TIMEOUT)
        for pid in workers:  # a worker outlives a master killed by SIGKILL
            _end(pid, signal.SIGKILL, STOP_TIMEOUT)


# ----------------------------------------------------------------------------------------------
# wsgiref-rs from its command line


@dataclass
class Served:
    """A running wsgiref-rs: its process, where it listens, and what it wrote on stderr."""

    proc: subprocess.Popen
    address: object = None  # ("127.0.0.1", port) or a Unix socket path
    lines: list = field(default_factory=list)
    seen_workers: set = field(default_factory=set)

    def __post_init__(self):
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        with self._changed:
            return "\n".join(self.lines[-200:])

    def wait_for_line(self, pattern, timeout=START_TIMEOUT, start=0):
        """The first match of pattern in a stderr line from line number start on."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[start:]:
                    match = regex.search(line)
                    if match:
                        return match
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"wsgiref-rs wrote no line matching {pattern!r} within {timeout} s "
                        f"(exit code {self.proc.poll()}); its stderr:\n{self.log()}"
                    )
                self._changed.wait(min(left, 0.1))

    def workers(self):
        """The supervisor's live worker processes."""
        found = children(self.pid)
        self.seen_workers |= found
        return found

    def wait_for_workers(self, count, timeout=START_TIMEOUT, without=()):
        """Wait until exactly count live workers run, none of them in without; return them."""
        found = set()

        def ready():
            found.clear()
            found.update(self.workers())
            return len(found) == count and not found & set(without)

        wait_until(ready, timeout, f"{count} workers (not {sorted(without)})",
                   lambda: f"workers now: {sorted(found)}; stderr:\n{self.log()}")
        return set(found)


def stop_served(served):
    """SIGTERM, then SIGKILL to the supervisor and every worker it was seen to have."""
    if served.proc.poll() is None:
        served.workers()
        # Only while it has not been reaped: after that its pid may be another process's.
        _end(served.pid, signal.SIGTERM, STOP_TIMEOUT)
    try:
        served.proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    for pid in served.seen_workers:
        _end(pid, signal.SIGKILL, STOP_TIMEOUT)
    served.proc.stderr.close()


@pytest.fixture
def wsgiref_rs_cli():
    started = []

    def start(*options, workers=2, env=None, cwd=ROOT, app="deploy_app:app", prefix=()):
        argv = [*prefix, sys.executable, "-m", "wsgiref_rs", app, "--workers", str(workers),
                *options]
        if not {"--bind", "--uds", "--fd"} & set(options):
            argv += ["--bind", "127.0.0.1:0"]
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env or deploy_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace",
        )
        served = Served(proc)
        started.append(served)
        match = served.wait_for_line(LISTENING.pattern)
        assert int(match["pid"]) == proc.pid, (match.group(0), proc.pid)
        served.address = match["path"] or (match["host"], int(match["port"]))
        if workers > 1:
            served.wait_for_workers(workers)
        return served

    yield start
    for served in started:
        stop_served(served)
