"""How one serving process drives the native engine over its listeners, and which of the
engine's deployment features this build has.

The features are read from the engine's signature, so this module works with engines that
predate them:

* ``LISTEN_FDS``: one engine serves every listener (``listen_fds=``); without it, one engine per
  listener, each on its own thread (the first on the calling thread, where signals arrive);
* ``FORWARDED``: ``forwarded_allow_ips=`` (trusted proxy headers); without it, the headers are
  never trusted;
* ``GRACEFUL_STOP``: ``Engine.stop(graceful_timeout=)`` drains in-flight requests; without it,
  ``stop()`` returns from ``serve_forever()`` after the request being served;
* ``UNIX_SOCKETS``: the engine accepts on a Unix-domain listener (it came with ``listen_fds``).
"""

import inspect
import threading

from wsgiref_rs import _engine as _simple_engine
from wsgiref_rs import _native
from wsgiref_rs.server.environ import SERVER_SOFTWARE, request_keys
from wsgiref_rs.server.logs import access_logger
from wsgiref_rs.server.sockets import ListenError

__all__ = ["FORWARDED", "GRACEFUL_STOP", "LISTEN_FDS", "UNIX_SOCKETS", "Runner", "check_listeners"]

Engine = getattr(_native, "Engine", None)


def _parameters(function):
    try:
        return frozenset(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return frozenset()


_ENGINE_PARAMETERS = _parameters(Engine) if Engine is not None else frozenset()
LISTEN_FDS = "listen_fds" in _ENGINE_PARAMETERS
FORWARDED = "forwarded_allow_ips" in _ENGINE_PARAMETERS
GRACEFUL_STOP = Engine is not None and "graceful_timeout" in _parameters(Engine.stop)
UNIX_SOCKETS = LISTEN_FDS


def check_listeners(listeners):
    """Raise ListenError for a listener this build's engine cannot serve."""
    if Engine is None:
        raise ListenError("this platform has no native engine (Linux and macOS have it)")
    for listener in listeners:
        if listener.is_unix and not UNIX_SOCKETS:
            raise ListenError(f"cannot listen on {listener.url}: this build's engine serves "
                              f"TCP sockets only")


class Runner:
    """The engine (or engines) of one serving process, with ``serve()`` and ``stop()``."""

    poll_interval = 0.5

    def __init__(self, listeners, app, config, environ):
        kwargs = {
            "log": access_logger(config.access_log),
            "request_keys": request_keys(environ),
            "threads": config.threads,
            "keepalive_timeout": config.keepalive_timeout,
            "header_timeout": config.header_timeout,
            "max_connections": _simple_engine._max_connections(None),
            "limit_request_line": config.limit_request_line,
            "limit_request_fields": config.limit_request_fields,
            "limit_request_field_size": config.limit_request_field_size,
            "limit_request_body": config.limit_request_body,
        }
        if FORWARDED:
            kwargs["forwarded_allow_ips"] = config.trusted
        fds = [listener.fileno() for listener in listeners]
        if LISTEN_FDS:
            kwargs["listen_fds"] = fds[1:] or None
            self.engines = [Engine(fds[0], app, environ, SERVER_SOFTWARE, **kwargs)]
        else:
            self.engines = [Engine(fd, app, dict(environ), SERVER_SOFTWARE, **kwargs)
                            for fd in fds]
        self._errors = []

    def serve(self, should_stop=None):
        """Serve until stop() (or should_stop() answers true); raise what an engine raised."""
        first, *others = self.engines
        threads = [threading.Thread(target=self._serve_other, args=(engine,), daemon=True,
                                    name=f"wsgiref-rs engine {i}")
                   for i, engine in enumerate(others, 1)]
        for thread in threads:
            thread.start()

        def stop_asked():
            return bool(self._errors) or (should_stop is not None and should_stop())

        try:
            first.serve_forever(self.poll_interval, stop_asked if others or should_stop else None)
        finally:
            for engine in others:
                engine.stop()
            for thread in threads:
                thread.join()
        if self._errors:
            raise self._errors[0]

    def _serve_other(self, engine):
        try:
            engine.serve_forever(self.poll_interval)
        except BaseException as e:  # handed to the serving thread, which re-raises it
            self._errors.append(e)

    def stop(self, graceful_timeout=None):
        """Stop accepting; with ``graceful_timeout`` (and an engine that can), finish what is in
        flight for up to that many seconds first. Safe from a signal handler."""
        for engine in self.engines:
            if graceful_timeout is not None and GRACEFUL_STOP:
                engine.stop(graceful_timeout=graceful_timeout)
            else:
                engine.stop()
