"""Helpers of the deployment tests: the recipe files with their placeholders filled in, one HTTP
request (TCP from a chosen source address, or a Unix socket), a bounded client load that counts
what it sent and what was answered, and a look at a supervisor's worker processes through /proc.

``recipe(name, **values)`` reads ``deploy/<name>`` and replaces each ``@KEY@`` by its value; every
value must be used and no placeholder may be left, so the tests run the files as the README shows
them.
"""

import http.client
import json
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEPLOY", "HERE", "PLACEHOLDER", "ROOT", "Load", "Outcome", "Response", "children",
           "connects", "deploy_env", "free_port", "is_gone", "recipe", "request", "wait_until"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEPLOY = ROOT / "deploy"
PLACEHOLDER = re.compile(r"@[A-Z_]+@")
TIMEOUT = 10.0


def recipe(name, **values):
    """deploy/<name> with @KEY@ replaced by values[KEY]."""
    text = (DEPLOY / name).read_text()
    for key, value in values.items():
        marker = f"@{key}@"
        assert marker in text, f"deploy/{name} has no {marker}"
        text = text.replace(marker, str(value))
    left = sorted(set(PLACEHOLDER.findall(text)))
    assert not left, f"deploy/{name}: placeholders not filled in: {left}"
    return text


def deploy_env(**extra):
    """The environment wsgiref-rs runs in: deploy_app importable, output unbuffered, and none of
    this process's WSGIREF_RS_* variables, which would configure it."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("WSGIREF_RS_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env.update({k: str(v) for k, v in extra.items()})
    return env


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def connection(address, source=None, timeout=TIMEOUT):
    """An unopened http.client connection to ``(host, port)`` or to a Unix socket path."""
    if isinstance(address, (str, os.PathLike)):
        return _UnixConnection(os.fspath(address), timeout)
    host, port = address
    return http.client.HTTPConnection(
        host, port, timeout=timeout, source_address=(source, 0) if source else None
    )


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


def request(address, target="/", *, method="GET", headers=None, body=None, source=None,
            timeout=TIMEOUT):
    """One request on a connection of its own, read to its end (Content-Length is checked by
    http.client: a short body raises IncompleteRead)."""
    conn = connection(address, source, timeout)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        conn.close()


@dataclass
class Outcome:
    """One request of a load: when it started and ended (time.monotonic()), and either the pid
    and version of the worker that answered or the error that ended it."""

    started: float
    ended: float
    pid: int = None
    version: str = None
    error: str = None


@dataclass
class Load:
    """``threads`` clients, each sending GET requests for ``target`` one after the other, every
    one on a fresh connection, until stop() or ``per_thread`` requests.

    A fresh connection per request makes every failure unambiguous: no request is ever sent on a
    connection the server may be closing as idle (where a client should retry), so any error, and
    any answer that is not the complete 200 with the request's own id, is a lost request.  A short
    pause between requests keeps the two shared cores able to run the server's signal handling.
    """

    address: tuple
    threads: int = 8
    per_thread: int = 2000
    pause: float = 0.005
    target: str = "/load"
    outcomes: list = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [
            threading.Thread(target=self._client, args=(n,), daemon=True)
            for n in range(self.threads)
        ]

    def start(self):
        for worker in self._workers:
            worker.start()
        return self

    def _client(self, n):
        for i in range(self.per_thread):
            if self._stop.is_set():
                return
            rid = f"{n}-{i}"
            outcome = Outcome(started=time.monotonic(), ended=0.0)
            try:
                joiner = "&" if "?" in self.target else "?"
                response = request(self.address, f"{self.target}{joiner}id={rid}")
                # The status first: a proxy's 502 page is no JSON, and its status says more.
                if response.status != 200:
                    raise AssertionError(f"status {response.status}: {response.body[:80]!r}")
                answer = response.json
                if answer["id"] != rid:
                    raise AssertionError(f"id {answer.get('id')!r}")
                outcome.pid, outcome.version = answer["pid"], answer["version"]
            except Exception as e:  # every failure is counted, and named in the report
                outcome.error = f"{type(e).__name__}: {e}"
            outcome.ended = time.monotonic()
            with self._lock:
                self.outcomes.append(outcome)
            time.sleep(self.pause)

    def answered_since(self, moment):
        with self._lock:
            return sum(1 for o in self.outcomes if o.error is None and o.started > moment)

    def wait_answered_since(self, moment, count, timeout=30.0):
        wait_until(lambda: self.answered_since(moment) >= count, timeout,
                   f"{count} requests answered", self.report)

    def wait_answered_by(self, pids, timeout=15.0, since=0.0):
        """Wait until one of these worker processes has answered a request sent after since
        (a time.monotonic())."""
        def answered():
            with self._lock:
                return any(o.pid in pids for o in self.outcomes
                           if o.error is None and o.started > since)

        wait_until(answered, timeout, f"answer from workers {sorted(pids)}", self.report)

    def stop(self, timeout=30.0):
        """Stop sending and wait for every request in flight to end (each is bounded by the
        client's socket timeout)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        hung = [w.name for w in self._workers if w.is_alive()]
        assert not hung, f"load clients still running after {timeout} s: {hung}"
        return self

    @property
    def failures(self):
        return [o for o in self.outcomes if o.error is not None]

    def report(self):
        failures = self.failures
        shown = "; ".join(sorted({o.error for o in failures}))[:2000]
        return (f"{len(self.outcomes)} sent, {len(self.outcomes) - len(failures)} answered, "
                f"{len(failures)} failed ({shown})")


def free_port():
    """A TCP port free on 127.0.0.1 now, for a program that takes a port number."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connects(port):
    """Whether something listens on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout, what, details=lambda: ""):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s. {details()}")
        time.sleep(0.02)


def _stat(pid):
    """(state, ppid) of a process from /proc, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces or parentheses.
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def is_gone(pid):
    """The process has exited (it is gone or a zombie not yet reaped)."""
    stat = _stat(pid)
    return stat is None or stat[0] in ("Z", "X")


def children(pid):
    """The pids of the live (not zombie) child processes of ``pid``."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(entry)
            if stat is not None and stat[1] == pid and stat[0] not in ("Z", "X"):
                found.add(int(entry))
    return found
