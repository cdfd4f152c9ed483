"""Persistent connections: HTTP/1.1 keeps the connection by default, ``Connection: close`` is
honoured, HTTP/1.0 keeps it only with ``Connection: keep-alive``.
"""

from live_http import Client, path_app, request


def answered(client, path, method="GET"):
    r = client.read_response(method)
    assert r is not None, f"no response for {path}: the server closed the connection"
    assert r.status == 200 and r.complete, r.head
    assert r.body == (b"" if method == "HEAD" else path.encode())
    return r


def test_http11_keeps_the_connection_by_default(serve):
    server = serve(path_app)
    with Client(server.port) as c:
        for i in range(5):
            c.send(request("GET", f"/{i}"))  # one at a time: each after the previous answer
            r = answered(c, f"/{i}")
            assert r.version == "HTTP/1.1"
            assert "close" not in r.connection_tokens()
        assert c.is_open()


def test_http11_connection_close_is_honoured(serve):
    server = serve(path_app)
    with Client(server.port) as c:
        c.send(request("GET", "/bye", headers=["Connection: close"]))
        answered(c, "/bye")
        assert c.wait_closed() == "eof"


def test_http11_close_after_keep_alive_requests(serve):
    server = serve(path_app)
    with Client(server.port) as c:
        c.send(request("GET", "/1"))
        answered(c, "/1")
        c.send(request("GET", "/2", headers=["Connection: Close"]))  # token is case-insensitive
        answered(c, "/2")
        assert c.wait_closed() == "eof"


def test_http10_closes_by_default(serve):
    server = serve(path_app)
    for headers in ([], ["Host: x"]):
        with Client(server.port) as c:
            c.send(request("GET", "/old", headers=headers, version="HTTP/1.0", host=None))
            answered(c, "/old")
            assert c.wait_closed() == "eof"


def test_http10_keep_alive_on_request(serve):
    server = serve(path_app)
    with Client(server.port) as c:
        for i in range(3):
            c.send(request("GET", f"/k{i}", headers=["Connection: keep-alive"], version="HTTP/1.0"))
            r = answered(c, f"/k{i}")
            assert r.framing == "length"
            assert "keep-alive" in r.connection_tokens(), r.head
        c.send(request("GET", "/last", version="HTTP/1.0"))
        answered(c, "/last")
        assert c.wait_closed() == "eof"


def test_keep_alive_mixes_methods_and_bodies(serve):
    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode() + body]

    server = serve(app)
    with Client(server.port) as c:
        c.send(request("POST", "/a", body=b"1234"))
        assert c.read_response().body == b"/a1234"
        c.send(request("HEAD", "/b"))
        assert c.read_response("HEAD").status == 200
        c.send(request("PUT", "/c", body=b""))
        assert c.read_response().body == b"/c"
        c.send(request("DELETE", "/d", body=b"x" * 70000))
        assert c.read_response().body == b"/d" + b"x" * 70000
        assert c.is_open()
