"""``--proxy-protocol``: a PROXY protocol header (v1 or v2) from a peer of
``--forwarded-allow-ips`` sets REMOTE_ADDR and REMOTE_PORT for every request of its connection;
anything else on such a listener is closed without an HTTP answer, and the server serves on.

The server is the command line (``python -m wsgiref_rs``), spoken to with raw sockets from
127.0.0.1; ``handle_one()`` is checked on the native ``Engine`` itself."""

import http.client
import ipaddress
import json
import socket
import struct
import threading
import time

import pytest
from cli_support import Server

from wsgiref_rs import _native

APP = '''\
import json


def app(environ, start_response):
    body = json.dumps([environ["REMOTE_ADDR"], environ.get("REMOTE_PORT")]).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''

HEADER_TIMEOUT = 1.0
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def start(directory, *options):
    (directory / "ppapp.py").write_text(APP)
    server = Server(["ppapp:app", "--bind", "127.0.0.1:0", "--proxy-protocol", "--timeout", "0",
                     "--header-timeout", str(HEADER_TIMEOUT), *options], cwd=directory)
    server.port  # noqa: B018 - waits until it listens
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = start(tmp_path_factory.mktemp("proxy_protocol"))
    yield running
    running.stop()


def v1(source, port):
    family, destination = ("TCP6", "::1") if ":" in source else ("TCP4", "10.0.0.1")
    return f"PROXY {family} {source} {destination} {port} 80\r\n".encode()


def v2(source=None, port=0, command=0x21, tlvs=b"", length=None):
    """A v2 header for `source`:`port` (None: an AF_UNSPEC block); `length` overrides the one
    the header states."""
    if source is None:
        family, block = 0x00, b""
    else:
        ip = ipaddress.ip_address(source)
        family = 0x11 if ip.version == 4 else 0x21
        block = ip.packed + ipaddress.ip_address("10.0.0.1" if ip.version == 4 else "::1").packed
        block += struct.pack("!HH", port, 80)
    block += tlvs
    stated = len(block) if length is None else length
    return V2_SIGNATURE + bytes([command, family]) + struct.pack("!H", stated) + block


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def answer(sock, request=REQUEST):
    """The app's [REMOTE_ADDR, REMOTE_PORT] for one request on `sock` (kept open)."""
    sock.sendall(request)
    response = http.client.HTTPResponse(sock)
    response.begin()
    assert response.status == 200
    assert not response.will_close
    return json.loads(response.read())


def closed_unanswered(sock):
    """True when the server closes `sock` without sending a byte."""
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


def still_serving(port):
    with connect(port) as sock:
        sock.sendall(v1("198.51.100.9", 4242))
        return answer(sock) == ["198.51.100.9", "4242"]


@pytest.mark.parametrize("header, client", [
    (v1("192.0.2.7", 54321), ["192.0.2.7", "54321"]),
    (v1("2001:db8::7", 443), ["2001:db8::7", "443"]),
    (v2("192.0.2.7", 54321), ["192.0.2.7", "54321"]),
    (v2("2001:db8::7", 443, tlvs=b"\x04\x00\x03abc"), ["2001:db8::7", "443"]),
], ids=["v1-tcp4", "v1-tcp6", "v2-inet", "v2-inet6-tlv"])
def test_a_header_from_a_trusted_peer_sets_the_client_for_every_request(server, header, client):
    with connect(server.port) as sock:
        sock.sendall(header)
        time.sleep(0.05)  # the header alone first, as a proxy sends it
        assert answer(sock) == client
        assert answer(sock) == client, "the second request of the connection"
    # The header and the request in one segment.
    with connect(server.port) as sock:
        assert answer(sock, header + REQUEST) == client


@pytest.mark.parametrize("header", [v1("x", 0).replace(b"TCP4 x", b"UNKNOWN"),
                                    v2(command=0x20), v2(None)],
                         ids=["v1-unknown", "v2-local", "v2-unspec"])
def test_a_header_without_an_address_keeps_the_peer(server, header):
    with connect(server.port) as sock:
        here = sock.getsockname()
        assert answer(sock, header + REQUEST) == [here[0], str(here[1])]


@pytest.mark.parametrize("sent", [
    REQUEST,
    b"PROXY TCP4 192.0.2.7 10.0.0.1 1\r\n" + REQUEST,
    b"PROXY TCP4 192.0.2.7 10.0.0.1 54321 99999\r\n" + REQUEST,
    b"PROXY UNKNOWN " + b"x" * 200 + b"\r\n" + REQUEST,
    v2("192.0.2.7", 1, command=0x22) + REQUEST,
    bytes([0x0D, 0x0A, 0x0D, 0x0A, 0, 0x0D, 0x0A]) + b"QUIT!" + REQUEST,
], ids=["plain-http", "v1-short", "v1-bad-port", "v1-oversized", "v2-bad-command",
        "v2-bad-signature"])
def test_anything_but_a_header_is_closed_unanswered(server, sent):
    with connect(server.port) as sock:
        sock.sendall(sent)
        assert closed_unanswered(sock)
    server.wait_for(r"refused the connection from 127\.0\.0\.1:\d+")
    assert still_serving(server.port)


@pytest.mark.parametrize("part", [b"PROXY TCP4 192.0.2.7 10.0", v2("192.0.2.7", 1)[:20]],
                         ids=["v1", "v2"])
def test_a_header_cut_short_by_the_client_is_closed_unanswered(server, part):
    with connect(server.port) as sock:
        sock.sendall(part)
        sock.shutdown(socket.SHUT_WR)
        assert closed_unanswered(sock)
    # Where the end comes in the same readiness event as the bytes, the loop (edge-triggered)
    # learns of it only at header_timeout, as for a request head cut short.
    server.wait_for("its PROXY protocol header (was cut short|took longer than header_timeout)")
    assert still_serving(server.port)


def test_a_stalled_header_is_closed_after_header_timeout(server):
    # A v2 header that says more follows than ever comes.
    with connect(server.port) as sock:
        sock.sendall(v2("192.0.2.7", 1, length=500))
        start = time.monotonic()
        assert still_serving(server.port), "others are served meanwhile"
        assert closed_unanswered(sock)
        waited = time.monotonic() - start
    # The loop sweeps once a second.
    assert HEADER_TIMEOUT * 0.9 <= waited < HEADER_TIMEOUT + 3, waited
    server.wait_for("its PROXY protocol header took longer than header_timeout")


def test_a_peer_not_in_forwarded_allow_ips_is_refused(tmp_path):
    untrusting = start(tmp_path, "--forwarded-allow-ips", "10.9.9.9")
    try:
        with connect(untrusting.port) as sock:
            sock.sendall(v1("192.0.2.7", 54321) + REQUEST)
            assert closed_unanswered(sock)
        untrusting.wait_for(r"refused the connection from 127\.0\.0\.1:\d+: it is not in "
                            r"forwarded_allow_ips")
    finally:
        untrusting.stop()


def test_handle_one_takes_the_header_too():
    def app(environ, start_response):
        body = f"{environ['REMOTE_ADDR']} {environ['REMOTE_PORT']}".encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    with socket.create_server(("127.0.0.1", 0)) as listener:
        engine = _native.Engine(listener.fileno(), app, {}, "test/1", proxy_protocol=True,
                                forwarded_allow_ips="127.0.0.1", header_timeout=HEADER_TIMEOUT)
        port = listener.getsockname()[1]
        got = {}

        def client():
            with connect(port) as sock:
                sock.sendall(v2("192.0.2.7", 54321) + REQUEST)
                got["served"] = b"".join(iter(lambda: sock.recv(4096), b""))
            with connect(port) as sock:
                sock.sendall(REQUEST)
                got["plain"] = closed_unanswered(sock)

        thread = threading.Thread(target=client)
        thread.start()
        assert engine.handle_one(10.0)
        assert engine.handle_one(10.0)
        thread.join(10)
    assert got["served"].startswith(b"HTTP/1.1 200 OK\r\n")
    assert got["served"].endswith(b"\r\n\r\n192.0.2.7 54321")
    assert got["plain"]
