"""``--access-logformat``: the access log's line in gunicorn's atoms, or one JSON object per line.

A format is gunicorn's: ``%(NAME)s`` for each atom below, ``%({Header}i)s`` for a request header,
``%({Header}o)s`` for a response header, ``%({VAR}e)s`` for an environment variable of the server
process; anything else is kept as written. Atoms that are not known are ``-`` (gunicorn's choice
too). Only the atoms a format names are computed, and the engine passes the request's details
(its headers, the response's headers, its duration) only when a format is set: the default Common
Log Format line costs what it did.

=====  ===================================================================================
h      the client's address (the one a trusted proxy named)
l      ``-``
u      the user name of a ``Basic`` Authorization header, else ``-``
t      the time, ``[06/Dec/2026:10:00:00 +0000]``
r      the request line
m      the method
U      the path, without the query string
q      the query string
H      the protocol
s      the status code
B      the body's length in bytes
b      the body's length, ``-`` for none
f      the Referer header
a      the User-Agent header
T      the duration in whole seconds
M      in milliseconds
D      in microseconds
L      in seconds, with six decimals
p      the worker's pid, ``<1234>``
=====  ===================================================================================

``json``: the same request as one JSON object per line, with the keys of :data:`JSON_KEYS`.
"""

import base64
import binascii
import json
import os
import re
import time

from wsgiref_rs.server.logs import clf_time, escape

__all__ = ["CLF", "JSON", "JSON_KEYS", "AccessFormat", "FormatError"]

# The Common Log Format, the access log's default (gunicorn's default adds "%(f)s" "%(a)s").
CLF = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s'
JSON = "json"
JSON_KEYS = ("remote_addr", "time", "request", "method", "path", "query", "protocol", "status",
             "bytes", "duration_us", "referer", "user_agent", "pid")
_KEY = re.compile(r"%\(([^)]*)\)")


class FormatError(ValueError):
    """A format that cannot be used, with the reason."""


def _header(fields, name):
    name = name.lower()
    for field, value in fields:
        if field.lower() == name:
            return value
    return None


def _user(authorization):
    if not authorization or not authorization[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        return None
    return decoded.partition(":")[0] or None


class _Request:
    """One request's atoms, each computed when a format asks for it."""

    def __init__(self, requestline, code, size, client, details, stamp):
        self.requestline = requestline
        self.code = code
        self.size = size
        self.client = client
        self.micros, self.request_headers, self.response_headers = details
        self.stamp = stamp
        method, _, rest = requestline.partition(" ")
        self.method = method
        target, _, self.protocol = rest.rpartition(" ")
        self.path, _, self.query = target.partition("?")

    def __getitem__(self, key):
        value = self.atom(key)
        # What the client sent goes into the line escaped: it cannot fake another line.
        return "-" if value is None or value == "" else escape(value)

    def atom(self, key):
        if key.startswith("{") and len(key) > 3 and key[-2] == "}":
            name, kind = key[1:-2], key[-1]
            if kind == "i":
                return _header(self.request_headers, name)
            if kind == "o":
                return _header(self.response_headers, name)
            if kind == "e":
                return os.environ.get(name)
            return None
        simple = _SIMPLE.get(key)
        return None if simple is None else simple(self)

    def as_json(self):
        return {
            "remote_addr": self.client[0] or None,
            "time": self.stamp,
            "request": self.requestline,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "protocol": self.protocol,
            "status": int(self.code) if self.code.isdigit() else self.code,
            "bytes": self.size,
            "duration_us": self.micros,
            "referer": _header(self.request_headers, "referer"),
            "user_agent": _header(self.request_headers, "user-agent"),
            "pid": os.getpid(),
        }


_SIMPLE = {
    "h": lambda r: r.client[0],
    "l": lambda r: "-",
    "u": lambda r: _user(_header(r.request_headers, "authorization")),
    "t": lambda r: f"[{clf_time(r.stamp)}]",
    "r": lambda r: r.requestline,
    "m": lambda r: r.method,
    "U": lambda r: r.path,
    "q": lambda r: r.query,
    "H": lambda r: r.protocol,
    "s": lambda r: r.code,
    "B": lambda r: str(r.size),
    "b": lambda r: str(r.size) if r.size else None,
    "f": lambda r: _header(r.request_headers, "referer"),
    "a": lambda r: _header(r.request_headers, "user-agent"),
    "T": lambda r: str(r.micros // 1_000_000),
    "M": lambda r: str(r.micros // 1000),
    "D": lambda r: str(r.micros),
    "L": lambda r: f"{r.micros / 1e6:.6f}",
    "p": lambda r: f"<{os.getpid()}>",
}


class AccessFormat:
    """A checked format: :meth:`line` makes one request's line of it."""

    def __init__(self, text):
        if not isinstance(text, str) or not text:
            raise FormatError(f"an access log format must be a non-empty string: {text!r}")
        self.text = text
        self.json = text == JSON
        if not self.json:
            try:
                text % _Probe()
            except (TypeError, ValueError, KeyError) as e:
                raise FormatError(f"{text!r} is not a %(name)s format: {e}") from None

    def line(self, requestline, code, size, client, details, now):
        request = _Request(requestline, code, size, client, details, now)
        if self.json:
            entry = request.as_json()
            entry["time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now))
            return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        return self.text % request


class _Probe:
    """Stands for a request when a format is checked: every atom is a string."""

    def __getitem__(self, key):
        return "-"


def names(text):
    """The atoms a format names (for the tests and the docs)."""
    return _KEY.findall(text)
