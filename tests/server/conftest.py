"""Fixtures of the live-socket server suite (helpers are in live_http.py beside this file).

``serve(app, server_class=..., handler_class=..., module=...)`` starts ``make_server`` on
127.0.0.1 port 0 with ``serve_forever()`` in a thread and returns a ``live_http.Running``; at
the end of the test every server it started is stopped with ``shutdown()`` (bounded),
``server_close()`` and a bounded join, and the test fails if any of that hung or if
``serve_forever()`` raised.
"""

import os
import shutil
import subprocess

import pytest
from live_http import start_server


@pytest.fixture
def serve():
    started = []

    def start(app, **kwargs):
        running = start_server(app, **kwargs)
        started.append(running)
        return running

    yield start
    problems = []
    for running in started:
        try:
            running.stop()
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def tcp_connects(monkeypatch):
    """The local port of every TCP connection urllib3 (and so requests) opens during the test.

    urllib3's pool counters count connection objects, which it reconnects in place after the
    server closed them; this counts real connects, through the function urllib3 calls for each.
    """
    import urllib3.util.connection

    ports = []
    real = urllib3.util.connection.create_connection

    def counting(*args, **kwargs):
        sock = real(*args, **kwargs)
        ports.append(sock.getsockname()[1])
        return sock

    monkeypatch.setattr(urllib3.util.connection, "create_connection", counting)
    return ports


@pytest.fixture(scope="session")
def curl():
    """curl's path, installed with apt-get (as root) when it is not on PATH."""
    found = shutil.which("curl")
    if found:
        return found
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        pytest.skip("curl is not installed and there is no apt-get to install it with")
    if os.geteuid() != 0:
        pytest.skip("curl is not installed and installing it with apt-get needs root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for args in (["update"], ["install", "-y", "--no-install-recommends", "curl"]):
        proc = subprocess.run(
            [apt_get, *args], check=False, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"apt-get {args[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    found = shutil.which("curl")
    assert found, "apt-get installed curl but it is not on PATH"
    return found
