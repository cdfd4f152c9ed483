"""Logging: the access line is the standard library's, byte for byte (apart from the time);
log_message and log_request overrides are honoured (the common ways to silence or redirect
wsgiref), and address_string overrides show in the line.
"""

import re
import time
import wsgiref.simple_server as std

import pytest
from live_http import Client, get, request
from serving import start_server

import wsgiref_rs.simple_server as ours

LINE = re.compile(r"^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\] (.*)$")
STAMP = re.compile(r"\[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\]")


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/gen":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (piece for piece in [b"Hello ", b"world!", b"\n"])
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"nope"]
    if path == "/error":
        raise ValueError("logged")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello world!\n"]


REQUESTS = [
    ("GET", "/", "HTTP/1.1"),
    ("GET", "/?a=1&b", "HTTP/1.0"),
    ("POST", "/gen", "HTTP/1.1"),
    ("GET", "/missing", "HTTP/1.1"),
]  # no HEAD: the stdlib sends (and counts) a body for it, HTTP/1.1 servers do not


def access_lines(text):
    return [line for line in text.splitlines() if LINE.match(line)]


def wait_lines(capfd, count, timeout=5.0):
    text = ""
    deadline = time.monotonic() + timeout
    while len(access_lines(text)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
        text += capfd.readouterr().err
    return text


def test_access_line_is_the_stdlibs(serve, capfd):
    server = serve(app)
    r = get(server.port, "/")
    assert r.status == 200
    (line,) = access_lines(wait_lines(capfd, 1))
    assert LINE.match(line).group(1) == '"GET / HTTP/1.1" 200 13'


def test_access_lines_match_the_stdlib_server(capfd):
    logs = {}
    for mod in (std, ours):
        running = start_server(app, module=mod)
        try:
            for method, target, version in REQUESTS:
                r = get(running.port, target, method=method, version=version)
                assert r is not None and r.status in (200, 404)
            text = wait_lines(capfd, len(REQUESTS))
        finally:
            running.stop()
        logs[mod.__name__] = [STAMP.sub("[time]", line) for line in access_lines(text)]
    assert logs["wsgiref_rs.simple_server"] == logs["wsgiref.simple_server"]
    assert logs["wsgiref.simple_server"][2] == '127.0.0.1 - - [time] "POST /gen HTTP/1.1" 200 13'


def test_access_line_of_the_500_page(serve, capfd):
    server = serve(app)
    assert get(server.port, "/error").status == 500
    text = wait_lines(capfd, 1)
    assert LINE.match(access_lines(text)[0]).group(1) == '"GET /error HTTP/1.1" 500 59'
    assert "ValueError: logged" in text


def test_keep_alive_requests_each_logged(serve, capfd):
    server = serve(app)
    with Client(server.port) as c:
        c.send(request("GET", "/") + request("GET", "/gen") + request("GET", "/missing"))
        for _ in range(3):
            assert c.read_response() is not None
    lines = [LINE.match(x).group(1) for x in access_lines(wait_lines(capfd, 3))]
    assert lines == [
        '"GET / HTTP/1.1" 200 13',
        '"GET /gen HTTP/1.1" 200 13',
        '"GET /missing HTTP/1.1" 404 4',
    ]


def test_log_message_override_silences_and_still_serves(serve, capfd):
    class Silent(ours.WSGIRequestHandler):
        def log_message(self, format, *args):
            pass

    server = serve(app, handler_class=Silent)
    assert get(server.port, "/").body == b"Hello world!\n"
    assert get(server.port, "/gen", method="POST", body=b"x").body == b"Hello world!\n"
    assert get(server.port, "/missing", version="HTTP/1.0").status == 404
    time.sleep(0.2)
    assert capfd.readouterr().err == ""


def test_log_message_override_gets_the_stdlib_arguments(capfd):
    seen = {}
    for mod in (std, ours):
        messages = []

        class Recording(mod.WSGIRequestHandler):
            def log_message(self, format, *args, messages=messages):
                messages.append((format, args, self.address_string()))

        running = start_server(app, module=mod, handler_class=Recording)
        try:
            for method, target, version in REQUESTS:
                get(running.port, target, method=method, version=version)
            deadline = time.monotonic() + 5
            while len(messages) < len(REQUESTS) and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            running.stop()
        seen[mod.__name__] = messages
    assert seen["wsgiref_rs.simple_server"] == seen["wsgiref.simple_server"]
    assert seen["wsgiref.simple_server"][0] == (
        '"%s" %s %s',
        ("GET / HTTP/1.1", "200", "13"),
        "127.0.0.1",
    )
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("quiet", [True, False])
def test_log_request_and_address_string_overrides(serve, capfd, quiet):
    """Bottle's wsgiref adapter: its own address_string, and log_request silenced when quiet."""

    class FixedHandler(ours.WSGIRequestHandler):
        def address_string(self):
            return "client.example"

        def log_request(*args, **kw):
            if not quiet:
                return ours.WSGIRequestHandler.log_request(*args, **kw)

    server = serve(app, handler_class=FixedHandler)
    assert get(server.port, "/").status == 200
    assert get(server.port, "/gen").status == 200
    time.sleep(0.2)
    deadline = time.monotonic() + 5
    text = capfd.readouterr().err
    while not quiet and text.count("\n") < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
        text += capfd.readouterr().err
    if quiet:
        assert text == ""
    else:
        lines = [STAMP.sub("[time]", line) for line in text.splitlines()]
        assert lines == [
            'client.example - - [time] "GET / HTTP/1.1" 200 13',
            'client.example - - [time] "GET /gen HTTP/1.1" 200 13',
        ]
