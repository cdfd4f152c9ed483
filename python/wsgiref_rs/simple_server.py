"""A small HTTP server for WSGI applications, with the API of the standard library's
``wsgiref.simple_server``.

``make_server(host, port, app)`` returns a :class:`WSGIServer` (an ``http.server.HTTPServer``)
whose :class:`WSGIRequestHandler` turns each HTTP request into a WSGI environ and runs the
application through :class:`ServerHandler` (a ``wsgiref_rs.handlers.SimpleHandler``). One request
is served per connection, as the standard library does.

This is a development and testing server: it has not been reviewed for security and is no
replacement for a production server. ``python -m wsgiref_rs.simple_server`` serves
:func:`demo_app` on port 8000, as ``python -m wsgiref.simple_server`` does.
"""

import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from platform import python_implementation

from wsgiref_rs import _engine, _versions
from wsgiref_rs._native import DEFAULTS
from wsgiref_rs.handlers import SimpleHandler

__version__ = "0.2"
# The standard library's order.
__all__ = ["WSGIServer", "WSGIRequestHandler", "demo_app", "make_server"]  # noqa: RUF022

server_version = f"WSGIServer/{__version__}"
sys_version = f"{python_implementation()}/{sys.version.split()[0]}"
software_version = f"{server_version} {sys_version}"


class ServerHandler(SimpleHandler):
    """The handler that runs one application call for :class:`WSGIRequestHandler`.

    ``request_handler`` (set by the request handler after construction) receives the access-log
    call when the response is closed.
    """

    server_software = software_version

    def close(self):
        try:
            # The status code as a string ("200"), and the body length that was sent.
            code = self.status.split(" ", 1)[0]
            self.request_handler.log_request(code, self.bytes_sent)
        finally:
            SimpleHandler.close(self)


class WSGIServer(HTTPServer):
    """An ``HTTPServer`` that serves one WSGI application (see :meth:`set_app`).

    ``serve_forever()`` runs wsgiref-rs's native HTTP/1.1 engine whenever the server's and the
    handler's classes allow it (see ``wsgiref_rs._engine``); set ``native_engine = False`` on the
    class or the instance to keep the standard library's design.
    """

    application = None
    native_engine = True
    # None: 16 with socketserver.ThreadingMixIn, else 0 (one application call at a time).
    engine_threads = None
    # socketserver listens with a backlog of 5, which drops connections under any real load;
    # the engine accepts as fast as they come, so a server's usual backlog (gunicorn 2048,
    # nginx 511) is the right one here.
    request_queue_size = 1024

    # The engine's limits and timeouts, with its defaults (see wsgiref_rs._engine).
    limit_request_line = DEFAULTS["limit_request_line"]
    limit_request_fields = DEFAULTS["limit_request_fields"]
    limit_request_field_size = DEFAULTS["limit_request_field_size"]
    limit_request_body = DEFAULTS["limit_request_body"]
    keepalive_timeout = DEFAULTS["keepalive_timeout"]
    header_timeout = DEFAULTS["header_timeout"]
    engine_timeout = DEFAULTS["engine_timeout"]
    max_connections = None  # None: what the process's descriptor limit allows
    _running_engine = None

    def serve_forever(self, poll_interval=0.5):
        """Serve until shutdown(): on the native engine when the classes allow it."""
        engine = _engine.engine_for(self, WSGIRequestHandler, WSGIServer, ServerHandler)
        if engine is None:
            return HTTPServer.serve_forever(self, poll_interval)
        self._BaseServer__is_shut_down.clear()
        try:
            self._running_engine = engine
            engine.serve_forever(poll_interval, lambda: self._BaseServer__shutdown_request)
        finally:
            self._running_engine = None
            self._BaseServer__shutdown_request = False
            self._BaseServer__is_shut_down.set()

    def handle_request(self):
        """Serve one request (waiting at most ``timeout`` seconds, as socketserver does): on the
        native engine when the classes allow it."""
        engine = _engine.engine_for(self, WSGIRequestHandler, WSGIServer, ServerHandler)
        if engine is None:
            return HTTPServer.handle_request(self)
        timeout = self.socket.gettimeout()
        if timeout is None:
            timeout = self.timeout
        elif self.timeout is not None:
            timeout = min(timeout, self.timeout)
        if not engine.handle_one(timeout):
            self.handle_timeout()

    def shutdown(self):
        """Stop serve_forever() and wait until it has returned (call from another thread)."""
        engine = self._running_engine
        if engine is not None:
            engine.stop()
        HTTPServer.shutdown(self)

    def server_bind(self):
        """Bind the socket as ``HTTPServer`` does, then prepare :attr:`base_environ`."""
        HTTPServer.server_bind(self)
        self.setup_environ()

    def setup_environ(self):
        """Build ``self.base_environ``, the CGI variables shared by every request."""
        self.base_environ = {
            "SERVER_NAME": self.server_name,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PORT": str(self.server_port),
            "REMOTE_HOST": "",
            "CONTENT_LENGTH": "",
            "SCRIPT_NAME": "",
        }

    def get_app(self):
        """Return the WSGI application this server runs."""
        return self.application

    def set_app(self, application):
        """Set the WSGI application this server runs."""
        self.application = application


class WSGIRequestHandler(BaseHTTPRequestHandler):
    """Turns one HTTP request into a WSGI call of the server's application."""

    server_version = f"WSGIServer/{__version__}"

    def get_environ(self):
        """Return the CGI/WSGI environ for the request that was just parsed."""
        environ = self.server.base_environ.copy()
        environ["SERVER_PROTOCOL"] = self.request_version
        environ["SERVER_SOFTWARE"] = self.server_version
        environ["REQUEST_METHOD"] = self.command

        path, _, query = self.path.partition("?")
        # PEP 3333: the path's bytes, one character per byte (latin-1).
        environ["PATH_INFO"] = urllib.parse.unquote(path, "iso-8859-1")
        environ["QUERY_STRING"] = query

        if _versions.SETS_REMOTE_HOST:
            remote_host = self.address_string()
            if remote_host != self.client_address[0]:
                environ["REMOTE_HOST"] = remote_host
        environ["REMOTE_ADDR"] = self.client_address[0]

        headers = self.headers
        if headers.get("content-type") is None:
            environ["CONTENT_TYPE"] = headers.get_content_type()
        else:
            environ["CONTENT_TYPE"] = headers["content-type"]

        content_length = headers.get("content-length")
        if content_length:
            environ["CONTENT_LENGTH"] = content_length

        for name, value in headers.items():
            key = name.replace("-", "_").upper()
            value = value.strip()
            if key in environ:
                # CONTENT_TYPE, CONTENT_LENGTH and any name that would shadow a CGI variable.
                continue
            key = "HTTP_" + key
            if key in environ:
                # A repeated header: values joined with a bare comma.
                environ[key] += "," + value
            else:
                environ[key] = value
        return environ

    def get_stderr(self):
        """The stream given to the application as ``wsgi.errors``."""
        return sys.stderr

    def handle(self):
        """Serve one HTTP request: parse it, then run the WSGI application.

        Everything a request needs happens here, so this method is the one place to take over
        request handling (subclasses such as Django's runserver override it).
        """
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return

        if not self.parse_request():
            # parse_request() has already sent the error response.
            return

        handler = ServerHandler(
            self.rfile,
            self.wfile,
            self.get_stderr(),
            self.get_environ(),
            multithread=False,
        )
        handler.request_handler = self  # for the access log, written by ServerHandler.close()
        handler.run(self.server.get_app())


def demo_app(environ, start_response):
    """A WSGI application that answers "Hello world!" followed by the sorted environ."""
    lines = ["Hello world!\n", "\n"]
    for key, value in sorted(environ.items()):
        shown = repr(value)
        lines.append(f"{key!s} = {shown}\n")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    # Encoded only after start_response, as the standard library does (a lone surrogate in the
    # environ raises UnicodeEncodeError after the headers were set).
    return ["".join(lines).encode("utf-8")]


def make_server(host, port, app, server_class=WSGIServer, handler_class=WSGIRequestHandler):
    """Create a ``server_class`` listening on ``(host, port)`` that serves ``app``."""
    server = server_class((host, port), handler_class)
    server.set_app(app)
    return server


if __name__ == "__main__":
    # As the standard library's module does: serve the demo app on port 8000, point the
    # default browser at it, answer one request, then exit.
    with make_server("", 8000, demo_app) as httpd:
        address = httpd.socket.getsockname()
        print("Serving HTTP on", address[0], "port", address[1], "...")
        import webbrowser

        webbrowser.open("http://localhost:8000/xyz?abc")
        httpd.handle_request()
