"""The native engine behind WSGIServer.serve_forever(): HTTP/1.1 on real sockets.

The classes make_server uses by default run on the engine; these tests check the engine's own
behaviour (keep-alive, pipelining, bodies, framing, errors, shutdown) and that the environ it
builds is the standard library's.
"""

import re
import socket
import threading
import time
import wsgiref.simple_server as std

import pytest
from serving import TIMEOUT, start_server

import wsgiref_rs.simple_server as ours


class Quiet(ours.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class StdQuiet(std.WSGIRequestHandler):
    def log_message(self, *args):
        pass


def serving(app, module=ours, **kwargs):
    """``start_server`` with a handler that logs nothing unless one is given: ``with`` it for the
    server, serving in a thread."""
    kwargs.setdefault("handler_class", Quiet if module is ours else StdQuiet)
    return start_server(app, module=module, **kwargs)


def exchange(port, raw, until_close=False, until=None):
    """Sends raw bytes; returns what came back: one read, or everything until the bytes end with
    `until`, or until EOF when until_close."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(raw)
        if until is not None:
            data = b""
            while not data.endswith(until):
                more = s.recv(1 << 20)
                assert more, data
                data += more
            return data
        if not until_close:
            return s.recv(1 << 20)
        chunks = []
        while True:
            data = s.recv(1 << 20)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def at_once(port, count, raw=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
    """``count`` clients sending ``raw`` at the same time, each on a connection of its own: what
    each got back (one read), in the order they got it."""
    replies = []
    clients = [threading.Thread(target=lambda: replies.append(exchange(port, raw)))
               for _ in range(count)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(TIMEOUT)
    return replies


def responses(data):
    """Splits a stream of Content-Length framed responses into (head, body) pairs."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        out.append((head, rest[:length]))
        data = rest[length:]
    return out


def echo(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["REQUEST_METHOD"].encode() + b" " + environ["PATH_INFO"].encode() + b" " + body]


def test_engine_runs_for_the_default_classes():
    with serving(echo) as server:
        if server._running_engine is None:
            time.sleep(0.2)  # serve_forever() may not have started yet
        assert server._running_engine is not None
        reply = exchange(server.server_port, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")


def test_keep_alive_and_pipelining_answer_in_order():
    requests = b"".join(
        b"POST /%d HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nab%d" % (i, i) for i in range(5)
    )
    with serving(echo) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as s:
            s.sendall(requests)
            data = b""
            while data.count(b"HTTP/1.1 200") < 5 or not data.endswith(b"ab4"):
                more = s.recv(65536)
                assert more, data
                data += more
    bodies = [body for _, body in responses(data)]
    assert bodies == [b"POST /%d ab%d" % (i, i) for i in range(5)]


def test_request_objects_are_reused_only_when_the_app_kept_none_of_them():
    kept = {}
    seen = []

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        seen.append((path, id(environ["wsgi.input"]), id(start_response), id(write)))
        if path == "/keep":
            kept.update(input=environ["wsgi.input"], write=write)
        elif path == "/stale":
            # The objects of a finished request must not reach this one's body or response.
            assert kept["input"].read() == b""
            with pytest.raises(ValueError, match="after the response was finished"):
                kept["write"](b"leak")
            return [environ["wsgi.input"].read()]
        return [b"ok"]

    requests = (
        b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
        b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n"
        b"GET /keep HTTP/1.1\r\nHost: a\r\n\r\n"
        b"POST /stale HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
    )
    with serving(app) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as s:
            s.sendall(requests)
            data = read_until(s, 4, b"body")
    assert [body for _, body in responses(data)] == [b"ok", b"ok", b"ok", b"body"]
    ids = {path: rest for path, *rest in seen}
    # A set nothing kept serves the next request; one the app holds on to is left to it (ids of
    # the objects still alive: the freed start_response's may come back).
    assert ids["/a"] == ids["/b"] == ids["/keep"]
    (input_id, _, write_id), (kept_input, _, kept_write) = ids["/stale"], ids["/keep"]
    assert input_id != kept_input and write_id != kept_write


def read_until(s, count, end):
    """Reads until `count` status lines have come and the bytes end with `end`."""
    data = b""
    while data.count(b"HTTP/1.1 ") < count or not data.endswith(end):
        more = s.recv(65536)
        assert more, data
        data += more
    return data


def test_pipelined_answers_go_out_before_a_body_is_awaited():
    # Small answers are held back to be written together; a client that sends its body only
    # once it has the answers before it must still get them, not wait forever.
    with serving(echo) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as s:
            s.sendall(
                b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
                b"POST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n"
            )
            first = read_until(s, 2, b"GET /2 ")
            s.sendall(b"body")
            last = read_until(s, 1, b"POST /3 body")
    assert [body for _, body in responses(first)] == [b"GET /1 ", b"GET /2 "]
    assert [body for _, body in responses(last)] == [b"POST /3 body"]


def test_a_request_pipelined_behind_a_large_body_is_served_without_more_traffic():
    # While the first request keeps the server busy, a POST whose body is bigger than one read
    # of the event loop and a GET behind it arrive whole. The app reads the body from the
    # socket; the GET is already there then, and no readiness event is still to come for it.
    # (70 KiB: more than one 64 KiB read, and less than the receive window, so all of it is
    # there before the server reads any.)
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            time.sleep(0.3)
        # Read to the body's exact end, as an app that trusts CONTENT_LENGTH does.
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode() + b" " + body]

    body = b"y" * (70 * 1024)
    with serving(app) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as s:
            s.sendall(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
            time.sleep(0.1)
            s.sendall(
                b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body)
                + body
                + b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n"
            )
            data = read_until(s, 3, b"/after ")
    assert [b for _, b in responses(data)] == [b"/slow ", b"/big " + body, b"/after "]


def test_a_client_that_keeps_pipelining_does_not_starve_another():
    # One client pipelines uploads back to back, so its socket always holds more to read and the
    # loop reads it again after each round; another sends one request meanwhile and must be
    # answered within a round or two, not once the first has stopped sending.
    def count(environ, start_response):
        n = len(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d" % n]

    total, body = 2000, b"u" * (100 * 1024)
    upload = b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    with serving(count) as server:
        port = server.server_port
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as busy:
            answered = [0]

            def read_busy():
                tail = b""
                while answered[0] < total:
                    more = busy.recv(1 << 20)
                    if not more:
                        return
                    window = tail + more
                    answered[0] += window.count(b"HTTP/1.1 200")
                    tail = window[-11:]

            def send_busy():
                for _ in range(total):
                    busy.sendall(upload)

            threads = [threading.Thread(target=read_busy), threading.Thread(target=send_busy)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + TIMEOUT
            while answered[0] < 50 and time.monotonic() < deadline:
                time.sleep(0.001)
            reply = exchange(port, b"GET /other HTTP/1.1\r\nHost: a\r\n\r\n", until=b"0")
            at_reply = answered[0]
            for t in threads:
                t.join(TIMEOUT * 3)
    assert reply.startswith(b"HTTP/1.1 200 OK")
    assert answered[0] == total
    assert at_reply < total / 2, (at_reply, total)


def test_pipelined_answers_come_before_the_refusal_of_a_malformed_request():
    with serving(echo) as server:
        reply = exchange(
            server.server_port,
            b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"NOT A REQUEST\r\n\r\n",
            until_close=True,
        )
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert reply.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert reply.index(b"GET /2 ") < reply.index(b"HTTP/1.1 400 Bad Request\r\n")


def test_many_connections_served_in_one_round_each_get_their_own_answer():
    with serving(echo) as server:
        socks = [
            socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT)
            for _ in range(50)
        ]
        try:
            for _ in range(3):
                for i, s in enumerate(socks):
                    s.sendall(b"GET /%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
                for i, s in enumerate(socks):
                    data = read_until(s, 1, b"GET /%d " % i)
                    assert [body for _, body in responses(data)] == [b"GET /%d " % i]
        finally:
            for s in socks:
                s.close()


def test_chunked_request_body_is_dechunked():
    raw = (b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    with serving(echo) as server:
        reply = exchange(server.server_port, raw)
    assert reply.endswith(b"POST /c abcde")


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        b"0\r\n\r\n",
        b"NOT A REQUEST\r\n\r\n",
    ],
)
def test_malformed_requests_get_400_close_and_never_reach_the_app(raw):
    called = []

    def app(environ, start_response):
        called.append(1)
        return echo(environ, start_response)

    with serving(app) as server:
        reply = exchange(server.server_port, raw, until_close=True)
        assert reply.startswith(b"HTTP/1.1 400 "), reply
        assert b"Connection: close" in reply
        # The server goes on serving.
        ok = exchange(server.server_port, b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        assert ok.endswith(b"GET /ok ")
    assert called == [1]


def test_request_line_too_long_is_414():
    with serving(echo) as server:
        raw = b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"
        reply = exchange(server.server_port, raw, until_close=True)
    assert reply.startswith(b"HTTP/1.1 414 ")


def test_generator_is_chunked_and_head_has_no_body():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"one"
        yield b""
        yield b"two"

    with serving(app) as server:
        port = server.server_port
        reply = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", until=b"0\r\n\r\n")
        head = exchange(port, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", until=b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in reply
    assert reply.endswith(b"\r\n\r\n3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n")
    assert head.endswith(b"\r\n\r\n") and b"one" not in head


def test_http10_response_is_close_delimited():
    def app(environ, start_response):
        start_response("200 OK", [])
        yield b"a"
        yield b"b"

    with serving(app) as server:
        reply = exchange(server.server_port, b"GET / HTTP/1.0\r\n\r\n", until_close=True)
    assert reply.endswith(b"\r\n\r\nab")
    assert b"Transfer-Encoding" not in reply


def test_app_error_gives_the_stdlib_500_page_and_a_traceback(capfd):
    def app(environ, start_response):
        raise ValueError("boom in the app")

    with serving(app) as server:
        reply = exchange(server.server_port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        again = exchange(server.server_port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert again.startswith(b"HTTP/1.1 500")
    assert reply.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert reply.endswith(b"\r\n\r\nA server error occurred.  Please contact the administrator.")
    err = capfd.readouterr().err
    assert "Traceback (most recent call last):" in err and "ValueError: boom in the app" in err


def test_result_close_is_always_called():
    closed = []

    class Result:
        def __iter__(self):
            yield b"x"
            raise RuntimeError("mid-body")

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [])
        return Result()

    with serving(app) as server:
        exchange(server.server_port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", until_close=True)
    assert closed == [True]


def test_environ_matches_the_stdlib_for_the_same_request():
    seen = {}

    def app(environ, start_response):
        seen["ours" if "wsgiref_rs" in type(environ["wsgi.input"]).__module__ else "stdlib"] = {
            k: v for k, v in environ.items() if isinstance(v, (str, bool, tuple))
        }
        start_response("200 OK", [])
        return [b""]

    raw = (
        b"GET /a%20b/%C3%A9?x=1&y=%20 HTTP/1.1\r\nHost: example\r\nX-Multi: one\r\nX-Multi: two\r\n"
        b"Content-Type: text/x\r\nAccept: */*\r\n\r\n"
    )
    for module in (std, ours):
        with serving(app, module=module) as server:
            exchange(server.server_port, raw)
    ours_env, std_env = seen["ours"], seen["stdlib"]
    for env in (ours_env, std_env):
        for key in ("REMOTE_PORT", "SERVER_PROTOCOL", "SERVER_PORT"):
            env.pop(key, None)
    assert ours_env == std_env


def test_shutdown_from_another_thread_is_prompt():
    with serving(echo):
        time.sleep(0.1)
        started = time.monotonic()
    assert time.monotonic() - started < 2


def test_threading_mixin_server_overlaps_blocking_apps():
    import socketserver

    class Threaded(socketserver.ThreadingMixIn, ours.WSGIServer):
        daemon_threads = True

    def app(environ, start_response):
        time.sleep(0.3)
        start_response("200 OK", [])
        return [repr(environ["wsgi.multithread"]).encode()]

    with serving(app, server_class=Threaded) as server:
        started = time.monotonic()
        replies = at_once(server.server_port, 8)
        elapsed = time.monotonic() - started
    assert len(replies) == 8 and all(r.endswith(b"\r\n\r\nTrue") for r in replies), replies
    assert elapsed < 8 * 0.3 / 2, elapsed


def test_plain_server_calls_the_app_one_at_a_time():
    active, most = [0], [0]
    lock = threading.Lock()

    def app(environ, start_response):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        start_response("200 OK", [])
        return [repr(environ["wsgi.multithread"]).encode()]

    with serving(app) as server:
        replies = at_once(server.server_port, 4)
    assert most[0] == 1 and len(replies) == 4 and all(r.endswith(b"False") for r in replies)


def test_expect_100_continue_is_answered_when_the_app_reads():
    with serving(echo) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as s:
            s.sendall(b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            assert s.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
            s.sendall(b"hello")
            data = b""
            while not data.endswith(b"POST /e hello"):
                more = s.recv(1024)
                assert more, data
                data += more
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")


def test_expect_100_continue_is_not_sent_when_the_app_ignores_the_body():
    def app(environ, start_response):
        start_response("403 Forbidden", [])
        return [b"no"]

    with serving(app) as server:
        raw = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        reply = exchange(server.server_port, raw, until_close=True)
    assert reply.startswith(b"HTTP/1.1 403 Forbidden\r\n") and b"100 Continue" not in reply
    assert b"Connection: close" in reply  # the unsent body cannot be skipped: the connection ends


def test_access_log_line_is_the_stdlibs(capfd):
    with serving(echo, handler_class=ours.WSGIRequestHandler) as server:
        exchange(server.server_port, b"GET /logged?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    err = capfd.readouterr().err
    line = (r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4} \d\d:\d\d:\d\d\] '
            r'"GET /logged\?q=1 HTTP/1\.1" 200 12$')
    assert re.search(line, err, re.M), err



class _Silenced(ours.WSGIRequestHandler):
    """Handlers whose log_message or log_request does nothing, as users silence wsgiref."""


def _pass(self, *args):
    pass


def _bare_return(self, *args):
    return


def _return_none(self, *args):
    return None


def _docstring(self, *args):
    """Silenced."""


def _ellipsis(self, *args): ...


def _docstring_and_pass(self, *args):
    """Silenced."""
    pass


def _return_constant(self, *args):
    return 1


def _prints(self, format, *args):
    print(format % args)


def _calls_super(self, format, *args):
    ours.WSGIRequestHandler.log_message(self, format, *args)


def _assigns(self, *args):
    unused = 1  # noqa: F841 - a body that does something (assigns), yet nothing visible


@pytest.mark.parametrize("method", ["log_message", "log_request"])
@pytest.mark.parametrize("body, silenced", [
    (_pass, True), (_bare_return, True), (_return_none, True), (_docstring, True),
    (_ellipsis, True), (_docstring_and_pass, True), (_return_constant, True),
    (lambda self, *args: None, True),
    (_prints, False), (_calls_super, False), (_assigns, False),
])
def test_a_handler_that_silences_logging_gives_the_engine_no_access_logger(method, body, silenced):
    """A log method whose body only returns a constant writes nothing: the engine then calls no
    Python for the access line (log=None); any other body is called for each request."""
    from wsgiref_rs import _engine

    handler_class = type("Handler", (_Silenced,), {method: body})
    server = ours.WSGIServer(("127.0.0.1", 0), handler_class)
    try:
        logger = _engine._access_logger(server, handler_class)
    finally:
        server.server_close()
    assert (logger is None) is silenced
    assert _engine._access_logger(server, ours.WSGIRequestHandler) is not None


SIGNAL_SCRIPT = r"""
import signal, sys, os
from wsgiref_rs.simple_server import make_server, demo_app
seen = []
signal.signal(signal.SIGUSR1, lambda *a: (seen.append(1), print("usr1", flush=True)))
server = make_server("127.0.0.1", 0, demo_app)
print(server.server_port, flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    print("interrupted", len(seen), flush=True)
"""


def test_signal_handlers_run_and_ctrl_c_stops_serve_forever():
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", SIGNAL_SCRIPT], stdout=subprocess.PIPE,
                            text=True)
    try:
        port = int(proc.stdout.readline())
        assert exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 200 OK")
        proc.send_signal(signal.SIGUSR1)
        assert proc.stdout.readline() == "usr1\n"
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline() == "interrupted 1\n"
        assert proc.wait(TIMEOUT) == 0
        assert time.monotonic() - started < 2
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(TIMEOUT)
        proc.stdout.close()


def test_file_wrapper_response_goes_out_whole(tmp_path):
    import hashlib

    path = tmp_path / "big.bin"
    block = bytes(range(256)) * 4096  # 1 MiB
    with open(path, "wb") as f:
        for i in range(16):
            f.write(block[i:] + block[:i])
    expected = hashlib.sha256(path.read_bytes()).hexdigest()

    def app(environ, start_response):
        f = open(path, "rb")
        f.seek(10)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 65536)

    with serving(app) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            while len(body) < length:
                more = s.recv(1 << 20)
                assert more
                body += more
    assert length == 16 * len(block) - 10
    assert hashlib.sha256(path.read_bytes()[:10] + body).hexdigest() == expected


@pytest.mark.parametrize(
    "attr, value, raw, status",
    [
        ("limit_request_line", 100, b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n\r\n", b"414"),
        ("limit_request_fields", 3,
         b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(5))
         + b"\r\n",
         b"431"),
        ("limit_request_field_size", 200,
         b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 300 + b"\r\n\r\n", b"431"),
        ("limit_request_body", 10,
         b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world", b"413"),
    ],
)
def test_limits_are_server_attributes(attr, value, raw, status):
    with serving(echo, **{attr: value}) as server:
        reply = exchange(server.server_port, raw, until_close=True)
        ok = exchange(server.server_port, b"GET /fine HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 " + status), reply
    assert ok.endswith(b"GET /fine ")


def test_idle_keep_alive_connections_are_closed_after_the_timeout():
    with serving(echo, keepalive_timeout=0.2) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            assert s.recv(65536) == b""  # closed by the server
            assert time.monotonic() - started < 3


def test_handle_request_serves_one_request_and_times_out_like_socketserver():
    timeouts = []

    class Server(ours.WSGIServer):
        timeout = 0.2

        def handle_timeout(self):
            timeouts.append(True)

    server = ours.make_server("127.0.0.1", 0, echo, server_class=Server, handler_class=Quiet)
    try:
        started = time.monotonic()
        server.handle_request()
        assert timeouts == [True] and time.monotonic() - started < 2
        replies = []
        raw = b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
        client = threading.Thread(
            target=lambda: replies.append(exchange(server.server_port, raw, until_close=True))
        )
        client.start()
        server.handle_request()
        client.join(TIMEOUT)
    finally:
        server.server_close()
    assert replies[0].startswith(b"HTTP/1.1 200 OK") and replies[0].endswith(b"GET /one ")
    assert b"Connection: close" in replies[0]


def test_keyboard_interrupt_while_logging_stops_serve_forever():
    """Ctrl-C can land while the access line is written (Python code): serve_forever must end
    with the KeyboardInterrupt. (The stdlib writes that line inside BaseHandler.run(), whose bare
    except swallows it; a Ctrl-C that does not stop the server is no behaviour worth keeping.)"""

    class Interrupting(ours.WSGIRequestHandler):
        def log_message(self, *args):
            raise KeyboardInterrupt

    server = ours.make_server("127.0.0.1", 0, echo, handler_class=Interrupting)
    outcome = []

    def serve():
        try:
            server.serve_forever(poll_interval=0.05)
        except KeyboardInterrupt:
            outcome.append("interrupted")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        exchange(server.server_port, b"GET / HTTP/1.0\r\n\r\n", until_close=True)
        thread.join(TIMEOUT)
    finally:
        if thread.is_alive():
            server.shutdown()
        server.server_close()
    assert outcome == ["interrupted"]


@pytest.mark.parametrize("allow", [False, True])
def test_underscore_header_names_are_dropped_unless_allowed(allow):
    class Handler(Quiet):
        allow_underscore_headers = allow

    def app(environ, start_response):
        start_response("200 OK", [])
        return [repr(sorted(k for k in environ if k.startswith("HTTP_X"))).encode()]

    with serving(app, handler_class=Handler) as server:
        raw = b"GET / HTTP/1.1\r\nHost: x\r\nX_Spoof: 1\r\nX-Real: 2\r\n\r\n"
        reply = exchange(server.server_port, raw)
    expected = ["HTTP_X_REAL", "HTTP_X_SPOOF"] if allow else ["HTTP_X_REAL"]
    assert reply.startswith(b"HTTP/1.1 200 OK")  # the engine answered, not the stdlib's design
    assert reply.endswith(repr(expected).encode())


def test_readline_at_the_end_of_a_body_does_not_wait_for_the_next_request():
    def app(environ, start_response):
        lines = environ["wsgi.input"].readlines()
        start_response("200 OK", [])
        return [repr(lines).encode()]

    body = b"line one\nline two\r\nthird"
    raw = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
           + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    with serving(app) as server:
        reply = exchange(server.server_port, raw, until=b"[]")
    assert b"[b'line one\\n', b'line two\\r\\n', b'third']" in reply


def test_malformed_chunked_body_gets_400_without_the_app_and_an_error_mid_body_is_not_a_clean_end():
    called = []

    def app(environ, start_response):
        called.append(1)
        return echo(environ, start_response)

    def failing(environ, start_response):
        start_response("200 OK", [])
        yield b"partial"
        raise RuntimeError("mid-body")

    with serving(app) as server:
        raw = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        reply = exchange(server.server_port, raw, until_close=True)
    assert reply.startswith(b"HTTP/1.1 400 ") and called == []
    with serving(failing) as server:
        cut = exchange(server.server_port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", until_close=True)
    assert cut.endswith(b"7\r\npartial\r\n")  # no last chunk: the client sees the body is cut


def test_engine_records_go_to_python_logging_under_wsgiref_rs(caplog):
    """Rust `log` records (pyo3-log): a refused request, max_connections reached, a slow head."""
    caplog.set_level("INFO", logger="wsgiref_rs")
    with serving(echo, max_connections=1, header_timeout=0.3) as server:
        port = server.server_port
        bad = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n"
        assert exchange(port, bad, until_close=True).startswith(b"HTTP/1.1 400")
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as slow:
            slow.sendall(b"GET / HT")  # an unfinished head holds the one connection allowed
            time.sleep(0.1)
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as extra:
                assert extra.recv(100) == b""  # closed at once
            assert slow.recv(100) == b""  # closed by the header timeout (swept every second)
    records = [(r.name, r.levelname, r.getMessage())
               for r in caplog.records if r.name.startswith("wsgiref_rs")]
    assert all(name.startswith("wsgiref_rs.engine.") for name, _, _ in records), records
    messages = "\n".join(f"{level} {message}" for _, level, message in records)
    assert re.search(r"INFO refused a request from 127\.0\.0\.1:\d+: 400 ", messages), messages
    assert "WARNING max_connections (1) reached" in messages, messages
    timed_out = r"INFO closed the connection from 127\.0\.0\.1:\d+: its request head took longer"
    assert re.search(timed_out, messages), messages


START_RESPONSE_CASES = {
    "plain": ("200 OK", [("Content-Type", "text/plain"), ("X-A", "1")]),
    "no headers": ("204 No Content", []),
    "status not str": (200, []),
    "status bytes": (b"200 OK", []),
    "status short": ("200", []),
    "status letters": ("abc OK", []),
    "status no space": ("200-OK", []),
    "status non-ASCII digits": ("\uff12\uff10\uff10 OK", []),
    "headers tuple": ("200 OK", (("X-A", "1"),)),
    "item list": ("200 OK", [["X-A", "1"]]),
    "item of three": ("200 OK", [("X-A", "1", "2")]),
    "name not str": ("200 OK", [(1, "1")]),
    "value not str": ("200 OK", [("X-A", 1)]),
    "name str subclass": ("200 OK", [(type("S", (str,), {})("X-A"), "1")]),
    "hop-by-hop": ("200 OK", [("Connection", "close")]),
    "hop-by-hop any case": ("200 OK", [("tRaNsFeR-EnCoDiNg", "chunked")]),
    "hop-by-hop KELVIN SIGN": ("200 OK", [("\u212aeep-Alive", "1")]),
    "control char in value": ("200 OK", [("X-A", "a\r\nX-B: b")]),
    "control char in name": ("200 OK", [("X-A\n", "1")]),
    "tab in value": ("200 OK", [("X-A", "a\tb")]),
    "non-ASCII value": ("200 OK", [("X-A", "caf\xe9")]),
    "non-Latin-1 value": ("200 OK", [("X-A", "\u20ac")]),
    "non-Latin-1 status": ("200 \u20ac", []),
}

# Documented differences (README): control characters are refused as current CPython refuses
# them (3.11's handler sends them), and a header given as a list instead of a tuple is sent
# (3.11's handler fails on it while formatting the head, after the status line went out).
DOCUMENTED = {
    "control char in value": (b"500", ["ValueError: Control characters not allowed in headers"]),
    "control char in name": (b"500", ["ValueError: Control characters not allowed in headers"]),
    "item list": (b"200", []),
}
# A header Latin-1 cannot encode: the same error, but the engine sends nothing of the head (the
# stdlib's handler has sent its status line by then).
NOTHING_SENT = {"non-Latin-1 value"}


@pytest.mark.parametrize("case", START_RESPONSE_CASES)
def test_start_response_accepts_and_refuses_what_the_stdlib_does(case, capfd):
    """The engine checks the common call natively; every outcome must stay the stdlib's."""
    status, headers = START_RESPONSE_CASES[case]
    outcomes = []
    for module in (std, ours):
        def app(environ, start_response):
            start_response(status, headers)
            return [b""]

        with serving(app, module=module) as server:
            reply = exchange(server.server_port, b"GET / HTTP/1.0\r\n\r\n", until_close=True)
        err = capfd.readouterr().err
        last = [line for line in err.splitlines() if line and not line.startswith(" ")]
        code = reply.split(b"\r\n", 1)[0].split(b" ", 2)[1] if reply else b""
        # (An error the engine raises natively has no Python frames to show above its last line.)
        outcomes.append((code, last[-1:] if "Error" in err else []))
    if case in NOTHING_SENT:
        assert outcomes[1] == (b"", outcomes[0][1]) and outcomes[0][1]
    else:
        assert outcomes[1] == DOCUMENTED.get(case, outcomes[0])


def test_request_keys_are_what_get_environ_adds_before_the_headers():
    """The engine skips a header that would overwrite one of these keys, as get_environ() does:
    they must be the keys it sets itself (REMOTE_HOST from an overridden address_string)."""
    import email.message

    from wsgiref_rs import _native

    class Handler(ours.WSGIRequestHandler):
        def __init__(self):  # no socket: only what get_environ() reads
            self.server = type("Server", (), {"base_environ": {"BASE": ""}})()
            self.request_version, self.command, self.path = "HTTP/1.1", "POST", "/p?q"
            self.client_address = ("127.0.0.1", 1234)
            self.headers = email.message.Message()
            self.headers["Content-Length"] = "0"

        def address_string(self):
            return "client.example"

    added = set(Handler().get_environ()) - {"BASE"}
    if "REMOTE_HOST" not in added:  # Python 3.13 sets it no more
        added.add("REMOTE_HOST")
    assert _native.REQUEST_KEYS == added


def test_max_connections_defaults_to_what_the_descriptor_limit_allows():
    import resource

    from wsgiref_rs import _engine

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert ours.WSGIServer.max_connections is None
    assert _engine._max_connections(None) == max(64, soft - 64)
    assert _engine._max_connections(5) == 5
    assert _engine._max_connections(0) == 1


@pytest.mark.parametrize("expect", [False, True])
def test_large_reads_go_straight_into_the_result_and_stop_at_the_body(expect):
    """read(n) of 16 KiB or more fills its bytes object from the socket directly: it must give the
    same bytes, never read into the next request, and send 100 Continue first when asked."""
    body = bytes(range(256)) * 400  # 100 KiB
    seen = []

    def app(environ, start_response):
        stream = environ["wsgi.input"]
        parts = []
        while True:
            part = stream.read(20_000)
            if not part:
                break
            parts.append(len(part))
            seen.append(part)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b",".join(b"%d" % n for n in parts)]

    head = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
    head += b"Expect: 100-continue\r\n\r\n" if expect else b"\r\n"
    with serving(app) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as s:
            s.sendall(head + (b"" if expect else body[:1000]))
            if expect:
                assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
                s.sendall(body[:1000])
            time.sleep(0.05)
            s.sendall(body[1000:] + b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while data.count(b"HTTP/1.1 200") < 2:
                more = s.recv(65536)
                assert more, data
                data += more
    assert b"".join(seen) == body
    assert b"20000,20000,20000,20000,20000,2400" in data


def test_a_streamed_response_does_not_wait_for_delayed_acks():
    # Each chunk is its own small write. With Nagle's algorithm on, the chunks after the first
    # wait for the client's ACK, which a client that has entered interactive mode delays by
    # about 40 ms: five such responses would take 200 ms; they take about 1 ms.
    def stream(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        for i in range(20):
            yield b"%02d" % i

    with serving(stream) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as s:
            elapsed = 0.0
            for _ in range(6):
                started = time.monotonic()
                s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                data = read_until(s, 1, b"0\r\n\r\n")
                elapsed += time.monotonic() - started
                assert b"".join(b"2\r\n%02d\r\n" % i for i in range(20)) in data
    assert elapsed < 0.15, elapsed
