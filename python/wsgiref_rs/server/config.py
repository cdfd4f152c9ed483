"""The production server's settings: one :class:`Config`, checked once, shared by
``wsgiref_rs.serve()`` and the ``wsgiref-rs`` command line.

Each setting's default is defined once: the engine's in the native module
(``wsgiref_rs._native.DEFAULTS``), the server's own as :class:`Config`'s fields. :data:`DEFAULTS`
gathers them under the settings' names, which are ``serve()``'s keywords and the command line's
options (``limit_request_fields``: ``--limit-request-fields``); both take their defaults from it.
"""

import ipaddress
import os
import re
from dataclasses import MISSING, dataclass, field, fields

from wsgiref_rs._native import DEFAULTS as ENGINE_DEFAULTS
from wsgiref_rs._native import check_tls as load_tls

__all__ = ["DEFAULTS", "DEFAULT_BIND", "Address", "Config", "ConfigError", "parse_bind"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_BIND = f"{DEFAULT_HOST}:{DEFAULT_PORT}"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
# cert_reqs by name, in the order of ssl.CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED (0, 1, 2).
CERT_REQS = ("none", "optional", "required")


class ConfigError(ValueError):
    """A setting that cannot work (the command line exits with status 2 on it)."""


@dataclass(frozen=True)
class Address:
    """Where to listen: ``kind`` is "tcp" (host, port), "unix" (path) or "fd" (fd)."""

    kind: str
    host: str = ""
    port: int = 0
    path: str = ""
    fd: int = -1

    def __str__(self):
        if self.kind == "unix":
            return f"unix:{self.path}"
        if self.kind == "fd":
            return f"fd://{self.fd}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


_BRACKETED = re.compile(r"^\[([^\]]*)\](?::(.*))?$")


def parse_bind(text):
    """An :class:`Address` from ``HOST:PORT``, ``[IPV6]:PORT``, ``HOST`` (port 8000),
    ``unix:PATH`` or ``fd://N`` (the last two as gunicorn spells them)."""
    if not isinstance(text, str) or not text:
        raise ConfigError(f"bind address must be a non-empty string: {text!r}")
    if text.startswith("unix:"):
        return Address("unix", path=_uds_path(text[5:]))
    if text.startswith("fd://"):
        return Address("fd", fd=_fd_number(text[5:]))
    match = _BRACKETED.match(text)
    if match:
        host, port = match.group(1), match.group(2)
        try:
            ipaddress.IPv6Address(host.partition("%")[0])
        except ValueError:
            raise ConfigError(f"bind address {text!r}: {host!r} is not an IPv6 address") from None
    elif text.count(":") > 1:
        raise ConfigError(f"bind address {text!r}: write an IPv6 address in brackets, "
                          f"as [::1]:{DEFAULT_PORT}")
    else:
        host, sep, port = text.partition(":")
        if not sep:
            port = None
        if not host:
            raise ConfigError(f"bind address {text!r} has no host "
                              f"(0.0.0.0:PORT or [::]:PORT listens everywhere)")
    return Address("tcp", host=host, port=_port(text, port))


def _port(text, port):
    if port is None:
        return DEFAULT_PORT
    if not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"bind address {text!r}: port must be a number from 0 to 65535")
    return int(port)


def _uds_path(path):
    if not path:
        raise ConfigError("Unix socket path is empty")
    if "\0" in path:
        raise ConfigError(f"Unix socket path {path!r} contains a NUL character")
    return path


def _fd_number(text):
    value = str(text)
    if not value.isdigit():
        raise ConfigError(f"file descriptor must be a non-negative number: {text!r}")
    return int(value)


def _forwarded(value):
    """A list of trusted proxies from a comma-separated string or an iterable of strings."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    trusted = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"forwarded_allow_ips: {item!r} is not a string")
        item = item.strip()
        if not item:
            continue
        if item not in ("*", "unix"):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ConfigError(
                    f"forwarded_allow_ips: {item!r} is not an IP address, a network "
                    f"(10.0.0.0/8), '*' or 'unix'"
                ) from None
        trusted.append(item)
    return trusted


@dataclass
class Config:
    """Every setting of :func:`wsgiref_rs.serve`, as given; :meth:`check` validates them and
    fills in the derived fields."""

    app: object
    bind: object = None
    uds: object = None
    fd: object = None
    workers: int = 1
    threads: int = ENGINE_DEFAULTS["threads"]
    backlog: int = 2048
    keepalive_timeout: float = ENGINE_DEFAULTS["keepalive_timeout"]
    header_timeout: float = ENGINE_DEFAULTS["header_timeout"]
    limit_request_line: int = ENGINE_DEFAULTS["limit_request_line"]
    limit_request_fields: int = ENGINE_DEFAULTS["limit_request_fields"]
    limit_request_field_size: int = ENGINE_DEFAULTS["limit_request_field_size"]
    limit_request_body: object = ENGINE_DEFAULTS["limit_request_body"]
    access_log: bool = True
    access_logformat: object = None
    log_level: str = "info"
    # A logging.config.dictConfig (a .toml or .json file's path, or the dict) that replaces the
    # server's own log handlers (see wsgiref_rs.server.logs).
    log_config: object = None
    forwarded_allow_ips: object = "127.0.0.1,::1,unix"
    # Every connection starts with a PROXY protocol header from a peer of forwarded_allow_ips.
    proxy_protocol: bool = False
    # TLS in the engine: the certificate chain and its key (PEM), and the CAs that sign the
    # clients' certificates, which cert_reqs ("none", "optional", "required") asks for.
    certfile: object = None
    keyfile: object = None
    ca_certs: object = None
    cert_reqs: object = "none"
    root_path: str = ""
    pid: object = None
    reload: bool = False
    graceful_timeout: float = 30.0
    # The supervisor's watch over its workers (see wsgiref_rs.server.supervisor); 0 is off.
    timeout: float = 30.0
    max_requests: int = 0
    max_requests_jitter: int = 0
    max_rss: int = 0
    preload: bool = False
    # HOST:PORT where the supervisor serves Prometheus metrics at /metrics (see
    # wsgiref_rs.server.metrics); None: no metrics, and nothing counted.
    metrics_bind: object = None
    # Derived by check():
    addresses: list = field(default_factory=list, init=False)
    trusted: object = field(default=None, init=False)
    access_format: object = field(default=None, init=False)
    metrics_address: object = field(default=None, init=False)

    def check(self):
        """Validate every setting (ConfigError names the first bad one); return self."""
        if not callable(self.app) and not isinstance(self.app, str):
            raise ConfigError("app must be a WSGI callable or an import string 'module:app'")
        self.addresses = self._addresses()
        self.workers = _integer("workers", self.workers, minimum=1)
        self.threads = _integer("threads", self.threads, minimum=0)
        self.backlog = _integer("backlog", self.backlog, minimum=1)
        self.keepalive_timeout = _seconds("keepalive_timeout", self.keepalive_timeout)
        self.header_timeout = _seconds("header_timeout", self.header_timeout)
        self.graceful_timeout = _seconds("graceful_timeout", self.graceful_timeout)
        self.limit_request_line = _integer("limit_request_line", self.limit_request_line, minimum=1)
        self.limit_request_fields = _integer("limit_request_fields", self.limit_request_fields,
                                             minimum=1)
        self.limit_request_field_size = _integer("limit_request_field_size",
                                                 self.limit_request_field_size, minimum=1)
        if self.limit_request_body is not None:
            self.limit_request_body = _integer("limit_request_body", self.limit_request_body,
                                               minimum=0)
        if not isinstance(self.log_level, str) or self.log_level.lower() not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}: "
                              f"{self.log_level!r}")
        self.log_level = self.log_level.lower()
        if self.log_config is not None and not isinstance(self.log_config, dict) and (
                not isinstance(self.log_config, str) or not self.log_config):
            raise ConfigError(f"log_config must be a .toml or .json file's path, or a dict for "
                              f"logging.config.dictConfig: {self.log_config!r}")
        self.trusted = _forwarded(self.forwarded_allow_ips)
        self.proxy_protocol = bool(self.proxy_protocol)
        self.check_tls()
        self.root_path = _root_path(self.root_path)
        if self.pid is not None and (not isinstance(self.pid, str) or not self.pid):
            raise ConfigError(f"pid must be a file path: {self.pid!r}")
        self.access_log = bool(self.access_log)
        if self.access_logformat is not None:
            # Here, not at the top: access_format uses logs, which uses this module.
            from wsgiref_rs.server.access_format import AccessFormat, FormatError

            try:
                self.access_format = AccessFormat(self.access_logformat)
            except FormatError as e:
                raise ConfigError(f"access_logformat: {e}") from None
        self.reload = bool(self.reload)
        self.preload = bool(self.preload)
        self.timeout = _seconds("timeout", self.timeout, zero=True)
        self.max_requests = _integer("max_requests", self.max_requests, minimum=0)
        self.max_requests_jitter = _integer("max_requests_jitter", self.max_requests_jitter,
                                            minimum=0)
        if self.max_requests_jitter and not self.max_requests:
            raise ConfigError("max_requests_jitter needs max_requests: the jitter is added to it")
        self.max_rss = _integer("max_rss", self.max_rss, minimum=0)
        if self.metrics_bind is not None:
            self.metrics_address = _metrics_address(self.metrics_bind)
        if self.reload and self.preload:
            raise ConfigError("preload does not go with reload, which imports the application "
                              "in each worker so that a change is seen")
        if self.preload and not isinstance(self.app, str):
            raise ConfigError("preload needs the app as an import string ('module:app'): an "
                              "object is already loaded, and the workers share it anyway")
        if self.reload and not isinstance(self.app, str):
            raise ConfigError("reload needs the app as an import string ('module:app'): "
                              "a running process cannot re-import an object")
        return self

    def check_tls(self):
        """The TLS files are read here, so that a wrong one is one line before anything starts
        (and again by each worker's engine, which a reload makes afresh)."""
        for name in ("certfile", "keyfile", "ca_certs"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (str, os.PathLike)) or not value):
                raise ConfigError(f"{name} must be a PEM file's path: {value!r}")
        reqs = self.cert_reqs
        if isinstance(reqs, str) and reqs.lower() in CERT_REQS:
            self.cert_reqs = CERT_REQS.index(reqs.lower())
        elif isinstance(reqs, int) and not isinstance(reqs, bool) and 0 <= reqs < len(CERT_REQS):
            self.cert_reqs = int(reqs)  # ssl.CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED
        else:
            raise ConfigError(f"cert_reqs must be one of {', '.join(CERT_REQS)} (or ssl.CERT_NONE, "
                              f"CERT_OPTIONAL, CERT_REQUIRED): {reqs!r}")
        if self.certfile is None:
            if self.keyfile is not None or self.ca_certs is not None or self.cert_reqs:
                raise ConfigError("keyfile, ca_certs and cert_reqs need certfile: TLS is on with "
                                  "a certificate")
            return
        try:
            load_tls(os.fspath(self.certfile), self.keyfile and os.fspath(self.keyfile),
                     self.ca_certs and os.fspath(self.ca_certs), self.cert_reqs)
        except ValueError as e:
            raise ConfigError(f"TLS: {e}") from None

    @property
    def tls(self):
        """The engine's TLS keywords (None for every one without TLS); after check()."""
        return {"certfile": self.certfile, "keyfile": self.keyfile, "ca_certs": self.ca_certs,
                "cert_reqs": self.cert_reqs}

    def _addresses(self):
        addresses = [parse_bind(b) for b in _many(self.bind)]
        addresses += [Address("unix", path=_uds_path(p)) for p in _many(self.uds)]
        addresses += [Address("fd", fd=_fd_number(f)) for f in _many(self.fd)]
        return addresses

    @property
    def supervised(self):
        """Whether a supervisor process runs the workers (else the process serves itself):
        for more than one worker, and for anything that watches or replaces a worker."""
        return (self.workers > 1 or self.reload or self.preload or self.timeout > 0
                or self.max_requests > 0 or self.max_rss > 0 or self.metrics_address is not None)


# {setting: its default} for every setting but ``app``, in serve()'s order.
DEFAULTS = {f.name: f.default for f in fields(Config) if f.init and f.default is not MISSING}


def _many(value):
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [value]
    return list(value)


def _integer(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer: {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}: {value}")
    return value


def _seconds(name, value, zero=False):
    """A positive number of seconds (or 0, which turns the setting off, where ``zero``)."""
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or value != value
            or value < 0 or (value == 0 and not zero)):
        kind = "a number of seconds, 0 or more" if zero else "a positive number of seconds"
        raise ConfigError(f"{name} must be {kind}: {value!r}")
    return float(value)


def _metrics_address(value):
    """The (host, port) of ``metrics_bind``: a TCP ``HOST:PORT`` or ``[IPV6]:PORT``, port
    given."""
    text = value if isinstance(value, str) else ""
    host_port = text.rpartition(":")
    if not text or text.startswith(("unix:", "fd://")) or not host_port[1] or (
            not host_port[2]):
        raise ConfigError(f"metrics_bind must be HOST:PORT (127.0.0.1:9100, [::1]:9100): "
                          f"{value!r}")
    try:
        address = parse_bind(text)
    except ConfigError as e:
        raise ConfigError(f"metrics_bind: {e}") from None
    return address.host, address.port


def _root_path(value):
    if not isinstance(value, str):
        raise ConfigError(f"root_path must be a string: {value!r}")
    value = value.rstrip("/")
    if value and not value.startswith("/"):
        raise ConfigError(f"root_path must start with '/': {value!r}")
    return value
