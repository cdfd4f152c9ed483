"""wsgiref_rs.simple_server against the standard library's wsgiref.simple_server.

Differential tests: the same raw HTTP requests go to a server built from each module (live sockets
on 127.0.0.1, or in-memory streams for the cases a socket would cut short), and the status line,
headers (without Date), body, access-log line and the environ the application saw must be the
same. Then the API surface, the subclassing patterns of Django's runserver and Bottle's wsgiref
adapter, the 414 limit, and ``python -m wsgiref_rs.simple_server``.
"""

import contextlib
import inspect
import io
import os
import re
import socket
import socketserver
import subprocess
import sys
import textwrap
import threading
import time
import wsgiref.simple_server as std
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from examples import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving import TIMEOUT, start_server
from tracebacks import without_library_frames

import wsgiref_rs.handlers
import wsgiref_rs.simple_server as ours

MODULES = pytest.mark.parametrize("mod", [std, ours], ids=["stdlib", "ours"])
DIFF_SETTINGS = settings(
    max_examples=examples(10_000),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


# --------------------------------------------------------------------------------------------
# Helpers


def normalize_environ(environ, port=None):
    """The environ as a comparable list of (key, value), in the dict's own order."""
    items = []
    for key, value in environ.items():
        if key in ("wsgi.input", "wsgi.errors"):
            value = type(value).__name__
        elif key == "wsgi.file_wrapper":
            value = getattr(value, "__name__", repr(value))
        elif key == "SERVER_PORT" and port is not None and value == str(port):
            value = "<port>"
        items.append((key, value))
    return items


def split_response(raw):
    """(head lines without Date, body) of a raw HTTP response; (None, raw) without a head."""
    if not raw.startswith(b"HTTP/"):
        return None, raw
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, raw[:200]
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:")]
    return lines, body


LOG_STAMP = re.compile(r"\[[^\]]*\d\d:\d\d:\d\d\]")


def normalize_log(text):
    return without_library_frames(LOG_STAMP.sub("[<time>]", text))


def recording_app(seen):
    """An app that records its environ and echoes the path, query and body."""

    def app(environ, start_response):
        length = environ.get("CONTENT_LENGTH")
        body = environ["wsgi.input"].read(int(length)) if length else b""
        seen.append(dict(environ))
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Seen", "yes")])
        return [
            b"path="
            + environ["PATH_INFO"].encode("latin-1")
            + b"\nquery="
            + environ["QUERY_STRING"].encode("latin-1")
            + b"\nbody="
            + body
        ]

    return app


def live_server(mod, app, server_class=None, handler_class=None):
    """``start_server`` for ``mod``'s server: ``with`` it for the server, serving in a thread."""
    # These tests hold the standard library's own design (HTTP/1.0, one request a connection) to
    # the stdlib byte for byte; the native engine is tested in tests/engine/.
    return start_server(app, server_class, handler_class, module=mod, native_engine=False)


def exchange(port, raw):
    """Send ``raw`` on a new connection, half-close, and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


_MOCK_CLASSES = {}


def mock_classes(mod):
    """Socket-less server and handler classes, as CPython's own test_wsgiref builds them."""
    if mod not in _MOCK_CLASSES:

        class MockServer(mod.WSGIServer):
            def __init__(self, server_address, handler_class):
                socketserver.BaseServer.__init__(self, server_address, handler_class)
                self.server_bind()

            def server_bind(self):
                self.server_name, self.server_port = self.server_address
                self.setup_environ()

        class MockHandler(mod.WSGIRequestHandler):
            def setup(self):
                self.connection = self.request
                self.rfile, self.wfile = self.connection

            def finish(self):
                pass

        _MOCK_CLASSES[mod] = (MockServer, MockHandler)
    return _MOCK_CLASSES[mod]


def run_mock(mod, app, raw, client=("127.0.0.1", 8888)):
    """Serve one request from bytes; return (response bytes, stderr text)."""
    server_class, handler_class = mock_classes(mod)
    server = mod.make_server("", 80, app, server_class, handler_class)
    out = io.BytesIO()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        server.finish_request((io.BufferedReader(io.BytesIO(raw)), out), client)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def same_os_environ(monkeypatch):
    """Both ServerHandlers start from the same, known os_environ (it is read at import time)."""
    for mod in (std, ours):
        monkeypatch.setattr(mod.ServerHandler, "os_environ", {"OS_MARK": "1", "PATH_INFO": "/os"})


# --------------------------------------------------------------------------------------------
# API surface


def test_all_and_module_constants_match_the_stdlib():
    assert ours.__all__ == std.__all__
    assert ours.__version__ == std.__version__
    assert ours.server_version == std.server_version
    assert ours.sys_version == std.sys_version
    assert ours.software_version == std.software_version
    for name in ("ServerHandler", "WSGIServer", "WSGIRequestHandler", "demo_app", "make_server"):
        assert hasattr(ours, name), name


def test_classes_have_the_stdlib_bases_and_attributes():
    assert issubclass(ours.WSGIServer, HTTPServer)
    assert issubclass(ours.WSGIRequestHandler, BaseHTTPRequestHandler)
    assert issubclass(ours.ServerHandler, wsgiref_rs.handlers.SimpleHandler)
    assert ours.WSGIServer.application is None
    assert ours.WSGIRequestHandler.server_version == std.WSGIRequestHandler.server_version
    assert ours.ServerHandler.server_software == std.ServerHandler.server_software
    for cls_name in ("WSGIServer", "WSGIRequestHandler", "ServerHandler"):
        std_cls, our_cls = getattr(std, cls_name), getattr(ours, cls_name)
        own = {k for k in vars(std_cls) if not k.startswith("__")}
        assert own <= set(dir(our_cls)), (cls_name, own - set(dir(our_cls)))
        for name in own:
            attr = getattr(std_cls, name)
            if callable(attr):
                assert str(inspect.signature(getattr(our_cls, name))) == str(
                    inspect.signature(attr)
                ), (cls_name, name)
    assert str(inspect.signature(ours.make_server)).replace("wsgiref_rs.", "wsgiref.") == str(
        inspect.signature(std.make_server)
    )
    assert str(inspect.signature(ours.demo_app)) == str(inspect.signature(std.demo_app))


@MODULES
def test_set_app_get_app_and_base_environ(mod):
    def app(environ, start_response):
        return []

    server = mod.make_server("127.0.0.1", 0, app)
    try:
        assert server.get_app() is app
        assert server.application is app
        server.set_app(None)
        assert server.get_app() is None
        port = server.server_port
        assert list(server.base_environ.items()) == [
            ("SERVER_NAME", server.server_name),
            ("GATEWAY_INTERFACE", "CGI/1.1"),
            ("SERVER_PORT", str(port)),
            ("REMOTE_HOST", ""),
            ("CONTENT_LENGTH", ""),
            ("SCRIPT_NAME", ""),
        ]
    finally:
        server.server_close()


def test_base_environ_is_the_stdlibs():
    app = recording_app([])
    with contextlib.ExitStack() as stack:
        servers = []
        for mod in (std, ours):
            server = mod.make_server("127.0.0.1", 0, app)
            stack.callback(server.server_close)
            servers.append(server)
        a, b = (normalize_environ(s.base_environ, s.server_port) for s in servers)
        assert a == b


@MODULES
def test_get_stderr_is_sys_stderr_at_call_time(mod):
    handler = mod.WSGIRequestHandler.__new__(mod.WSGIRequestHandler)
    fake = io.StringIO()
    with contextlib.redirect_stderr(fake):
        assert handler.get_stderr() is fake
    assert handler.get_stderr() is sys.stderr


def test_server_handler_close_logs_then_closes():
    class Recorder:
        def __init__(self, fail=False):
            self.calls = []
            self.fail = fail

        def log_request(self, code="-", size="-"):
            self.calls.append((code, size))
            if self.fail:
                raise RuntimeError("log failed")

    for fail in (False, True):
        results = []
        for mod in (std, ours):
            handler = mod.ServerHandler(io.BytesIO(), io.BytesIO(), io.StringIO(), {})
            handler.request_handler = recorder = Recorder(fail)
            handler.status = "404 Not Found"
            handler.bytes_sent = 17
            closed = []

            class Result:
                def close(self, closed=closed):
                    closed.append(1)

            handler.result = Result()
            outcome = None
            try:
                handler.close()
            except RuntimeError as exc:
                outcome = str(exc)
            results.append((recorder.calls, outcome, closed, handler.status, handler.bytes_sent))
        assert results[0] == results[1]
        assert results[1][0] == [("404", 17)]
        assert results[1][3] is None  # SimpleHandler.close() ran even when logging failed


# --------------------------------------------------------------------------------------------
# demo_app


def call_demo(mod, environ):
    calls = []

    def start_response(status, headers, exc_info=None):
        calls.append((status, headers, exc_info))

    try:
        body = mod.demo_app(environ, start_response)
    except Exception as exc:  # noqa: BLE001 (the exception is the result)
        return ("raise", type(exc).__name__, str(exc), calls)
    return ("ok", body, calls)


def test_demo_app_examples():
    class Odd:
        def __repr__(self):
            return "<odd \u00e9\udcff>"

    for environ in (
        {},
        {"b": "2", "a": "1", "PATH_INFO": "/x\u00e9"},
        {"k": Odd(), "z": b"\xff", "n": None, "t": (1, 2)},
        {"\u00e9": "\U0001f600", "x\ny": "a\rb"},
        {"a": 1, 2: "b"},  # unsortable keys: TypeError before start_response
    ):
        assert call_demo(ours, dict(environ)) == call_demo(std, dict(environ))
    _, body, calls = call_demo(ours, {"b": "2", "a": "1"})
    assert body == [b"Hello world!\n\na = '1'\nb = '2'\n"]
    assert calls == [("200 OK", [("Content-Type", "text/plain; charset=utf-8")], None)]


@DIFF_SETTINGS
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.text(max_size=8), st.integers(), st.binary(max_size=4), st.none()),
        max_size=6,
    )
)
def test_demo_app_matches_stdlib(environ):
    assert call_demo(ours, dict(environ)) == call_demo(std, dict(environ))


# --------------------------------------------------------------------------------------------
# Live differential: the same raw requests to both servers

LONG_OK_PATH = b"/" + b"p" * (65536 - len(b"GET / HTTP/1.0\r\n"))

LIVE_REQUESTS = {
    "plain-1.0": b"GET / HTTP/1.0\r\n\r\n",
    "host-1.1": b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "query": b"GET /search?q=a+b&x=%20y HTTP/1.0\r\n\r\n",
    "percent-path": b"GET /p%61th/%2F/%25/%80%e9/caf\xe9+x HTTP/1.0\r\n\r\n",
    "two-question-marks": b"GET /a?b?c HTTP/1.0\r\n\r\n",
    "empty-query": b"GET /a? HTTP/1.0\r\n\r\n",
    "double-slash": b"GET //a//b HTTP/1.0\r\n\r\n",
    "absolute-uri": b"GET http://example.com/x?y=1 HTTP/1.1\r\nHost: e\r\n\r\n",
    "repeated-headers": (
        b"GET / HTTP/1.0\r\nX-Test: Python test \r\nX-Test: Python test 2\r\n"
        b"x_test: under\r\nX-TEST:\r\n\r\n"
    ),
    "shadowing-headers": (
        b"GET / HTTP/1.0\r\nServer-Name: evil\r\nRemote-Addr: 1.2.3.4\r\nPath-Info: /evil\r\n"
        b"Query-String: q\r\nRequest-Method: PUT\r\nScript-Name: /s\r\nRemote-Host: h\r\n"
        b"Content-Type: text/a\r\nContent-Type: text/b\r\nContent_Type: c\r\n"
        b"Http-Host: hh\r\nHost: realhost\r\n\r\n"
    ),
    "latin1-header-bytes": (
        b"GET / HTTP/1.0\r\nX-Val: caf\xe9 \xff\r\n"
        b"X-\xe9t\xe9: caf\xe9\r\nX-Stra\xdfe: \xff\r\n\r\n"
    ),
    "folded-header": b"GET / HTTP/1.0\r\nX-Fold: a\r\n  b\r\n\tc\r\nX-After: z\r\n\r\n",
    "post-body": (
        b"POST /form HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 7\r\n\r\na=1&b=2"
    ),
    "post-no-type": b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    "content-length-empty": b"GET / HTTP/1.0\r\nContent-Length:\r\n\r\n",
    "head": b"HEAD /h HTTP/1.0\r\n\r\n",
    "odd-method": b"BREW /pot HTTP/1.0\r\n\r\n",
    "keep-alive-1.1": b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n",
    "expect-continue": (
        b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok"
    ),
    "http-0.9": b"GET /zero\r\n",
    "bad-request-line": b"NOT A VALID REQUEST LINE AT ALL\r\n\r\n",
    "bad-version": b"GET / HTTP/1.x\r\n\r\n",
    "unsupported-version": b"GET / HTTP/2.0\r\n\r\n",
    "0.9-post": b"POST /zero\r\n",
    "longest-allowed-request-line": b"GET " + LONG_OK_PATH + b" HTTP/1.0\r\n\r\n",
    # Exactly 65537 bytes and nothing else: the server reads them all before answering 414.
    "request-line-too-long": b"GET /" + b"x" * (65537 - 5),
}


def live_outcome(mod, raw, app_factory=recording_app):
    seen = []
    with live_server(mod, app_factory(seen)) as server:
        response = exchange(server.server_port, raw)
        port = server.server_port
    return split_response(response), [normalize_environ(env, port) for env in seen]


@pytest.mark.parametrize("raw", list(LIVE_REQUESTS.values()), ids=list(LIVE_REQUESTS))
def test_live_requests_match_stdlib(raw, same_os_environ, capsys):
    expected = live_outcome(std, raw)
    std_log = normalize_log(capsys.readouterr().err)
    got = live_outcome(ours, raw)
    our_log = normalize_log(capsys.readouterr().err)
    assert got == expected
    assert our_log == std_log
    assert our_log.startswith("127.0.0.1 - - [<time>] ")


def test_live_environ_details(same_os_environ, capsys):
    """Spot checks that would fail if both sides were wrong in the same direction."""
    (head, body), envs = live_outcome(ours, LIVE_REQUESTS["repeated-headers"])
    env = dict(envs[0])
    assert env["HTTP_X_TEST"] == "Python test,Python test 2,under,"
    assert env["OS_MARK"] == "1"
    assert env["PATH_INFO"] == "/"  # the request's value wins over os_environ's
    assert env["SERVER_SOFTWARE"] == "WSGIServer/0.2"
    assert env["REMOTE_HOST"] == "" and env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["CONTENT_TYPE"] == "text/plain" and env["CONTENT_LENGTH"] == ""
    assert head[0] == b"HTTP/1.0 200 OK"
    assert b"Server: " + ours.software_version.encode() in head

    (_, body), envs = live_outcome(ours, LIVE_REQUESTS["percent-path"])
    assert dict(envs[0])["PATH_INFO"] == "/path///%/\x80\xe9/caf\xe9+x"

    (_, _), envs = live_outcome(ours, LIVE_REQUESTS["shadowing-headers"])
    env = dict(envs[0])
    assert env["SERVER_NAME"] != "evil" and env["REQUEST_METHOD"] == "GET"
    assert env["CONTENT_TYPE"] == "text/a" and env["HTTP_HOST"] == "realhost"
    assert env["HTTP_HTTP_HOST"] == "hh" and "HTTP_SERVER_NAME" not in env

    (_, _), envs = live_outcome(ours, LIVE_REQUESTS["latin1-header-bytes"])
    env = dict(envs[0])
    # Latin-1 values arrive as latin-1 text; a non-ASCII header *name* ends the header block
    # for http.client's parser, so nothing from that line on becomes a variable.
    assert env["HTTP_X_VAL"] == "caf\xe9 \xff"
    assert not [k for k in env if k.startswith("HTTP_X_") and k != "HTTP_X_VAL"]

    (_, _), envs = live_outcome(ours, LIVE_REQUESTS["folded-header"])
    env = dict(envs[0])
    assert env["HTTP_X_FOLD"] == "a\r\n  b\r\n\tc" and env["HTTP_X_AFTER"] == "z"

    (head, body), envs = live_outcome(ours, LIVE_REQUESTS["http-0.9"])
    assert head is None and body.startswith(b"path=/zero")
    capsys.readouterr()


def error_app(seen):
    def app(environ, start_response):
        seen.append(dict(environ))
        raise ValueError("boom")

    return app


def write_app(seen):
    def app(environ, start_response):
        seen.append(dict(environ))
        write = start_response("201 Created", [("Content-Type", "text/plain")])
        write(b"written ")
        return iter([b"then ", b"", b"yielded"])

    return app


def no_content_app(seen):
    def app(environ, start_response):
        seen.append(dict(environ))
        start_response("204 No Content", [])
        return []

    return app


def closing_app(seen):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])

        def body():
            try:
                yield b"abc"
            finally:
                seen.append("closed")

        return body()

    return app


def late_error_app(seen):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial"
        raise RuntimeError("after output")

    return app


def validated_app(seen):
    from wsgiref_rs.validate import validator

    return validator(recording_app(seen))


APPS = {
    "error": error_app,
    "write": write_app,
    "no-content": no_content_app,
    "closing": closing_app,
    "late-error": late_error_app,
    "validated": validated_app,
}


@pytest.mark.parametrize("factory", list(APPS.values()), ids=list(APPS))
@pytest.mark.parametrize(
    "raw", [b"GET /a?b HTTP/1.0\r\n\r\n", b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"]
)
def test_live_apps_match_stdlib(factory, raw, same_os_environ, capsys):
    results = []
    for mod in (std, ours):
        seen = []
        with live_server(mod, factory(seen)) as server:
            response = exchange(server.server_port, raw)
            port = server.server_port
        log = capsys.readouterr().err
        # Tracebacks name files; keep the exception lines and the access log.
        log_lines = [
            normalize_log(line)
            for line in log.splitlines()
            if line.startswith("127.0.0.1") or re.match(r"^\w+Error", line)
        ]
        results.append(
            (
                split_response(response),
                [normalize_environ(e, port) if isinstance(e, dict) else e for e in seen],
                log_lines,
            )
        )
    assert results[1] == results[0]


# --------------------------------------------------------------------------------------------
# In-memory differential (cases that a socket would cut short, and generated requests)

MOCK_REQUESTS = {
    "stdlib-414": b"GET " + b"x" * 65537 + b" HTTP/1.0\n\n",
    "exactly-65536": b"GET /" + b"y" * (65536 - len(b"GET / HTTP/1.0\n")) + b" HTTP/1.0\n\n",
    "exactly-65537": b"GET /" + b"y" * (65537 - len(b"GET / HTTP/1.0\n")) + b" HTTP/1.0\n\n",
    "header-line-too-long": b"GET / HTTP/1.0\r\nX-Long: " + b"z" * 65537 + b"\r\n\r\n",
    "too-many-headers": b"GET / HTTP/1.0\r\n" + b"X-H: 1\r\n" * 101 + b"\r\n",
    "bare-lf": b"GET /p%61th/?query=test HTTP/1.0\nX-Test-Header: Python test \n\n",
    "no-blank-line": b"GET / HTTP/1.0\r\nX-A: 1\r\n",
    "empty": b"",
    "cp1252": b"GET /\x80%80 HTTP/1.0",
}


def mock_outcome(mod, raw, client=("127.0.0.1", 8888)):
    seen = []
    out, err = run_mock(mod, recording_app(seen), raw, client)
    return split_response(out), [normalize_environ(e) for e in seen], normalize_log(err)


@pytest.mark.parametrize("raw", list(MOCK_REQUESTS.values()), ids=list(MOCK_REQUESTS))
def test_mock_requests_match_stdlib(raw, same_os_environ):
    assert mock_outcome(ours, raw) == mock_outcome(std, raw)


def test_414_exactly_like_the_stdlib(same_os_environ):
    # The running version's phrase: "Request-URI Too Long" before 3.13, "URI Too Long" since.
    phrase = BaseHTTPRequestHandler.responses[414][0]
    assert phrase == ("URI Too Long" if sys.version_info >= (3, 13) else "Request-URI Too Long")
    status_line = b"HTTP/1.0 414 " + phrase.encode()
    (head, _), envs, log = mock_outcome(ours, MOCK_REQUESTS["stdlib-414"])
    assert head[0] == status_line
    assert envs == []  # the application never ran
    assert '"" 414 -' in log and f"code 414, message {phrase}" in log
    (head, _), envs, _ = mock_outcome(ours, MOCK_REQUESTS["exactly-65536"])
    assert head[0] == b"HTTP/1.0 200 OK" and len(envs) == 1
    (head, _), envs, _ = mock_outcome(ours, MOCK_REQUESTS["exactly-65537"])
    assert head[0] == status_line and envs == []
    (head, _), envs = live_outcome(ours, LIVE_REQUESTS["request-line-too-long"])
    assert head[0] == status_line and envs == []


def test_access_log_line(same_os_environ):
    _, _, log = mock_outcome(ours, b"GET /x?y HTTP/1.0\r\n\r\n")
    assert log.endswith('] "GET /x?y HTTP/1.0" 200 21\n')
    assert log == mock_outcome(std, b"GET /x?y HTTP/1.0\r\n\r\n")[2]


HEADER_NAMES = st.sampled_from(
    [
        "X-Test",
        "x-test",
        "X_Test",
        "x_TEST",
        "Host",
        "Content-Type",
        "content-length",
        "Content_Length",
        "Server-Name",
        "Remote-Addr",
        "Path-Info",
        "Query-String",
        "Request-Method",
        "Http-Host",
        "Accept",
        "Cookie",
        "X-\xe9",
        "Stra\xdfe",
        "\xff",
        "A",
    ]
) | st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=255, blacklist_characters=":"),
    min_size=1,
    max_size=6,
)
HEADER_VALUES = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=255, blacklist_characters="\r\n"),
    max_size=10,
)
PATHS = st.lists(
    st.sampled_from(list("/abc?=&+%2Fe9\xe9\x80 ;#") + ["%41", "%e9", "%zz", "//"]),
    max_size=12,
).map(lambda parts: "/" + "".join(parts))


@st.composite
def raw_requests(draw):
    method = draw(st.sampled_from(["GET", "POST", "HEAD", "PUT", "BREW", "get"]))
    path = draw(PATHS).replace(" ", "%20")
    version = draw(st.sampled_from([" HTTP/1.0", " HTTP/1.1", "", " HTTP/1.x", " HTTP/3"]))
    headers = draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=6))
    eol = draw(st.sampled_from(["\r\n", "\n"]))
    text = f"{method} {path}{version}{eol}"
    text += "".join(f"{name}:{value}{eol}" for name, value in headers)
    return (text + eol).encode("latin-1")


@DIFF_SETTINGS
@given(raw=raw_requests(), client=st.sampled_from([("127.0.0.1", 1), ("::1", 2, 0, 0)]))
def test_generated_requests_match_stdlib(raw, client, same_os_environ):
    assert mock_outcome(ours, raw, client) == mock_outcome(std, raw, client)


# --------------------------------------------------------------------------------------------
# Subclasses as frameworks write them


def django_like(mod, messages):
    """Classes in the style of Django's runserver (keep-alive, threads, own ServerHandler)."""

    class LimitedStream:
        def __init__(self, stream, limit):
            self.stream, self.remaining = stream, limit

        def read(self, size=-1):
            if size < 0 or size > self.remaining:
                size = self.remaining
            data = self.stream.read(size) if size else b""
            self.remaining -= len(data)
            return data

        def readline(self, size=-1):
            return self.read(size)

    class ServerHandler(mod.ServerHandler):
        http_version = "1.1"

        def __init__(self, stdin, stdout, stderr, environ, **kwargs):
            try:
                length = int(environ.get("CONTENT_LENGTH"))
            except (TypeError, ValueError):
                length = 0
            super().__init__(LimitedStream(stdin, length), stdout, stderr, environ, **kwargs)

        def cleanup_headers(self):
            super().cleanup_headers()
            threaded = isinstance(self.request_handler.server, socketserver.ThreadingMixIn)
            if "Content-Length" not in self.headers or not threaded:
                self.headers["Connection"] = "close"
            if self.headers.get("Connection") == "close":
                self.request_handler.close_connection = True

        def close(self):
            self.get_stdin().read()  # drain the unread body before the next request
            super().close()

    class WSGIServer(mod.WSGIServer):
        request_queue_size = 10

        def __init__(self, *args, ipv6=False, allow_reuse_address=True, **kwargs):
            if ipv6:
                self.address_family = socket.AF_INET6
            self.allow_reuse_address = allow_reuse_address
            super().__init__(*args, **kwargs)

    class ThreadedWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class WSGIRequestHandler(mod.WSGIRequestHandler):
        protocol_version = "HTTP/1.1"

        def address_string(self):
            return self.client_address[0]

        def log_message(self, format, *args):
            messages.append(format % args)

        def get_environ(self):
            # Headers with underscores could pose as dashed ones: drop them.
            for name in list(self.headers):
                if "_" in name:
                    del self.headers[name]
            return super().get_environ()

        def handle(self):
            self.close_connection = True
            self.handle_one_request()
            while not self.close_connection:
                self.handle_one_request()
            with contextlib.suppress(AttributeError, OSError):
                self.connection.shutdown(socket.SHUT_WR)

        def handle_one_request(self):
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(414)
                return
            if not self.parse_request():
                return
            handler = ServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ())
            handler.request_handler = self
            handler.run(self.server.get_app())

    return ThreadedWSGIServer, WSGIRequestHandler


def test_django_style_subclasses_keep_working(capsys):
    raw = (
        b"POST /one HTTP/1.1\r\nHost: h\r\nX_Under: sneaky\r\nX-Dash: ok\r\n"
        b"Content-Length: 5\r\n\r\nhello"
        b"GET /two?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
        b"GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    )
    results = []
    for mod in (std, ours):
        messages, seen = [], []
        server_class, handler_class = django_like(mod, messages)
        with live_server(mod, recording_app(seen), server_class, handler_class) as server:
            assert isinstance(server, socketserver.ThreadingMixIn)
            assert server.allow_reuse_address is True
            response = exchange(server.server_port, raw)
            port = server.server_port
        responses = [split_response(b"HTTP/" + part) for part in response.split(b"HTTP/")[1:]]
        results.append((responses, [normalize_environ(e, port) for e in seen], messages))
    assert results[1] == results[0]
    responses, envs, messages = results[1]
    assert [r[0][0] for r in responses] == [b"HTTP/1.1 200 OK"] * 3
    assert [r[1] for r in responses] == [
        b"path=/one\nquery=\nbody=hello",
        b"path=/two\nquery=x=1\nbody=",
        b"path=/three\nquery=\nbody=",
    ]
    first = dict(envs[0])
    assert "HTTP_X_UNDER" not in first and first["HTTP_X_DASH"] == "ok"
    lines = ["POST /one HTTP/1.1", "GET /two?x=1 HTTP/1.1", "GET /three HTTP/1.1"]
    assert messages == [f'"{line}" 200 {len(r[1])}' for line, r in zip(lines, responses)]
    assert capsys.readouterr().err == ""  # log_message override took all the logging


def bottle_like(mod, quiet, remote_name=None):
    """The handler class of Bottle's wsgiref adapter (own address_string and log_request)."""

    class FixedHandler(mod.WSGIRequestHandler):
        def address_string(self):
            return remote_name or self.client_address[0]

        def log_request(*args, **kw):
            if not quiet:
                return mod.WSGIRequestHandler.log_request(*args, **kw)

    return FixedHandler


@pytest.mark.parametrize("quiet", [True, False])
@pytest.mark.parametrize("remote_name", [None, "localhost"])
def test_bottle_style_handler_keeps_working(quiet, remote_name, same_os_environ, capsys):
    results = []
    for mod in (std, ours):
        seen = []
        handler_class = bottle_like(mod, quiet, remote_name)
        with live_server(mod, recording_app(seen), mod.WSGIServer, handler_class) as server:
            assert server.server_port > 0
            response = exchange(server.server_port, b"GET /b?c HTTP/1.0\r\n\r\n")
            port = server.server_port
        log = normalize_log(capsys.readouterr().err)
        results.append((split_response(response), [normalize_environ(e, port) for e in seen], log))
    assert results[1] == results[0]
    env = dict(results[1][1][0])
    # Before 3.13, get_environ() sets REMOTE_HOST from an address_string() that differs from
    # the address; 3.13 no longer does.
    sets_remote_host = sys.version_info < (3, 13)
    assert env["REMOTE_HOST"] == (remote_name if remote_name and sets_remote_host else "")
    expected_log = (
        "" if quiet else f'{remote_name or "127.0.0.1"} - - [<time>] "GET /b?c HTTP/1.0" 200 21\n'
    )
    assert results[1][2] == expected_log


def test_handler_overriding_log_message_and_get_environ(capsys):
    results = []
    for mod in (std, ours):
        messages, seen = [], []

        class Handler(mod.WSGIRequestHandler):
            def log_message(self, format, *args, messages=messages):
                messages.append((format, args))

            def get_environ(self):
                environ = super().get_environ()
                environ["myapp.extra"] = self.command.lower()
                return environ

        with live_server(mod, recording_app(seen), handler_class=Handler) as server:
            response = exchange(server.server_port, b"GET /m HTTP/1.0\r\n\r\n")
            port = server.server_port
        results.append(
            (split_response(response), [normalize_environ(e, port) for e in seen], messages)
        )
    assert results[1] == results[0]
    assert dict(results[1][1][0])["myapp.extra"] == "get"
    body = results[1][0][1]
    assert results[1][2] == [('"%s" %s %s', ("GET /m HTTP/1.0", "200", str(len(body))))]
    assert capsys.readouterr().err == ""


def test_threading_server_serves_concurrent_clients():
    class ThreadingServer(socketserver.ThreadingMixIn, ours.WSGIServer):
        daemon_threads = True

    barrier = threading.Barrier(3, timeout=TIMEOUT)

    def app(environ, start_response):
        barrier.wait()  # all three requests are in the app at once
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    class Quiet(ours.WSGIRequestHandler):
        def log_message(self, format, *args):
            pass

    with live_server(ours, app, ThreadingServer, Quiet) as server:
        results = {}

        def client(i):
            results[i] = exchange(server.server_port, f"GET /{i} HTTP/1.0\r\n\r\n".encode())

        threads = [threading.Thread(target=client, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
    assert {i: split_response(r)[1] for i, r in results.items()} == {0: b"/0", 1: b"/1", 2: b"/2"}


# --------------------------------------------------------------------------------------------
# python -m wsgiref_rs.simple_server

BROWSER_SCRIPT = textwrap.dedent(
    """\
    #!{python}
    import sys
    with open({record!r}, "a") as f:
        f.write(" ".join(sys.argv[1:]) + "\\n")
    """
)


def port_8000_is_free():
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("", 8000))
        except OSError:
            return False
    return True


def run_main(module, tmp_path):
    """Run ``python -m module``, fetch one page as the browser would, return what happened."""
    record = tmp_path / f"browser-{module}.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(BROWSER_SCRIPT.format(python=sys.executable, record=str(record)))
    browser.chmod(0o755)
    env = dict(os.environ, BROWSER=str(browser), PYTHONUNBUFFERED="1")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    try:
        first_line = proc.stdout.readline().decode()
        response = None
        if first_line.startswith("Serving HTTP on"):
            # This process listens on 8000 now (it printed after binding): it is our server.
            response = exchange(8000, b"GET /xyz?abc HTTP/1.0\r\nHost: localhost:8000\r\n\r\n")
        rest, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()  # only the process this test started
            proc.wait(TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while not record.exists() and time.monotonic() < deadline and response is not None:
        time.sleep(0.05)
    opened = record.read_text() if record.exists() else ""
    return first_line + rest.decode(), err.decode(), proc.returncode, response, opened


def test_python_m_serves_demo_app_once_like_the_stdlib(tmp_path):
    if not port_8000_is_free():
        # Someone else has the port: both modules must fail to bind the same way.
        outcomes = [
            run_main(m, tmp_path) for m in ("wsgiref.simple_server", "wsgiref_rs.simple_server")
        ]
        for _out, err, code, response, _ in outcomes:
            assert code != 0 and response is None
            assert "Address already in use" in err
        return

    std_out, std_err, std_code, std_response, std_opened = run_main(
        "wsgiref.simple_server", tmp_path
    )
    out, err, code, response, opened = run_main("wsgiref_rs.simple_server", tmp_path)
    assert (out, code, opened) == (std_out, std_code, std_opened)
    assert out == "Serving HTTP on 0.0.0.0 port 8000 ...\n"
    assert code == 0  # served one request, then exited by itself
    assert opened == "http://localhost:8000/xyz?abc\n"

    head, body = split_response(response)
    std_head, std_body = split_response(std_response)

    def without_length(lines, body):
        # The body names FileWrapper's module (wsgiref_rs.util, not wsgiref.util), so the
        # lengths differ: each must match its own body. Ours answers on the native engine, in
        # HTTP/1.1, saying that the connection ends after this one request.
        assert f"Content-Length: {len(body)}".encode() in lines
        framing = (b"Content-Length:", b"Connection:")
        lines = [line for line in lines if not line.startswith(framing)]
        return [lines[0].replace(b"HTTP/1.1 ", b"HTTP/1.0 ")] + lines[1:]

    assert without_length(head, body) == without_length(std_head, std_body)
    assert head[0] == b"HTTP/1.1 200 OK"
    assert b"Content-Type: text/plain; charset=utf-8" in head
    assert body.startswith(b"Hello world!\n\n")

    def environ_lines(text):
        # Object reprs (stream addresses, file numbers, class paths) differ between processes.
        return [
            line
            for line in text.decode().splitlines()
            if not line.startswith(("wsgi.input", "wsgi.errors", "wsgi.file_wrapper"))
            # Keys the native engine adds to the stdlib's.
            and not line.startswith("REMOTE_PORT = ")
        ]

    assert environ_lines(body) == environ_lines(std_body)
    assert "PATH_INFO = '/xyz'" in body.decode() and "QUERY_STRING = 'abc'" in body.decode()
    # The access log gives each its own body length.
    assert normalize_log(err).replace(str(len(body)), "<n>") == normalize_log(std_err).replace(
        str(len(std_body)), "<n>"
    )
    assert f'"GET /xyz?abc HTTP/1.0" 200 {len(body)}' in err


def test_shared_handlers_are_the_projects():
    # The module builds on wsgiref_rs.handlers, never on the standard library's directly.
    assert ours.SimpleHandler is wsgiref_rs.handlers.SimpleHandler
    source = inspect.getsource(ours)
    assert "from wsgiref." not in source and "import wsgiref" not in source
