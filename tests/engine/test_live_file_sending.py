"""File responses (``wsgi.file_wrapper`` over a regular file) on live sockets, while other
clients are served: a single-threaded server sends a file in turns with its other connections,
so a slow or stalled download holds up nobody, and every byte still arrives in order.

Nothing here depends on how the engine sends a file; each test checks what a client sees.
"""

import hashlib
import os
import socket
import threading
import time

import pytest
from live_http import Client, QuietHandler, ThreadingWSGIServer, hello_app, request

import wsgiref_rs.simple_server as ours

MIB = 1 << 20
SIZE = 24 * MIB  # more than loopback's socket buffers hold, so a reader that stops fills them


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    """A file of SIZE random bytes: (path, its SHA-256)."""
    path = tmp_path_factory.mktemp("files") / "data.bin"
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(SIZE // MIB):
            block = os.urandom(MIB)
            digest.update(block)
            f.write(block)
    return str(path), digest.hexdigest()


class FileApp:
    """/file answers with the data file through wsgi.file_wrapper; anything else with hello.
    It keeps the file objects it opened, to check that each is closed."""

    def __init__(self, path):
        self.path = path
        self.opened = []

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] != "/file":
            return hello_app(environ, start_response)
        f = open(self.path, "rb")  # noqa: SIM115 - closed by the server through the wrapper
        self.opened.append(f)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 65536)

    def wait_all_closed(self, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(f.closed for f in self.opened):
            time.sleep(0.02)
        return all(f.closed for f in self.opened)


def read_file_response(client, method="GET"):
    """The next response, its body hashed as it arrives: (response, byte count, hex digest)."""
    digest = hashlib.sha256()
    count = [0]

    def sink(piece):
        digest.update(piece)
        count[0] += len(piece)

    response = client.read_response(method, sink=sink, timeout=60)
    return response, count[0], digest.hexdigest()


def test_a_stalled_download_holds_up_no_other_client(serve, data_file):
    path, digest = data_file
    server = serve(FileApp(path), handler_class=QuietHandler)
    with Client(server.port) as stalled:
        stalled.send(request("GET", "/file"))
        time.sleep(0.3)  # the server fills the socket's buffers, then the reader's
        for _ in range(3):
            started = time.monotonic()
            with Client(server.port) as other:
                other.send(request("GET", "/"))
                response = other.read_response(timeout=5)
            assert response.status == 200 and response.body == b"Hello world!\n"
            assert time.monotonic() - started < 2
        # The stalled client takes its file in the end, every byte of it.
        response, count, got = read_file_response(stalled)
    assert response.status == 200 and response.complete
    assert count == SIZE and got == digest


@pytest.mark.parametrize(
    "server_class", [ours.WSGIServer, ThreadingWSGIServer], ids=["plain", "threads"]
)
def test_concurrent_downloads_and_requests_pipelined_behind_them(serve, data_file, server_class):
    path, digest = data_file
    app = FileApp(path)
    server = serve(app, server_class=server_class, handler_class=QuietHandler)
    results = []

    def download():
        with Client(server.port) as c:
            # Two files and a hello in one write: each is answered in order, in full.
            c.send(request("GET", "/file") + request("GET", "/file") + request("GET", "/"))
            for _ in range(2):
                response, count, got = read_file_response(c)
                results.append((response.status, response.complete, count, got))
            hello = c.read_response()
            results.append((hello.status, hello.body))
            assert c.is_open()

    threads = [threading.Thread(target=download) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert sorted(results, key=repr) == sorted(
        [(200, True, SIZE, digest)] * 8 + [(200, b"Hello world!\n")] * 4, key=repr
    )
    assert len(app.opened) == 8 and app.wait_all_closed()


def test_connection_close_after_the_file_comes_after_its_last_byte(serve, data_file):
    path, digest = data_file
    server = serve(FileApp(path), handler_class=QuietHandler)
    with Client(server.port) as c:
        c.send(request("GET", "/file", headers=["Connection: close"]))
        response, count, got = read_file_response(c)
        assert response.status == 200 and "close" in response.connection_tokens()
        assert count == SIZE and got == digest
        assert c.wait_closed() == "eof"


def test_head_of_a_file_response_has_its_length_and_no_body(serve, data_file):
    path, _ = data_file
    server = serve(FileApp(path), handler_class=QuietHandler)
    with Client(server.port) as c:
        c.send(request("HEAD", "/file") + request("GET", "/"))
        head = c.read_response("HEAD")
        hello = c.read_response()
    assert head.status == 200 and head.get("Content-Length") == str(SIZE) and head.body == b""
    assert hello.body == b"Hello world!\n"


def test_a_client_gone_mid_file_costs_the_server_nothing(serve, data_file):
    path, digest = data_file
    app = FileApp(path)
    server = serve(app, handler_class=QuietHandler)
    for leave in (Client.close, Client.abort):
        c = Client(server.port)
        c.send(request("GET", "/file"))
        assert c.sock.recv(65536)  # the file has begun
        leave(c)
    with Client(server.port) as c:
        c.send(request("GET", "/file"))
        response, count, got = read_file_response(c)
    assert count == SIZE and got == digest
    assert app.wait_all_closed()


def test_a_reader_that_takes_nothing_is_dropped_after_engine_timeout(serve, data_file):
    path, _ = data_file

    class Server(ours.WSGIServer):
        engine_timeout = 0.5

    server = serve(FileApp(path), server_class=Server, handler_class=QuietHandler)
    with Client(server.port) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.send(request("GET", "/file"))
        time.sleep(3)  # the timeout, and the sweep that applies it once a second
        response, count, _ = read_file_response(c)
    assert response.status == 200 and not response.complete
    assert count < SIZE
