"""Frameworks that build their servers on wsgiref work unchanged with ``wsgiref_rs.install()``:
Django's runserver (its ThreadedWSGIServer, WSGIRequestHandler and ServerHandler subclasses,
through ``django.core.servers.basehttp.run``) and Bottle's wsgiref adapter (a handler overriding
address_string and log_request). Each runs in its own interpreter, driven by a requests Session,
and is stopped with Ctrl-C (SIGINT) as a developer would.
"""

import signal
import textwrap
import time

import pytest
import requests
from live_http import TIMEOUT, ScriptServer

DJANGO_SCRIPT = textwrap.dedent(
    """\
    import sys
    import wsgiref_rs
    if sys.argv[1] == "ours":
        wsgiref_rs.install()

    import django
    from django.conf import settings
    from django.http import HttpResponse, StreamingHttpResponse
    from django.urls import path

    def hello(request):
        return HttpResponse("hello django")

    def echo(request):
        return HttpResponse(request.body, content_type="application/octet-stream")

    def stream(request):
        return StreamingHttpResponse(b"%d," % i for i in range(10))

    def meta(request):
        return HttpResponse(repr(sorted(k for k in request.META if k.startswith("HTTP_X"))))

    urlpatterns = [path("hello", hello), path("echo", echo), path("stream", stream),
                   path("meta", meta)]

    # CommonMiddleware (in every startproject settings) sets Content-Length, which is what
    # lets runserver keep connections open.
    settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="t",
                       MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
                       INSTALLED_APPS=[])
    django.setup()

    import wsgiref.simple_server
    import wsgiref_rs.simple_server
    from django.core.servers import basehttp
    from django.core.wsgi import get_wsgi_application
    ours = sys.argv[1] == "ours"
    assert (wsgiref.simple_server is wsgiref_rs.simple_server) == ours
    assert issubclass(basehttp.WSGIServer, wsgiref_rs.simple_server.WSGIServer) == ours
    handler_class = wsgiref_rs.simple_server.WSGIRequestHandler
    assert issubclass(basehttp.WSGIRequestHandler, handler_class) == ours
    try:
        basehttp.run("127.0.0.1", 0, get_wsgi_application(), threading=True,
                     on_bind=lambda port: print("PORT", port, flush=True))
    except KeyboardInterrupt:
        print("STOPPED", flush=True)
    """
)

BOTTLE_SCRIPT = textwrap.dedent(
    """\
    import sys, threading, time
    import wsgiref_rs
    wsgiref_rs.install()
    import bottle

    app = bottle.Bottle()

    @app.route("/hello/<name>")
    def hello(name):
        return "hello " + name

    @app.post("/echo")
    def echo():
        return bottle.request.body.read()

    @app.route("/stream")
    def stream():
        for i in range(10):
            yield "%d," % i

    @app.route("/remote")
    def remote():
        return bottle.request.environ.get("REMOTE_ADDR", "?")

    adapter = bottle.WSGIRefServer(host="127.0.0.1", port=0)

    def announce():
        for _ in range(1000):
            srv = getattr(adapter, "srv", None)
            if srv is not None:
                print("PORT", srv.server_port, type(srv).__module__, flush=True)
                return
            time.sleep(0.01)

    threading.Thread(target=announce, daemon=True).start()
    bottle.run(app, server=adapter, quiet=sys.argv[1] == "quiet")
    print("STOPPED", flush=True)
    """
)


def settle():
    """Let the server finish the last request (log line, close) before Ctrl-C: a SIGINT that
    lands inside a request is the app's error (the stdlib's handler logs and swallows it)."""
    time.sleep(0.3)


def drive_django(which, tcp_connects):
    """One runserver session; what the client saw, the TCP connects it made, the server's log."""
    first_connect = len(tcp_connects)
    server = ScriptServer(DJANGO_SCRIPT, which)
    seen = []

    def record(r):
        headers = sorted((k, v) for k, v in r.headers.items() if k not in ("Date",))
        seen.append((r.status_code, headers, r.content))
        return r

    try:
        with requests.Session() as s:
            for _ in range(3):
                r = record(s.get(server.url + "/hello", timeout=TIMEOUT))
                assert r.status_code == 200 and r.text == "hello django"
            r = record(s.post(server.url + "/echo", data=b"\x00posted\xff", timeout=TIMEOUT))
            assert r.content == b"\x00posted\xff"
            r = record(
                s.get(
                    server.url + "/meta", headers={"X-Dash": "1", "X_Under": "2"}, timeout=TIMEOUT
                )
            )
            assert r.text == "['HTTP_X_DASH']"  # Django drops underscored names itself
            # Django keeps the connection while it knows the length (threaded server).
            assert len(tcp_connects) - first_connect == 1
            r = record(s.get(server.url + "/stream", timeout=TIMEOUT))
            assert r.content == b"".join(b"%d," % i for i in range(10))
            assert r.headers.get("Connection") == "close"
            record(s.get(server.url + "/hello", timeout=TIMEOUT))
            assert len(tcp_connects) - first_connect == 2
        settle()
        elapsed, out, err = server.signal_and_wait(signal.SIGINT)
    finally:
        server.kill()
    assert out.strip() == "STOPPED", err
    assert server.proc.returncode == 0, err
    assert elapsed < 2.0
    assert "Traceback" not in err
    log = [line.split("] ", 1)[1] for line in err.splitlines() if line.startswith("[")]
    return seen, log


def test_django_runserver(tcp_connects):
    expected = drive_django("stdlib", tcp_connects)
    got = drive_django("ours", tcp_connects)
    assert got == expected
    seen, log = got
    assert seen[0][0] == 200 and ("Content-Length", "12") in seen[0][1]
    assert log[:4] == [
        '"GET /hello HTTP/1.1" 200 12',
        '"GET /hello HTTP/1.1" 200 12',
        '"GET /hello HTTP/1.1" 200 12',
        '"POST /echo HTTP/1.1" 200 8',
    ]


@pytest.mark.parametrize("quiet", [False, True], ids=["logging", "quiet"])
def test_bottle_wsgiref_adapter(quiet):
    server = ScriptServer(BOTTLE_SCRIPT, "quiet" if quiet else "loud")
    try:
        assert server.words[2] == "wsgiref_rs.simple_server"
        with requests.Session() as s:
            r = s.get(server.url + "/hello/world", timeout=TIMEOUT)
            assert r.status_code == 200 and r.text == "hello world"
            r = s.post(server.url + "/echo", data=b"bottled", timeout=TIMEOUT)
            assert r.content == b"bottled"
            r = s.get(server.url + "/stream", timeout=TIMEOUT)
            assert r.text == "".join("%d," % i for i in range(10))
            assert s.get(server.url + "/remote", timeout=TIMEOUT).text == "127.0.0.1"
            r = s.get(server.url + "/missing", timeout=TIMEOUT)
            assert r.status_code == 404
        settle()
        elapsed, out, err = server.signal_and_wait(signal.SIGINT)
    finally:
        server.kill()
    assert server.proc.returncode == 0, err
    assert out.strip() == "STOPPED", err
    assert elapsed < 2.0
    assert "Traceback" not in err
    access = [line for line in err.splitlines() if line.startswith("127.0.0.1 - - [")]
    if quiet:
        assert access == [] and err == ""
    else:
        requests_seen = [line.split("] ", 1)[1] for line in access]
        assert requests_seen[:2] == [
            '"GET /hello/world HTTP/1.1" 200 11',
            '"POST /echo HTTP/1.1" 200 7',
        ]
        assert len(requests_seen) == 5 and requests_seen[4].startswith(
            '"GET /missing HTTP/1.1" 404'
        )


def test_bottle_keeps_the_connection_with_the_engine(tcp_connects):
    """Bottle's handler only overrides logging hooks: the engine's keep-alive applies."""
    server = ScriptServer(BOTTLE_SCRIPT, "quiet")
    try:
        with requests.Session() as s:
            for i in range(5):
                r = s.get(server.url + f"/hello/{i}", timeout=TIMEOUT)
                assert r.text == f"hello {i}"
            assert len(tcp_connects) == 1
        settle()
        server.signal_and_wait(signal.SIGINT)
    finally:
        server.kill()
