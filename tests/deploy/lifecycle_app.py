"""The application the lifecycle tests serve (``--timeout``, ``--max-requests``, ``--max-rss``,
``--preload``, saturation). Every answer but ``/stream``'s is JSON: the worker's pid, the pid
of the process that imported this module, the code's version and ``gc.get_freeze_count()``.

- ``/hang``: never answers (sleeps on :data:`HANG_LINE`, the line a timeout's record must show).
- ``/stream?chunks=N&every=S``: N chunks, one every S seconds: slow, but never stalled.
- ``/slow?seconds=S``: answers after S seconds.
- ``/leak?mib=N``: keeps N MiB more of memory, for good.

When ``LIFECYCLE_APP_IMPORTS`` names a file, each import appends its process's pid to it; the
version is read at import from the file ``LIFECYCLE_APP_VERSION_FILE`` names (else "1"). With
``LIFECYCLE_APP_HANG_AT_IMPORT`` set, the import never ends (on :data:`IMPORT_HANG_LINE`).
"""

import gc
import json
import os
import time
from urllib.parse import parse_qs

IMPORTED_BY = os.getpid()
_imports = os.environ.get("LIFECYCLE_APP_IMPORTS")
if _imports:
    with open(_imports, "a") as f:
        f.write(f"{IMPORTED_BY}\n")
_version_file = os.environ.get("LIFECYCLE_APP_VERSION_FILE")
if _version_file:
    with open(_version_file) as f:
        VERSION = f.read().strip()
else:
    VERSION = "1"

HANG_LINE = "time.sleep(600)  # where a hung request is stuck"
IMPORT_HANG_LINE = "time.sleep(600)  # where a hung import is stuck"
if os.environ.get("LIFECYCLE_APP_HANG_AT_IMPORT"):
    time.sleep(600)  # where a hung import is stuck
_kept = []


def _stream(chunks, every):
    for i in range(chunks):
        time.sleep(every)
        yield f"chunk {i}\n".encode()


def app(environ, start_response):
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    if path == "/hang":
        time.sleep(600)  # where a hung request is stuck
    elif path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _stream(int(query.get("chunks", "5")), float(query.get("every", "0.3")))
    elif path == "/slow":
        time.sleep(float(query.get("seconds", "1")))
    elif path == "/leak":
        _kept.append(bytearray(int(query.get("mib", "10")) * 1024 * 1024))
    answer = {
        "id": query.get("id"),
        "pid": os.getpid(),
        "imported_by": IMPORTED_BY,
        "version": VERSION,
        "frozen": gc.get_freeze_count(),
    }
    body = json.dumps(answer).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
