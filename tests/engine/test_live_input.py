"""``wsgi.input``: read(n), read(), readline(limit), readlines(), iteration, never past the body
(a pipelined request after it stays intact); chunked request bodies (de-chunked, with
``wsgi.input_terminated`` true); ``Expect: 100-continue`` answered only when the app reads.
"""

import threading

from live_http import (
    TIMEOUT,
    Client,
    Recorder,
    chunked,
    chunked_request,
    echo_app,
    path_app,
    request,
)

BODY = b"line one\nline two\r\nthird line without end"


def reads_app(script):
    """An app that runs ``script(stream)`` and answers with the repr of what it returned."""

    def app(environ, start_response):
        result = script(environ["wsgi.input"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(result).encode()]

    return app


def ask(port, app_result_is, body=BODY, pipelined=False):
    """Send BODY with Content-Length, and a second request behind it when ``pipelined``."""
    with Client(port) as c:
        data = request("POST", "/read", body=body)
        if pipelined:
            data += request("GET", "/next-request")
        c.send(data)
        r = c.read_response()
        assert r is not None and r.status == 200, r and r.head
        assert r.body.decode() == repr(app_result_is)
        if pipelined:
            after = c.read_response()
            assert after is not None, "the second request was lost"
            assert after.status == 200 and after.body == repr(b"").encode(), after.body


# ----------------------------------------------------------------------------------------------
# Reads within the body (what a stdlib-era app does: it trusts CONTENT_LENGTH)


def test_read_n_and_readline_with_limit(serve):
    def script(s):
        return [s.read(4), s.readline(), s.readline(4), s.readline(), s.read(len(BODY) - 19)]

    server = serve(reads_app(script))
    ask(server.port, [b"line", b" one\n", b"line", b" two\r\n", b"third line without end"])


def test_read_in_pieces_adds_up_to_the_body(serve):
    def script(s):
        pieces = []
        remaining = len(BODY)
        while remaining:
            piece = s.read(min(5, remaining))
            assert piece, "read returned b'' inside the body"
            pieces.append(piece)
            remaining -= len(piece)
        return b"".join(pieces)

    server = serve(reads_app(script))
    ask(server.port, BODY)


# ----------------------------------------------------------------------------------------------
# Reads to the end of the body: they stop at its end, the next request stays intact


def script_read_all(s):
    return [s.read(), s.read(), s.read(3)]


def script_readlines(s):
    return [s.readlines(), s.readline(), s.read()]


def script_iterate(s):
    return [list(s), s.read()]


def script_mixed(s):
    return [s.readline(2), s.read(7), s.readlines(1), s.read(100), s.readline()]


def test_read_to_the_end_stops_at_the_body(serve):
    server = serve(switch(script_read_all))
    ask(server.port, [BODY, b"", b""], pipelined=True)


def test_readlines_stops_at_the_body(serve):
    server = serve(switch(script_readlines))
    ask(
        server.port,
        [[b"line one\n", b"line two\r\n", b"third line without end"], b"", b""],
        pipelined=True,
    )


def test_iteration_stops_at_the_body(serve):
    server = serve(switch(script_iterate))
    ask(
        server.port,
        [[b"line one\n", b"line two\r\n", b"third line without end"], b""],
        pipelined=True,
    )


def test_mixed_reads_stop_at_the_body(serve):
    server = serve(switch(script_mixed))
    ask(
        server.port,
        [b"li", b"ne one\n", [b"line two\r\n"], b"third line without end", b""],
        pipelined=True,
    )


def test_empty_body_reads_nothing(serve):
    server = serve(switch(lambda s: [s.read(), s.readline(), s.readlines(), list(s)]))
    ask(server.port, [b"", b"", [], []], body=b"", pipelined=True)


def empty_read(environ, start_response):
    """The pipelined second request: a GET without a body; wsgi.input must give nothing."""
    data = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [repr(data).encode()]


def switch(script):
    app = reads_app(script)

    def dispatch(environ, start_response):
        if environ["PATH_INFO"] == "/read":
            return app(environ, start_response)
        return empty_read(environ, start_response)

    return dispatch


def test_unread_body_is_skipped_before_the_next_request(serve):
    server = serve(path_app)  # never reads wsgi.input
    with Client(server.port) as c:
        c.send(
            request("POST", "/one", body=b"GET /smuggled HTTP/1.1\r\n\r\n" * 3)
            + request("POST", "/two", body=b"z" * 100_000)
            + request("GET", "/three")
        )
        bodies = [c.read_response().body for _ in range(3)]
        assert bodies == [b"/one", b"/two", b"/three"]


# ----------------------------------------------------------------------------------------------
# chunked request bodies


def test_chunked_body_is_dechunked_and_terminated(serve):
    recorder = Recorder(echo_app)
    server = serve(recorder)
    pieces = [b"Hello", b", ", b"chunked", b" " * 300, b"world" * 1000]
    with Client(server.port) as c:
        c.send(chunked_request("/up", pieces, trailers=["X-Trailer: t"], extensions=True)
               + request("GET", "/next"))
        r = c.read_response()
        assert r.status == 200 and r.body == b"POST /up " + b"".join(pieces)
        assert c.read_response().body == b"GET /next "
    environ = recorder.environs[0]
    assert environ["wsgi.input_terminated"] is True
    assert "HTTP_TRANSFER_ENCODING" in environ  # the header is shown as it came


def test_chunked_body_sent_in_small_writes(serve):
    server = serve(echo_app)
    body = chunked([b"a" * 17, b"b" * 4096, b"c"])
    with Client(server.port) as c:
        c.send(request("POST", "/slow", headers=["Transfer-Encoding: chunked"]))
        for i in range(0, len(body), 7):
            c.send(body[i : i + 7])
        r = c.read_response()
        assert r.body == b"POST /slow " + b"a" * 17 + b"b" * 4096 + b"c"


def test_chunked_body_read_line_by_line(serve):
    def script(s):
        return [s.readline(), s.readline(3), s.readlines(), s.read()]

    server = serve(switch(script))
    with Client(server.port) as c:
        c.send(chunked_request("/read", [b"ab\ncd", b"ef\ngh", b"\n", b"tail"])
               + request("GET", "/after"))
        r = c.read_response()
        assert r.body.decode() == repr([b"ab\n", b"cde", [b"f\n", b"gh\n", b"tail"], b""])
        assert c.read_response().body == b"b''"


# ----------------------------------------------------------------------------------------------
# Expect: 100-continue


def test_100_continue_only_when_the_app_reads(serve):
    entered = threading.Event()
    go = threading.Event()

    def app(environ, start_response):
        entered.set()
        go.wait(TIMEOUT)
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"got " + body]

    server = serve(app)
    try:
        with Client(server.port) as c:
            c.send(request("PUT", "/e", headers=["Expect: 100-continue", "Content-Length: 5"]))
            assert entered.wait(TIMEOUT), "the app was not called before the body was sent"
            assert c.is_open(wait=0.3), "nothing may be sent before the app reads"
            go.set()
            interim = c.read_response()
            assert interim is not None and interim.status == 100, interim and interim.head
            assert interim.body == b""
            c.send(b"12345")
            r = c.read_response()
            assert r.status == 200 and r.body == b"got 12345"
    finally:
        go.set()


def test_no_100_continue_when_the_app_does_not_read(serve):
    server = serve(path_app)
    with Client(server.port) as c:
        c.send(request("PUT", "/skip", headers=["Expect: 100-continue", "Content-Length: 5"]))
        r = c.read_response()
        assert r is not None and r.status == 200, "the first response must be the final one"
        assert r.body == b"/skip"


def test_100_continue_with_chunked_body(serve):
    server = serve(echo_app)
    with Client(server.port) as c:
        c.send(
            request("POST", "/ec", headers=["Expect: 100-continue", "Transfer-Encoding: chunked"])
        )
        interim = c.read_response()
        assert interim is not None and interim.status == 100
        c.send(chunked([b"after ", b"continue"]))
        assert c.read_response().body == b"POST /ec after continue"
