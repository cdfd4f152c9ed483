"""A real HAProxy (Debian's, installed with apt-get when missing) in TCP mode in front of
``python -m wsgiref_rs deploy_app:app --proxy-protocol``: with ``send-proxy`` (v1) and
``send-proxy-v2``, the application sees the client's address and port, not HAProxy's.

HAProxy runs as a child of the test (foreground, ``-db``, its configuration in tmp_path, on a free
127.0.0.1 port) and is stopped by pid at the end. The client connects from 127.0.0.5, so that its
address differs from HAProxy's own (127.0.0.1)."""

import http.client
import json
import subprocess
import time

import debian
import pytest
from deploy_support import connects, free_port

CLIENT = "127.0.0.5"

CONFIG = """\
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend front
    bind 127.0.0.1:{listen}
    default_backend app

backend app
    server wsgiref_rs 127.0.0.1:{app} {send_proxy}
"""


@pytest.fixture
def haproxy(tmp_path):
    program = debian.program("haproxy", "haproxy")
    started = []

    def start(app_port, send_proxy):
        port = free_port()
        config = tmp_path / "haproxy.cfg"
        config.write_text(CONFIG.format(listen=port, app=app_port, send_proxy=send_proxy))
        proc = subprocess.Popen([program, "-db", "-f", str(config)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        deadline = time.monotonic() + 15
        while not connects(port):
            assert proc.poll() is None, f"haproxy exited: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "haproxy does not listen"
            time.sleep(0.05)
        return port

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        proc.stderr.close()


@pytest.mark.parametrize("send_proxy", ["send-proxy", "send-proxy-v2"])
def test_the_app_sees_the_client_behind_haproxy(wsgiref_rs_cli, haproxy, send_proxy):
    served = wsgiref_rs_cli("--proxy-protocol", "--timeout", "0", workers=1)
    port = haproxy(served.address[1], send_proxy)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15, source_address=(CLIENT, 0))
    try:
        conn.connect()
        client_port = conn.sock.getsockname()[1]
        for _ in range(2):  # keep-alive: the second request keeps the client too
            conn.request("GET", "/")
            response = conn.getresponse()
            assert response.status == 200
            seen = json.loads(response.read())
            assert (seen["REMOTE_ADDR"], seen["REMOTE_PORT"]) == (CLIENT, str(client_port))
    finally:
        conn.close()
