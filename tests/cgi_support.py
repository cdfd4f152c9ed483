"""Support for tests/test_handlers_cgi.py: the WSGI apps the CGI scripts run, and the
http.server launcher.

A CGI script written by the test is only a few lines: it puts this folder on sys.path and calls
``main(impl, kind)``, where ``impl`` is "stdlib" (``wsgiref.handlers``) or "native"
(``wsgiref_rs.handlers``) and ``kind`` names the handler class.  The first segment of PATH_INFO
picks the app, so that one script serves every case.

Run as ``python cgi_support.py serve-http DIR``, it serves DIR with the standard library's
CGIHTTPRequestHandler on 127.0.0.1, on a port the kernel picks, and prints that port on stdout.
"""

import io
import os
import sys

# The environ entries the echo app reports, in this order.
ECHO_KEYS = (
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "CONTENT_LENGTH",
    "CONTENT_TYPE",
    "HTTP_USER_AGENT",
    "HTTP_X_TEST",
    "PLAIN_VAR",
    "SSL_TEST_VAR",
    "REDIRECT_QUERY_STRING",
    "REDIRECT_REDIRECT_HTTPS",
    "SERVER_PROTOCOL",
    "wsgi.version",
    "wsgi.run_once",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.url_scheme",
)


def _body_of(environ):
    length = environ.get("CONTENT_LENGTH") or "0"
    return environ["wsgi.input"].read(int(length))


def echo(environ, start_response):
    """Report the environ entries that matter, the request body, and set a custom status."""
    body = _body_of(environ)
    lines = [f"{key}={environ.get(key, '<absent>')!r}" for key in ECHO_KEYS]
    lines.append(f"wsgi.errors is sys.stderr={environ['wsgi.errors'] is sys.stderr!r}")
    lines.append(f"wsgi.input has read={hasattr(environ['wsgi.input'], 'read')!r}")
    lines.append(f"file_wrapper present={'wsgi.file_wrapper' in environ!r}")
    lines.append(f"keys={sorted(environ)!r}")
    lines.append(f"body={body!r}")
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    start_response(
        "202 Accepted For Echo",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("X-Path-Info", environ.get("PATH_INFO", "")),
            ("X-Multi", "one"),
            ("X-Multi", "two"),
            ("Set-Cookie", "a=b; Path=/"),
        ],
    )
    return [payload]


def chunks(environ, start_response):
    """Several blocks, an empty one among them, and no Content-Length."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"first\n", b"", b"second\n", b"third " * 1000 + b"\n"]


def generator(environ, start_response):
    """A generator body, closed by the handler."""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def gen():
        for i in range(5):
            yield bytes([i]) * (i + 1)

    return gen()


def length(environ, start_response):
    """The app sets Content-Length itself and returns several blocks."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "11")])
    return [b"hello", b" ", b"world"]


def single(environ, start_response):
    """One block: the handler adds Content-Length."""
    start_response("200 OK", [("Content-Type", "text/html; charset=latin-1")])
    return ["<p>caf\xe9</p>".encode("latin-1")]


def empty(environ, start_response):
    """No body at all."""
    start_response("204 No Content", [])
    return []


def writer(environ, start_response):
    """The legacy write() callable, then a returned block."""
    write = start_response("200 OK", [("Content-Type", "text/plain"), ("X-Writer", "yes")])
    write(b"written one\n")
    write(b"")
    write(b"written two\n")
    return [b"returned\n"]


def filewrapper(environ, start_response):
    """A body wrapped by wsgi.file_wrapper with a block size."""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    data = bytes(range(256)) * 40
    return environ["wsgi.file_wrapper"](io.BytesIO(data), 1000)


def error(environ, start_response):
    """Raises before start_response: the handler must send its 500 page and log to stderr."""
    raise ValueError("boom from the app \u00e9")


def late_error(environ, start_response):
    """Raises after the headers went out: the body is cut, the traceback logged."""
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"partial output\n"
        raise RuntimeError("late failure")

    return gen()


def hop_by_hop(environ, start_response):
    """A hop-by-hop header is refused by start_response (an AssertionError in the app)."""
    start_response("200 OK", [("Connection", "close")])
    return [b"never sent"]


def bad_status(environ, start_response):
    """A status without a reason phrase is refused by start_response."""
    start_response("200", [("Content-Type", "text/plain")])
    return [b"never sent"]


def exc_info_restart(environ, start_response):
    """start_response called again with exc_info before anything was sent replaces the headers."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-First", "1")])
    try:
        raise KeyError("replaced")
    except KeyError:
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info())
    return [b"replaced response\n"]


APPS = {
    "echo": echo,
    "chunks": chunks,
    "generator": generator,
    "length": length,
    "single": single,
    "empty": empty,
    "writer": writer,
    "filewrapper": filewrapper,
    "error": error,
    "late_error": late_error,
    "hop_by_hop": hop_by_hop,
    "bad_status": bad_status,
    "exc_info_restart": exc_info_restart,
}


def dispatch(environ, start_response):
    name = environ.get("PATH_INFO", "").lstrip("/").split("/", 1)[0]
    return APPS.get(name, echo)(environ, start_response)


def main(impl, kind):
    """Run ``dispatch`` as a CGI script with the named implementation's handler class."""
    if impl == "stdlib":
        from wsgiref import handlers
    elif impl == "native":
        from wsgiref_rs import handlers
    else:
        raise ValueError(impl)
    if kind == "CGIHandler":
        handler = handlers.CGIHandler()
    elif kind == "IISCGIHandler":
        handler = handlers.IISCGIHandler()
    elif kind == "BaseCGIHandler":
        handler = handlers.BaseCGIHandler(
            sys.stdin.buffer, sys.stdout.buffer, sys.stderr, handlers.read_environ()
        )
    else:
        raise ValueError(kind)
    handler.run(dispatch)


def serve_http(directory):
    """Serve ``directory`` with http.server's CGI handler on loopback; print the port."""
    import functools
    import http.server

    # Run the CGI child as the current user: as root, the stock handler switches to 'nobody',
    # who cannot reach the virtual environment's interpreter under /root.
    http.server.nobody_uid = os.getuid
    handler = functools.partial(http.server.CGIHTTPRequestHandler, directory=directory)
    with http.server.HTTPServer(("127.0.0.1", 0), handler) as httpd:
        print(httpd.server_address[1], flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve-http":
        serve_http(sys.argv[2])
    else:
        sys.exit(f"usage: {sys.argv[0]} serve-http DIR")
