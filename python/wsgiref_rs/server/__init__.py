"""The production server: :func:`serve` (``wsgiref_rs.serve``) and the ``wsgiref-rs`` command.

One concept per module: ``config`` (the settings), ``config_file`` (the settings a TOML file and
``WSGIREF_RS_*`` variables give the command line), ``app`` (finding the application),
``sockets`` (listening), ``environ`` (the base environ), ``logs`` (error and access logs),
``worker`` (one serving process: one engine over every listener), ``supervisor`` (worker
processes, their signals, and the watch over them), ``diagnosis`` (what is said of a hung
worker), ``metrics`` (the workers' counts, served at ``/metrics``), ``handover`` (a
supervisor executed afresh by a reload with ``--preload``), ``reloader`` (``--reload``) and
``pidfile``.
"""

import os
import threading

from wsgiref_rs import __version__
from wsgiref_rs.server import handover, logs
from wsgiref_rs.server.app import AppImportError, load_app
from wsgiref_rs.server.config import DEFAULTS, Config, ConfigError
from wsgiref_rs.server.environ import base_environ
from wsgiref_rs.server.pidfile import PidFileError, pidfile
from wsgiref_rs.server.sockets import ListenError, open_listeners
from wsgiref_rs.server.worker import Serving, check_engine

__all__ = ["AppImportError", "ConfigError", "ListenError", "PidFileError", "run", "serve"]


def serve(app, *, bind=DEFAULTS["bind"], uds=DEFAULTS["uds"], fd=DEFAULTS["fd"],
          workers=DEFAULTS["workers"], threads=DEFAULTS["threads"], backlog=DEFAULTS["backlog"],
          keepalive_timeout=DEFAULTS["keepalive_timeout"],
          header_timeout=DEFAULTS["header_timeout"],
          limit_request_line=DEFAULTS["limit_request_line"],
          limit_request_fields=DEFAULTS["limit_request_fields"],
          limit_request_field_size=DEFAULTS["limit_request_field_size"],
          limit_request_body=DEFAULTS["limit_request_body"], access_log=DEFAULTS["access_log"],
          access_logformat=DEFAULTS["access_logformat"],
          log_level=DEFAULTS["log_level"], log_config=DEFAULTS["log_config"],
          forwarded_allow_ips=DEFAULTS["forwarded_allow_ips"],
          proxy_protocol=DEFAULTS["proxy_protocol"], certfile=DEFAULTS["certfile"],
          keyfile=DEFAULTS["keyfile"], ca_certs=DEFAULTS["ca_certs"],
          cert_reqs=DEFAULTS["cert_reqs"],
          root_path=DEFAULTS["root_path"], pid=DEFAULTS["pid"], reload=DEFAULTS["reload"],
          graceful_timeout=DEFAULTS["graceful_timeout"], timeout=DEFAULTS["timeout"],
          max_requests=DEFAULTS["max_requests"],
          max_requests_jitter=DEFAULTS["max_requests_jitter"], max_rss=DEFAULTS["max_rss"],
          preload=DEFAULTS["preload"], metrics_bind=DEFAULTS["metrics_bind"]):
    """Serve the WSGI application ``app`` until SIGTERM or SIGINT (Ctrl-C), then return.

    ``app`` is a callable, or an import string: ``"module:app"``, ``"module:create_app()"``
    (``reload`` needs a string, so that new workers import fresh code). Where to listen:
    ``bind`` ("HOST:PORT", "[::1]:PORT", or a list of them), ``uds`` (a Unix socket path),
    ``fd`` (an inherited listening descriptor), and systemd's sockets when ``LISTEN_FDS`` is
    for this process; 127.0.0.1:8000 when none is given.

    ``workers > 1`` (or ``reload``) forks worker processes under a supervisor (see
    ``wsgiref_rs.server.supervisor`` for its signals); ``threads`` runs the application on that
    many threads per process (0: one request at a time). The limits and timeouts are the
    engine's (see ``wsgiref_rs._engine``). ``forwarded_allow_ips``: the proxies whose
    ``X-Forwarded-For``/``X-Forwarded-Proto``/``Forwarded`` headers are believed (a comma-separated
    string or a list of addresses, networks, ``"unix"``, ``"*"``; None: nobody).
    ``proxy_protocol``: every connection must start with a PROXY protocol header (v1 or v2, as
    HAProxy's ``send-proxy`` sends it) from one of those proxies; its source address becomes
    ``REMOTE_ADDR``, and any other connection is closed unanswered. ``certfile`` (and
    ``keyfile``, PEM, unencrypted) serve HTTPS, TLS 1.3 and 1.2, in the engine; ``ca_certs`` and
    ``cert_reqs`` ("optional", "required", or ``ssl.CERT_OPTIONAL``...) ask clients for
    certificates, whose subject is ``SSL_CLIENT_S_DN``; SIGHUP reads the files again. ``root_path``
    becomes ``SCRIPT_NAME``. ``pid``: a file to write the serving process's pid to.
    ``access_logformat``: the access log's line in gunicorn's atoms, or ``"json"`` (see
    ``wsgiref_rs.server.access_format``).
    ``graceful_timeout``: seconds in-flight requests get to finish on a stop. ``log_config``: a
    ``logging.config.dictConfig`` (the dict, or a .toml or .json file holding it) that sends the
    server's log records where it says, instead of the server's own stderr and stdout handlers.

    The supervisor watches its workers: ``timeout`` (seconds; 0: off) reports a request whose
    application makes no progress for that long, and a worker whose event loop stops
    answering, with the stack of the thread, and replaces the worker; ``max_requests`` (plus a
    random 0..``max_requests_jitter``) and ``max_rss`` (MiB of resident memory) replace a worker
    gracefully once it has served that many requests or grown that big. ``preload`` imports the
    application once in the supervisor, before forking. ``metrics_bind`` ("HOST:PORT"): the
    supervisor serves Prometheus metrics summed over every worker at ``/metrics`` there (see
    ``wsgiref_rs.server.metrics``). Any of these, like ``workers > 1`` and ``reload``, runs the
    supervisor, which needs the main thread (``timeout=0`` serves in this process). The
    defaults are ``wsgiref_rs.server.config.DEFAULTS``, the command line's too.

    Raises ConfigError (a ValueError) for settings that cannot work (a ``log_config`` that
    ``dictConfig`` refuses too), AppImportError (an ImportError) when the application cannot be
    loaded, and ListenError or PidFileError (OSErrors) when a socket or the pid file cannot be
    had.
    """
    config = Config(
        app=app, bind=bind, uds=uds, fd=fd, workers=workers, threads=threads, backlog=backlog,
        keepalive_timeout=keepalive_timeout, header_timeout=header_timeout,
        limit_request_line=limit_request_line, limit_request_fields=limit_request_fields,
        limit_request_field_size=limit_request_field_size, limit_request_body=limit_request_body,
        access_log=access_log, access_logformat=access_logformat, log_level=log_level,
        log_config=log_config,
        forwarded_allow_ips=forwarded_allow_ips, proxy_protocol=proxy_protocol,
        certfile=certfile, keyfile=keyfile, ca_certs=ca_certs, cert_reqs=cert_reqs,
        root_path=root_path, pid=pid, reload=reload, graceful_timeout=graceful_timeout,
        timeout=timeout, max_requests=max_requests, max_requests_jitter=max_requests_jitter,
        max_rss=max_rss, preload=preload, metrics_bind=metrics_bind,
    )
    run(config.check())


def run(config):
    """Serve with a checked :class:`Config` (what :func:`serve` and the command line call)."""
    from wsgiref_rs.server.supervisor import Supervisor

    main_thread = threading.current_thread() is threading.main_thread()
    if config.supervised and not main_thread:
        raise ConfigError("the supervisor (workers > 1, timeout, max_requests, max_rss, "
                          "metrics_bind, preload, reload) needs the main thread, for its "
                          "signals: off it, serve with timeout=0 and one worker")
    logs.configure(config.log_level, config.log_config)
    # A supervisor executed afresh by a reload (see handover) serves on what it was handed.
    handed = handover.take() if config.supervised else None
    app = None
    if not config.supervised or config.preload:
        # Before binding: an application that cannot load leaves no socket behind.
        try:
            app = load_app(config.app)
        except AppImportError as e:
            if e.details:
                logs.server_logger.debug("%s", e.details)
            if handed is None:
                raise
            # The old workers serve on; new ones try to import it themselves.
            logs.server_logger.error("Reload failed, the running workers stay: %s", e)
    metrics_server = _metrics_server(config, handed)
    try:
        if handed is not None:
            listeners = handover.adopt(handed.listeners)
        else:
            listeners = open_listeners(config.addresses, config.backlog)
    except BaseException:
        if metrics_server is not None:
            metrics_server.close()
        raise
    try:
        check_engine()
        environ = base_environ(listeners, config)

        def announce():
            # Once the pid file is written and the signals are ours: whoever reads these lines
            # may read the file and send signals.
            logs.server_logger.info("Starting wsgiref-rs %s", __version__)
            for listener in listeners:
                url = listener.url
                if config.certfile is not None:
                    url = url.replace("http://", "https://", 1)
                logs.server_logger.info("Listening at: %s (%d)", url, os.getpid())

        with pidfile(config.pid):
            if config.supervised:
                Supervisor(listeners, config, environ, app=app, handed=handed,
                           metrics_server=metrics_server).run(announce)
                return
            serving = Serving(listeners, config, environ, supervised=False)
            if main_thread:
                serving.install_signals()
            try:
                announce()
                serving.run(app)
            finally:
                serving.restore_signals()
            logs.server_logger.info("Stopped")
    finally:
        for listener in listeners:
            listener.close()
        if metrics_server is not None:
            metrics_server.close()


def _metrics_server(config, handed):
    """The metrics' socket, bound (a ConfigError if it cannot be: the address is taken, say);
    None without metrics_bind. After a reload's execve, a failure is logged, and the server goes
    on without metrics rather than stop its workers."""
    if config.metrics_address is None:
        return None
    from wsgiref_rs.server.metrics import MetricsServer

    try:
        return MetricsServer(config.metrics_address)
    except ConfigError as e:
        if handed is None:
            raise
        logs.server_logger.error("No metrics after the reload: %s", e)
        return None
