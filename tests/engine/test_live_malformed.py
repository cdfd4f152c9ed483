"""Malformed input: 400 (bad request line, bad header line, bad or conflicting Content-Length,
Transfer-Encoding with Content-Length, a final coding other than chunked, a bad chunk size), 414
(request line too long), 431 (too many or too big headers), 505 (HTTP/2.0 on HTTP/1.x). Each
time the app is never called, the connection is closed, and the server goes on serving.
"""

import random
import threading
import time

import pytest
from live_http import TIMEOUT, Client, Recorder, chunked, path_app, refused, request, still_serves

BAD_REQUEST_LINES = {
    "one-word": b"GARBAGE\r\n\r\n",
    "four-words": b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    "bad-version": b"GET / HTTX/1.1\r\nHost: x\r\n\r\n",
    "bad-version-number": b"GET / HTTP/1.x\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("data", BAD_REQUEST_LINES.values(), ids=BAD_REQUEST_LINES.keys())
def test_bad_request_line_400(serve, data):
    refused(serve, data, 400)


def test_header_line_without_colon_400(serve):
    refused(serve, b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400)


BAD_LENGTHS = {
    "letters": ["Content-Length: abc"],
    "negative": ["Content-Length: -5"],
    "plus-sign": ["Content-Length: +5"],
    "hex": ["Content-Length: 0x5"],
    "two-different-headers": ["Content-Length: 5", "Content-Length: 6"],
    "two-different-in-one": ["Content-Length: 5, 6"],
}


@pytest.mark.parametrize("headers", BAD_LENGTHS.values(), ids=BAD_LENGTHS.keys())
def test_bad_content_length_400(serve, headers):
    refused(serve, request("POST", "/", headers=headers) + b"hello!", 400)


def test_transfer_encoding_with_content_length_400(serve):
    data = request(
        "POST", "/", headers=["Transfer-Encoding: chunked", "Content-Length: 5"]
    ) + chunked([b"hello"])
    refused(serve, data, 400)


def test_final_coding_not_chunked_400(serve):
    data = request("POST", "/", headers=["Transfer-Encoding: gzip"]) + b"hello"
    refused(serve, data, 400)


@pytest.mark.parametrize("size_line", [b"zz", b"-1", b"5 5", b"fffffffffffffffffffffff"])
def test_bad_chunk_size_400(serve, size_line):
    data = (
        request("POST", "/", headers=["Transfer-Encoding: chunked"])
        + size_line
        + b"\r\nhello\r\n0\r\n\r\n"
    )
    refused(serve, data, 400)


def test_bad_chunk_size_later_in_the_body_closes_the_connection(serve):
    """The app already runs when the bad chunk arrives: no complete 200, the connection ends."""
    seen = []
    reading = threading.Event()

    def app(environ, start_response):
        if environ["REQUEST_METHOD"] == "GET":
            return path_app(environ, start_response)
        reading.set()
        try:
            body = environ["wsgi.input"].read()
        except Exception as e:  # what the stream raises is up to the server
            seen.append(e)
            raise
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    server = serve(app)
    with Client(server.port) as c:
        c.send(request("POST", "/", headers=["Transfer-Encoding: chunked"]) + b"5\r\nhello\r\n")
        # Only once the app is reading: a body already complete is refused before the app runs.
        assert reading.wait(10)
        c.send(b"zz\r\nmore\r\n0\r\n\r\n" + request("GET", "/next"))
        r = c.read_response()
        assert r is None or r.status >= 400, r.head
        if r is not None:
            assert c.wait_closed() == "eof"
    assert seen, "wsgi.input.read() returned normally over a bad chunk"
    still_serves(server.port)


def test_request_line_too_long_414(serve):
    refused(serve, b"GET /" + b"a" * (70 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)


def test_too_many_headers_431(serve):
    headers = [f"X-Header-{i}: {i}" for i in range(200)]
    refused(serve, request("GET", "/", headers=headers), 431)


def test_header_too_big_431(serve):
    refused(serve, request("GET", "/", headers=["X-Big: " + "b" * (70 * 1024)]), 431)


def test_http2_version_505(serve):
    refused(serve, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505)


def test_random_garbage_never_reaches_the_app(serve):
    rng = random.Random(4)
    recorder = Recorder(path_app)
    server = serve(recorder)
    for _ in range(20):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        with Client(server.port) as c:
            c.send(junk.replace(b"\n", b"") + b"\r\n\r\n")
            answer = c.read_to_eof(TIMEOUT)  # an error page (or nothing), then EOF
            if answer.startswith(b"HTTP/"):
                r = Client.from_bytes(answer).read_response()
                assert 400 <= r.status < 600, answer[:100]
    assert recorder.calls == 0
    still_serves(server.port)


def test_client_that_connects_and_leaves_costs_nothing(serve):
    recorder = Recorder(path_app)
    server = serve(recorder)
    for i in range(4):
        c = Client(server.port)
        c.abort() if i % 2 else c.close()
    still_serves(server.port)
    assert recorder.calls == 1


@pytest.mark.parametrize(
    "partial",
    [b"GET /half", b"GET /half HTTP/1.1\r\n", b"GET /half HTTP/1.1\r\nHost: x\r\n"],
    ids=["line", "line-crlf", "headers"],
)
def test_incomplete_request_then_gone_never_reaches_the_app(serve, partial):
    """A head cut short by the client's close is not a request (the stdlib ran such heads)."""
    recorder = Recorder(path_app)
    server = serve(recorder)
    for leave in ("close", "abort"):
        c = Client(server.port)
        c.send(partial)
        time.sleep(0.05)
        c.abort() if leave == "abort" else c.close()
    still_serves(server.port)
    assert recorder.calls == 1
