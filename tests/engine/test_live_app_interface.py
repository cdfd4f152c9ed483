"""The application side of WSGI on a live server: the write() callable, exc_info, the result's
close() (always called: normal end, app error, client gone), the standard library's 500 page and
traceback for errors before the headers, a closed connection for errors after them, and a client
that disconnects mid-response costing at most a log line.
"""

import sys
import threading
import time

from live_http import ERROR_BODY, TIMEOUT, Client, get, request


class StderrWatch:
    """Takes sys.stderr for the test and keeps everything written to it, waiting for text to show
    up. (capfd can lose text that a server thread writes while the test reads and resets it.)"""

    def __init__(self, monkeypatch):
        self.parts = []
        self.seen = 0
        monkeypatch.setattr(sys, "stderr", self)

    def write(self, text):
        self.parts.append(text)
        return len(text)

    def flush(self):
        pass

    def take(self):
        """Everything written since the last reset()."""
        return "".join(self.parts[self.seen :])

    def wait_for(self, needle, timeout=5.0):
        deadline = time.monotonic() + timeout
        while needle not in self.take() and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.take()

    def reset(self):
        self.seen = len(self.parts)


def assert_truncated(client, response, full_length=None):
    """The response must visibly end early: no last chunk, or short of Content-Length, or EOF."""
    assert response is not None and response.status == 200
    if response.framing == "chunked":
        assert not response.complete, "an app error after the headers must not end the body"
    elif response.framing == "length":
        assert not response.complete
    else:
        assert response.framing == "close"
    assert client.eof, "the connection must be closed"


# ----------------------------------------------------------------------------------------------
# write()


def test_write_callable(serve):
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        write(b"twice ")
        return [b"returned"]

    server = serve(app)
    for version in ("HTTP/1.0", "HTTP/1.1"):
        r = get(server.port, version=version)
        assert r.status == 200 and r.body == b"written twice returned"


def test_write_only_with_content_length(serve):
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Length", "10")])
        write(b"01234")
        write(b"56789")
        return []

    server = serve(app)
    with Client(server.port) as c:
        c.send(request() + request())
        for _ in range(2):
            r = c.read_response()
            assert r.status == 200 and r.body == b"0123456789" and r.framing == "length"


# ----------------------------------------------------------------------------------------------
# exc_info


def test_exc_info_before_headers_replaces_the_status(serve, monkeypatch):
    watch = StderrWatch(monkeypatch)
    def app(environ, start_response):
        start_response("200 OK", [("X-First", "1")])
        try:
            raise ValueError("changed my mind")
        except ValueError:
            start_response("503 Not Now", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"replaced"]

    server = serve(app)
    r = get(server.port)
    assert (r.status, r.reason, r.body) == (503, "Not Now", b"replaced")
    assert not r.has("X-First")
    assert "Traceback" not in watch.take()


def test_start_response_twice_without_exc_info_is_an_error(serve, monkeypatch):
    watch = StderrWatch(monkeypatch)
    def app(environ, start_response):
        start_response("200 OK", [])
        start_response("404 Not Found", [])
        return [b"never"]

    server = serve(app)
    r = get(server.port)
    assert (r.status, r.body) == (500, ERROR_BODY)
    assert "Headers already set!" in watch.wait_for("Headers already set!")


def test_exc_info_after_headers_reraises_and_closes(serve, monkeypatch):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first part"
        try:
            raise KeyError("late trouble")
        except KeyError:
            start_response("500 Oops", [], sys.exc_info())  # re-raises the KeyError
        yield b"never sent"

    server = serve(app)
    watch = StderrWatch(monkeypatch)
    for version in ("HTTP/1.0", "HTTP/1.1"):
        watch.reset()
        with Client(server.port) as c:
            c.send(request(version=version))
            r = c.read_response()
            assert r.body == b"first part"
            assert_truncated(c, r)
        # The access line is written last: once it is in, nothing of this request is still coming
        log = watch.wait_for(f'"GET / {version}" 200')
        # The exception being handled from Python 3.11 on; exc_info[0](exc_info[1]) before.
        raised = (
            "KeyError: 'late trouble'" if sys.version_info >= (3, 11)
            else "KeyError: KeyError('late trouble')"
        )
        assert "Traceback (most recent call last):" in log and raised in log


# ----------------------------------------------------------------------------------------------
# Errors


def test_error_before_headers_gets_the_500_page(serve, monkeypatch):
    def app(environ, start_response):
        raise ValueError("boom")

    server = serve(app)
    watch = StderrWatch(monkeypatch)
    for version in ("HTTP/1.0", "HTTP/1.1"):
        watch.reset()
        r = get(server.port, version=version)
        assert (r.status, r.reason) == (500, "Internal Server Error")
        assert r.body == ERROR_BODY
        assert r.get("Content-Type") == "text/plain"
        assert r.get("Content-Length") == str(len(ERROR_BODY))
        log = watch.wait_for("ValueError: boom")
        assert "Traceback (most recent call last):" in log and "ValueError: boom\n" in log
    r = get(server.port, "/", version="HTTP/1.1")
    assert r.status == 500  # and it goes on serving


def test_error_in_the_first_iteration_still_gets_the_500_page(serve, monkeypatch):
    watch = StderrWatch(monkeypatch)
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise RuntimeError("before any body")
        yield b"unreachable"

    server = serve(app)
    r = get(server.port)
    assert (r.status, r.body) == (500, ERROR_BODY)
    assert "RuntimeError: before any body" in watch.wait_for("RuntimeError")


def test_str_instead_of_bytes_is_the_stdlib_error(serve, monkeypatch):
    watch = StderrWatch(monkeypatch)
    def app(environ, start_response):
        start_response("200 OK", [])
        return ["text, not bytes"]

    server = serve(app)
    r = get(server.port)
    assert (r.status, r.body) == (500, ERROR_BODY)
    log = watch.wait_for("AssertionError")
    assert "write() argument must be a bytes instance" in log


def test_error_after_headers_closes_the_connection(serve, monkeypatch):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/length":
            start_response("200 OK", [("Content-Length", "100")])
        else:
            start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"0123456789"
        raise OSError("disk gone")

    server = serve(app)
    watch = StderrWatch(monkeypatch)
    for version in ("HTTP/1.0", "HTTP/1.1"):
        for path in ("/length", "/stream"):
            watch.reset()
            with Client(server.port) as c:
                c.send(request("GET", path, version=version) + request("GET", "/never"))
                r = c.read_response()
                assert r.body == b"0123456789"
                assert_truncated(c, r)
            assert "OSError: disk gone" in watch.wait_for("OSError: disk gone")


# ----------------------------------------------------------------------------------------------
# close() of the result


class ClosingResult:
    def __init__(self, items, closed, fail_at=None):
        self.items, self.closed, self.fail_at = items, closed, fail_at

    def __iter__(self):
        for i, item in enumerate(self.items):
            if i == self.fail_at:
                raise RuntimeError("iteration failed")
            yield item

    def close(self):
        self.closed.set()


def test_close_is_called_after_a_normal_response(serve):
    closed = threading.Event()

    def app(environ, start_response):
        start_response("200 OK", [])
        return ClosingResult([b"a", b"b"], closed)

    server = serve(app)
    r = get(server.port)
    assert r.body == b"ab"
    assert closed.wait(TIMEOUT)


def test_close_is_called_when_iteration_raises(serve, monkeypatch):
    events = [threading.Event(), threading.Event()]

    def app(environ, start_response):
        start_response("200 OK", [])
        fail_at = 0 if environ["PATH_INFO"] == "/0" else 1
        return ClosingResult([b"a", b"b"], events[fail_at], fail_at=fail_at)

    server = serve(app)
    assert get(server.port, "/0").status == 500  # before any body: the 500 page
    assert events[0].wait(TIMEOUT)
    with Client(server.port) as c:
        c.send(request("GET", "/1"))
        r = c.read_response()
        assert r.body == b"a"
        assert_truncated(c, r)
    assert events[1].wait(TIMEOUT)


def test_client_disconnect_mid_response(serve, monkeypatch):
    closed = threading.Event()
    produced = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])

        def pieces():
            for i in range(4096):  # at most 256 MiB; the client leaves long before
                produced.append(i)
                yield b"x" * 65536

        return ClosingResult(pieces(), closed)

    server = serve(app)
    watch = StderrWatch(monkeypatch)
    for leave in ("abort", "close"):
        watch.reset()
        closed.clear()
        produced.clear()
        c = Client(server.port)
        c.send(request("GET", "/big"))
        c._fill(time.monotonic() + TIMEOUT, "the first bytes")
        c.abort() if leave == "abort" else c.close()
        assert closed.wait(TIMEOUT), "close() was not called after the client left"
        assert len(produced) < 4096, "the server kept producing for a client that left"
        log = watch.take()
        assert "Traceback" not in log, log
        assert len(log.splitlines()) <= 1, log
        assert get(server.port, "/after").status == 200
