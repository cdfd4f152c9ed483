"""Fixtures of the engine's tests (their helpers are in live_http.py beside this file).

``serve(app, server_class=..., handler_class=..., module=..., **attributes)`` starts
``make_server`` on 127.0.0.1 port 0 with ``serve_forever()`` in a thread
(``serving.start_server``) and returns a ``serving.Running``; at the end of the test every
server it started is stopped with ``shutdown()`` (bounded), ``server_close()`` and a bounded
join, and the test fails if any of that hung or if ``serve_forever()`` raised.
"""


import debian
import pytest
from serving import start_server


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
    """curl's path, installed with apt-get (as root) when it is missing."""
    return debian.program("curl", "curl")
