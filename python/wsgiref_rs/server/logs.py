"""Logging for the production server.

* ``wsgiref_rs`` (the server's own records, and the engine's under ``wsgiref_rs.engine``): at the
  configured level, to stderr, as ``[PID] LEVEL NAME: MESSAGE``.
* ``wsgiref_rs.access``: one INFO record per response, in the Common Log Format, to stdout::

      127.0.0.1 - - [24/Nov/2026:08:00:00 +0000] "GET / HTTP/1.1" 200 13

  (client address, ``-`` for identity and user, local time, request line, status, body bytes or
  ``-`` for none). Off with ``access_log=False``: the engine then has no callback to call.

Handlers are added only where the application has not configured logging itself (no handler on
the root logger or on these loggers): records then go wherever its configuration sends them.

``log_config`` (``--log-config FILE``) is a :func:`logging.config.dictConfig`, in a .toml or .json
file or as the dict: it is applied instead of these handlers, so its handlers take the records of
these loggers (under the level ``log_level`` sets, unless it sets one itself).
"""

import json
import logging
import sys
import time

from wsgiref_rs.server.config import ConfigError

__all__ = ["ACCESS_LOGGER", "ERROR_FORMAT", "access_logger", "clf_time", "configure", "escape",
           "read_log_config",
           "server_logger"]

ACCESS_LOGGER = "wsgiref_rs.access"
ERROR_FORMAT = "[%(process)d] %(levelname)s %(name)s: %(message)s"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_OURS = "_wsgiref_rs_handler"

server_logger = logging.getLogger("wsgiref_rs.server")


def _remove_ours(logger):
    for handler in list(logger.handlers):
        if getattr(handler, _OURS, False):
            logger.removeHandler(handler)


def _replace_handler(logger, stream, fmt):
    _remove_ours(logger)
    if logger.handlers or logging.getLogger().handlers:
        logger.propagate = True  # configured by the application: its handlers decide
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    setattr(handler, _OURS, True)
    logger.addHandler(handler)
    logger.propagate = False


def configure(level, log_config=None):
    """Set up the server's loggers at ``level`` ("debug" ... "critical"), with ``log_config``'s
    handlers (a dictConfig, or a .toml or .json file's path) if given, else the server's own.
    A ``log_config`` that cannot be read or applied raises ConfigError."""
    ours = logging.getLogger("wsgiref_rs")
    ours.setLevel(level.upper())
    access = logging.getLogger(ACCESS_LOGGER)
    # The access log is governed by access_log, not by the error log's level.
    access.setLevel(logging.INFO)
    if log_config is None:
        _replace_handler(ours, sys.stderr, ERROR_FORMAT)
        _replace_handler(access, sys.stdout, "%(message)s")
        return
    for logger in (ours, access):
        _remove_ours(logger)
        logger.propagate = True
    from logging.config import dictConfig  # only here: it imports socketserver and more

    where = "" if isinstance(log_config, dict) else f" {log_config}:"
    settings = log_config if isinstance(log_config, dict) else read_log_config(log_config)
    # Our loggers exist before the file is applied (imported with the server): dictConfig's
    # default would silence every one the file does not name. gunicorn sets this too.
    settings = {"disable_existing_loggers": False, **settings}
    try:
        dictConfig(settings)
    except (ValueError, TypeError, AttributeError, KeyError, ImportError) as e:
        cause = f": {e.__cause__}" if e.__cause__ is not None else ""
        raise ConfigError(f"log_config:{where} {e}{cause}") from None


def read_log_config(path):
    """The dictConfig in the .toml or .json file at ``path``."""
    from wsgiref_rs.server.config_file import read_toml

    if path.endswith(".toml"):
        try:
            settings = read_toml(path)
        except ConfigError as e:
            raise ConfigError(f"log_config: {e}") from None
    elif path.endswith(".json"):
        try:
            with open(path, encoding="utf-8") as f:
                settings = json.load(f)
        except OSError as e:
            raise ConfigError(f"log_config: {path}: {e.strerror or e}") from None
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
            raise ConfigError(f"log_config: {path}: not valid JSON: {e}") from None
    else:
        raise ConfigError(f"log_config: {path}: a logging configuration is a .toml or .json "
                          f"file")
    if not isinstance(settings, dict):
        raise ConfigError(f"log_config: {path}: not a dictConfig (a JSON object)")
    return settings


def clf_time(now):
    """``now`` (seconds since the epoch) as the Common Log Format writes it, local time."""
    t = time.localtime(now)
    offset = t.tm_gmtoff or 0
    sign = "-" if offset < 0 else "+"
    offset = abs(offset) // 60
    return (f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} "
            f"{sign}{offset // 60:02d}{offset % 60:02d}")


def escape(text):
    """``text`` with quotes, backslashes and unprintable characters escaped: one log line."""
    if '"' not in text and "\\" not in text and text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
    return "".join(out)


def access_logger(enabled, fmt=None):
    """The engine's ``log(requestline, code, size, client_address)`` callback, or None; with
    ``fmt`` (an ``access_format.AccessFormat``), ``log(..., details)``, which the engine is told
    to call with the request's details."""
    if not enabled:
        return None
    if fmt is not None:
        return _formatted(fmt)
    logger = logging.getLogger(ACCESS_LOGGER)
    info = logging.INFO
    stamp = [None, ""]  # second, formatted: one strftime per second, not per request

    def log(requestline, code, size, client_address):
        if not logger.isEnabledFor(info):
            return
        now = int(time.time())
        if stamp[0] != now:
            stamp[0], stamp[1] = now, clf_time(now)
        host = client_address[0] or "-"
        logger.info('%s - - [%s] "%s" %s %s', host, stamp[1], escape(requestline), code,
                    size or "-")

    return log


def _formatted(fmt):
    logger = logging.getLogger(ACCESS_LOGGER)
    info = logging.INFO

    def log(requestline, code, size, client_address, details):
        if logger.isEnabledFor(info):
            logger.info("%s", fmt.line(requestline, code, size, client_address, details,
                                       time.time()))

    return log
