"""Real HTTP clients against make_server(...).serve_forever(): http.client, requests (a Session),
urllib3, curl (HTTP/1.0 and 1.1), and a raw socket for pipelining.

Keep-alive is checked from the client's side: http.client's socket (its local port), the TCP
connects urllib3 makes (the ``tcp_connects`` fixture; requests' Session uses urllib3) and curl's
``%{num_connects}``.
"""

import http.client
import json
import subprocess
import tempfile

import requests
import urllib3
from live_http import TIMEOUT, Client, echo_app, hello_app, path_app, request


def json_app(environ, start_response):
    """Answers with what the request looked like, as JSON (one item: Content-Length known)."""
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        body = environ["wsgi.input"].read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = environ["wsgi.input"].read()
    else:
        body = b""
    data = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "query": environ["QUERY_STRING"],
        "body": body.decode("latin-1"),
        "content_type": environ.get("CONTENT_TYPE", ""),
        "x_test": environ.get("HTTP_X_TEST"),
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(data).encode()]


def stream_app(environ, start_response):
    """A generator of 50 pieces (no Content-Length: chunked on HTTP/1.1)."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return (b"piece %03d\n" % i for i in range(50))


STREAMED = b"".join(b"piece %03d\n" % i for i in range(50))


def dispatch(environ, start_response):
    if environ["PATH_INFO"].startswith("/stream"):
        return stream_app(environ, start_response)
    return json_app(environ, start_response)


# ----------------------------------------------------------------------------------------------
# http.client


def test_http_client_requests_and_bodies(serve):
    server = serve(dispatch)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/a%20b?x=1&y=%20", headers={"X-Test": "yes"})
        r = conn.getresponse()
        assert r.status == 200 and r.reason == "OK"
        data = json.loads(r.read())
        assert data["path"] == "/a b" and data["query"] == "x=1&y=%20" and data["x_test"] == "yes"
        conn.request("POST", "/form", body=b"k=v", headers={"Content-Type": "x/y"})
        r = conn.getresponse()
        data = json.loads(r.read())
        assert (data["method"], data["body"], data["content_type"]) == ("POST", "k=v", "x/y")
        conn.request("GET", "/stream")
        r = conn.getresponse()
        assert r.read() == STREAMED
    finally:
        conn.close()


def test_http_client_keep_alive_several_requests_on_one_connection(serve):
    server = serve(dispatch)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    local_ports = set()
    try:
        for i in range(6):
            path = "/stream" if i % 2 else f"/json/{i}"
            conn.request("GET", path)
            local_ports.add(conn.sock.getsockname()[1])
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200
            assert body == STREAMED if i % 2 else json.loads(body)["path"] == path
            assert r.version == 11, "an HTTP/1.1 request gets an HTTP/1.1 response"
            assert not r.will_close, f"request {i}: the server wants to close the connection"
        assert len(local_ports) == 1, "http.client had to reconnect"
    finally:
        conn.close()


def test_http_client_chunked_upload(serve):
    server = serve(json_app)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        conn.request("PUT", "/up", body=iter([b"abc", b"", b"defgh", b"i" * 5000]))
        r = conn.getresponse()
        assert r.status == 200
        assert json.loads(r.read())["body"] == "abcdefgh" + "i" * 5000
    finally:
        conn.close()


# ----------------------------------------------------------------------------------------------
# requests (a Session) and urllib3


def test_requests_session_get_post_stream(serve):
    server = serve(dispatch)
    with requests.Session() as s:
        r = s.get(server.url + "/x", params={"q": "a b"}, timeout=TIMEOUT)
        assert r.status_code == 200 and r.json()["query"] == "q=a+b"
        r = s.post(server.url + "/p", data={"k": "v w"}, timeout=TIMEOUT)
        assert r.json()["body"] == "k=v+w"
        assert r.json()["content_type"] == "application/x-www-form-urlencoded"
        r = s.post(server.url + "/j", json={"a": [1, 2]}, timeout=TIMEOUT)
        assert json.loads(r.json()["body"]) == {"a": [1, 2]}
        with s.get(server.url + "/stream", stream=True, timeout=TIMEOUT) as r:
            assert b"".join(r.iter_content(7)) == STREAMED


def test_requests_session_reuses_one_connection(serve, tcp_connects):
    server = serve(dispatch)
    with requests.Session() as s:
        for i in range(8):
            if i % 3 == 2:
                r = s.get(server.url + "/stream", timeout=TIMEOUT)
                assert r.content == STREAMED
            else:
                r = s.post(server.url + f"/p{i}", data=b"x" * i, timeout=TIMEOUT)
                assert r.json()["body"] == "x" * i
        assert len(tcp_connects) == 1, f"the Session connected {len(tcp_connects)} times"


def test_urllib3_pool_keep_alive(serve, tcp_connects):
    server = serve(dispatch)
    with urllib3.HTTPConnectionPool(
        "127.0.0.1", server.port, maxsize=1, timeout=TIMEOUT, retries=False
    ) as pool:
        for i in range(5):
            r = pool.request("GET", f"/u{i}")
            assert r.status == 200 and r.json()["path"] == f"/u{i}"
        r = pool.request("POST", "/body", body=b"payload", headers={"X-Test": "1"})
        assert r.json()["body"] == "payload" and r.json()["x_test"] == "1"
        r = pool.request("GET", "/stream", preload_content=False)
        assert b"".join(r.stream(11)) == STREAMED
        r.release_conn()
        r = pool.request("GET", "/after")
        assert r.json()["path"] == "/after"
        assert pool.num_requests == 8
        assert len(tcp_connects) == 1, f"urllib3 connected {len(tcp_connects)} times"


# ----------------------------------------------------------------------------------------------
# curl


def run_curl(curl, *args):
    proc = subprocess.run(
        [curl, "--silent", "--show-error", "--max-time", str(TIMEOUT), *args],
        capture_output=True,
        timeout=TIMEOUT + 5,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def test_curl_http10(serve, curl):
    server = serve(path_app)
    out = run_curl(
        curl, "-0", "-i", "-w", "\n[%{http_version} %{num_connects}]", server.url + "/one"
    )
    head, _, rest = out.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == b"200"
    # curl shows HTTP/1.0 as "1"; the server may answer a 1.0 request with either version.
    assert rest in (b"/one\n[1 1]", b"/one\n[1.0 1]", b"/one\n[1.1 1]")


def test_curl_http10_two_urls_two_connections(serve, curl):
    server = serve(path_app)
    out = run_curl(curl, "-0", "-w", " %{num_connects}\n", server.url + "/a", server.url + "/b")
    assert out == b"/a 1\n/b 1\n"


def test_curl_http11_get_and_post(serve, curl):
    server = serve(echo_app)
    out = run_curl(curl, "--http1.1", "-d", "hello=1", server.url + "/form")
    assert out == b"POST /form hello=1"
    out = run_curl(curl, "--http1.1", server.url + "/get")
    assert out == b"GET /get "


def test_curl_http11_reuses_the_connection(serve, curl):
    server = serve(path_app)
    urls = [server.url + f"/{i}" for i in range(4)]
    out = run_curl(curl, "--http1.1", "-w", " %{http_version} %{num_connects}\n", *urls)
    assert out == b"/0 1.1 1\n/1 1.1 0\n/2 1.1 0\n/3 1.1 0\n"


def test_curl_chunked_upload(serve, curl):
    server = serve(echo_app)
    payload = bytes(range(256)) * 300
    with tempfile.NamedTemporaryFile() as f:
        f.write(payload)
        f.flush()
        out = run_curl(
            curl,
            "--http1.1",
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            f"@{f.name}",
            server.url + "/chunked",
        )
    assert out == b"POST /chunked " + payload


# ----------------------------------------------------------------------------------------------
# Pipelining (raw socket)


def test_pipelined_requests_answered_in_order(serve):
    server = serve(echo_app)
    with Client(server.port) as c:
        c.send(
            request("GET", "/first")
            + request("POST", "/second", body=b"body-2")
            + request("GET", "/third", headers=["Connection: close"])
        )
        responses = [c.final_response() for _ in range(3)]
        assert [r and r.status for r in responses] == [200, 200, 200]
        assert [r.body for r in responses] == [
            b"GET /first ",
            b"POST /second body-2",
            b"GET /third ",
        ]
        assert c.wait_closed() == "eof"


def test_pipelined_with_hello(serve):
    server = serve(hello_app)
    with Client(server.port) as c:
        c.send(request() * 5)
        bodies = [c.final_response().body for _ in range(5)]
        assert bodies == [b"Hello world!\n"] * 5
        assert c.is_open()
