"""The one WSGI app every server in the HTTP benchmarks runs, routing on PATH_INFO."""

HELLO = b"Hello, world!"


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]
