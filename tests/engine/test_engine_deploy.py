"""The native engine's deployment pieces, on the Engine class itself: Unix-domain listening
sockets, several listening sockets on one loop, trusted proxy headers (forwarded_allow_ips), and
the graceful stop (stop(graceful_timeout))."""

import ast
import contextlib
import os
import signal
import socket
import threading
import time

import pytest

from wsgiref_rs import _native

TIMEOUT = 10

BASE_ENVIRON = {
    "SERVER_NAME": "localhost",
    "GATEWAY_INTERFACE": "CGI/1.1",
    "SERVER_PORT": "0",
    "SCRIPT_NAME": "",
    "SERVER_SOFTWARE": "deploy-test/1",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.multithread": False,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}


@pytest.fixture
def tcp_listener():
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


@pytest.fixture
def unix_listener(tmp_path):
    path = str(tmp_path / "engine.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(path)
        sock.listen(64)
        yield sock


def make_engine(app, listeners, **kwargs):
    first, *rest = listeners
    return _native.Engine(
        first.fileno(), app, dict(BASE_ENVIRON), "deploy-test/1",
        listen_fds=[s.fileno() for s in rest] or None, **kwargs,
    )


class Serving:
    """An engine running serve_forever() in a thread; `errors` gets what it raised."""

    def __init__(self, engine):
        self.engine = engine
        self.errors = []
        self.returned = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.engine.serve_forever(poll_interval=0.05)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.errors.append(e)
        finally:
            self.returned.set()

    def join(self, timeout=TIMEOUT):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "serve_forever() did not return"
        assert self.errors == []


@contextlib.contextmanager
def serving(app, listeners, **kwargs):
    """Engine(listeners[0], listen_fds=listeners[1:], **kwargs) serving in a thread."""
    running = Serving(make_engine(app, listeners, **kwargs))
    try:
        yield running
    finally:
        running.engine.stop()
        running.join()


def connect(listener):
    """A client connection to a listening socket of either family."""
    address = listener.getsockname()
    if listener.family == socket.AF_UNIX:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(TIMEOUT)
        client.connect(address)
        return client
    return socket.create_connection(address, timeout=TIMEOUT)


def read_response(sock):
    """One Content-Length framed response: (head, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, data
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        more = sock.recv(65536)
        assert more, (head, body)
        body += more
    return head, body


def request(listener, raw=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
    with connect(listener) as client:
        client.sendall(raw)
        return read_response(client)


def environ_app(environ, start_response):
    """Answers with the environ keys the tests look at."""
    keys = ("REMOTE_ADDR", "REMOTE_PORT", "wsgi.url_scheme", "HTTPS", "HTTP_X_FORWARDED_FOR",
            "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED", "PATH_INFO")
    body = repr({k: environ[k] for k in keys if k in environ}).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def environ_of(listener, headers=b""):
    head, body = request(listener, b"GET /e HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    return ast.literal_eval(body.decode())


# --- Unix-domain sockets and several listeners ---------------------------------------------------

def test_unix_socket_peer_has_empty_remote_addr_no_port_and_logs_as_empty(unix_listener):
    logged = []
    with serving(environ_app, [unix_listener], log=lambda *args: logged.append(args)):
        env = environ_of(unix_listener)
    assert env["REMOTE_ADDR"] == ""
    assert "REMOTE_PORT" not in env
    assert env["PATH_INFO"] == "/e"
    assert logged == [("GET /e HTTP/1.1", "200", len(repr(env)), ("", 0))]


def test_tcp_peer_keeps_its_address_and_port(tcp_listener):
    logged = []
    with serving(environ_app, [tcp_listener], log=lambda *args: logged.append(args)):
        with connect(tcp_listener) as client:
            client.sendall(b"GET /e HTTP/1.1\r\nHost: x\r\n\r\n")
            head, body = read_response(client)
            port = client.getsockname()[1]
    env = ast.literal_eval(body.decode())
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("127.0.0.1", str(port))
    assert logged[0][3] == ("127.0.0.1", port)


def test_unix_socket_keep_alive_and_handle_one(unix_listener):
    with serving(environ_app, [unix_listener]):
        with connect(unix_listener) as client:
            for _ in range(3):
                client.sendall(b"GET /k HTTP/1.1\r\nHost: x\r\n\r\n")
                head, _ = read_response(client)
                assert head.startswith(b"HTTP/1.1 200 ") and b"Connection: close" not in head
    engine = make_engine(environ_app, [unix_listener])
    results = []
    worker = threading.Thread(target=lambda: results.append(engine.handle_one(TIMEOUT)))
    worker.start()
    head, body = request(unix_listener)
    worker.join(TIMEOUT)
    assert results == [True]
    assert b"Connection: close" in head and b"'REMOTE_ADDR': ''" in body
    assert engine.handle_one(0.05) is False


def test_every_listen_fd_is_served_by_the_same_loop(tcp_listener, unix_listener):
    threads_seen = set()

    def app(environ, start_response):
        threads_seen.add(threading.get_ident())
        return environ_app(environ, start_response)

    with socket.create_server(("127.0.0.1", 0)) as second_tcp:
        with serving(app, [tcp_listener, unix_listener, second_tcp]):
            listeners = (tcp_listener, unix_listener, second_tcp)
            addresses = [environ_of(s)["REMOTE_ADDR"] for s in listeners]
            # And again in another order, each connection kept open meanwhile.
            clients = [connect(s) for s in (second_tcp, unix_listener, tcp_listener)]
            for client in clients:
                client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            for client in clients:
                assert read_response(client)[0].startswith(b"HTTP/1.1 200 ")
                client.close()
    assert addresses == ["127.0.0.1", "", "127.0.0.1"]
    assert len(threads_seen) == 1


def test_handle_one_takes_a_connection_from_any_listener(tcp_listener, unix_listener):
    engine = make_engine(environ_app, [tcp_listener, unix_listener])
    results = []
    worker = threading.Thread(target=lambda: results.append(engine.handle_one(TIMEOUT)))
    worker.start()
    head, _ = request(unix_listener)
    worker.join(TIMEOUT)
    assert results == [True] and head.startswith(b"HTTP/1.1 200 ")


def test_what_is_no_listening_stream_socket_is_refused(tmp_path, tcp_listener):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as unbound, \
            open(tmp_path / "file", "wb") as regular:
        cases = [
            (udp.fileno(), "not a stream socket"),
            (unbound.fileno(), "not listening"),
            (regular.fileno(), "is not a socket"),
        ]
        for fd, message in cases:
            with pytest.raises(ValueError, match=message):
                _native.Engine(fd, environ_app, {}, "x")
            with pytest.raises(ValueError, match=message):
                _native.Engine(tcp_listener.fileno(), environ_app, {}, "x", listen_fds=[fd])


# --- trusted proxy headers ------------------------------------------------------------------------

SPOOF = b"X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"


@pytest.mark.parametrize(
    "allow", [["127.0.0.1"], ["10.0.0.0/8", "127.0.0.0/8"], ["*"], "::1, 127.0.0.1"]
)
def test_trusted_peer_sets_remote_addr_and_scheme(tcp_listener, allow):
    with serving(environ_app, [tcp_listener], forwarded_allow_ips=allow):
        env = environ_of(tcp_listener, SPOOF)
        plain = environ_of(tcp_listener)
    want = "6.6.6.6" if allow == ["*"] else "203.0.113.7"
    assert env["REMOTE_ADDR"] == want
    assert env["wsgi.url_scheme"] == "https" and env["HTTPS"] == "on"
    # The headers stay visible, and a request without them keeps the peer's values.
    assert env["HTTP_X_FORWARDED_FOR"] == "6.6.6.6, 203.0.113.7"
    assert plain["REMOTE_ADDR"] == "127.0.0.1" and plain["wsgi.url_scheme"] == "http"
    assert "HTTPS" not in plain


@pytest.mark.parametrize("allow", [None, [], ["10.0.0.0/8"], ["::1"], ["unix"], ["127.0.0.2"]])
def test_untrusted_peer_cannot_spoof_remote_addr_or_scheme(tcp_listener, allow):
    with serving(environ_app, [tcp_listener], forwarded_allow_ips=allow):
        env = environ_of(tcp_listener, SPOOF + b"Forwarded: for=1.1.1.1;proto=https\r\n")
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["wsgi.url_scheme"] == "http" and "HTTPS" not in env
    assert env["HTTP_X_FORWARDED_FOR"] == "6.6.6.6, 203.0.113.7"
    assert env["HTTP_X_FORWARDED_PROTO"] == "https"


def test_forwarded_header_is_used_without_x_forwarded_for(tcp_listener):
    with serving(environ_app, [tcp_listener], forwarded_allow_ips=["127.0.0.1"]):
        env = environ_of(tcp_listener,
                         b'Forwarded: for=6.6.6.6, for="[2001:db8::7]:4711";proto=https\r\n')
        both = environ_of(tcp_listener,
                          b"Forwarded: for=6.6.6.6\r\nX-Forwarded-For: 203.0.113.9\r\n")
        proto_http = environ_of(tcp_listener, b"X-Forwarded-Proto: http\r\n")
    assert env["REMOTE_ADDR"] == "2001:db8::7" and env["wsgi.url_scheme"] == "https"
    assert both["REMOTE_ADDR"] == "203.0.113.9"
    assert proto_http["wsgi.url_scheme"] == "http" and proto_http["REMOTE_ADDR"] == "127.0.0.1"


def test_unix_peer_is_trusted_only_with_unix(unix_listener, tcp_listener):
    with serving(environ_app, [unix_listener, tcp_listener], forwarded_allow_ips=["unix"]):
        over_unix = environ_of(unix_listener, SPOOF)
        over_tcp = environ_of(tcp_listener, SPOOF)
    assert over_unix["REMOTE_ADDR"] == "203.0.113.7" and over_unix["wsgi.url_scheme"] == "https"
    assert "REMOTE_PORT" not in over_unix
    assert over_tcp["REMOTE_ADDR"] == "127.0.0.1" and over_tcp["wsgi.url_scheme"] == "http"
    with serving(environ_app, [unix_listener], forwarded_allow_ips=["127.0.0.1", "::1"]):
        untrusted_unix = environ_of(unix_listener, SPOOF)
    assert untrusted_unix["REMOTE_ADDR"] == "" and untrusted_unix["wsgi.url_scheme"] == "http"


def test_access_log_names_the_forwarded_client(unix_listener):
    logged = []
    with serving(environ_app, [unix_listener], forwarded_allow_ips=["unix"],
                 log=lambda *args: logged.append(args)):
        environ_of(unix_listener, b"X-Forwarded-For: 203.0.113.7\r\n")
    assert logged[0][3] == ("203.0.113.7", 0)


@pytest.mark.parametrize(
    ("allow", "error", "message"),
    [
        (["127.0.0.1", "localhost"], ValueError, '"localhost" is not an IP address'),
        (["10.0.0.0/33"], ValueError, "10.0.0.0/33"),
        ("127.0.0.1, nope", ValueError, "nope"),
        ([1], TypeError, "must be str, not int"),
        (5, TypeError, "not iterable"),
    ],
)
def test_bad_forwarded_allow_ips_are_refused_when_the_engine_is_made(
    tcp_listener, allow, error, message
):
    with pytest.raises(error, match=message):
        make_engine(environ_app, [tcp_listener], forwarded_allow_ips=allow)


# --- graceful stop --------------------------------------------------------------------------------

def slow_app(started, delay=0.5):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            started.set()
            time.sleep(delay)
        body = b"done " + environ["PATH_INFO"].encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return app


def no_answer(listener, wait=0.3):
    """True when a new connection gets no response (or is refused or closed) within `wait`."""
    try:
        client = connect(listener)
    except OSError:
        return True
    with client:
        client.settimeout(wait)
        try:
            client.sendall(b"GET /new HTTP/1.1\r\nHost: x\r\n\r\n")
            return client.recv(100) == b""
        except (TimeoutError, OSError):
            return True


@pytest.mark.parametrize("threads", [0, 4])
@pytest.mark.parametrize("family", ["tcp", "unix"])
def test_graceful_stop_finishes_the_slow_request_and_closes_idle_connections(
    tcp_listener, unix_listener, threads, family
):
    listener = tcp_listener if family == "tcp" else unix_listener
    started = threading.Event()
    running = Serving(make_engine(slow_app(started), [listener], threads=threads))
    with contextlib.ExitStack() as clients:
        clients.callback(running.join)
        clients.callback(running.engine.stop)
        idle, partial, slow = (clients.enter_context(connect(listener)) for _ in range(3))
        idle.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = read_response(idle)
        assert body == b"done /first" and b"Connection: close" not in head
        partial.sendall(b"GET /partial HTTP/1.1\r\nHo")
        slow.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        assert started.wait(TIMEOUT)
        time.sleep(0.05)  # the partial head has been read by now
        stopped_at = time.monotonic()
        running.engine.stop(5)
        # The idle keep-alive connection is closed.
        assert idle.recv(100) == b""
        # No new connection is served.
        assert no_answer(listener)
        # A request that was on its way is served, with Connection: close.
        partial.sendall(b"st: x\r\n\r\n")
        head, body = read_response(partial)
        assert body == b"done /partial" and b"\r\nConnection: close" in head
        assert partial.recv(100) == b""
        # The slow request's response arrives whole, and says the connection ends.
        head, body = read_response(slow)
        assert head.startswith(b"HTTP/1.1 200 OK") and b"\r\nConnection: close" in head
        assert body == b"done /slow"
        assert slow.recv(100) == b""
        running.join()
        assert time.monotonic() - stopped_at < 3
    # The listening socket is still the caller's, and serves again.
    with serving(slow_app(threading.Event()), [listener]):
        assert request(listener)[1] == b"done /"


def test_graceful_stop_with_nothing_in_flight_returns_promptly(tcp_listener):
    with serving(environ_app, [tcp_listener]) as running:
        environ_of(tcp_listener)
        started = time.monotonic()
        running.engine.stop(30)
        assert running.returned.wait(TIMEOUT)
        assert time.monotonic() - started < 1


def test_graceful_timeout_elapsed_returns_and_closes_what_remains(tcp_listener):
    release = threading.Event()
    started = threading.Event()

    def app(environ, start_response):
        started.set()
        release.wait(TIMEOUT)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    running = Serving(make_engine(app, [tcp_listener], threads=2))
    try:
        busy = connect(tcp_listener)
        busy.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        stalled = connect(tcp_listener)
        stalled.sendall(b"GET / HTTP/1.1\r\nHo")  # never completed
        assert started.wait(TIMEOUT)
        time.sleep(0.05)
        stopped_at = time.monotonic()
        running.engine.stop(0.3)
        assert running.returned.wait(TIMEOUT)
        elapsed = time.monotonic() - stopped_at
        assert 0.25 <= elapsed < 2, elapsed
        assert not release.is_set()
        assert stalled.recv(100) == b""
        running.join()
    finally:
        release.set()
        running.engine.stop()
        running.join()
    # The abandoned request still finishes on its own.
    busy.settimeout(TIMEOUT)
    head, body = read_response(busy)
    assert body == b"ok" and b"Connection: close" in head
    busy.close()
    stalled.close()


def test_graceful_timeout_elapsed_on_the_loop_thread_closes_a_stalled_head(unix_listener):
    running = Serving(make_engine(environ_app, [unix_listener]))
    try:
        stalled = connect(unix_listener)
        stalled.sendall(b"GET / HTTP/1.1\r\nHo")
        time.sleep(0.1)
        stopped_at = time.monotonic()
        running.engine.stop(0.3)
        assert stalled.recv(100) == b""
        running.join()
        assert 0.25 <= time.monotonic() - stopped_at < 2
    finally:
        running.engine.stop()
        running.join()
        stalled.close()


def test_graceful_stop_from_a_signal_handler_inside_serve_forever(tcp_listener):
    started = threading.Event()
    engine = make_engine(slow_app(started), [tcp_listener])
    replies = []

    def client():
        with connect(tcp_listener) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            assert started.wait(TIMEOUT)
            os.kill(os.getpid(), signal.SIGUSR1)
            replies.append(read_response(sock))

    handled = []

    def on_usr1(signum, frame):
        handled.append(signum)
        engine.stop(5)

    # If the graceful stop never ended serve_forever(), this ends it (and the test fails below).
    rescue = threading.Timer(TIMEOUT, engine.stop)
    previous = signal.signal(signal.SIGUSR1, on_usr1)
    worker = threading.Thread(target=client)
    try:
        rescue.start()
        worker.start()
        started_at = time.monotonic()
        engine.serve_forever(poll_interval=0.05)
        elapsed = time.monotonic() - started_at
    finally:
        signal.signal(signal.SIGUSR1, previous)
        rescue.cancel()
        worker.join(TIMEOUT)
    assert handled == [signal.SIGUSR1]
    assert elapsed < TIMEOUT - 1
    (head, body), = replies
    assert body == b"done /slow" and b"\r\nConnection: close" in head


def test_stop_before_serve_forever_makes_it_return_and_it_can_serve_again(tcp_listener):
    engine = make_engine(environ_app, [tcp_listener])
    engine.stop(5)
    started = time.monotonic()
    engine.serve_forever(poll_interval=0.05)
    assert time.monotonic() - started < 1
    running = Serving(engine)
    try:
        assert environ_of(tcp_listener)["REMOTE_ADDR"] == "127.0.0.1"
    finally:
        engine.stop()
        running.join()


def test_stop_without_timeout_is_immediate_and_keeps_idle_connections_until_then(tcp_listener):
    with serving(environ_app, [tcp_listener]) as running:
        with connect(tcp_listener) as idle:
            idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            head, _ = read_response(idle)
            assert b"Connection: close" not in head
            started = time.monotonic()
            running.engine.stop()
            assert running.returned.wait(TIMEOUT)
            assert time.monotonic() - started < 1
            assert idle.recv(100) == b""


def test_graceful_stop_answers_a_connection_accepted_before_it_whose_request_comes_after(
    tcp_listener,
):
    """A reload must not lose a request: a connection this engine accepted is answered even when
    its first request arrives after the stop began (only answered idle ones are closed)."""
    running = Serving(make_engine(slow_app(threading.Event()), [tcp_listener]))
    with contextlib.ExitStack() as clients:
        clients.callback(running.join)
        clients.callback(running.engine.stop)
        fresh = clients.enter_context(connect(tcp_listener))
        assert request(tcp_listener)[1] == b"done /"  # the loop has accepted `fresh` by now
        running.engine.stop(5)
        time.sleep(0.2)
        fresh.sendall(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = read_response(fresh)
        assert body == b"done /late" and b"\r\nConnection: close" in head
        running.join()
