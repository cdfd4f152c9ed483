"""The ``wsgiref-rs`` command (also ``python -m wsgiref_rs APP``): serve a WSGI application in
production, with the options a gunicorn or granian user knows.

    wsgiref-rs myproject.wsgi:application --bind 127.0.0.1:8000 --workers 4

Errors in the arguments print one line and exit with status 2; an application that cannot be
loaded, or a socket that cannot be had, print one line and exit with status 1.

``python -m wsgiref_rs`` is the same command with APP optional: without an APP it serves the demo
app on ``--host`` and ``--port``, which go with the demo only (an APP listens on ``--bind``), as
the other options go with an APP only.

Each option is a setting of ``wsgiref_rs.serve()`` under the same name, with the same default
(``wsgiref_rs.server.config.DEFAULTS``).
"""

import argparse
import os
import sys

from wsgiref_rs import __version__
from wsgiref_rs.server.config import DEFAULT_BIND, DEFAULT_HOST, DEFAULT_PORT, DEFAULTS

__all__ = ["main"]

PROG = "wsgiref-rs"

_EPILOG = """\
APP is MODULE:NAME (myproject.wsgi:application) or MODULE:FACTORY() (myapp:create_app());
MODULE alone means MODULE:application. The current directory is searched first.

Signals (to the supervisor, which runs with --workers > 1, and with --timeout, --max-requests,
--max-rss, --preload or --reload): TERM and INT stop gracefully, HUP reloads the application
gracefully, TTIN and TTOU add and remove a worker.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block): `wsgiref-rs: error: ...`, status 2."""

    def error(self, message):
        self.exit(2, f"{PROG}: error: {message}\n")


def _parser(demo=False):
    """The command's parser; ``demo``: ``python -m wsgiref_rs``'s, where APP is optional and
    --host and --port place the demo app."""
    p = _Parser(prog=PROG, description="Serve a WSGI application on wsgiref-rs's native engine.",
                epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Every option's default (and its help's %(default)s), as serve() has it.
    p.set_defaults(**DEFAULTS)
    if demo:
        p.add_argument("app", metavar="APP", nargs="?",
                       help="the application: MODULE:NAME or MODULE:FACTORY() (none: the demo)")
        shown = p.add_argument_group("the demo app (python -m wsgiref_rs without an APP)")
        shown.add_argument("--host", default=DEFAULT_HOST,
                           help="the address to listen on (default %(default)s)")
        shown.add_argument("--port", type=int, default=DEFAULT_PORT,
                           help="the port to listen on; 0: any free one (default %(default)s)")
    else:
        p.add_argument("app", metavar="APP",
                       help="the application: MODULE:NAME or MODULE:FACTORY()")
    where = p.add_argument_group(f"where to listen (default {DEFAULT_BIND}, or systemd's sockets)")
    where.add_argument("-b", "--bind", action="append", metavar="HOST:PORT",
                       help="a TCP address: 127.0.0.1:8000, [::1]:8000, 0.0.0.0:80 (repeatable)")
    where.add_argument("--uds", action="append", metavar="PATH",
                       help="a Unix socket to create (mode 0666; a stale file is replaced)")
    where.add_argument("--fd", action="append", type=int, metavar="N",
                       help="an inherited listening socket's file descriptor")
    where.add_argument("--backlog", type=int, metavar="N",
                       help="the listen queue's length (default %(default)s)")
    work = p.add_argument_group("processes and threads")
    work.add_argument("-w", "--workers", type=int, metavar="N",
                      help="worker processes, under a supervisor (default %(default)s)")
    work.add_argument("--threads", type=int, metavar="N",
                      help="threads per worker running the app; 0: one request at a time "
                           "(default %(default)s)")
    work.add_argument("--graceful-timeout", type=float, metavar="SECONDS",
                      help="how long in-flight requests may take on a stop or reload "
                           "(default %(default)g)")
    work.add_argument("--reload", action="store_true",
                      help="restart the workers when a .py file changes (development only)")
    work.add_argument("--preload", action="store_true",
                      help="import the application once, before the workers are forked (they "
                           "share its memory); HUP still loads new code")
    work.add_argument("--pid", metavar="FILE", help="write the server's pid to FILE")
    watch = p.add_argument_group("watching the workers (each turns the supervisor on; 0: off)")
    watch.add_argument("-t", "--timeout", type=float, metavar="SECONDS",
                       help="a request whose application makes no progress for this long, or a "
                            "worker whose event loop stops answering, is logged with its stack "
                            "and the worker replaced (default %(default)g)")
    watch.add_argument("--max-requests", type=int, metavar="N",
                       help="replace a worker once it has served N requests "
                            "(default %(default)s)")
    watch.add_argument("--max-requests-jitter", type=int, metavar="N",
                       help="add a random 0..N to each worker's --max-requests, so that they are "
                            "not all replaced at once (default %(default)s)")
    watch.add_argument("--max-rss", type=int, metavar="MIB",
                       help="replace a worker whose resident memory goes over MIB mebibytes "
                            "(default %(default)s)")
    http = p.add_argument_group("HTTP")
    http.add_argument("--keepalive-timeout", type=float, metavar="SECONDS",
                      help="how long an idle keep-alive connection is kept (default %(default)g)")
    http.add_argument("--header-timeout", type=float, metavar="SECONDS",
                      help="how long a client may take to send a request's head "
                           "(default %(default)g)")
    http.add_argument("--limit-request-line", type=int, metavar="BYTES",
                      help="longest request line (default %(default)s; else 414)")
    http.add_argument("--limit-request-fields", type=int, metavar="N",
                      help="most header fields (default %(default)s; else 431)")
    http.add_argument("--limit-request-field-size", type=int, metavar="BYTES",
                      help="largest header section (default %(default)s; else 431)")
    http.add_argument("--limit-request-body", type=int, metavar="BYTES",
                      help="largest request body (default %(default)s: no limit; else 413)")
    http.add_argument("--forwarded-allow-ips", metavar="LIST",
                      help="proxies whose X-Forwarded-*/Forwarded headers are trusted: addresses, "
                           "networks, 'unix', '*' (default %(default)s)")
    http.add_argument("--root-path", metavar="PATH",
                      help="SCRIPT_NAME: the path the app is mounted at behind a proxy")
    log = p.add_argument_group("logging")
    log.add_argument("--access-log", action=argparse.BooleanOptionalAction,
                     help="log each request to stdout in the Common Log Format (default "
                          f"{'on' if DEFAULTS['access_log'] else 'off'})")
    log.add_argument("--access-logformat", metavar="FORMAT",
                     help="the access log's line in gunicorn's atoms (%%(h)s %%(r)s %%(s)s "
                          "%%(D)s %%({user-agent}i)s ...), or 'json' for one JSON object per "
                          "line (default: the Common Log Format)")
    log.add_argument("--log-level", type=str.lower,
                     choices=["debug", "info", "warning", "error", "critical"],
                     help="the error log's level, on stderr (default %(default)s)")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


def _config(parser, args):
    from wsgiref_rs.server.app import check_import_string
    from wsgiref_rs.server.config import Config, ConfigError

    try:
        check_import_string(args.app)
        return Config(**vars(args)).check()
    except (ValueError, ConfigError) as e:
        parser.error(_option_names(str(e)))


def _option_names(message):
    """A Config message speaks of serve()'s keywords; name the command line's options instead."""
    first, sep, rest = message.partition(" ")
    name = first.rstrip(":")
    if name.isidentifier() and "_" in name or name in ("workers", "threads", "backlog", "pid",
                                                        "timeout", "preload", "reload"):
        return f"--{first.replace('_', '-')}{sep}{rest}"
    return message


def main(argv=None, demo=None):
    """Run the command with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    ``demo(host, port)``, given by ``python -m wsgiref_rs``, makes APP optional: without an APP
    (and then without any option but --host and --port) it is called instead of the server, and
    its exit status returned."""
    parser = _parser(demo=demo is not None)
    args = parser.parse_args(argv)
    if demo is not None:
        address = (args.host, args.port)
        del args.host, args.port
        if args.app is None:
            if any(value != parser.get_default(name) for name, value in vars(args).items()):
                parser.error("the following arguments are required: APP")
            return demo(*address)
        if address != (DEFAULT_HOST, DEFAULT_PORT):
            parser.error("--host and --port place the demo app: serve an APP on --bind HOST:PORT")
    config = _config(parser, args)
    from wsgiref_rs.server import handover

    # What a reload with --preload executes again.
    handover.command = [sys.executable, "-m", "wsgiref_rs",
                        *(sys.argv[1:] if argv is None else argv)]
    # As `python -m`: the application is looked for in the current directory first.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())

    from wsgiref_rs.server import AppImportError, ListenError, PidFileError, run

    try:
        run(config)
    except (AppImportError, ListenError, PidFileError) as e:
        sys.stderr.write(f"{PROG}: error: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
