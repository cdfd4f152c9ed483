"""``python -m wsgiref_rs``: the ``wsgiref-rs`` command (``wsgiref_rs.cli``) with APP optional;
without an APP it serves the demo application until Ctrl-C.

    python -m wsgiref_rs [--host HOST] [--port PORT]
    python -m wsgiref_rs APP [options]            (see python -m wsgiref_rs --help)

The demo is ``wsgiref_rs.simple_server``'s ``demo_app`` (it answers "Hello world!" and the
request's environ) behind ``make_server``, the drop-in API; ``--port 0`` picks a free port. The
address is printed once the socket listens.
"""

import sys

from wsgiref_rs import cli


def demo(host, port):
    """Serve the demo app on ``(host, port)`` until Ctrl-C; return the exit status."""
    from wsgiref_rs.simple_server import demo_app, make_server

    try:
        server = make_server(host, port, demo_app)
    except OSError as e:
        sys.stderr.write(f"python -m wsgiref_rs: cannot listen on {host}:{port}: {e.strerror}\n")
        return 1
    with server:
        host, port = server.server_address[:2]
        print(f"Serving the demo app on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("Stopped.", flush=True)
    return 0


def main(argv=None):
    return cli.main(argv, demo=demo)


if __name__ == "__main__":
    sys.exit(main())
