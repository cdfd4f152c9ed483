"""The server's life: shutdown() from another thread returns promptly, server_close(), the
context manager, serve_forever() again after shutdown(), handle_request() serves one request,
``timeout`` + handle_request() calls handle_timeout(), Ctrl-C stops serve_forever() with
KeyboardInterrupt, and Python signal handlers run while serve_forever() waits.
"""

import signal
import socket
import textwrap
import threading
import time

import pytest
from live_http import (
    HOST,
    TIMEOUT,
    Client,
    QuietHandler,
    ScriptServer,
    ThreadingWSGIServer,
    get,
    path_app,
    request,
)

import wsgiref_rs.simple_server as ours


def timed_shutdown(server):
    started = time.monotonic()
    stopper = threading.Thread(target=server.shutdown, daemon=True)
    stopper.start()
    stopper.join(TIMEOUT)
    assert not stopper.is_alive(), "shutdown() hung"
    return time.monotonic() - started


def serving(server, **kwargs):
    """serve_forever() in a thread, by hand: these tests are about serve_forever() and
    shutdown() themselves (serving.start_server is for the tests that only need a server)."""
    thread = threading.Thread(target=server.serve_forever, kwargs=kwargs, daemon=True)
    thread.start()
    return thread


def assert_prompt_shutdown(server, thread):
    """shutdown() returns within 1.5 s (the default poll interval is 0.5 s), and so does
    serve_forever()."""
    elapsed = timed_shutdown(server)
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert elapsed < 1.5, f"shutdown() took {elapsed:.2f} s"


def assert_refused(port):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, port), timeout=TIMEOUT).close()


# ----------------------------------------------------------------------------------------------
# shutdown, server_close, context manager


@pytest.mark.parametrize("server_class", [None, ThreadingWSGIServer], ids=["plain", "threading"])
def test_shutdown_from_another_thread_is_prompt(server_class):
    kwargs = {"server_class": server_class} if server_class else {}
    server = ours.make_server(HOST, 0, path_app, handler_class=QuietHandler, **kwargs)
    try:
        thread = serving(server)  # the default poll_interval (0.5 s)
        assert get(server.server_port, "/x").body == b"/x"
        assert_prompt_shutdown(server, thread)
    finally:
        server.server_close()
    assert_refused(server.server_port)


def test_shutdown_with_an_idle_keep_alive_connection_is_prompt():
    server = ours.make_server(HOST, 0, path_app, handler_class=QuietHandler)
    try:
        thread = serving(server)
        with Client(server.server_port) as c:
            c.send(request("GET", "/open"))
            assert c.read_response().body == b"/open"
            assert_prompt_shutdown(server, thread)
    finally:
        server.server_close()


def test_serve_forever_again_after_shutdown():
    server = ours.make_server(HOST, 0, path_app, handler_class=QuietHandler)
    try:
        for round_ in range(2):
            thread = serving(server, poll_interval=0.05)
            assert get(server.server_port, f"/{round_}").body == f"/{round_}".encode()
            timed_shutdown(server)
            thread.join(TIMEOUT)
            assert not thread.is_alive()
    finally:
        server.server_close()


def test_context_manager_closes_the_socket():
    with ours.make_server(HOST, 0, path_app, handler_class=QuietHandler) as server:
        port = server.server_port
        thread = serving(server)
        assert get(port, "/cm").body == b"/cm"
        timed_shutdown(server)
        thread.join(TIMEOUT)
    assert server.socket.fileno() == -1
    assert_refused(port)


def test_server_close_without_serving():
    server = ours.make_server(HOST, 0, path_app)
    port = server.server_port
    server.server_close()
    assert_refused(port)


# ----------------------------------------------------------------------------------------------
# handle_request and timeout


def test_handle_request_serves_one_request_then_returns():
    with ours.make_server(HOST, 0, path_app, handler_class=QuietHandler) as server:
        for version in ("HTTP/1.0", "HTTP/1.1"):
            done = threading.Event()

            def once(done=done):
                server.handle_request()
                done.set()

            thread = threading.Thread(target=once, daemon=True)
            thread.start()
            with Client(server.server_port) as c:
                # No "Connection: close" on 1.1: handle_request() must still return.
                c.send(request("GET", "/one", version=version))
                r = c.read_response()
                assert r.status == 200 and r.body == b"/one"
                assert done.wait(3), "handle_request() did not return after one request"
            thread.join(TIMEOUT)


def test_handle_request_timeout_calls_handle_timeout():
    class Server(ours.WSGIServer):
        timeout = 0.2
        timeouts = 0

        def handle_timeout(self):
            type(self).timeouts += 1

    with ours.make_server(HOST, 0, path_app, server_class=Server) as server:
        started = time.monotonic()
        server.handle_request()
        elapsed = time.monotonic() - started
        assert Server.timeouts == 1
        assert 0.15 < elapsed < 2, elapsed


def test_handle_request_timeout_attribute_on_instance():
    calls = []
    with ours.make_server(HOST, 0, path_app, handler_class=QuietHandler) as server:
        server.timeout = 0.1
        server.handle_timeout = lambda: calls.append("timeout")
        server.handle_request()
        assert calls == ["timeout"]
        # Then a real request within the timeout is served, without handle_timeout.
        server.timeout = 5
        thread = threading.Thread(target=server.handle_request, daemon=True)
        thread.start()
        assert get(server.server_port, "/in-time", version="HTTP/1.0").body == b"/in-time"
        thread.join(TIMEOUT)
        assert calls == ["timeout"]


# ----------------------------------------------------------------------------------------------
# Signals (a subprocess running serve_forever() in its main thread)

SCRIPT = textwrap.dedent(
    """\
    import signal, sys, time
    from wsgiref_rs.simple_server import make_server, WSGIRequestHandler

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"up"]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    usr1 = []
    def on_usr1(signum, frame):
        usr1.append(signum)
        print("USR1", flush=True)

    signal.signal(signal.SIGUSR1, on_usr1)
    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    print("PORT", server.server_port, flush=True)
    if sys.argv[1] == "catch":
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("STOPPED", len(usr1), flush=True)
            server.server_close()
    else:
        server.serve_forever()
    """
)


def ServerProcess(mode):
    return ScriptServer(SCRIPT, mode)


def wait_serving(port):
    """serve_forever() is running once a request is answered (it may start a moment later).

    Then a pause, so that the server is back waiting: a signal that lands while a request is
    being handled is that request's error (the stdlib's handler logs and swallows it).
    """
    r = get(port, "/ready")
    assert r.status == 200 and r.body == b"up"
    time.sleep(0.3)


@pytest.mark.parametrize("idle_keep_alive", [False, True], ids=["idle", "open-connection"])
def test_ctrl_c_raises_keyboard_interrupt_promptly(idle_keep_alive):
    server = ServerProcess("raise")
    client = None
    try:
        wait_serving(server.port)
        if idle_keep_alive:
            client = Client(server.port)
            client.send(request("GET", "/kept"))
            assert client.read_response().status == 200
            time.sleep(0.3)  # the request is over: serve_forever() is waiting again
        elapsed, out, err = server.signal_and_wait(signal.SIGINT)
    finally:
        server.kill()
        if client is not None:
            client.close()
    assert server.proc.returncode != 0
    assert err.rstrip().splitlines()[-1] == "KeyboardInterrupt", err
    assert "Traceback (most recent call last):" in err
    assert elapsed < 2.0, f"serve_forever() took {elapsed:.2f} s to stop on SIGINT"


def test_ctrl_c_caught_by_the_script_exits_cleanly():
    server = ServerProcess("catch")
    try:
        wait_serving(server.port)
        elapsed, out, err = server.signal_and_wait(signal.SIGINT)
    finally:
        server.kill()
    assert server.proc.returncode == 0, err
    assert out.strip() == "STOPPED 0"
    assert err == ""
    assert elapsed < 2.0


def test_python_signal_handler_runs_while_serving():
    server = ServerProcess("catch")
    try:
        wait_serving(server.port)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGUSR1)
        line = server.readline(5.0)
        assert line is not None, "the SIGUSR1 handler did not run within 5 s"
        elapsed = time.monotonic() - started
        assert line.strip() == "USR1"
        assert elapsed < 2.0, f"the SIGUSR1 handler ran after {elapsed:.2f} s"
        wait_serving(server.port)  # still serving after the handler
        _, out, err = server.signal_and_wait(signal.SIGINT)
    finally:
        server.kill()
    assert out.strip() == "STOPPED 1", err
