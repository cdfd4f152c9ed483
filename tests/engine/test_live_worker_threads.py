"""The engine's worker threads (a ThreadingMixIn server, or ``engine_threads``): each keeps one
Python thread state for its life, requests that block are handed to other workers, and a
connection a worker holds is read again as soon as it comes back.
"""

import threading
import time

from live_http import TIMEOUT, Client, Overlap, QuietHandler, get, request

import wsgiref_rs.simple_server as ours


def server_with(threads):
    return type(f"Server{threads}", (ours.WSGIServer,), {"engine_threads": threads})


def native(running):
    return running.server._running_engine is not None


def test_thread_local_data_lives_from_one_request_to_the_next(serve):
    """What a framework keeps per thread (Django's database connection) is made once per worker,
    not once per request."""
    local = threading.local()
    made = []

    def app(environ, start_response):
        if not hasattr(local, "connection"):
            local.connection = object()
            made.append(threading.get_ident())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(id(local.connection)).encode()]

    running = serve(app, server_class=server_with(1), handler_class=QuietHandler)
    bodies = {get(running.port, f"/{i}").body for i in range(20)}
    assert native(running)
    assert len(made) == 1, f"the thread's local data was made {len(made)} times for 20 requests"
    assert len(bodies) == 1


def test_quick_requests_are_not_held_behind_a_blocked_one(serve):
    running = serve(
        Overlap(2.0, sleep_on="/slow"), server_class=server_with(2), handler_class=QuietHandler
    )
    with Client(running.port) as slow:
        slow.send(request("GET", "/slow"))
        time.sleep(0.05)  # the slow request is on a worker
        started = time.monotonic()
        for i in range(5):
            assert get(running.port, f"/quick{i}").body == f"/quick{i}".encode()
        took = time.monotonic() - started
        assert slow.read_response().body == b"/slow"
    assert took < 1.0, f"5 quick requests took {took:.2f} s beside a request sleeping 2 s"


def test_every_worker_takes_blocking_requests(serve):
    app = Overlap(0.3, sleep_on="/slow")
    running = serve(app, server_class=server_with(4), handler_class=QuietHandler)
    results = {}

    def client(i):
        results[i] = get(running.port, "/slow").status

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    took = time.monotonic() - started
    assert results == {i: 200 for i in range(8)}
    assert app.most == 4
    assert took < 1.2, f"8 requests sleeping 0.3 s on 4 workers took {took:.2f} s"


def test_a_request_sent_while_a_worker_holds_the_connection_is_served(serve):
    """The loop sees the connection readable while a worker has it: the worker's hand-back makes
    the loop read it (readiness is edge-triggered, so no second event comes)."""
    running = serve(
        Overlap(0.3, sleep_on="/slow"), server_class=server_with(2), handler_class=QuietHandler
    )
    with Client(running.port) as client:
        for _ in range(3):
            client.send(request("GET", "/slow"))
            time.sleep(0.1)  # the first is on a worker when the second arrives
            client.send(request("GET", "/next"))
            assert client.read_response().body == b"/slow"
            second = client.read_response()
            assert second is not None and second.body == b"/next"
