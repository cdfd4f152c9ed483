"""The application the deployment tests serve: it answers what the server told it, as JSON.

``/anything?id=X`` echoes the request's id, the environ keys the proxy headers decide
(REMOTE_ADDR, wsgi.url_scheme, HTTPS), the forwarded headers as the app sees them, the worker's
pid and the code's version; a POST's body comes back in ``body``.  ``/slow`` does the same after
sleeping (``seconds=``, 0.5 by default); when ``DEPLOY_APP_MARKS`` names a folder, it first
creates ``<folder>/<id>`` so a test knows the request has reached the application.

``VERSION`` is read once, at import, from the file ``DEPLOY_APP_VERSION_FILE`` names (else "1"):
a worker started after the file changed shows the new version, as a reloaded deploy would.
Only the standard library is imported: the systemd test copies this file as ``myapp.py``.
"""

import json
import os
import time
from urllib.parse import parse_qs

__all__ = ["VERSION", "app"]


def _read_version():
    path = os.environ.get("DEPLOY_APP_VERSION_FILE")
    if not path:
        return "1"
    with open(path) as f:
        return f.read().strip()


VERSION = _read_version()
ECHOED = (
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "HTTPS",
    "HTTP_HOST",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_FORWARDED",
    "HTTP_CONNECTION",
    "PATH_INFO",
    "QUERY_STRING",
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "SERVER_PROTOCOL",
)


def app(environ, start_response):
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if environ["PATH_INFO"] == "/slow":
        marks = os.environ.get("DEPLOY_APP_MARKS")
        if marks and "id" in query:
            open(os.path.join(marks, os.path.basename(query["id"])), "w").close()
        time.sleep(float(query.get("seconds", "0.5")))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    answer = {key: environ.get(key) for key in ECHOED}
    answer.update(
        {
            "id": query.get("id"),
            "pid": os.getpid(),
            "version": VERSION,
            "wsgi.url_scheme": environ["wsgi.url_scheme"],
            "wsgi.multiprocess": environ["wsgi.multiprocess"],
            "body": environ["wsgi.input"].read(length).decode("latin-1"),
        }
    )
    body = json.dumps(answer).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
