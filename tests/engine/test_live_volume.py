"""Nothing lost: a 256 MiB upload (with Content-Length, and chunked) reaches the app intact, a
64 MiB wsgi.file_wrapper response arrives intact (hashes compared), 10,000 keep-alive requests on
one connection are all answered, 200 concurrent connections are all answered.

Uploads are streamed from generators (never built in memory); the app hashes what it reads in
64 KiB pieces.
"""

import hashlib
import http.client
import json
import os
import selectors
import socket
import tempfile
import time

import pytest
from live_http import (
    HOST,
    TIMEOUT,
    Client,
    QuietHandler,
    ThreadingWSGIServer,
    path_app,
    request,
)

MIB = 1 << 20
UPLOAD = 256 * MIB
PIECE = 65536
BIG_TIMEOUT = 60.0


def hashing_app(environ, start_response):
    """Reads the body in 64 KiB pieces (by CONTENT_LENGTH, or to the end when chunked)."""
    digest = hashlib.sha256()
    size = 0
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    if length:
        remaining = int(length)
        while remaining:
            piece = stream.read(min(PIECE, remaining))
            if not piece:
                break
            digest.update(piece)
            size += len(piece)
            remaining -= len(piece)
    else:
        # Stops at the end of the body; the cap only keeps a broken server from hanging the app.
        cap = int(environ["HTTP_X_EXPECTED_SIZE"]) + 1
        while size < cap:
            piece = stream.read(min(PIECE, cap - size))
            if not piece:
                break
            digest.update(piece)
            size += len(piece)
    result = {
        "sha256": digest.hexdigest(),
        "size": size,
        "terminated": environ.get("wsgi.input_terminated", False),
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(result).encode()]


def upload_stream(digest, split):
    """256 MiB in distinct 64 KiB blocks; ``split`` cuts each block in two unequal pieces."""
    block = os.urandom(PIECE)
    for i in range(UPLOAD // PIECE):
        data = i.to_bytes(8, "big") + block[8:]
        digest.update(data)
        if split:
            cut = 1 + (i * 7919) % (PIECE - 1)
            yield data[:cut]
            yield data[cut:]
        else:
            yield data


def upload(port, chunked):
    digest = hashlib.sha256()
    conn = http.client.HTTPConnection(HOST, port, timeout=BIG_TIMEOUT)
    try:
        headers = {"X-Expected-Size": str(UPLOAD), "Content-Type": "application/octet-stream"}
        if not chunked:
            headers["Content-Length"] = str(UPLOAD)
        conn.request("POST", "/upload", body=upload_stream(digest, chunked), headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        result = json.loads(response.read())
    finally:
        conn.close()
    return digest.hexdigest(), result


def assert_uploads(serve, chunked):
    """256 MiB arrive whole within 30 s; ``wsgi.input_terminated`` only for a chunked body (one
    with a Content-Length is read by CONTENT_LENGTH, as with the stdlib)."""
    server = serve(hashing_app, handler_class=QuietHandler)
    started = time.monotonic()
    sent, result = upload(server.port, chunked=chunked)
    assert result["size"] == UPLOAD
    assert result["sha256"] == sent
    assert result["terminated"] is chunked
    assert time.monotonic() - started < 30


def test_upload_256mib_with_content_length(serve):
    assert_uploads(serve, chunked=False)


def test_upload_256mib_chunked(serve):
    assert_uploads(serve, chunked=True)


def test_file_wrapper_64mib_response(serve):
    workdir = tempfile.TemporaryDirectory()
    path = os.path.join(workdir.name, "big.bin")
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(64):
            data = os.urandom(MIB)
            digest.update(data)
            f.write(data)
    size = 64 * MIB
    opened = []

    def app(environ, start_response):
        f = open(path, "rb")  # noqa: SIM115 - closed by the server through the wrapper
        opened.append(f)
        start_response("200 OK", [("Content-Length", str(size))])
        return environ["wsgi.file_wrapper"](f, PIECE)

    try:
        server = serve(app, handler_class=QuietHandler)
        got = hashlib.sha256()
        received = [0]

        def sink(piece):
            got.update(piece)
            received[0] += len(piece)

        with Client(server.port, timeout=BIG_TIMEOUT) as c:
            c.send(request("GET", "/big", headers=["Connection: close"]))
            r = c.read_response(sink=sink)
        assert r.status == 200 and r.complete
        assert received[0] == size
        assert got.hexdigest() == digest.hexdigest()
        deadline = time.monotonic() + 5
        while not opened[0].closed and time.monotonic() < deadline:
            time.sleep(0.02)
        assert opened[0].closed, "the file wrapper (and its file) was not closed"
    finally:
        for f in opened:
            f.close()
        workdir.cleanup()


def test_10000_keep_alive_requests_on_one_connection(serve):
    server = serve(path_app, handler_class=QuietHandler)
    batch = 100
    started = time.monotonic()
    with Client(server.port) as c:
        for start in range(0, 10_000, batch):
            c.send(b"".join(request("GET", f"/{i}") for i in range(start, start + batch)))
            for i in range(start, start + batch):
                r = c.read_response()
                assert r is not None, f"request {i}: the connection was closed"
                assert r.status == 200 and r.body == f"/{i}".encode(), (i, r.head)
        assert c.is_open(wait=0.05)
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("server_class", [None, ThreadingWSGIServer], ids=["plain", "threading"])
def test_200_concurrent_connections(serve, server_class):
    """All 200 connect first, then all send, then all are read: each gets its own answer.

    The connections are opened one after the other, 2 ms apart, so that a burst does not
    overflow the listen backlog the standard library asks for (5) while the server's accepting
    thread waits for the GIL held by this client; a server that accepts promptly has all 200
    open at once.
    """
    server = serve(path_app, server_class=server_class, handler_class=QuietHandler)
    count = 200
    deadline = time.monotonic() + 20
    selector = selectors.DefaultSelector()
    socks = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection((HOST, server.port), timeout=TIMEOUT))
            time.sleep(0.002)  # lets a server thread in this process take the GIL to accept
        for i, s in enumerate(socks):
            s.sendall(request("GET", f"/{i}", headers=["Connection: close"]))
            s.setblocking(False)
            selector.register(s, selectors.EVENT_READ, i)
        received = {i: bytearray() for i in range(count)}
        open_ = set(range(count))
        while open_:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{len(open_)} of {count} connections were never answered"
            for key, _ in selector.select(min(remaining, 1.0)):
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    data = b""
                if data:
                    received[key.data] += data
                else:
                    selector.unregister(key.fileobj)
                    open_.discard(key.data)
    finally:
        selector.close()
        for s in socks:
            s.close()
    for i in range(count):
        r = Client.from_bytes(bytes(received[i])).read_response()
        assert r is not None and r.status == 200 and r.body == f"/{i}".encode(), i
