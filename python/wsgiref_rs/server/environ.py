"""The base environ every request starts from: the CGI variables ``WSGIServer.setup_environ()``
sets for the bound address and the ``wsgi.*`` keys ``ServerHandler`` adds.

Unlike ``wsgiref.simple_server``, the process's own environment variables are not copied into
each request's environ: a production server's secrets (database URLs, API keys) have no place in
what an error page may print, and they would be copied for every request.

With several listeners, ``SERVER_NAME`` and ``SERVER_PORT`` describe the first one (the engine
shares one base environ); behind a Unix socket they are "localhost" and "80". Applications that
build URLs should prefer ``HTTP_HOST``, as ``wsgiref.util.request_uri`` does.
"""

import socket

from wsgiref_rs import __version__
from wsgiref_rs.util import FileWrapper

__all__ = ["SERVER_SOFTWARE", "base_environ"]

SERVER_SOFTWARE = f"wsgiref-rs/{__version__}"


def _server_name_and_port(listener):
    if listener.is_unix:
        return "localhost", "80"
    host, port = listener.sock.getsockname()[:2]
    return socket.getfqdn(host), str(port)


def base_environ(listeners, config):
    """The shared environ for ``listeners`` under ``config`` (a checked Config)."""
    name, port = _server_name_and_port(listeners[0])
    return {
        "SERVER_NAME": name,
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PORT": port,
        "REMOTE_HOST": "",
        "CONTENT_LENGTH": "",
        "SCRIPT_NAME": config.root_path,
        "SERVER_SOFTWARE": SERVER_SOFTWARE,
        "wsgi.version": (1, 0),
        "wsgi.run_once": False,
        "wsgi.multithread": config.threads > 0,
        "wsgi.multiprocess": config.workers > 1,
        "wsgi.file_wrapper": FileWrapper,
        "wsgi.url_scheme": "http",
    }
