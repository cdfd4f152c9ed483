"""Shared pieces of the command-line and worker tests: a server started as a real subprocess
(``python -m wsgiref_rs APP ...``) whose output is collected as it comes, a one-request HTTP
client, a test application written into the test's directory, and the processes' children.

Every wait is bounded, and every process a test starts is killed (with its process group) when
the test ends.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

TIMEOUT = 15.0
LISTENING = re.compile(r"Listening at: (\S+) \((\d+)\)")

APP_SOURCE = '''\
import json
import os
import sys
import time

VERSION = {version!r}


def app(environ, start_response):
    if environ["PATH_INFO"] == "/sleep":
        sys.stderr.write(f"sleeping {{os.getpid()}}\\n")  # one write: workers share the pipe
        sys.stderr.flush()
        time.sleep(float(environ["QUERY_STRING"]))
    body = json.dumps({{
        "pid": os.getpid(),
        "version": VERSION,
        "factory": environ.get("test.factory", False),
        "multiprocess": environ["wsgi.multiprocess"],
        "multithread": environ["wsgi.multithread"],
        "script_name": environ["SCRIPT_NAME"],
        "path_info": environ["PATH_INFO"],
        "remote_addr": environ.get("REMOTE_ADDR"),
        "server_name": environ["SERVER_NAME"],
        "server_port": environ["SERVER_PORT"],
        "server_software": environ["SERVER_SOFTWARE"],
        "url_scheme": environ["wsgi.url_scheme"],
        "listen_fds": os.environ.get("LISTEN_FDS"),
        "os_environ_copied": "PATH" in environ,
    }}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def create_app():
    def factory_app(environ, start_response):
        environ["test.factory"] = True
        return app(environ, start_response)
    return factory_app


not_callable = 42
'''


def write_app(directory, name="testapp", version="v1"):
    """Write the test application module into ``directory``; return its path."""
    path = directory / f"{name}.py"
    path.write_text(APP_SOURCE.format(version=version))
    return path


def own_environ():
    """This process's environment without its WSGIREF_RS_* variables, which would configure the
    servers the tests start (a test that wants one passes it)."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith("WSGIREF_RS_")}


class Server:
    """``python -m wsgiref_rs ARGS`` in ``cwd``, its stdout and stderr collected line by line."""

    def __init__(self, args, cwd, env=None, pass_fds=(), command=None):
        environ = dict(own_environ() if env is None else env)
        environ["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            command or [sys.executable, "-m", "wsgiref_rs", *args],
            cwd=str(cwd), env=environ, pass_fds=pass_fds, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.pid = self.proc.pid
        self.out, self.err = [], []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._collect, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._collect, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _collect(self, stream, lines):
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern, stream="err", count=1, timeout=TIMEOUT):
        """The matches of ``pattern`` (a regex) once there are ``count`` of them in the output."""
        regex = re.compile(pattern)
        lines = self.err if stream == "err" else self.out
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for m in map(regex.search, lines) if m]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reading()):
                    raise AssertionError(f"no {count} x {pattern!r} in the output:\n"
                                         + "\n".join(self.err + self.out))
                self._changed.wait(min(left, 0.2))

    def _reading(self):
        return any(reader.is_alive() for reader in self._readers)

    def listening(self, count=1):
        """The URLs the server announced; checks the pid in its startup lines."""
        found = self.wait_for(LISTENING.pattern, count=count)
        assert {int(m.group(2)) for m in found} == {self.pid}
        return [m.group(1) for m in found]

    @property
    def port(self):
        return int(self.listening()[0].rsplit(":", 1)[1])

    def signal(self, signum):
        os.kill(self.pid, signum)

    def wait(self, timeout=TIMEOUT):
        """The exit status, once the process and its output are done."""
        code = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout)
        return code

    def stop(self):
        """Kill whatever of this server is still running (the process group it leads)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=TIMEOUT)
        finally:
            for reader in self._readers:
                reader.join(TIMEOUT)
            self.proc.stdout.close()
            self.proc.stderr.close()


def get(port, path="/", host="127.0.0.1", timeout=TIMEOUT, headers=None):
    """(status, parsed JSON body or raw bytes) of one GET on a fresh connection."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        return _read(conn.getresponse())
    finally:
        conn.close()


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def get_unix(path, url="/", timeout=TIMEOUT, headers=None):
    conn = _UnixHTTPConnection(path, timeout)
    try:
        conn.request("GET", url, headers={"Connection": "close", **(headers or {})})
        return _read(conn.getresponse())
    finally:
        conn.close()


def _read(response):
    body = response.read()
    if response.getheader("Content-Type") == "application/json":
        return response.status, json.loads(body)
    return response.status, body


def children(pid):
    """The pids whose parent is ``pid`` (from /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name (in parentheses) may contain spaces: fields follow its last ")".
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1 and int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def wait_until(condition, timeout=TIMEOUT, interval=0.05, what="the condition"):
    """Poll ``condition()`` until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def run_cli(args, cwd, timeout=TIMEOUT, env=None):
    """Run the command to completion: (exit status, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "wsgiref_rs", *args], cwd=str(cwd),
                          env=own_environ() if env is None else env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr
