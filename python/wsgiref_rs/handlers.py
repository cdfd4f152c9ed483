"""Base classes for server/gateway implementations"""

import os
import sys

from wsgiref_rs._native import HandlerCore as _HandlerCore
from wsgiref_rs._native import format_date_time as format_date_time
from wsgiref_rs.headers import Headers
from wsgiref_rs.util import FileWrapper, guess_scheme, is_hop_by_hop  # noqa: F401 (public names)

__all__ = [
    "BaseHandler",
    "SimpleHandler",
    "BaseCGIHandler",
    "CGIHandler",
    "IISCGIHandler",
    "read_environ",
]

# CGI variables whose values came from the HTTP request as bytes, and so must be turned back
# into bytes-as-latin-1 after the platform decoded them for os.environ.
_REQUEST_VARIABLES = frozenset(
    {
        "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_METHOD", "AUTH_TYPE",
        "CONTENT_TYPE", "CONTENT_LENGTH", "HTTPS", "REMOTE_USER", "REMOTE_IDENT",
    }
)


def _from_request(name):
    while name.startswith("REDIRECT_"):
        name = name[len("REDIRECT_"):]
    return name in _REQUEST_VARIABLES or name.startswith(("HTTP_", "SSL_"))


def _recover_bytes_windows(value, fs_encoding):
    """Undo the decoding a Windows web server applied to a request variable."""
    software = os.environ.get("SERVER_SOFTWARE", "").lower()
    if software.startswith("microsoft-iis/"):
        # IIS decodes the request as UTF-8 whenever it can.
        return value.encode("utf-8").decode("iso-8859-1")
    if software.startswith("apache/"):
        # mod_cgi already stores the bytes as if they were latin-1.
        return value
    if software.startswith("simplehttp/") and "python/3" in software:
        # http.server's CGI handler decodes as UTF-8.
        return value.encode("utf-8").decode("iso-8859-1")
    # Anything else most likely wrote bytes through the ANSI code page.
    return value.encode(fs_encoding, "replace").decode("iso-8859-1")


def read_environ():
    """Read environment, fixing HTTP variables"""
    fs_encoding = sys.getfilesystemencoding()
    errors = "surrogateescape"
    try:
        "".encode("utf-8", errors)
    except LookupError:
        errors = "replace"
    environ = {}
    for name, value in os.environ.items():
        if _from_request(name):
            if sys.platform == "win32":
                value = _recover_bytes_windows(value, fs_encoding)
            else:
                value = value.encode(fs_encoding, errors).decode("iso-8859-1")
        environ[name] = value
    return environ


class BaseHandler(_HandlerCore):
    """Manage the invocation of a WSGI application"""

    # Configuration: override per subclass or per instance.
    wsgi_version = (1, 0)
    wsgi_multithread = True
    wsgi_multiprocess = True
    wsgi_run_once = False

    origin_server = True  # we talk to the client directly
    http_version = "1.0"  # the version used in the response's status line
    server_software = None  # the server's name and version, if any

    # The process environment as of import time; override in e.g. __init__.
    os_environ = read_environ()

    # Collaborator classes.
    wsgi_file_wrapper = FileWrapper  # None disables wsgi.file_wrapper
    headers_class = Headers  # must behave like wsgiref's Headers

    # Error handling, per subclass or per instance.
    traceback_limit = None  # print the whole traceback to self.get_stderr()
    error_status = "500 Internal Server Error"
    error_headers = [("Content-Type", "text/plain")]
    error_body = b"A server error occurred.  Please contact the administrator."

    # Per-request state, reset by close().
    status = result = None
    headers_sent = False
    headers = None
    bytes_sent = 0


class SimpleHandler(BaseHandler):
    """Handler that's just initialized with streams, environment, etc.

    This handler subclass is intended for synchronous HTTP/1.0 origin servers,
    and handles sending the entire response output, given the correct inputs.

    Usage::

        handler = SimpleHandler(
            inp,out,err,env, multithread=False, multiprocess=True
        )
        handler.run(app)"""

    __init__ = _HandlerCore._simple_init
    get_stdin = _HandlerCore._simple_get_stdin
    get_stderr = _HandlerCore._simple_get_stderr
    add_cgi_vars = _HandlerCore._simple_add_cgi_vars
    _write = _HandlerCore._simple_write
    _flush = _HandlerCore._simple_flush


class BaseCGIHandler(SimpleHandler):
    """CGI-like systems using input/output/error streams and environ mapping

    Usage::

        handler = BaseCGIHandler(inp,out,err,env)
        handler.run(app)

    This handler class is useful for gateway protocols like ReadyExec and
    FastCGI, that have usable input/output/error streams and an environment
    mapping.  It's also the base class for CGIHandler, which just uses
    sys.stdin, os.environ, and so on.

    The constructor also takes keyword arguments 'multithread' and
    'multiprocess' (defaulting to 'True' and 'False' respectively) to control
    the configuration sent to the application.  It sets 'origin_server' to
    False (to enable CGI-like output), and assumes that 'wsgi.run_once' is
    False.
    """

    origin_server = False


class CGIHandler(BaseCGIHandler):
    """CGI-based invocation via sys.stdin/stdout/stderr and os.environ

    Usage::

        CGIHandler().run(app)

    The difference between this class and BaseCGIHandler is that it always
    uses 'wsgi.run_once' of 'True', 'wsgi.multithread' of 'False', and
    'wsgi.multiprocess' of 'True'.  It does not take any initialization
    parameters, but always uses 'sys.stdin', 'os.environ', and friends.

    If you need to override any of these parameters, use BaseCGIHandler
    instead.
    """

    wsgi_run_once = True
    # A CGI process serves one request: nothing of os.environ may leak into the next.
    os_environ = {}

    def __init__(self):
        BaseCGIHandler.__init__(
            self, sys.stdin.buffer, sys.stdout.buffer, sys.stderr, read_environ(),
            multithread=False, multiprocess=True,
        )


class IISCGIHandler(BaseCGIHandler):
    """CGI-based invocation with workaround for IIS path bug

    This handler should be used in preference to CGIHandler when deploying on
    Microsoft IIS without having set the config allowPathInfo option (IIS>=7)
    or metabase allowPathInfoForScriptMappings (IIS<7).
    """

    wsgi_run_once = True
    os_environ = {}

    def __init__(self):
        environ = read_environ()
        # IIS repeats SCRIPT_NAME at the front of PATH_INFO; take it off again.
        path = environ.get("PATH_INFO", "")
        script = environ.get("SCRIPT_NAME", "")
        if (path + "/").startswith(script + "/"):
            environ["PATH_INFO"] = path[len(script):]
        BaseCGIHandler.__init__(
            self, sys.stdin.buffer, sys.stdout.buffer, sys.stderr, environ,
            multithread=False, multiprocess=True,
        )
