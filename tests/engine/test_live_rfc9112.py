"""What RFC 9110/9112 require of a server where the standard library's server does not comply:
the Host field (400 without the app for a missing, repeated or invalid one), absolute-form
targets (the path and query from the target, its authority as the host), a Content-Length list
of identical values (the app gets one number), and a chunked body over ``limit_request_body``
(413, as for a Content-Length body). Each case first shows what the standard library does, so
the difference stays deliberate.
"""

import threading
import wsgiref.simple_server as std

import pytest
from live_http import (
    TIMEOUT,
    Client,
    Recorder,
    chunked_request,
    path_app,
    refused,
    request,
)
from serving import start_server

import wsgiref_rs.simple_server as ours


def answer(serve, raw, app=None, server_class=None):
    """The response to ``raw`` on a new connection, and the environs the app saw."""
    recorder = Recorder(app or path_app)
    running = serve(recorder, server_class=server_class)
    with Client(running.port) as c:
        c.send(raw)
        r = c.read_response()
        assert r is not None, "no response"
    return r, recorder.environs


def stdlib_status(raw):
    running = start_server(path_app, module=std)
    try:
        with Client(running.port) as c:
            c.send(raw)
            return c.read_response().status
    finally:
        running.stop()


BAD_HOSTS = {
    "missing-in-1.1": b"GET / HTTP/1.1\r\n\r\n",
    "missing-with-absolute-form": b"GET http://example.test/ HTTP/1.1\r\n\r\n",
    "missing-options-asterisk": b"OPTIONS * HTTP/1.1\r\n\r\n",
    "two-lines": b"GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
    "two-lines-same": b"GET / HTTP/1.1\r\nHost: a.test\r\nhost: a.test\r\n\r\n",
    "two-lines-in-1.0": b"GET / HTTP/1.0\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
    "space": b"GET / HTTP/1.1\r\nHost: a test\r\n\r\n",
    "path": b"GET / HTTP/1.1\r\nHost: a.test/evil\r\n\r\n",
    "userinfo": b"GET / HTTP/1.1\r\nHost: user@a.test\r\n\r\n",
    "bad-port": b"GET / HTTP/1.1\r\nHost: a.test:http\r\n\r\n",
    "unclosed-ipv6": b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
    "invalid-in-1.0": b"GET / HTTP/1.0\r\nHost: a test\r\n\r\n",
    "absolute-form-userinfo": b"GET http://u:p@a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n",
    "absolute-form-empty-host": b"GET http:///x HTTP/1.1\r\nHost: a.test\r\n\r\n",
}


@pytest.mark.parametrize("raw", BAD_HOSTS.values(), ids=BAD_HOSTS.keys())
def test_host_errors_are_400_and_close_without_the_app(serve, raw):
    refused(serve, raw, 400)


def test_the_standard_library_accepts_what_rfc_9112_refuses():
    for name in ("missing-in-1.1", "two-lines", "space"):
        assert stdlib_status(BAD_HOSTS[name]) == 200, name


GOOD_HOSTS = {
    "name": ("a.test", "a.test"),
    "name-port": ("a.test:8080", "a.test:8080"),
    "ipv4": ("127.0.0.1:80", "127.0.0.1:80"),
    "ipv6": ("[::1]:8000", "[::1]:8000"),
    "empty": ("", ""),
}


@pytest.mark.parametrize("value, environ_value", GOOD_HOSTS.values(), ids=GOOD_HOSTS.keys())
def test_valid_hosts_reach_the_app(serve, value, environ_value):
    raw = b"GET /h HTTP/1.1\r\nHost: " + value.encode() + b"\r\nConnection: close\r\n\r\n"
    r, environs = answer(serve, raw)
    assert r.status == 200 and r.body == b"/h"
    assert environs[0]["HTTP_HOST"] == environ_value


def test_http_1_0_without_host_is_served(serve):
    r, environs = answer(serve, b"GET /old HTTP/1.0\r\n\r\n")
    assert r.status == 200 and "HTTP_HOST" not in environs[0]


ABSOLUTE = {
    "path-and-query": (b"http://example.test/abs/p?q=1", "example.test", "/abs/p", "q=1"),
    "https-port": (b"HTTPS://Example.TEST:8443/a%20b", "Example.TEST:8443", "/a b", ""),
    "no-path": (b"http://example.test", "example.test", "/", ""),
    "query-only": (b"http://example.test?x=1", "example.test", "/", "x=1"),
    "ipv6": (b"http://[::1]:8000/six", "[::1]:8000", "/six", ""),
}


@pytest.mark.parametrize("target, host, path, query", ABSOLUTE.values(), ids=ABSOLUTE.keys())
def test_absolute_form_takes_path_query_and_host_from_the_target(serve, target, host, path, query):
    raw = b"GET " + target + b" HTTP/1.1\r\nHost: ignored.test\r\nConnection: close\r\n\r\n"
    r, environs = answer(serve, raw)
    assert r.status == 200, r.head
    env = environs[0]
    assert (env["HTTP_HOST"], env["PATH_INFO"], env["QUERY_STRING"]) == (host, path, query)


def test_absolute_form_in_http_1_0_without_host(serve):
    r, environs = answer(serve, b"GET http://example.test/p?q HTTP/1.0\r\n\r\n")
    assert r.status == 200
    env = environs[0]
    assert (env["HTTP_HOST"], env["PATH_INFO"], env["QUERY_STRING"]) == ("example.test", "/p", "q")


def test_the_standard_library_keeps_the_whole_url_as_path_info():
    seen = []

    def app(environ, start_response):
        seen.append(environ["PATH_INFO"])
        return path_app(environ, start_response)

    running = start_server(app, module=std)
    try:
        with Client(running.port) as c:
            c.send(b"GET http://example.test/abs/p?q=1 HTTP/1.1\r\nHost: h\r\n\r\n")
            assert c.read_response().status == 200
    finally:
        running.stop()
    assert seen == ["http://example.test/abs/p"]


def echo_length(environ, start_response):
    length = environ.get("CONTENT_LENGTH", "")
    body = environ["wsgi.input"].read(int(length)) if length.isdigit() else b"<unreadable>"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [length.encode() + b":" + body]


@pytest.mark.parametrize("fields", [
    ["Content-Length: 5, 5"], ["Content-Length: 5,5,5"], ["Content-Length: 5", "Content-Length: 5"],
])
def test_a_content_length_list_of_one_value_gives_the_app_that_value(serve, fields):
    raw = request("POST", "/", headers=fields + ["Connection: close"], body=b"hello")
    r, environs = answer(serve, raw, app=echo_length)
    assert r.status == 200
    assert r.body == b"5:hello"
    assert environs[0]["CONTENT_LENGTH"] == "5"


class LimitedServer(ours.WSGIServer):
    limit_request_body = 10


def echo_all(environ, start_response):
    """Reads the whole body however it is framed, and answers with its size."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = stream.read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d" % len(body)]


BODIES = {
    "content-length": request("POST", "/", body=b"x" * 11),
    "chunked": chunked_request("/", [b"x" * 11]),
    "chunked-in-pieces": chunked_request("/", [b"x" * 6, b"x" * 5]),
}


@pytest.mark.parametrize("raw", BODIES.values(), ids=BODIES.keys())
def test_a_body_over_the_limit_is_413_however_it_is_framed(serve, raw):
    # The body arrives whole: refused before the app.
    refused(serve, raw, 413, server_class=LimitedServer)


def test_a_chunked_body_that_passes_the_limit_while_the_app_reads_is_413(serve):
    reading = threading.Event()

    def app(environ, start_response):
        reading.set()
        return echo_all(environ, start_response)

    running = serve(app, server_class=LimitedServer)
    with Client(running.port) as c:
        c.send(request("POST", "/", headers=["Transfer-Encoding: chunked"]) + b"6\r\nxxxxxx\r\n")
        assert reading.wait(TIMEOUT)
        c.send(b"6\r\nxxxxxx\r\n0\r\n\r\n")
        r = c.read_response()
        assert r.status == 413, r.head
        assert c.wait_closed() == "eof"


def test_a_chunked_body_within_the_limit_is_served(serve):
    raw = chunked_request("/", [b"x" * 5, b"y" * 5])
    r, _ = answer(serve, raw, app=echo_all, server_class=LimitedServer)
    assert r.status == 200 and r.body == b"10"
