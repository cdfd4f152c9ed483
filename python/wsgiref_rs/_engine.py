"""When ``WSGIServer.serve_forever()`` runs the native engine, and what it gives the engine.

The engine serves requests itself (HTTP/1.1, keep-alive, the GIL released for all socket I/O)
instead of through ``WSGIRequestHandler.handle()``. It engages by itself when the server's and the
handler's classes leave nothing it could not honour:

* the handler class is ``WSGIRequestHandler`` or a subclass that changes only logging
  (``log_message``, ``log_request``, ``log_error``, and what they call: ``address_string``,
  ``log_date_time_string``), ``server_version`` or ``allow_underscore_headers``;
* the server class is ``WSGIServer`` or a subclass that does not override how requests are taken
  and dispatched (``get_request``, ``verify_request``, ``process_request``, ``finish_request``,
  ``shutdown_request``, ``close_request``, ``handle_request``), except by mixing in
  ``socketserver.ThreadingMixIn``;
* ``WSGIServer.native_engine`` is true (the default; set it to False to opt out);
* the platform has the engine (Linux and macOS).

Everything else runs on the compatible path, the standard library's design, with the same results.

Limits and timeouts are attributes of the server class (or instance), named as the engine's
settings and with the engine's defaults (``wsgiref_rs._native.DEFAULTS``):

=============================  ==================================================================
``limit_request_line``         longest request line, in bytes (else 414)
``limit_request_fields``       most header fields (else 431)
``limit_request_field_size``   largest header section, in bytes (else 431)
``limit_request_body``         largest request body, in bytes (else 413); None: any
``keepalive_timeout``          seconds an idle keep-alive connection is kept
``header_timeout``             seconds a client has to send a request's head
``engine_timeout``             seconds a request's socket reads and writes may wait
``max_connections``            open connections; more are closed at once. None (the server's
                               default): the process's descriptor limit (soft ``RLIMIT_NOFILE``)
                               less 64
=============================  ==================================================================

Concurrency: a plain ``WSGIServer`` calls the application for one request at a time
(``wsgi.multithread`` false) while the engine keeps accepting and reading other connections, and
sends ``wsgi.file_wrapper`` files in turns with them (``sendfile``, up to 512 KiB a turn); a
``ThreadingMixIn`` server, or one whose ``engine_threads`` is a positive number, runs the
application on that many worker threads (16 for ``ThreadingMixIn`` by default), and
``wsgi.multithread`` is true.
"""

import socketserver
import sys

from wsgiref_rs import _native, _versions

_HANDLER_HOOKS_ALLOWED = frozenset(
    {"log_message", "log_request", "log_error", "address_string", "log_date_time_string",
     "server_version", "allow_underscore_headers",
     "__doc__", "__module__",
     "__qualname__", "__dict__", "__weakref__", "__firstlineno__", "__static_attributes__"}
)
_SERVER_HOOKS_REFUSED = (
    "get_request", "verify_request", "process_request", "finish_request", "shutdown_request",
    "close_request", "handle_request", "_handle_request_noblock",
)


# A log method that does nothing is how wsgiref's logging is silenced (`def log_message(self,
# *args): pass`); the engine then makes no Python call for the access line. "Does nothing": its
# bytecode is one of these functions', which only return a constant (`pass`, `return`,
# `return None` and `...` compile to the first; a docstring moves the constant, hence the second).
def _does_nothing(*args, **kwargs):
    pass


def _does_nothing_documented(*args, **kwargs):
    """A docstring only."""


_NOTHING = frozenset(f.__code__.co_code for f in (_does_nothing, _does_nothing_documented))


def _is_noop(function):
    code = getattr(function, "__code__", None)
    return code is not None and code.co_code in _NOTHING and not code.co_names


def _handler_allows(handler_class, base):
    if not isinstance(handler_class, type) or not issubclass(handler_class, base):
        return False
    for klass in handler_class.__mro__:
        if klass is base:
            return True
        if set(vars(klass)) - _HANDLER_HOOKS_ALLOWED:
            return False
    return False


_DEFAULT_THREADS = 16


def _wraps_its_socket(server):
    """Whether the server's socket is an ``ssl.SSLSocket`` (the recipe for HTTPS with wsgiref:
    ``server.socket = context.wrap_socket(server.socket, server_side=True)``): only Python's
    ``ssl`` can speak on it, so the compatible path serves it."""
    ssl = sys.modules.get("ssl")  # never imported here: a socket made by it needs it loaded
    return ssl is not None and isinstance(getattr(server, "socket", None), ssl.SSLSocket)


def _server_allows(server, base):
    if not getattr(server, "native_engine", False) or _wraps_its_socket(server):
        return False
    klass = type(server)
    for name in _SERVER_HOOKS_REFUSED:
        found = getattr(klass, name)
        threading_mixin = getattr(socketserver.ThreadingMixIn, name, None)
        if found is not getattr(base, name) and found is not threading_mixin:
            return False
    return True


def _plain_get_app(server, base):
    """Whether ``server.get_app()`` is ``base``'s ``return self.application`` with plain
    attribute access: the engine may then read the attribute from the instance's ``__dict__``
    (it still notices a ``get_app`` set on the instance later)."""
    klass = type(server)
    if klass.get_app is not base.get_app or klass.__getattribute__ is not object.__getattribute__:
        return False
    if not isinstance(getattr(server, "__dict__", None), dict):
        return False
    found = getattr(klass, "application", None)
    return not (hasattr(type(found), "__set__") or hasattr(type(found), "__delete__"))


def _threads(server):
    threads = getattr(server, "engine_threads", None)
    if threads is None:
        threads = _DEFAULT_THREADS if isinstance(server, socketserver.ThreadingMixIn) else 0
    return max(0, int(threads))


def _base_environ(server, handler_class, server_handler, threaded):
    """The keys every request shares, as ServerHandler.setup_environ() and
    WSGIRequestHandler.get_environ() would set them."""
    from wsgiref_rs.util import guess_scheme

    environ = dict(server_handler.os_environ)
    environ.update(server.base_environ)
    environ["SERVER_SOFTWARE"] = handler_class.server_version
    environ["wsgi.version"] = server_handler.wsgi_version
    environ["wsgi.run_once"] = server_handler.wsgi_run_once
    environ["wsgi.multithread"] = threaded
    environ["wsgi.multiprocess"] = False
    if server_handler.wsgi_file_wrapper is not None:
        environ["wsgi.file_wrapper"] = server_handler.wsgi_file_wrapper
    environ["wsgi.url_scheme"] = guess_scheme(environ)
    return environ


def _access_logger(server, handler_class):
    """log(requestline, code, size, client_address): the access line through the handler class's
    own log_request/log_message; None when the class silences them."""
    if _is_noop(handler_class.log_request) or _is_noop(handler_class.log_message):
        return None

    def log(requestline, code, size, client_address):
        handler = handler_class.__new__(handler_class)
        handler.server = server
        handler.client_address = client_address
        handler.requestline = requestline
        handler.command, _, rest = requestline.partition(" ")
        handler.path, _, handler.request_version = rest.rpartition(" ")
        handler.log_request(code, size)

    return log


def _remote_host(server, handler_class, handler_base):
    """remote_host(ip, port): REMOTE_HOST as WSGIRequestHandler.get_environ() sets it from an
    overridden address_string(); None when the class keeps the standard one (no lookup), and
    from Python 3.13 on, whose get_environ() no longer sets it."""
    if not _versions.SETS_REMOTE_HOST:
        return None
    if handler_class.address_string is handler_base.address_string:
        return None

    def remote_host(ip, port):
        handler = handler_class.__new__(handler_class)
        handler.server = server
        handler.client_address = (ip, port)
        host = handler.address_string()
        return host if host != ip else None

    return remote_host


def _max_connections(configured):
    """The configured limit, or what the process's descriptors allow (a few kept for files)."""
    if configured is not None:
        return max(1, int(configured))
    import resource  # Unix only, as the engine is: never called where it is missing

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(64, soft - 64)


def engine_for(server, handler_base, server_base, server_handler):
    """A native engine for ``server``, or None when its classes need the compatible path."""
    engine_class = getattr(_native, "Engine", None)
    handler_class = server.RequestHandlerClass
    if engine_class is None or not _server_allows(server, server_base):
        return None
    if not _handler_allows(handler_class, handler_base):
        return None
    threads = _threads(server)
    return engine_class(
        server.socket.fileno(),
        None,
        _base_environ(server, handler_class, server_handler, threads > 0),
        server_handler.server_software,
        # Asked for each request, as WSGIRequestHandler.handle() does: set_app() while serving
        # holds from the next request on.
        server=server,
        server_get_app=not _plain_get_app(server, server_base),
        threads=threads,
        log=_access_logger(server, handler_class),
        remote_host=_remote_host(server, handler_class, handler_base),
        # A header may not set what get_environ() sets, nor a key of server.base_environ; it
        # does override os.environ's copy (the engine's own default would count that too).
        request_keys=_native.REQUEST_KEYS.union(server.base_environ),
        limit_request_line=server.limit_request_line,
        limit_request_fields=server.limit_request_fields,
        limit_request_field_size=server.limit_request_field_size,
        limit_request_body=server.limit_request_body,
        keepalive_timeout=server.keepalive_timeout,
        header_timeout=server.header_timeout,
        engine_timeout=server.engine_timeout,
        max_connections=_max_connections(server.max_connections),
        allow_underscore_headers=getattr(handler_class, "allow_underscore_headers", False),
    )
