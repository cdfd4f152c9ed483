"""Shared pieces of the engine's live-socket tests: a raw HTTP/1.x client that parses responses
strictly (framing by Content-Length, chunked or close; HEAD, 1xx, 204 and 304 without a body),
request builders, server classes and a few WSGI applications. The servers themselves are
started by ``serving.start_server`` (tests/serving.py), through the ``serve`` fixture.

Everything here talks to the server through sockets on 127.0.0.1 and through the public API of
``wsgiref_rs.simple_server``; nothing depends on how the server is implemented.
"""

import platform
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field

from serving import HOST, TIMEOUT

import wsgiref_rs.simple_server as ours

SERVER_SOFTWARE = f"WSGIServer/0.2 {platform.python_implementation()}/{sys.version.split()[0]}"
ERROR_BODY = b"A server error occurred.  Please contact the administrator."


class ThreadingWSGIServer(socketserver.ThreadingMixIn, ours.WSGIServer):
    """The way Django's runserver and many test setups thread the server."""

    daemon_threads = True


class QuietHandler(ours.WSGIRequestHandler):
    """The common way to silence wsgiref: override log_message (the engine still applies)."""

    def log_message(self, format, *args):
        pass


# ----------------------------------------------------------------------------------------------
# Requests


def request(
    method="GET",
    target="/",
    headers=(),
    body=b"",
    version="HTTP/1.1",
    host="127.0.0.1",
    length=None,
):
    """The bytes of one request. ``host`` None: no Host header. ``length`` True: always send
    Content-Length (also for an empty body); by default it is sent when there is a body and the
    headers do not frame it already."""
    lines = [f"{method} {target} {version}".encode("latin-1")]
    if host is not None:
        lines.append(b"Host: " + host.encode("latin-1"))
    names = set()
    for item in headers:
        if isinstance(item, tuple):
            name, value = item
            item = f"{name}: {value}".encode("latin-1")
        elif isinstance(item, str):
            item = item.encode("latin-1")
        names.add(item.split(b":", 1)[0].strip().lower())
        lines.append(item)
    framed = {b"content-length", b"transfer-encoding"} & names
    if not framed and (body or length):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(pieces, trailers=(), extensions=False):
    """A chunked request body from ``pieces`` (bytes), ending with the last chunk and trailers."""
    out = []
    for i, piece in enumerate(pieces):
        if not piece:
            continue
        ext = f";n={i};x" if extensions else ""
        out.append(f"{len(piece):X}{ext}\r\n".encode() + piece + b"\r\n")
    out.append(b"0\r\n")
    out += [t.encode("latin-1") + b"\r\n" for t in trailers]
    out.append(b"\r\n")
    return b"".join(out)


def chunked_request(target, pieces, method="POST", **options):
    """A request whose body is ``pieces``, chunked (``options``: chunked()'s, trailers and
    extensions)."""
    return request(method, target, headers=["Transfer-Encoding: chunked"],
                   body=chunked(pieces, **options))


# ----------------------------------------------------------------------------------------------
# Responses


@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: list  # [(name, value)] as received (latin-1 decoded), in order
    body: bytes = b""
    framing: str = "none"  # "none" (no body allowed), "length", "chunked" or "close"
    complete: bool = True  # False: the connection ended before the framing said it was done
    trailers: list = field(default_factory=list)
    head: bytes = b""

    def get(self, name, default=None):
        values = self.get_all(name)
        return values[-1] if values else default

    def get_all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def has(self, name):
        return bool(self.get_all(name))

    def connection_tokens(self):
        return {t.strip().lower() for v in self.get_all("Connection") for t in v.split(",")}


class ProtocolError(AssertionError):
    """The server sent something that is not a valid HTTP/1.x response."""


class Client:
    """One client connection: send bytes, read responses strictly, with a deadline on each read."""

    def __init__(self, port, timeout=TIMEOUT, host=HOST):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout) if port else None
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    @classmethod
    def from_bytes(cls, data):
        """A parser over bytes already received in full (the connection has ended)."""
        client = cls(None)
        client.buf += data
        client.eof = True
        return client

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sock is not None:
            self.sock.close()

    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data):
        self.sock.sendall(data)

    def abort(self):
        """Close with a TCP reset (SO_LINGER 0), as a client that vanishes does."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
        self.sock.close()

    # -- low level

    def _fill(self, deadline, what):
        """Receive more bytes into the buffer; False at EOF (or a reset)."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out waiting for {what}; buffer: {bytes(self.buf[:300])!r}")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 18)
        except ConnectionResetError:
            self.reset = True
            data = b""
        except socket.timeout:
            raise TimeoutError(
                f"timed out after {self.timeout} s waiting for {what}; "
                f"buffer: {bytes(self.buf[:300])!r}"
            ) from None
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _line(self, deadline, what, limit=1 << 20):
        """One CRLF-terminated line (without the CRLF); None at EOF before a full line."""
        start = 0
        while True:
            end = self.buf.find(b"\r\n", start)
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 2]
                return line
            if len(self.buf) > limit:
                raise ProtocolError(f"line longer than {limit} bytes in {what}")
            start = max(0, len(self.buf) - 1)
            if not self._fill(deadline, what):
                return None

    def _exact(self, n, deadline, what, sink):
        """Up to n bytes to ``sink``; returns how many arrived before EOF."""
        got = 0
        while got < n:
            if not self.buf and not self._fill(deadline, what):
                return got
            take = min(n - got, len(self.buf))
            sink(bytes(self.buf[:take]))
            del self.buf[:take]
            got += take
        return got

    # -- responses

    def read_response(self, method="GET", sink=None, timeout=None):
        """The next response on the connection (a 1xx interim response is returned as such).

        None when the server closed the connection before sending any byte of a response.
        ``sink`` receives the body's pieces instead of ``Response.body`` (for big bodies).
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        status_line = self._line(deadline, "a status line")
        if status_line is None:
            if self.buf:
                raise ProtocolError(f"connection closed inside a status line: {bytes(self.buf)!r}")
            return None
        head = [status_line]
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"bad status line {status_line!r}")
        version, status = parts[0].decode(), int(parts[1])
        reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
        headers = []
        while True:
            line = self._line(deadline, "response headers")
            if line is None:
                raise ProtocolError(f"connection closed inside the headers: {head!r}")
            if line == b"":
                break
            head.append(line)
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise ProtocolError(f"bad header line {line!r}")
            headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
        response = Response(version, status, reason, headers, head=b"\r\n".join(head))
        pieces = []
        put = sink or pieces.append

        te = [
            t.strip().lower() for v in response.get_all("Transfer-Encoding") for t in v.split(",")
        ]
        lengths = response.get_all("Content-Length")
        if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
            response.framing = "none"
        elif te:
            if te[-1] != "chunked":
                raise ProtocolError(f"Transfer-Encoding without chunked last: {te}")
            if lengths:
                raise ProtocolError("both Transfer-Encoding and Content-Length in a response")
            response.framing = "chunked"
            response.complete = self._read_chunked(deadline, put, response)
        elif lengths:
            if len(set(lengths)) != 1 or not lengths[0].isdigit():
                raise ProtocolError(f"bad Content-Length {lengths}")
            response.framing = "length"
            n = int(lengths[0])
            response.complete = self._exact(n, deadline, "the body", put) == n
        else:
            response.framing = "close"
            while self.buf or self._fill(deadline, "a close-delimited body"):
                put(bytes(self.buf))
                self.buf.clear()
        response.body = b"".join(pieces)
        return response

    def _read_chunked(self, deadline, put, response):
        while True:
            line = self._line(deadline, "a chunk size")
            if line is None:
                return False
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size line {line!r}") from None
            if size == 0:
                break
            if self._exact(size, deadline, "chunk data", put) != size:
                return False
            crlf = self._line(deadline, "the end of a chunk")
            if crlf is None:
                return False
            if crlf != b"":
                raise ProtocolError(f"chunk data longer than its size: {crlf[:50]!r}")
        while True:
            line = self._line(deadline, "trailers")
            if line is None:
                return False
            if line == b"":
                return True
            response.trailers.append(line)

    def final_response(self, method="GET", **kwargs):
        """The next non-1xx response."""
        while True:
            response = self.read_response(method, **kwargs)
            if response is None or response.status >= 200:
                return response

    def wait_closed(self, timeout=TIMEOUT):
        """Wait for the server to close: "eof", "timeout" (still open), or the bytes it sent."""
        deadline = time.monotonic() + timeout
        if self.buf:
            return bytes(self.buf)
        try:
            if self._fill(deadline, "the connection to close"):
                return bytes(self.buf)
        except TimeoutError:
            return "timeout"
        return "eof"

    def read_to_eof(self, timeout=TIMEOUT, limit=1 << 20):
        """Everything until the server closes (at most ``limit`` bytes); TimeoutError if it
        does not close within ``timeout``."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline, "the connection to close"):
            if len(self.buf) > limit:
                raise ProtocolError(f"more than {limit} bytes without the connection closing")
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def is_open(self, wait=0.3):
        """True when the server has neither closed the connection nor sent anything unasked."""
        outcome = self.wait_closed(wait)
        if isinstance(outcome, bytes):
            raise ProtocolError(f"unexpected bytes from the server: {outcome[:200]!r}")
        return outcome == "timeout"


def exchange(port, data, method="GET", count=1, timeout=TIMEOUT):
    """Send ``data`` on a new connection and read ``count`` responses (None for missing ones)."""
    with Client(port, timeout) as client:
        client.send(data)
        return [client.final_response(method) for _ in range(count)]


def get(port, target="/", method="GET", headers=(), body=b"", version="HTTP/1.1"):
    """One request with ``Connection: close`` (keep-alive or not, the answer is the same)."""
    headers = list(headers)
    if version == "HTTP/1.1" and not any(
        (h[0] if isinstance(h, tuple) else h.split(":")[0]).lower() == "connection" for h in headers
    ):
        headers.append(("Connection", "close"))
    return exchange(port, request(method, target, headers, body, version), method)[0]


# ----------------------------------------------------------------------------------------------
# Applications


def hello_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello world!\n"]


def path_app(environ, start_response):
    """Answers with the request's path (one item: Content-Length is computed)."""
    body = environ["PATH_INFO"].encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def echo_app(environ, start_response):
    """Answers with the method, path and body (read by CONTENT_LENGTH, or to the end if chunked)."""
    length = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if length.isdigit():
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [environ["REQUEST_METHOD"].encode() + b" " + environ["PATH_INFO"].encode() + b" " + body]


class Overlap:
    """An app that sleeps (on every path, or only on ``sleep_on``), then answers with the path,
    counting how many calls are inside it at once."""

    def __init__(self, sleep, sleep_on=None):
        self.sleep = sleep
        self.sleep_on = sleep_on
        self.active = 0
        self.most = 0
        self.lock = threading.Lock()
        self.multithread = []

    def __call__(self, environ, start_response):
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.multithread.append(environ["wsgi.multithread"])
        try:
            if self.sleep_on in (None, environ["PATH_INFO"]):
                time.sleep(self.sleep)
        finally:
            with self.lock:
                self.active -= 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]


class Recorder:
    """An app wrapper that records the environ of every call (a shallow copy)."""

    def __init__(self, app=path_app):
        self.app = app
        self.environs = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.environs.append(dict(environ))
        return self.app(environ, start_response)

    @property
    def calls(self):
        return len(self.environs)


def still_serves(port):
    """The server on ``port`` answers a request on a new connection."""
    with Client(port) as c:
        c.send(request("GET", "/still-alive", headers=["Connection: close"]))
        r = c.read_response()
        assert r is not None and r.status == 200 and r.body == b"/still-alive"


def refused(serve, data, status, sender=None, server_class=None):
    """Send ``data`` (or let ``sender`` send on the client); expect ``status``, then EOF; the app
    never ran; the server still serves."""
    recorder = Recorder(path_app)
    server = serve(recorder, server_class=server_class)
    with Client(server.port) as c:
        if sender is None:
            c.send(data)
        else:
            sender(c)
        r = c.read_response()
        assert r is not None, "the server closed the connection without an error response"
        assert r.status == status, r.head
        assert c.wait_closed() == "eof", "the connection must be closed after an error"
    assert recorder.calls == 0, "the application was called for a refused request"
    still_serves(server.port)
    assert recorder.calls == 1


# ----------------------------------------------------------------------------------------------
# Servers in a subprocess (signals, frameworks, wsgiref_rs.install())


class ScriptServer:
    """``python -c script *args``; the script prints ``PORT <n> ...`` once it listens."""

    def __init__(self, script, *args, startup=30.0):
        import os
        import select
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], startup)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("PORT "):
            self.kill()
            raise AssertionError(f"the server did not start: {line!r}\n{self.proc.stderr.read()}")
        self.words = line.split()
        self.port = int(self.words[1])
        self.url = f"http://{HOST}:{self.port}"

    def readline(self, timeout):
        """The next stdout line, or None if none comes within ``timeout``."""
        import select

        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline() if ready else None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()  # only the process this suite started, by its handle
        self.proc.wait(TIMEOUT)

    def signal_and_wait(self, signum):
        """Send ``signum``; (seconds until the process ended, its stdout rest, its stderr)."""
        started = time.monotonic()
        self.proc.send_signal(signum)
        try:
            out, err = self.proc.communicate(timeout=TIMEOUT)
        finally:
            self.kill()
        return time.monotonic() - started, out, err
