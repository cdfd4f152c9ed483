"""Differential: the same apps and the same requests against the standard library's
``wsgiref.simple_server`` and ours, over live sockets. The environ (minus REMOTE_PORT and
SERVER_PROTOCOL, which HTTP/1.1 adds), the status, the headers (minus
Date and Server, which change, and Connection, Keep-Alive, Content-Length and Transfer-Encoding,
where HTTP/1.1 framing legitimately differs from the standard library's HTTP/1.0) and the body
(after de-framing) must be the same.

Not compared, on purpose: HEAD (the standard library sends a body), header names with "_" (dropped
by default; see test_live_environ.py), raw non-ASCII bytes in the request target, which the
engine refuses (RFC 9112; documented in the README) and which are checked on their own below, and
what RFC 9112 section 3.2 asks of Host and absolute-form targets (test_live_rfc9112.py).
"""

import sys
import wsgiref.simple_server as std

import pytest
from live_http import Client, exchange, request
from serving import start_server

import wsgiref_rs.simple_server as ours

SKIPPED_ENVIRON = {"REMOTE_PORT", "SERVER_PROTOCOL"}
FRAMING = {"date", "server", "connection", "keep-alive", "content-length", "transfer-encoding"}


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path.startswith("/gen"):
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Kind", "gen")])
        return (b"%d;" % i for i in range(20))
    if path.startswith("/write"):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"from write;")
        return [b"from result"]
    if path.startswith("/echo"):
        length = environ.get("CONTENT_LENGTH") or ""
        body = environ["wsgi.input"].read(int(length)) if length.isdigit() else b""
        start_response("200 OK", [("Content-Type", environ.get("CONTENT_TYPE", ""))])
        return [body]
    if path.startswith("/status"):
        start_response(
            "418 I'm a teapot",
            [("Set-Cookie", "a=1"), ("X-Custom", "x"), ("Set-Cookie", "b=2; Path=/")],
        )
        return [b"short", b" and stout"]
    if path.startswith("/length"):
        start_response("200 OK", [("Content-Length", "6"), ("Content-Type", "a/b")])
        return [b"abc", b"def"]
    if path.startswith("/empty"):
        start_response("200 OK", [])
        return []
    if path.startswith("/error"):
        raise ZeroDivisionError("differential")
    if path.startswith("/redirect"):
        start_response("302 Found", [("Location", "/elsewhere")])
        return [b""]
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [path.encode("latin-1") + b"?" + environ["QUERY_STRING"].encode("latin-1")]


CASES = {
    "plain-10": request("GET", "/", version="HTTP/1.0", host=None),
    "plain-11": request("GET", "/"),
    "query": request("GET", "/p/a%20th/%C3%A9?x=%20&y=1+2&z"),
    "encoded-slash": request("GET", "/a%2Fb%25c%zz"),
    "repeated-headers": request("GET", "/h", headers=["X-A: 1", "X-A: 2", "x-a: 3"]),
    "header-whitespace": request("GET", "/ws", headers=["X-Pad:    padded   ", "X-Empty:"]),
    # Header keys already in the environ (its own keys, os.environ's) are skipped; the common
    # header names the engine keeps interned keys for behave like any other.
    "shadowing-headers": request(
        "GET",
        "/s",
        headers=["Path-Info: /evil", "Home: /evil", "Server-Name: evil", "Content-Type: a/b",
                 "User-Agent: ua", "user-agent: ua2", "Accept: */*", "Cookie: c=1", "X-A: 1"],
    ),
    "many-headers": request("GET", "/m", headers=[f"X-H{i}: v{i}" for i in range(40)]),
    "cookies-and-auth": request(
        "GET", "/c", headers=["Cookie: a=1; b=2", "Authorization: Basic eDp5", "Accept: */*"]
    ),
    "gen-10": request("GET", "/gen", version="HTTP/1.0"),
    "gen-11": request("GET", "/gen"),
    "write-11": request("GET", "/write"),
    "write-10": request("GET", "/write", version="HTTP/1.0"),
    "echo-post": request("POST", "/echo", headers=["Content-Type: text/x-echo"], body=b"data!"),
    "echo-put-10": request("PUT", "/echo", body=b"\x00\xff" * 500, version="HTTP/1.0"),
    "echo-empty": request("POST", "/echo", length=True),
    "status-418": request("GET", "/status"),
    "length": request("GET", "/length"),
    "empty": request("GET", "/empty"),
    "error-11": request("GET", "/error"),
    "error-10": request("GET", "/error", version="HTTP/1.0"),
    "redirect": request("GET", "/redirect"),
    "options": request("OPTIONS", "*"),
    "delete": request("DELETE", "/thing/1"),
    "content-type-only": request("GET", "/ct", headers=["Content-Type: application/json"]),
    "host-variants": request("GET", "/hv", host="Example.TEST:80"),
}


def normalized_environ(environ, port):
    out = {}
    for key, value in environ.items():
        if key in SKIPPED_ENVIRON:
            continue
        if key == "wsgi.input":
            value = "<input>"
        elif key == "wsgi.errors":
            value = "<sys.stderr>" if value is sys.stderr else repr(value)
        elif key == "wsgi.file_wrapper":
            value = value.__name__
        elif key == "SERVER_PORT":
            value = "<port>" if value == str(port) else value
        out[key] = value
    return out


def outcome(module, raw):
    environs = []

    def recording(environ, start_response):
        environs.append(normalized_environ(environ, server.server_port))
        return app(environ, start_response)

    with start_server(recording, module=module) as server:
        r = exchange(server.server_port, raw)[0]
    assert r is not None, "no response"
    assert r.complete
    headers = [(n.lower(), v) for n, v in r.headers if n.lower() not in FRAMING]
    return {
        "status": (r.status, r.reason),
        "headers": headers,
        "body": r.body,
        "environ": environs,
    }


@pytest.mark.parametrize("case", CASES)
def test_same_as_the_stdlib(case, capfd):
    raw = CASES[case]
    expected = outcome(std, raw)
    got = outcome(ours, raw)
    assert got["status"] == expected["status"]
    assert got["headers"] == expected["headers"]
    assert got["body"] == expected["body"]
    assert got["environ"] == expected["environ"]
    capfd.readouterr()


def test_stdlib_is_the_real_one():
    assert std.__name__ == "wsgiref.simple_server"
    assert std.WSGIServer is not ours.WSGIServer


def test_raw_non_ascii_target_is_refused_where_the_stdlib_accepts_it(capfd):
    """The one documented difference in what is accepted: a request target must be ASCII."""
    raw = b"GET /caf\xe9?q=\xff HTTP/1.0\r\n\r\n"
    expected = outcome(std, raw)
    assert expected["status"] == (200, "OK")
    assert expected["environ"][0]["PATH_INFO"] == "/caf\xe9"
    calls = []

    def counting(environ, start_response):
        calls.append(environ)
        return app(environ, start_response)

    with start_server(counting, module=ours) as server, Client(server.server_port) as c:
        c.send(raw)
        r = c.final_response()
        assert r is not None and r.status == 400
        assert c.wait_closed() == "eof"
    assert calls == []
    capfd.readouterr()
