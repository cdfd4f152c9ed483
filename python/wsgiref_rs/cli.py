"""The ``wsgiref-rs`` command (also ``python -m wsgiref_rs APP``): serve a WSGI application in
production, with the options a gunicorn or granian user knows.

    wsgiref-rs myproject.wsgi:application --bind 127.0.0.1:8000 --workers 4

Errors in the arguments print one line and exit with status 2; an application that cannot be
loaded, or a socket that cannot be had, print one line and exit with status 1.

``python -m wsgiref_rs`` is the same command with APP optional: without an APP it serves the demo
app on ``--host`` and ``--port``, which go with the demo only (an APP listens on ``--bind``), as
the other options go with an APP only.

Each option is a setting of ``wsgiref_rs.serve()`` under the same name, with the same default
(``wsgiref_rs.server.config.DEFAULTS``). A setting the command line does not give is taken from
a ``WSGIREF_RS_*`` environment variable, else from the TOML file of ``-c/--config`` (or
``WSGIREF_RS_CONFIG``), else its default (``wsgiref_rs.server.config_file`` reads the two).
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

Each option may be set in a TOML file instead (--config; keys as the options are named:
max-requests = 1000 or max_requests = 1000, app = "myapp:app") or in an environment variable
(WSGIREF_RS_MAX_REQUESTS=1000, WSGIREF_RS_BIND=127.0.0.1:8000,[::1]:8000). The command line
wins over the environment, which wins over the file.

Signals (to the supervisor, which runs with --workers > 1, and with --timeout, --max-requests,
--max-rss, --metrics-bind, --preload or --reload): TERM and INT stop gracefully, HUP reloads the
application gracefully, TTIN and TTOU add and remove a worker.
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
    # APP may come from the config file or the environment instead.
    if demo:
        p.add_argument("app", metavar="APP", nargs="?",
                       help="the application: MODULE:NAME or MODULE:FACTORY() (none: the demo)")
        shown = p.add_argument_group("the demo app (python -m wsgiref_rs without an APP)")
        shown.add_argument("--host", default=DEFAULT_HOST,
                           help="the address to listen on (default %(default)s)")
        shown.add_argument("--port", type=int, default=DEFAULT_PORT,
                           help="the port to listen on; 0: any free one (default %(default)s)")
    else:
        p.add_argument("app", metavar="APP", nargs="?",
                       help="the application: MODULE:NAME or MODULE:FACTORY()")
    # The file the settings come from, not a setting: no default, so none in the namespace.
    p.add_argument("-c", "--config", metavar="FILE.toml", default=argparse.SUPPRESS,
                   help="read settings from a TOML file (keys as the options are named); the "
                        "command line and WSGIREF_RS_* variables win over it")
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
    watch.add_argument("--metrics-bind", metavar="HOST:PORT",
                       help="serve Prometheus metrics of every worker at http://HOST:PORT/metrics "
                            "(from the supervisor)")
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
    http.add_argument("--proxy-protocol", action="store_true",
                      help="every connection starts with a PROXY protocol header (v1 or v2) from "
                           "one of --forwarded-allow-ips, whose client becomes REMOTE_ADDR; "
                           "anything else is closed unanswered")
    http.add_argument("--root-path", metavar="PATH",
                      help="SCRIPT_NAME: the path the app is mounted at behind a proxy")
    tls = p.add_argument_group("TLS")
    tls.add_argument("--certfile", metavar="FILE",
                     help="serve HTTPS with this certificate chain (PEM); SIGHUP reads it again")
    tls.add_argument("--keyfile", metavar="FILE",
                     help="the certificate's private key (PEM, unencrypted; default: in the "
                          "--certfile)")
    tls.add_argument("--ca-certs", metavar="FILE",
                     help="the CAs (PEM) that sign the clients' certificates, for --cert-reqs")
    tls.add_argument("--cert-reqs", type=str.lower, choices=["none", "optional", "required"],
                     help="whether clients must show a certificate signed by --ca-certs "
                          "(default %(default)s); its subject is SSL_CLIENT_S_DN")
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
    log.add_argument("--log-config", metavar="FILE",
                     help="a logging.config.dictConfig in a .toml or .json file, whose handlers "
                          "take the server's log records instead of stderr and stdout")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


def _command_line(parser, argv):
    """``{name: value}`` of what the command line gives, and only that (with the demo's --host
    and --port, defaults included)."""
    # argparse fills in a default only where the namespace lacks the attribute: None on every
    # setting leaves those not given as None (no option gives None; --bind, --uds and --fd
    # append to what is there, and None is the empty list to them).
    given = vars(parser.parse_args(argv, argparse.Namespace(**dict.fromkeys(DEFAULTS))))
    return {name: value for name, value in given.items() if value is not None}


def _settings(given, environ):
    """Every setting, and ``app`` (None when nowhere): the command line's (``given``) over the
    environment's over the config file's over the defaults. With ``{setting: where it was set}``
    for the settings the environment and the file set (a variable, or the file's path). Raises
    ConfigError for a file or a variable that cannot be read."""
    from wsgiref_rs.server.config_file import (
        CONFIG_VARIABLE,
        read_environment,
        read_file,
        variable,
    )

    path = given.get("config") or environ.get(CONFIG_VARIABLE)
    from_file = read_file(path) if path else {}
    from_environment = read_environment(environ)
    sources = {name: path for name in from_file}
    sources.update((name, variable(name)) for name in from_environment)
    from_command_line = {name: value for name, value in given.items()
                         if name in DEFAULTS or name == "app"}
    for name in from_command_line:
        sources.pop(name, None)
    settings = {"app": None, **DEFAULTS, **from_file, **from_environment, **from_command_line}
    return settings, sources


def _config(settings, sources):
    """The checked Config; its ConfigError says where the setting at fault was set."""
    from wsgiref_rs.server.app import check_import_string
    from wsgiref_rs.server.config import Config, ConfigError

    try:
        check_import_string(settings["app"])
        return Config(**settings).check()
    except ValueError as e:  # ConfigError is one
        raise ConfigError(_where_set(str(e), sources)) from None


def _check_again(parser, argv):
    """What a reload with --preload checks before it executes the command afresh: the settings
    the command would read now (its config file may have changed since), and the log config
    file; raises ConfigError if they would not start."""
    from wsgiref_rs.server import logs
    from wsgiref_rs.server.config import ConfigError

    given = _command_line(parser, argv)  # it parsed once: it parses the same again
    given.pop("host", None)
    given.pop("port", None)
    settings, sources = _settings(given, os.environ)
    if settings["app"] is None:
        raise ConfigError("the following arguments are required: APP")
    config = _config(settings, sources)
    if isinstance(config.log_config, str):
        try:
            logs.read_log_config(config.log_config)
        except ConfigError as e:
            raise ConfigError(_where_set(str(e), sources)) from None


def _where_set(message, sources):
    """A Config message names a setting as serve() spells it: say where it was set instead
    (the file, the variable, or the option)."""
    name = message.partition(" ")[0].rstrip(":")
    if name in sources:
        return f"{sources[name]}: {message}"
    return _option_names(message)


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
    (on the command line, in WSGIREF_RS_APP or in a config file), and then without any option
    but --host and --port, it is called instead of the server, and its exit status returned."""
    from wsgiref_rs.server.config import ConfigError

    parser = _parser(demo=demo is not None)
    argv = sys.argv[1:] if argv is None else list(argv)
    given = _command_line(parser, argv)
    address = (given.pop("host", DEFAULT_HOST), given.pop("port", DEFAULT_PORT))
    try:
        settings, sources = _settings(given, os.environ)
    except ConfigError as e:
        parser.error(str(e))
    if settings["app"] is None:
        # The demo takes --host and --port only; the environment's settings are for an APP.
        if demo is None or given:
            parser.error("the following arguments are required: APP")
        return demo(*address)
    if address != (DEFAULT_HOST, DEFAULT_PORT):
        parser.error("--host and --port place the demo app: serve an APP on --bind HOST:PORT")
    try:
        config = _config(settings, sources)
    except ConfigError as e:
        parser.error(str(e))
    from wsgiref_rs.server import handover

    # What a reload with --preload executes again, once it has checked the settings again.
    handover.command = [sys.executable, "-m", "wsgiref_rs", *argv]
    handover.check_command = lambda: _check_again(parser, argv)
    # As `python -m`: the application is looked for in the current directory first.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())

    from wsgiref_rs.server import AppImportError, ListenError, PidFileError, run

    try:
        run(config)
    except ConfigError as e:  # a --log-config that logging refuses, before anything is served
        parser.error(_where_set(str(e), sources))
    except (AppImportError, ListenError, PidFileError) as e:
        sys.stderr.write(f"{PROG}: error: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
