"""One request through `SimpleHandler` over in-memory streams: ours against the standard library's.

The same app and the same environ run through both handler classes in one process; the report
gives the time per request of each and the ratio stdlib/ours. Pinned to CPU 0 where the platform
allows it (../shared/BENCHMARKING.md).

    python benches/handler.py [--quick] [--out benches/results/handler.md]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import timeit
import wsgiref.handlers
import wsgiref.util

import wsgiref_rs.handlers

sys.path.insert(0, os.path.dirname(__file__))
from micro import header, write_report  # noqa: E402


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, world!"]


def chunked(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain"), ("X-Request", "1")])
    write(b"first ")
    return [b"second ", b"third"]


def failing(environ, start_response):
    raise ValueError("boom")


APPS = [("hello (one-item list)", hello), ("write() + three chunks", chunked), ("app raises: 500 page", failing)]


def per_request_ns(module, app, repeat: int) -> float:
    environ = {}
    wsgiref.util.setup_testing_defaults(environ)
    handler_class = module.SimpleHandler

    def one():
        handler_class(io.BytesIO(), io.BytesIO(), io.StringIO(), environ).run(app)

    timer = timeit.Timer(one)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "handler.md"))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    repeat = 2 if args.quick else 7
    rows = []
    for label, app in APPS:
        theirs = per_request_ns(wsgiref.handlers, app, repeat)
        ours = per_request_ns(wsgiref_rs.handlers, app, repeat)
        rows.append((label, theirs, ours, theirs / ours))
        print(f"{label:28} stdlib {theirs / 1000:7.2f} us   ours {ours / 1000:7.2f} us   x{theirs / ours:5.2f}")
    lines = [
        "# One request through SimpleHandler: wsgiref-rs against the standard library",
        "",
        header(),
        "Handler constructed over fresh in-memory streams and run on the app; best of the timing runs;"
        " ratio = stdlib / ours (above 1: ours is faster).",
        "",
        "| app | stdlib (µs) | wsgiref-rs (µs) | ratio |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {label} | {a / 1000:.2f} | {b / 1000:.2f} | {r:.2f}x |" for label, a, b, r in rows]
    write_report(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
