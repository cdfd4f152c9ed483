"""``python -m wsgiref_rs``: serve the demo application until Ctrl-C, or, given an APP, run
the production server (``wsgiref_rs.cli``, the ``wsgiref-rs`` command).

    python -m wsgiref_rs [--host HOST] [--port PORT]
    python -m wsgiref_rs APP [options]            (see python -m wsgiref_rs --help)

The demo is ``wsgiref_rs.simple_server``'s ``demo_app`` (it answers "Hello world!" and the
request's environ) behind ``make_server``, the drop-in API; ``--port 0`` picks a free port. The
address is printed once the socket listens.
"""

import argparse
import sys

from wsgiref_rs import __version__
from wsgiref_rs.simple_server import demo_app, make_server

_DEMO_OPTIONS = ("--host", "--port")


def _is_demo(argv):
    """Whether ``argv`` asks for the demo: nothing but --host and --port (with their values)."""
    expect_value = False
    for arg in argv:
        if expect_value:
            expect_value = False
        elif arg in _DEMO_OPTIONS:
            expect_value = True
        elif not arg.startswith(tuple(o + "=" for o in _DEMO_OPTIONS)):
            return False
    return True


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not _is_demo(argv):
        from wsgiref_rs import cli

        return cli.main(argv)
    return demo(argv)


def demo(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m wsgiref_rs", description="Serve wsgiref-rs's demo app until Ctrl-C."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    parser.add_argument("--version", action="version", version=f"wsgiref-rs {__version__}")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.host, args.port, demo_app)
    except OSError as e:
        parser.exit(1, f"python -m wsgiref_rs: cannot listen on {args.host}:{args.port}: {e.strerror}\n")
    with server:
        host, port = server.server_address[:2]
        print(f"Serving the demo app on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
