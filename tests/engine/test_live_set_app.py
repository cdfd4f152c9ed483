"""``set_app()`` (or assigning ``application``) while the server runs: the standard library's
handler asks ``server.get_app()`` for every request, so the next request, on a kept-alive
connection or a new one, is served by the new application. Test fixtures rely on it (one server
for a session, an application per test). Checked on each way the engine runs the application:
one at a time, on ThreadingMixIn's threads, on ``engine_threads`` workers, and through
``handle_request()``.
"""

import threading

import pytest
from live_http import TIMEOUT, Client, QuietHandler, ThreadingWSGIServer, request

import wsgiref_rs.simple_server as ours


def answering(text):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [text.encode()]

    return app


class WorkerThreadsServer(ours.WSGIServer):
    engine_threads = 4


class CountingGetApp(ours.WSGIServer):
    """A server that decides the application for each request itself."""

    asked = 0

    def get_app(self):
        self.asked += 1
        return answering(f"call {self.asked}")


def native(running):
    """The engine, not the standard library's design, serves this server."""
    return running.server._running_engine is not None


def body(client):
    response = client.final_response("GET")
    assert response.status == 200, response
    return response.body.decode()


def bodies_on_one_connection(port, count):
    """The bodies of `count` requests sent one after another on one kept-alive connection."""
    with Client(port) as client:
        seen = []
        for _ in range(count):
            client.send(request())
            seen.append(body(client))
    return seen


@pytest.mark.parametrize(
    "server_class", [ours.WSGIServer, ThreadingWSGIServer, WorkerThreadsServer],
    ids=["one-at-a-time", "threading-mixin", "engine-threads"],
)
def test_set_app_while_serving_holds_from_the_next_request(serve, server_class):
    running = serve(answering("first"), server_class=server_class, handler_class=QuietHandler)
    with Client(running.port) as kept:
        kept.send(request())
        assert body(kept) == "first"
        assert native(running)

        running.server.set_app(answering("second"))
        kept.send(request())
        assert body(kept) == "second"  # the same connection
        with Client(running.port) as fresh:
            fresh.send(request())
            assert body(fresh) == "second"  # a new one

        running.server.application = answering("third")
        kept.send(request())
        assert body(kept) == "third"
        assert running.server.get_app() is running.server.application


def test_an_overridden_get_app_is_asked_for_each_request(serve):
    running = serve(answering("unused"), server_class=CountingGetApp, handler_class=QuietHandler)
    seen = bodies_on_one_connection(running.port, 3)
    assert native(running)
    assert seen == ["call 1", "call 2", "call 3"]


def test_handle_request_serves_the_application_set_since_the_last_one():
    server = ours.make_server("127.0.0.1", 0, answering("first"), handler_class=QuietHandler)
    try:
        bodies = []
        for app_text in ("first", "second"):
            if app_text == "second":
                server.set_app(answering("second"))

            def client():
                with Client(server.server_port) as c:
                    c.send(request(headers=[("Connection", "close")]))
                    bodies.append(body(c))

            thread = threading.Thread(target=client)
            thread.start()
            server.handle_request()
            thread.join(TIMEOUT)
        assert bodies == ["first", "second"]
    finally:
        server.server_close()


def test_get_app_replaced_on_the_instance_is_asked_for_each_request(serve):
    running = serve(answering("unused"), handler_class=QuietHandler)
    asked = []

    def get_app():
        asked.append(True)
        return answering(f"instance {len(asked)}")

    with Client(running.port) as kept:
        kept.send(request())
        assert body(kept) == "unused"
        running.server.get_app = get_app  # while serving, as the stdlib's handler would see it
        kept.send(request())
        assert body(kept) == "instance 1"
        with Client(running.port) as fresh:
            fresh.send(request())
            assert body(fresh) == "instance 2"
    assert native(running)


class PropertyApplication(ours.WSGIServer):
    """`application` as a property: the stdlib's get_app() goes through it."""

    reads = 0

    @property
    def application(self):
        PropertyApplication.reads += 1
        return answering(f"read {PropertyApplication.reads}")

    @application.setter
    def application(self, value):
        pass


def test_an_application_property_is_read_for_each_request(serve):
    PropertyApplication.reads = 0
    running = serve(answering("unused"), server_class=PropertyApplication,
                    handler_class=QuietHandler)
    seen = bodies_on_one_connection(running.port, 2)
    assert native(running)
    assert seen == [f"read {PropertyApplication.reads - 1}", f"read {PropertyApplication.reads}"]
