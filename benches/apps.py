"""The one WSGI app every Python server in the HTTP benchmarks runs, routing on PATH_INFO.

    /        hello: 13-byte body with Content-Length
    /sleep   time.sleep(0.01) (the GIL is released), then hello
    /big     a 1 MiB body as a one-item list
    /file    the 64 MiB file at $BENCH_FILE through environ['wsgi.file_wrapper']
    /upload  POST: reads wsgi.input in 64 KiB reads, answers with the byte count
"""

import os
import time

__all__ = ["BIG_SIZE", "FILE_SIZE", "HELLO", "UPLOAD_SIZE", "app", "data_file"]

HELLO = b"Hello, world!"
BIG_SIZE = 1 << 20
FILE_SIZE = 64 << 20
UPLOAD_SIZE = 1 << 20
READ_SIZE = 64 << 10

BIG = b"x" * BIG_SIZE
FILE = os.environ.get("BENCH_FILE", "")
HELLO_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))]
BIG_HEADERS = [("Content-Type", "application/octet-stream"), ("Content-Length", str(BIG_SIZE))]


def data_file(folder, name, size):
    """Path of a file of `size` bytes in `folder`, written once (by the suite, never by a server)."""
    path = os.path.join(folder, name)
    if not os.path.exists(path) or os.path.getsize(path) != size:
        os.makedirs(folder, exist_ok=True)
        block = b"0123456789abcdef" * 4096
        with open(path + ".part", "wb") as f:
            for _ in range(size // len(block)):
                f.write(block)
            f.write(block[: size % len(block)])
        os.replace(path + ".part", path)
    return path


class _Blocks:
    """What a server without wsgi.file_wrapper gets: the file in 64 KiB blocks."""

    def __init__(self, f):
        self.f = f
        self.close = f.close

    def __iter__(self):
        return iter(lambda: self.f.read(READ_SIZE), b"")


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/":
        start_response("200 OK", HELLO_HEADERS)
        return [HELLO]
    if path == "/sleep":
        time.sleep(0.01)
        start_response("200 OK", HELLO_HEADERS)
        return [HELLO]
    if path == "/big":
        start_response("200 OK", BIG_HEADERS)
        return [BIG]
    if path == "/file":
        f = open(FILE, "rb")  # closed by the server, through the wrapper
        wrapper = environ.get("wsgi.file_wrapper")
        # The suite's check reads which wrapper served the file (the report names it).
        kind = f"{wrapper.__module__}.{wrapper.__qualname__}" if wrapper is not None else "none"
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(os.fstat(f.fileno()).st_size)),
                                  ("X-File-Wrapper", kind)])
        return wrapper(f) if wrapper is not None else _Blocks(f)
    if path == "/upload":
        stream = environ["wsgi.input"]
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
        received = 0
        while remaining > 0:
            chunk = stream.read(min(READ_SIZE, remaining))
            if not chunk:
                break
            received += len(chunk)
            remaining -= len(chunk)
        body = str(received).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "0")])
    return []
