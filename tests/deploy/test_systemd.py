"""The README's systemd units (deploy/wsgiref-rs.socket and deploy/wsgiref-rs.service) behind its
nginx snippet, run the way systemd runs them.

The tests run without systemd, so FakeSystemd does systemd's part for these two units, and
nothing more: it listens where the socket unit's ListenStream says (with its SocketMode and
SocketGroup), starts the service's ExecStart in its WorkingDirectory with that socket as fd 3 and
LISTEN_FDS=1, LISTEN_PID=<its pid> (sd_listen_fds(3)), runs ExecReload with $MAINPID, and stops
with KillSignal, then SIGKILL after TimeoutStopSec (KillMode=mixed: the signal goes to the main
process alone).  Every directive of the units must be one it applies or one listed in IGNORED
with the reason, so a directive added to the recipe cannot go untested unnoticed.
"""

import fcntl
import grp
import os
import shlex
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest
from deploy_support import HERE, Load, children, is_gone, recipe, request, wait_until

CLIENT = "127.0.0.2"
APPLIED = {
    ("Socket", "ListenStream"), ("Socket", "SocketMode"), ("Socket", "SocketGroup"),
    ("Service", "WorkingDirectory"), ("Service", "ExecStart"), ("Service", "ExecReload"),
    ("Service", "KillSignal"), ("Service", "KillMode"), ("Service", "TimeoutStopSec"),
    ("Unit", "Requires"),
}
IGNORED = {
    ("Unit", "Description"): "text only",
    ("Unit", "After"): "ordering at boot",
    ("Install", "WantedBy"): "what systemctl enable links",
    ("Socket", "SocketUser"): "root, as the tests run",
    ("Service", "Type"): "simple: the service is up once started",
    ("Service", "User"): "the tests run the service as themselves (tmp_path is theirs alone)",
    ("Service", "Group"): "as User",
    ("Service", "Restart"): "a crash fails the test instead",
}


def parse_unit(text):
    """{(section, key): value} of a systemd unit file (each key appears once in ours)."""
    found, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        assert sep and section, f"not a unit file line: {line!r}"
        assert (section, key.strip()) not in found, f"{key} twice in [{section}]"
        found[(section, key.strip())] = value.strip()
    return found


def installed_wsgiref_rs():
    """The wsgiref-rs command pip installed beside this Python; its folder is the unit's
    @VENV@/bin."""
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        path = Path(folder) / "wsgiref-rs"
        if os.access(path, os.X_OK):
            assert path.parent.name == "bin", path
            return path
    pytest.fail(f"no wsgiref-rs command beside {sys.executable}: is wsgiref-rs pip-installed?")


class FakeSystemd:
    def __init__(self, socket_unit, service_unit):
        self.socket_unit, self.service_unit = socket_unit, service_unit
        for unit in (socket_unit, service_unit):
            unknown = set(unit) - APPLIED - set(IGNORED)
            assert not unknown, f"directives this test does not apply: {sorted(unknown)}"
        assert service_unit[("Unit", "Requires")] == "wsgiref-rs.socket"
        self.listener = self._listen()
        self.main = None

    def _listen(self):
        where = self.socket_unit[("Socket", "ListenStream")]
        if where.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(where)
            os.chmod(where, int(self.socket_unit.get(("Socket", "SocketMode"), "0666"), 8))
            group = self.socket_unit.get(("Socket", "SocketGroup"))
            if group and os.geteuid() == 0:
                os.chown(where, 0, grp.getgrnam(group).gr_gid)
        else:
            host, _, port = where.rpartition(":")
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host or "0.0.0.0", int(port)))
        sock.listen(socket.SOMAXCONN)
        return sock

    def start(self):
        assert self.main is None or self.main.poll() is not None
        argv = shlex.split(self.service_unit[("Service", "ExecStart")])
        assert os.path.isabs(argv[0]), argv
        # What systemd does between fork and exec: the socket becomes fd 3, LISTEN_PID the pid
        # (which exec keeps). A shell cannot do it: dash takes no fd number above 9.
        fd = fcntl.fcntl(self.listener.fileno(), fcntl.F_DUPFD_CLOEXEC, 10)
        launcher = (
            "import os, sys\n"
            "fd = int(sys.argv[1])\n"
            "os.dup2(fd, 3)\n"
            "os.close(fd)\n"
            "env = dict(os.environ, LISTEN_PID=str(os.getpid()), LISTEN_FDS='1',\n"
            "           LISTEN_FDNAMES='wsgiref-rs.socket')\n"
            "os.execve(sys.argv[2], sys.argv[2:], env)\n"
        )
        # systemd's environment for a service is small: none of the test's variables.
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG": "C.UTF-8"}
        try:
            self.main = subprocess.Popen(
                [sys.executable, "-c", launcher, str(fd), *argv], pass_fds=(fd,), env=env,
                cwd=self.service_unit[("Service", "WorkingDirectory")],
                stdin=subprocess.DEVNULL, stdout=self.output, stderr=subprocess.STDOUT,
            )
        finally:
            os.close(fd)
        return self.main

    def reload(self):
        command = self.service_unit[("Service", "ExecReload")]
        argv = shlex.split(command.replace("$MAINPID", str(self.main.pid)))
        return subprocess.run(argv, timeout=10, capture_output=True, text=True)

    def stop(self):
        """KillSignal to the main process; what is left of it after TimeoutStopSec is killed.
        Returns its exit status."""
        assert self.service_unit[("Service", "KillMode")] == "mixed"
        kill_signal = getattr(signal, self.service_unit[("Service", "KillSignal")])
        timeout = float(self.service_unit[("Service", "TimeoutStopSec")])
        workers = children(self.main.pid)
        os.kill(self.main.pid, kill_signal)
        try:
            return self.main.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for pid in (self.main.pid, *workers):
                if not is_gone(pid):
                    os.kill(pid, signal.SIGKILL)
            self.main.wait(timeout=10)
            return f"killed after TimeoutStopSec={timeout:g}"

    def close(self):
        if self.main is not None and self.main.poll() is None:
            workers = children(self.main.pid)
            os.kill(self.main.pid, signal.SIGKILL)
            self.main.wait(timeout=10)
            for pid in workers:
                if not is_gone(pid):
                    os.kill(pid, signal.SIGKILL)
        self.listener.close()


@pytest.fixture
def fake_systemd(tmp_path):
    made = []

    def make(socket_unit, service_unit):
        systemd = FakeSystemd(socket_unit, service_unit)
        systemd.output = open(tmp_path / "service.log", "wb")
        made.append(systemd)
        return systemd

    yield make
    for systemd in made:
        systemd.close()
        systemd.output.close()


def write_app(app_dir, version):
    """myapp.py: the deploy tests' app, at a given version (sizes differ, so no stale .pyc)."""
    source = (HERE / "deploy_app.py").read_text()
    (app_dir / "myapp.py").write_text(f"{source}\nVERSION = {version!r}\n")


def test_the_systemd_units_serve_behind_nginx_reload_and_stop(fake_systemd, nginx, tmp_path):
    socket_path = tmp_path / "run" / "wsgiref-rs.sock"
    socket_path.parent.mkdir()
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    write_app(app_dir, "1")
    command = installed_wsgiref_rs()
    systemd = fake_systemd(
        parse_unit(recipe("wsgiref-rs.socket", SOCKET=socket_path)),
        parse_unit(recipe("wsgiref-rs.service", VENV=command.parent.parent, APP_DIR=app_dir)),
    )
    log = lambda: (tmp_path / "service.log").read_text(errors="replace")  # noqa: E731
    main = systemd.start()
    proxy = nginx(f"unix:{socket_path}")

    def workers(count, without=()):
        found = set()

        def ready():
            assert main.poll() is None, f"the service exited ({main.returncode}):\n{log()}"
            found.clear()
            found.update(children(main.pid))
            return len(found) == count and not found & set(without)

        wait_until(ready, 30, f"{count} workers", lambda: f"{sorted(found)}\n{log()}")
        return set(found)

    def answer(target):
        response = request(proxy.address, target, source=CLIENT,
                           headers={"X-Forwarded-For": "203.0.113.7"}, timeout=20)
        assert response.status == 200, (response, proxy.error_log(), log())
        return response.json

    old = workers(2)
    first = answer("/?id=1")
    assert (first["id"], first["version"]) == ("1", "1")
    assert first["REMOTE_ADDR"] == CLIENT  # nginx on the Unix socket is trusted
    assert first["wsgi.url_scheme"] == "http"
    assert first["wsgi.multiprocess"] is True
    assert first["pid"] in old

    # systemctl reload, with new code on disk and clients coming through nginx all along.
    load = Load(proxy.address, threads=4).start()
    try:
        load.wait_answered_since(0.0, 50)
        write_app(app_dir, "2-reloaded")
        reloaded = systemd.reload()
        assert reloaded.returncode == 0, reloaded
        new = workers(2, without=old)
        since = time.monotonic()
        load.wait_answered_since(since, 50)
    finally:
        load.stop()
    assert not load.failures, f"{load.report()}\n{proxy.error_log()}"
    assert answer("/?id=2")["version"] == "2-reloaded"

    # systemctl stop: the supervisor and its workers exit, and the socket stays systemd's.
    assert systemd.stop() == 0, log()
    assert all(is_gone(pid) for pid in new)
    assert socket_path.exists()

    # A request made while the service is stopped waits in the socket's backlog and is answered
    # once the service starts again (systemd would start it on that connection).
    waiting = []

    def wait_for_answer():
        try:
            waiting.append(answer("/?id=3"))
        except BaseException as e:  # reported by the test below
            waiting.append(e)

    client = threading.Thread(target=wait_for_answer, daemon=True)
    client.start()
    time.sleep(0.5)
    assert client.is_alive(), waiting
    main = systemd.start()
    client.join(30)
    assert not client.is_alive()
    (late,) = waiting
    assert not isinstance(late, BaseException), f"{late!r}\n{log()}"
    assert (late["id"], late["version"]) == ("3", "2-reloaded")
    assert systemd.stop() == 0, log()
