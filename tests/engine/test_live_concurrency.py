"""Concurrency: a plain WSGIServer calls the app one request at a time (wsgi.multithread False)
while other connections' I/O goes on; a ThreadingMixIn server overlaps blocking apps
(wsgi.multithread True).
"""

import threading
import time

from live_http import (
    TIMEOUT,
    Client,
    Overlap,
    QuietHandler,
    Recorder,
    ThreadingWSGIServer,
    get,
    request,
)


def parallel_gets(port, count):
    results = {}

    def client(i):
        try:
            results[i] = get(port, f"/{i}").body
        except Exception as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=client, args=(i,)) for i in range(count)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
    elapsed = time.monotonic() - started
    assert results == {i: f"/{i}".encode() for i in range(count)}
    return elapsed


def test_plain_server_calls_the_app_one_at_a_time(serve):
    app = Overlap(0.05)
    server = serve(app, handler_class=QuietHandler)
    parallel_gets(server.port, 6)
    assert app.most == 1
    assert app.multithread == [False] * 6


def test_threading_server_overlaps_blocking_apps(serve):
    app = Overlap(0.3)
    server = serve(app, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    elapsed = parallel_gets(server.port, 8)
    assert elapsed < 1.5, f"8 requests to an app sleeping 0.3 s took {elapsed:.2f} s"
    assert app.most > 1


def test_threading_server_sets_wsgi_multithread(serve):
    recorder = Recorder()
    server = serve(recorder, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    assert get(server.port, "/mt").status == 200
    assert recorder.environs[0]["wsgi.multithread"] is True
    assert recorder.environs[0]["wsgi.multiprocess"] is False


def test_plain_server_environ_flags(serve):
    recorder = Recorder()
    server = serve(recorder, handler_class=QuietHandler)
    assert get(server.port, "/flags").status == 200
    environ = recorder.environs[0]
    assert (environ["wsgi.multithread"], environ["wsgi.multiprocess"]) == (False, False)
    assert environ["wsgi.run_once"] is False


def test_slow_client_does_not_hold_a_plain_server(serve):
    """A client that sends half a request and stalls must not keep others from being served."""
    server = serve(Recorder(), handler_class=QuietHandler)
    with Client(server.port) as slow:
        slow.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n")  # no blank line: the head never ends
        time.sleep(0.1)
        started = time.monotonic()
        with Client(server.port, timeout=5) as other:
            other.send(request("GET", "/other", headers=["Connection: close"]))
            r = other.read_response()
            assert r is not None and r.body == b"/other"
        assert time.monotonic() - started < 2


def test_idle_keep_alive_connection_does_not_hold_a_plain_server(serve):
    server = serve(Recorder(), handler_class=QuietHandler)
    with Client(server.port) as idle:
        idle.send(request("GET", "/first"))
        assert idle.read_response().body == b"/first"
        with Client(server.port, timeout=5) as other:
            other.send(request("GET", "/second", headers=["Connection: close"]))
            assert other.read_response().body == b"/second"
        idle.send(request("GET", "/third"))
        assert idle.read_response().body == b"/third"
