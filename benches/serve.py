"""Starts one in-process Python server on the benchmark app: python benches/serve.py NAME PORT SCENARIO.

NAME is wsgiref-rs (its drop-in make_server, logging silenced), stdlib (wsgiref.simple_server),
bjoern, fastwsgi or waitress; granian, gunicorn, nginx and the wsgiref-rs command line have
command lines of their own (peers.py). SCENARIO picks the application (peers.APPS) and the
settings that scenario needs: 8 threads in the threaded scenarios (peers.THREADED), long
keep-alive and a high connection limit for `idle`. The suite runs this under `taskset -c 0`.
"""

import importlib
import os
import socketserver
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import THREADED, app_spec  # noqa: E402

__all__ = ["main"]

HOST = "127.0.0.1"
THREADS = 8  # the threaded scenarios' threads (../shared/BENCHMARKING.md)
BACKLOG = 1024  # socketserver's default is 5; every peer listens with 511 to 2048
SINGLE = ("flask", "django")  # single-threaded configurations of the real applications


def load_app(scenario):
    module, _, name = app_spec(scenario).partition(":")
    return getattr(importlib.import_module(module), name)


def quiet(handler_base):
    class Quiet(handler_base):
        def log_message(self, *args):
            pass

    return Quiet


def simple_server(module, app, port, scenario, native):
    """wsgiref.simple_server or wsgiref_rs.simple_server, through make_server as a user would."""
    base = module.WSGIServer
    if scenario in THREADED:
        base = type("ThreadingWSGIServer", (socketserver.ThreadingMixIn, module.WSGIServer), {})
    attrs = {"request_queue_size": BACKLOG}
    if native and scenario in THREADED:
        attrs["engine_threads"] = THREADS
    if native and scenario == "idle":
        # 10,000 idle connections held longer than the default 5 s keep-alive. (max_connections
        # is left at its default, what the descriptor limit allows.)
        attrs.update(keepalive_timeout=60.0)
    server_class = type("BenchServer", (base,), attrs)
    handler = quiet(module.WSGIRequestHandler)
    server = module.make_server(HOST, port, app, server_class=server_class, handler_class=handler)
    if native:
        from wsgiref_rs import _engine

        engine = _engine.engine_for(server, module.WSGIRequestHandler, module.WSGIServer, module.ServerHandler)
        if engine is None:
            sys.exit("wsgiref-rs would not run its native engine with these classes")
    server.serve_forever()


def main(name, port, scenario):
    app = load_app(scenario)
    if name == "wsgiref-rs":
        import wsgiref_rs.simple_server as module

        simple_server(module, app, port, scenario, native=True)
    elif name == "stdlib":
        import wsgiref.simple_server as module

        simple_server(module, app, port, scenario, native=False)
    elif name == "bjoern":
        import bjoern

        bjoern.run(app, HOST, port)
    elif name == "fastwsgi":
        import fastwsgi

        fastwsgi.run(app, host=HOST, port=port, loglevel=0)
    elif name == "waitress":
        import waitress

        options = {"_quiet": True, "ident": "waitress"}
        if scenario in THREADED:
            options["threads"] = THREADS
        elif scenario in SINGLE:
            options["threads"] = 1
        if scenario == "idle":
            # Default: 100 connections at most, select() (no fd above 1024), 120 s idle timeout.
            options.update(connection_limit=20000, asyncore_use_poll=True, channel_timeout=300)
        waitress.serve(app, host=HOST, port=port, **options)
    else:
        sys.exit(f"unknown server {name!r}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "hello")
