"""The environ on a live server: the standard library's values (explicit cases here; the
differential test compares everything), and the one deliberate difference: request header names
containing "_" are dropped by default, and ``WSGIRequestHandler.allow_underscore_headers = True``
(a class attribute; the name this suite assumes for the documented setting) restores the standard
library's behaviour.
"""

import socket
import sys

from live_http import Client, Recorder, get, request

import wsgiref_rs.simple_server as ours


def one_environ(serve, raw, handler_class=None, count=1):
    recorder = Recorder()
    kwargs = {"handler_class": handler_class} if handler_class else {}
    server = serve(recorder, **kwargs)
    with Client(server.port) as c:
        c.send(raw)
        for _ in range(count):
            r = c.read_response()
            assert r is not None and r.status == 200
    return server, recorder.environs[0]


def test_environ_values(serve):
    raw = request(
        "POST",
        "/caf%C3%A9/%2Fx;p?q=%41&r=a+b",
        headers=[
            "X-Rep: one",
            "X-Rep:  two ",
            "Content-Type: text/x-test",
            "Cookie: a=1",
            "Connection: close",
        ],
        body=b"abc",
        host="example.test:8080",
    )
    server, env = one_environ(serve, raw)
    assert env["REQUEST_METHOD"] == "POST"
    assert env["PATH_INFO"] == "/caf\u00c3\u00a9//x;p"  # percent-decoded as latin-1
    assert env["QUERY_STRING"] == "q=%41&r=a+b"  # raw
    assert env["SCRIPT_NAME"] == ""
    assert env["HTTP_X_REP"] == "one,two"
    assert env["CONTENT_TYPE"] == "text/x-test" and env["CONTENT_LENGTH"] == "3"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert env["HTTP_HOST"] == "example.test:8080" and env["HTTP_COOKIE"] == "a=1"
    assert env["SERVER_PORT"] == str(server.port)
    assert env["SERVER_NAME"] == socket.getfqdn("127.0.0.1")
    assert env["SERVER_SOFTWARE"] == "WSGIServer/0.2"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["REMOTE_HOST"] == ""
    assert env["wsgi.version"] == (1, 0) and env["wsgi.url_scheme"] == "http"
    assert env["wsgi.file_wrapper"].__name__ == "FileWrapper"


def test_environ_without_body_headers(serve):
    _, env = one_environ(serve, request("GET", "/", version="HTTP/1.0", host=None))
    assert env["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert env["CONTENT_TYPE"] == "text/plain"  # the stdlib's default
    assert env["CONTENT_LENGTH"] == ""
    assert "HTTP_HOST" not in env


def test_each_request_gets_a_fresh_environ(serve):
    recorder = Recorder()
    server = serve(recorder)
    for path in ("/a", "/b"):
        assert get(server.port, path, headers=[("X-Only-" + path[1], "1")]).status == 200
    first, second = recorder.environs
    assert "HTTP_X_ONLY_A" in first and "HTTP_X_ONLY_A" not in second
    assert "HTTP_X_ONLY_B" in second and "HTTP_X_ONLY_B" not in first


UNDERSCORE = request(
    "GET", "/u", headers=["X_Under: sneaky", "X-Dash: ok", "X-Mixed_Name: m", "Connection: close"]
)


def test_header_names_with_underscore_are_dropped_by_default(serve):
    _, env = one_environ(serve, UNDERSCORE)
    assert env["HTTP_X_DASH"] == "ok"
    assert "HTTP_X_UNDER" not in env
    assert "HTTP_X_MIXED_NAME" not in env


def test_underscore_cannot_spoof_a_dashed_header(serve):
    raw = request("GET", "/s", headers=["X-Forwarded-For: 1.2.3.4", "X_Forwarded_For: 6.6.6.6"])
    _, env = one_environ(serve, raw)
    assert env["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"


def test_allow_underscore_headers_restores_the_stdlib_behaviour(serve):
    class Permissive(ours.WSGIRequestHandler):
        allow_underscore_headers = True  # TODO(engine): the documented setting's name

    _, env = one_environ(serve, UNDERSCORE, handler_class=Permissive)
    assert env["HTTP_X_UNDER"] == "sneaky"
    assert env["HTTP_X_MIXED_NAME"] == "m"
    assert env["HTTP_X_DASH"] == "ok"


def test_remote_host_from_an_overridden_address_string_follows_the_running_version(serve):
    """Before Python 3.13, WSGIRequestHandler.get_environ() sets REMOTE_HOST from an
    address_string() that differs from the address (Bottle's adapter overrides it); 3.13 no
    longer asks. The engine does as the running version does."""

    class Named(ours.WSGIRequestHandler):
        def address_string(self):
            return "client.example"

        def log_message(self, format, *args):
            pass

    _, env = one_environ(serve, request("GET", "/", headers=["Connection: close"]), Named)
    expected = "client.example" if sys.version_info < (3, 13) else ""
    assert env["REMOTE_HOST"] == expected
