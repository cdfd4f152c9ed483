"""The settings from a TOML file (``wsgiref-rs --config FILE``) and from ``WSGIREF_RS_*``
environment variables, for the command line to put under its options.

Both speak the settings' names (:data:`wsgiref_rs.server.config.DEFAULTS`, and ``app``): a file's
keys are spelt as ``serve()``'s keywords or as the options (``max_requests`` or ``max-requests``),
a variable is ``WSGIREF_RS_`` and the name in capitals (``WSGIREF_RS_MAX_REQUESTS``). Each reader
returns ``{setting: value}``, every value of the type its setting takes (:data:`KINDS`), or
raises a :class:`ConfigError` naming the file and key, or the variable; :class:`Config` then
checks the values as it checks the options. ``serve()`` reads neither: its keywords are its
whole configuration.
"""

import difflib
import json
import sys
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Callable

from wsgiref_rs.server import handover
from wsgiref_rs.server.config import ConfigError

__all__ = ["BOOLEAN", "CONFIG_VARIABLE", "ENV_PREFIX", "INTEGER", "INTEGERS", "KINDS", "LOG_CONFIG",
           "NUMBER", "STRING", "STRINGS", "Kind", "read_environment", "read_file", "read_toml",
           "variable"]

ENV_PREFIX = "WSGIREF_RS_"
# The config file's own variable, for when there is no --config: a file, not a setting.
CONFIG_VARIABLE = f"{ENV_PREFIX}CONFIG"
# Ours, but no setting: the supervisor's message to itself across a reload's execve.
_INTERNAL = {handover.ENV}


@dataclass(frozen=True)
class Kind:
    """What a setting takes: ``what`` a file's value must be, which TOML values it ``accepts``
    (as they are), and how a variable's text becomes one (``from_text`` raises ValueError, and
    the message says the variable must be ``text_what``)."""

    what: str
    accepts: Callable[[object], bool]
    from_text: Callable[[str], object]
    text_what: str


def _is_string(value):
    return isinstance(value, str)


def _is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return _is_integer(value) or isinstance(value, float)


def _is_list_of(test):
    return lambda value: isinstance(value, list) and all(map(test, value))


def _boolean(text):
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _comma_separated(text):
    # A comma is in no address, network or descriptor number; a Unix socket path holding one is
    # given on the command line or in the file.
    return [item.strip() for item in text.split(",") if item.strip()]


INTEGER = Kind("an integer", _is_integer, int, "an integer")
NUMBER = Kind("a number", _is_number, float, "a number")
BOOLEAN = Kind("a boolean", lambda value: isinstance(value, bool), _boolean,
               "a boolean (1, 0, true, false, yes, no, on, off)")
STRING = Kind("a string", _is_string, str, "a string")
STRINGS = Kind("a string or an array of strings",
               lambda value: _is_string(value) or _is_list_of(_is_string)(value),
               _comma_separated, "a list separated by commas")
INTEGERS = Kind("an integer or an array of integers",
                lambda value: _is_integer(value) or _is_list_of(_is_integer)(value),
                lambda text: [int(item) for item in _comma_separated(text)],
                "integers separated by commas")
# In a file, the dictConfig may be a table of its own; a variable names a file.
LOG_CONFIG = Kind("a string (a .toml or .json file's path) or a table (the dictConfig)",
                  lambda value: isinstance(value, (str, dict)), str, "a file's path")

# What each setting takes (tests/test_settings.py checks that these are every setting, and that
# they agree with the command line's option types).
KINDS = {
    "app": STRING,
    "bind": STRINGS,
    "uds": STRINGS,
    "fd": INTEGERS,
    "workers": INTEGER,
    "threads": INTEGER,
    "backlog": INTEGER,
    "keepalive_timeout": NUMBER,
    "header_timeout": NUMBER,
    "limit_request_line": INTEGER,
    "limit_request_fields": INTEGER,
    "limit_request_field_size": INTEGER,
    "limit_request_body": INTEGER,
    "access_log": BOOLEAN,
    "access_logformat": STRING,
    "log_level": STRING,
    "log_config": LOG_CONFIG,
    "forwarded_allow_ips": STRINGS,
    "proxy_protocol": BOOLEAN,
    "certfile": STRING,
    "keyfile": STRING,
    "ca_certs": STRING,
    "cert_reqs": STRING,
    "root_path": STRING,
    "pid": STRING,
    "reload": BOOLEAN,
    "graceful_timeout": NUMBER,
    "timeout": NUMBER,
    "max_requests": INTEGER,
    "max_requests_jitter": INTEGER,
    "max_rss": INTEGER,
    "preload": BOOLEAN,
    "metrics_bind": STRING,
}


def variable(name):
    """The environment variable of the setting ``name``: ``WSGIREF_RS_MAX_REQUESTS``."""
    return f"{ENV_PREFIX}{name.upper()}"


_SETTING_OF_VARIABLE = {variable(name): name for name in KINDS}


def read_toml(path):
    """The table the TOML file at ``path`` holds; a ConfigError names the file and says what is
    wrong with it (TOML's own message, with its line and column)."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11: the same parser, before the standard library took it
        try:
            import tomli as tomllib
        except ImportError:
            raise ConfigError(f"{path}: reading TOML on Python {sys.version_info[0]}."
                              f"{sys.version_info[1]} needs the tomli package "
                              f"(pip install tomli)") from None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(f"{path}: {e.strerror or e}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        line = data.count(b"\n", 0, e.start) + 1
        column = len(data[line_start:e.start].decode("utf-8")) + 1
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 (at line {line}, column {column})"
                          ) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def read_file(path):
    """``{setting: value}`` from the TOML config file at ``path``."""
    settings, keys = {}, {}
    for key, value in read_toml(path).items():
        name = key.replace("-", "_")
        kind = KINDS.get(name)
        if kind is None:
            close = _closest(name.lower(), KINDS)
            if close and "-" in key:
                close = close.replace("_", "-")  # in the spelling the file uses
            hint = f" (did you mean {close!r}?)" if close else ""
            raise ConfigError(f"{path}: unknown key {key!r}{hint}")
        if name in settings:
            raise ConfigError(f"{path}: {keys[name]!r} and {key!r} are the same setting")
        if not kind.accepts(value):
            raise ConfigError(f"{path}: {key!r} must be {kind.what}, not "
                              f"{_wrong_type(value, kind)}: {_toml_text(value)}")
        settings[name], keys[name] = value, key
    return settings


def read_environment(environ):
    """``{setting: value}`` from the ``WSGIREF_RS_*`` variables in ``environ``; a variable of
    that prefix that is no setting is an error, as an unknown option is."""
    settings = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_VARIABLE or name in _INTERNAL:
            continue
        setting = _SETTING_OF_VARIABLE.get(name)
        if setting is None:
            # Past the prefix they share, which would make every name look close.
            known = [v[len(ENV_PREFIX):] for v in (*_SETTING_OF_VARIABLE, CONFIG_VARIABLE)]
            close = _closest(name[len(ENV_PREFIX):], known)
            hint = f" (did you mean {ENV_PREFIX}{close}?)" if close else ""
            raise ConfigError(f"unknown environment variable {name}{hint}")
        kind, text = KINDS[setting], environ[name]
        try:
            settings[setting] = kind.from_text(text)
        except ValueError:
            raise ConfigError(f"{name} must be {kind.text_what}: {text!r}") from None
    return settings


def _closest(name, known):
    close = difflib.get_close_matches(name, known, n=1)
    return close[0] if close else None


# The names TOML gives its types, for a value of the wrong one.
_TOML_TYPES = [(bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"),
               (list, "an array"), (dict, "a table"), (datetime, "a date-time"),
               (date, "a date"), (time, "a time")]


def _toml_type(value):
    return next(name for kind, name in _TOML_TYPES if isinstance(value, kind))


def _wrong_type(value, kind):
    """What TOML calls the type of ``value``, which ``kind`` refuses; for an array where the
    setting takes one (it accepts an empty array), the type of the item it refuses."""
    if isinstance(value, list) and kind.accepts([]):
        # An item the setting takes alone is one it takes in an array.
        wrong = next(v for v in value if isinstance(v, list) or not kind.accepts(v))
        return f"an array holding {_toml_type(wrong)}"
    return _toml_type(value)


def _toml_text(value):
    """``value`` as the file spells it (near enough: strings in double quotes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return f"[{', '.join(map(_toml_text, value))}]"
    if isinstance(value, dict):
        return f"{{{', '.join(f'{k} = {_toml_text(v)}' for k, v in value.items())}}}"
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return repr(value)
