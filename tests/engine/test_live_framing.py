"""Response framing: Content-Length given by the app is kept, computed for a one-item result,
chunked for other results on HTTP/1.1, close-delimited on HTTP/1.0; HEAD, 204 and 304 carry no
body; Date and Server are added unless the app gave its own.
"""

import email.utils
import time

from live_http import SERVER_SOFTWARE, TIMEOUT, Client, get, hello_app, request


def parts_app(environ, start_response):
    """Two items and the app's own Content-Length."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"he", b"llo"]


def generator_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"one,"
    yield b""  # an empty item must not end a chunked body
    yield b"two,"
    yield b"three"


GENERATED = b"one,two,three"


def assert_ok(response, body):
    assert response is not None, "the server closed the connection without a response"
    assert response.status == 200, response.head
    assert response.complete, response.head
    assert response.body == body


# ----------------------------------------------------------------------------------------------
# Content-Length


def assert_framed_by_length(port, body):
    """In HTTP/1.0 and 1.1 alike, ``body`` comes with its Content-Length and is not chunked."""
    for version in ("HTTP/1.0", "HTTP/1.1"):
        r = get(port, version=version)
        assert_ok(r, body)
        assert r.get_all("Content-Length") == [str(len(body))]
        assert not r.has("Transfer-Encoding")


def test_content_length_from_the_app_is_kept(serve):
    assert_framed_by_length(serve(parts_app).port, b"hello")


def test_content_length_computed_for_a_one_item_list(serve):
    assert_framed_by_length(serve(hello_app).port, b"Hello world!\n")


def test_empty_result_gets_content_length_zero(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return []

    server = serve(app)
    r = get(server.port)
    assert_ok(r, b"")
    assert r.get_all("Content-Length") == ["0"]


def test_one_item_result_keeps_the_connection_open_on_http11(serve):
    server = serve(hello_app)
    with Client(server.port) as c:
        c.send(request())
        r = c.read_response()
        assert_ok(r, b"Hello world!\n")
        assert r.framing == "length"
        assert c.is_open(), "a framed HTTP/1.1 response must not close the connection"


# ----------------------------------------------------------------------------------------------
# chunked and close-delimited


def test_generator_is_chunked_on_http11(serve):
    server = serve(generator_app)
    with Client(server.port) as c:
        c.send(request())
        r = c.read_response()
        assert_ok(r, GENERATED)
        assert r.version == "HTTP/1.1"
        assert r.framing == "chunked", r.head
        assert c.is_open()
        c.send(request("GET", "/again"))
        assert_ok(c.read_response(), GENERATED)


def test_write_callable_output_is_chunked_on_http11(serve):
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written,")
        write(b"")
        return [b"returned,", b"twice"]

    server = serve(app)
    with Client(server.port) as c:
        c.send(request() + request())
        for _ in range(2):
            r = c.read_response()
            assert_ok(r, b"written,returned,twice")
            assert r.framing == "chunked"


def test_generator_is_close_delimited_on_http10(serve):
    server = serve(generator_app)
    with Client(server.port) as c:
        c.send(request(version="HTTP/1.0", host=None))
        r = c.read_response()
        assert_ok(r, GENERATED)
        assert r.framing == "close"
        assert "close" in r.connection_tokens(), r.head
        assert c.eof


def test_http10_keep_alive_request_never_gets_chunked(serve):
    server = serve(generator_app)
    with Client(server.port) as c:
        c.send(request(version="HTTP/1.0", headers=["Connection: keep-alive"]))
        r = c.read_response()
        assert_ok(r, GENERATED)
        assert not r.has("Transfer-Encoding")
        if r.framing == "close":
            assert c.eof
        else:
            assert r.framing == "length"


# ----------------------------------------------------------------------------------------------
# no body: HEAD, 204, 304


def test_head_sends_headers_only(serve):
    closed = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        class Result:
            def __iter__(self):
                return iter([b"Hello world!\n"])

            def __len__(self):
                return 1

            def close(self):
                closed.append(environ["REQUEST_METHOD"])

        return Result()

    server = serve(app)
    with Client(server.port) as c:
        c.send(request("HEAD") + request("GET"))
        head = c.read_response(method="HEAD")
        assert head.status == 200
        assert head.get("Content-Length") in (None, "13")
        r = c.read_response()
        assert_ok(r, b"Hello world!\n")
    # close() runs once the response is sent, so it may come just after the client has it.
    deadline = time.monotonic() + TIMEOUT
    while len(closed) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert closed == ["HEAD", "GET"]


def test_head_of_a_generator(serve):
    server = serve(generator_app)
    with Client(server.port) as c:
        c.send(request("HEAD") + request("HEAD", "/2") + request("GET"))
        for _ in range(2):
            r = c.read_response(method="HEAD")
            assert r.status == 200 and r.body == b""
        assert_ok(c.read_response(), GENERATED)


def no_body_app(environ, start_response):
    status = environ["PATH_INFO"].strip("/")
    if status == "204":
        start_response("204 No Content", [])
        return [b"an app that wrongly returns a body for 204"]
    if status == "304":
        start_response("304 Not Modified", [("ETag", '"abc"')])
        return (piece for piece in [b"nor ", b"for 304"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"after"]


def test_204_and_304_carry_no_body(serve):
    server = serve(no_body_app)
    with Client(server.port) as c:
        c.send(request("GET", "/204") + request("GET", "/304") + request("GET", "/200"))
        r204 = c.read_response()
        assert r204.status == 204
        assert not r204.has("Transfer-Encoding")
        assert r204.get("Content-Length") in (None, "0")
        r304 = c.read_response()
        assert r304.status == 304 and r304.get("ETag") == '"abc"'
        assert not r304.has("Transfer-Encoding")
        # Stray body bytes of the first two would show up here.
        assert_ok(c.read_response(), b"after")


# ----------------------------------------------------------------------------------------------
# Date and Server


def test_date_and_server_headers(serve):
    server = serve(hello_app)
    for version in ("HTTP/1.0", "HTTP/1.1"):
        r = get(server.port, version=version)
        assert r.get_all("Server") == [SERVER_SOFTWARE]
        (date,) = r.get_all("Date")
        assert date.endswith(" GMT") and len(date) == 29, date
        sent = email.utils.parsedate_to_datetime(date).timestamp()
        assert abs(sent - time.time()) < 60


def test_app_given_date_and_server_are_kept(serve):
    def app(environ, start_response):
        start_response(
            "200 OK",
            [("Server", "MyServer/1"), ("Date", "Sun, 06 Nov 1994 08:49:37 GMT")],
        )
        return [b"own"]

    server = serve(app)
    for version in ("HTTP/1.0", "HTTP/1.1"):
        r = get(server.port, version=version)
        assert_ok(r, b"own")
        assert r.get_all("Server") == ["MyServer/1"]
        assert r.get_all("Date") == ["Sun, 06 Nov 1994 08:49:37 GMT"]


def test_app_headers_order_and_repeats_are_kept(serve):
    def app(environ, start_response):
        start_response(
            "201 Created",
            [("X-B", "2"), ("Set-Cookie", "a=1"), ("X-A", "1"), ("Set-Cookie", "b=2")],
        )
        return [b"made"]

    server = serve(app)
    r = get(server.port)
    assert (r.status, r.reason) == (201, "Created")
    own = [(n, v) for n, v in r.headers if n in ("X-B", "Set-Cookie", "X-A")]
    assert own == [("X-B", "2"), ("Set-Cookie", "a=1"), ("X-A", "1"), ("Set-Cookie", "b=2")]
