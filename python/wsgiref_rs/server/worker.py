"""One serving process: the application on the engine over the inherited listeners, with SIGTERM
and SIGINT as a graceful stop.

It is the whole server when nothing needs the supervisor (one worker, ``timeout`` 0, ...), and
each worker process of the supervisor otherwise. A worker also stops, gracefully, when its
supervisor is gone; it shows its requests on the scoreboard its supervisor made, and dumps its
threads' stacks on the supervisor's request (see ``diagnosis``).
"""

import faulthandler
import os
import signal
import socket

from wsgiref_rs import _engine, _native
from wsgiref_rs.server import diagnosis
from wsgiref_rs.server.environ import SERVER_SOFTWARE
from wsgiref_rs.server.logs import access_logger, server_logger
from wsgiref_rs.server.sockets import ListenError

__all__ = ["Serving", "check_engine"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# How often the engine's loop asks whether to stop (a stop signal, the supervisor gone).
POLL_INTERVAL = 0.5


def check_engine():
    """Raise ListenError where the platform has no native engine (Linux and macOS have it)."""
    if not hasattr(_native, "Engine"):
        raise ListenError("this platform has no native engine (Linux and macOS have it)")


def _engine_for(listeners, app, config, environ, scoreboard):
    """One engine serving ``app`` on every listener."""
    first, *others = [listener.fileno() for listener in listeners]
    return _native.Engine(
        first, app, environ, SERVER_SOFTWARE,
        listen_fds=others or None,
        log=access_logger(config.access_log, config.access_format),
        log_details=config.access_log and config.access_format is not None,
        forwarded_allow_ips=config.trusted,
        proxy_protocol=config.proxy_protocol,
        threads=config.threads,
        keepalive_timeout=config.keepalive_timeout,
        header_timeout=config.header_timeout,
        max_connections=_engine._max_connections(None),
        limit_request_line=config.limit_request_line,
        limit_request_fields=config.limit_request_fields,
        limit_request_field_size=config.limit_request_field_size,
        limit_request_body=config.limit_request_body,
        scoreboard=scoreboard,
        **config.tls,
    )


def _listening(listener):
    try:
        return bool(listener.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    except OSError:
        return False


class Serving:
    """Serve ``app`` on ``listeners`` until a stop signal; see :meth:`run`."""

    def __init__(self, listeners, config, environ, supervised, scoreboard=None,
                 stacks_fd=None):
        self.listeners = listeners
        self.config = config
        self.environ = environ
        self.supervised = supervised
        self.scoreboard = scoreboard
        self.stacks_fd = stacks_fd
        self.engine = None
        self.stops = 0
        # The engine forgets a stop() made before its loop runs: a stop signal is passed on
        # from inside the loop (should_stop), or at once once the loop is known to run.
        self._looping = False
        self._stop_sent = False
        self._parent = os.getppid()
        self._saved = {}

    def install_signals(self):
        """Take SIGTERM and SIGINT (and, in a worker, ignore the supervisor's own signals).
        Call before the application is imported, so that a stop during the import counts."""
        handlers = {signum: self._on_stop for signum in STOP_SIGNALS}
        if self.supervised:
            for name in ("SIGHUP", "SIGTTIN", "SIGTTOU", "SIGCHLD"):
                signum = getattr(signal, name)
                handlers[signum] = signal.SIG_DFL if name == "SIGCHLD" else signal.SIG_IGN
        else:
            handlers[signal.SIGHUP] = self._on_hup
        for signum, handler in handlers.items():
            self._saved[signum] = signal.signal(signum, handler)
        if self.stacks_fd is not None:
            # From C, without the GIL: a thread stuck holding it cannot keep its stack hidden.
            faulthandler.register(diagnosis.STACKS_SIGNAL, file=self.stacks_fd, all_threads=True,
                                  chain=False)

    def restore_signals(self):
        for signum, handler in self._saved.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._saved.clear()

    def _on_stop(self, signum, frame):
        self.stops += 1
        name = signal.Signals(signum).name
        if self.stops == 1:
            server_logger.info("Stopping (%s): finishing the requests in flight (up to %gs)",
                               name, self.config.graceful_timeout)
            self._send_stop()
        elif not self.supervised and self._looping:
            # A second Ctrl-C at the terminal: stop now. (A worker's supervisor escalates
            # with SIGKILL after the graceful timeout, so a worker ignores repeats.)
            server_logger.info("Stopping now (%s again)", name)
            self.engine.stop()

    def _send_stop(self):
        if self._looping and not self._stop_sent:
            self._stop_sent = True
            self.engine.stop(graceful_timeout=self.config.graceful_timeout)
            if not self.supervised:
                # The whole server: refuse new connections at once (the engine has closed its
                # copies of the sockets; these are still open).
                for listener in self.listeners:
                    listener.stop_accepting()

    def _on_hup(self, signum, frame):
        if self.engine is not None and self.config.certfile is not None:
            # A renewed certificate, for the connections from now on.
            try:
                self.engine.reload_tls()
            except ValueError as e:
                server_logger.error("SIGHUP: the TLS files were not reloaded, the ones read "
                                    "before serve on: %s", e)
            else:
                server_logger.info("SIGHUP: TLS certificate and key reloaded")
            return
        server_logger.warning("SIGHUP ignored: reloading needs the supervisor "
                              "(--workers 2 or more, or --reload)")

    def _should_stop(self):
        """Asked by the engine's loop every poll interval (so the loop runs)."""
        self._looping = True
        if self.supervised and self.stops == 0 and os.getppid() != self._parent:
            self.stops = 1
            server_logger.warning("The supervisor is gone: stopping")
        if self.stops:
            self._send_stop()
        return False

    def run(self, app, on_ready=None):
        """Build the engine for ``app`` (a WSGI callable) and serve; return once stopped."""
        if self.stops:
            return
        try:
            self.engine = _engine_for(self.listeners, app, self.config, self.environ,
                                      self.scoreboard)
        except ValueError:
            # Stopped while starting: a stopping supervisor has shut the sockets down (its
            # SIGTERM may not have been handled yet).
            if self.stops or not any(_listening(each) for each in self.listeners):
                return
            raise
        if self.stops:
            return
        if on_ready is not None:
            on_ready()
        self.engine.serve_forever(POLL_INTERVAL, self._should_stop)
